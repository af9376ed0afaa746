/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fgctl.h - the loader/control CLI's command table, parser and shared helpers.
 *
 * Every command is a struct fgctl_cmd: a name (one or two words: "block", "edge add"),
 * a table of arguments that says where each value goes in the command's own options
 * struct, an optional pure check of the filled struct, and a run function. A command
 * group is one file exporting an array of them (fgctl_cmds_<group>) plus one line in
 * commands.c. fgctl_parse() turns argv into a filled options struct without touching
 * the system, so every argument error is unit-testable; main() only dispatches.
 *
 * Exit codes (main() picks them): 0 success; 2 a bad argument or a precondition that is
 * the operator's to fix (unknown interface, nothing attached, entry not there, a pin dir
 * that is not a directory on bpffs), always
 * with nothing changed; 1 a runtime failure (a bpf() call failing). Either way exactly
 * one line "fgctl: error: ..." on stderr.
 */
#ifndef FG_FGCTL_H
#define FG_FGCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "edge.h"
#include "addr.h"
#include "edgemap.h"
#include "xdpattach.h"

#define FGCTL_ARGS_MAX	16   /* arguments per command, globals excluded */
#define FGCTL_ERR_LEN	512  /* longest error line the parser writes */
#define FGCTL_WATCH_MAX 3600 /* stats --watch: longest interval, seconds */

enum fgctl_arg_type {
	FGCTL_ARG_FLAG,	  /* bool, set when given */
	FGCTL_ARG_STRING, /* const char * (points into argv) */
	FGCTL_ARG_PATH,	  /* const char *, a file name: not empty */
	FGCTL_ARG_IFACE,  /* const char *, a syntactically valid interface name */
	FGCTL_ARG_U64,	  /* uint64_t, decimal, within [min, max] */
	FGCTL_ARG_TTL,	  /* uint64_t seconds: N[s|m|h|d], 1..EDGE_TTL_MAX_S */
	FGCTL_ARG_CIDR,	  /* struct fg_cidr (addr.h rules: strict) */
	FGCTL_ARG_CHOICE, /* int, the value of the matching struct fgctl_choice */
	FGCTL_ARG_PORTS,  /* struct fgctl_ports: "all" or PORT[-PORT][,...] */
};

/* Argument flags. */
#define FGCTL_POSITIONAL (1u << 0) /* filled from the words after the command, in order */
#define FGCTL_REQUIRED	 (1u << 1) /* an error when missing */

struct fgctl_choice {
	const char *name;
	int value;
};

struct fgctl_arg {
	const char *name;    /* "--ttl"; for a positional, how errors name it ("CIDR") */
	const char *metavar; /* "SECONDS" in help; NULL for flags */
	enum fgctl_arg_type type;
	unsigned flags;
	size_t offset;			    /* of the value in the command's options struct */
	uint64_t min, max;		    /* FGCTL_ARG_U64 */
	const struct fgctl_choice *choices; /* FGCTL_ARG_CHOICE, ends with { NULL } */
	const char *help;
};

struct fgctl_parsed;
struct fgctl_ctx;

struct fgctl_cmd {
	const char *name;	      /* "block", "edge add", "list blocks" */
	const char *summary;	      /* one line in fgctl --help */
	const char *description;      /* paragraphs for fgctl CMD --help, may be NULL */
	const struct fgctl_arg *args; /* ends with { NULL } */
	size_t opts_size;
	const void *defaults; /* the options struct before parsing; NULL = zeros */
	/* Checks across arguments, after every value parsed; pure. 0 or -EINVAL with err. */
	int (*check)(void *opts, const struct fgctl_parsed *p, char *err, size_t len);
	int (*run)(struct fgctl_ctx *ctx, const void *opts);
	unsigned flags;
};

/* fgctl_cmd.flags */
#define FGCTL_F_MAPS	  (1u << 0) /* open the pinned maps before run (ctx->em) */
#define FGCTL_F_PIN_DIR	  (1u << 1) /* uses the pin dir, not through ctx->em (checked first) */
#define FGCTL_F_PIN_MKDIR (1u << 2) /* creates the pin dir, mounting bpffs if need be */

/* Protected ports as the user gave them. */
struct fgctl_ports {
	bool all;
	__u64 bits[EDGE_PORT_WORDS]; /* bit p%64 of word p/64: as struct edge_config */
	unsigned count;		     /* distinct ports set */
};

/* The result of fgctl_parse(). */
struct fgctl_parsed {
	const struct fgctl_cmd *cmd; /* NULL with help: fgctl's own help */
	void *opts;		     /* cmd->opts_size bytes, filled */
	bool given[FGCTL_ARGS_MAX];  /* by index in cmd->args */
	const char *pin_dir;	     /* --pin-dir, default EDGE_PIN_DIR_DEFAULT */
	bool pin_dir_given;	     /* --pin-dir was on the line (once at most) */
	int verbose;		     /* number of -v */
	bool help;		     /* --help / -h / help: print help, run nothing */
	const char *group;	     /* help for the commands starting with this word */
};

/* The command groups (commands.c), NULL-terminated. */
extern const struct fgctl_cmd *const fgctl_groups[];

/*
 * Parse argv into *p. Pure: reads no file, opens no map. Returns 0, or -EINVAL with err
 * set to the one-line message (without the "fgctl: error: " prefix). On success with
 * p->help set, p->cmd may be NULL (global help) or p->group set (a group's commands).
 * fgctl_parsed_free() releases p->opts in every case.
 */
int fgctl_parse(int argc, char *const argv[], struct fgctl_parsed *p, char *err, size_t len);
void fgctl_parsed_free(struct fgctl_parsed *p);

/* True when the argument named `name` ("--rate") of p->cmd was given. */
bool fgctl_given(const struct fgctl_parsed *p, const char *name);

/* Where the value of argument `name` ("--ttl", "CIDR") lives in p->opts, or NULL: lets a
 * test read what the parser filled without knowing the command's options struct. */
const void *fgctl_value(const struct fgctl_parsed *p, const char *name);

/* Help: global (cmd and group NULL), for one group, or one command. */
void fgctl_help(FILE *f, const struct fgctl_parsed *p);

/* Find a command by its full name ("edge add"), or NULL. */
const struct fgctl_cmd *fgctl_find(const char *name);

/* ---- values (values.c): pure, unit-tested ---- */

/* Decimal digits only, no sign, no spaces: 0, -EINVAL (not a number) or -ERANGE. */
int fgctl_parse_u64(const char *s, uint64_t *out);

/* N[s|m|h|d] in 1..EDGE_TTL_MAX_S seconds. -EINVAL/-ERANGE with *why set. */
int fgctl_parse_ttl(const char *s, uint64_t *out, const char **why);

/* "all", or PORT[-PORT] items separated by commas, each port 1..65535. -EINVAL with the
 * reason (naming the bad item) in why. */
/* The `n` bytes at `s` as a port: decimal digits, 1..65535; 0, or -EINVAL with why. */
int fgctl_parse_port(const char *s, size_t n, unsigned *port, char *why, size_t len);
int fgctl_parse_ports(const char *s, struct fgctl_ports *p, char *why, size_t len);

/* Ports as text: "all", or "22,80,443,8000-8010". Returns buf (truncated with "..."). */
const char *fgctl_format_ports(const __u64 bits[EDGE_PORT_WORDS], bool all, char *buf, size_t len);

/* A duration in whole seconds, as "42s", "5m3s", "2h5m", "3d4h". Returns buf. */
const char *fgctl_format_duration(uint64_t seconds, char *buf, size_t len);

/*
 * Remaining lifetime of an entry expiring at expires_ns (0 = never), at now:
 * "never", "expired", or a duration rounded up to the second. Returns buf.
 */
const char *fgctl_format_ttl(uint64_t expires_ns, uint64_t now, char *buf, size_t len);

/* ---- running (main.c sets up the context) ---- */

struct fgctl_ctx {
	const char *pin_dir;
	struct fg_edgemap *em; /* open when the command has FGCTL_F_MAPS */
	FILE *out;	       /* stdout */
	bool bad_arg;	       /* the error was the operator's: exit 2 */
};

/* Report an operator error (exit 2): prints the line, returns err (negative). */
int fgctl_bad(struct fgctl_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What runs on an interface: struct fg_xdp_state, fg_xdp_inspect() (xdpattach.h). */

/* ---- output helpers (output.c) ---- */

/* An aligned text table: columns sized to their widest cell. */
struct fgctl_table {
	unsigned ncols;
	const char *const *heads;
	unsigned right; /* bit i: right-align column i (numbers) */
	size_t nrows, cap;
	char **cells;
};

void fgctl_table_init(struct fgctl_table *t, unsigned ncols, const char *const *heads,
		      unsigned right);
/* Add one row of ncols strings (copied). Returns 0 or -ENOMEM. */
int fgctl_table_add(struct fgctl_table *t, ...);
void fgctl_table_print(const struct fgctl_table *t, FILE *f);
void fgctl_table_free(struct fgctl_table *t);

/* Print JSON (indented, or one compact line) and a newline; steals the reference. */
int fgctl_json_print(FILE *f, json_t *j, bool compact);

/* Where the daemon's admin API is and how to authenticate (keys.c's client). */
struct fgctl_admin_opts {
	const char *admin, *token_file, *cacert;
	bool insecure;
};

#define FGCTL_TOKEN_MAX 4096 /* bytes of an admin token file, and of the token in it */

/*
 * The admin token in the file at path: its bytes but trailing whitespace (the final
 * newline, CR LF too). Never blocks: anything but a regular file (a FIFO, a directory, a
 * device) is refused before it is read, as is a file over FGCTL_TOKEN_MAX bytes. 0 with
 * the token in tok (len bytes, NUL included), or -errno with the one-line reason in why.
 */
int fgctl_token_read(const char *path, char *tok, size_t len, char *why, size_t wlen);

/*
 * The token in the n bytes at buf, from src ("in file F", "in $FLOODGATE_ADMIN_TOKEN",
 * for the message): trailing whitespace dropped; empty, too long for tok, a NUL, a second
 * line or a byte that cannot go in an HTTP header are refused. 0, or -EINVAL with why.
 */
int fgctl_token_parse(const char *src, const char *buf, size_t n, char *tok, size_t len, char *why,
		      size_t wlen);

/*
 * One request to the admin API (method, path, JSON body or NULL). 0 with *status and
 * *answer (the JSON body, NULL when none; the caller decrefs) on a 2xx; else the error is
 * reported (a 4xx is the operator's: -EINVAL) and returned.
 */
int fgctl_admin_request(struct fgctl_ctx *ctx, const struct fgctl_admin_opts *a, const char *method,
			const char *path, json_t *body, int *status, json_t **answer);

/* The JSON integer of a u64 (jansson integers are signed: values above INT64_MAX clamp). */
json_t *fgctl_json_u64(uint64_t v);

/* Config fields as text, shared by status and the config commands. */
const char *fgctl_limit_text(const struct edge_limit *l, char *buf, size_t len);

#endif /* FG_FGCTL_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.c - argv to a filled options struct, driven by the command tables; and help
 * text generated from the same tables, so the two cannot disagree.
 *
 * Grammar: fgctl [GLOBAL...] COMMAND-WORDS [ARG | --opt VALUE | --opt=VALUE | GLOBAL]...
 * Global options (--pin-dir, -v, --help) are accepted anywhere. "--" ends options, before
 * the command words or after them: every word after it is a word, as with getopt.
 * --help anywhere after a known command (or group) wins over every other error, so
 * "fgctl block --ttl x --help" shows block's help.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fgctl.h"

static int errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Walks every command of every group: `it` starts zeroed, NULL at the end. */
struct cmd_iter {
	const struct fgctl_cmd *const *group;
	const struct fgctl_cmd *cmd;
};

static const struct fgctl_cmd *cmd_next(struct cmd_iter *it)
{
	if (!it->group) {
		it->group = fgctl_groups;
		it->cmd = *it->group;
	} else {
		it->cmd++;
	}
	while (*it->group) {
		if (it->cmd->name)
			return it->cmd;
		it->group++;
		it->cmd = *it->group;
	}
	return NULL;
}

/* True when c's name is `group` followed by more words. */
static bool in_group(const struct fgctl_cmd *c, const char *group)
{
	size_t n = strlen(group);

	return !strncmp(c->name, group, n) && c->name[n] == ' ';
}

/* Number of words of the command name matched by argv[i..]; 0 when it does not match. */
static int name_matches(const char *name, int argc, char *const argv[], int i)
{
	int words = 0;
	const char *w = name;

	while (*w) {
		size_t n = strcspn(w, " ");

		if (i + words >= argc || strlen(argv[i + words]) != n ||
		    strncmp(argv[i + words], w, n))
			return 0;
		words++;
		w += n;
		while (*w == ' ')
			w++;
	}
	return words;
}

/* True when `word` is the first word of a command with more words ("edge" of "edge add"). */
static bool is_group(const char *word)
{
	struct cmd_iter it = { 0 };
	const struct fgctl_cmd *c;

	while ((c = cmd_next(&it)))
		if (in_group(c, word))
			return true;
	return false;
}

const struct fgctl_cmd *fgctl_find(const char *name)
{
	struct cmd_iter it = { 0 };
	const struct fgctl_cmd *c;

	while ((c = cmd_next(&it)))
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* "a, b or c" of the commands in a group, into buf. */
static const char *group_list(const char *group, char *buf, size_t len)
{
	size_t n = strlen(group), used = 0, total = 0, k = 0;
	struct cmd_iter it = { 0 };
	const struct fgctl_cmd *c;

	while ((c = cmd_next(&it)))
		total += in_group(c, group);
	buf[0] = '\0';
	memset(&it, 0, sizeof(it));
	while ((c = cmd_next(&it)) && used < len) {
		if (!in_group(c, group))
			continue;
		k++;
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 k == 1 ? "" : (k == total ? " or " : ", "),
					 c->name + n + 1);
	}
	return buf;
}

static const char *label(const struct fgctl_arg *a)
{
	return a->name[0] == '-' && a->name[1] == '-' ? a->name + 2 : a->name;
}

/* "a, b or c" (prose) or "a|b|c" (bars, for usage lines). */
static const char *choice_list_sep(const struct fgctl_choice *ch, bool bars, char *buf, size_t len)
{
	size_t used = 0, total = 0;

	for (const struct fgctl_choice *c = ch; c->name; c++)
		total++;
	buf[0] = '\0';
	for (size_t k = 0; k < total && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 !k	? ""
					 : bars ? "|"
						: (k + 1 == total ? " or " : ", "),
					 ch[k].name);
	return buf;
}

static const char *choice_list(const struct fgctl_choice *ch, char *buf, size_t len)
{
	return choice_list_sep(ch, false, buf, len);
}

/* Parse one value into opts. */
static int set_value(const struct fgctl_cmd *cmd, const struct fgctl_arg *a, void *opts,
		     const char *v, char *err, size_t len)
{
	void *dst = (char *)opts + a->offset;
	const char *why = NULL;
	char buf[FGCTL_ERR_LEN / 2];
	uint64_t u;
	int e;

	switch (a->type) {
	case FGCTL_ARG_FLAG:
		*(bool *)dst = true;
		return 0;
	case FGCTL_ARG_STRING:
		*(const char **)dst = v;
		return 0;
	case FGCTL_ARG_PATH:
		if (!*v)
			return errf(err, len, "Couldn't use %s '': an empty file name", a->name);
		*(const char **)dst = v;
		return 0;
	case FGCTL_ARG_IFACE:
		if (!*v || strlen(v) >= IF_NAMESIZE || strchr(v, '/') || strpbrk(v, " \t\n:"))
			return errf(err, len, "Couldn't use '%s' as an interface name: %s", v,
				    !*v			       ? "empty"
				    : strlen(v) >= IF_NAMESIZE ? "longer than 15 characters"
							       : "it contains '/', ':' or a space");
		*(const char **)dst = v;
		return 0;
	case FGCTL_ARG_U64:
		e = fgctl_parse_u64(v, &u);
		if (e == -EINVAL)
			return errf(err, len, "Couldn't parse %s '%s': not a whole number", a->name,
				    v);
		if (e || u < a->min || u > a->max)
			return errf(err, len, "Couldn't use %s %s: out of range %llu..%llu",
				    a->name, v, (unsigned long long)a->min,
				    (unsigned long long)a->max);
		*(uint64_t *)dst = u;
		return 0;
	case FGCTL_ARG_TTL:
		if (fgctl_parse_ttl(v, &u, &why))
			return errf(err, len, "Couldn't parse TTL '%s': %s", v, why);
		*(uint64_t *)dst = u;
		return 0;
	case FGCTL_ARG_CIDR: {
		struct fg_cidr c;

		if (fg_cidr_parse(v, &c, &why))
			return errf(err, len, "Couldn't parse CIDR '%s': %s", v, why);
		*(struct fg_cidr *)dst = c;
		return 0;
	}
	case FGCTL_ARG_CHOICE:
		for (const struct fgctl_choice *c = a->choices; c->name; c++) {
			if (!strcmp(c->name, v)) {
				*(int *)dst = c->value;
				return 0;
			}
		}
		return errf(err, len, "Couldn't parse %s '%s': expected %s", label(a), v,
			    choice_list(a->choices, buf, sizeof(buf)));
	case FGCTL_ARG_PORTS:
		if (fgctl_parse_ports(v, dst, buf, sizeof(buf)))
			return errf(err, len, "Couldn't parse port list '%s': %s", v, buf);
		return 0;
	}
	return errf(err, len, "%s: internal error: bad argument type", cmd->name);
}

static const struct fgctl_arg *find_option(const struct fgctl_cmd *cmd, const char *name, size_t n)
{
	for (const struct fgctl_arg *a = cmd->args; a && a->name; a++)
		if (!(a->flags & FGCTL_POSITIONAL) && strlen(a->name) == n &&
		    !strncmp(a->name, name, n))
			return a;
	return NULL;
}

/* A global option at argv[*i]: 1 when it was one (and consumed), 0 when not, <0 error. */
static int global_option(struct fgctl_parsed *p, int argc, char *const argv[], int *i, char *err,
			 size_t len)
{
	const char *s = argv[*i];

	if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
		p->help = true;
		return 1;
	}
	if (!strcmp(s, "--verbose")) {
		p->verbose++;
		return 1;
	}
	if (s[0] == '-' && s[1] == 'v' && strspn(s + 1, "v") == strlen(s + 1)) {
		p->verbose += (int)strlen(s + 1);
		return 1;
	}
	if (!strcmp(s, "--pin-dir") || !strncmp(s, "--pin-dir=", 10)) {
		const char *v = s[9] == '=' ? s + 10 : NULL;

		if (!v) {
			if (*i + 1 >= argc)
				return errf(err, len, "option --pin-dir needs a value (DIR)");
			v = argv[++*i];
		}
		/* As for a command's options: which one was meant is not ours to guess. */
		if (p->pin_dir_given)
			return errf(err, len, "option --pin-dir given twice");
		if (!*v || v[0] != '/')
			return errf(err, len, "Couldn't use pin dir '%s': not an absolute path", v);
		if (strlen(v) >= sizeof(((struct fg_edgemap *)0)->pin_dir) - 32)
			return errf(err, len, "Couldn't use pin dir '%.40s...': too long", v);
		p->pin_dir = v;
		p->pin_dir_given = true;
		return 1;
	}
	return 0;
}

static bool wants_help(int argc, char *const argv[], int i)
{
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

bool fgctl_given(const struct fgctl_parsed *p, const char *name)
{
	int k = 0;

	if (!p->cmd)
		return false;
	for (const struct fgctl_arg *a = p->cmd->args; a && a->name; a++, k++)
		if (!strcmp(a->name, name))
			return p->given[k];
	return false;
}

const void *fgctl_value(const struct fgctl_parsed *p, const char *name)
{
	if (!p->cmd || !p->opts)
		return NULL;
	for (const struct fgctl_arg *a = p->cmd->args; a && a->name; a++)
		if (!strcmp(a->name, name))
			return (const char *)p->opts + a->offset;
	return NULL;
}

void fgctl_parsed_free(struct fgctl_parsed *p)
{
	free(p->opts);
	p->opts = NULL;
}

/* Everything after the command words; options_done when a "--" came before them. */
static int parse_args(struct fgctl_parsed *p, int argc, char *const argv[], int i,
		      bool options_done, char *err, size_t len)
{
	const struct fgctl_cmd *cmd = p->cmd;
	const struct fgctl_arg *a;
	int npos = 0, k = 0, e;

	for (a = cmd->args; a && a->name; a++)
		if (++k > FGCTL_ARGS_MAX)
			return errf(err, len, "%s: internal error: over %d arguments", cmd->name,
				    FGCTL_ARGS_MAX);
	for (; i < argc; i++) {
		const char *s = argv[i];

		if (!options_done && !strcmp(s, "--")) {
			options_done = true;
			continue;
		}
		/* "-1" is a (bad) value, not an option: let the value's parser say why. */
		if (!options_done && s[0] == '-' && s[1] && !(s[1] >= '0' && s[1] <= '9')) {
			const char *eq = strchr(s, '=');
			size_t n = eq ? (size_t)(eq - s) : strlen(s);
			const char *v = eq ? eq + 1 : NULL;

			e = global_option(p, argc, argv, &i, err, len);
			if (e < 0)
				return e;
			if (e)
				continue;
			a = find_option(cmd, s, n);
			if (!a)
				return errf(err, len,
					    "unknown option '%.*s' for '%s' (see fgctl %s --help)",
					    (int)n, s, cmd->name, cmd->name);
			k = (int)(a - cmd->args);
			if (p->given[k])
				return errf(err, len, "option %s given twice", a->name);
			if (a->type == FGCTL_ARG_FLAG) {
				if (v)
					return errf(err, len, "option %s takes no value", a->name);
			} else if (!v) {
				if (i + 1 >= argc)
					return errf(err, len, "option %s needs a value (%s)",
						    a->name, a->metavar ? a->metavar : "VALUE");
				v = argv[++i];
			}
			e = set_value(cmd, a, p->opts, v, err, len);
			if (e)
				return e;
			p->given[k] = true;
			continue;
		}
		/* A positional: the next positional argument of the table. */
		k = 0;
		a = NULL;
		for (const struct fgctl_arg *x = cmd->args; x && x->name; x++) {
			if (x->flags & FGCTL_POSITIONAL && k++ == npos) {
				a = x;
				break;
			}
		}
		if (!a)
			return errf(err, len,
				    "unexpected argument '%s' for '%s' (see fgctl %s --help)", s,
				    cmd->name, cmd->name);
		npos++;
		e = set_value(cmd, a, p->opts, s, err, len);
		if (e)
			return e;
		p->given[a - cmd->args] = true;
	}
	k = 0;
	for (a = cmd->args; a && a->name; a++, k++) {
		if (!(a->flags & FGCTL_REQUIRED) || p->given[k])
			continue;
		if (a->flags & FGCTL_POSITIONAL) {
			char bars[128];
			const char *what = a->metavar ? a->metavar : a->name;

			if (!a->metavar && a->type == FGCTL_ARG_CHOICE)
				what = choice_list_sep(a->choices, true, bars, sizeof(bars));
			return errf(err, len, "missing %s for '%s' (see fgctl %s --help)", what,
				    cmd->name, cmd->name);
		}
		return errf(err, len, "missing %s %s for '%s'", a->name,
			    a->metavar ? a->metavar : "", cmd->name);
	}
	return cmd->check ? cmd->check(p->opts, p, err, len) : 0;
}

int fgctl_parse(int argc, char *const argv[], struct fgctl_parsed *p, char *err, size_t len)
{
	const struct fgctl_cmd *best = NULL, *c;
	struct cmd_iter it = { 0 };
	bool options_done = false;
	int i = 1, words = 0, e;
	char buf[256];

	memset(p, 0, sizeof(*p));
	p->pin_dir = EDGE_PIN_DIR_DEFAULT;
	err[0] = '\0';

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		/* As getopt: what follows "--" is words, even "--help" or "-v". */
		if (!strcmp(argv[i], "--")) {
			options_done = true;
			i++;
			break;
		}
		e = global_option(p, argc, argv, &i, err, len);
		if (e < 0)
			return e;
		if (!e)
			return errf(err, len, "unknown option '%s' (see fgctl --help)", argv[i]);
	}
	if (i < argc && !strcmp(argv[i], "help")) {
		p->help = true;
		i++;
	}
	if (i >= argc) {
		if (p->help)
			return 0;
		return errf(err, len, "missing command (see fgctl --help)");
	}
	while ((c = cmd_next(&it))) {
		int n = name_matches(c->name, argc, argv, i);

		if (n > words) {
			words = n;
			best = c;
		}
	}
	if (!best) {
		if (is_group(argv[i])) {
			if (p->help || (!options_done && wants_help(argc, argv, i + 1))) {
				p->help = true;
				p->group = argv[i];
				return 0;
			}
			if (i + 1 < argc && !strcmp(argv[i + 1], "--"))
				return errf(err, len,
					    "'--' cannot split the words of a command: write it "
					    "before them (fgctl -- %s ...) or after them (fgctl "
					    "%s WORD -- ...)",
					    argv[i], argv[i]);
			if (i + 1 >= argc || argv[i + 1][0] == '-')
				return errf(err, len, "'%s' needs one of: %s (see fgctl %s --help)",
					    argv[i], group_list(argv[i], buf, sizeof(buf)),
					    argv[i]);
			return errf(err, len, "unknown command '%s %s' ('%s' takes %s)", argv[i],
				    argv[i + 1], argv[i], group_list(argv[i], buf, sizeof(buf)));
		}
		return errf(err, len, "unknown command '%s' (see fgctl --help)", argv[i]);
	}
	p->cmd = best;
	i += words;
	if (p->help || (!options_done && wants_help(argc, argv, i))) {
		p->help = true;
		return 0;
	}
	p->opts = calloc(1, best->opts_size ? best->opts_size : 1);
	if (!p->opts)
		return errf(err, len, "out of memory");
	if (best->defaults)
		memcpy(p->opts, best->defaults, best->opts_size);
	return parse_args(p, argc, argv, i, options_done, err, len);
}

/* ---- help ---- */

static void usage_line(FILE *f, const struct fgctl_cmd *c, bool full)
{
	char buf[256];

	fprintf(f, "%s", c->name);
	for (const struct fgctl_arg *a = c->args; a && a->name; a++) {
		bool req = a->flags & FGCTL_REQUIRED;
		const char *meta = a->metavar;

		if (a->type == FGCTL_ARG_CHOICE && !meta) {
			choice_list_sep(a->choices, true, buf, sizeof(buf));
			meta = buf;
		}
		if (!full && !req)
			continue;
		fprintf(f, " %s", req ? "" : "[");
		if (a->flags & FGCTL_POSITIONAL)
			fprintf(f, "%s", meta ? meta : a->name);
		else if (a->type == FGCTL_ARG_FLAG)
			fprintf(f, "%s", a->name);
		else
			fprintf(f, "%s %s", a->name, meta ? meta : "VALUE");
		fprintf(f, "%s", req ? "" : "]");
	}
}

/* "  HEAD   help..." with the help wrapped at 100 columns under itself. */
static void help_text(FILE *f, const char *head, const char *text)
{
	const int indent = 28, width = 100 - 28;
	int col = 0;

	if (strlen(head) > (size_t)indent - 3)
		fprintf(f, "  %s\n%*s", head, indent, "");
	else
		fprintf(f, "  %-*s", indent - 2, head);
	while (*text) {
		int n = (int)strcspn(text, " ");

		if (col && col + 1 + n > width) {
			fprintf(f, "\n%*s", indent, "");
			col = 0;
		}
		fprintf(f, "%s%.*s", col ? " " : "", n, text);
		col += (col ? 1 : 0) + n;
		text += n;
		while (*text == ' ')
			text++;
	}
	fputc('\n', f);
}

static void cmd_help(FILE *f, const struct fgctl_cmd *c)
{
	fprintf(f, "Usage: fgctl [--pin-dir DIR] [-v] ");
	usage_line(f, c, true);
	fprintf(f, "\n\n%s.\n", c->summary);
	if (c->description)
		fprintf(f, "\n%s\n", c->description);
	if (c->args && c->args->name) {
		fprintf(f, "\nArguments:\n");
		for (const struct fgctl_arg *a = c->args; a->name; a++) {
			char head[96], meta[64];
			const char *m = a->metavar;

			if (a->type == FGCTL_ARG_CHOICE && !m)
				m = choice_list_sep(a->choices, true, meta, sizeof(meta));
			if (a->flags & FGCTL_POSITIONAL || a->type == FGCTL_ARG_FLAG)
				snprintf(head, sizeof(head), "%s",
					 m && a->flags & FGCTL_POSITIONAL ? m : a->name);
			else
				snprintf(head, sizeof(head), "%s %s", a->name, m ? m : "VALUE");
			help_text(f, head, a->help ? a->help : "");
		}
	}
	fprintf(f,
		"\nGlobal options: --pin-dir DIR (default %s), -v (repeat for more), "
		"-h/--help.\n",
		EDGE_PIN_DIR_DEFAULT);
}

void fgctl_help(FILE *f, const struct fgctl_parsed *p)
{
	struct cmd_iter it = { 0 };
	const struct fgctl_cmd *c;

	if (p->cmd) {
		cmd_help(f, p->cmd);
		return;
	}
	if (p->group) {
		fprintf(f, "Usage: fgctl %s COMMAND [ARGS...]\n\nCommands:\n", p->group);
	} else {
		fprintf(f, "Usage: fgctl [--pin-dir DIR] [-v] COMMAND [ARGS...]\n\n"
			   "Loader and control CLI of floodgate's XDP edge filter: attaches the "
			   "program,\npins its maps and reads or changes them.\n\nCommands:\n");
	}
	while ((c = cmd_next(&it))) {
		char line[256];
		FILE *m;

		if (p->group && !in_group(c, p->group))
			continue;
		m = fmemopen(line, sizeof(line), "w");
		if (!m)
			continue;
		usage_line(m, c, false);
		fclose(m);
		line[sizeof(line) - 1] = '\0';
		if (strlen(line) > 26)
			fprintf(f, "  %s\n  %-26s %s\n", line, "", c->summary);
		else
			fprintf(f, "  %-26s %s\n", line, c->summary);
	}
	if (!p->group)
		fprintf(f,
			"\nGlobal options (anywhere on the line):\n"
			"  --pin-dir DIR              where the maps are pinned (default %s)\n"
			"  -v, --verbose              more messages; -vv adds libbpf's and "
			"libxdp's\n"
			"  -h, --help                 this help; fgctl COMMAND --help for one "
			"command\n\n"
			"Exit status: 0 done, 2 bad argument (nothing changed), 1 runtime "
			"failure.\n",
			EDGE_PIN_DIR_DEFAULT);
	else
		fprintf(f, "\nSee fgctl %s COMMAND --help.\n", p->group);
}

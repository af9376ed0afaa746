/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of fgctl's command line (loader/parse.c and the command tables): every
 * command parses into the values it should, help wins over errors, and a table of bad
 * command lines, each of which must fail with one line saying what is wrong (main()
 * prints it as "fgctl: error: ..." and exits 2; tests/integration/fgctl.sh checks that).
 * No map is touched: parsing is pure.
 */
#include "unit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <xdp/libxdp.h>

#include "fgctl.h"

#define ARGV(...)	   ((char *[]){ "fgctl", __VA_ARGS__, NULL })
#define ARGC(...)	   ((int)(sizeof((char *[]){ "fgctl", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(p, err, ...) fgctl_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), p, err, sizeof(err))

/* Parse a command line that must succeed (and not be a help request). */
#define OK(p, ...)                                                                                 \
	do {                                                                                       \
		char err_[FGCTL_ERR_LEN];                                                          \
		if (PARSE(p, err_, __VA_ARGS__)) {                                                 \
			print_message("# rejected: %s\n", err_);                                   \
			fail();                                                                    \
		}                                                                                  \
		assert_false((p)->help);                                                           \
	} while (0)

#define VAL(p, type, name) (*(const type *)value_of(p, name))

static const void *value_of(const struct fgctl_parsed *p, const char *name)
{
	const void *v = fgctl_value(p, name);

	if (!v) {
		print_message("# %s has no argument %s\n", p->cmd ? p->cmd->name : "?", name);
		fail();
	}
	return v;
}

static void globals(void **state)
{
	char err[FGCTL_ERR_LEN];
	struct fgctl_parsed p;

	OK(&p, "status");
	assert_string_equal(p.cmd->name, "status");
	assert_string_equal(p.pin_dir, EDGE_PIN_DIR_DEFAULT);
	assert_int_equal(p.verbose, 0);
	assert_false(VAL(&p, bool, "--json"));
	fgctl_parsed_free(&p);

	OK(&p, "-vv", "--pin-dir", "/sys/fs/bpf/x", "status", "--json", "-v");
	assert_string_equal(p.pin_dir, "/sys/fs/bpf/x");
	assert_int_equal(p.verbose, 3);
	assert_true(VAL(&p, bool, "--json"));
	fgctl_parsed_free(&p);

	/* Global options anywhere, with = too. */
	OK(&p, "block", "198.18.0.1", "--pin-dir=/sys/fs/bpf/y", "--verbose");
	assert_string_equal(p.pin_dir, "/sys/fs/bpf/y");
	assert_int_equal(p.verbose, 1);
	fgctl_parsed_free(&p);

	/* "--" ends options. */
	OK(&p, "block", "--", "198.18.0.1");
	assert_int_equal(VAL(&p, struct fg_cidr, "CIDR").family, AF_INET);
	fgctl_parsed_free(&p);

	/* ... before the command too, as getopt would. */
	OK(&p, "--", "status");
	assert_string_equal(p.cmd->name, "status");
	fgctl_parsed_free(&p);

	OK(&p, "-v", "--pin-dir", "/sys/fs/bpf/z", "--", "block", "198.18.0.1");
	assert_string_equal(p.cmd->name, "block");
	assert_string_equal(p.pin_dir, "/sys/fs/bpf/z");
	assert_int_equal(p.verbose, 1);
	fgctl_parsed_free(&p);

	/* After "--", "-v" is the CIDR (a bad one), not one more -v. */
	assert_int_equal(PARSE(&p, err, "--", "block", "-v"), -EINVAL);
	assert_non_null(strstr(err, "Couldn't parse CIDR '-v'"));
	fgctl_parsed_free(&p);

	/* "help" is a word, so it still works after "--". */
	assert_int_equal(PARSE(&p, err, "--", "help"), 0);
	assert_true(p.help);
	assert_null(p.cmd);
	fgctl_parsed_free(&p);

	/* "--" between a command's words says where it may go (it said "'edge' needs one
	 * of: add or del", with add right there) */
	assert_int_equal(PARSE(&p, err, "edge", "--", "add", "198.18.0.0/24"), -EINVAL);
	assert_non_null(strstr(err, "'--' cannot split the words of a command"));
	fgctl_parsed_free(&p);
}

static void help(void **state)
{
	struct fgctl_parsed p;
	char err[FGCTL_ERR_LEN];

	assert_int_equal(PARSE(&p, err, "--help"), 0);
	assert_true(p.help);
	assert_null(p.cmd);
	assert_null(p.group);
	fgctl_parsed_free(&p);

	assert_int_equal(PARSE(&p, err, "help"), 0);
	assert_true(p.help && !p.cmd);
	fgctl_parsed_free(&p);

	assert_int_equal(PARSE(&p, err, "help", "edge", "add"), 0);
	assert_true(p.help);
	assert_string_equal(p.cmd->name, "edge add");
	fgctl_parsed_free(&p);

	assert_int_equal(PARSE(&p, err, "-h", "block"), 0);
	assert_true(p.help);
	assert_string_equal(p.cmd->name, "block");
	fgctl_parsed_free(&p);

	/* Help wins over the errors of the same line. */
	assert_int_equal(PARSE(&p, err, "block", "--ttl", "abc", "198.18.0.1/33", "--help"), 0);
	assert_true(p.help);
	assert_string_equal(p.cmd->name, "block");
	fgctl_parsed_free(&p);

	assert_int_equal(PARSE(&p, err, "edge", "--help"), 0);
	assert_true(p.help);
	assert_null(p.cmd);
	assert_string_equal(p.group, "edge");
	fgctl_parsed_free(&p);

	assert_int_equal(PARSE(&p, err, "help", "list"), 0);
	assert_string_equal(p.group, "list");
	fgctl_parsed_free(&p);
}

static void help_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	struct fgctl_parsed p = { .pin_dir = EDGE_PIN_DIR_DEFAULT };
	FILE *f;

	f = open_memstream(&buf, &len);
	fgctl_help(f, &p);
	fclose(f);
	assert_non_null(strstr(buf, "Usage: fgctl"));
	/* Every command is listed. */
	for (const struct fgctl_cmd *const *g = fgctl_groups; *g; g++)
		for (const struct fgctl_cmd *c = *g; c->name; c++)
			if (!strstr(buf, c->name)) {
				print_message("# %s missing from fgctl --help\n", c->name);
				fail();
			}
	free(buf);

	p.cmd = fgctl_find("block");
	assert_non_null(p.cmd);
	f = open_memstream(&buf, &len);
	fgctl_help(f, &p);
	fclose(f);
	assert_non_null(
		strstr(buf, "Usage: fgctl [--pin-dir DIR] [-v] block CIDR [--ttl SECONDS] [--mode "
			    "drop|mark|monitor]"));
	assert_non_null(strstr(buf, "--ttl SECONDS"));
	free(buf);

	p.cmd = NULL;
	p.group = "edge";
	f = open_memstream(&buf, &len);
	fgctl_help(f, &p);
	fclose(f);
	assert_non_null(strstr(buf, "edge add CIDR --rate PPS --burst N"));
	assert_non_null(strstr(buf, "edge del CIDR"));
	assert_null(strstr(buf, "block"));
	free(buf);
}

/* The command tables themselves: what the parser and the help rely on. */
static void tables(void **state)
{
	for (const struct fgctl_cmd *const *g = fgctl_groups; *g; g++) {
		for (const struct fgctl_cmd *c = *g; c->name; c++) {
			int n = 0;

			assert_non_null(c->summary);
			assert_non_null(c->run);
			assert_ptr_equal(fgctl_find(c->name), c); /* names are unique */
			for (const struct fgctl_arg *a = c->args; a && a->name; a++, n++) {
				assert_non_null(a->help);
				if (a->type == FGCTL_ARG_CHOICE)
					assert_non_null(a->choices);
				if (!(a->flags & FGCTL_POSITIONAL))
					assert_true(a->name[0] == '-' && a->name[1] == '-');
				assert_true(a->offset < c->opts_size || !c->opts_size);
			}
			assert_true(n <= FGCTL_ARGS_MAX);
		}
	}
}

static void attach(void **state)
{
	struct fgctl_parsed p;

	OK(&p, "attach", "eth0");
	assert_string_equal(p.cmd->name, "attach");
	assert_string_equal(VAL(&p, const char *, "IFACE"), "eth0");
	assert_int_equal(VAL(&p, int, "--mode"), XDP_MODE_NATIVE); /* the default */
	assert_int_equal(VAL(&p, uint64_t, "--max-sources"), 0);
	fgctl_parsed_free(&p);

	OK(&p, "attach", "--mode", "skb", "fgt-ctl-va", "--max-sources", "4096");
	assert_string_equal(VAL(&p, const char *, "IFACE"), "fgt-ctl-va");
	assert_int_equal(VAL(&p, int, "--mode"), XDP_MODE_SKB);
	assert_int_equal(VAL(&p, uint64_t, "--max-sources"), 4096);
	fgctl_parsed_free(&p);

	OK(&p, "detach", "eth0", "--keep-maps");
	assert_string_equal(p.cmd->name, "detach");
	assert_true(VAL(&p, bool, "--keep-maps"));
	fgctl_parsed_free(&p);

	OK(&p, "unpin");
	assert_string_equal(p.cmd->name, "unpin");
	fgctl_parsed_free(&p);
}

static void rules(void **state)
{
	struct fgctl_parsed p;
	struct fg_cidr c;

	OK(&p, "block", "198.18.0.1");
	assert_string_equal(p.cmd->name, "block");
	c = VAL(&p, struct fg_cidr, "CIDR");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefixlen, 32);
	assert_int_equal(VAL(&p, uint64_t, "--ttl"), 0);
	assert_int_equal(VAL(&p, int, "--mode"), EDGE_MODE_INHERIT);
	fgctl_parsed_free(&p);

	OK(&p, "block", "2001:2::/48", "--ttl", "2h", "--mode", "mark");
	c = VAL(&p, struct fg_cidr, "CIDR");
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefixlen, 48);
	assert_int_equal(VAL(&p, uint64_t, "--ttl"), 7200);
	assert_int_equal(VAL(&p, int, "--mode"), EDGE_MODE_MARK);
	fgctl_parsed_free(&p);

	OK(&p, "block", "--ttl=60", "--mode=monitor", "198.18.0.0/15");
	assert_int_equal(VAL(&p, uint64_t, "--ttl"), 60);
	assert_int_equal(VAL(&p, int, "--mode"), EDGE_MODE_MONITOR);
	assert_int_equal(VAL(&p, struct fg_cidr, "CIDR").prefixlen, 15);
	fgctl_parsed_free(&p);

	/* The v4-mapped form folds to IPv4, as the packets carry it. */
	OK(&p, "block", "::ffff:198.18.0.1");
	c = VAL(&p, struct fg_cidr, "CIDR");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefixlen, 32);
	fgctl_parsed_free(&p);

	OK(&p, "unblock", "198.18.0.0/24");
	assert_string_equal(p.cmd->name, "unblock");
	fgctl_parsed_free(&p);

	OK(&p, "allow", "2001:2::1", "--ttl", "3650d");
	assert_string_equal(p.cmd->name, "allow");
	assert_int_equal(VAL(&p, uint64_t, "--ttl"), EDGE_TTL_MAX_S);
	fgctl_parsed_free(&p);

	OK(&p, "disallow", "2001:2::1");
	assert_string_equal(p.cmd->name, "disallow");
	fgctl_parsed_free(&p);

	OK(&p, "sweep");
	assert_string_equal(p.cmd->name, "sweep");
	fgctl_parsed_free(&p);
}

static void lists(void **state)
{
	static char *const kinds[] = { "blocks", "allows", "edges", "marked" };
	struct fgctl_parsed p;
	char name[32];

	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "list %s", kinds[i]);
		OK(&p, "list", kinds[i]);
		assert_string_equal(p.cmd->name, name);
		assert_false(VAL(&p, bool, "--json"));
		fgctl_parsed_free(&p);
		OK(&p, "list", kinds[i], "--json");
		assert_true(VAL(&p, bool, "--json"));
		fgctl_parsed_free(&p);
	}
}

static void edges(void **state)
{
	struct fgctl_parsed p;

	OK(&p, "edge", "add", "198.51.100.0/24", "--rate", "20000", "--burst", "40000");
	assert_string_equal(p.cmd->name, "edge add");
	assert_int_equal(VAL(&p, struct fg_cidr, "CIDR").prefixlen, 24);
	assert_int_equal(VAL(&p, uint64_t, "--rate"), 20000);
	assert_int_equal(VAL(&p, uint64_t, "--burst"), 40000);
	assert_int_equal(VAL(&p, int, "--mode"), EDGE_MODE_INHERIT);
	fgctl_parsed_free(&p);

	OK(&p, "edge", "add", "--burst", "1", "2001:2::/48", "--mode", "monitor", "--rate",
	   "1000000000");
	assert_int_equal(VAL(&p, uint64_t, "--rate"), EDGE_RATE_MAX);
	assert_int_equal(VAL(&p, int, "--mode"), EDGE_MODE_MONITOR);
	fgctl_parsed_free(&p);

	OK(&p, "edge", "del", "2001:2::/48");
	assert_string_equal(p.cmd->name, "edge del");
	fgctl_parsed_free(&p);
}

static void config(void **state)
{
	struct fgctl_parsed p;
	const struct fgctl_ports *ports;

	OK(&p, "limit", "--rate", "100", "--burst", "200");
	assert_string_equal(p.cmd->name, "limit");
	assert_int_equal(VAL(&p, uint64_t, "--rate"), 100);
	assert_int_equal(VAL(&p, uint64_t, "--burst"), 200);
	assert_false(VAL(&p, bool, "--syn-only") || VAL(&p, bool, "--all-packets"));
	assert_int_equal(VAL(&p, int, "off"), 0);
	fgctl_parsed_free(&p);

	OK(&p, "limit", "--all-packets");
	assert_true(VAL(&p, bool, "--all-packets"));
	fgctl_parsed_free(&p);

	OK(&p, "limit", "--rate", "5", "--burst", "1", "--syn-only");
	assert_true(VAL(&p, bool, "--syn-only"));
	fgctl_parsed_free(&p);

	OK(&p, "limit", "off");
	assert_int_equal(VAL(&p, int, "off"), 1);
	fgctl_parsed_free(&p);

	OK(&p, "limit", "off", "--all-packets");
	fgctl_parsed_free(&p);

	OK(&p, "new-sources", "--rate", "1000", "--burst", "2000");
	assert_string_equal(p.cmd->name, "new-sources");
	assert_int_equal(VAL(&p, uint64_t, "--rate"), 1000);
	fgctl_parsed_free(&p);

	OK(&p, "new-sources", "off");
	assert_int_equal(VAL(&p, int, "off"), 1);
	fgctl_parsed_free(&p);

	OK(&p, "mode", "mark");
	assert_int_equal(VAL(&p, int, "mode"), EDGE_MODE_MARK);
	fgctl_parsed_free(&p);
	OK(&p, "mode", "drop");
	assert_int_equal(VAL(&p, int, "mode"), EDGE_MODE_DROP);
	fgctl_parsed_free(&p);
	OK(&p, "mode", "monitor");
	assert_int_equal(VAL(&p, int, "mode"), EDGE_MODE_MONITOR);
	fgctl_parsed_free(&p);

	OK(&p, "ports", "443,8443,9000-9002");
	ports = value_of(&p, "ports");
	assert_false(ports->all);
	assert_int_equal(ports->count, 5);
	fgctl_parsed_free(&p);

	OK(&p, "ports", "all");
	ports = value_of(&p, "ports");
	assert_true(ports->all);
	fgctl_parsed_free(&p);

	OK(&p, "lockdown", "on");
	assert_int_equal(VAL(&p, int, "lockdown"), 1);
	fgctl_parsed_free(&p);
	OK(&p, "lockdown", "off");
	assert_int_equal(VAL(&p, int, "lockdown"), 0);
	fgctl_parsed_free(&p);

	OK(&p, "malformed", "pass");
	assert_int_equal(VAL(&p, int, "verdict"), 0);
	fgctl_parsed_free(&p);
	OK(&p, "malformed", "drop");
	assert_int_equal(VAL(&p, int, "verdict"), 1);
	fgctl_parsed_free(&p);

	OK(&p, "dscp", "0");
	assert_int_equal(VAL(&p, uint64_t, "DSCP"), 0);
	fgctl_parsed_free(&p);
	OK(&p, "dscp", "63");
	assert_int_equal(VAL(&p, uint64_t, "DSCP"), 63);
	fgctl_parsed_free(&p);

	OK(&p, "v6-prefix", "128");
	assert_int_equal(VAL(&p, uint64_t, "PREFIX"), 128);
	fgctl_parsed_free(&p);
}

static void stats(void **state)
{
	struct fgctl_parsed p;

	OK(&p, "stats");
	assert_int_equal(VAL(&p, uint64_t, "--watch"), 0);
	fgctl_parsed_free(&p);

	OK(&p, "stats", "--per-cpu", "--json");
	assert_true(VAL(&p, bool, "--per-cpu"));
	fgctl_parsed_free(&p);

	OK(&p, "stats", "--json", "--watch", "2", "--count", "3");
	assert_true(VAL(&p, bool, "--json"));
	assert_int_equal(VAL(&p, uint64_t, "--watch"), 2);
	assert_int_equal(VAL(&p, uint64_t, "--count"), 3);
	fgctl_parsed_free(&p);
}

/* Every bad command line: the error, and a phrase it must contain. */
static const struct {
	const char *argv[10];
	const char *err;
} bad[] = {
	/* global */
	{ { NULL }, "missing command" },
	{ { "frobnicate" }, "unknown command 'frobnicate'" },
	{ { "-x", "status" }, "unknown option '-x'" },
	{ { "--pin-dir" }, "--pin-dir needs a value" },
	/* after "--" every word is one, options and help included (getopt) */
	{ { "--" }, "missing command" },
	{ { "--", "--pin-dir", "/sys/fs/bpf/x", "status" }, "unknown command '--pin-dir'" },
	{ { "--", "status", "--help" }, "unexpected argument '--help' for 'status'" },
	{ { "--", "block", "198.18.0.1", "--ttl", "1h" }, "unexpected argument '--ttl'" },
	{ { "--", "edge", "--help" }, "'edge' needs one of" },
	/* empty values that would reach the admin API as "no value" */
	{ { "audit", "--since", "" }, "--since '': expected YYYY-MM-DD" },
	{ { "keys", "list", "--plan", "" }, "--plan '': not a plan name" },
	/* a file name is never empty */
	{ { "keys", "list", "--token-file", "" }, "Couldn't use --token-file '': an empty file" },
	{ { "cache", "purge", "--all", "--cacert=" }, "Couldn't use --cacert ''" },
	{ { "upstreams", "--token-file=" }, "Couldn't use --token-file ''" },
	{ { "--pin-dir", "relative", "status" }, "not an absolute path" },
	{ { "status", "--pin-dir", "" }, "not an absolute path" },
	{ { "--pin-dir", "/sys/fs/bpf/a", "status", "--pin-dir=/sys/fs/bpf/b" },
	  "option --pin-dir given twice" },
	{ { "--pin-dir=/sys/fs/bpf/a", "--pin-dir", "/sys/fs/bpf/a", "status" },
	  "option --pin-dir given twice" },
	{ { "status", "--frobnicate" }, "unknown option '--frobnicate' for 'status'" },
	{ { "status", "extra" }, "unexpected argument 'extra' for 'status'" },
	{ { "status", "--json=yes" }, "--json takes no value" },
	{ { "status", "--json", "--json" }, "--json given twice" },
	/* attach, detach */
	{ { "attach" }, "missing IFACE for 'attach'" },
	{ { "attach", "eth0", "eth1" }, "unexpected argument 'eth1'" },
	{ { "attach", "abcdefghijklmnop" }, "longer than 15 characters" },
	{ { "attach", "" }, "interface name: empty" },
	{ { "attach", "a/b" }, "contains '/'" },
	{ { "attach", "eth0", "--mode", "hw" },
	  "Couldn't parse mode 'hw': expected native or skb" },
	{ { "attach", "eth0", "--mode" }, "--mode needs a value" },
	{ { "attach", "eth0", "--max-sources", "10" }, "--max-sources 10: out of range 1024.." },
	{ { "attach", "eth0", "--max-sources", "lots" }, "not a whole number" },
	{ { "attach", "eth0", "--keep-maps" }, "unknown option '--keep-maps' for 'attach'" },
	{ { "detach" }, "missing IFACE for 'detach'" },
	{ { "unpin", "eth0" }, "unexpected argument" },
	/* block and friends */
	{ { "block" }, "missing CIDR for 'block'" },
	{ { "block", "198.18.0.1/33" },
	  "Couldn't parse CIDR '198.18.0.1/33': prefix length is over 32" },
	{ { "block", "2001:2::/129" }, "prefix length is over 128" },
	{ { "block", "198.18.0.1/24" }, "bits set beyond the prefix length" },
	{ { "block", "198.18.0.256" }, "not an IPv4 or IPv6 address" },
	{ { "block", "2001:2::g" }, "not an IPv6 address" },
	{ { "block", "198.18.0.0/x" }, "prefix length is not a number" },
	{ { "block", "" }, "empty address" },
	{ { "block", "198.18.0.1", "198.18.0.2" }, "unexpected argument '198.18.0.2'" },
	{ { "block", "198.18.0.1", "--ttl", "315360001" },
	  "over the maximum of 315360000 seconds" },
	{ { "block", "198.18.0.1", "--ttl", "99999999999999999999999" }, "over the maximum" },
	{ { "block", "198.18.0.1", "--ttl", "abc" }, "Couldn't parse TTL 'abc'" },
	{ { "block", "198.18.0.1", "--ttl", "-5" }, "Couldn't parse TTL '-5'" },
	{ { "block", "198.18.0.1", "--ttl", "0" }, "at least 1 second" },
	{ { "block", "198.18.0.1", "--ttl" }, "--ttl needs a value (SECONDS)" },
	{ { "block", "198.18.0.1", "--ttl", "1", "--ttl", "2" }, "--ttl given twice" },
	{ { "block", "198.18.0.1", "--mode", "inherit" }, "expected drop, mark or monitor" },
	{ { "block", "198.18.0.1", "--mode", "bogus" }, "Couldn't parse mode 'bogus'" },
	{ { "block", "198.18.0.1", "--json" }, "unknown option '--json' for 'block'" },
	{ { "unblock" }, "missing CIDR for 'unblock'" },
	{ { "unblock", "198.18.0.1", "--ttl", "5" }, "unknown option '--ttl' for 'unblock'" },
	{ { "allow", "198.18.0.1", "--mode", "drop" }, "unknown option '--mode' for 'allow'" },
	{ { "disallow", "x" }, "Couldn't parse CIDR 'x'" },
	{ { "sweep", "now" }, "unexpected argument 'now'" },
	/* list */
	{ { "list" }, "'list' needs one of: blocks, allows, marked or edges" },
	{ { "list", "bogus" }, "unknown command 'list bogus'" },
	{ { "list", "blocks", "extra" }, "unexpected argument 'extra'" },
	{ { "list", "--json" }, "'list' needs one of" },
	/* edges */
	{ { "edge" }, "'edge' needs one of: add or del" },
	{ { "edge", "frobnicate" }, "unknown command 'edge frobnicate'" },
	{ { "edge", "add", "198.18.0.0/24", "--rate", "10" }, "missing --burst N for 'edge add'" },
	{ { "edge", "add", "198.18.0.0/24", "--burst", "10" }, "missing --rate PPS" },
	{ { "edge", "add", "--rate", "1", "--burst", "1" }, "missing CIDR for 'edge add'" },
	{ { "edge", "add", "198.18.0.0/24", "--rate", "0", "--burst", "0" },
	  "--rate 0: out of range 1..1000000000" },
	{ { "edge", "add", "198.18.0.0/24", "--rate", "1000000001", "--burst", "1" },
	  "out of range 1..1000000000" },
	{ { "edge", "add", "198.18.0.0/24", "--rate", "1", "--burst", "0" },
	  "--burst 0: out of range" },
	{ { "edge", "add", "198.18.0.0/33", "--rate", "1", "--burst", "1" }, "over 32" },
	{ { "edge", "add", "198.18.0.0/24", "--rate", "1", "--burst", "1", "--mode", "x" },
	  "Couldn't parse mode 'x'" },
	{ { "edge", "del" }, "missing CIDR for 'edge del'" },
	{ { "edge", "del", "198.18.0.0/24", "--rate", "1" }, "unknown option '--rate'" },
	/* config */
	{ { "limit" }, "'limit' needs --rate and --burst" },
	{ { "limit", "--rate", "0", "--burst", "0" }, "Couldn't use rate 0 with burst 0" },
	{ { "limit", "--rate", "0", "--burst", "5" }, "Couldn't use --rate 0" },
	{ { "limit", "--rate", "5", "--burst", "0" }, "Couldn't use --burst 0" },
	{ { "limit", "--rate", "10" }, "--rate and --burst go together" },
	{ { "limit", "--burst", "10" }, "--rate and --burst go together" },
	{ { "limit", "--syn-only", "--all-packets" }, "exclude each other" },
	{ { "limit", "off", "--rate", "1", "--burst", "1" }, "'limit off' takes no --rate" },
	{ { "limit", "on" }, "Couldn't parse off 'on': expected off" },
	{ { "limit", "--rate", "x", "--burst", "1" }, "Couldn't parse --rate 'x'" },
	{ { "limit", "--rate", "1000000001", "--burst", "1" }, "out of range 0..1000000000" },
	{ { "new-sources" }, "'new-sources' needs --rate and --burst, or off" },
	{ { "new-sources", "--rate", "0", "--burst", "0" }, "rate 0 with burst 0" },
	{ { "new-sources", "--rate", "10" }, "needs --rate and --burst" },
	{ { "new-sources", "off", "--burst", "1" }, "takes no --rate or --burst" },
	{ { "mode" }, "missing drop|mark|monitor for 'mode'" },
	{ { "mode", "inherit" }, "Couldn't parse mode 'inherit': expected drop, mark or monitor" },
	{ { "mode", "DROP" }, "Couldn't parse mode 'DROP'" },
	{ { "mode", "drop", "mark" }, "unexpected argument 'mark'" },
	{ { "ports" }, "missing PORT[,PORT...]|all for 'ports'" },
	{ { "ports", "0" }, "Couldn't parse port list '0': port 0 is out of range 1..65535" },
	{ { "ports", "65536" }, "out of range 1..65535" },
	{ { "ports", "80,,443" }, "empty item in the port list" },
	{ { "ports", "" }, "empty port list" },
	{ { "ports", "90-80" }, "port range 90-80 is reversed" },
	{ { "ports", "http" }, "'http' is not a port number" },
	{ { "lockdown" }, "missing on|off for 'lockdown'" },
	{ { "lockdown", "yes" }, "Couldn't parse lockdown 'yes': expected on or off" },
	{ { "malformed", "keep" }, "Couldn't parse verdict 'keep': expected drop or pass" },
	{ { "dscp", "64" }, "Couldn't use DSCP 64: out of range 0..63" },
	{ { "dscp", "-1" }, "Couldn't parse DSCP '-1': not a whole number" },
	{ { "dscp" }, "missing N for 'dscp'" },
	{ { "v6-prefix", "0" }, "Couldn't use PREFIX 0: out of range 1..128" },
	{ { "v6-prefix", "129" }, "out of range 1..128" },
	/* stats */
	{ { "stats", "--count", "2" }, "--count needs --watch" },
	{ { "stats", "--watch", "0" }, "--watch 0: out of range 1..3600" },
	{ { "stats", "--watch", "3601" }, "out of range 1..3600" },
	{ { "stats", "--watch", "1.5" }, "not a whole number" },
	{ { "stats", "--watch", "1", "--count", "0" }, "--count 0: out of range" },
	{ { "stats", "--watch", "1", "--per-cpu" }, "--per-cpu goes without --watch" },
};

static void bad_lines(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[12] = { "fgctl" };
		char err[FGCTL_ERR_LEN] = "";
		struct fgctl_parsed p;
		int argc = 1, r;

		for (int k = 0; bad[i].argv[k]; k++)
			argv[argc++] = (char *)bad[i].argv[k];
		r = fgctl_parse(argc, argv, &p, err, sizeof(err));
		fgctl_parsed_free(&p);
		if (r != -EINVAL || !strstr(err, bad[i].err) || strchr(err, '\n') || !strlen(err)) {
			print_message(
				"# line %zu (%s ...): returned %d, error '%s', expected '%s'\n", i,
				bad[i].argv[0] ? bad[i].argv[0] : "(none)", r, err, bad[i].err);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(globals), cmocka_unit_test(help),	cmocka_unit_test(help_text),
		cmocka_unit_test(tables),  cmocka_unit_test(attach),	cmocka_unit_test(rules),
		cmocka_unit_test(lists),   cmocka_unit_test(edges),	cmocka_unit_test(config),
		cmocka_unit_test(stats),   cmocka_unit_test(bad_lines),
	};

	return FG_RUN_TESTS(tests);
}

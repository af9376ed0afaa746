/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/config.c: a valid config and what it becomes (rates in ns,
 * RateLimit-Policy values, plan lookups), then one test per kind of error, each checking
 * the message and that FILE:LINE:COL points at the offending key or value.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw/config.h"

#define TOKEN "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* One section per line, so a test can aim at a line. */
static const char base[] =
	"{\n"
	"\"listen\": [\"127.0.0.1:18080\"],\n"
	"\"admin\": {\"token_sha256\": \"" TOKEN "\"},\n"
	"\"store\": {\"path\": \"/tmp/fg-unit-keys.db\"},\n"
	"\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}},\n"
	"\"routes\": [{\"name\": \"items\", \"methods\": [\"GET\", \"POST\"], \"path\": "
	"\"^/v1/items(/[0-9]+)?$\", \"upstream\": \"api\", \"credits\": 3, \"cache_ttl\": 30}, "
	"{\"name\": \"health\", \"methods\": \"*\", \"path\": \"/health\", \"upstream\": \"api\", "
	"\"auth\": false}],\n"
	"\"plans\": {\"free\": {\"rate\": 1, \"burst\": 1, \"routes\": [\"items\"]}, "
	"\"premium\": {\"rate\": 10, \"burst\": 100, \"routes\": \"*\", \"quotas\": {\"day\": 5}}, "
	"\"tier-free\": {\"rate\": \"5/min\", \"burst\": 5, \"routes\": \"*\"}}\n"
	"}\n";

static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	assert_non_null(at);
	out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	return out;
}

/* Position of the first occurrence of marker in text as "LINE:COL". */
static void pos_of(const char *text, const char *marker, char *buf, size_t len)
{
	const char *at = strstr(text, marker), *p;
	int line = 1, col = 1;

	assert_non_null(at);
	for (p = text; p < at; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(buf, len, "%d:%d", line, col);
}

/* Load text; expect failure whose message starts "t.json:<pos of marker>: " and contains
 * every fragment (marker NULL: no position check). */
static void expect_error(const char *text, const char *marker, const char *frag)
{
	char err[GW_CONFIG_ERRLEN], want[64], pos[32];
	gw_config_t *c = gw_config_parse("t.json", text, strlen(text), err, sizeof(err));

	if (c) {
		print_message("# unexpectedly valid:\n%s\n", text);
		gw_config_unref(c);
		fail();
	}
	if (marker) {
		pos_of(text, marker, pos, sizeof(pos));
		snprintf(want, sizeof(want), "t.json:%s: ", pos);
		if (strncmp(err, want, strlen(want))) {
			print_message("# got '%s', expected it to start with '%s'\n", err, want);
			fail();
		}
	}
	if (!strstr(err, frag)) {
		print_message("# got '%s', expected it to contain '%s'\n", err, frag);
		fail();
	}
}

static void expect_replaced_error(const char *from, const char *to, const char *marker,
				  const char *frag)
{
	char *text = replace(base, from, to);

	expect_error(text, marker, frag);
	free(text);
}

/* Load len bytes of text; expect failure with exactly the message want. */
static void expect_message(const char *text, size_t len, const char *want)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *c = gw_config_parse("t.json", text, len, err, sizeof(err));

	if (c) {
		print_message("# unexpectedly valid:\n%s\n", text);
		gw_config_unref(c);
		fail();
	}
	assert_string_equal(err, want);
}

static gw_config_t *load_ok(const char *file, const char *text)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *c = gw_config_parse(file, text, strlen(text), err, sizeof(err));

	if (!c) {
		print_message("# %s\n", err);
		fail();
	}
	return c;
}

static void valid_config(void **state)
{
	gw_config_t *c = load_ok("t.json", base);
	const gw_plan_t *free_p, *prem, *tier;

	assert_int_equal(c->nlisteners, 1);
	assert_null(c->listeners[0].ssl_ctx);
	assert_int_equal(c->nroutes, 2);
	assert_int_equal(c->nplans, 3);
	assert_true(c->threads >= 1);
	assert_string_equal(c->admin.listen.address, "127.0.0.1:9090");
	assert_int_equal(c->admin.token_sha256[0], 0x9f);
	assert_int_equal(c->routes[0].credits, 3);
	assert_int_equal(c->routes[0].cache_ttl_s, 30);
	assert_true(c->routes[0].auth);
	assert_false(c->routes[1].auth);
	/* HEAD comes with GET */
	assert_true(c->routes[0].methods & (1u << GW_METHOD_HEAD));
	assert_false(c->routes[0].methods & (1u << GW_METHOD_DELETE));
	assert_string_equal(c->routes[0].upstream->host, "127.0.0.1:18081");

	free_p = gw_config_plan(c, gw_intern_find("free"));
	prem = gw_config_plan(c, gw_intern_find("premium"));
	tier = gw_config_plan(c, gw_intern_find("tier-free"));
	assert_non_null(free_p);
	assert_non_null(prem);
	assert_non_null(tier);
	assert_null(gw_config_plan(c, gw_intern_find("items"))); /* a route, not a plan */
	assert_null(gw_config_plan(c, 0));

	assert_int_equal(free_p->limit.interval_ns, 1000000000ULL);
	assert_int_equal(free_p->limit.cap_ns, 1000000000ULL);
	assert_string_equal(free_p->policy, "\"free\";q=1;w=1");
	assert_int_equal(prem->limit.interval_ns, 100000000ULL);
	assert_int_equal(prem->limit.cap_ns, 10000000000ULL);
	assert_string_equal(prem->policy, "\"premium\";q=100;w=10");
	assert_int_equal(prem->quotas.day, 5);
	assert_int_equal(tier->limit.interval_ns, 12000000000ULL);
	assert_string_equal(tier->policy, "\"tier-free\";q=5;w=60");

	assert_true(gw_plan_allows(free_p, &c->routes[0]));
	assert_false(gw_plan_allows(free_p, &c->routes[1]));
	assert_true(gw_plan_allows(prem, &c->routes[1]));

	/* problem bodies are pre-rendered with the default type base */
	assert_non_null(strstr(c->problems[GW_PROBLEM_RATE_LIMITED].body,
			       "\"type\":\"urn:floodgate:problem:rate-limited\""));
	assert_non_null(strstr(c->problems[GW_PROBLEM_RATE_LIMITED].body, "\"status\":429"));
	gw_config_unref(c);
}

static void relative_paths_follow_the_file(void **state)
{
	char *text = replace(base, "/tmp/fg-unit-keys.db", "keys.db");
	gw_config_t *c = load_ok("/tmp/t.json", text);

	assert_string_equal(c->store.path, "/tmp/keys.db");
	gw_config_unref(c);
	free(text);
}

static void rates(void **state)
{
	gw_limit_t l;
	const char *why;

	assert_int_equal(gw_limit_parse_rate("20/min", 0, true, 20, &l, &why), 0);
	assert_int_equal(l.interval_ns, 3000000000ULL);
	assert_int_equal(l.window_s, 60);
	assert_int_equal(gw_limit_parse_rate("1000/min", 0, true, 1000, &l, &why), 0);
	assert_int_equal(l.interval_ns, 60000000ULL);
	assert_int_equal(gw_limit_parse_rate("100/h", 0, true, 1, &l, &why), 0);
	assert_int_equal(l.interval_ns, 36000000000ULL);
	assert_int_equal(gw_limit_parse_rate(NULL, 0.5, false, 2, &l, &why), 0);
	assert_int_equal(l.interval_ns, 2000000000ULL);
	assert_int_equal(l.window_s, 4);
	assert_int_equal(gw_limit_parse_rate(NULL, 3, false, 1, &l, &why), 0);
	assert_int_equal(l.interval_ns, 333333333ULL);
	assert_int_equal(l.window_s, 1); /* ceil(0.33 s) */
	assert_int_equal(gw_limit_parse_rate("0/s", 0, true, 1, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate("5/fortnight", 0, true, 1, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate("x/s", 0, true, 1, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate("5", 0, true, 1, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate(NULL, 0, false, 1, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate(NULL, -1, false, 1, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate(NULL, 1, false, 0, &l, &why), -EINVAL);
	assert_int_equal(gw_limit_parse_rate("1/day", 0, true, 1000000000, &l, &why), -EINVAL);
}

static void syntax_errors(void **state)
{
	/* jansson's own position: line 3 */
	expect_error("{\n\"listen\": [],\n\"admin\" {}\n}", NULL, "t.json:3:");
	expect_error("{\n\"threads\": 1,\n\"threads\": 2\n}", NULL, "duplicate object key");
	expect_error("{\n\"threads\": 1,\n\"threads\": 2\n}", NULL, "t.json:3:");
	expect_error("", NULL, "t.json:");
	expect_error("[1, 2]", "[1", "expected an object at the top level");
}

/* A message is one line whatever the file holds: a value cannot print a forged second
 * "file:line:col:" line or a terminal escape. */
static void messages_escape_control_characters(void **state)
{
	static const char forged[] = "{\"a\\nt.json:1:1: forged\\u001b[2J\": 1}";
	static const char raw[] = "{\"threads\": 1}\n\x1b[31m";
	static const char nul[] = "{\"threads\": 1}\n\0";
	static const char nul_in_string[] = "{\"threads\": \"1\0\"}";

	expect_message(forged, strlen(forged),
		       "t.json:1:2: a\\nt.json:1:1: forged\\x1b[2J: unknown key (expected one "
		       "of: threads, listen, admin, store, access_log, limits, clients, keys, "
		       "headers, errors, upstreams, routes, plans, usage, cache, notify, edge, "
		       "abuse, server_header)");
	/* jansson quotes the text near a syntax error */
	expect_message(raw, strlen(raw), "t.json:2:1: end of file expected near '\\x1b'");
	/* a NUL byte is named as such, where it is */
	expect_message(nul, sizeof(nul) - 1, "t.json:2:1: NUL byte in config (JSON text has none)");
	expect_message(nul_in_string, sizeof(nul_in_string) - 1,
		       "t.json:1:15: NUL byte in config (JSON text has none)");
	/* values are quoted escaped too, with the path they sit at */
	expect_replaced_error("\"upstream\": \"api\", \"credits\"",
			      "\"upstream\": \"a\\r\\npi\", \"credits\"", "\"a\\r",
			      "routes[0].upstream: must not contain control characters "
			      "(\"a\\r\\npi\")");
}

/* What bounds the time a validation or a reload takes: regex sizes, plan route lists,
 * the file. */
static void size_limits(void **state)
{
	char *long_re = malloc(GW_ROUTE_REGEX_MAX + 8), *routes, *text, *big;
	size_t off = 0, n = GW_ROUTE_REGEX_TOTAL_MAX / GW_ROUTE_REGEX_MAX;
	char from[64], err[GW_CONFIG_ERRLEN];

	assert_non_null(long_re);
	/* one regex a byte too long */
	long_re[0] = '"';
	long_re[1] = '/';
	memset(long_re + 2, 'a', GW_ROUTE_REGEX_MAX);
	strcpy(long_re + 2 + GW_ROUTE_REGEX_MAX, "\"");
	expect_replaced_error("\"/health\"", long_re, "\"/aaa",
			      "routes[1].path: the regex is 4097 bytes, longer than 4096");
	/* the longest regex is fine; with routes[0]'s, 64 of them go over the budget */
	long_re[1 + GW_ROUTE_REGEX_MAX] = '"';
	long_re[2 + GW_ROUTE_REGEX_MAX] = '\0';
	routes = malloc(n * (GW_ROUTE_REGEX_MAX + 128));
	assert_non_null(routes);
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(routes + off,
				       "%s{\"name\": \"r%zu\", \"methods\": \"*\", \"path\": %s, "
				       "\"upstream\": \"api\"}",
				       i ? ", " : "", i, long_re);
	snprintf(from, sizeof(from), "{\"name\": \"r%zu\"", n - 1);
	text = replace(base,
		       "{\"name\": \"health\", \"methods\": \"*\", \"path\": \"/health\", "
		       "\"upstream\": \"api\", \"auth\": false}",
		       routes);
	expect_error(text, strstr(strstr(text, from), "\"/aaa"),
		     "routes[64].path: the route regexes add up to more than 262144 bytes "
		     "(262165 with this one)");
	free(text);
	/* plan route lists: each route once */
	expect_replaced_error("\"routes\": [\"items\"]", "\"routes\": [\"items\", \"items\"]",
			      "\"items\"]",
			      "plans.free.routes[1]: route \"items\" is listed twice");
	expect_replaced_error("\"routes\": [\"items\"]",
			      "\"routes\": [\"items\", \"health\", \"items\"]",
			      "[\"items\", \"health\"",
			      "plans.free.routes: 3 route names, but the config has 2 routes");
	/* the file: refused before parsing */
	big = calloc(1, GW_CONFIG_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', GW_CONFIG_FILE_MAX + 1);
	assert_null(gw_config_parse("t.json", big, GW_CONFIG_FILE_MAX + 1, err, sizeof(err)));
	assert_string_equal(err, "t.json: config is larger than 4194304 bytes");
	free(big);
	free(routes);
	free(long_re);
}

/* Settings that go into requests, file paths, commands or interface names carry no
 * control characters; interface names follow the kernel's rules. */
static void control_characters_in_settings(void **state)
{
	static const char *const top[][3] = {
		{ "\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}}",
		  "\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\", "
		  "\"health_check\": {\"path\": \"/h\\u0001x\"}}}",
		  "upstreams.api.health_check.path: must not contain control characters "
		  "(\"/h\\x01x\")" },
		{ "\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}}",
		  "\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\", "
		  "\"health_check\": {\"path\": \"/h\u00e9\"}}}",
		  "upstreams.api.health_check.path: expected an absolute path of at most 1024 "
		  "printable ASCII characters without spaces" },
		{ "\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}}",
		  "\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\", "
		  "\"health_check\": {\"path\": \"/health#x\"}}}",
		  "upstreams.api.health_check.path: a '#' (a fragment) cannot be sent in a "
		  "request; "
		  "a query ('?') can" },
		{ "\"store\"", "\"usage\": {\"endpoint\": \"/u\\u007f\"},\n\"store\"",
		  "usage.endpoint: expected a path (\"/v1/usage\")" },
		{ "\"store\"", "\"notify\": {\"command\": \"true\\nreboot\"},\n\"store\"",
		  "notify.command: must not contain control characters (\"true\\nreboot\")" },
		{ "\"store\"", "\"access_log\": \"/tmp/a\\u001b.log\",\n\"store\"",
		  "access_log: a file path must not contain NUL or control characters" },
		{ "\"path\": \"/tmp/fg-unit-keys.db\"", "\"path\": \"/tmp/k\\u2028eys.db\"",
		  "store.path: must not contain control characters (\"/tmp/k\\u2028eys.db\")" },
		{ "\"store\"", "\"edge\": {\"attach\": \"e\\u0001th0\"},\n\"store\"",
		  "edge.attach: expected an interface name (1 to 15 bytes" },
		{ "\"store\"", "\"edge\": {\"attach\": \"eth0123456789012\"},\n\"store\"",
		  "edge.attach: expected an interface name" },
		{ "\"store\"", "\"edge\": {\"attach\": \"..\"},\n\"store\"",
		  "edge.attach: expected an interface name" },
		{ "\"store\"", "\"edge\": {\"attach\": \"eth0:1\"},\n\"store\"",
		  "edge.attach: expected an interface name" },
		{ "\"store\"", "\"edge\": {\"pin_dir\": \"/sys/fs/bpf/\\tx\"},\n\"store\"",
		  "edge.pin_dir: expected an absolute path on bpffs" },
	};

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		char *text = replace(base, top[i][0], top[i][1]);
		const char *v = NULL;

		/* the position is the offending value's: after the replacement's last "\": " */
		for (const char *p = top[i][1]; (p = strstr(p, "\": ")); p++)
			v = p;
		assert_non_null(v);
		expect_error(text, strstr(text, v + 3), top[i][2]);
		free(text);
	}
	/* the longest interface name is fine */
	{
		char *text = replace(base, "\"store\"",
				     "\"edge\": {\"attach\": \"eth01234567890\"},\n\"store\"");
		gw_config_t *c = load_ok("t.json", text);

		gw_config_unref(c);
		free(text);
	}
}

/* Each error where it is and saying what it is: a duplicate edge at the edge, a directory
 * where a file goes, a config path too long to handle whole. */
static void positions_and_paths(void **state)
{
	char err[GW_CONFIG_ERRLEN], *longname, *text;
	size_t n;

	expect_replaced_error(
		"\"store\"",
		"\"edge\": {\"edges\": [{\"cidr\": \"198.18.0.0/15\", \"rate\": 1, "
		"\"burst\": 1}, {\"cidr\": \"198.18.0.0/15\", \"rate\": 2, \"burst\": 2, "
		"\"mode\": \"drop\"}]},\n\"store\"",
		"{\"cidr\": \"198.18.0.0/15\", \"rate\": 2",
		"edge.edges[1]: edge 198.18.0.0/15 is listed twice (edges[0])");
	expect_replaced_error("\"/tmp/fg-unit-keys.db\"", "\"/tmp\"", "\"/tmp\"",
			      "store.path: /tmp is a directory (expected the database file)");
	expect_replaced_error("\"store\"", "\"access_log\": \"/\",\n\"store\"", "\"/\",",
			      "access_log: / is a directory (expected the log file)");
	/* the daemon creates the file, not the directories above it */
	expect_replaced_error(
		"\"/tmp/fg-unit-keys.db\"", "\"/nonexistent-fg/keys.db\"",
		"\"/nonexistent-fg/keys.db\"",
		"store.path: /nonexistent-fg/keys.db: its directory does not exist (the "
		"daemon creates the file, not its directory)");
	expect_replaced_error(
		"\"store\"", "\"access_log\": \"/dev/null/access.log\",\n\"store\"",
		"\"/dev/null/access.log\",",
		"access_log: /dev/null/access.log: its directory is not a directory (the "
		"daemon creates the file, not its directory)");
	/* a long path is kept whole in messages; relative paths follow it */
	n = PATH_MAX - 16;
	longname = malloc(PATH_MAX + 2);
	assert_non_null(longname);
	memset(longname, 'd', n);
	longname[0] = '/';
	strcpy(longname + n, "/t.json");
	text = replace(base, "\"listen\"", "\"bogus\": 1,\n\"listen\"");
	assert_null(gw_config_parse(longname, text, strlen(text), err, sizeof(err)));
	assert_int_equal(strncmp(err, longname, strlen(longname)), 0);
	assert_non_null(strstr(err + strlen(longname), ":2:1: bogus: unknown key"));
	free(text);
	/* too long: said so, not cut */
	memset(longname, 'd', PATH_MAX + 1);
	longname[PATH_MAX + 1] = '\0';
	assert_null(gw_config_parse(longname, base, strlen(base), err, sizeof(err)));
	assert_non_null(strstr(err, "...: config path is longer than 4095 bytes"));
	assert_null(gw_config_load(longname, err, sizeof(err)));
	assert_non_null(strstr(err, "...: config path is longer than 4095 bytes"));
	free(longname);
}

static void unknown_keys(void **state)
{
	expect_replaced_error("\"listen\"", "\"bogus\": 1,\n\"listen\"", "\"bogus\"",
			      "bogus: unknown key (expected one of: threads, listen");
	expect_replaced_error("\"credits\": 3", "\"credit\": 3", "\"credit\"",
			      "routes[0].credit: unknown key");
	expect_replaced_error("\"quotas\": {\"day\": 5}", "\"quotas\": {\"days\": 5}", "\"days\"",
			      "plans.premium.quotas.days: unknown key (expected one of: day, "
			      "week, month, enforce)");
}

static void missing_and_types(void **state)
{
	expect_replaced_error("\"routes\": [{", "\"routez\": [{", "\"routez\"", "unknown key");
	expect_replaced_error("\"store\": {\"path\": \"/tmp/fg-unit-keys.db\"},\n", "", "{",
			      "missing required key \"store\"");
	expect_replaced_error("\"burst\": 1,", "\"burst\": \"1\",", "\"1\"",
			      "plans.free.burst: expected an integer, got a string");
	expect_replaced_error("\"burst\": 1,", "\"burst\": 0,", "0,",
			      "plans.free.burst: 0 is out of range (1 to 1000000000)");
	expect_replaced_error("\"listen\": [\"127.0.0.1:18080\"]", "\"listen\": \"x\"", "\"x\"",
			      "listen: expected an array of listeners, got a string");
	expect_replaced_error("\"credits\": 3", "\"credits\": -1", "-1",
			      "routes[0].credits: -1 is out of range");
	expect_replaced_error("\"auth\": false", "\"auth\": 0", "0}]",
			      "routes[1].auth: expected a boolean, got an integer");
	expect_replaced_error("\"name\": \"items\"", "\"name\": \"it ems\"", "\"it ems\"",
			      "routes[0].name: route names are");
	expect_replaced_error("\"name\": \"health\"", "\"name\": \"items\"",
			      "\"items\", \"methods\": \"*\"", "route \"items\" is defined twice");
}

static void bad_values(void **state)
{
	expect_replaced_error("\"^/v1/items(/[0-9]+)?$\"", "\"^/v1/items(/[0-9]+?$\"",
			      "\"^/v1/items(/", "routes[0].path: bad regex at offset");
	expect_replaced_error("\"path\": \"/health\"", "\"path\": \"health\"",
			      "\"health\", \"upstream", "starts with '/'");
	expect_replaced_error("[\"GET\", \"POST\"]", "[\"GET\", \"post\"]", "\"post\"",
			      "routes[0].methods[1]: expected one of GET");
	expect_replaced_error("[\"GET\", \"POST\"]", "[\"GET\", \"GET\"]", "\"GET\"]",
			      "GET is listed twice");
	expect_replaced_error("\"upstream\": \"api\", \"credits\"",
			      "\"upstream\": \"nope\", \"credits\"", "\"nope\"",
			      "routes[0].upstream: no upstream named \"nope\"");
	expect_replaced_error("\"routes\": [\"items\"]", "\"routes\": [\"items\", \"gone\"]",
			      "\"gone\"", "plans.free.routes[1]: no route named \"gone\"");
	expect_replaced_error("\"rate\": \"5/min\"", "\"rate\": \"5/fortnight\"", "\"5/fortnight\"",
			      "plans.tier-free.rate: the unit after '/'");
	expect_replaced_error("\"rate\": 1,", "\"rate\": 0,", "0,", "plans.free.rate: rate must");
	expect_replaced_error("\"" TOKEN "\"", "\"abc\"", "\"abc\"",
			      "admin.token_sha256: expected 64 hex digits");
	expect_replaced_error("\"127.0.0.1:18080\"", "\"127.0.0.1\"", "\"127.0.0.1\"",
			      "listen[0]: 127.0.0.1: expected \"HOST:PORT\"");
	expect_replaced_error("\"127.0.0.1:18080\"", "\"127.0.0.1:0\"", "\"127.0.0.1:0\"",
			      "port must be 1 to 65535");
	expect_replaced_error("\"127.0.0.1:18080\"", "\"localhost:8080\"", "\"localhost",
			      "host must be an IPv4 address");
	/* getaddrinfo() would take these: "*" as loopback, an IPv4 address in brackets */
	expect_replaced_error("\"127.0.0.1:18080\"", "\"*:8080\"", "\"*:8080",
			      "listen[0]: *:8080: host must be an IPv4 address");
	expect_replaced_error("\"127.0.0.1:18080\"", "\"[127.0.0.1]:8080\"", "\"[127",
			      "expected an IPv6 address in");
	expect_replaced_error("\"path\": \"/health\"", "\"path\": \"^health\"",
			      "\"^health\", \"upstream", "starts with '/'");
	/* the admin API on a gateway listener's port */
	expect_replaced_error(
		"{\"token_sha256\"", "{\"listen\": \"127.0.0.1:18080\", \"token_sha256\"",
		"\"127.0.0.1:18080\", \"token", "admin.listen: 127.0.0.1:18080 overlaps listen[0]");
	{
		char *t1 = replace(base, "\"127.0.0.1:18080\"", "\"0.0.0.0:18090\"");
		char *t2 = replace(t1, "{\"token_sha256\"",
				   "{\"listen\": \"127.0.0.1:18090\", \"token_sha256\"");

		expect_error(t2, "\"127.0.0.1:18090\", \"token",
			     "overlaps listen[0] (0.0.0.0:18090)");
		free(t1);
		free(t2);
	}
	/* webhooks: a host, a port of 1..65535 */
	{
		static const char *const bad[][2] = {
			{ "http://", "has no host" },
			{ "http://:80/x", "has no host" },
			{ "http://127.0.0.1:99999/x", "port must be a number from 1 to 65535" },
			{ "http://127.0.0.1:0", "port must be a number from 1 to 65535" },
			{ "http://127.0.0.1:80x", "port must be a number from 1 to 65535" },
			{ "http://127.0.0.1:/x", "port must be a number from 1 to 65535" },
			{ "http://[::1/x", "unterminated" },
			{ "http://h/a b", "space or control character" },
			{ "https://h/", "only http:// webhooks" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char to[160], *text;

			snprintf(to, sizeof(to), "\"notify\": {\"webhook\": \"%s\"},\n\"store\"",
				 bad[i][0]);
			text = replace(base, "\"store\"", to);
			expect_error(text, NULL, bad[i][1]);
			free(text);
		}
		{
			char *text = replace(base, "\"store\"",
					     "\"notify\": {\"webhook\": "
					     "\"http://[::1]:8080/hook\"},\n\"store\"");
			gw_config_t *c = load_ok("t.json", text);

			gw_config_unref(c);
			free(text);
		}
	}
	expect_replaced_error("\"http://127.0.0.1:18081\"", "\"https://127.0.0.1:18081\"",
			      "\"https", "upstreams.api.url: only http:// upstreams");
	expect_replaced_error("\"http://127.0.0.1:18081\"", "\"http://127.0.0.1:18081/api\"",
			      "\"http", "a path in the upstream URL is not supported");
}

/* Quotas per period in requests or credits, hard or soft; the usage section. */
static void quotas_section(void **state)
{
	static const char *const Q = "\"quotas\": {\"day\": 5}";
	char *text;
	gw_config_t *c;
	const gw_plan_t *p;

	text = replace(base, Q,
		       "\"quotas\": {\"day\": 5, \"week\": {\"requests\": 20, \"credits\": "
		       "300, \"enforce\": \"soft\"}, \"month\": {\"requests\": 50}, "
		       "\"enforce\": \"hard\"}, \"monthly_credits\": 1000");
	c = load_ok("t.json", text);
	p = gw_config_plan(c, gw_intern_find("premium"));
	assert_non_null(p);
	assert_int_equal(p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)].limit, 5);
	assert_false(p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)].soft);
	assert_int_equal(p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK)].limit, 20);
	assert_true(p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK)].soft);
	assert_int_equal(p->quota[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_WEEK)].limit, 300);
	assert_true(p->quota[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_WEEK)].soft);
	assert_int_equal(p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_MONTH)].limit, 50);
	assert_int_equal(p->quota[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)].limit, 1000);
	assert_int_equal(p->quota[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_DAY)].limit, 0);
	assert_int_equal(p->quotas.day, 5);
	assert_int_equal(c->routes[0].credits, 3);
	assert_false(c->routes[0].refund_on_failure);
	/* defaults of the usage section */
	assert_int_equal(c->usage.flush_ms, 1000);
	assert_int_equal(c->usage.clock.utc_offset_s, 0);
	assert_int_equal(c->usage.clock.week_start, 0);
	assert_string_equal(c->usage.endpoint, "/v1/usage");
	gw_config_unref(c);
	free(text);

	text = replace(base, "\"plans\"",
		       "\"usage\": {\"utc_offset\": \"-03:30\", \"week_start\": \"sunday\", "
		       "\"flush_ms\": 250, \"endpoint\": null},\n\"plans\"");
	c = load_ok("t.json", text);
	assert_int_equal(c->usage.clock.utc_offset_s, -(3 * 3600 + 1800));
	assert_int_equal(c->usage.clock.week_start, 6);
	assert_int_equal(c->usage.flush_ms, 250);
	assert_null(c->usage.endpoint);
	gw_config_unref(c);
	free(text);

	expect_replaced_error(
		Q, "\"quotas\": {\"day\": \"5\"}", "\"5\"",
		"plans.premium.quotas.day: expected a number of requests or an object");
	expect_replaced_error(Q, "\"quotas\": {\"day\": {\"credit\": 5}}", "\"credit\"",
			      "plans.premium.quotas.day.credit: unknown key (expected one of: "
			      "requests, credits, enforce)");
	expect_replaced_error(Q, "\"quotas\": {\"day\": {}}", "{}}",
			      "plans.premium.quotas.day: expected \"requests\" or \"credits\"");
	expect_replaced_error(Q, "\"quotas\": {\"day\": {\"credits\": 0}}", "0}}",
			      "plans.premium.quotas.day.credits: 0 is out of range");
	expect_replaced_error(Q, "\"quotas\": {\"day\": 5, \"enforce\": \"strict\"}", "\"strict\"",
			      "plans.premium.quotas.enforce: expected \"hard\" (refuse past the "
			      "limit) or \"soft\"");
	expect_replaced_error(Q, "\"quotas\": {\"day\": -1}", "-1", "out of range");
	expect_replaced_error(Q,
			      "\"quotas\": {\"month\": {\"credits\": 5}}, \"monthly_credits\": 9",
			      "\"monthly_credits\"", "monthly credits are set twice");
	expect_replaced_error("\"auth\": false", "\"auth\": false, \"refund_on_failure\": 1", "1}",
			      "routes[1].refund_on_failure: expected a boolean");
	expect_replaced_error("\"plans\"", "\"usage\": {\"utc_offset\": \"+15:00\"},\n\"plans\"",
			      "\"+15:00\"", "usage.utc_offset: expected \"+HH:MM\"");
	expect_replaced_error("\"plans\"", "\"usage\": {\"week_start\": \"Mon\"},\n\"plans\"",
			      "\"Mon\"", "usage.week_start: expected a weekday");
	expect_replaced_error("\"plans\"", "\"usage\": {\"flush_ms\": 5000},\n\"plans\"", "5000",
			      "usage.flush_ms: 5000 is out of range (10 to 1000)");
	expect_replaced_error("\"plans\"", "\"usage\": {\"endpoint\": \"usage\"},\n\"plans\"",
			      "\"usage\"}", "usage.endpoint: expected a path");
	expect_replaced_error("\"plans\"", "\"usage\": {\"flush\": 1},\n\"plans\"", "\"flush\"",
			      "usage.flush: unknown key");
}

static void admin_needs_tls_off_loopback(void **state)
{
	expect_replaced_error(
		"{\"token_sha256\"", "{\"listen\": \"198.18.0.1:9090\", \"token_sha256\"",
		"\"198.18.0.1:9090\"", "admin.listen: 198.18.0.1:9090 is not a loopback address");
	{
		char *text = replace(base, "{\"token_sha256\"",
				     "{\"listen\": \"[::1]:19090\", "
				     "\"token_sha256\"");
		gw_config_t *c = load_ok("t.json", text);

		assert_string_equal(c->admin.listen.address, "[::1]:19090");
		gw_config_unref(c);
		free(text);
	}
}

static void clients_section(void **state)
{
	char *text =
		replace(base, "\"listen\"",
			"\"clients\": {\"trusted_edges\": [\"198.18.0.0/15\", \"2001:2::/48\"], "
			"\"client_ip_header\": \"CF-Connecting-IP\", \"per_ip\": {\"rate\": 50, "
			"\"burst\": 100}},\n\"listen\"");
	gw_config_t *c = load_ok("t.json", text);

	assert_int_equal(c->clients.ntrusted_edges, 2);
	assert_int_equal(c->clients.header, GW_CLIENT_IP_CF);
	assert_true(c->clients.per_ip_on);
	assert_false(c->clients.per_edge_on);
	assert_int_equal(c->clients.per_ip.interval_ns, 20000000ULL);
	gw_config_unref(c);
	free(text);

	expect_replaced_error("\"listen\"",
			      "\"clients\": {\"trusted_edges\": [\"198.18.0.1/24\"]},\n\"listen\"",
			      "\"198.18.0.1/24\"",
			      "clients.trusted_edges[0]: bad CIDR \"198.18.0.1/24\": address has "
			      "bits set beyond the prefix length");
	expect_replaced_error("\"listen\"",
			      "\"clients\": {\"trusted_edges\": [\"nope\"]},\n\"listen\"",
			      "\"nope\"", "bad CIDR \"nope\"");
	expect_replaced_error(
		"\"listen\"",
		"\"clients\": {\"client_ip_header\": \"X-Forwarded-For\"},\n\"listen\"",
		"\"X-Forwarded-For\"", "only believed from trusted edges");
	expect_replaced_error("\"listen\"", "\"clients\": {\"per_ip\": {\"rate\": 5}},\n\"listen\"",
			      "{\"rate\": 5}", "clients.per_ip: missing required key \"burst\"");
	expect_replaced_error("\"listen\"",
			      "\"clients\": {\"per_edge\": {\"rate\": \"1/week\", \"burst\": 2}},\n"
			      "\"listen\"",
			      "\"1/week\"", "clients.per_edge.rate: the unit after '/'");
}

static void keys_section(void **state)
{
	char *text = replace(base, "\"listen\"",
			     "\"keys\": {\"sources\": [\"query\", \"header\"], \"header\": "
			     "\"X-Key\"},\n\"listen\"");
	gw_config_t *c = load_ok("t.json", text);

	assert_int_equal(c->keys.nsources, 2);
	assert_int_equal(c->keys.order[0], GW_KEY_SRC_QUERY);
	assert_int_equal(c->keys.order[1], GW_KEY_SRC_HEADER);
	assert_string_equal(c->keys.header, "x-key");
	assert_string_equal(c->keys.query_param, "api_key");
	gw_config_unref(c);
	free(text);

	expect_replaced_error("\"listen\"", "\"keys\": {\"sources\": [\"cookie\"]},\n\"listen\"",
			      "\"cookie\"", "keys.sources[0]: expected \"header\"");
	expect_replaced_error("\"listen\"",
			      "\"keys\": {\"sources\": [\"query\", \"query\"]},\n\"listen\"",
			      "\"query\"]", "\"query\" is listed twice");
	expect_replaced_error("\"listen\"", "\"keys\": {\"header\": \"X Key\"},\n\"listen\"",
			      "\"X Key\"", "keys.header: not a valid header name");
}

/* A self-signed certificate and key in dir, of type "EC" or "RSA". */
static void make_cert(const char *dir, const char *type, char *cert, char *key)
{
	EVP_PKEY *pk = !strcmp(type, "EC") ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
					   : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *x = X509_new();
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	sprintf(cert, "%s/%s.crt", dir, type);
	sprintf(key, "%s/%s.key", dir, type);
	f = fopen(cert, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key, "w");
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* The base config with one TLS listener: cert and key, and `extra` members of its "tls"
 * object (", \"name\": value", or ""). */
static char *with_tls(const char *cert, const char *key, const char *extra)
{
	char listen[2560];

	snprintf(listen, sizeof(listen),
		 "[{\"address\": \"127.0.0.1:18443\", \"tls\": {\"certificates\": [{\"cert\": "
		 "\"%s\", \"key\": \"%s\"}]%s}}]",
		 cert, key, extra);
	return replace(base, "[\"127.0.0.1:18080\"]", listen);
}

static void tls_listeners(void **state)
{
	char dir[] = "/tmp/fg-unit-tls-XXXXXX", ec[128], eck[128], rsa[128], rsak[128];
	char listen[1024], *text;
	gw_config_t *c;

	assert_non_null(mkdtemp(dir));
	make_cert(dir, "EC", ec, eck);
	make_cert(dir, "RSA", rsa, rsak);

	snprintf(listen, sizeof(listen),
		 "[{\"address\": \"127.0.0.1:18443\", \"tls\": {\"certificates\": [{\"cert\": "
		 "\"%s\", \"key\": \"%s\"}, {\"cert\": \"%s\", \"key\": \"%s\"}], "
		 "\"min_version\": \"1.3\"}}, \"[::1]:18080\"]",
		 ec, eck, rsa, rsak);
	text = replace(base, "[\"127.0.0.1:18080\"]", listen);
	c = load_ok("t.json", text);
	assert_int_equal(c->nlisteners, 2);
	assert_non_null(c->listeners[0].ssl_ctx);
	assert_null(c->listeners[1].ssl_ctx);
	assert_int_equal(SSL_CTX_get_min_proto_version(c->listeners[0].ssl_ctx), TLS1_3_VERSION);
	/* fast_records is on by default: the key log feeds tlsfast.c */
	assert_non_null(SSL_CTX_get_keylog_callback(c->listeners[0].ssl_ctx));
	gw_config_unref(c);
	free(text);

	text = with_tls(ec, eck, ", \"fast_records\": false");
	c = load_ok("t.json", text);
	assert_null(SSL_CTX_get_keylog_callback(c->listeners[0].ssl_ctx));
	gw_config_unref(c);
	free(text);
	text = with_tls(ec, eck, ", \"fast_records\": \"yes\"");
	expect_error(text, "\"yes\"", "listen[0].tls.fast_records: expected a boolean");
	free(text);

	/* the key of another certificate */
	text = with_tls(ec, rsak, "");
	expect_error(text, "[{\"cert\"", "listen[0].tls.certificates: ");
	expect_error(text, "[{\"cert\"", "does not match");
	free(text);
	/* the same, after a good pair of the key's type: the EC key would pass against the EC
	 * pair the context already holds, and the RSA certificate would have no key */
	snprintf(listen, sizeof(listen),
		 "[{\"address\": \"127.0.0.1:18443\", \"tls\": {\"certificates\": [{\"cert\": "
		 "\"%s\", \"key\": \"%s\"}, {\"cert\": \"%s\", \"key\": \"%s\"}]}}]",
		 ec, eck, rsa, eck);
	text = replace(base, "[\"127.0.0.1:18080\"]", listen);
	expect_error(text, "[{\"cert\"", "does not match");
	free(text);

	snprintf(listen, sizeof(listen), "%s/missing.crt", dir);
	text = with_tls(listen, eck, "");
	expect_error(text, "[{\"cert\"", "Couldn't read certificate");
	expect_error(text, "[{\"cert\"", "No such file or directory");
	free(text);

	text = with_tls(ec, eck, ", \"min_version\": \"1.1\"");
	expect_error(text, "\"1.1\"", "listen[0].tls.min_version: must be \"1.2\" or \"1.3\"");
	free(text);

	unlink(ec);
	unlink(eck);
	unlink(rsa);
	unlink(rsak);
	rmdir(dir);
}

static void reload_rules(void **state)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *a = load_ok("t.json", base), *b;
	char *text = replace(base, "\"listen\"", "\"threads\": 7,\n\"listen\"");

	b = load_ok("t.json", text);
	assert_int_equal(gw_config_reloadable(a, b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "threads changed"));
	gw_config_unref(b);
	free(text);

	text = replace(base, "\"rate\": 1,", "\"rate\": 2,");
	b = load_ok("t.json", text);
	assert_int_equal(gw_config_reloadable(a, b, err, sizeof(err)), 0);
	gw_config_unref(b);
	free(text);

	text = replace(base, "127.0.0.1:18080", "127.0.0.1:18090");
	b = load_ok("t.json", text);
	assert_int_equal(gw_config_reloadable(a, b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "listen"));
	gw_config_unref(b);
	free(text);
	gw_config_unref(a);
}

/* server_header: none by default; a value; what is refused; start only. */
static void server_header(void **state)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *a = load_ok("t.json", base), *b;
	char *text;

	assert_null(a->server_header);
	text = replace(base, "\"listen\"", "\"server_header\": \"api-gw/1\",\n\"listen\"");
	b = load_ok("t.json", text);
	assert_string_equal(b->server_header, "api-gw/1");
	assert_int_equal(gw_config_reloadable(a, b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "server_header changed"));
	gw_config_unref(b);
	free(text);
	text = replace(base, "\"listen\"", "\"server_header\": false,\n\"listen\"");
	b = load_ok("t.json", text);
	assert_null(b->server_header);
	assert_int_equal(gw_config_reloadable(a, b, err, sizeof(err)), 0);
	gw_config_unref(b);
	free(text);
	text = replace(base, "\"listen\"", "\"server_header\": \"a\\r\\nx: y\",\n\"listen\"");
	expect_error(text, "\"a\\r", "server_header: expected the Server header's value");
	free(text);
	text = replace(base, "\"listen\"", "\"server_header\": 1,\n\"listen\"");
	expect_error(text, "1,", "server_header: expected the Server header's value");
	free(text);
	gw_config_unref(a);

	assert_true(gw_config_server_header_ok("floodgate"));
	assert_true(gw_config_server_header_ok("api (edge 1)"));
	assert_false(gw_config_server_header_ok(""));
	assert_false(gw_config_server_header_ok(" x"));
	assert_false(gw_config_server_header_ok("x "));
	assert_false(gw_config_server_header_ok("caf\xc3\xa9"));
	assert_false(gw_config_server_header_ok("a\tb"));
	{
		char longv[GW_SERVER_HEADER_MAX + 2];

		memset(longv, 'x', sizeof(longv) - 1);
		longv[sizeof(longv) - 1] = 0;
		assert_false(gw_config_server_header_ok(longv));
		longv[GW_SERVER_HEADER_MAX] = 0;
		assert_true(gw_config_server_header_ok(longv));
	}
}

static void load_from_file(void **state)
{
	char err[GW_CONFIG_ERRLEN];
	char path[] = "/tmp/fg-unit-config-XXXXXX";
	int fd = mkstemp(path);
	gw_config_t *c;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, base, strlen(base)), (ssize_t)strlen(base));
	close(fd);
	c = gw_config_load(path, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->file, path);
	gw_config_unref(c);
	unlink(path);
	assert_null(gw_config_load("/nonexistent/floodgate.json", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/floodgate.json: Couldn't open config: No such"));
	assert_null(gw_config_load("/tmp", err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_config),
		cmocka_unit_test(server_header),
		cmocka_unit_test(relative_paths_follow_the_file),
		cmocka_unit_test(rates),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(positions_and_paths),
		cmocka_unit_test(control_characters_in_settings),
		cmocka_unit_test(size_limits),
		cmocka_unit_test(messages_escape_control_characters),
		cmocka_unit_test(unknown_keys),
		cmocka_unit_test(missing_and_types),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(admin_needs_tls_off_loopback),
		cmocka_unit_test(clients_section),
		cmocka_unit_test(keys_section),
		cmocka_unit_test(tls_listeners),
		cmocka_unit_test(reload_rules),
		cmocka_unit_test(load_from_file),
		cmocka_unit_test(quotas_section),
	};
	return FG_RUN_TESTS(tests);
}

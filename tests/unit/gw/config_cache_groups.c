/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the response-cache and upstream-group parts of userspace/gw/config.c:
 * what valid settings become, and each error with its FILE:LINE:COL.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/config.h"
#include "gw/upgroup.h"

#define TOKEN "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* One section per line, so a test can aim at a line; @UP@ and @ROUTE@ are replaced. */
static const char base[] = "{\n"
			   "\"listen\": [\"127.0.0.1:18080\"],\n"
			   "\"admin\": {\"token_sha256\": \"" TOKEN "\"},\n"
			   "\"store\": {\"path\": \"/tmp/fg-unit-keys.db\"},\n"
			   "\"upstreams\": {\"api\": @UP@},\n"
			   "\"routes\": [{\"name\": \"items\", \"methods\": [\"GET\"], \"path\": "
			   "\"/v1/items\", \"upstream\": \"api\"@ROUTE@}],\n"
			   "\"plans\": {}@TOP@\n"
			   "}\n";

static char *subst(const char *up, const char *route, const char *top)
{
	static const char *const marks[] = { "@UP@", "@ROUTE@", "@TOP@" };
	const char *with[] = { up, route, top };
	char *s = strdup(base);

	for (int i = 0; i < 3; i++) {
		char *at = strstr(s, marks[i]), *n;

		assert_non_null(at);
		n = malloc(strlen(s) + strlen(with[i]) + 1);
		assert_non_null(n);
		memcpy(n, s, (size_t)(at - s));
		strcpy(n + (at - s), with[i]);
		strcat(n, at + strlen(marks[i]));
		free(s);
		s = n;
	}
	return s;
}

static gw_config_t *load(const char *up, const char *route, const char *top, char *err)
{
	char *text = subst(up, route, top);
	gw_config_t *c = gw_config_parse("t.json", text, strlen(text), err, GW_CONFIG_ERRLEN);

	free(text);
	return c;
}

static void expect_error(const char *up, const char *route, const char *top, const char *line,
			 const char *frag)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *c = load(up, route, top, err);

	if (c) {
		gw_config_unref(c);
		print_message("# unexpectedly valid: %s %s %s\n", up, route, top);
		fail();
	}
	if (strncmp(err, line, strlen(line)) || !strstr(err, frag)) {
		print_message("# got '%s', expected '%s...%s'\n", err, line, frag);
		fail();
	}
}

static void groups(void **state)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *c;
	const gw_upstream_t *u;

	/* a plain url: a group of one, the defaults */
	c = load("{\"url\": \"http://127.0.0.1:18081\"}", "", "", err);
	assert_non_null(c);
	u = &c->upstreams[0];
	assert_int_equal(u->nservers, 1);
	assert_string_equal(u->servers[0].host, "127.0.0.1:18081");
	assert_non_null(u->servers[0].st);
	assert_int_equal(u->strategy, gw_upgroup_strategy_of("round-robin"));
	assert_int_equal(u->retries, 1);
	assert_int_equal(u->fail_threshold, 3);
	assert_null(u->health.path);
	gw_config_unref(c);

	c = load("{\"servers\": [\"http://127.0.0.1:1\", {\"url\": \"http://127.0.0.1:2\", "
		 "\"weight\": 5}, \"http://127.0.0.1:3\"], \"strategy\": \"first-success\", "
		 "\"passive\": {\"failures\": 2, \"open_ms\": 700}, \"retry_budget\": 0.5, "
		 "\"health_check\": {\"path\": \"/h\", \"interval_ms\": 500, \"timeout_ms\": 100}}",
		 "", ",\n\"notify\": {\"command\": \"true\", \"min_interval_s\": 5}", err);
	if (!c)
		print_message("# %s\n", err);
	assert_non_null(c);
	u = &c->upstreams[0];
	assert_int_equal(u->nservers, 3);
	assert_int_equal(u->servers[1].weight, 5);
	assert_int_equal(u->servers[2].weight, 1);
	assert_int_equal(u->retries, 2); /* first-success: every other server */
	assert_int_equal(u->fail_threshold, 2);
	assert_int_equal(u->open_ms, 700);
	assert_true(u->retry_budget == 0.5);
	assert_string_equal(u->health.path, "/h");
	assert_int_equal(u->health.rise, 2);
	assert_int_equal(u->health.fall, 3);
	assert_string_equal(c->notify.command, "true");
	assert_int_equal(c->notify.min_interval_s, 5);
	gw_config_unref(c);

	expect_error("{\"url\": \"http://127.0.0.1:1\", \"servers\": [\"http://127.0.0.1:2\"]}", "",
		     "", "t.json:5:", "expected either \"url\" or \"servers\"");
	expect_error("{}", "", "", "t.json:5:", "expected either \"url\" or \"servers\"");
	expect_error("{\"servers\": []}", "", "",
		     "t.json:5:", "upstreams.api.servers: expected an array of 1 to 64");
	expect_error("{\"servers\": [\"http://127.0.0.1:1\", \"https://x\"]}", "", "",
		     "t.json:5:", "upstreams.api.servers[1]: only http:// upstreams");
	expect_error("{\"servers\": [\"http://127.0.0.1:1\", \"http://127.0.0.1:1\"]}", "", "",
		     "t.json:5:", "is listed twice");
	/* one server written another way: a leading zero, a trailing '/', the host's case,
	 * another spelling of the same IPv6 address */
	expect_error("{\"servers\": [\"http://127.0.0.1:8080\", \"http://127.0.0.1:08080\"]}", "",
		     "", "t.json:5:60:",
		     "upstreams.api.servers[1]: server http://127.0.0.1:08080 is listed twice "
		     "(servers[0]: http://127.0.0.1:8080)");
	expect_error("{\"servers\": [\"http://127.0.0.1:8080\", \"http://127.0.0.1:8080/\"]}", "",
		     "", "t.json:5:", "servers[1]: server http://127.0.0.1:8080/ is listed twice");
	expect_error("{\"servers\": [\"http://LOCALHOST:8080\", \"http://localhost:8080\"]}", "",
		     "", "t.json:5:", "servers[1]: server http://localhost:8080 is listed twice");
	expect_error("{\"servers\": [\"http://[::1]:80\", \"http://[0:0::1]\"]}", "", "",
		     "t.json:5:", "servers[1]: server http://[0:0::1] is listed twice");
	expect_error("{\"servers\": [{\"url\": \"http://127.0.0.1:1\", \"weight\": 0}]}", "", "",
		     "t.json:5:", "servers[0].weight: 0 is out of range");
	expect_error("{\"url\": \"http://127.0.0.1:1\", \"strategy\": \"random\"}", "", "",
		     "t.json:5:", "upstreams.api.strategy: expected round-robin");
	expect_error("{\"url\": \"http://127.0.0.1:1\", \"retry_budget\": 2}", "", "",
		     "t.json:5:", "retry_budget: expected a fraction");
	expect_error("{\"url\": \"http://127.0.0.1:1\", \"health_check\": {\"interval_ms\": 100}}",
		     "", "", "t.json:5:", "missing required key \"path\"");
	expect_error("{\"url\": \"http://127.0.0.1:1\", \"health_check\": {\"path\": \"/h\", "
		     "\"interval_ms\": 100, \"timeout_ms\": 200}}",
		     "", "", "t.json:5:", "timeout_ms is longer than interval_ms");
	expect_error("{\"url\": \"http://127.0.0.1:1\", \"passive\": {\"failures\": 2, \"x\": 1}}",
		     "", "", "t.json:5:", "upstreams.api.passive.x: unknown key");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", "",
		     ",\n\"notify\": {\"webhook\": \"https://example.invalid/\"}",
		     "t.json:8:", "only http:// webhooks");
}

static void cache(void **state)
{
	char err[GW_CONFIG_ERRLEN];
	gw_config_t *c;
	const gw_route_t *r;

	c = load("{\"url\": \"http://127.0.0.1:1\"}",
		 ", \"cache\": {\"ttl\": 10, \"key_headers\": [\"Accept-Language\", \"X-Tenant\"], "
		 "\"stale_while_revalidate\": 5, \"stale_if_error\": 60}",
		 ",\n\"cache\": {\"max_bytes\": 1600000, \"max_object_bytes\": 100000, "
		 "\"lock_timeout_ms\": 250, \"max_waiters\": 3}",
		 err);
	if (!c)
		print_message("# %s\n", err);
	assert_non_null(c);
	r = &c->routes[0];
	assert_int_equal(r->cache_ttl_s, 10);
	assert_int_equal(r->cache.nheaders, 2);
	assert_string_equal(r->cache.headers[0], "accept-language"); /* lower-cased */
	assert_int_equal(r->cache.swr_s, 5);
	assert_int_equal(r->cache.sie_s, 60);
	assert_int_equal(c->cache.max_bytes, 1600000);
	assert_int_equal(c->cache.max_object_bytes, 100000);
	assert_int_equal(c->cache.lock_timeout_ms, 250);
	assert_int_equal(c->cache.max_waiters, 3);
	gw_config_unref(c);

	/* defaults */
	c = load("{\"url\": \"http://127.0.0.1:1\"}", ", \"cache_ttl\": 7", "", err);
	assert_non_null(c);
	assert_int_equal(c->routes[0].cache_ttl_s, 7);
	assert_int_equal(c->cache.max_bytes, 64u << 20);
	assert_int_equal(c->cache.max_object_bytes, 1u << 20);
	gw_config_unref(c);

	expect_error("{\"url\": \"http://127.0.0.1:1\"}",
		     ", \"cache\": {\"ttl\": 5, \"key_headers\": [\"X-API-Key\"]}", "", "t.json:6:",
		     "routes[0].cache.key_headers[0]: \"X-API-Key\" carries credentials");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}",
		     ", \"cache\": {\"key_headers\": [\"Authorization\"]}", "",
		     "t.json:6:", "carries credentials");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}",
		     ", \"cache\": {\"key_headers\": [\"a\", \"A\"]}", "",
		     "t.json:6:", "is listed twice");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}",
		     ", \"cache\": {\"key_headers\": [\"a b\"]}", "",
		     "t.json:6:", "expected a header name");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", ", \"cache\": {\"ttl\": -1}", "",
		     "t.json:6:", "routes[0].cache.ttl: -1 is out of range");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", ", \"cache\": {\"stale\": 1}", "",
		     "t.json:6:", "routes[0].cache.stale: unknown key");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", "",
		     ",\n\"cache\": {\"max_bytes\": 1600, \"max_object_bytes\": 101}",
		     "t.json:8:", "is larger than max_bytes / 16");
	/* the shared layer: only on the Redis store (the base config's is SQLite) */
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", "",
		     ",\n\"cache\": {\"shared\": \"redis\"}",
		     "t.json:8:", "cache.shared: \"redis\" needs the Redis store");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", "",
		     ",\n\"cache\": {\"shared\": \"memcached\"}",
		     "t.json:8:", "cache.shared: expected \"none\" or \"redis\"");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", "", ",\n\"cache\": {\"shared\": true}",
		     "t.json:8:", "cache.shared: expected a string");
	expect_error("{\"url\": \"http://127.0.0.1:1\"}", "",
		     ",\n\"cache\": {\"shared\": \"none\", \"shared_max_object_bytes\": 0}",
		     "t.json:8:", "cache.shared_max_object_bytes: 0 is out of range");
	{
		char err[GW_CONFIG_ERRLEN];
		gw_config_t *c = load("{\"url\": \"http://127.0.0.1:1\"}", "",
				      ",\n\"cache\": {\"shared\": \"none\"}", err);

		assert_non_null(c);
		assert_false(c->cache.shared_redis);
		assert_int_equal(c->cache.shared_max_object_bytes, 1u << 20);
		gw_config_unref(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(groups),
		cmocka_unit_test(cache),
	};

	return FG_RUN_TESTS(tests);
}

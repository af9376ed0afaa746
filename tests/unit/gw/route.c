/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/route.c: path normalisation (including the classic attacks:
 * dot-segments, their percent-encoded forms, empty segments, encoded slashes, bad
 * escapes), re-encoding for the upstream, and whitelist matching with 404/405.
 */
#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/route.h"

static void norm_ok(const char *in, const char *want)
{
	char out[256];
	int n = gw_route_normalize(in, strlen(in), out);

	if (n < 0) {
		print_message("# '%s' refused: %s\n", in, gw_path_strerror(n));
		fail();
	}
	assert_int_equal((size_t)n, strlen(want));
	assert_string_equal(out, want);
}

static void norm_bad(const char *in, int err)
{
	char out[256];

	assert_int_equal(gw_route_normalize(in, strlen(in), out), err);
}

static void plain_paths(void **state)
{
	norm_ok("/", "/");
	norm_ok("/v1/items", "/v1/items");
	norm_ok("/v1/items/", "/v1/items/");
	norm_ok("/v1/items/42", "/v1/items/42");
	norm_ok("/a-b_c.d~e", "/a-b_c.d~e");
}

static void dot_segments(void **state)
{
	norm_ok("/v1/../admin", "/admin");
	norm_ok("/v1/items/./42", "/v1/items/42");
	norm_ok("/v1/items/.", "/v1/items/");
	norm_ok("/v1/items/..", "/v1/");
	norm_ok("/v1/a/b/../../items", "/v1/items");
	norm_ok("/./v1", "/v1");
	norm_ok("/v1/..", "/");
	norm_ok("/..a/b", "/..a/b"); /* not a dot-segment */
	norm_ok("/a/.b", "/a/.b");
	norm_ok("/a/.../b", "/a/.../b");
	norm_bad("/..", GW_PATH_ESCAPES_ROOT);
	norm_bad("/../admin", GW_PATH_ESCAPES_ROOT);
	norm_bad("/v1/../../admin", GW_PATH_ESCAPES_ROOT);
}

static void encoded_attacks(void **state)
{
	/* %2e is '.': decoded before dot-segments are resolved */
	norm_ok("/v1/%2e%2e/admin", "/admin");
	norm_ok("/v1/%2E%2E/admin", "/admin");
	norm_ok("/v1/.%2e/admin", "/admin");
	norm_ok("/v1/%2e/items", "/v1/items");
	norm_bad("/%2e%2e/admin", GW_PATH_ESCAPES_ROOT);
	/* encoded slashes would change the segments: refused */
	norm_bad("/v1%2f..%2fadmin", GW_PATH_ENCODED_SLASH);
	norm_bad("/v1/items%2F42", GW_PATH_ENCODED_SLASH);
	norm_bad("/v1/..%5cadmin", GW_PATH_ENCODED_SLASH);
	/* and so is a raw backslash, which went upstream as %5C (found by tests/fuzz/path.c) */
	norm_bad("/public/..\\admin", GW_PATH_BACKSLASH);
	norm_bad("/v/0/item/SSSS\\S", GW_PATH_BACKSLASH);
	assert_false(gw_route_is_normal("/public/..\\admin", 16));
	assert_false(gw_route_is_normal("/a\\b", 4));
	/* decoded once only: %252e stays a literal "%2e" */
	norm_ok("/v1/%252e%252e/admin", "/v1/%2e%2e/admin");
	norm_ok("/v1/it%65ms", "/v1/items");
	norm_ok("/v1/a%20b", "/v1/a b");
}

static void empty_segments(void **state)
{
	norm_ok("//admin", "/admin");
	norm_ok("/v1//items", "/v1/items");
	norm_ok("///", "/");
	norm_ok("/v1/items//", "/v1/items/");
}

static void refusals(void **state)
{
	char big[GW_PATH_MAX + 2];

	norm_bad("", GW_PATH_NOT_ABSOLUTE);
	norm_bad("v1/items", GW_PATH_NOT_ABSOLUTE);
	norm_bad("*", GW_PATH_NOT_ABSOLUTE);
	norm_bad("http://example/", GW_PATH_NOT_ABSOLUTE);
	norm_bad("/v1/%", GW_PATH_BAD_ESCAPE);
	norm_bad("/v1/%4", GW_PATH_BAD_ESCAPE);
	norm_bad("/v1/%zz", GW_PATH_BAD_ESCAPE);
	norm_bad("/v1/%g0/x", GW_PATH_BAD_ESCAPE);
	norm_bad("/v1/%00", GW_PATH_NUL);
	norm_bad("/v1/%0a", GW_PATH_CONTROL);
	norm_bad("/v1/\x01", GW_PATH_CONTROL);
	norm_bad("/v1/%7F", GW_PATH_CONTROL);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	norm_bad(big, GW_PATH_TOO_LONG);
	assert_string_equal(gw_path_strerror(GW_PATH_ENCODED_SLASH), "encoded slash in path");
	assert_string_equal(gw_path_strerror(GW_PATH_BACKSLASH), "backslash in path");
}

static void encode_for_upstream(void **state)
{
	char out[256];

	gw_route_encode("/v1/a b/%/?#", 12, out);
	assert_string_equal(out, "/v1/a%20b/%25/%3F%23");
	gw_route_encode("/v1/items:x@y!$&'()*+,;=~", 25, out);
	assert_string_equal(out, "/v1/items:x@y!$&'()*+,;=~");
	gw_route_encode("/\xc3\xa9", 3, out);
	assert_string_equal(out, "/%C3%A9");
}

/* The encoder as it was written first (a strchr per byte): the table must agree with it. */
static bool keep_raw_reference(unsigned char c)
{
	return c && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     strchr("-._~!$&'()*+,;=:@/", c));
}

static void encode_every_byte(void **state)
{
	for (int c = 0; c < 256; c++) {
		char in[2] = { '/', (char)c }, out[8], want[8];

		if (keep_raw_reference((unsigned char)c))
			snprintf(want, sizeof(want), "/%c", c);
		else
			snprintf(want, sizeof(want), "/%%%02X", c);
		assert_int_equal(gw_route_encode(in, 2, out), strlen(want));
		assert_string_equal(out, want);
	}
}

/* gw_route_is_normal() may say true only where normalising changes nothing. */
static void assert_fast_path_exact(const char *in, size_t len)
{
	char out[GW_PATH_MAX + 1];
	int n;

	if (!gw_route_is_normal(in, len))
		return;
	n = gw_route_normalize(in, len, out);
	if (n != (int)len || memcmp(out, in, len)) {
		print_message("# fast path wrong for '%.*s' (normalised: %d)\n", (int)len, in, n);
		fail();
	}
}

static void fast_path(void **state)
{
	static const char *const normal[] = { "/",	    "/v1/items",
					      "/v1/items/", "/v1/items/42",
					      "/a-b_c.d~e", "/a/b.",
					      "/a/b..",	    "/v1/items:x@y" };
	static const char *const not_normal[] = {
		"",	      "v1",	    "//admin",
		"/v1//items", "/./v1",	    "/v1/.",
		"/v1/..",     "/v1/../a",   "/..",
		"/..a/b",     "/a/.b",	    "/a/.../b",
		"/v1/%41",    "/v1/%2e%2e", "/v1/%2F",
		"/v1/\x01",   "/v1/\x7f",   "/v1/a%",
		"/v1/\t",     "/v1//",	    "/v1/items/%34%32",
	};
	char big[GW_PATH_MAX + 2];
	unsigned seed = 12345;

	for (size_t i = 0; i < sizeof(normal) / sizeof(normal[0]); i++) {
		assert_true(gw_route_is_normal(normal[i], strlen(normal[i])));
		assert_fast_path_exact(normal[i], strlen(normal[i]));
	}
	for (size_t i = 0; i < sizeof(not_normal) / sizeof(not_normal[0]); i++)
		assert_false(gw_route_is_normal(not_normal[i], strlen(not_normal[i])));
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	assert_true(gw_route_is_normal(big, GW_PATH_MAX));
	assert_fast_path_exact(big, GW_PATH_MAX);
	assert_false(gw_route_is_normal(big, GW_PATH_MAX + 1)); /* too long: refused */
	/* every short path over the bytes that matter, at random */
	for (int round = 0; round < 300000; round++) {
		static const char alphabet[] = "/./.%2eEfF0aA\x01\x7f\x00?";
		char p[16];
		size_t len = 1 + (seed = seed * 1103515245 + 12345) % 14;

		for (size_t i = 0; i < len; i++)
			p[i] = alphabet[((seed = seed * 1103515245 + 12345) >> 16) %
					(sizeof(alphabet) - 1)];
		if (round % 4)
			p[0] = '/';
		assert_fast_path_exact(p, len);
	}
}

static const char cfgtext[] =
	"{\"listen\": [\"127.0.0.1:18080\"],"
	"\"admin\": {\"token_sha256\": "
	"\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"},"
	"\"store\": {\"path\": \"/tmp/k.db\"},"
	"\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}},"
	"\"routes\": ["
	" {\"name\": \"items\", \"methods\": [\"GET\"], \"path\": \"^/v1/items(/[0-9]+)?$\", "
	"\"upstream\": \"api\"},"
	" {\"name\": \"items-write\", \"methods\": [\"POST\", \"DELETE\"], \"path\": "
	"\"/v1/items(/[0-9]+)?\", \"upstream\": \"api\"},"
	" {\"name\": \"anything\", \"methods\": [\"PUT\"], \"path\": \"/v1/.*\", \"upstream\": "
	"\"api\"},"
	" {\"name\": \"slow\", \"methods\": [\"GET\"], \"path\": \"/slow/(a|a)*b\", \"upstream\": "
	"\"api\"}"
	"],"
	"\"plans\": {}}";

struct fixture {
	gw_config_t *cfg;
	gw_route_scratch_t *s;
};

static int setup(void **state)
{
	static struct fixture f;
	char err[GW_CONFIG_ERRLEN];

	f.cfg = gw_config_parse("r.json", cfgtext, strlen(cfgtext), err, sizeof(err));
	if (!f.cfg) {
		print_message("# %s\n", err);
		return -1;
	}
	f.s = gw_route_scratch_new();
	*state = &f;
	return f.s ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gw_route_scratch_free(f->s);
	gw_config_unref(f->cfg);
	return 0;
}

static const char *match(struct fixture *f, enum gw_method m, const char *raw, uint32_t *allowed)
{
	char path[256];
	int n = gw_route_normalize(raw, strlen(raw), path);
	gw_route_result_t r, fast;

	assert_true(n > 0);
	gw_route_match(f->cfg, f->s, m, path, (size_t)n, &r);
	/* as the request path does it: an already normal path is matched in place, unterminated */
	if (gw_route_is_normal(raw, strlen(raw))) {
		char copy[256];

		memcpy(copy, raw, strlen(raw));
		memset(copy + strlen(raw), 'z', sizeof(copy) - strlen(raw));
		gw_route_match(f->cfg, f->s, m, copy, strlen(raw), &fast);
		assert_ptr_equal(fast.route, r.route);
		assert_int_equal(fast.allowed, r.allowed);
	}
	*allowed = r.allowed;
	return r.route ? r.route->name : NULL;
}

static void matching(void **state)
{
	struct fixture *f = *state;
	uint32_t allowed;
	char allow[64];

	assert_string_equal(match(f, GW_METHOD_GET, "/v1/items", &allowed), "items");
	assert_string_equal(match(f, GW_METHOD_GET, "/v1/items/42", &allowed), "items");
	assert_string_equal(match(f, GW_METHOD_HEAD, "/v1/items/42", &allowed), "items");
	assert_string_equal(match(f, GW_METHOD_POST, "/v1/items", &allowed), "items-write");
	/* anchored at both ends: no prefix or suffix matches */
	assert_null(match(f, GW_METHOD_GET, "/v1/items/42/extra", &allowed));
	assert_int_equal(allowed, 1u << GW_METHOD_PUT); /* only "anything" matched the path */
	assert_null(match(f, GW_METHOD_GET, "/x/v1/items", &allowed));
	assert_int_equal(allowed, 0); /* 404 */
	/* 405: the path is known, the method is not; Allow lists every matching route */
	assert_null(match(f, GW_METHOD_PATCH, "/v1/items/7", &allowed));
	gw_route_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, POST, PUT, DELETE");
	assert_null(match(f, GW_METHOD_OTHER, "/v1/items", &allowed));
	assert_true(allowed != 0);
	/* the first route matching path and method wins, in config order */
	assert_string_equal(match(f, GW_METHOD_PUT, "/v1/items", &allowed), "anything");
}

static void normalisation_attacks_do_not_reach_routes(void **state)
{
	struct fixture *f = *state;
	uint32_t allowed;

	/* the whitelist has nothing under /admin, whatever the spelling */
	assert_null(match(f, GW_METHOD_GET, "/v1/../admin", &allowed));
	assert_int_equal(allowed, 0);
	assert_null(match(f, GW_METHOD_GET, "/v1/%2e%2e/admin", &allowed));
	assert_int_equal(allowed, 0);
	assert_null(match(f, GW_METHOD_GET, "//admin", &allowed));
	assert_int_equal(allowed, 0);
	/* and an allowed route is still found through a detour */
	assert_string_equal(match(f, GW_METHOD_GET, "/v1/x/../items", &allowed), "items");
	assert_string_equal(match(f, GW_METHOD_GET, "/v1//items/%34%32", &allowed), "items");
}

static void runaway_regex_does_not_hang(void **state)
{
	struct fixture *f = *state;
	char raw[200];
	uint32_t allowed;

	/* (a|a)*b against a long run of 'a' backtracks exponentially without a limit */
	strcpy(raw, "/slow/");
	memset(raw + 6, 'a', 60);
	raw[66] = '\0';
	assert_null(match(f, GW_METHOD_GET, raw, &allowed));
}

/* The memo gives back what was put, per config, method and path, or nothing: never
 * another path's answer, whatever took its slot since. */
static void memo_answers_as_the_regexes(void **state)
{
	struct fixture *f = *state;
	static const char alphabet[] = "/v1items0429/xz.a \x80";
	static const char other_text[] =
		"{\"listen\": [\"127.0.0.1:18080\"],"
		"\"admin\": {\"token_sha256\": "
		"\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"},"
		"\"store\": {\"path\": \"/tmp/k.db\"},"
		"\"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}},"
		"\"routes\": [{\"name\": \"other\", \"methods\": [\"GET\"], \"path\": "
		"\"/v1/items(/[0-9]+)?\", \"upstream\": \"api\"}],"
		"\"plans\": {}}";
	char err[GW_CONFIG_ERRLEN], p[64];
	gw_config_t *other =
		gw_config_parse("o.json", other_text, strlen(other_text), err, sizeof(err));
	unsigned seed = 777, hits = 0;
	gw_route_result_t a, b;
	bool as_is;

	assert_non_null(other);
	for (int round = 0; round < 20000; round++) {
		/* short paths over few bytes, so that they repeat; some past the memo's limit */
		size_t len = 1 + (seed = seed * 1103515245 + 12345) % (round % 10 ? 14 : 60);
		enum gw_method m = (seed = seed * 1103515245 + 12345) >> 16 & 1 ? GW_METHOD_GET
										: GW_METHOD_PUT;
		const gw_config_t *cfg = round % 3 ? f->cfg : other;
		gw_route_result_t got, want;

		p[0] = '/';
		for (size_t i = 1; i < len; i++)
			p[i] = alphabet[((seed = seed * 1103515245 + 12345) >> 16) %
					(sizeof(alphabet) - 1)];
		if (round % 7 == 0) { /* a known route's path */
			memcpy(p, "/v1/items/42", 12);
			len = 12;
		}
		gw_route_match(cfg, f->s, m, p, len, &want);
		if (gw_route_memo_get(f->s, cfg, m, p, len, &got, &as_is)) {
			hits++;
			assert_ptr_equal(got.route, want.route);
			assert_int_equal(got.allowed, want.allowed);
		}
		gw_route_memo_put(f->s, cfg, m, p, len, &want);
		if (len <= 48) { /* the memo's limit: then it has it */
			char enc[3 * 64 + 1];

			assert_true(gw_route_memo_get(f->s, cfg, m, p, len, &got, &as_is));
			assert_ptr_equal(got.route, want.route);
			assert_int_equal(got.allowed, want.allowed);
			assert_int_equal(as_is, gw_route_encode(p, len, enc) == len &&
							!memcmp(enc, p, len));
		} else {
			assert_false(gw_route_memo_get(f->s, cfg, m, p, len, &got, &as_is));
		}
	}
	assert_true(hits > 100);
	/* the same path and method under two configs, and another method: each its own */
	gw_route_match(f->cfg, f->s, GW_METHOD_GET, "/v1/items/42", 12, &a);
	gw_route_memo_put(f->s, f->cfg, GW_METHOD_GET, "/v1/items/42", 12, &a);
	assert_false(gw_route_memo_get(f->s, other, GW_METHOD_GET, "/v1/items/42", 12, &b, &as_is));
	assert_false(
		gw_route_memo_get(f->s, f->cfg, GW_METHOD_POST, "/v1/items/42", 12, &b, &as_is));
	assert_false(
		gw_route_memo_get(f->s, f->cfg, GW_METHOD_GET, "/v1/items/43", 12, &b, &as_is));
	assert_false(gw_route_memo_get(f->s, f->cfg, GW_METHOD_GET, "/v1/items/4", 11, &b, &as_is));
	assert_true(gw_route_memo_get(f->s, f->cfg, GW_METHOD_GET, "/v1/items/42", 12, &b, &as_is));
	assert_string_equal(b.route->name, "items");
	/* forgotten: nothing */
	gw_route_scratch_forget(f->s);
	assert_false(
		gw_route_memo_get(f->s, f->cfg, GW_METHOD_GET, "/v1/items/42", 12, &b, &as_is));
	gw_config_unref(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_paths),
		cmocka_unit_test(dot_segments),
		cmocka_unit_test(encoded_attacks),
		cmocka_unit_test(empty_segments),
		cmocka_unit_test(refusals),
		cmocka_unit_test(encode_for_upstream),
		cmocka_unit_test(encode_every_byte),
		cmocka_unit_test(fast_path),
		cmocka_unit_test_setup_teardown(matching, setup, teardown),
		cmocka_unit_test_setup_teardown(normalisation_attacks_do_not_reach_routes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(runaway_regex_does_not_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(memo_answers_as_the_regexes, setup, teardown),
	};
	return FG_RUN_TESTS(tests);
}

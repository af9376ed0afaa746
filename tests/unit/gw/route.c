/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/route.c: path normalisation (including the classic attacks:
 * dot-segments, their percent-encoded forms, empty segments, encoded slashes, bad
 * escapes), re-encoding for the upstream, and whitelist matching with 404/405.
 */
#include "unit.h"

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
	gw_route_result_t r;

	assert_true(n > 0);
	gw_route_match(f->cfg, f->s, m, path, (size_t)n, &r);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_paths),
		cmocka_unit_test(dot_segments),
		cmocka_unit_test(encoded_attacks),
		cmocka_unit_test(empty_segments),
		cmocka_unit_test(refusals),
		cmocka_unit_test(encode_for_upstream),
		cmocka_unit_test_setup_teardown(matching, setup, teardown),
		cmocka_unit_test_setup_teardown(normalisation_attacks_do_not_reach_routes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(runaway_regex_does_not_hang, setup, teardown),
	};
	return FG_RUN_TESTS(tests);
}

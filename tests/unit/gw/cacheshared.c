/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cacheshared.c's pure parts: the Redis key of a cache key
 * (PREFIX "cache:" and the hex SHA-256 of the whole key), announced purges.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/cacheshared.h"

static void keys(void **state)
{
	char out[GW_CACHESHARED_KEY_MAX];
	size_t n = gw_cacheshared_key("fg:", "abc", 3, out);

	/* FIPS 180-2's example: SHA-256("abc") */
	assert_string_equal(out,
			    "fg:cache:"
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(n, strlen(out));
	/* no prefix; the whole key counts (headers after the path) */
	gw_cacheshared_key("", "GET /a\n", 7, out);
	assert_int_equal(strlen(out), 6 + 64);
	assert_memory_equal(out, "cache:", 6);
	{
		char other[GW_CACHESHARED_KEY_MAX];

		gw_cacheshared_key("", "GET /a\nx-tenant: b\n", 19, other);
		assert_string_not_equal(out, other);
	}
}

static void purges(void **state)
{
	char route[256], pattern[256], big[400];
	uint64_t seq = 0;
	const char *ok = "{\"seq\":42,\"route\":\"c\",\"pattern\":\"/c/*\"}";

	assert_int_equal(gw_cacheshared_parse_purge(ok, strlen(ok), &seq, route, pattern), 0);
	assert_true(seq == 42);
	assert_string_equal(route, "c");
	assert_string_equal(pattern, "/c/*");
	ok = "{\"seq\":1,\"route\":\"\",\"pattern\":\"\"}"; /* any route, any path */
	assert_int_equal(gw_cacheshared_parse_purge(ok, strlen(ok), &seq, route, pattern), 0);
	assert_string_equal(route, "");
	/* anything else */
	static const char *const bad[] = {
		"",
		"null",
		"[]",
		"{}",
		"{\"seq\":0,\"route\":\"\",\"pattern\":\"\"}",
		"{\"seq\":\"1\",\"route\":\"\",\"pattern\":\"\"}",
		"{\"seq\":1,\"route\":1,\"pattern\":\"\"}",
		"{\"seq\":1,\"route\":\"\"}",
		"{\"seq\":1,\"route\":\"a\\u0000b\",\"pattern\":\"\"}",
		"{\"seq\":1,",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
			gw_cacheshared_parse_purge(bad[i], strlen(bad[i]), &seq, route, pattern),
			-EINVAL);
	/* a pattern over 255 bytes */
	memset(big, 'a', sizeof(big));
	snprintf(big, sizeof(big), "{\"seq\":1,\"route\":\"\",\"pattern\":\"%0300d\"}", 0);
	assert_int_equal(gw_cacheshared_parse_purge(big, strlen(big), &seq, route, pattern),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys),
		cmocka_unit_test(purges),
	};

	return FG_RUN_TESTS(tests);
}

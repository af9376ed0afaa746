/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cacheshared.c's pure part: the Redis key of a cache key
 * (PREFIX "cache:" and the hex SHA-256 of the whole key).
 */
#include "unit.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys),
	};

	return FG_RUN_TESTS(tests);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/keycache.c: a digest is remembered per connection only, for
 * the exact key bytes; whatever the cache holds, the answer is the key's SHA-256.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "gw/keycache.h"

/* The digest and id the cache gives must be the key's own, hit or miss. */
static void expect(gw_keycache_t *c, uint64_t conn, const char *key, size_t len, int hit)
{
	uint8_t want[32], got[32];
	char want_id[GW_APIKEY_ID_LEN + 1], got_id[GW_APIKEY_ID_LEN + 1];
	uint64_t h0, m0, h1, m1;

	gw_apikey_digest(key, len, want);
	gw_apikey_id(want, want_id);
	gw_keycache_stats(c, &h0, &m0);
	gw_keycache_digest(c, conn, key, len, got, got_id);
	gw_keycache_stats(c, &h1, &m1);
	assert_memory_equal(got, want, 32);
	assert_string_equal(got_id, want_id);
	if (hit >= 0) {
		assert_int_equal(h1 - h0, hit ? 1 : 0);
		assert_int_equal(m1 - m0, hit ? 0 : 1);
	}
}

static void per_connection(void **state)
{
	gw_keycache_t *c = gw_keycache_new();
	const char *a = "fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	const char *b = "fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB";

	assert_non_null(c);
	expect(c, 7, a, strlen(a), 0);
	expect(c, 7, a, strlen(a), 1); /* the same connection presents it again */
	expect(c, 8, a, strlen(a), 0); /* never across connections */
	expect(c, 7 + GW_KEYCACHE_SLOTS, a, strlen(a), 0); /* nor in a shared slot */
	expect(c, 7, a, strlen(a), 0);			   /* ... which that connection took over */
	expect(c, 7, b, strlen(b), 0);			   /* one byte differs */
	expect(c, 7, b, strlen(b), 1);
	expect(c, 7, a, strlen(a) - 1, 0); /* a prefix of it */
	expect(c, 7, a, strlen(a), 0);
	gw_keycache_free(c);
}

static void long_and_odd_keys(void **state)
{
	gw_keycache_t *c = gw_keycache_new();
	char key[GW_APIKEY_MAX];

	memset(key, 'k', sizeof(key));
	expect(c, 3, key, GW_KEYCACHE_KEY_MAX, 0);
	expect(c, 3, key, GW_KEYCACHE_KEY_MAX, 1);
	expect(c, 3, key, GW_KEYCACHE_KEY_MAX + 1, 0); /* too long to remember */
	expect(c, 3, key, GW_KEYCACHE_KEY_MAX + 1, 0);
	expect(c, 3, key, GW_APIKEY_MAX, 0);
	expect(c, 3, key, 1, 0);
	expect(c, 3, key, 1, 1);
	gw_keycache_free(c);
}

static void many_connections(void **state)
{
	gw_keycache_t *c = gw_keycache_new();
	char key[40];

	/* interleaved connections, each with its own key: every answer right */
	for (int round = 0; round < 3; round++)
		for (uint64_t conn = 1; conn <= 3 * GW_KEYCACHE_SLOTS; conn += 7) {
			snprintf(key, sizeof(key), "fg_key_of_connection_%llu",
				 (unsigned long long)conn);
			expect(c, conn, key, strlen(key), -1);
		}
	gw_keycache_free(c);
}

/* gw_keycache_get() answers from memory only, and counts only its hits. */
static void get_is_memory_only(void **state)
{
	gw_keycache_t *c = gw_keycache_new();
	const char *a = "fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	uint8_t want[32], got[32];
	char want_id[GW_APIKEY_ID_LEN + 1], got_id[GW_APIKEY_ID_LEN + 1];
	uint64_t h, m;

	assert_non_null(c);
	assert_false(gw_keycache_get(c, 5, a, strlen(a), got, got_id));
	gw_keycache_stats(c, &h, &m);
	assert_int_equal(h, 0);
	assert_int_equal(m, 0);
	expect(c, 5, a, strlen(a), 0);
	gw_apikey_digest(a, strlen(a), want);
	gw_apikey_id(want, want_id);
	assert_true(gw_keycache_get(c, 5, a, strlen(a), got, got_id));
	assert_memory_equal(got, want, 32);
	assert_string_equal(got_id, want_id);
	gw_keycache_stats(c, &h, &m);
	assert_int_equal(h, 1);
	assert_int_equal(m, 1);
	assert_false(gw_keycache_get(c, 6, a, strlen(a), got, got_id)); /* another connection */
	assert_false(gw_keycache_get(c, 5 + GW_KEYCACHE_SLOTS, a, strlen(a), got, got_id));
	assert_false(gw_keycache_get(c, 5, a, strlen(a) - 1, got, got_id)); /* a prefix */
	assert_false(gw_keycache_get(c, 5, "fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", strlen(a), got,
				     got_id));
	gw_keycache_stats(c, &h, &m);
	assert_int_equal(h, 1);
	assert_int_equal(m, 1);
	gw_keycache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(per_connection),
		cmocka_unit_test(long_and_odd_keys),
		cmocka_unit_test(many_connections),
		cmocka_unit_test(get_is_memory_only),
	};
	return FG_RUN_TESTS(tests);
}

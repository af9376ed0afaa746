/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cachekey.c: keys (sorted query, headers, too many
 * parameters), Cache-Control (each directive, lifetimes, malformed numbers), Vary lists,
 * globs.
 */
#include "unit.h"

#include <string.h>

#include "gw/cachekey.h"

static const char *key(const char *uri, const gw_cachekey_header_t *h, size_t nh)
{
	static char out[4096];
	ssize_t n = gw_cachekey_build(uri, strlen(uri), h, nh, out);

	assert_true(n >= 0);
	assert_true((size_t)n <= gw_cachekey_size(strlen(uri), h, nh));
	out[n] = '\0';
	return out;
}

static void keys(void **state)
{
	gw_cachekey_header_t h[2] = { { "x-tenant", 8, "a", 1 }, { "x-lang", 6, NULL, 0 } };
	char many[1024] = "/p?";
	char out[2048];

	assert_string_equal(key("/v1/items", NULL, 0), "GET /v1/items\n");
	assert_string_equal(key("/v1/items?b=2&a=1", NULL, 0), "GET /v1/items?a=1&b=2\n");
	/* the same set of parameters in any order is one key; empty ones vanish */
	assert_string_equal(key("/x?a=1&&b=2&", NULL, 0), key("/x?b=2&a=1", NULL, 0));
	assert_string_equal(key("/x?", NULL, 0), "GET /x\n");
	/* prefixes sort first: "a" < "a=1" < "ab" */
	assert_string_equal(key("/x?ab&a=1&a", NULL, 0), "GET /x?a&a=1&ab\n");
	/* headers in the route's order; an absent one differs from an empty one only by
	 * being absent (both "name: \n") */
	assert_string_equal(key("/x", h, 2), "GET /x\nx-tenant: a\nx-lang: \n");
	for (int i = 0; i < GW_CACHEKEY_PARAMS_MAX + 1; i++)
		strcat(many, "p=1&");
	assert_int_equal(gw_cachekey_build(many, strlen(many), NULL, 0, out), -1);
	many[strlen(many) - 4] = '\0'; /* exactly the maximum */
	assert_true(gw_cachekey_build(many, strlen(many), NULL, 0, out) > 0);
}

static void hashes(void **state)
{
	uint64_t a = gw_cachekey_hash("GET /a\n", 7, 1), b = gw_cachekey_hash("GET /b\n", 7, 1);

	assert_true(a != b);
	assert_true(gw_cachekey_hash("GET /a\n", 7, 1) == a);
	assert_true(gw_cachekey_hash("GET /a\n", 7, 2) != a); /* the seed matters */
}

/* The hash as first written (byte-wise tail through memcpy()): what the table's
 * buckets and stripes were spread by, to stay exactly so. */
static uint64_t hash_reference(const char *key, size_t len, uint64_t seed)
{
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h = (h << 31) | (h >> 33);
	}
	w = 0;
	for (size_t j = 0; j < len - i; j++)
		w |= (uint64_t)(unsigned char)key[i + j] << (8 * j);
	h = (h ^ w ^ ((uint64_t)len << 56)) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static void hash_of_every_length(void **state)
{
	char key[64];
	unsigned seed = 99;

	for (int round = 0; round < 200; round++)
		for (size_t len = 0; len <= sizeof(key); len++) {
			for (size_t i = 0; i < len; i++)
				key[i] = (char)((seed = seed * 1103515245 + 12345) >> 16);
			assert_true(gw_cachekey_hash(key, len, (uint64_t)round) ==
				    hash_reference(key, len, (uint64_t)round));
		}
}

static gw_cache_control_t cc_of(const char *v)
{
	gw_cache_control_t cc = { 0 };

	gw_cache_control_parse(v, strlen(v), &cc);
	return cc;
}

static void cache_control(void **state)
{
	gw_cache_control_t cc;

	cc = cc_of("no-store");
	assert_true(cc.no_store);
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 0);
	cc = cc_of("Private, max-age=60");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 0);
	cc = cc_of("no-cache");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 0);
	cc = cc_of("public, max-age=5");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 5);
	cc = cc_of("max-age=5, s-maxage=30");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 30);
	cc = cc_of("s-maxage=0");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 0);
	cc = cc_of("public");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 60); /* the route's */
	cc = cc_of("max-age=\"7\"");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 7);
	cc = cc_of("max-age=10, max-age=3"); /* conflicting: the smaller */
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 3);
	cc = cc_of("max-age=abc");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 0); /* in doubt, not stored */
	cc = cc_of("max-age");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 0);
	cc = cc_of("max-age=99999999999999999999");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 2147483648ULL);
	cc = cc_of(" max-age = 4 ,stale-while-revalidate=30, stale-if-error=600, ext=\"a,b\"");
	assert_int_equal(gw_cache_control_ttl(&cc, 60), 4);
	assert_true(cc.has_swr && cc.swr == 30);
	assert_true(cc.has_sie && cc.sie == 600);
	cc = cc_of("");
	assert_int_equal(gw_cache_control_ttl(&cc, 9), 9);
}

static void vary(void **state)
{
	char names[4][64];

	assert_int_equal(gw_cache_list_names("Accept-Language, X-A", 20, names, 4), 2);
	assert_string_equal(names[0], "accept-language");
	assert_string_equal(names[1], "x-a");
	assert_int_equal(gw_cache_list_names(" , ,", 4, names, 4), 0);
	assert_int_equal(gw_cache_list_names("a,b,c,d,e", 9, names, 4), -1);
	assert_true(gw_cache_vary_star("accept, *", 9));
	assert_false(gw_cache_vary_star("accept", 6));
}

static void globs(void **state)
{
	assert_true(gw_cache_glob("*", "/x", 2));
	assert_true(gw_cache_glob("/v1/items*", "/v1/items?a=1", 13));
	assert_false(gw_cache_glob("/v1/items", "/v1/items?a=1", 13));
	assert_true(gw_cache_glob("/v1/?tems", "/v1/items", 9));
	assert_true(gw_cache_glob("*a*b*c", "xxaxxbxxc", 9));
	assert_false(gw_cache_glob("*a*b*c", "xxaxxbxx", 8));
	assert_true(gw_cache_glob("", "", 0));
	assert_false(gw_cache_glob("", "a", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys),
		cmocka_unit_test(hashes),
		cmocka_unit_test(hash_of_every_length),
		cmocka_unit_test(cache_control),
		cmocka_unit_test(vary),
		cmocka_unit_test(globs),
	};

	return FG_RUN_TESTS(tests);
}

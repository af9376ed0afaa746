/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cachekey.h - the pure parts of the response cache: cache keys, Cache-Control, Vary and
 * key patterns. No state, no allocation; unit-tested on the host (tests/unit/gw/cachekey.c).
 *
 * A cache key is the request's method class, its upstream path (the normalised path,
 * re-encoded), its query string with the parameters sorted (the API-key parameter was
 * already removed: the key is built from what goes upstream) and the values of the
 * route's chosen request headers. The API key itself is never part of it: the header
 * carrying it cannot be chosen (config.c refuses it), and the query parameter is gone.
 *
 *   "GET /v1/items?a=1&b=2\n" ["x-lang: de\n" ...]
 *
 * GET and HEAD share a key (a HEAD is answered from a GET's entry, without the body).
 */
#ifndef GW_CACHEKEY_H
#define GW_CACHEKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Query parameters one key sorts; a request with more is not cached. */
#define GW_CACHEKEY_PARAMS_MAX 64

/* A request header value that goes into the key (absent: base NULL). */
typedef struct st_gw_cachekey_header_t {
	const char *name; /* lower case */
	size_t name_len;
	const char *value;
	size_t value_len;
} gw_cachekey_header_t;

/* Bytes gw_cachekey_build() may write for these inputs. */
size_t gw_cachekey_size(size_t uri_len, const gw_cachekey_header_t *h, size_t nh);

/*
 * Write the key of a GET/HEAD for upstream URI `uri` (path, optionally "?query") and
 * headers h[0..nh) into out (gw_cachekey_size() bytes). Returns the key's length, or -1
 * when the request is not cacheable by key (more than GW_CACHEKEY_PARAMS_MAX parameters).
 */
ssize_t gw_cachekey_build(const char *uri, size_t uri_len, const gw_cachekey_header_t *h, size_t nh,
			  char *out);

/* A 64-bit hash of a key, seeded (keys are chosen by clients: a seed defeats collisions
 * made on purpose). */
uint64_t gw_cachekey_hash(const char *key, size_t len, uint64_t seed);

/* What a response's Cache-Control says that the cache acts on. */
typedef struct st_gw_cache_control_t {
	bool no_store, private_, no_cache;
	bool has_max_age, has_s_maxage, has_swr, has_sie;
	uint64_t max_age, s_maxage; /* seconds */
	uint64_t swr, sie;	    /* stale-while-revalidate, stale-if-error seconds */
} gw_cache_control_t;

/* Add the directives of one Cache-Control field value to cc (zero it first; several
 * fields accumulate). Unknown directives are ignored; a malformed number makes the
 * directive count as no-store (when in doubt, do not cache). */
void gw_cache_control_parse(const char *v, size_t len, gw_cache_control_t *cc);

/*
 * The freshness lifetime in seconds of a response with cc under a route TTL: s-maxage,
 * else max-age, else the route's TTL. 0 means "do not store" (no-store, private,
 * no-cache, or a lifetime of 0).
 */
uint64_t gw_cache_control_ttl(const gw_cache_control_t *cc, uint64_t route_ttl);

/* Whether the comma-separated list v (a Vary value) names `*`. */
bool gw_cache_vary_star(const char *v, size_t len);

/* The field names of the comma-separated list v, lower-cased into names[0..max) (NUL
 * terminated). Returns how many, or -1 when one is 64 bytes or longer, or there are more
 * than max. */
int gw_cache_list_names(const char *v, size_t len, char (*names)[64], size_t max);

/* Shell-style match of pattern (`*` any run, `?` one byte) against s. */
bool gw_cache_glob(const char *pattern, const char *s, size_t len);

#endif /* GW_CACHEKEY_H */

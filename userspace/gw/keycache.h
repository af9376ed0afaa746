/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * keycache.h - a worker's memory of the last API key each connection presented, and its
 * digest.
 *
 * A client sends its key with every request: HTTP/2 streams and HTTP/1.1 keep-alive
 * requests of one connection repeat the same bytes, and hashing them (SHA-256) is the
 * largest part of rejecting a request. Only the key -> digest step is remembered, never a
 * verdict: the key table is consulted on every request, so a key revoked or blocked
 * between two requests of one connection is refused on the second.
 *
 * The cache is direct-mapped by connection id (h2o numbers connections once per process,
 * so an id never comes back): an entry is used only by the connection that filled it,
 * never across connections, and the presented bytes are compared with the remembered ones
 * in constant time. A collision only costs a hash. Keys longer than GW_KEYCACHE_KEY_MAX
 * are hashed every time.
 */
#ifndef GW_KEYCACHE_H
#define GW_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/apikey.h"

/* Entries per worker (a power of two). */
#define GW_KEYCACHE_SLOTS   1024
/* Longest key remembered (generated keys are GW_APIKEY_GEN_LEN). */
#define GW_KEYCACHE_KEY_MAX 64

typedef struct st_gw_keycache_t gw_keycache_t;

gw_keycache_t *gw_keycache_new(void);
void gw_keycache_free(gw_keycache_t *c);

/*
 * The SHA-256 digest of key[0..len) and its hex id (gw_apikey_id()), as presented on
 * connection conn_id (never 0): remembered when this connection presented the same key
 * last, else computed and remembered for it.
 */
void gw_keycache_digest(gw_keycache_t *c, uint64_t conn_id, const char *key, size_t len,
			uint8_t digest[32], char id[GW_APIKEY_ID_LEN + 1]);

/*
 * gw_keycache_digest()'s answer from memory only: true (a hit, counted) with digest and id
 * set when conn_id presented exactly these bytes last, else false and nothing counted. A
 * hit also says the key passed whatever the caller checked before remembering it.
 */
bool gw_keycache_get(gw_keycache_t *c, uint64_t conn_id, const char *key, size_t len,
		     uint8_t digest[32], char id[GW_APIKEY_ID_LEN + 1]);

/* Lookups answered from memory and computed, since the cache was made. */
void gw_keycache_stats(const gw_keycache_t *c, uint64_t *hits, uint64_t *misses);

#endif /* GW_KEYCACHE_H */

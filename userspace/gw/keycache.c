/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * keycache.c - per-connection key -> digest memory (see keycache.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw/keycache.h"

struct entry {
	uint64_t conn_id; /* 0: empty */
	uint8_t digest[32];
	char id[GW_APIKEY_ID_LEN + 1];
	uint8_t len;
	char key[GW_KEYCACHE_KEY_MAX];
};

struct st_gw_keycache_t {
	struct entry slots[GW_KEYCACHE_SLOTS];
	uint64_t hits, misses;
};

gw_keycache_t *gw_keycache_new(void)
{
	return calloc(1, sizeof(gw_keycache_t));
}

void gw_keycache_free(gw_keycache_t *c)
{
	if (c)
		OPENSSL_cleanse(c->slots, sizeof(c->slots));
	free(c);
}

bool gw_keycache_get(gw_keycache_t *c, uint64_t conn_id, const char *key, size_t len,
		     uint8_t digest[32], char id[GW_APIKEY_ID_LEN + 1])
{
	struct entry *e = &c->slots[conn_id & (GW_KEYCACHE_SLOTS - 1)];

	if (e->conn_id != conn_id || e->len != len || !gw_apikey_ct_equal(e->key, key, len))
		return false;
	memcpy(digest, e->digest, 32);
	memcpy(id, e->id, sizeof(e->id));
	c->hits++;
	return true;
}

void gw_keycache_digest(gw_keycache_t *c, uint64_t conn_id, const char *key, size_t len,
			uint8_t digest[32], char id[GW_APIKEY_ID_LEN + 1])
{
	/* Connection ids are consecutive: their low bits spread the live ones over the slots. */
	struct entry *e = &c->slots[conn_id & (GW_KEYCACHE_SLOTS - 1)];

	if (e->conn_id == conn_id && e->len == len && gw_apikey_ct_equal(e->key, key, len)) {
		memcpy(digest, e->digest, 32);
		memcpy(id, e->id, sizeof(e->id));
		c->hits++;
		return;
	}
	c->misses++;
	gw_apikey_digest(key, len, digest);
	gw_apikey_id(digest, id);
	if (len > GW_KEYCACHE_KEY_MAX || !conn_id)
		return;
	e->conn_id = conn_id;
	e->len = (uint8_t)len;
	memcpy(e->key, key, len);
	memcpy(e->digest, digest, 32);
	memcpy(e->id, id, sizeof(e->id));
}

void gw_keycache_stats(const gw_keycache_t *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c->hits;
	*misses = c->misses;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cacheshared.h - the response cache's second layer: Redis, shared by the nodes of a
 * cluster (`cache.shared: "redis"`, only with the Redis store).
 *
 * Keys: an entry is the value of PREFIX "cache:" HEX, HEX the SHA-256 of the cache key
 * (cachekey.h), holding a cacherec.h record (which carries the full key: a collision never
 * answers) written with SET ... PX (lifetime + the longer stale window). For purges, each
 * route has an index, the hash PREFIX "cache-idx:" ROUTE whose fields are the HEX names of
 * its entries and whose values their path and query (what purge globs match): a purge
 * walks it with HSCAN (COUNT 512 a step, so no single reply is unbounded), deletes the
 * matching entries and fields. The index expires with the longest-lived entry written to
 * it (PEXPIRE NX, then GT), so an idle route's index goes away by itself; fields of
 * entries that expired on their own stay until then or until a purge walks them.
 *
 * Ages: a lookup is one script call returning the value and its PTTL; the entry's age is
 * the record's initial age plus (PX written - PTTL), all measured by Redis's clock. No
 * node's wall clock is involved, so clock skew between nodes does not matter.
 *
 * Lookups and writes go on the worker's cluster connection (cluster.h), asynchronous and
 * bounded by store.timeout_ms; a purge uses a blocking connection of its own (admin
 * thread), bounded the same way per command.
 */
#ifndef GW_CACHESHARED_H
#define GW_CACHESHARED_H

#include <stddef.h>
#include <stdint.h>

#include "gw/config.h"
#include "gw/redis.h"

/* PREFIX + "cache:" + 64 hex digits */
#define GW_CACHESHARED_KEY_MAX (GW_REDIS_PREFIX_MAX + 6 + 64 + 1)

/* The Redis key of cache key key[0..len) into out (NUL-terminated); its length (pure). */
size_t gw_cacheshared_key(const char *prefix, const char *key, size_t len,
			  char out[GW_CACHESHARED_KEY_MAX]);

/* Look key up: cb gets an array reply {value, pttl}, a nil reply (absent), or err (see
 * redis.h's contract). 0, or -ENOTCONN / -ENOMEM at once without a callback. */
int gw_cacheshared_get(gw_redis_t *r, const char *prefix, const char *key, size_t len,
		       gw_redis_cb cb, void *data);

/* Write a record of rlen bytes for key with PX ttl_ms and index it under route with value
 * path: commands pipelined; cb is called once per command (4). 0 or -errno at once. */
int gw_cacheshared_put(gw_redis_t *r, const char *prefix, const char *route, const char *key,
		       size_t len, const char *path, size_t plen, const char *rec, size_t rlen,
		       uint64_t ttl_ms, gw_redis_cb cb, void *data);

/* Delete the entries of route (NULL = every route of cfg) whose path matches pattern
 * (NULL = all), blocking (admin thread), then announce the purge to the other nodes (see
 * below). The number deleted, or -errno (logged). */
int64_t gw_cacheshared_purge(const gw_config_t *cfg, const char *route, const char *pattern);

/*
 * Purges reach the other nodes' own layers through Redis: a purge is announced as the
 * next number of the counter PREFIX "cache-purge-seq" and a JSON line
 * {"seq": N, "route": R, "pattern": P} ("" = any) appended to the list PREFIX
 * "cache-purges" (its last 256 kept). One worker per node polls both every second
 * (gw_cacheshared_poll()) and applies, in its own layer, every purge newer than the last it
 * applied; when more than the list holds were missed (Redis was away), it purges all.
 */
int gw_cacheshared_poll(gw_redis_t *r, const char *prefix, gw_redis_cb cb, void *data);

/* Read one announced purge (pure): 0, or -EINVAL for anything else than the line above
 * (route and pattern up to 255 bytes; "" for any). */
int gw_cacheshared_parse_purge(const char *s, size_t len, uint64_t *seq, char route[256],
			       char pattern[256]);

#endif /* GW_CACHESHARED_H */

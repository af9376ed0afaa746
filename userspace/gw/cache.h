/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.h - the response cache: an in-process LRU with a byte budget, shared by the worker
 * threads, with request coalescing, stale-while-revalidate, stale-if-error and purges.
 *
 * Where it sits: after the client's rate limits, the key, the plan and its token bucket
 * (and quotas/credits once they exist): a cached answer still counts for the client; the
 * cache protects the upstream, never the gateway's limits. handler.c calls
 * gw_cache_start() where it would call gw_proxy_start().
 *
 * What is cached: GET (and HEAD, answered from the GET's entry) on a route with a TTL
 * (`cache.ttl` / `cache_ttl`), responses 200, 203, 300, 301 and 308 without Set-Cookie,
 * whose Cache-Control allows a shared cache to store them (no no-store, private or
 * no-cache); s-maxage, else max-age, else the route's TTL is the lifetime. `Vary` is
 * honoured: an entry remembers the request's values of the headers it names and answers
 * only requests with the same values (`Vary: *` is not stored). The key: cachekey.h.
 * A client's own Cache-Control (no-cache, max-age=0) is ignored on purpose: honouring it
 * would let any client send every request to the upstream.
 *
 * Responses carry `X-Cache: HIT | MISS | STALE` and, from the cache, `Age`.
 *
 * Coalescing: the first miss of a key (the leader) goes upstream with a fill attached to
 * its proxied exchange (proxy.c tees the body into it); later misses of that key, on any
 * worker thread, wait - at most cache.lock_timeout_ms, and at most cache.max_waiters of
 * them - and are answered from what the leader stored. An uncacheable answer sends them upstream on their own; a failed one
 * gives them the leader's problem (or a stale entry, under stale-if-error); a leader whose
 * client went away hands the fill to the next waiter.
 *
 * Staleness: past its lifetime an entry is kept for the route's stale_while_revalidate
 * and stale_if_error windows (or the upstream's directives of those names). Within the
 * first (RFC 5861), the request that finds it stale is answered from it at once (STALE)
 * and starts a background refresh: the key's fill, with no client request attached
 * (bgfetch.h), so every request meanwhile gets the stale entry too. A refresh that fails
 * leaves the stale entry in place; one whose answer may not be stored removes it; a purge
 * meanwhile stops it, a worker's shutdown cancels it (gw_cache_stop()). Within the second,
 * an upstream that fails (connection, timeout, broken answer, or a 500/502/503/504) is
 * replaced by the stale entry (STALE).
 *
 * Threads: one store for the process, in GW_CACHE_STRIPES stripes by key hash, each with
 * its own lock; a hit holds it for a lookup and a reference count, then sends the body
 * from the entry's memory without it. Coalescing works across worker threads: waiters
 * are woken through their own worker's message queue. A gw_cache_t is a worker's handle
 * (its counters, its wake-up receiver, its lock timer). Purges (admin thread) remove
 * entries at once; a fetch in progress when a purge comes is delivered but not stored.
 *
 * Layers: this LRU is the first layer. The second, shared one (cache.shared "redis",
 * cluster mode; cacheshared.h, its record cacherec.h) is asked by a leader before the
 * upstream - asynchronously, on the worker's Redis connection, the fill pending meanwhile
 * so that other requests for the key wait on it - and a record found there is stored here
 * and served (HIT) to the leader and its waiters; every entry stored after an upstream
 * answer is written there too. Purges delete its entries through a per-route index.
 */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/evloop.h"
#include "gw/problem.h"
#include "gw/proxy.h"
#include "gw/worker.h"

typedef struct st_gw_cache_t gw_cache_t;
typedef struct st_gw_cache_fill_t gw_cache_fill_t;

/* A worker's handle on the store, on its context's loop. NULL when out of memory. */
gw_cache_t *gw_cache_new(h2o_context_t *ctx);
void gw_cache_free(gw_cache_t *c);
/* The worker stops: its background refreshes are cancelled now (their connections closed,
 * nothing stored; requests of other workers waiting on them start over). */
void gw_cache_stop(gw_cache_t *c);
/* The worker (index) runs: worker 0 starts following the other nodes' purges (shared
 * layer, cacheshared.h). */
void gw_cache_worker_start(gw_cache_t *c, unsigned index);

/* Answer an admitted request from the worker's cache, or proxy it to rt (filling the
 * cache on the way when it may). Always answers the request, one way or another. */
void gw_cache_start(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		    const gw_proxy_drop_t *drop);

/* ---- what proxy.c tells the fill of a leader's exchange ---- */

/*
 * The upstream's head is in req->res (its fields from index first_header on). Returns
 * true when the fill answered the request itself (a stale entry instead of a 5xx, under
 * stale-if-error): the proxy then drops the exchange. The fill ends there in that case.
 */
bool gw_cache_fill_head(gw_cache_fill_t *f, h2o_req_t *req, size_t first_header);
/* Body bytes as they go to the client. */
void gw_cache_fill_body(gw_cache_fill_t *f, const void *p, size_t len);
/* The exchange ended: complete (the body is whole) or not. Ends the fill. */
void gw_cache_fill_end(gw_cache_fill_t *f, bool complete);
/* The exchange failed before any response byte with problem p. Returns true when a stale
 * entry answered req instead; false when the caller answers with p. Ends the fill. */
bool gw_cache_fill_failed(gw_cache_fill_t *f, h2o_req_t *req, enum gw_problem p);

/* ---- purge (any thread) ---- */

/*
 * Purge entries of route `route` (a name; NULL = any) whose key's path and query match
 * the glob `pattern` (NULL = any), now. Returns the purge's sequence number (> 0), or
 * -EINVAL for a pattern over 255 bytes.
 */
int64_t gw_cache_purge(const char *route, const char *pattern);

/* ---- metrics ---- */

/* Append the cache families (counters summed over the workers' handles c[0..n), the
 * store's gauges) to the malloc'd text *buf of *len bytes (realloc'd). 0, or -ENOMEM
 * (then *buf is unchanged). */
int gw_cache_render(gw_cache_t *const *c, size_t n, char **buf, size_t *len);

#endif /* GW_CACHE_H */

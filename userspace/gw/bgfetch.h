/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bgfetch.h - an upstream exchange with no client request attached: the response cache's
 * background refresh (stale-while-revalidate, cache.h).
 *
 * It uses what a proxied request uses (proxy.h): the worker's connection pool of the
 * upstream, the group's server selection, breaker and latency accounting, retries on
 * another server within the group's retries and the worker's retry budget, the three
 * timeouts (connect, first byte / silence, total) and the per-upstream error metrics.
 * What differs: the request head is given (built by gw_proxy_get_head() while the client
 * request was alive, copied into memory the fetch owns), and the response goes to
 * callbacks instead of a client, read as fast as the upstream sends it.
 *
 * A fetch holds a reference on its worker's config view (gw_tconf_t), so a reload never
 * takes its pools or timers away under it. Everything runs on the worker's loop; no
 * callback is ever called from inside gw_bgfetch_start() or gw_bgfetch_cancel().
 */
#ifndef GW_BGFETCH_H
#define GW_BGFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/evloop.h"
#include "gw/worker.h"

typedef struct st_gw_bgfetch_t gw_bgfetch_t;

enum gw_bgfetch_result {
	GW_BGFETCH_OK,	    /* the whole response was given to the callbacks */
	GW_BGFETCH_FAILED,  /* no usable response (connection, timeout, broken head or body) */
	GW_BGFETCH_ABORTED, /* a callback returned false */
};

typedef struct st_gw_bgfetch_cbs_t {
	/* The response head: headers in the fetch's memory (valid until end), content_length
	 * SIZE_MAX when unknown. false stops the fetch (end: ABORTED). */
	bool (*head)(void *data, int status, const char *reason, const h2o_headers_t *headers,
		     size_t content_length);
	/* Body bytes. false stops the fetch (end: ABORTED). */
	bool (*body)(void *data, const void *bytes, size_t len);
	/* Once, last: the fetch is gone when it is called. */
	void (*end)(void *data, enum gw_bgfetch_result r);
} gw_bgfetch_cbs_t;

/*
 * Start a GET on rt (of the view tc, which the fetch references) with request head
 * head[0..len) (its Host line is rewritten for the server chosen unless the upstream
 * preserves Host). hash: the affinity of the hash strategies. NULL when it could not
 * start (no eligible server, out of memory or sockets): counted like a proxied request's
 * failure, no callback called.
 */
gw_bgfetch_t *gw_bgfetch_start(gw_tconf_t *tc, gw_upstream_rt_t *rt, const char *head, size_t len,
			       uint64_t hash, const gw_bgfetch_cbs_t *cb, void *data);

/* Stop the fetch now (its connection closed, timers unlinked, the view released); no
 * callback is called. */
void gw_bgfetch_cancel(gw_bgfetch_t *b);

#endif /* GW_BGFETCH_H */

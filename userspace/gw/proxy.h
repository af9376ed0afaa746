/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proxy.h - forwarding an admitted request to its route's upstream.
 *
 * HTTP/1.1 to the upstream over a keep-alive connection pool per upstream per worker
 * thread (upstream.h; not h2o 2.2.5's socketpool, see there why). Three timeouts: connect
 * (until the TCP connection is up), first byte (no response head within it; also the limit
 * on silence between body reads) and total (the whole exchange). Refused or failed connections answer 502
 * upstream-unavailable, timeouts 504 upstream-timeout, a broken response 502
 * upstream-error; each is counted per upstream. An idempotent request whose pooled
 * connection turns out dead before any response byte is retried once on a new one.
 *
 * An upstream is a group of servers (upgroup.h): each attempt goes to the server the
 * group's strategy picks; its outcome feeds the server's breaker and latency; an
 * idempotent request that failed before the response started is retried on another
 * server within the group's retries and the worker's retry budget; with no eligible
 * server at all the answer is 502 at once and the operator is notified.
 *
 * The request sent upstream: the normalised path re-encoded and the query without the
 * api_key parameter; hop-by-hop headers (Connection and what it names, Keep-Alive, TE,
 * Transfer-Encoding, Upgrade, Proxy-*, HTTP2-Settings) removed, as is the header that
 * carried the API key; X-Forwarded-For (the peer appended to what a trusted edge sent,
 * or the peer alone otherwise), X-Forwarded-Proto and Via added. The response body is
 * streamed to the client as it arrives. (h2o 2.2.5 reads a request body completely,
 * up to limits.max_request_body, before the handler runs; it is sent in one piece.)
 */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stdbool.h>

#include "gw/evloop.h"
#include "gw/worker.h"

/* Request headers the proxy must not forward because they carried the API key. */
typedef struct st_gw_proxy_drop_t {
	const char *header; /* lower-case name, or NULL */
	size_t header_len;
	bool authorization;
} gw_proxy_drop_t;

/* Forward req (whose route is rc->route) to rt; rc->uri is the path and query to send.
 * Always answers the request, one way or another. */
void gw_proxy_start(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		    const gw_proxy_drop_t *drop);

struct st_gw_cache_fill_t;
/* The same, for a response-cache leader: the response head, its body bytes and how the
 * exchange ended go to `fill` too (cache.h), which may also answer a failure itself. */
void gw_proxy_start_fill(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
			 const gw_proxy_drop_t *drop, struct st_gw_cache_fill_t *fill);
/* For a fetch that outlives req (cache.c's background refresh): the GET request head req
 * would send to server 0 of rt (build_head's rules: the API key's header dropped, the
 * forwarding headers added), in req's pool, and the affinity of the hash strategies. */
h2o_iovec_t gw_proxy_get_head(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
			      const gw_proxy_drop_t *drop, uint64_t *hash);
/* Keep an HTTP/1 client's socket polled while its request waits for something else than
 * the upstream (Redis, in cluster mode): see keep_client_polled() in proxy.c. */
void gw_proxy_keep_client_polled(h2o_req_t *req);

#endif /* GW_PROXY_H */

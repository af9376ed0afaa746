/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * handler.h - the request path, as one h2o handler, plus its logger and error filter.
 *
 * Order (ARCHITECTURE.md): client-IP and edge-IP buckets -> route match on the normalised
 * path (404 / 405) -> API key extraction -> key lookup by digest (401) -> the plan allows
 * the route and the key is not blocked (403) -> the plan's token bucket (429) -> proxy.
 * Quotas, credits and the response cache slot in between the bucket and the proxy.
 *
 * The logger runs when h2o disposes of each request: it counts the request in the
 * worker's metrics, writes the access log line and releases the request's config view.
 * The filter turns the few errors h2o answers by itself (413 for an oversized body, 417)
 * into problem+json like every other error.
 */
#ifndef GW_HANDLER_H
#define GW_HANDLER_H

#include "gw/evloop.h"
#include "gw/problem.h"
#include "gw/proxy.h"
#include "gw/ratelimit.h"
#include "gw/worker.h"

/* Install the request path, the logger and the error filter on a path config. */
void gw_handler_register(h2o_pathconf_t *pathconf);

/* Answer req with problem p (RFC 9457 body from rc's config). Response headers already
 * added (Retry-After, RateLimit, Allow) are kept. */
void gw_handler_problem(h2o_req_t *req, gw_reqctx_t *rc, enum gw_problem p);

/*
 * From an output filter's on_setup_ostream(): replace the body of the response h2o is
 * sending (one of its own plain-text errors) with body, a problem+json document in req's
 * pool; ctype is the index of the response's Content-Type header, rewritten. Returns the
 * slot for the next ostream. A HEAD response keeps the length and loses the body.
 */
h2o_ostream_t **gw_handler_problem_body(h2o_req_t *req, h2o_ostream_t **slot, ssize_t ctype,
					h2o_iovec_t body);

/*
 * Start the response (status and headers already set) with a body that stays in memory
 * until the request is disposed. pull: an HTTP/1 client pulls it, so head and body leave in
 * one write (one TLS record); otherwise, and for HTTP/2 or HEAD, it is sent at once.
 */
void gw_handler_send_memory(h2o_req_t *req, h2o_iovec_t body, bool head, bool pull);

/* The request's API key from the places the config accepts (gw_apikey_extract()). */
int gw_handler_extract_key(h2o_req_t *req, const gw_config_t *cfg, char *kbuf, gw_apikey_t *key);

/*
 * Finish a request whose plan bucket was decided away from the handler (cluster mode,
 * cluster_req.h): the RateLimit headers of st (when not NULL), then problem (with its
 * Retry-After) or, for GW_PROBLEM_NONE, the proxy.
 */
void gw_handler_decided(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
			const gw_ratelimit_state_t *st, enum gw_problem problem,
			const gw_proxy_drop_t *drop);

/*
 * Have fn(arg) called once when req is done with: by the logger, when h2o disposes of the
 * request, just before its pool is cleared - where a release tied to the pool
 * (h2o_mem_alloc_shared()) would run, without its allocation. One per request: false when
 * the handler never saw req or it holds one already (tie it to the pool then).
 */
bool gw_handler_hold(h2o_req_t *req, void (*fn)(void *), void *arg);

/* The request path's state of req, or NULL when the handler never saw it. */
gw_reqctx_t *gw_handler_reqctx(h2o_req_t *req);

/* The request's CLOCK_MONOTONIC reading (ns), taken once, when something first needs it
 * (a bucket, the cache's freshness test, the access log's duration): a request refused
 * before that reads no clock. */
uint64_t gw_handler_now(gw_reqctx_t *rc);

/* Resolve the client's address into rc->ip (rc->have_ip) once, when something first needs
 * it: bans and abuse scoring, per-client limits, the access log, the proxy (forwarding
 * headers, hash-ip). Returns rc->have_ip. */
bool gw_handler_client(h2o_req_t *req, gw_reqctx_t *rc);

/* A worker thread is done with requests (after its drain): frees what the request path
 * kept per thread. */
void gw_handler_thread_done(void);

#endif /* GW_HANDLER_H */

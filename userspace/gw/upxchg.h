/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upxchg.h - the client-independent half of one HTTP/1.1 exchange with an upstream group,
 * shared by the proxy of a client request (proxy.c) and the cache's background refresh
 * (bgfetch.c).
 *
 * What lives here is what both do the same way: the attempt's accounting on its server
 * (breaker and latency verdict once per attempt, least-connections count, request count),
 * the choice of the first server and of the next one for a retry, the three timers, sending
 * the request head on a pooled or new connection, reading the response head (1xx skipped,
 * size limit), the response-head rules (framing fields and hop-by-hop fields dropped,
 * Connection tokens, keep-alive, body framing) and the body's framing (Content-Length cut,
 * chunked decoding).
 *
 * What stays with the caller is what differs: where the response goes, how a failure ends
 * (an answer to a client or a callback), the event callbacks themselves (their owner is
 * the caller's struct, which embeds a gw_upxchg_t) and whether a request may be sent twice.
 * Nothing here calls back into the caller: every function is a direct call that returns,
 * and the caller decides what comes next - the proxied request pays no indirection for it.
 */
#ifndef GW_UPXCHG_H
#define GW_UPXCHG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gw/evloop.h"
#include "gw/ptimer.h"
#include "gw/upgroup.h"
#include "gw/upstream.h"
#include "gw/worker.h"

/* A response head larger than this is refused (502 for a client). */
#define GW_UPXCHG_HEAD_MAX (64u << 10)

/* How the response body is delimited. */
enum gw_upxchg_body {
	GW_UPXCHG_BODY_NONE = 0, /* HEAD, 204, 304, or Content-Length: 0 */
	GW_UPXCHG_BODY_LENGTH,	 /* Content-Length */
	GW_UPXCHG_BODY_CHUNKED,	 /* Transfer-Encoding: chunked */
	GW_UPXCHG_BODY_CLOSE,	 /* until the upstream closes */
};

/* One exchange's state on the upstream's side; embedded in its owner, zeroed to start. */
typedef struct st_gw_upxchg_t {
	gw_upstream_rt_t *rt;
	gw_tconf_t *tc;		      /* the worker's config view it runs in */
	gw_upconn_t *conn;	      /* while the upstream's side is in progress */
	gw_ptimer_t connect_timer;    /* the worker's ptimers: fires on time */
	h2o_timeout_entry_t io_timer; /* first byte, then silence between body reads */
	h2o_timeout_entry_t total_timer;
	gw_chunked_t chunked;
	uint64_t left; /* BODY_LENGTH: bytes still to come */
	uint64_t sent_at;
	uint64_t hash;	/* affinity for the hash strategies */
	uint64_t tried; /* servers tried, bit per server */
	size_t si;	/* the server of this attempt */
	unsigned attempts;
	enum gw_upxchg_body body;
	unsigned started : 1;	/* the response head was taken */
	unsigned retried : 1;	/* the one retry on a new connection was used */
	unsigned got_bytes : 1; /* this attempt received something */
	unsigned keepalive : 1; /* the upstream lets the connection be reused */
	unsigned probe : 1;	/* this attempt is the server's half-open probe */
	unsigned active : 1;	/* counted in the server's exchanges in progress */
	unsigned judged : 1;	/* this attempt's outcome was reported */
} gw_upxchg_t;

static inline void gw_upxchg_unlink_timer(h2o_timeout_entry_t *t)
{
	if (h2o_timeout_is_linked(t))
		h2o_timeout_unlink(t);
}

static inline void gw_upxchg_unlink_timers(gw_upxchg_t *x)
{
	gw_ptimer_unlink(&x->connect_timer);
	gw_upxchg_unlink_timer(&x->io_timer);
	gw_upxchg_unlink_timer(&x->total_timer);
}

/* The attempt's outcome, for the server's breaker and latency (once per attempt). */
static inline void gw_upxchg_judge(gw_upxchg_t *x, bool ok, uint64_t latency_ns)
{
	if (x->judged)
		return;
	x->judged = 1;
	gw_upgroup_result(x->rt->conf, x->si, ok, x->probe, latency_ns, gw_now_ns());
}

/* The attempt no longer holds the server (least-connections). */
static inline void gw_upxchg_attempt_over(gw_upxchg_t *x)
{
	if (x->active) {
		x->active = 0;
		gw_upgroup_active(x->rt->conf, x->si, -1);
	}
}

/* The attempt is over and its connection, if any, released (to the pool when reusable;
 * its input must hold nothing of the response then). */
static inline void gw_upxchg_release(gw_upxchg_t *x, bool reusable)
{
	gw_upxchg_attempt_over(x);
	if (x->conn) {
		gw_upstream_release(x->conn, reusable);
		x->conn = NULL;
	}
}

/* Bytes arrived: the silence timer starts again. */
static inline void gw_upxchg_got_bytes(gw_upxchg_t *x)
{
	x->got_bytes = 1;
	gw_upxchg_unlink_timer(&x->io_timer);
	h2o_timeout_link(x->tc->worker->loop, x->rt->first_byte, &x->io_timer);
}

/* A pooled connection that died before any response byte may be replaced by a new one
 * once (the caller adds whether the request may be sent twice). */
static inline bool gw_upxchg_may_redial(const gw_upxchg_t *x)
{
	return x->conn->reused && !x->got_bytes && !x->retried;
}

/*
 * The first server for x (x->rt, x->tc and x->hash set): counted as a request of the
 * group. 0 with x->si and x->probe set; -1 when no server is eligible (the operator is
 * notified and the failure counted as refused).
 */
int gw_upxchg_pick_first(gw_upxchg_t *x);

/* A new attempt on server x->si: counted on the server (requests, in progress). */
void gw_upxchg_begin(gw_upxchg_t *x);

/* Send bufs[0..n) on x->conn (owner is the sockets' data), read the answer, and arm the
 * first-byte timer. */
void gw_upxchg_send(gw_upxchg_t *x, void *owner, h2o_iovec_t *bufs, size_t n,
		    h2o_socket_cb on_write, h2o_socket_cb on_read);

/* A new connection to x->si with the connect timer armed. -1 when it failed at once. */
int gw_upxchg_connect(gw_upxchg_t *x, gw_upconn_cb on_connected, void *owner);

/* Before a new connection replaces a dead pooled one (see gw_upxchg_may_redial()). */
void gw_upxchg_redial(gw_upxchg_t *x);

/* An attempt failed before its response head: the connection dropped, the attempt's
 * timers stopped, the error counted and the server judged. */
void gw_upxchg_failed(gw_upxchg_t *x, enum gw_upstream_error kind);

/* After gw_upxchg_failed(): whether another server may be tried (total timeout still
 * running, retries and servers left, the worker's retry budget). true with x->si and
 * x->probe set for it; the caller then calls gw_upxchg_begin(). */
bool gw_upxchg_pick_retry(gw_upxchg_t *x);

/*
 * The final response head at the start of *in, 1xx heads before it consumed (not passed
 * on). Returns its length, 0 when more bytes are needed, -1 when it is not acceptable
 * (malformed, larger than GW_UPXCHG_HEAD_MAX, 101 Switching Protocols).
 */
ssize_t gw_upxchg_read_head(h2o_buffer_t **in, gw_upstream_head_t *h);

/* Whether the comma-separated header value v[0..len) names token tok[0..tl) (case
 * insensitive, OWS around elements ignored). */
bool gw_upxchg_has_token(const char *v, size_t len, const char *tok, size_t tl);

/*
 * h's header fields into out (allocated from pool) by the proxy's rules: Content-Length,
 * Transfer-Encoding, hop-by-hop fields (h2o's proxy_should_drop_for_res), Server and what
 * the Connection header names are left out. Sets x->keepalive, x->body and x->left; *cl is
 * the Content-Length (SIZE_MAX when absent or chunked). is_head: the request was a HEAD.
 * -1 when the head is not acceptable (conflicting Content-Length, several
 * Transfer-Encoding fields or one other than "chunked"); out may be partly filled then.
 */
int gw_upxchg_take_head(gw_upxchg_t *x, const gw_upstream_head_t *h, bool is_head,
			h2o_mem_pool_t *pool, h2o_headers_t *out, size_t *cl);

/* The response head was taken: the latency measured, counted and judged (a 5xx counts
 * against the server). Returns the latency. */
uint64_t gw_upxchg_head_judged(gw_upxchg_t *x, int status);

/*
 * Body bytes bytes[0..*len) just read, in place: on return bytes[0..*len) are the body's
 * (a Content-Length body cut at its length, a chunked one decoded). Returns 1 when the
 * body is complete, 0 when more is to come, -1 on a malformed chunked body. Anything
 * after the body clears x->keepalive.
 */
int gw_upxchg_body(gw_upxchg_t *x, char *bytes, size_t *len);

/* The owner goes away: connection closed, timers unlinked, an abandoned probe judged
 * failed (the breaker opens again). */
void gw_upxchg_dispose(gw_upxchg_t *x);

#endif /* GW_UPXCHG_H */

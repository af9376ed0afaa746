/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proxy.c - the upstream exchange of one request (see proxy.h).
 *
 * One struct per proxied request, allocated from the request's pool with a dispose hook:
 * whatever ends the request (response done, client gone, timeout), the hook closes the
 * upstream connection if it is still ours and unlinks the timers. The connection comes
 * from the worker's pool (upstream.h) and goes back to it as soon as the upstream's side
 * of the exchange is complete, even while the client is still reading the body.
 *
 * The response body follows h2o's double buffer pattern: one buffer is being sent to the
 * client while the socket reads into the other. A client slower than the upstream pauses
 * reading from the upstream once PAUSE_BYTES are waiting, so memory per request stays
 * bounded.
 *
 * The common small response - a Content-Length body that arrived with the head - takes a
 * shortcut over HTTP/1: h2o's pull mode, where the connection asks for the body right after
 * flattening the head into the same buffer. h2o 2.2.5 calls SSL_write once per buffer it is
 * given, so the push path (head, then body) costs two TLS records and their per-record work;
 * pulled, head and body leave as one record in one write.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "gw/cache.h"
#include "gw/handler.h"
#include "gw/metrics.h"
#include "gw/proxy.h"
#include "gw/upgroup.h"
#include "gw/upstream.h"
#include "gw/upxchg.h"
#include "gw/worker.h"

/* Pseudonym this gateway adds to Via (RFC 9110 7.6.3). */
#define VIA_NAME	"floodgate"
/* Connection tokens remembered from a request's or response's Connection header. */
#define CONN_TOKENS_MAX 8
/* Body bytes buffered for a slow client before the upstream socket stops being read. */
#define PAUSE_BYTES	(1u << 20)
/* Largest complete body sent in pull mode (one TLS record's worth); larger ones stream. */
#define PULL_MAX_BODY	16384

struct proxy {
	h2o_generator_t super;
	gw_upxchg_t x; /* the upstream's side (upxchg.h) */
	h2o_req_t *req;
	gw_reqctx_t *rc;
	h2o_iovec_t bufs[2];
	h2o_buffer_t *last; /* body received but not sent when the upstream finished */
	h2o_doublebuffer_t sending;
	unsigned is_head : 1;
	unsigned idempotent : 1;
	unsigned body_error : 1;
	unsigned paused : 1; /* upstream reading stopped for a slow client */

	gw_cache_fill_t *fill; /* a cache leader's: sees the response (cache.h) */

	gw_proxy_drop_t drop; /* for the request head of a retry on another server */
};

static void on_read(h2o_socket_t *sock, const char *err);
static void do_send(struct proxy *p);
static h2o_iovec_t build_head(struct proxy *p, const gw_proxy_drop_t *drop);
static void begin_attempt(struct proxy *p);

/* The cache fill, if any, is told how the exchange ended, once. */
static void end_fill(struct proxy *p, bool complete)
{
	gw_cache_fill_t *f = p->fill;

	if (f) {
		p->fill = NULL;
		gw_cache_fill_end(f, complete);
	}
}

static void tee(struct proxy *p, const void *bytes, size_t len)
{
	if (p->fill)
		gw_cache_fill_body(p->fill, bytes, len);
}

static gw_worker_t *worker_of(struct proxy *p)
{
	return p->rc->tc->worker;
}

static void unlink_timers(struct proxy *p)
{
	gw_upxchg_unlink_timers(&p->x);
}

/* Give the connection up without reuse (anything it still holds is lost). */
static void drop_conn(struct proxy *p)
{
	gw_upxchg_release(&p->x, false);
}

/* Keep what the connection read but we have not sent yet, then let it go. */
static void detach_conn(struct proxy *p, bool reusable)
{
	h2o_buffer_t *t = p->last;

	gw_upxchg_attempt_over(&p->x);
	p->last = p->x.conn->sock->input;
	p->x.conn->sock->input = t; /* p->last was empty: only ever filled here, once */
	gw_upstream_release(p->x.conn, reusable);
	p->x.conn = NULL;
}

/* End the request with a problem before any response byte went out. */
static void fail(struct proxy *p, enum gw_upstream_error kind)
{
	static const enum gw_problem problems[GW_UPSTREAM_ERROR_MAX] = {
		[GW_UPSTREAM_REFUSED] = GW_PROBLEM_UPSTREAM_UNAVAILABLE,
		[GW_UPSTREAM_TIMEOUT] = GW_PROBLEM_UPSTREAM_TIMEOUT,
		[GW_UPSTREAM_ERROR] = GW_PROBLEM_UPSTREAM_ERROR,
	};

	gw_upxchg_failed(&p->x, kind);
	/* Another server, when sending the request twice cannot do harm, the total timeout
	 * has not run out, and the worker's retry budget allows. */
	if (p->idempotent && !p->x.started && gw_upxchg_pick_retry(&p->x)) {
		pr_debug("proxy: upstream %s: retrying on %s", p->x.rt->conf->name,
			 p->x.rt->conf->servers[p->x.si].url);
		begin_attempt(p);
		return;
	}
	unlink_timers(p);
	if (p->fill) {
		gw_cache_fill_t *f = p->fill;

		p->fill = NULL;
		if (gw_cache_fill_failed(f, p->req, problems[kind]))
			return; /* a stale entry answered instead (stale-if-error) */
	}
	gw_handler_problem(p->req, p->rc, problems[kind]);
}

/* The response already started: the client learns of the failure from a reset. */
static void fail_body(struct proxy *p, enum gw_upstream_error kind)
{
	if (p->x.conn)
		detach_conn(p, false);
	unlink_timers(p);
	gw_metrics_upstream_error(worker_of(p)->metrics, p->x.rt->conf->id, kind);
	end_fill(p, false);
	p->body_error = 1;
	if (p->sending.bytes_inflight == 0)
		do_send(p);
}

static void on_write(h2o_socket_t *sock, const char *err);

static void send_request(struct proxy *p)
{
	gw_upxchg_send(&p->x, p, p->bufs, p->bufs[1].base ? 2 : 1, on_write, on_read);
}

static void on_connected(gw_upconn_t *conn, const char *err, void *data)
{
	struct proxy *p = data;

	gw_ptimer_unlink(&p->x.connect_timer);
	if (err) {
		p->x.conn = NULL; /* already closed by the pool */
		fail(p, GW_UPSTREAM_REFUSED);
		return;
	}
	send_request(p);
}

static void connect_fresh(struct proxy *p)
{
	if (gw_upxchg_connect(&p->x, on_connected, p))
		fail(p, GW_UPSTREAM_REFUSED);
}

static void on_connect_timeout(gw_ptimer_t *entry)
{
	struct proxy *p = H2O_STRUCT_FROM_MEMBER(struct proxy, x.connect_timer, entry);

	fail(p, GW_UPSTREAM_TIMEOUT);
}

/* No response head yet and the connection broke. */
static void head_failed(struct proxy *p)
{
	/* A pooled connection the upstream had closed: try once more on a new one, when
	 * sending the request twice cannot do harm. */
	if (p->idempotent && gw_upxchg_may_redial(&p->x)) {
		gw_upxchg_redial(&p->x);
		connect_fresh(p);
		return;
	}
	fail(p, GW_UPSTREAM_ERROR);
}

static void on_write(h2o_socket_t *sock, const char *err)
{
	struct proxy *p = sock->data;

	if (err && !p->x.started)
		head_failed(p);
	else if (err)
		fail_body(p, GW_UPSTREAM_ERROR);
}

static void on_io_timeout(h2o_timeout_entry_t *entry)
{
	struct proxy *p = H2O_STRUCT_FROM_MEMBER(struct proxy, x.io_timer, entry);

	if (!p->x.started)
		fail(p, GW_UPSTREAM_TIMEOUT);
	else
		fail_body(p, GW_UPSTREAM_TIMEOUT);
}

static void on_total_timeout(h2o_timeout_entry_t *entry)
{
	struct proxy *p = H2O_STRUCT_FROM_MEMBER(struct proxy, x.total_timer, entry);

	if (!p->x.started)
		fail(p, GW_UPSTREAM_TIMEOUT);
	else
		fail_body(p, GW_UPSTREAM_TIMEOUT);
}

/* The upstream's part is complete: the connection goes back to the pool. */
static void upstream_done(struct proxy *p)
{
	unlink_timers(p);
	detach_conn(p, p->x.keepalive);
}

static void do_send(struct proxy *p)
{
	h2o_iovec_t vec;

	vec = h2o_doublebuffer_prepare(&p->sending, p->x.conn ? &p->x.conn->sock->input : &p->last,
				       p->req->preferred_chunk_size);
	if (!p->x.conn && vec.len == p->sending.buf->size && p->last->size == 0) {
		tee(p, vec.base, vec.len);
		end_fill(p, !p->body_error);
		h2o_send(p->req, &vec, vec.len ? 1 : 0,
			 p->body_error ? H2O_SEND_STATE_ERROR : H2O_SEND_STATE_FINAL);
		return;
	}
	if (vec.len) {
		tee(p, vec.base, vec.len);
		h2o_send(p->req, &vec, 1, H2O_SEND_STATE_IN_PROGRESS);
	}
}

static void do_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct proxy *p = (struct proxy *)gen;

	h2o_doublebuffer_consume(&p->sending);
	if (p->paused && p->x.conn) {
		p->paused = 0;
		h2o_socket_read_start(p->x.conn->sock, on_read);
		h2o_timeout_link(worker_of(p)->loop, p->x.rt->first_byte, &p->x.io_timer);
	}
	do_send(p);
}

/* Pull mode: the whole body waits in p->last; h2o's buffer has room for all of it. */
static h2o_send_state_t do_pull(h2o_generator_t *gen, h2o_req_t *req, h2o_iovec_t *buf)
{
	struct proxy *p = (struct proxy *)gen;
	size_t n = p->last->size < buf->len ? p->last->size : buf->len;

	memcpy(buf->base, p->last->bytes, n);
	buf->len = n;
	tee(p, p->last->bytes, n);
	h2o_buffer_consume(&p->last, n);
	if (p->last->size)
		return H2O_SEND_STATE_IN_PROGRESS;
	end_fill(p, true);
	return H2O_SEND_STATE_FINAL;
}

/*
 * Whether the response can go out in pull mode: HTTP/1 (HTTP/2 has no pull), nothing
 * between the handler and the connection (no filter's ostream), and a Content-Length body
 * that is complete in the input already and small.
 */
static bool can_pull(struct proxy *p, const h2o_buffer_t *in)
{
	h2o_req_t *req = p->req;

	return p->x.body == GW_UPXCHG_BODY_LENGTH && p->x.left <= PULL_MAX_BODY &&
	       in->size >= p->x.left && req->version < 0x200 && req->_ostr_top->start_pull != NULL;
}

static void do_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct proxy *p = (struct proxy *)gen;

	drop_conn(p);
	unlink_timers(p);
	end_fill(p, false);
}

/* `fresh` new body bytes sit at the end of the connection's input. */
static void on_body_bytes(struct proxy *p, size_t fresh)
{
	h2o_buffer_t *in = p->x.conn->sock->input;
	size_t len = fresh;
	int r = gw_upxchg_body(&p->x, in->bytes + in->size - fresh, &len);
	bool done = r == 1;

	if (r < 0) {
		in->size -= fresh;
		fail_body(p, GW_UPSTREAM_ERROR);
		return;
	}
	in->size -= fresh - len; /* what is not body: cut */
	if (done) {
		upstream_done(p);
	} else if (in->size >= PAUSE_BYTES) {
		h2o_socket_read_stop(p->x.conn->sock);
		gw_upxchg_unlink_timer(&p->x.io_timer);
		p->paused = 1;
		pr_debug("proxy: %zu bytes wait for a slow client: upstream %s paused", in->size,
			 p->x.rt->conf->name);
	}
	if (p->sending.bytes_inflight == 0)
		do_send(p);
}

/* Copy the upstream's head into req->res; decide the body mode. -1: not acceptable. */
static int take_head(struct proxy *p, const gw_upstream_head_t *h)
{
	h2o_req_t *req = p->req;
	size_t cl;

	req->res.status = h->status;
	req->res.reason = h2o_strdup(&req->pool, h->reason, h->reason_len).base;
	if (gw_upxchg_take_head(&p->x, h, p->is_head, &req->pool, &req->res.headers, &cl))
		return -1;
	if (cl != SIZE_MAX)
		req->res.content_length = cl;
	return 0;
}

static void on_head_bytes(struct proxy *p)
{
	h2o_socket_t *sock = p->x.conn->sock;
	gw_upstream_head_t h;
	size_t hstart = p->req->res.headers.size;
	ssize_t n;

	n = gw_upxchg_read_head(&sock->input, &h);
	if (!n)
		return;
	if (n < 0 || take_head(p, &h)) {
		fail(p, GW_UPSTREAM_ERROR);
		return;
	}
	h2o_buffer_consume(&sock->input, (size_t)n);
	/* a 5xx passes through, and counts against the server */
	p->rc->upstream_ns = (int64_t)gw_upxchg_head_judged(&p->x, h.status);
	if (p->fill && gw_cache_fill_head(p->fill, p->req, hstart)) {
		/* answered from the cache instead (stale-if-error on a 5xx) */
		p->fill = NULL;
		drop_conn(p);
		unlink_timers(p);
		return;
	}
	p->x.started = 1;
	h2o_start_response(p->req, &p->super);
	if (can_pull(p, sock->input)) {
		if (sock->input->size > p->x.left) {
			/* more than announced: cut it, and never reuse this connection */
			sock->input->size = (size_t)p->x.left;
			p->x.keepalive = 0;
		}
		p->x.left = 0;
		upstream_done(p);
		p->req->_ostr_top->start_pull(p->req->_ostr_top, do_pull);
		return;
	}
	if (p->x.body == GW_UPXCHG_BODY_NONE) {
		if (sock->input->size)
			p->x.keepalive =
				0; /* bytes after a body-less response: not HTTP we trust */
		upstream_done(p);
		h2o_buffer_consume(&p->last, p->last->size);
		end_fill(p, true);
		h2o_send(p->req, NULL, 0, H2O_SEND_STATE_FINAL);
		return;
	}
	on_body_bytes(p, sock->input->size);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
	struct proxy *p = sock->data;

	if (err) {
		if (!p->x.started)
			head_failed(p);
		else if (p->x.body == GW_UPXCHG_BODY_CLOSE) {
			/* the end of a body delimited by the connection's end */
			upstream_done(p);
			if (p->sending.bytes_inflight == 0)
				do_send(p);
		} else
			fail_body(p, GW_UPSTREAM_ERROR);
		return;
	}
	gw_upxchg_got_bytes(&p->x);
	if (!p->x.started)
		on_head_bytes(p);
	else
		on_body_bytes(p, sock->bytes_read);
}

static void on_dispose(void *arg)
{
	struct proxy *p = arg;

	gw_upxchg_dispose(&p->x); /* an abandoned probe is judged failed there */
	end_fill(p, false);
	h2o_buffer_dispose(&p->last);
	h2o_doublebuffer_dispose(&p->sending);
}

/* ---- the request head ---- */

static bool is_connection_token(const h2o_iovec_t *name, const h2o_iovec_t *tokens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h2o_lcstris(tokens[i].base, tokens[i].len, name->base, name->len))
			return true;
	return false;
}

struct buf {
	char *p;
	size_t len, cap;
	h2o_mem_pool_t *pool;
};

static __attribute__((noinline)) void grow(struct buf *b, size_t more)
{
	size_t cap = (b->len + more) * 2;
	char *n = h2o_mem_alloc_pool(b->pool, cap);

	memcpy(n, b->p, b->len);
	b->p = n;
	b->cap = cap;
}

/* Inline: a request head is a few dozen short pieces, and head_of() reserves room for all
 * of them at once, so the growth is the rare, out-of-line case. */
static inline __attribute__((always_inline)) void reserve(struct buf *b, size_t more)
{
	if (b->len + more > b->cap)
		grow(b, more);
}

static inline __attribute__((always_inline)) void append(struct buf *b, const char *s, size_t len)
{
	reserve(b, len);
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

#define APPEND_LIT(b, s) append((b), (s), sizeof(s) - 1)

static inline __attribute__((always_inline)) void
append_header(struct buf *b, const char *name, size_t nlen, const char *v, size_t vlen)
{
	char *o;

	reserve(b, nlen + vlen + 4);
	o = b->p + b->len;
	memcpy(o, name, nlen);
	o += nlen;
	*o++ = ':';
	*o++ = ' ';
	memcpy(o, v, vlen);
	o += vlen;
	*o++ = '\r';
	*o++ = '\n';
	b->len = (size_t)(o - b->p);
}

/* The tokens of the Connection header(s): each names another hop-by-hop header. */
static size_t connection_tokens(h2o_req_t *req, h2o_iovec_t *out)
{
	size_t n = 0;
	ssize_t i = -1;

	while ((i = h2o_find_header(&req->headers, H2O_TOKEN_CONNECTION, i)) != -1) {
		const char *s = req->headers.entries[i].value.base;
		size_t len = req->headers.entries[i].value.len, pos = 0;

		while (pos < len && n < CONN_TOKENS_MAX) {
			size_t start, end;

			while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == ','))
				pos++;
			start = pos;
			while (pos < len && s[pos] != ',' && s[pos] != ' ' && s[pos] != '\t')
				pos++;
			end = pos;
			if (end > start)
				out[n++] = h2o_iovec_init(s + start, end - start);
		}
	}
	return n;
}

static h2o_iovec_t head_of(h2o_req_t *req, gw_reqctx_t *rc, const gw_upstream_t *u, size_t si,
			   const gw_proxy_drop_t *drop, h2o_iovec_t method);
static uint64_t affinity(h2o_req_t *req, gw_reqctx_t *rc, const gw_upstream_t *u);

static h2o_iovec_t build_head(struct proxy *p, const gw_proxy_drop_t *drop)
{
	return head_of(p->req, p->rc, p->x.rt->conf, p->x.si, drop, p->req->method);
}

h2o_iovec_t gw_proxy_get_head(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
			      const gw_proxy_drop_t *drop, uint64_t *hash)
{
	gw_handler_client(req, rc); /* the forwarding headers and hash-ip use it */
	*hash = affinity(req, rc, rt->conf);
	return head_of(req, rc, rt->conf, 0, drop, h2o_iovec_init(H2O_STRLIT("GET")));
}

static h2o_iovec_t head_of(h2o_req_t *req, gw_reqctx_t *rc, const gw_upstream_t *u, size_t si,
			   const gw_proxy_drop_t *drop, h2o_iovec_t method)
{
	const gw_upserver_t *sv = &u->servers[si];
	struct buf b = { .pool = &req->pool };
	h2o_iovec_t conn_tokens[CONN_TOKENS_MAX];
	size_t nconn = connection_tokens(req, conn_tokens);
	char peer[FG_CIDR_STRLEN] = "";
	size_t peer_len = 0;
	bool cookie_seen = false, xff_seen = false, via_seen = false;
	size_t est = req->method.len + rc->uri.len + 256;

	for (size_t i = 0; i < req->headers.size; i++)
		est += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
	b.cap = est;
	b.p = h2o_mem_alloc_pool(&req->pool, b.cap);

	append(&b, method.base, method.len);
	APPEND_LIT(&b, " ");
	append(&b, rc->uri.base, rc->uri.len);
	APPEND_LIT(&b, " HTTP/1.1\r\nhost: ");
	if (u->preserve_host)
		append(&b, req->authority.base, req->authority.len);
	else
		append(&b, sv->host, strlen(sv->host));
	if (u->keepalive)
		APPEND_LIT(&b, "\r\nconnection: keep-alive\r\n");
	else
		APPEND_LIT(&b, "\r\nconnection: close\r\n");
	if (req->entity.base || h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) ||
	    h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PUT")) ||
	    h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PATCH"))) {
		char cl[40];
		int n = snprintf(cl, sizeof(cl), "content-length: %zu\r\n",
				 req->entity.base ? req->entity.len : 0);

		append(&b, cl, (size_t)n);
	}
	if (rc->have_ip)
		peer_len = gw_clientip_format(&rc->ip.peer, peer);

	for (size_t i = 0; i < req->headers.size; i++) {
		const h2o_header_t *h = &req->headers.entries[i];
		const char *name = h->orig_name ? h->orig_name : h->name->base;

		if (h2o_iovec_is_token(h->name)) {
			const h2o_token_t *t = H2O_STRUCT_FROM_MEMBER(h2o_token_t, buf, h->name);

			if (t->proxy_should_drop_for_req || t == H2O_TOKEN_HOST ||
			    t == H2O_TOKEN_CONTENT_LENGTH || t == H2O_TOKEN_EXPECT ||
			    (t == H2O_TOKEN_AUTHORIZATION && drop->authorization))
				continue;
			if (t == H2O_TOKEN_COOKIE) {
				/* HTTP/2 splits cookies over several fields; HTTP/1.1 wants one */
				if (cookie_seen)
					continue;
				cookie_seen = true;
				APPEND_LIT(&b, "cookie: ");
				for (size_t j = i, first = 1; j < req->headers.size; j++) {
					if (req->headers.entries[j].name != &H2O_TOKEN_COOKIE->buf)
						continue;
					if (!first)
						APPEND_LIT(&b, "; ");
					append(&b, req->headers.entries[j].value.base,
					       req->headers.entries[j].value.len);
					first = 0;
				}
				APPEND_LIT(&b, "\r\n");
				continue;
			}
			if (t == H2O_TOKEN_X_FORWARDED_FOR) {
				/* Only a trusted edge's list is passed on; anyone else's is a claim. */
				if (!rc->ip.via_edge || xff_seen)
					continue;
				xff_seen = true;
				APPEND_LIT(&b, "x-forwarded-for: ");
				for (size_t j = i, first = 1; j < req->headers.size; j++) {
					if (req->headers.entries[j].name !=
					    &H2O_TOKEN_X_FORWARDED_FOR->buf)
						continue;
					if (!first)
						APPEND_LIT(&b, ", ");
					append(&b, req->headers.entries[j].value.base,
					       req->headers.entries[j].value.len);
					first = 0;
				}
				if (peer_len) {
					APPEND_LIT(&b, ", ");
					append(&b, peer, peer_len);
				}
				APPEND_LIT(&b, "\r\n");
				continue;
			}
			if (t == H2O_TOKEN_VIA) {
				if (via_seen)
					continue;
				via_seen = true;
				APPEND_LIT(&b, "via: ");
				for (size_t j = i; j < req->headers.size; j++) {
					if (req->headers.entries[j].name != &H2O_TOKEN_VIA->buf)
						continue;
					append(&b, req->headers.entries[j].value.base,
					       req->headers.entries[j].value.len);
					APPEND_LIT(&b, ", ");
				}
				if (req->version >= 0x200)
					APPEND_LIT(&b, "2 " VIA_NAME "\r\n");
				else if (req->version == 0x100)
					APPEND_LIT(&b, "1.0 " VIA_NAME "\r\n");
				else
					APPEND_LIT(&b, "1.1 " VIA_NAME "\r\n");
				continue;
			}
		} else {
			if (h2o_lcstris(h->name->base, h->name->len,
					H2O_STRLIT("x-forwarded-proto")) ||
			    h2o_lcstris(h->name->base, h->name->len,
					H2O_STRLIT("proxy-connection")) ||
			    (drop->header && h->name->len == drop->header_len &&
			     !memcmp(h->name->base, drop->header, drop->header_len)))
				continue;
		}
		if (nconn && is_connection_token(h->name, conn_tokens, nconn))
			continue;
		append_header(&b, name, h->name->len, h->value.base, h->value.len);
	}
	if (!xff_seen && peer_len)
		append_header(&b, "x-forwarded-for", 15, peer, peer_len);
	append_header(&b, "x-forwarded-proto", 17, req->scheme->name.base, req->scheme->name.len);
	if (!via_seen) {
		if (req->version >= 0x200)
			APPEND_LIT(&b, "via: 2 " VIA_NAME "\r\n");
		else if (req->version == 0x100)
			APPEND_LIT(&b, "via: 1.0 " VIA_NAME "\r\n");
		else
			APPEND_LIT(&b, "via: 1.1 " VIA_NAME "\r\n");
	}
	APPEND_LIT(&b, "\r\n");
	return h2o_iovec_init(b.p, b.len);
}

/* More than this arriving from a client while its request is proxied: stop reading, as
 * h2o would have (a pipelining client waits for its turn, a flooding one is held off). */
#define PARK_MAX_BUFFERED 65536

static void park_on_read(h2o_socket_t *sock, const char *err)
{
	if (err || sock->input->size > PARK_MAX_BUFFERED)
		h2o_socket_read_stop(sock);
}

/*
 * h2o 2.2.5's HTTP/1 server stops reading a connection before it calls the handler and
 * starts again once the response is sent. For a response produced later - every proxied
 * one - its event loop turns that into epoll_ctl(DEL) and then epoll_ctl(ADD): two system
 * calls per request. Keeping the socket polled, with a callback that leaves whatever
 * arrives in the input buffer, makes both vanish: h2o's own read_start later swaps its
 * callback back in without an epoll change, and handles what was buffered (a pipelined
 * request) as it always does. Called before any I/O of the request, while it is certainly
 * alive; HTTP/2 streams share a connection that never stops reading, and are left alone.
 */
static void keep_client_polled(h2o_req_t *req)
{
	h2o_socket_t *sock;

	if (req->version >= 0x200 || !req->conn->callbacks->get_socket)
		return;
	sock = req->conn->callbacks->get_socket(req->conn);
	if (sock && !h2o_socket_is_reading(sock))
		h2o_socket_read_start(sock, park_on_read);
}

void gw_proxy_start(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		    const gw_proxy_drop_t *drop)
{
	gw_proxy_start_fill(req, rc, rt, drop, NULL);
}

void gw_proxy_start_fill(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
			 const gw_proxy_drop_t *drop, struct st_gw_cache_fill_t *fill)
{
	struct proxy *p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), on_dispose);
	enum gw_method m = gw_method_of(req->method.base, req->method.len);

	gw_handler_client(req, rc); /* the forwarding headers and hash-ip use it */
	keep_client_polled(req);
	memset(p, 0, sizeof(*p));
	p->super.proceed = do_proceed;
	p->super.stop = do_stop;
	p->req = req;
	p->rc = rc;
	p->x.rt = rt;
	p->x.tc = rc->tc;
	p->fill = fill;
	p->x.connect_timer.cb = on_connect_timeout;
	p->x.io_timer.cb = on_io_timeout;
	p->x.total_timer.cb = on_total_timeout;
	p->is_head = m == GW_METHOD_HEAD;
	p->idempotent = m == GW_METHOD_GET || m == GW_METHOD_HEAD || m == GW_METHOD_OPTIONS ||
			m == GW_METHOD_PUT || m == GW_METHOD_DELETE;
	h2o_buffer_init(&p->last, &h2o_socket_buffer_prototype);
	h2o_doublebuffer_init(&p->sending, &h2o_socket_buffer_prototype);
	p->drop = *drop;
	p->bufs[1] = req->entity.base && req->entity.len ? req->entity : h2o_iovec_init(NULL, 0);
	h2o_timeout_link(rc->tc->worker->loop, rt->total, &p->x.total_timer);
	p->x.hash = affinity(req, rc, rt->conf);
	if (gw_upxchg_pick_first(&p->x)) {
		/* every server is out: 502 at once, counted, the operator told */
		unlink_timers(p);
		if (p->fill) {
			gw_cache_fill_t *f = p->fill;

			p->fill = NULL;
			if (gw_cache_fill_failed(f, req, GW_PROBLEM_UPSTREAM_UNAVAILABLE))
				return;
		}
		gw_handler_problem(req, rc, GW_PROBLEM_UPSTREAM_UNAVAILABLE);
		return;
	}
	begin_attempt(p);
}

/* The hash strategies' value: the key's digest (its id) or the client's address. */
static uint64_t affinity(h2o_req_t *req, gw_reqctx_t *rc, const gw_upstream_t *u)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *b;
	size_t n;

	if (u->strategy != GW_UPS_HASH_KEY && u->strategy != GW_UPS_HASH_IP)
		return 0;
	if (u->strategy == GW_UPS_HASH_KEY && rc->key_id[0]) {
		b = (const unsigned char *)rc->key_id;
		n = strlen(rc->key_id);
	} else if (rc->have_ip) {
		b = (const unsigned char *)&rc->ip.client;
		n = sizeof(rc->ip.client);
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* One attempt on server p->x.si: a pooled connection or a new one. */
static void begin_attempt(struct proxy *p)
{
	const gw_upstream_t *u = p->x.rt->conf;

	gw_upxchg_begin(&p->x);
	/* the Host of a group of one never changes: built once */
	if (!p->bufs[0].base || u->nservers > 1)
		p->bufs[0] = build_head(p, &p->drop);
	if ((p->x.conn = gw_upstream_take(p->x.rt, p->x.si)))
		send_request(p);
	else
		connect_fresh(p);
}

void gw_proxy_keep_client_polled(h2o_req_t *req)
{
	keep_client_polled(req);
}

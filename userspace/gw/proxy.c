/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proxy.c - the upstream exchange of one request (see proxy.h).
 *
 * One struct per proxied request, allocated from the request's pool with a dispose hook:
 * whatever ends the request (response done, client gone, timeout), the hook cancels the
 * upstream client and unlinks the timers. The generator side follows h2o's double buffer
 * pattern: one buffer is being sent to the client while the socket reads into the other.
 */
#include <stdio.h>
#include <string.h>

#include "gw/handler.h"
#include "gw/metrics.h"
#include "gw/proxy.h"
#include "gw/worker.h"

/* Pseudonym this gateway adds to Via (RFC 9110 7.6.3). */
#define VIA_NAME	"floodgate"
/* Connection tokens remembered from a request's Connection header. */
#define CONN_TOKENS_MAX 8

struct proxy {
	h2o_generator_t super;
	h2o_req_t *req;
	gw_reqctx_t *rc;
	gw_upstream_rt_t *rt;
	h2o_http1client_t *client;
	h2o_iovec_t bufs[2];
	h2o_timeout_entry_t connect_timer;
	h2o_timeout_entry_t total_timer;
	h2o_buffer_t *last; /* body left over when the client finished */
	h2o_doublebuffer_t sending;
	uint64_t sent_at;
	unsigned is_head : 1;
	unsigned idempotent : 1;
	unsigned retried : 1;
	unsigned started : 1; /* response head passed to h2o */
	unsigned body_error : 1;
};

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr,
					  h2o_iovec_t **reqbufs, size_t *reqbufcnt,
					  int *method_is_head);

static void unlink_timers(struct proxy *p)
{
	if (h2o_timeout_is_linked(&p->connect_timer))
		h2o_timeout_unlink(&p->connect_timer);
	if (h2o_timeout_is_linked(&p->total_timer))
		h2o_timeout_unlink(&p->total_timer);
}

static void cancel_client(struct proxy *p)
{
	if (p->client) {
		h2o_http1client_cancel(p->client);
		p->client = NULL;
	}
}

static gw_worker_t *worker_of(struct proxy *p)
{
	return p->rc->tc->worker;
}

/* End the request with a problem before any response byte went out. */
static void fail(struct proxy *p, enum gw_upstream_error kind)
{
	static const enum gw_problem problems[GW_UPSTREAM_ERROR_MAX] = {
		[GW_UPSTREAM_REFUSED] = GW_PROBLEM_UPSTREAM_UNAVAILABLE,
		[GW_UPSTREAM_TIMEOUT] = GW_PROBLEM_UPSTREAM_TIMEOUT,
		[GW_UPSTREAM_ERROR] = GW_PROBLEM_UPSTREAM_ERROR,
	};

	unlink_timers(p);
	gw_metrics_upstream_error(worker_of(p)->metrics, p->rt->conf->id, kind);
	gw_handler_problem(p->req, p->rc, problems[kind]);
}

static void connect_upstream(struct proxy *p)
{
	h2o_timeout_link(worker_of(p)->loop, &p->rt->connect, &p->connect_timer);
	h2o_http1client_connect_with_pool(&p->client, p, &p->rt->client_ctx, &p->rt->pool,
					  on_connect);
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
	struct proxy *p = H2O_STRUCT_FROM_MEMBER(struct proxy, connect_timer, entry);

	cancel_client(p);
	fail(p, GW_UPSTREAM_TIMEOUT);
}

static void do_send(struct proxy *p)
{
	h2o_iovec_t vec;

	vec = h2o_doublebuffer_prepare(&p->sending, p->client ? &p->client->sock->input : &p->last,
				       p->req->preferred_chunk_size);
	if (!p->client && vec.len == p->sending.buf->size && p->last->size == 0) {
		h2o_send(p->req, &vec, vec.len ? 1 : 0,
			 p->body_error ? H2O_SEND_STATE_ERROR : H2O_SEND_STATE_FINAL);
		return;
	}
	if (vec.len)
		h2o_send(p->req, &vec, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void on_total_timeout(h2o_timeout_entry_t *entry)
{
	struct proxy *p = H2O_STRUCT_FROM_MEMBER(struct proxy, total_timer, entry);

	cancel_client(p);
	if (!p->started) {
		fail(p, GW_UPSTREAM_TIMEOUT);
		return;
	}
	/* Mid-body: the client learns it from a reset, not from a truncated success. */
	gw_metrics_upstream_error(worker_of(p)->metrics, p->rt->conf->id, GW_UPSTREAM_TIMEOUT);
	p->body_error = 1;
	if (p->sending.bytes_inflight == 0)
		do_send(p);
}

static void do_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct proxy *p = (struct proxy *)gen;

	h2o_doublebuffer_consume(&p->sending);
	do_send(p);
}

static void do_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct proxy *p = (struct proxy *)gen;

	cancel_client(p);
	unlink_timers(p);
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
	struct proxy *p = client->data;

	if (errstr) {
		/* The socket goes back to the pool (or away) after this returns: keep what it
		 * read but we have not sent yet. */
		h2o_buffer_t *t = p->last;

		p->last = client->sock->input;
		client->sock->input = t;
		p->client = NULL;
		unlink_timers(p);
		if (errstr != h2o_http1client_error_is_eos) {
			p->body_error = 1;
			gw_metrics_upstream_error(worker_of(p)->metrics, p->rt->conf->id,
						  GW_UPSTREAM_ERROR);
		}
	}
	if (p->sending.bytes_inflight == 0)
		do_send(p);
	return 0;
}

static bool is_connection_token(const h2o_iovec_t *name, const h2o_iovec_t *tokens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h2o_lcstris(tokens[i].base, tokens[i].len, name->base, name->len))
			return true;
	return false;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr,
				       int minor_version, int status, h2o_iovec_t msg,
				       h2o_header_t *headers, size_t num_headers, int rlen)
{
	struct proxy *p = client->data;
	h2o_req_t *req = p->req;
	gw_worker_t *w = worker_of(p);

	if (errstr && errstr != h2o_http1client_error_is_eos) {
		p->client = NULL;
		if (!strcmp(errstr, "I/O timeout")) {
			fail(p, GW_UPSTREAM_TIMEOUT);
		} else if (p->idempotent && !p->retried && !strncmp(errstr, "I/O error", 9)) {
			/* Most likely a pooled connection the upstream had closed. */
			p->retried = 1;
			if (h2o_timeout_is_linked(&p->connect_timer))
				h2o_timeout_unlink(&p->connect_timer);
			connect_upstream(p);
		} else {
			fail(p, GW_UPSTREAM_ERROR);
		}
		return NULL;
	}
	if (h2o_timeout_is_linked(&p->connect_timer))
		h2o_timeout_unlink(&p->connect_timer);
	p->rc->upstream_ns = (int64_t)(gw_now_ns() - p->sent_at);
	gw_metrics_upstream_latency(w->metrics, p->rt->conf->id, (uint64_t)p->rc->upstream_ns);

	req->res.status = status;
	req->res.reason = h2o_strdup(&req->pool, msg.base, msg.len).base;
	for (size_t i = 0; i < num_headers; i++) {
		h2o_iovec_t value;

		if (h2o_iovec_is_token(headers[i].name)) {
			const h2o_token_t *t =
				H2O_STRUCT_FROM_MEMBER(h2o_token_t, buf, headers[i].name);

			if (t->proxy_should_drop_for_res || t == H2O_TOKEN_SERVER)
				continue;
			if (t == H2O_TOKEN_CONTENT_LENGTH) {
				if (req->res.content_length != SIZE_MAX ||
				    (req->res.content_length =
					     h2o_strtosize(headers[i].value.base,
							   headers[i].value.len)) == SIZE_MAX) {
					p->client = NULL;
					req->res.content_length = SIZE_MAX;
					fail(p, GW_UPSTREAM_ERROR);
					return NULL;
				}
				continue;
			}
			value = h2o_strdup(&req->pool, headers[i].value.base, headers[i].value.len);
			h2o_add_header(&req->pool, &req->res.headers, t, headers[i].orig_name,
				       value.base, value.len);
		} else {
			h2o_iovec_t name =
				h2o_strdup(&req->pool, headers[i].name->base, headers[i].name->len);

			value = h2o_strdup(&req->pool, headers[i].value.base, headers[i].value.len);
			h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 0,
					      headers[i].orig_name, value.base, value.len);
		}
	}
	p->started = 1;
	h2o_start_response(req, &p->super);
	if (errstr == h2o_http1client_error_is_eos) {
		p->client = NULL;
		unlink_timers(p);
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
		return NULL;
	}
	return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr,
					  h2o_iovec_t **reqbufs, size_t *reqbufcnt,
					  int *method_is_head)
{
	struct proxy *p = client->data;

	if (h2o_timeout_is_linked(&p->connect_timer))
		h2o_timeout_unlink(&p->connect_timer);
	if (errstr) {
		p->client = NULL;
		fail(p, !strcmp(errstr, "connection timeout") ? GW_UPSTREAM_TIMEOUT
							      : GW_UPSTREAM_REFUSED);
		return NULL;
	}
	p->sent_at = gw_now_ns();
	*reqbufs = p->bufs;
	*reqbufcnt = p->bufs[1].base ? 2 : 1;
	*method_is_head = p->is_head;
	return on_head;
}

static void on_dispose(void *arg)
{
	struct proxy *p = arg;

	cancel_client(p);
	unlink_timers(p);
	h2o_buffer_dispose(&p->last);
	h2o_doublebuffer_dispose(&p->sending);
}

/* ---- the request head ---- */

struct buf {
	char *p;
	size_t len, cap;
	h2o_mem_pool_t *pool;
};

static void reserve(struct buf *b, size_t more)
{
	if (b->len + more > b->cap) {
		size_t cap = (b->len + more) * 2;
		char *n = h2o_mem_alloc_pool(b->pool, cap);

		memcpy(n, b->p, b->len);
		b->p = n;
		b->cap = cap;
	}
}

static void append(struct buf *b, const char *s, size_t len)
{
	reserve(b, len);
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

#define APPEND_LIT(b, s) append((b), (s), sizeof(s) - 1)

static void append_header(struct buf *b, const char *name, size_t nlen, const char *v, size_t vlen)
{
	reserve(b, nlen + vlen + 4);
	append(b, name, nlen);
	APPEND_LIT(b, ": ");
	append(b, v, vlen);
	APPEND_LIT(b, "\r\n");
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

static h2o_iovec_t build_head(struct proxy *p, const gw_proxy_drop_t *drop)
{
	h2o_req_t *req = p->req;
	gw_reqctx_t *rc = p->rc;
	const gw_upstream_t *u = p->rt->conf;
	struct buf b = { .pool = &req->pool };
	h2o_iovec_t conn_tokens[CONN_TOKENS_MAX];
	size_t nconn = connection_tokens(req, conn_tokens);
	char peer[FG_CIDR_STRLEN] = "";
	bool cookie_seen = false, xff_seen = false, via_seen = false;
	size_t est = req->method.len + rc->uri.len + 256;

	for (size_t i = 0; i < req->headers.size; i++)
		est += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
	b.cap = est;
	b.p = h2o_mem_alloc_pool(&req->pool, b.cap);

	append(&b, req->method.base, req->method.len);
	APPEND_LIT(&b, " ");
	append(&b, rc->uri.base, rc->uri.len);
	APPEND_LIT(&b, " HTTP/1.1\r\nhost: ");
	if (u->preserve_host)
		append(&b, req->authority.base, req->authority.len);
	else
		append(&b, u->host, strlen(u->host));
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
		fg_cidr_format(&rc->ip.peer, peer, sizeof(peer));

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
				if (peer[0]) {
					APPEND_LIT(&b, ", ");
					append(&b, peer, strlen(peer));
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
	if (!xff_seen && peer[0])
		append_header(&b, "x-forwarded-for", 15, peer, strlen(peer));
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

void gw_proxy_start(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		    const gw_proxy_drop_t *drop)
{
	struct proxy *p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), on_dispose);
	enum gw_method m = gw_method_of(req->method.base, req->method.len);

	memset(p, 0, sizeof(*p));
	p->super.proceed = do_proceed;
	p->super.stop = do_stop;
	p->req = req;
	p->rc = rc;
	p->rt = rt;
	p->connect_timer.cb = on_connect_timeout;
	p->total_timer.cb = on_total_timeout;
	p->is_head = m == GW_METHOD_HEAD;
	p->idempotent = m == GW_METHOD_GET || m == GW_METHOD_HEAD || m == GW_METHOD_OPTIONS ||
			m == GW_METHOD_PUT || m == GW_METHOD_DELETE;
	h2o_buffer_init(&p->last, &h2o_socket_buffer_prototype);
	h2o_doublebuffer_init(&p->sending, &h2o_socket_buffer_prototype);
	p->bufs[0] = build_head(p, drop);
	p->bufs[1] = req->entity.base && req->entity.len ? req->entity : h2o_iovec_init(NULL, 0);
	h2o_timeout_link(rc->tc->worker->loop, &rt->total, &p->total_timer);
	connect_upstream(p);
}

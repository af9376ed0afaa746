/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bgfetch.c - an upstream exchange with no client request attached (see bgfetch.h).
 *
 * The same steps as proxy.c's exchange, without a client to pace it: the response head is
 * parsed into the fetch's own memory pool, each body read is handed to the callback and
 * consumed at once, and the connection goes back to the pool once the body is complete.
 * Failures before the response head are retried like a proxied GET's: once on a new
 * connection when a pooled one turns out dead, then on another server of the group.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "gw/bgfetch.h"
#include "gw/metrics.h"
#include "gw/upgroup.h"
#include "gw/upstream.h"

/* A response head larger than this is refused (as proxy.c does). */
#define HEAD_MAX (64u << 10)

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };

struct st_gw_bgfetch_t {
	gw_tconf_t *tc; /* referenced */
	gw_upstream_rt_t *rt;
	const gw_bgfetch_cbs_t *cb;
	void *data;
	h2o_mem_pool_t pool;
	char *head; /* the request head as given (server 0's Host) */
	size_t head_len, host_off, host_len;
	h2o_iovec_t sending; /* the head for this attempt's server */
	gw_upconn_t *conn;
	h2o_timeout_entry_t connect_timer, io_timer, total_timer;
	h2o_headers_t res;
	gw_chunked_t chunked;
	uint64_t left, sent_at, hash, tried;
	size_t si;
	unsigned attempts;
	enum body_mode body;
	unsigned started : 1, retried : 1, got_bytes : 1, keepalive : 1;
	unsigned probe : 1, active : 1, judged : 1;
};

static void on_read(h2o_socket_t *sock, const char *err);
static void begin_attempt(gw_bgfetch_t *b);

static gw_worker_t *worker_of(gw_bgfetch_t *b)
{
	return b->tc->worker;
}

static void unlink_timer(h2o_timeout_entry_t *t)
{
	if (h2o_timeout_is_linked(t))
		h2o_timeout_unlink(t);
}

static void unlink_timers(gw_bgfetch_t *b)
{
	unlink_timer(&b->connect_timer);
	unlink_timer(&b->io_timer);
	unlink_timer(&b->total_timer);
}

static void judge(gw_bgfetch_t *b, bool ok, uint64_t latency_ns)
{
	if (b->judged)
		return;
	b->judged = 1;
	gw_upgroup_result(b->rt->conf, b->si, ok, b->probe, latency_ns, gw_now_ns());
}

static void attempt_over(gw_bgfetch_t *b)
{
	if (b->active) {
		b->active = 0;
		gw_upgroup_active(b->rt->conf, b->si, -1);
	}
}

static void release_conn(gw_bgfetch_t *b, bool reusable)
{
	attempt_over(b);
	if (b->conn) {
		gw_upstream_release(b->conn, reusable);
		b->conn = NULL;
	}
}

/* Everything the fetch holds goes; the struct itself too. */
static void destroy(gw_bgfetch_t *b)
{
	release_conn(b, false);
	unlink_timers(b);
	if (b->probe && !b->judged)
		judge(b, false, 0); /* an abandoned probe: the breaker opens again */
	gw_worker_release(b->tc);
	h2o_mem_clear_pool(&b->pool);
	free(b->head);
	free(b);
}

static void finish(gw_bgfetch_t *b, enum gw_bgfetch_result r)
{
	const gw_bgfetch_cbs_t *cb = b->cb;
	void *data = b->data;

	destroy(b);
	cb->end(data, r);
}

void gw_bgfetch_cancel(gw_bgfetch_t *b)
{
	if (b)
		destroy(b);
}

/* No response head; another attempt when one is allowed, else the end. */
static void fail(gw_bgfetch_t *b, enum gw_upstream_error kind)
{
	const gw_upstream_t *u = b->rt->conf;

	release_conn(b, false);
	unlink_timer(&b->connect_timer);
	unlink_timer(&b->io_timer);
	gw_metrics_upstream_error(worker_of(b)->metrics, u->id, kind);
	judge(b, false, 0);
	if (h2o_timeout_is_linked(&b->total_timer) && b->attempts <= u->retries &&
	    b->tried != (u->nservers >= 64 ? ~0ULL : (1ULL << u->nservers) - 1)) {
		bool probe;
		int next = gw_upgroup_pick(u, &b->rt->sel, b->tried, b->hash, gw_now_ns(), &probe);

		if (next >= 0 && !gw_upgroup_may_retry(&b->rt->sel)) {
			if (probe)
				gw_upgroup_result(u, (size_t)next, false, true, 0, gw_now_ns());
			next = -1;
		}
		if (next >= 0) {
			b->si = (size_t)next;
			b->probe = probe;
			begin_attempt(b);
			return;
		}
	}
	finish(b, GW_BGFETCH_FAILED);
}

/* The response started and broke: nothing to retry. */
static void fail_body(gw_bgfetch_t *b, enum gw_upstream_error kind)
{
	gw_metrics_upstream_error(worker_of(b)->metrics, b->rt->conf->id, kind);
	finish(b, GW_BGFETCH_FAILED);
}

static void on_write(h2o_socket_t *sock, const char *err);

static void send_request(gw_bgfetch_t *b)
{
	h2o_socket_t *sock = b->conn->sock;

	sock->data = b;
	b->sent_at = gw_now_ns();
	b->got_bytes = 0;
	h2o_socket_write(sock, &b->sending, 1, on_write);
	h2o_socket_read_start(sock, on_read);
	h2o_timeout_link(worker_of(b)->loop, &b->rt->first_byte, &b->io_timer);
}

static void on_connected(gw_upconn_t *conn, const char *err, void *data)
{
	gw_bgfetch_t *b = data;

	unlink_timer(&b->connect_timer);
	if (err) {
		b->conn = NULL; /* already closed by the pool */
		fail(b, GW_UPSTREAM_REFUSED);
		return;
	}
	send_request(b);
}

static void connect_fresh(gw_bgfetch_t *b)
{
	if (!(b->conn = gw_upstream_connect(b->rt, b->si, on_connected, b))) {
		fail(b, GW_UPSTREAM_REFUSED);
		return;
	}
	h2o_timeout_link(worker_of(b)->loop, &b->rt->connect, &b->connect_timer);
}

static void head_failed(gw_bgfetch_t *b)
{
	/* a pooled connection the upstream had closed: once more on a new one */
	if (b->conn->reused && !b->got_bytes && !b->retried) {
		b->retried = 1;
		release_conn(b, false);
		unlink_timer(&b->io_timer);
		b->active = 1;
		gw_upgroup_active(b->rt->conf, b->si, 1);
		connect_fresh(b);
		return;
	}
	fail(b, GW_UPSTREAM_ERROR);
}

static void on_write(h2o_socket_t *sock, const char *err)
{
	gw_bgfetch_t *b = sock->data;

	if (err && !b->started)
		head_failed(b);
	else if (err)
		fail_body(b, GW_UPSTREAM_ERROR);
}

static void on_timeout(gw_bgfetch_t *b)
{
	if (!b->started)
		fail(b, GW_UPSTREAM_TIMEOUT);
	else
		fail_body(b, GW_UPSTREAM_TIMEOUT);
}

static void on_connect_timeout(h2o_timeout_entry_t *t)
{
	gw_bgfetch_t *b = H2O_STRUCT_FROM_MEMBER(gw_bgfetch_t, connect_timer, t);

	/* no connection: the first one was refused at once (see gw_bgfetch_start()) */
	fail(b, b->conn ? GW_UPSTREAM_TIMEOUT : GW_UPSTREAM_REFUSED);
}

static void on_io_timeout(h2o_timeout_entry_t *t)
{
	on_timeout(H2O_STRUCT_FROM_MEMBER(gw_bgfetch_t, io_timer, t));
}

static void on_total_timeout(h2o_timeout_entry_t *t)
{
	on_timeout(H2O_STRUCT_FROM_MEMBER(gw_bgfetch_t, total_timer, t));
}

/* The body is complete: the connection goes back to the pool. */
static void done(gw_bgfetch_t *b)
{
	unlink_timers(b);
	if (b->conn && b->conn->sock->input->size)
		b->keepalive = 0;
	judge(b, true, 0);
	release_conn(b, b->keepalive);
	finish(b, GW_BGFETCH_OK);
}

/* Whether a comma-separated header value names token tok. */
static bool has_token(const char *v, size_t len, const char *tok, size_t tl)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tl && !strncasecmp(v + start, tok, tl))
			return true;
	}
	return false;
}

/* The head's fields into b->res (the proxy's rules: framing and hop-by-hop fields out);
 * the body mode. -1: not acceptable. *cl: the Content-Length or SIZE_MAX. */
static int take_head(gw_bgfetch_t *b, const gw_upstream_head_t *h, size_t *cl)
{
	const char *conn_v = NULL, *te = NULL;
	size_t conn_len = 0, te_len = 0;

	*cl = SIZE_MAX;
	for (size_t i = 0; i < h->nheaders; i++)
		if (h->headers[i].name_len == 10 &&
		    !strncasecmp(h->headers[i].name, "connection", 10)) {
			conn_v = h->headers[i].value;
			conn_len = h->headers[i].value_len;
		}
	for (size_t i = 0; i < h->nheaders; i++) {
		const gw_upstream_header_t *f = &h->headers[i];
		h2o_iovec_t name = h2o_strdup(&b->pool, f->name, f->name_len);
		h2o_iovec_t value;
		const h2o_token_t *t;

		h2o_strtolower(name.base, name.len);
		t = h2o_lookup_token(name.base, name.len);
		if (t == H2O_TOKEN_CONTENT_LENGTH) {
			size_t v = h2o_strtosize(f->value, f->value_len);

			if (v == SIZE_MAX || (*cl != SIZE_MAX && *cl != v))
				return -1;
			*cl = v;
			continue;
		}
		if (t == H2O_TOKEN_TRANSFER_ENCODING) {
			if (te)
				return -1;
			te = f->value;
			te_len = f->value_len;
			continue;
		}
		if (t && (t->proxy_should_drop_for_res || t == H2O_TOKEN_SERVER))
			continue;
		if (conn_v && has_token(conn_v, conn_len, name.base, name.len))
			continue;
		value = h2o_strdup(&b->pool, f->value, f->value_len);
		if (t)
			h2o_add_header(&b->pool, &b->res, t,
				       h2o_strdup(&b->pool, f->name, f->name_len).base, value.base,
				       value.len);
		else
			h2o_add_header_by_str(&b->pool, &b->res, name.base, name.len, 0,
					      h2o_strdup(&b->pool, f->name, f->name_len).base,
					      value.base, value.len);
	}
	b->keepalive = h->minor >= 1 ? !(conn_v && has_token(conn_v, conn_len, "close", 5))
				     : conn_v && has_token(conn_v, conn_len, "keep-alive", 10);
	if (h->status == 204 || h->status == 304) {
		b->body = BODY_NONE;
	} else if (te) {
		if (!(te_len == 7 && !strncasecmp(te, "chunked", 7)))
			return -1;
		b->body = BODY_CHUNKED;
		*cl = SIZE_MAX;
	} else if (*cl != SIZE_MAX) {
		b->body = *cl ? BODY_LENGTH : BODY_NONE;
		b->left = *cl;
	} else {
		b->body = BODY_CLOSE;
		b->keepalive = 0;
	}
	return 0;
}

/* Whatever the connection's input holds is body: to the callback, then consumed. */
static void on_body_bytes(gw_bgfetch_t *b)
{
	h2o_buffer_t **in = &b->conn->sock->input;
	size_t len = (*in)->size, extra = 0;
	bool complete = false;

	switch (b->body) {
	case BODY_LENGTH:
		if (len > b->left) {
			len = (size_t)b->left; /* more than announced: never reused */
			b->keepalive = 0;
		}
		b->left -= len;
		complete = !b->left;
		break;
	case BODY_CHUNKED: {
		int r = gw_chunked_decode(&b->chunked, (*in)->bytes, &len, &extra);

		if (r < 0) {
			fail_body(b, GW_UPSTREAM_ERROR);
			return;
		}
		if (r == 1) {
			complete = true;
			if (extra)
				b->keepalive = 0;
		}
		break;
	}
	default:
		break;
	}
	if (len && !b->cb->body(b->data, (*in)->bytes, len)) {
		finish(b, GW_BGFETCH_ABORTED);
		return;
	}
	h2o_buffer_consume(in, (*in)->size);
	if (complete)
		done(b);
}

static void on_head_bytes(gw_bgfetch_t *b)
{
	h2o_socket_t *sock = b->conn->sock;
	gw_upstream_head_t *h = h2o_mem_alloc_pool(&b->pool, sizeof(*h));
	ssize_t n;
	size_t cl;

	for (;;) {
		n = gw_upstream_parse_head(sock->input->bytes, sock->input->size, h);
		if (n < 0 || (!n && sock->input->size > HEAD_MAX)) {
			fail(b, GW_UPSTREAM_ERROR);
			return;
		}
		if (!n)
			return;
		if (h->status < 200 && h->status != 101) {
			h2o_buffer_consume(&sock->input, (size_t)n);
			continue;
		}
		break;
	}
	if (h->status == 101 || take_head(b, h, &cl)) {
		fail(b, GW_UPSTREAM_ERROR);
		return;
	}
	h2o_buffer_consume(&sock->input, (size_t)n);
	b->started = 1;
	{
		uint64_t lat = gw_now_ns() - b->sent_at;

		judge(b, h->status < 500, lat);
		gw_metrics_upstream_latency(worker_of(b)->metrics, b->rt->conf->id, lat);
	}
	if (!b->cb->head(b->data, h->status, h2o_strdup(&b->pool, h->reason, h->reason_len).base,
			 &b->res, cl)) {
		finish(b, GW_BGFETCH_ABORTED);
		return;
	}
	if (b->body == BODY_NONE) {
		done(b);
		return;
	}
	on_body_bytes(b);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
	gw_bgfetch_t *b = sock->data;

	if (err) {
		if (!b->started)
			head_failed(b);
		else if (b->body == BODY_CLOSE)
			done(b); /* the end of a body delimited by the connection's end */
		else
			fail_body(b, GW_UPSTREAM_ERROR);
		return;
	}
	b->got_bytes = 1;
	unlink_timer(&b->io_timer);
	h2o_timeout_link(worker_of(b)->loop, &b->rt->first_byte, &b->io_timer);
	if (!b->started)
		on_head_bytes(b);
	else
		on_body_bytes(b);
}

/* The head with server si's Host (unless the group preserves the client's). */
static h2o_iovec_t head_for(gw_bgfetch_t *b, size_t si)
{
	const gw_upstream_t *u = b->rt->conf;
	const char *host = u->servers[si].host;
	size_t hl = strlen(host), n;
	char *p;

	if (u->preserve_host || !b->host_len || si == 0)
		return h2o_iovec_init(b->head, b->head_len);
	n = b->head_len - b->host_len + hl;
	p = h2o_mem_alloc_pool(&b->pool, n);
	memcpy(p, b->head, b->host_off);
	memcpy(p + b->host_off, host, hl);
	memcpy(p + b->host_off + hl, b->head + b->host_off + b->host_len,
	       b->head_len - b->host_off - b->host_len);
	return h2o_iovec_init(p, n);
}

static void begin_attempt(gw_bgfetch_t *b)
{
	const gw_upstream_t *u = b->rt->conf;

	b->attempts++;
	b->tried |= 1ULL << b->si;
	b->judged = 0;
	b->active = 1;
	b->started = 0;
	gw_upgroup_active(u, b->si, 1);
	__atomic_fetch_add(&u->servers[b->si].st->requests, 1, __ATOMIC_RELAXED);
	b->sending = head_for(b, b->si);
	if ((b->conn = gw_upstream_take(b->rt, b->si)))
		send_request(b);
	else
		connect_fresh(b);
}

gw_bgfetch_t *gw_bgfetch_start(gw_tconf_t *tc, gw_upstream_rt_t *rt, const char *head, size_t len,
			       uint64_t hash, const gw_bgfetch_cbs_t *cb, void *data)
{
	gw_bgfetch_t *b = calloc(1, sizeof(*b));
	const char *h, *eol;
	bool probe;
	int si;

	if (!b || !(b->head = malloc(len))) {
		free(b);
		return NULL;
	}
	memcpy(b->head, head, len);
	b->head_len = len;
	/* the Host line is the first field: "<request line>\r\nhost: <host>\r\n" */
	if ((h = memmem(b->head, len, "\r\nhost: ", 8)) &&
	    (eol = memmem(h + 8, len - (size_t)(h + 8 - b->head), "\r\n", 2))) {
		b->host_off = (size_t)(h + 8 - b->head);
		b->host_len = (size_t)(eol - (h + 8));
	}
	h2o_mem_init_pool(&b->pool);
	b->tc = tc;
	tc->refs++;
	b->rt = rt;
	b->cb = cb;
	b->data = data;
	b->hash = hash;
	b->connect_timer.cb = on_connect_timeout;
	b->io_timer.cb = on_io_timeout;
	b->total_timer.cb = on_total_timeout;
	gw_upgroup_request(rt->conf, &rt->sel);
	si = gw_upgroup_pick(rt->conf, &rt->sel, 0, hash, gw_now_ns(), &probe);
	if (si < 0) {
		gw_upgroup_all_down(tc->config, rt->conf);
		gw_metrics_upstream_error(worker_of(b)->metrics, rt->conf->id, GW_UPSTREAM_REFUSED);
		destroy(b);
		return NULL;
	}
	b->si = (size_t)si;
	b->probe = probe;
	h2o_timeout_link(worker_of(b)->loop, &rt->total, &b->total_timer);
	/* The first attempt by hand: a connect refused at once must not end the fetch (and
	 * call back) from inside this function; it fails on the loop's next turn instead. */
	b->attempts++;
	b->tried |= 1ULL << b->si;
	b->active = 1;
	gw_upgroup_active(rt->conf, b->si, 1);
	__atomic_fetch_add(&rt->conf->servers[b->si].st->requests, 1, __ATOMIC_RELAXED);
	b->sending = head_for(b, b->si);
	if ((b->conn = gw_upstream_take(rt, b->si))) {
		send_request(b);
	} else if ((b->conn = gw_upstream_connect(rt, b->si, on_connected, b))) {
		h2o_timeout_link(worker_of(b)->loop, &rt->connect, &b->connect_timer);
	} else {
		/* refused at once: report it from the loop, not from inside start */
		h2o_timeout_link(worker_of(b)->loop, &worker_of(b)->ctx.zero_timeout,
				 &b->connect_timer);
	}
	return b;
}

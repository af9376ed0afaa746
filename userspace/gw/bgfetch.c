/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bgfetch.c - an upstream exchange with no client request attached (see bgfetch.h).
 *
 * The same steps as proxy.c's exchange, without a client to pace it: the response head is
 * parsed into the fetch's own memory pool, each body read is handed to the callback and
 * consumed at once, and the connection goes back to the pool once the body is complete.
 * Failures before the response head are retried like a proxied GET's: once on a new
 * connection when a pooled one turns out dead, then on another server of the group. The
 * steps both share are upxchg.c's; what is left here is where the response goes.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "gw/bgfetch.h"
#include "gw/upxchg.h"

struct st_gw_bgfetch_t {
	gw_upxchg_t x; /* x.tc referenced */
	const gw_bgfetch_cbs_t *cb;
	void *data;
	h2o_mem_pool_t pool;
	char *head; /* the request head as given (server 0's Host) */
	size_t head_len, host_off, host_len;
	h2o_iovec_t sending; /* the head for this attempt's server */
	h2o_headers_t res;
};

static void on_read(h2o_socket_t *sock, const char *err);
static void on_write(h2o_socket_t *sock, const char *err);
static void begin_attempt(gw_bgfetch_t *b);

/* Everything the fetch holds goes; the struct itself too. */
static void destroy(gw_bgfetch_t *b)
{
	gw_upxchg_dispose(&b->x);
	gw_worker_release(b->x.tc);
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
	gw_upxchg_failed(&b->x, kind);
	if (gw_upxchg_pick_retry(&b->x)) {
		begin_attempt(b);
		return;
	}
	finish(b, GW_BGFETCH_FAILED);
}

/* The response started and broke: nothing to retry. */
static void fail_body(gw_bgfetch_t *b, enum gw_upstream_error kind)
{
	gw_metrics_upstream_error(b->x.tc->worker->metrics, b->x.rt->conf->id, kind);
	finish(b, GW_BGFETCH_FAILED);
}

static void send_request(gw_bgfetch_t *b)
{
	gw_upxchg_send(&b->x, b, &b->sending, 1, on_write, on_read);
}

static void on_connected(gw_upconn_t *conn, const char *err, void *data)
{
	gw_bgfetch_t *b = data;

	gw_ptimer_unlink(&b->x.connect_timer);
	if (err) {
		b->x.conn = NULL; /* already closed by the pool */
		fail(b, GW_UPSTREAM_REFUSED);
		return;
	}
	send_request(b);
}

static void connect_fresh(gw_bgfetch_t *b)
{
	if (gw_upxchg_connect(&b->x, on_connected, b))
		fail(b, GW_UPSTREAM_REFUSED);
}

static void head_failed(gw_bgfetch_t *b)
{
	/* a pooled connection the upstream had closed: once more on a new one */
	if (gw_upxchg_may_redial(&b->x)) {
		gw_upxchg_redial(&b->x);
		connect_fresh(b);
		return;
	}
	fail(b, GW_UPSTREAM_ERROR);
}

static void on_write(h2o_socket_t *sock, const char *err)
{
	gw_bgfetch_t *b = sock->data;

	if (err && !b->x.started)
		head_failed(b);
	else if (err)
		fail_body(b, GW_UPSTREAM_ERROR);
}

static void on_timeout(gw_bgfetch_t *b)
{
	if (!b->x.started)
		fail(b, GW_UPSTREAM_TIMEOUT);
	else
		fail_body(b, GW_UPSTREAM_TIMEOUT);
}

static void on_connect_timeout(gw_ptimer_t *t)
{
	gw_bgfetch_t *b = H2O_STRUCT_FROM_MEMBER(gw_bgfetch_t, x.connect_timer, t);

	/* no connection: the first one was refused at once (see gw_bgfetch_start()) */
	fail(b, b->x.conn ? GW_UPSTREAM_TIMEOUT : GW_UPSTREAM_REFUSED);
}

static void on_io_timeout(h2o_timeout_entry_t *t)
{
	on_timeout(H2O_STRUCT_FROM_MEMBER(gw_bgfetch_t, x.io_timer, t));
}

static void on_total_timeout(h2o_timeout_entry_t *t)
{
	on_timeout(H2O_STRUCT_FROM_MEMBER(gw_bgfetch_t, x.total_timer, t));
}

/* The body is complete: the connection goes back to the pool. */
static void done(gw_bgfetch_t *b)
{
	gw_upxchg_unlink_timers(&b->x);
	if (b->x.conn && b->x.conn->sock->input->size)
		b->x.keepalive = 0;
	gw_upxchg_judge(&b->x, true, 0);
	gw_upxchg_release(&b->x, b->x.keepalive);
	finish(b, GW_BGFETCH_OK);
}

/* Whatever the connection's input holds is body: to the callback, then consumed. */
static void on_body_bytes(gw_bgfetch_t *b)
{
	h2o_buffer_t **in = &b->x.conn->sock->input;
	size_t len = (*in)->size;
	int r = gw_upxchg_body(&b->x, (*in)->bytes, &len);

	if (r < 0) {
		fail_body(b, GW_UPSTREAM_ERROR);
		return;
	}
	if (len && !b->cb->body(b->data, (*in)->bytes, len)) {
		finish(b, GW_BGFETCH_ABORTED);
		return;
	}
	h2o_buffer_consume(in, (*in)->size);
	if (r == 1)
		done(b);
}

static void on_head_bytes(gw_bgfetch_t *b)
{
	h2o_socket_t *sock = b->x.conn->sock;
	gw_upstream_head_t *h = h2o_mem_alloc_pool(&b->pool, sizeof(*h));
	ssize_t n = gw_upxchg_read_head(&sock->input, h);
	size_t cl;

	if (!n)
		return;
	if (n < 0 || gw_upxchg_take_head(&b->x, h, false, &b->pool, &b->res, &cl)) {
		fail(b, GW_UPSTREAM_ERROR);
		return;
	}
	h2o_buffer_consume(&sock->input, (size_t)n);
	b->x.started = 1;
	gw_upxchg_head_judged(&b->x, h->status);
	if (!b->cb->head(b->data, h->status, h2o_strdup(&b->pool, h->reason, h->reason_len).base,
			 &b->res, cl)) {
		finish(b, GW_BGFETCH_ABORTED);
		return;
	}
	if (b->x.body == GW_UPXCHG_BODY_NONE) {
		done(b);
		return;
	}
	on_body_bytes(b);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
	gw_bgfetch_t *b = sock->data;

	if (err) {
		if (!b->x.started)
			head_failed(b);
		else if (b->x.body == GW_UPXCHG_BODY_CLOSE)
			done(b); /* the end of a body delimited by the connection's end */
		else
			fail_body(b, GW_UPSTREAM_ERROR);
		return;
	}
	gw_upxchg_got_bytes(&b->x);
	if (!b->x.started)
		on_head_bytes(b);
	else
		on_body_bytes(b);
}

/* The head with server si's Host (unless the group preserves the client's). */
static h2o_iovec_t head_for(gw_bgfetch_t *b, size_t si)
{
	const gw_upstream_t *u = b->x.rt->conf;
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
	gw_upxchg_begin(&b->x);
	b->sending = head_for(b, b->x.si);
	if ((b->x.conn = gw_upstream_take(b->x.rt, b->x.si)))
		send_request(b);
	else
		connect_fresh(b);
}

gw_bgfetch_t *gw_bgfetch_start(gw_tconf_t *tc, gw_upstream_rt_t *rt, const char *head, size_t len,
			       uint64_t hash, const gw_bgfetch_cbs_t *cb, void *data)
{
	gw_bgfetch_t *b = calloc(1, sizeof(*b));
	const char *h, *eol;

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
	b->x.tc = tc;
	tc->refs++;
	b->x.rt = rt;
	b->cb = cb;
	b->data = data;
	b->x.hash = hash;
	b->x.connect_timer.cb = on_connect_timeout;
	b->x.io_timer.cb = on_io_timeout;
	b->x.total_timer.cb = on_total_timeout;
	if (gw_upxchg_pick_first(&b->x)) {
		destroy(b);
		return NULL;
	}
	h2o_timeout_link(tc->worker->loop, rt->total, &b->x.total_timer);
	/* The first attempt by hand: a connect refused at once must not end the fetch (and
	 * call back) from inside this function; it fails on the loop's next turn instead. */
	gw_upxchg_begin(&b->x);
	b->sending = head_for(b, b->x.si);
	if ((b->x.conn = gw_upstream_take(rt, b->x.si))) {
		send_request(b);
	} else if (gw_upxchg_connect(&b->x, on_connected, b)) {
		/* refused at once: report it from the loop, not from inside start */
		gw_ptimer_link(&tc->worker->ptimers, &b->x.connect_timer, gw_now_ns(), 0);
	}
	return b;
}

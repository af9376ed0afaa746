/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upxchg.c - the client-independent half of an upstream exchange (see upxchg.h).
 */
#include <string.h>
#include <strings.h>

#include "gw/metrics.h"
#include "gw/upxchg.h"

int gw_upxchg_pick_first(gw_upxchg_t *x)
{
	const gw_upstream_t *u = x->rt->conf;
	bool probe;
	int si;

	gw_upgroup_request(u, &x->rt->sel);
	si = gw_upgroup_pick(u, &x->rt->sel, 0, x->hash, gw_now_ns(), &probe);
	if (si < 0) {
		gw_upgroup_all_down(x->tc->config, u);
		gw_metrics_upstream_error(x->tc->worker->metrics, u->id, GW_UPSTREAM_REFUSED);
		return -1;
	}
	x->si = (size_t)si;
	x->probe = probe;
	return 0;
}

void gw_upxchg_begin(gw_upxchg_t *x)
{
	const gw_upstream_t *u = x->rt->conf;

	x->attempts++;
	x->tried |= 1ULL << x->si;
	x->judged = 0;
	x->active = 1;
	x->started = 0;
	gw_upgroup_active(u, x->si, 1);
	__atomic_fetch_add(&u->servers[x->si].st->requests, 1, __ATOMIC_RELAXED);
}

void gw_upxchg_send(gw_upxchg_t *x, void *owner, h2o_iovec_t *bufs, size_t n,
		    h2o_socket_cb on_write, h2o_socket_cb on_read)
{
	h2o_socket_t *sock = x->conn->sock;

	sock->data = owner;
	x->sent_at = gw_now_ns();
	x->got_bytes = 0;
	h2o_socket_write(sock, bufs, n, on_write);
	h2o_socket_read_start(sock, on_read);
	h2o_timeout_link(x->tc->worker->loop, x->rt->first_byte, &x->io_timer);
}

int gw_upxchg_connect(gw_upxchg_t *x, gw_upconn_cb on_connected, void *owner)
{
	if (!(x->conn = gw_upstream_connect(x->rt, x->si, on_connected, owner)))
		return -1;
	gw_ptimer_link(&x->tc->worker->ptimers, &x->connect_timer, gw_now_ns(),
		       x->rt->conf->connect_timeout_ms * 1000000ULL);
	return 0;
}

void gw_upxchg_redial(gw_upxchg_t *x)
{
	x->retried = 1;
	/* The attempt goes on, on the same server: it stays counted in progress there
	 * (least-connections); only the dead connection goes. */
	if (x->conn) {
		gw_upstream_release(x->conn, false);
		x->conn = NULL;
	}
	gw_upxchg_unlink_timer(&x->io_timer);
}

void gw_upxchg_failed(gw_upxchg_t *x, enum gw_upstream_error kind)
{
	gw_upxchg_release(x, false);
	gw_ptimer_unlink(&x->connect_timer);
	gw_upxchg_unlink_timer(&x->io_timer);
	gw_metrics_upstream_error(x->tc->worker->metrics, x->rt->conf->id, kind);
	gw_upxchg_judge(x, false, 0);
}

bool gw_upxchg_pick_retry(gw_upxchg_t *x)
{
	const gw_upstream_t *u = x->rt->conf;
	bool probe;
	int next;

	if (!h2o_timeout_is_linked(&x->total_timer) || x->attempts > u->retries ||
	    x->tried == (u->nservers >= 64 ? ~0ULL : (1ULL << u->nservers) - 1))
		return false;
	next = gw_upgroup_pick(u, &x->rt->sel, x->tried, x->hash, gw_now_ns(), &probe);
	if (next >= 0 && !gw_upgroup_may_retry(&x->rt->sel)) {
		/* no budget: give the slot back */
		if (probe)
			gw_upgroup_result(u, (size_t)next, false, true, 0, gw_now_ns());
		next = -1;
	}
	if (next < 0)
		return false;
	x->si = (size_t)next;
	x->probe = probe;
	return true;
}

ssize_t gw_upxchg_read_head(h2o_buffer_t **in, gw_upstream_head_t *h)
{
	ssize_t n;

	for (;;) {
		n = gw_upstream_parse_head((*in)->bytes, (*in)->size, h);
		if (n < 0)
			return -1;
		if (!n)
			return (*in)->size > GW_UPXCHG_HEAD_MAX ? -1 : 0;
		/* 1xx before the final answer: 100 Continue, 103 Early Hints - not passed on */
		if (h->status < 200 && h->status != 101) {
			h2o_buffer_consume(in, (size_t)n);
			continue;
		}
		/* 101: no protocol switch through this proxy */
		return h->status == 101 ? -1 : n;
	}
}

bool gw_upxchg_has_token(const char *v, size_t len, const char *tok, size_t tl)
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

int gw_upxchg_take_head(gw_upxchg_t *x, const gw_upstream_head_t *h, bool is_head,
			h2o_mem_pool_t *pool, h2o_headers_t *out, size_t *cl)
{
	const char *conn_v = NULL, *te = NULL;
	size_t conn_len = 0, te_len = 0;

	*cl = SIZE_MAX;
	for (size_t i = 0; i < h->nheaders; i++) {
		const gw_upstream_header_t *f = &h->headers[i];

		if (f->name_len == 10 && !strncasecmp(f->name, "connection", 10)) {
			conn_v = f->value;
			conn_len = f->value_len;
		}
	}
	/* The fields outlive the upstream's buffer (h2o sends the head later): one block holds
	 * each one's lowercased name, name as received and value, instead of three copies
	 * (and h2o's fourth, of the name) per field. */
	size_t room = 1;
	char *o;

	for (size_t i = 0; i < h->nheaders; i++)
		room += 2 * h->headers[i].name_len + h->headers[i].value_len;
	o = h2o_mem_alloc_pool(pool, room);
	for (size_t i = 0; i < h->nheaders; i++) {
		const gw_upstream_header_t *f = &h->headers[i];
		h2o_iovec_t name = h2o_iovec_init(o, f->name_len);
		const h2o_token_t *t;
		h2o_header_t *slot;

		for (size_t k = 0; k < f->name_len; k++)
			o[k] = h2o_tolower(f->name[k]);
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
		if (conn_v && gw_upxchg_has_token(conn_v, conn_len, name.base, name.len))
			continue; /* named hop-by-hop by the upstream */
		o += f->name_len;
		h2o_vector_reserve(pool, out, out->size + 1);
		slot = &out->entries[out->size++];
		if (t) {
			slot->name = (h2o_iovec_t *)&t->buf;
		} else {
			slot->name = h2o_mem_alloc_pool(pool, sizeof(*slot->name));
			*slot->name = name;
		}
		slot->orig_name = memcpy(o, f->name, f->name_len);
		o += f->name_len;
		slot->value = h2o_iovec_init(memcpy(o, f->value, f->value_len), f->value_len);
		o += f->value_len;
	}
	x->keepalive = h->minor >= 1
			       ? !(conn_v && gw_upxchg_has_token(conn_v, conn_len, "close", 5))
			       : conn_v && gw_upxchg_has_token(conn_v, conn_len, "keep-alive", 10);
	if (is_head || h->status == 204 || h->status == 304 ||
	    (h->status >= 100 && h->status < 200)) {
		x->body = GW_UPXCHG_BODY_NONE;
	} else if (te) {
		/* Only chunked can be undone here; "gzip, chunked" and the like cannot. */
		if (!(te_len == 7 && !strncasecmp(te, "chunked", 7)))
			return -1;
		x->body = GW_UPXCHG_BODY_CHUNKED;
		*cl = SIZE_MAX;
	} else if (*cl != SIZE_MAX) {
		x->body = *cl ? GW_UPXCHG_BODY_LENGTH : GW_UPXCHG_BODY_NONE;
		x->left = *cl;
	} else {
		x->body = GW_UPXCHG_BODY_CLOSE;
		x->keepalive = 0;
	}
	return 0;
}

uint64_t gw_upxchg_head_judged(gw_upxchg_t *x, int status)
{
	uint64_t lat = gw_now_ns() - x->sent_at;

	gw_upxchg_judge(x, status < 500, lat);
	gw_metrics_upstream_latency(x->tc->worker->metrics, x->rt->conf->id, lat);
	return lat;
}

int gw_upxchg_body(gw_upxchg_t *x, char *bytes, size_t *len)
{
	switch (x->body) {
	case GW_UPXCHG_BODY_LENGTH:
		if (*len > x->left) {
			/* more than announced: cut it, and never reuse this connection */
			*len = (size_t)x->left;
			x->keepalive = 0;
		}
		x->left -= *len;
		return !x->left;
	case GW_UPXCHG_BODY_CHUNKED: {
		size_t extra;
		int r = gw_chunked_decode(&x->chunked, bytes, len, &extra);

		if (r == 1 && extra)
			x->keepalive = 0;
		return r;
	}
	default:
		return 0;
	}
}

void gw_upxchg_dispose(gw_upxchg_t *x)
{
	gw_upxchg_release(x, false);
	gw_upxchg_unlink_timers(x);
	if (x->probe && !x->judged)
		gw_upxchg_judge(x, false, 0); /* an abandoned probe: the breaker opens again */
}

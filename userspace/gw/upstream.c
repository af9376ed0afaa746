/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upstream.c - per-thread upstream connection pools and response parsing (see upstream.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gw/looptimeout.h"
#include "gw/upstream.h"

/* ---- pool ---- */

static void conn_close(gw_upconn_t *c)
{
	if (h2o_linklist_is_linked(&c->idle_link)) {
		h2o_linklist_unlink(&c->idle_link);
		c->rt->srv[c->si].nidle--;
	}
	if (h2o_timeout_is_linked(&c->idle_timer))
		h2o_timeout_unlink(&c->idle_timer);
	if (c->sock)
		h2o_socket_close(c->sock);
	free(c);
}

static void on_idle_timeout(h2o_timeout_entry_t *entry)
{
	conn_close(H2O_STRUCT_FROM_MEMBER(gw_upconn_t, idle_timer, entry));
}

/* Readable while idle: the upstream closed it, or sent bytes nobody asked for. */
static void on_idle_read(h2o_socket_t *sock, const char *err)
{
	conn_close(sock->data);
}

int gw_upstream_pool_init(gw_upstream_rt_t *rt, h2o_loop_t *loop)
{
	const gw_upstream_t *u = rt->conf;

	rt->loop = loop;
	if (!(rt->srv = calloc(u->nservers, sizeof(*rt->srv))))
		return -ENOMEM;
	for (size_t i = 0; i < u->nservers; i++)
		h2o_linklist_init_anchor(&rt->srv[i].idle);
	rt->keepalive = gw_looptimeout_get(loop, u->keepalive_idle_ms);
	rt->first_byte = gw_looptimeout_get(loop, u->first_byte_timeout_ms);
	rt->total = gw_looptimeout_get(loop, u->total_timeout_ms);
	if (!rt->keepalive || !rt->first_byte || !rt->total) {
		gw_upstream_pool_dispose(rt);
		return -ENOMEM;
	}
	return 0;
}

void gw_upstream_pool_dispose(gw_upstream_rt_t *rt)
{
	for (size_t i = 0; rt->srv && i < rt->conf->nservers; i++)
		while (!h2o_linklist_is_empty(&rt->srv[i].idle))
			conn_close(H2O_STRUCT_FROM_MEMBER(gw_upconn_t, idle_link,
							  rt->srv[i].idle.next));
	free(rt->srv);
	rt->srv = NULL;
	gw_looptimeout_put(rt->loop, rt->keepalive);
	gw_looptimeout_put(rt->loop, rt->first_byte);
	gw_looptimeout_put(rt->loop, rt->total);
	rt->keepalive = rt->first_byte = rt->total = NULL;
}

gw_upconn_t *gw_upstream_take(gw_upstream_rt_t *rt, size_t si)
{
	gw_upserver_rt_t *s = &rt->srv[si];
	gw_upconn_t *c;

	if (h2o_linklist_is_empty(&s->idle))
		return NULL;
	/* The most recent: the warmest connection, and the others age out sooner. */
	c = H2O_STRUCT_FROM_MEMBER(gw_upconn_t, idle_link, s->idle.prev);
	h2o_linklist_unlink(&c->idle_link);
	s->nidle--;
	h2o_timeout_unlink(&c->idle_timer);
	h2o_socket_read_stop(c->sock);
	c->reused = 1;
	return c;
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
	gw_upconn_t *c = sock->data;
	gw_upconn_cb cb = c->cb;
	void *data = c->data;

	c->cb = NULL;
	if (err) {
		conn_close(c);
		cb(NULL, err, data);
		return;
	}
	cb(c, NULL, data);
}

gw_upconn_t *gw_upstream_connect(gw_upstream_rt_t *rt, size_t si, gw_upconn_cb cb, void *data)
{
	gw_upconn_t *c = calloc(1, sizeof(*c));
	const gw_upserver_t *sv = &rt->conf->servers[si];

	if (!c)
		return NULL;
	c->rt = rt;
	c->si = si;
	c->idle_timer.cb = on_idle_timeout;
	c->cb = cb;
	c->data = data;
	c->sock =
		h2o_socket_connect(rt->loop, (struct sockaddr *)&sv->addr, sv->addrlen, on_connect);
	if (!c->sock) {
		free(c);
		return NULL;
	}
	c->sock->data = c;
	return c;
}

void gw_upstream_release(gw_upconn_t *c, bool reusable)
{
	gw_upstream_rt_t *rt = c->rt;
	gw_upserver_rt_t *s = &rt->srv[c->si];

	/* A connection still sending the request (the upstream answered early) or holding
	 * bytes of the last response cannot serve another request. */
	if (!reusable || !rt->conf->keepalive || s->nidle >= rt->conf->keepalive_max ||
	    c->sock->input->size || h2o_socket_is_writing(c->sock)) {
		conn_close(c);
		return;
	}
	c->sock->data = c;
	h2o_socket_read_start(c->sock, on_idle_read);
	h2o_linklist_insert(&s->idle, &c->idle_link);
	s->nidle++;
	h2o_timeout_link(rt->loop, rt->keepalive, &c->idle_timer);
}

/* ---- response head ---- */

/* RFC 9110 tchar: the bytes of a field name (a table: a name is checked byte by byte). */
static const bool tchar[256] = {
	['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true, ['!'] = true,
	['#'] = true,	      ['$'] = true,	    ['%'] = true,	  ['&'] = true,
	['\''] = true,	      ['*'] = true,	    ['+'] = true,	  ['-'] = true,
	['.'] = true,	      ['^'] = true,	    ['_'] = true,	  ['`'] = true,
	['|'] = true,	      ['~'] = true,
};

/* The next line of buf[*pos..len): its start and length without CR/LF. false: no LF yet. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *llen)
{
	const char *lf = memchr(buf + *pos, '\n', len - *pos);
	size_t n;

	if (!lf)
		return false;
	*line = buf + *pos;
	n = (size_t)(lf - *line);
	if (n && (*line)[n - 1] == '\r')
		n--;
	*llen = n;
	*pos = (size_t)(lf - buf) + 1;
	return true;
}

/* Whether [p, end) is field text: no control byte but HTAB, no DEL. */
static bool field_text(const char *p, const char *end)
{
	for (; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

ssize_t gw_upstream_parse_head(const char *buf, size_t len, gw_upstream_head_t *h)
{
	const char *line;
	size_t pos = 0, llen;

	h->nheaders = 0;
	if (!next_line(buf, len, &pos, &line, &llen)) {
		/* A status line cannot start otherwise: fail early on garbage. */
		if (len >= 5 && memcmp(buf, "HTTP/", 5))
			return -1;
		return 0;
	}
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (llen < 12 || memcmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ' || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
	    line[11] < '0' || line[11] > '9' || (llen > 12 && line[12] != ' '))
		return -1;
	h->minor = line[7] - '0';
	h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	h->reason = llen > 13 ? line + 13 : line + llen;
	h->reason_len = llen > 13 ? llen - 13 : 0;
	/* The reason goes into the client's status line (proxy.c): a bare CR, a NUL or
	 * another control byte there would cut or split it (RFC 9112 4: HTAB, SP, VCHAR and
	 * obs-text only); picohttpparser, h2o's, refuses them too. */
	if (!field_text(h->reason, h->reason + h->reason_len))
		return -1;
	for (;;) {
		const char *colon, *v, *end;
		gw_upstream_header_t *f;

		if (!next_line(buf, len, &pos, &line, &llen))
			return 0;
		if (!llen)
			return (ssize_t)pos;
		if (h->nheaders == GW_UPSTREAM_HEADERS_MAX)
			return -1;
		colon = memchr(line, ':', llen);
		if (!colon || colon == line)
			return -1; /* also rejects obsolete line folding (leading space) */
		for (const char *p = line; p < colon; p++)
			if (!tchar[(unsigned char)*p])
				return -1;
		v = colon + 1;
		end = line + llen;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (!field_text(v, end))
			return -1;
		f = &h->headers[h->nheaders++];
		f->name = line;
		f->name_len = (size_t)(colon - line);
		f->value = v;
		f->value_len = (size_t)(end - v);
	}
}

/* ---- chunked decoding ---- */

enum {
	CH_SIZE = 0, /* hex digits */
	CH_EXT,	     /* after the size: spaces, ";ext", until CR/LF */
	CH_SIZE_LF,  /* CR seen, LF next */
	CH_DATA,     /* `left` data bytes */
	CH_DATA_CR,  /* CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER, /* at the start of a trailer line (or the final empty line) */
	CH_TRAILER_LINE,
	CH_END_LF, /* CR of the final empty line seen */
	CH_DONE,
};

/* More hex digits than this would overflow; no sane chunk needs them. */
#define CHUNK_DIGITS_MAX 15

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gw_chunked_decode(gw_chunked_t *d, char *buf, size_t *len, size_t *extra)
{
	size_t in = 0, out = 0, n = *len;

	*extra = 0;
	while (in < n) {
		char c = buf[in];

		switch (d->state) {
		case CH_SIZE: {
			int v = hexval(c);

			if (v >= 0) {
				if (++d->digits > CHUNK_DIGITS_MAX)
					return -1;
				d->left = d->left * 16 + (uint64_t)v;
				in++;
				break;
			}
			if (!d->digits)
				return -1;
			d->state = CH_EXT;
			break; /* the same byte again, as the extension's */
		}
		case CH_EXT:
			if (c == '\r')
				d->state = CH_SIZE_LF;
			else if (c == '\n')
				d->state = d->left ? CH_DATA : CH_TRAILER;
			else if ((unsigned char)c < 0x20 && c != '\t')
				return -1;
			in++;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			d->state = d->left ? CH_DATA : CH_TRAILER;
			in++;
			break;
		case CH_DATA: {
			size_t take = n - in < d->left ? n - in : (size_t)d->left;

			memmove(buf + out, buf + in, take);
			out += take;
			in += take;
			d->left -= take;
			if (!d->left)
				d->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (c == '\r') {
				d->state = CH_DATA_LF;
				in++;
				break;
			}
			/* a bare LF ends the data too */
			__attribute__((fallthrough));
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			d->state = CH_SIZE;
			d->digits = 0;
			d->left = 0;
			in++;
			break;
		case CH_TRAILER:
			if (c == '\r')
				d->state = CH_END_LF;
			else if (c == '\n')
				d->state = CH_DONE;
			else
				d->state = CH_TRAILER_LINE;
			in++;
			break;
		case CH_TRAILER_LINE:
			if (c == '\n')
				d->state = CH_TRAILER;
			in++;
			break;
		case CH_END_LF:
			if (c != '\n')
				return -1;
			d->state = CH_DONE;
			in++;
			break;
		case CH_DONE:
			*extra = n - in;
			*len = out;
			return 1;
		}
	}
	*len = out;
	return d->state == CH_DONE ? 1 : 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upstream.h - upstream connections: a keep-alive pool per upstream per worker thread, and
 * the HTTP/1.1 response parsing the proxy needs.
 *
 * Why not h2o 2.2.5's socketpool: it hands pooled sockets between threads by exporting
 * them from one event loop and importing them into another, which costs two epoll_ctl,
 * two fcntl and a recv(MSG_PEEK) per request - more than the rest of a proxied request.
 * Here a pool belongs to one worker thread and its idle connections stay registered in
 * that thread's loop, so reusing one costs no system call at all. An idle connection that
 * becomes readable (the upstream closed it, or sent something unasked) is closed at once;
 * one idle longer than keepalive_idle_ms is closed by a timer.
 *
 * The parsers are pure functions over bytes, unit-tested on their own: a response head
 * (status line and header fields) and an incremental, in-place chunked-body decoder.
 */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gw/config.h"
#include "gw/evloop.h"
#include "gw/upgroup.h"

typedef struct st_gw_upconn_t gw_upconn_t;

/* Per-thread pool of one server of an upstream group. */
typedef struct st_gw_upserver_rt_t {
	h2o_linklist_t idle; /* gw_upconn_t, most recently pooled last */
	size_t nidle;
} gw_upserver_rt_t;

/* Per-thread runtime of one upstream of one config. */
typedef struct st_gw_upstream_rt_t {
	const gw_upstream_t *conf;
	h2o_loop_t *loop;
	gw_upserver_rt_t *srv; /* [conf->nservers] */
	gw_upsel_t sel;	       /* this thread's server selection state */
	/* The loop's lists of these durations, shared with other groups (looptimeout.h). */
	h2o_timeout_t *keepalive;  /* idle connections */
	h2o_timeout_t *first_byte; /* response head, and silence between body reads */
	/* (the connect timeout is a ptimer.h timer of the worker: it must fire on time) */
	h2o_timeout_t *total;
} gw_upstream_rt_t;

/* Called once a new connection is up (err NULL) or failed (then conn is already closed). */
typedef void (*gw_upconn_cb)(gw_upconn_t *conn, const char *err, void *data);

struct st_gw_upconn_t {
	h2o_socket_t *sock;
	gw_upstream_rt_t *rt;
	size_t si;			/* its server: rt->conf->servers[si] */
	h2o_linklist_t idle_link;	/* in rt->idle while pooled */
	h2o_timeout_entry_t idle_timer; /* keepalive_idle_ms while pooled */
	gw_upconn_cb cb;		/* while connecting */
	void *data;
	unsigned reused : 1; /* it served a request before this one */
};

/* Set up rt's pools on loop (rt->conf must be set). 0 or -ENOMEM. */
int gw_upstream_pool_init(gw_upstream_rt_t *rt, h2o_loop_t *loop);
/* Close every idle connection and release the pool's timers. */
void gw_upstream_pool_dispose(gw_upstream_rt_t *rt);

/* The most recently pooled idle connection to server si, or NULL. */
gw_upconn_t *gw_upstream_take(gw_upstream_rt_t *rt, size_t si);

/* Start a new connection to server si; cb runs when it is up or failed. NULL when it
 * failed at once (refused synchronously, out of sockets). */
gw_upconn_t *gw_upstream_connect(gw_upstream_rt_t *rt, size_t si, gw_upconn_cb cb, void *data);

/* Done with a connection: back to the pool when reusable (and keep-alive is on and the
 * pool has room), else closed. Its input must hold nothing of the last response. */
void gw_upstream_release(gw_upconn_t *c, bool reusable);

/* ---- parsing ---- */

/* Header fields of a response head the proxy acts on. */
#define GW_UPSTREAM_HEADERS_MAX 100

typedef struct st_gw_upstream_header_t {
	const char *name, *value;
	size_t name_len, value_len;
} gw_upstream_header_t;

typedef struct st_gw_upstream_head_t {
	int minor; /* HTTP/1.<minor> */
	int status;
	const char *reason;
	size_t reason_len;
	gw_upstream_header_t headers[GW_UPSTREAM_HEADERS_MAX];
	size_t nheaders;
} gw_upstream_head_t;

/*
 * Parse a response head at the start of buf. Returns its length (through the empty line),
 * 0 when more bytes are needed, or -1 when it is not a valid HTTP/1.x response head (more
 * than GW_UPSTREAM_HEADERS_MAX fields included). Lines end in CRLF or LF.
 */
ssize_t gw_upstream_parse_head(const char *buf, size_t len, gw_upstream_head_t *h);

/* Chunked transfer coding decoder state; zero it to start. */
typedef struct st_gw_chunked_t {
	uint64_t left; /* data bytes left in the current chunk */
	uint8_t state;
	uint8_t digits;
} gw_chunked_t;

/*
 * Decode buf[0..*len) in place: on return buf[0..*len) holds the data bytes found there.
 * Returns 0 when more input is needed, 1 when the body ended (*extra bytes followed the
 * end, which were not part of it), -1 on a malformed body.
 */
int gw_chunked_decode(gw_chunked_t *d, char *buf, size_t *len, size_t *extra);

#endif /* GW_UPSTREAM_H */

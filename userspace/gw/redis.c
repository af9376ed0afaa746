/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redis.c - hiredis async on h2o's event loop (see redis.h).
 *
 * hiredis tells an adapter when it wants to read or write (ev.addRead/addWrite) and when
 * the connection is gone (ev.cleanup, possibly more than once). Reading is h2o's: an
 * h2o_socket_t reads whatever arrives into its input buffer, and those bytes go to
 * hiredis's reply parser. Writing is hiredis's own: when h2o reports the socket writable
 * (h2o_socket_notify_write), redisAsyncHandleWrite() flushes its output buffer, which by
 * then holds every command issued since the last flush; on an established connection the
 * flush is first tried at the end of the loop turn (a zero timeout), without asking. The h2o socket wraps a dup of the
 * descriptor so that closing one side never closes the other's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/async.h>

#include "log.h"
#include "gw/redis.h"

/*
 * Exported by libhiredis 0.14 (async.c) without a declaration in its headers: the part of
 * redisAsyncHandleRead() that runs after read(2), which h2o has already done.
 */
void redisProcessCallbacks(redisAsyncContext *ac);

/* Reconnection delays: gw_redis_backoff_ms(0..BACKOFF_LEVELS-1); h2o 2.2.5 timeouts have
 * one fixed duration each, so there is one per level. */
#define BACKOFF_LEVELS 7

#define LOAD(x)	    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define INC(x)	    STORE(x, LOAD(x) + 1)

struct call {
	h2o_timeout_entry_t timeout;
	gw_redis_t *r;
	gw_redis_cb cb; /* NULL once called back (a late reply is then dropped) */
	void *data;
};

struct st_gw_redis_t {
	h2o_evloop_t *loop;
	gw_redis_conf_t conf;
	gw_redis_hooks_t hooks;
	redisAsyncContext *ac; /* NULL while there is no connection (attempt) */
	h2o_socket_t *sock;    /* watches a dup of ac's descriptor */
	bool ready;	       /* connected; commands accepted */
	bool reading, write_armed, want_write;
	bool flushing; /* in on_flush(): a write that cannot finish waits for the socket */
	bool closing;
	unsigned failures; /* consecutive failed attempts */
	h2o_timeout_t cmd_timeout, connect_timeout;
	h2o_timeout_t flush_timeout; /* 0 ms: runs at the end of the current loop turn */
	h2o_timeout_entry_t flush_entry;
	h2o_timeout_t backoff[BACKOFF_LEVELS];
	h2o_timeout_entry_t connect_entry, retry_entry;
	gw_redis_stats_t stats;
	char last_error[160];
	bool logged_down; /* the current outage has been logged */
};

static void start_connect(gw_redis_t *r);

static void set_error(gw_redis_t *r, const char *why)
{
	snprintf(r->last_error, sizeof(r->last_error), "%s", why);
}

static void schedule_retry(gw_redis_t *r)
{
	unsigned level = r->failures < BACKOFF_LEVELS ? r->failures : BACKOFF_LEVELS - 1;

	if (r->closing || h2o_timeout_is_linked(&r->retry_entry))
		return;
	if (!r->logged_down) {
		pr_warn("redis %s:%u: %s; retrying with backoff", r->conf.host, r->conf.port,
			r->last_error);
		r->logged_down = true;
	}
	r->failures++;
	h2o_timeout_link(r->loop, &r->backoff[level], &r->retry_entry);
}

/* Tear the connection down now: pending commands are called back without a reply. */
static void drop(gw_redis_t *r, const char *why)
{
	if (!r->ac)
		return;
	set_error(r, why);
	/* Inside a hiredis callback this only marks the context; hiredis frees it on return. */
	redisAsyncFree(r->ac);
}

/* ---- hiredis's event hooks ---- */

static void on_read(h2o_socket_t *sock, const char *err)
{
	gw_redis_t *r = sock->data;
	redisAsyncContext *ac = r->ac;

	if (!ac || r->sock != sock)
		return;
	if (err) {
		drop(r, "connection closed");
		return;
	}
	if (sock->input->size) {
		if (redisReaderFeed(ac->c.reader, sock->input->bytes, sock->input->size) !=
		    REDIS_OK) {
			drop(r, "reply parser: out of memory");
			return;
		}
		h2o_buffer_consume(&sock->input, sock->input->size);
	}
	/* May free ac (and close sock): nothing of either is touched after this. */
	redisProcessCallbacks(ac);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
	gw_redis_t *r = sock->data;

	r->write_armed = false;
	if (!r->ac || r->sock != sock)
		return;
	if (err) {
		drop(r, "write error");
		return;
	}
	if (r->want_write)
		redisAsyncHandleWrite(r->ac); /* also completes a connect */
}

static void ev_add_read(void *priv)
{
	gw_redis_t *r = priv;

	if (r->sock && !r->reading) {
		r->reading = true;
		h2o_socket_read_start(r->sock, on_read);
	}
}

static void ev_del_read(void *priv)
{
	gw_redis_t *r = priv;

	if (r->sock && r->reading) {
		r->reading = false;
		h2o_socket_read_stop(r->sock);
	}
}

/*
 * The loop turn is over: everything issued during it leaves in one write. A zero timeout
 * rather than a write notification spares two epoll_ctl() calls and a wake-up per turn;
 * only when the socket buffer is full does the rest wait for write readiness.
 */
static void on_flush(h2o_timeout_entry_t *e)
{
	gw_redis_t *r = H2O_STRUCT_FROM_MEMBER(gw_redis_t, flush_entry, e);

	if (!r->ac || !r->want_write)
		return;
	r->flushing = true;
	redisAsyncHandleWrite(r->ac); /* may drop the connection: r->ac is not used after */
	r->flushing = false;
}

static void ev_add_write(void *priv)
{
	gw_redis_t *r = priv;

	r->want_write = true;
	if (r->ready && !r->flushing) {
		if (!h2o_timeout_is_linked(&r->flush_entry))
			h2o_timeout_link(r->loop, &r->flush_timeout, &r->flush_entry);
		return;
	}
	if (r->sock && !r->write_armed) {
		r->write_armed = true;
		h2o_socket_notify_write(r->sock, on_writable);
	}
}

static void ev_del_write(void *priv)
{
	gw_redis_t *r = priv;

	/* h2o cannot withdraw a write notification; a spurious one finds want_write false. */
	r->want_write = false;
}

/* The connection is gone (hiredis may say so twice). */
static void ev_cleanup(void *priv)
{
	gw_redis_t *r = priv;
	bool was_ready = r->ready;

	if (!r->ac)
		return;
	if (r->ac->err && r->ac->errstr[0])
		set_error(r, r->ac->errstr);
	if (h2o_timeout_is_linked(&r->connect_entry))
		h2o_timeout_unlink(&r->connect_entry);
	if (h2o_timeout_is_linked(&r->flush_entry))
		h2o_timeout_unlink(&r->flush_entry);
	if (r->sock) {
		h2o_socket_close(r->sock);
		r->sock = NULL;
	}
	r->ac = NULL;
	r->ready = r->reading = r->write_armed = r->want_write = false;
	if (was_ready) {
		INC(r->stats.disconnects);
		if (r->hooks.on_disconnect)
			r->hooks.on_disconnect(r, r->hooks.data, r->last_error);
	}
	schedule_retry(r);
}

/* ---- commands ---- */

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct call *c = priv;
	gw_redis_t *r = c->r;
	gw_redis_cb cb = c->cb;

	if (h2o_timeout_is_linked(&c->timeout))
		h2o_timeout_unlink(&c->timeout);
	if (cb) {
		c->cb = NULL;
		if (reply)
			INC(r->stats.replies);
		else
			INC(r->stats.errors);
		cb(c->data, reply, reply ? NULL : r->closing ? "closing" : "disconnected");
	}
	free(c);
}

static void on_call_timeout(h2o_timeout_entry_t *e)
{
	struct call *c = H2O_STRUCT_FROM_MEMBER(struct call, timeout, e);
	gw_redis_t *r = c->r;
	gw_redis_cb cb = c->cb;

	/* c stays with hiredis until its reply or the disconnect: it is freed there. */
	c->cb = NULL;
	INC(r->stats.errors);
	INC(r->stats.timeouts);
	if (cb)
		cb(c->data, NULL, "timeout");
	drop(r, "a command timed out");
}

/* Send one command: as argv (argv set) or already in RESP (cmd, cmdlen). */
static int send_command(gw_redis_t *r, gw_redis_cb cb, void *data, int argc, const char **argv,
			const size_t *argvlen, const char *cmd, size_t cmdlen)
{
	struct call *c;
	int ret;

	if (!r->ready || !r->ac) {
		INC(r->stats.refused);
		return -ENOTCONN;
	}
	if (!(c = malloc(sizeof(*c))))
		return -ENOMEM;
	*c = (struct call){ .timeout = { .cb = on_call_timeout }, .r = r, .cb = cb, .data = data };
	ret = argv ? redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen)
		   : redisAsyncFormattedCommand(r->ac, on_reply, c, cmd, cmdlen);
	if (ret != REDIS_OK) {
		free(c);
		INC(r->stats.refused);
		return -ENOTCONN;
	}
	h2o_timeout_link(r->loop, &r->cmd_timeout, &c->timeout);
	INC(r->stats.commands);
	return 0;
}

int gw_redis_command(gw_redis_t *r, gw_redis_cb cb, void *data, int argc, const char **argv,
		     const size_t *argvlen)
{
	return send_command(r, cb, data, argc, argv, argvlen, NULL, 0);
}

int gw_redis_command_resp(gw_redis_t *r, gw_redis_cb cb, void *data, const char *cmd, size_t len)
{
	return send_command(r, cb, data, 0, NULL, NULL, cmd, len);
}

/* ---- connecting ---- */

static void on_setup_reply(void *data, redisReply *reply, const char *err)
{
	gw_redis_t *r = data;

	if (reply && reply->type == REDIS_REPLY_ERROR) {
		char why[160];

		snprintf(why, sizeof(why), "AUTH/SELECT refused: %s", reply->str);
		pr_err("redis %s:%u: %s", r->conf.host, r->conf.port, why);
		drop(r, why);
	}
}

static void on_connected(const redisAsyncContext *ac, int status)
{
	gw_redis_t *r = ac->data;

	if (h2o_timeout_is_linked(&r->connect_entry))
		h2o_timeout_unlink(&r->connect_entry);
	if (status != REDIS_OK) {
		INC(r->stats.connect_failures);
		set_error(r, ac->errstr[0] ? ac->errstr : "connect failed");
		return; /* hiredis frees the context next: ev_cleanup */
	}
	r->ready = true;
	r->failures = 0;
	INC(r->stats.connects);
	if (r->logged_down) {
		pr_info("redis %s:%u: connected again", r->conf.host, r->conf.port);
		r->logged_down = false;
	}
	if (r->conf.password[0]) {
		const char *argv[3] = { "AUTH", r->conf.user, r->conf.password };
		size_t len[3] = { 4, strlen(r->conf.user), strlen(r->conf.password) };

		if (r->conf.user[0])
			gw_redis_command(r, on_setup_reply, r, 3, argv, len);
		else {
			argv[1] = r->conf.password;
			len[1] = len[2];
			gw_redis_command(r, on_setup_reply, r, 2, argv, len);
		}
	}
	if (r->conf.db) {
		char db[16];
		const char *argv[2] = { "SELECT", db };
		size_t len[2] = { 6, (size_t)snprintf(db, sizeof(db), "%u", r->conf.db) };

		gw_redis_command(r, on_setup_reply, r, 2, argv, len);
	}
	if (r->ready && r->hooks.on_connect)
		r->hooks.on_connect(r, r->hooks.data);
}

static void on_connect_timeout(h2o_timeout_entry_t *e)
{
	gw_redis_t *r = H2O_STRUCT_FROM_MEMBER(gw_redis_t, connect_entry, e);

	INC(r->stats.connect_failures);
	drop(r, "connect timed out");
}

static void on_retry(h2o_timeout_entry_t *e)
{
	start_connect(H2O_STRUCT_FROM_MEMBER(gw_redis_t, retry_entry, e));
}

static void start_connect(gw_redis_t *r)
{
	redisAsyncContext *ac;
	int fd, one = 1;

	if (r->closing || r->ac)
		return;
	ac = redisAsyncConnect(r->conf.host, r->conf.port);
	if (!ac || ac->err) {
		set_error(r, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		INC(r->stats.connect_failures);
		schedule_retry(r);
		return;
	}
	if ((fd = fcntl(ac->c.fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		set_error(r, strerror(errno));
		redisAsyncFree(ac);
		INC(r->stats.connect_failures);
		schedule_retry(r);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->ac = ac;
	ac->data = r;
	r->sock = h2o_evloop_socket_create(r->loop, fd, 0);
	r->sock->data = r;
	ac->ev.data = r;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connected);
	h2o_timeout_link(r->loop, &r->connect_timeout, &r->connect_entry);
	ev_add_write(r); /* a non-blocking connect completes as write readiness */
}

gw_redis_t *gw_redis_new(h2o_evloop_t *loop, const gw_redis_conf_t *conf,
			 const gw_redis_hooks_t *hooks)
{
	gw_redis_t *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->loop = loop;
	r->conf = *conf;
	if (hooks)
		r->hooks = *hooks;
	h2o_timeout_init(loop, &r->cmd_timeout, conf->timeout_ms);
	h2o_timeout_init(loop, &r->connect_timeout, conf->connect_timeout_ms);
	h2o_timeout_init(loop, &r->flush_timeout, 0);
	r->flush_entry.cb = on_flush;
	for (unsigned i = 0; i < BACKOFF_LEVELS; i++)
		h2o_timeout_init(loop, &r->backoff[i], gw_redis_backoff_ms(i));
	r->connect_entry.cb = on_connect_timeout;
	r->retry_entry.cb = on_retry;
	set_error(r, "not connected yet");
	start_connect(r);
	return r;
}

void gw_redis_close(gw_redis_t *r)
{
	if (!r || r->closing)
		return;
	r->closing = true;
	if (h2o_timeout_is_linked(&r->retry_entry))
		h2o_timeout_unlink(&r->retry_entry);
	drop(r, "closing");
	if (h2o_timeout_is_linked(&r->connect_entry))
		h2o_timeout_unlink(&r->connect_entry);
	if (h2o_timeout_is_linked(&r->flush_entry))
		h2o_timeout_unlink(&r->flush_entry);
}

void gw_redis_free(gw_redis_t *r)
{
	if (!r)
		return;
	gw_redis_close(r);
	h2o_timeout_dispose(r->loop, &r->cmd_timeout);
	h2o_timeout_dispose(r->loop, &r->flush_timeout);
	h2o_timeout_dispose(r->loop, &r->connect_timeout);
	for (unsigned i = 0; i < BACKOFF_LEVELS; i++)
		h2o_timeout_dispose(r->loop, &r->backoff[i]);
	free(r);
}

bool gw_redis_ready(const gw_redis_t *r)
{
	return r->ready;
}

const gw_redis_stats_t *gw_redis_stats(const gw_redis_t *r)
{
	return &r->stats;
}

const char *gw_redis_last_error(const gw_redis_t *r)
{
	return r->last_error;
}

/* ---- blocking connections (threads of their own: the store, ban publication) ---- */

redisContext *gw_redis_connect_sync(const gw_redis_conf_t *conf, uint64_t timeout_ms, char *why,
				    size_t len)
{
	struct timeval ct = { (time_t)(conf->connect_timeout_ms / 1000),
			      (suseconds_t)(conf->connect_timeout_ms % 1000) * 1000 };
	struct timeval ot = { (time_t)(timeout_ms / 1000),
			      (suseconds_t)(timeout_ms % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(conf->host, conf->port, ct);
	redisReply *r = NULL;

	if (!c || c->err) {
		snprintf(why, len, "redis %.64s:%u: %.100s", conf->host, conf->port,
			 c ? c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(c, ot);
	if (conf->password[0]) {
		r = conf->user[0] ? redisCommand(c, "AUTH %s %s", conf->user, conf->password)
				  : redisCommand(c, "AUTH %s", conf->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, len, "redis %.64s:%u: AUTH: %.80s", conf->host, conf->port,
				 r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (conf->db) {
		r = redisCommand(c, "SELECT %u", conf->db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, len, "redis %.64s:%u: SELECT %u: %.80s", conf->host,
				 conf->port, conf->db, r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	return c;
fail:
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return NULL;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * store_redis.c - the cluster key store: API keys as Redis hashes (see store.h).
 *
 *   PREFIXkey:ID   hash  digest (hex), plan, status, created, expires, label
 *   PREFIXkeys     zset  every ID at score 0, so ZRANGEBYLEX pages through them in order
 *   PREFIXkeys     channel: the ID of every key written, by any node
 *
 * Writes are small Lua scripts, so "exists?" and the write (and the index, and the
 * announcement) are one atomic step however many nodes' admins write at once. The store
 * talks to Redis synchronously: only the admin thread and the main thread (start,
 * reload) use it, under the server's store lock, never a worker.
 *
 * gw_store_redis_watch() starts a thread subscribed to the channel: every ID announced is
 * handed to a callback (the server re-reads that key into its in-memory table), and after
 * a lost subscription - announcements may have been missed - a resync callback (the
 * server reloads every key). That is how a key created, blocked or revoked through any
 * node is in force on every node at once.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "gw/keys.h"
#include "gw/store.h"

/* Bound on one store operation (admin and reload paths, never the request path). */
#define OP_TIMEOUT_MS 5000
/* Keys per ZRANGEBYLEX page while loading or listing. */
#define PAGE	      1000
/* How often the watcher looks at its stop flag while idle. */
#define WATCH_POLL_MS 200

typedef struct st_gw_store_redis_t {
	gw_store_t super;
	gw_redis_conf_t conf;
	redisContext *c; /* NULL until (re)connected */
	char index[GW_REDIS_PREFIX_MAX + 8];
	struct {
		pthread_t tid;
		bool started;
		int stop; /* atomic */
		gw_store_changed_fn changed;
		void (*resync)(void *arg);
		void *arg;
	} watch;
} gw_store_redis_t;

static const char insert_lua[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'digest', ARGV[2], 'plan', ARGV[3], 'status', ARGV[4],"
	" 'created', ARGV[5], 'expires', ARGV[6], 'label', ARGV[7])\n"
	"redis.call('ZADD', KEYS[2], 0, ARGV[1])\n"
	"redis.call('PUBLISH', KEYS[2], ARGV[1])\n"
	"return 1\n";

static const char update_lua[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
				 "redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])\n"
				 "redis.call('PUBLISH', KEYS[2], ARGV[1])\n"
				 "return 1\n";

static int fail(gw_store_redis_t *s, const char *what, const char *why)
{
	snprintf(s->super.errmsg, sizeof(s->super.errmsg), "Couldn't %s: %s", what, why);
	return -EIO;
}

/* A connected, authenticated context for conf, or NULL with why set. */
static redisContext *connect_ctx(const gw_redis_conf_t *conf, uint64_t timeout_ms, char *why,
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

/* Run a command (argv form); one reconnection on an I/O error. NULL with errmsg set. */
static redisReply *command(gw_store_redis_t *s, const char *what, int argc, const char **argv,
			   const size_t *len)
{
	char why[200];

	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *r;

		if (!s->c && !(s->c = connect_ctx(&s->conf, OP_TIMEOUT_MS, why, sizeof(why)))) {
			fail(s, what, why);
			return NULL;
		}
		if ((r = redisCommandArgv(s->c, argc, argv, len))) {
			if (r->type == REDIS_REPLY_ERROR) {
				fail(s, what, r->str);
				freeReplyObject(r);
				return NULL;
			}
			return r;
		}
		snprintf(why, sizeof(why), "%s", s->c->errstr);
		redisFree(s->c);
		s->c = NULL;
	}
	fail(s, what, why);
	return NULL;
}

static void key_name(const gw_store_redis_t *s, const char *id, char *out, size_t len)
{
	snprintf(out, len, "%skey:%s", s->conf.prefix, id);
}

static int hex_byte(const char *h)
{
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char c = h[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* HMGET digest plan status created expires label -> r; -ENOENT when absent. */
static int reply_to_record(const redisReply *rep, const char *id, gw_key_record_t *r)
{
	const redisReply *const *e;
	int st;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 6)
		return -EIO;
	e = (const redisReply *const *)rep->element;
	if (e[0]->type != REDIS_REPLY_STRING)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	if (e[0]->len != 64)
		return -EIO;
	for (int i = 0; i < 32; i++) {
		int b = hex_byte(e[0]->str + 2 * i);

		if (b < 0)
			return -EIO;
		r->digest[i] = (uint8_t)b;
	}
	snprintf(r->id, sizeof(r->id), "%s", id);
	for (int i = 1; i < 6; i++)
		if (e[i]->type != REDIS_REPLY_STRING)
			return -EIO;
	snprintf(r->plan, sizeof(r->plan), "%s", e[1]->str);
	st = gw_key_status_of(e[2]->str);
	r->status = st < 0 ? GW_KEY_REVOKED : (uint8_t)st;
	r->created = strtoll(e[3]->str, NULL, 10);
	r->expires = strtoll(e[4]->str, NULL, 10);
	snprintf(r->label, sizeof(r->label), "%s", e[5]->str);
	return 0;
}

static int rd_get(gw_store_t *base, const char *id, gw_key_record_t *out)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	char key[GW_REDIS_PREFIX_MAX + 32];
	const char *argv[8] = { "HMGET",  key,	     "digest",	"plan",
				"status", "created", "expires", "label" };
	size_t len[8];
	redisReply *r;
	int ret;

	key_name(s, id, key, sizeof(key));
	for (int i = 0; i < 8; i++)
		len[i] = strlen(argv[i]);
	if (!(r = command(s, "read key", 8, argv, len)))
		return -EIO;
	ret = reply_to_record(r, id, out);
	freeReplyObject(r);
	if (ret == -EIO)
		return fail(s, "read key", "malformed key hash in Redis");
	return ret;
}

static int rd_list(gw_store_t *base, const char *after, size_t limit, gw_store_each_fn cb,
		   void *arg)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	char cursor[GW_APIKEY_ID_LEN + 2], cnt[24];
	size_t done = 0;

	snprintf(cursor, sizeof(cursor), "%s%s", after && *after ? "(" : "-",
		 after && *after ? after : "");
	while (done < limit) {
		size_t want = limit - done < PAGE ? limit - done : PAGE;
		const char *argv[7] = { "ZRANGEBYLEX", s->index, cursor, "+", "LIMIT", "0", cnt };
		size_t len[7];
		redisReply *ids;
		size_t n;

		snprintf(cnt, sizeof(cnt), "%zu", want);
		for (int i = 0; i < 7; i++)
			len[i] = strlen(argv[i]);
		if (!(ids = command(s, "list keys", 7, argv, len)))
			return -EIO;
		n = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
		/* one pipelined HMGET per id */
		for (size_t i = 0; i < n; i++) {
			char key[GW_REDIS_PREFIX_MAX + 32];

			key_name(s, ids->element[i]->str, key, sizeof(key));
			redisAppendCommand(
				s->c, "HMGET %s digest plan status created expires label", key);
		}
		for (size_t i = 0; i < n; i++) {
			redisReply *r = NULL;
			gw_key_record_t rec;
			int ret;

			if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
				fail(s, "list keys", s->c->errstr);
				redisFree(s->c);
				s->c = NULL;
				freeReplyObject(ids);
				return -EIO;
			}
			ret = reply_to_record(r, ids->element[i]->str, &rec);
			freeReplyObject(r);
			if (ret)
				continue; /* deleted meanwhile, or corrupt: not trusted */
			if ((ret = cb(arg, &rec))) {
				/* drain the rest of the pipeline before returning */
				for (size_t j = i + 1; j < n; j++)
					if (redisGetReply(s->c, (void **)&r) == REDIS_OK && r)
						freeReplyObject(r);
				freeReplyObject(ids);
				return ret;
			}
		}
		done += n;
		if (n)
			snprintf(cursor, sizeof(cursor), "(%s", ids->element[n - 1]->str);
		freeReplyObject(ids);
		if (n < want)
			break;
	}
	return 0;
}

static int rd_load(gw_store_t *base, gw_store_each_fn cb, void *arg)
{
	return rd_list(base, "", SIZE_MAX, cb, arg);
}

static int rd_insert(gw_store_t *base, const gw_key_record_t *rec)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	char key[GW_REDIS_PREFIX_MAX + 32], digest[65], created[24], expires[24];
	const char *argv[13] = { "EVAL",  insert_lua, "2",
				 key,	  s->index,   rec->id,
				 digest,  rec->plan,  gw_key_status_name(rec->status),
				 created, expires,    rec->label };
	size_t len[13];
	redisReply *r;
	int ret;

	key_name(s, rec->id, key, sizeof(key));
	for (int i = 0; i < 32; i++)
		snprintf(digest + 2 * i, 3, "%02x", rec->digest[i]);
	snprintf(created, sizeof(created), "%lld", (long long)rec->created);
	snprintf(expires, sizeof(expires), "%lld", (long long)rec->expires);
	for (int i = 0; i < 12; i++)
		len[i] = strlen(argv[i]);
	if (!(r = command(s, "add key", 12, argv, len)))
		return -EIO;
	ret = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0 : -EEXIST;
	freeReplyObject(r);
	return ret;
}

static int update(gw_store_redis_t *s, const char *id, const char *field, const char *value)
{
	char key[GW_REDIS_PREFIX_MAX + 32];
	const char *argv[8] = { "EVAL", update_lua, "2", key, s->index, id, field, value };
	size_t len[8];
	redisReply *r;
	int ret;

	key_name(s, id, key, sizeof(key));
	for (int i = 0; i < 8; i++)
		len[i] = strlen(argv[i]);
	if (!(r = command(s, "update key", 8, argv, len)))
		return -EIO;
	ret = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0 : -ENOENT;
	freeReplyObject(r);
	return ret;
}

static int rd_set_status(gw_store_t *base, const char *id, uint8_t status)
{
	return update((gw_store_redis_t *)base, id, "status", gw_key_status_name(status));
}

static int rd_set_plan(gw_store_t *base, const char *id, const char *plan)
{
	return update((gw_store_redis_t *)base, id, "plan", plan);
}

static size_t rd_count(gw_store_t *base)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	const char *argv[2] = { "ZCARD", s->index };
	size_t len[2] = { 5, strlen(s->index) };
	redisReply *r = command(s, "count keys", 2, argv, len);
	size_t n = 0;

	if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
		n = (size_t)r->integer;
	if (r)
		freeReplyObject(r);
	return n;
}

/* ---- the watcher ---- */

static bool stopping(gw_store_redis_t *s)
{
	return __atomic_load_n(&s->watch.stop, __ATOMIC_ACQUIRE);
}

/* Sleep ms in WATCH_POLL_MS steps; false when told to stop. */
static bool nap(gw_store_redis_t *s, uint64_t ms)
{
	while (ms && !stopping(s)) {
		uint64_t step = ms < WATCH_POLL_MS ? ms : WATCH_POLL_MS;

		poll(NULL, 0, (int)step);
		ms -= step;
	}
	return !stopping(s);
}

/* Read announcements from a subscribed context until it fails or we stop. */
static void listen_on(gw_store_redis_t *s, redisContext *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	while (!stopping(s)) {
		redisReply *r = NULL;
		int n = poll(&pfd, 1, WATCH_POLL_MS);

		if (n < 0 && errno != EINTR)
			return;
		if (n <= 0)
			continue;
		if (redisBufferRead(c) != REDIS_OK)
			return;
		while (redisGetReplyFromReader(c, (void **)&r) == REDIS_OK && r) {
			if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    !strcmp(r->element[0]->str, "message") &&
			    r->element[2]->type == REDIS_REPLY_STRING &&
			    r->element[2]->len == GW_APIKEY_ID_LEN)
				s->watch.changed(s->watch.arg, r->element[2]->str);
			freeReplyObject(r);
			r = NULL;
		}
		if (c->err)
			return;
	}
}

static void *watch_run(void *arg)
{
	gw_store_redis_t *s = arg;
	unsigned failures = 0;
	bool first = true;
	char why[200];

	while (!stopping(s)) {
		redisContext *c = connect_ctx(&s->conf, OP_TIMEOUT_MS, why, sizeof(why));
		redisReply *r = NULL;

		if (c)
			r = redisCommand(c, "SUBSCRIBE %s", s->index);
		if (!c || !r || r->type != REDIS_REPLY_ARRAY) {
			if (failures++ == 0)
				pr_warn("key announcements: %s; retrying",
					c ? (r ? "SUBSCRIBE refused" : c->errstr) : why);
			if (r)
				freeReplyObject(r);
			if (c)
				redisFree(c);
			nap(s, gw_redis_backoff_ms(failures - 1));
			continue;
		}
		freeReplyObject(r);
		if (!first) {
			/* Announcements may have been missed while unsubscribed. */
			pr_info("key announcements: subscribed again; reloading every key");
			s->watch.resync(s->watch.arg);
		}
		first = false;
		failures = 0;
		listen_on(s, c);
		redisFree(c);
	}
	return NULL;
}

int gw_store_redis_watch(gw_store_t *base, gw_store_changed_fn changed, void (*resync)(void *),
			 void *arg)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	int rc;

	s->watch.changed = changed;
	s->watch.resync = resync;
	s->watch.arg = arg;
	if ((rc = pthread_create(&s->watch.tid, NULL, watch_run, s))) {
		pr_err("Couldn't start the key announcement thread: %s", strerror(rc));
		return -rc;
	}
	s->watch.started = true;
	return 0;
}

static void rd_close(gw_store_t *base)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;

	if (s->watch.started) {
		__atomic_store_n(&s->watch.stop, 1, __ATOMIC_RELEASE);
		pthread_join(s->watch.tid, NULL);
	}
	if (s->c)
		redisFree(s->c);
	free(s);
}

static const gw_store_ops_t redis_ops = {
	.name = "redis",
	.load = rd_load,
	.insert = rd_insert,
	.get = rd_get,
	.set_status = rd_set_status,
	.set_plan = rd_set_plan,
	.list = rd_list,
	.count = rd_count,
	.close = rd_close,
};

gw_store_t *gw_store_redis_open(const gw_redis_conf_t *conf, char *err, size_t errlen)
{
	gw_store_redis_t *s = calloc(1, sizeof(*s));
	char why[200];

	if (!s) {
		snprintf(err, errlen, "Couldn't open the Redis key store: out of memory");
		return NULL;
	}
	s->super.ops = &redis_ops;
	s->conf = *conf;
	snprintf(s->index, sizeof(s->index), "%skeys", conf->prefix);
	if (!(s->c = connect_ctx(conf, OP_TIMEOUT_MS, why, sizeof(why)))) {
		snprintf(err, errlen, "Couldn't open the Redis key store: %s", why);
		free(s);
		return NULL;
	}
	return &s->super;
}

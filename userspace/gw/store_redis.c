/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * store_redis.c - the cluster key store: API keys as Redis hashes (see store.h).
 *
 *   PREFIXkey:ID   hash  digest (hex), plan, status, created, expires, label
 *   PREFIXkeys     zset  every ID at score 0, so ZRANGEBYLEX pages through them in order
 *   PREFIXkeys     channel: the ID of every key written, by any node
 *   PREFIXaudit    zset  the audit log: score = unix time, member = the 20-digit sequence
 *                        number then the entry as JSON (equal times sort by sequence)
 *   PREFIXaudit:seq      the last sequence number given out (INCR)
 *
 * A transaction (begin .. end) holds its key change and audit entries in memory - the
 * change is checked against Redis when made (-EEXIST, -ENOENT), so the admin API answers
 * as with SQLite - and end() sends them as ONE script: the check again, the change, the
 * entries and the announcement, atomically, or nothing at all. Quota counters are not
 * kept here: in cluster mode they live in Redis already (cluster.h), so usage_save and
 * usage_load stay NULL and the SQLite flusher has nothing to write or double-count.
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
#include <jansson.h>

#include "log.h"
#include "gw/keys.h"
#include "gw/redis.h"
#include "gw/store.h"

/* Bound on one store operation (admin and reload paths, never the request path). */
#define OP_TIMEOUT_MS 5000
/* Keys per ZRANGEBYLEX page while loading or listing. */
#define PAGE	      1000
/* How often the watcher looks at its stop flag while idle. */
#define WATCH_POLL_MS 200
/* Audit entries one transaction may carry. */
#define TXN_AUDIT_MAX 4
/* Digits of the sequence number that starts an audit member. */
#define SEQ_DIGITS    20

typedef struct st_gw_store_redis_t {
	gw_store_t super;
	gw_redis_conf_t conf;
	redisContext *c; /* NULL until (re)connected */
	char index[GW_REDIS_PREFIX_MAX + 8];
	char audit[GW_REDIS_PREFIX_MAX + 8];
	char audit_seq[GW_REDIS_PREFIX_MAX + 12];
	struct {
		bool active;
		char op; /* 0 none, 'I' insert, 'U' update */
		gw_key_record_t rec;
		char field[16];
		char value[GW_NAME_MAX + 1];
		size_t naudit;
		char atime[TXN_AUDIT_MAX][24];
		char *apayload[TXN_AUDIT_MAX];
	} txn;
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

/*
 * A transaction's commit. KEYS[1] the index, [2] the audit sequence, [3] the audit log,
 * [4] the key hash (with a key change). ARGV[1] 'I' insert, 'U' update, '-' none;
 * [2] the id; insert: [3..8] digest plan status created expires label; update: [3] field,
 * [4] value; [9] audit entries n, then time and JSON of each. 1 done, 0 key check failed.
 */
static const char commit_lua[] =
	"local op = ARGV[1]\n"
	"if op == 'I' then\n"
	"  if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n"
	"  redis.call('HSET', KEYS[4], 'digest', ARGV[3], 'plan', ARGV[4], 'status', ARGV[5],"
	" 'created', ARGV[6], 'expires', ARGV[7], 'label', ARGV[8])\n"
	"  redis.call('ZADD', KEYS[1], 0, ARGV[2])\n"
	"elseif op == 'U' then\n"
	"  if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end\n"
	"  redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])\n"
	"end\n"
	"for i = 1, tonumber(ARGV[9]) do\n"
	"  local seq = redis.call('INCR', KEYS[2])\n"
	"  redis.call('ZADD', KEYS[3], ARGV[8 + 2 * i],"
	" string.format('%020d', seq) .. ARGV[9 + 2 * i])\n"
	"end\n"
	"if op ~= '-' then redis.call('PUBLISH', KEYS[1], ARGV[2]) end\n"
	"return 1\n";

static const gw_store_ops_t redis_ops;

static int fail(gw_store_redis_t *s, const char *what, const char *why)
{
	snprintf(s->super.errmsg, sizeof(s->super.errmsg), "Couldn't %s: %s", what, why);
	return -EIO;
}

/* Run a command (argv form); one reconnection on an I/O error. NULL with errmsg set. */
static redisReply *command(gw_store_redis_t *s, const char *what, int argc, const char **argv,
			   const size_t *len)
{
	char why[200];

	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *r;

		if (!s->c &&
		    !(s->c = gw_redis_connect_sync(&s->conf, OP_TIMEOUT_MS, why, sizeof(why)))) {
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

static int key_exists(gw_store_redis_t *s, const char *id);
static int txn_key_op(gw_store_redis_t *s, char op, const char *id);

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

	if (s->txn.active) {
		if ((ret = txn_key_op(s, 'I', rec->id)))
			return ret;
		s->txn.rec = *rec;
		return 0;
	}
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

	if (s->txn.active) {
		if ((ret = txn_key_op(s, 'U', id)))
			return ret;
		snprintf(s->txn.rec.id, sizeof(s->txn.rec.id), "%s", id);
		snprintf(s->txn.field, sizeof(s->txn.field), "%s", field);
		snprintf(s->txn.value, sizeof(s->txn.value), "%s", value);
		return 0;
	}
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

/* ---- transactions and the audit log ---- */

/* 1 when key id exists, 0 when not, -EIO. */
static int key_exists(gw_store_redis_t *s, const char *id)
{
	char key[GW_REDIS_PREFIX_MAX + 32];
	const char *argv[2] = { "EXISTS", key };
	size_t len[2];
	redisReply *r;
	int ret;

	key_name(s, id, key, sizeof(key));
	len[0] = 6;
	len[1] = strlen(key);
	if (!(r = command(s, "read key", 2, argv, len)))
		return -EIO;
	ret = r->type == REDIS_REPLY_INTEGER ? r->integer == 1 : -EIO;
	freeReplyObject(r);
	if (ret < 0)
		fail(s, "read key", "unexpected EXISTS reply");
	return ret;
}

/* Record a transaction's key change after checking it as the commit will. */
static int txn_key_op(gw_store_redis_t *s, char op, const char *id)
{
	int ex;

	if (s->txn.op)
		return fail(s, "write key", "one key change per transaction");
	if ((ex = key_exists(s, id)) < 0)
		return ex;
	if (op == 'I' && ex)
		return -EEXIST;
	if (op == 'U' && !ex)
		return -ENOENT;
	s->txn.op = op;
	return 0;
}

static void txn_clear(gw_store_redis_t *s)
{
	for (size_t i = 0; i < s->txn.naudit; i++)
		free(s->txn.apayload[i]);
	memset(&s->txn, 0, sizeof(s->txn));
}

/* Send the transaction's writes as one script. 0, or -EIO (nothing written). */
static int txn_commit(gw_store_redis_t *s)
{
	char key[GW_REDIS_PREFIX_MAX + 32], digest[65], created[24], expires[24], n[8];
	const char *argv[7 + 9 + 2 * TXN_AUDIT_MAX];
	size_t len[sizeof(argv) / sizeof(argv[0])];
	const gw_key_record_t *rec = &s->txn.rec;
	char op[2] = { s->txn.op ? s->txn.op : '-', 0 };
	int argc = 0, nk = s->txn.op ? 4 : 3;
	redisReply *r;
	int ret;

	argv[argc++] = "EVAL";
	argv[argc++] = commit_lua;
	argv[argc++] = nk == 4 ? "4" : "3";
	argv[argc++] = s->index;
	argv[argc++] = s->audit_seq;
	argv[argc++] = s->audit;
	if (nk == 4) {
		key_name(s, rec->id, key, sizeof(key));
		argv[argc++] = key;
	}
	argv[argc++] = op;
	argv[argc++] = rec->id;
	for (int i = 0; i < 32; i++)
		snprintf(digest + 2 * i, 3, "%02x", rec->digest[i]);
	snprintf(created, sizeof(created), "%lld", (long long)rec->created);
	snprintf(expires, sizeof(expires), "%lld", (long long)rec->expires);
	if (s->txn.op == 'I') {
		const char *v[6] = { digest,  rec->plan, gw_key_status_name(rec->status),
				     created, expires,	 rec->label };

		for (int i = 0; i < 6; i++)
			argv[argc++] = v[i];
	} else {
		const char *v[6] = { s->txn.field, s->txn.value, "", "", "", "" };

		for (int i = 0; i < 6; i++)
			argv[argc++] = v[i];
	}
	snprintf(n, sizeof(n), "%zu", s->txn.naudit);
	argv[argc++] = n;
	for (size_t i = 0; i < s->txn.naudit; i++) {
		argv[argc++] = s->txn.atime[i];
		argv[argc++] = s->txn.apayload[i];
	}
	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if (!(r = command(s, "commit", argc, argv, len)))
		return -EIO;
	ret = r->type == REDIS_REPLY_INTEGER && r->integer == 1
		      ? 0
		      : fail(s, "commit", "the key was changed by another node meanwhile");
	freeReplyObject(r);
	return ret;
}

static int rd_begin(gw_store_t *base)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;

	txn_clear(s);
	s->txn.active = true;
	return 0;
}

static int rd_end(gw_store_t *base, int commit)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	int ret = 0;

	if (commit && s->txn.active && (s->txn.op || s->txn.naudit))
		ret = txn_commit(s);
	txn_clear(s);
	return ret;
}

char *gw_store_redis_audit_json(const gw_audit_entry_t *e)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "time", (json_int_t)e->time, "actor",
			      e->actor, "action", e->action, "target", e->target);
	char *out;

	if (!o)
		return NULL;
	json_object_set_new(o, "before", e->before ? json_string(e->before) : json_null());
	json_object_set_new(o, "after", e->after ? json_string(e->after) : json_null());
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static int rd_audit_append(gw_store_t *base, const gw_audit_entry_t *e)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	bool own = !s->txn.active;
	char *p;
	int ret;

	if (s->txn.active && s->txn.naudit >= TXN_AUDIT_MAX)
		return fail(s, "append to the audit log", "too many entries in one transaction");
	if (!(p = gw_store_redis_audit_json(e)))
		return -ENOMEM;
	if (own)
		rd_begin(base);
	snprintf(s->txn.atime[s->txn.naudit], sizeof(s->txn.atime[0]), "%lld", (long long)e->time);
	s->txn.apayload[s->txn.naudit++] = p;
	if (!own)
		return 0;
	ret = txn_commit(s);
	txn_clear(s);
	return ret;
}

int gw_store_redis_audit_parse(const char *m, size_t len, gw_audit_entry_t *e, json_t **doc)
{
	json_t *o, *b, *a;
	const char *actor, *action, *target;
	json_int_t t;
	char seq[SEQ_DIGITS + 1];

	if (len <= SEQ_DIGITS)
		return -EIO;
	memcpy(seq, m, SEQ_DIGITS);
	seq[SEQ_DIGITS] = 0;
	if (!(o = json_loadb(m + SEQ_DIGITS, len - SEQ_DIGITS, 0, NULL)))
		return -EIO;
	if (json_unpack(o, "{s:I, s:s, s:s, s:s, s:o, s:o}", "time", &t, "actor", &actor, "action",
			&action, "target", &target, "before", &b, "after", &a) ||
	    (!json_is_null(b) && !json_is_string(b)) || (!json_is_null(a) && !json_is_string(a))) {
		json_decref(o);
		return -EIO;
	}
	memset(e, 0, sizeof(*e));
	e->seq = strtoll(seq, NULL, 10);
	e->time = (int64_t)t;
	snprintf(e->actor, sizeof(e->actor), "%s", actor);
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->target, sizeof(e->target), "%s", target);
	e->before = json_string_value(b);
	e->after = json_string_value(a);
	*doc = o;
	return 0;
}

static int rd_audit_list(gw_store_t *base, int64_t since, size_t limit, gw_store_audit_fn cb,
			 void *arg)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;
	char min[24], off[24], cnt[24];
	size_t done = 0;

	snprintf(min, sizeof(min), "%lld", (long long)since);
	while (done < limit) {
		size_t want = limit - done < PAGE ? limit - done : PAGE;
		const char *argv[7] = { "ZRANGEBYSCORE", s->audit, min, "+inf", "LIMIT", off, cnt };
		size_t len[7];
		redisReply *r;
		size_t n;

		snprintf(off, sizeof(off), "%zu", done);
		snprintf(cnt, sizeof(cnt), "%zu", want);
		for (int i = 0; i < 7; i++)
			len[i] = strlen(argv[i]);
		if (!(r = command(s, "read the audit log", 7, argv, len)))
			return -EIO;
		n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		for (size_t i = 0; i < n; i++) {
			gw_audit_entry_t e;
			json_t *doc;
			int ret;

			if (r->element[i]->type != REDIS_REPLY_STRING ||
			    gw_store_redis_audit_parse(r->element[i]->str, r->element[i]->len, &e,
						       &doc)) {
				pr_warn("audit log: a malformed entry in Redis, skipped");
				continue;
			}
			ret = cb(arg, &e);
			json_decref(doc);
			if (ret) {
				freeReplyObject(r);
				return ret;
			}
		}
		done += n;
		freeReplyObject(r);
		if (n < want)
			break;
	}
	return 0;
}

int gw_store_redis_command(gw_store_t *base, int argc, const char **argv, const size_t *len,
			   redisReply **out)
{
	gw_store_redis_t *s = (gw_store_redis_t *)base;

	if (base->ops != &redis_ops)
		return -EOPNOTSUPP;
	*out = command(s, "read cluster state", argc, argv, len);
	return *out ? 0 : -EIO;
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
		redisContext *c = gw_redis_connect_sync(&s->conf, OP_TIMEOUT_MS, why, sizeof(why));
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
	pthread_setname_np(s->watch.tid, "fg-keywatch");
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
	txn_clear(s);
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
	.audit_append = rd_audit_append,
	.audit_list = rd_audit_list,
	.begin = rd_begin,
	.end = rd_end,
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
	snprintf(s->audit, sizeof(s->audit), "%saudit", conf->prefix);
	snprintf(s->audit_seq, sizeof(s->audit_seq), "%saudit:seq", conf->prefix);
	if (!(s->c = gw_redis_connect_sync(conf, OP_TIMEOUT_MS, why, sizeof(why)))) {
		snprintf(err, errlen, "Couldn't open the Redis key store: %s", why);
		free(s);
		return NULL;
	}
	return &s->super;
}

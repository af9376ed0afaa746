/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * store.h - where API keys live durably, behind one small interface.
 *
 * The embedded backend is SQLite in WAL mode (store_sqlite.c); a Redis backend for the
 * cluster mode plugs in behind the same operations. Only digests are stored, never keys.
 * The daemon reads the whole store into the in-memory table (keys.h) at start and on
 * SIGHUP; the admin thread writes through it. No worker thread ever calls into a store.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/apikey.h"
#include "gw/intern.h"
#include "gw/usage.h"
#include "gw/redis_conf.h"

/* Longest key label. */
#define GW_LABEL_MAX 256

typedef struct st_gw_key_record_t {
	uint8_t digest[32];
	char id[GW_APIKEY_ID_LEN + 1]; /* hex of digest[0..8) */
	char plan[GW_NAME_MAX + 1];
	uint8_t status;	 /* enum gw_key_status */
	int64_t created; /* unix seconds */
	int64_t expires; /* unix seconds, 0 = never */
	char label[GW_LABEL_MAX + 1];
} gw_key_record_t;

typedef struct st_gw_store_t gw_store_t;

/* Called per record; a non-zero return stops the walk and is returned by the walker. */
typedef int (*gw_store_each_fn)(void *arg, const gw_key_record_t *r);

/* One audit log entry: an admin action with the key (or config) before and after. */
typedef struct st_gw_audit_entry_t {
	int64_t seq;	    /* assigned by the store, increasing */
	int64_t time;	    /* unix seconds */
	char actor[64];	    /* who: "token:" + the first 8 hex digits of sha256(token) */
	char action[32];    /* "key.create", "key.block", "key.plan", "reload", ... */
	char target[64];    /* a key id, or "config" */
	const char *before; /* JSON text, or NULL */
	const char *after;  /* JSON text, or NULL */
} gw_audit_entry_t;

typedef int (*gw_store_usage_fn)(void *arg, const gw_usage_row_t *r);
typedef int (*gw_store_audit_fn)(void *arg, const gw_audit_entry_t *e);

typedef struct st_gw_store_ops_t {
	const char *name;
	int (*load)(gw_store_t *s, gw_store_each_fn cb, void *arg);
	int (*insert)(gw_store_t *s, const gw_key_record_t *r);
	int (*get)(gw_store_t *s, const char *id, gw_key_record_t *out);
	int (*set_status)(gw_store_t *s, const char *id, uint8_t status);
	int (*set_plan)(gw_store_t *s, const char *id, const char *plan);
	int (*list)(gw_store_t *s, const char *after_id, size_t limit, gw_store_each_fn cb,
		    void *arg);
	size_t (*count)(gw_store_t *s);
	void (*close)(gw_store_t *s);
	/* Quota counters and the audit log (usage.h, audit.h); NULL: not kept by this store
	 * (the wrappers below then answer -EOPNOTSUPP, or load nothing). */
	int (*usage_save)(gw_store_t *s, const gw_usage_row_t *rows, size_t n); /* one txn */
	int (*usage_load)(gw_store_t *s, gw_store_usage_fn cb, void *arg);
	int (*audit_append)(gw_store_t *s, const gw_audit_entry_t *e);
	int (*audit_list)(gw_store_t *s, int64_t since, size_t limit, gw_store_audit_fn cb,
			  void *arg);
	/* One transaction around a change and its audit entry; NULL: not supported. */
	int (*begin)(gw_store_t *s);
	int (*end)(gw_store_t *s, int commit);
} gw_store_ops_t;

struct st_gw_store_t {
	const gw_store_ops_t *ops;
	char errmsg[256]; /* why the last operation failed */
};

/*
 * Operations return 0, -ENOENT (no such id), -EEXIST (insert of a digest or id already
 * there) or -EIO with s->errmsg set.
 */
static inline int gw_store_load(gw_store_t *s, gw_store_each_fn cb, void *arg)
{
	return s->ops->load(s, cb, arg);
}
static inline int gw_store_insert(gw_store_t *s, const gw_key_record_t *r)
{
	return s->ops->insert(s, r);
}
static inline int gw_store_get(gw_store_t *s, const char *id, gw_key_record_t *out)
{
	return s->ops->get(s, id, out);
}
static inline int gw_store_set_status(gw_store_t *s, const char *id, uint8_t status)
{
	return s->ops->set_status(s, id, status);
}
static inline int gw_store_set_plan(gw_store_t *s, const char *id, const char *plan)
{
	return s->ops->set_plan(s, id, plan);
}
/* Records in id order, strictly after after_id ("" = from the start), at most limit. */
static inline int gw_store_list(gw_store_t *s, const char *after_id, size_t limit,
				gw_store_each_fn cb, void *arg)
{
	return s->ops->list(s, after_id, limit, cb, arg);
}
static inline size_t gw_store_count(gw_store_t *s)
{
	return s->ops->count(s);
}
static inline void gw_store_close(gw_store_t *s)
{
	if (s)
		s->ops->close(s);
}

/* Write counter rows (insert or replace) in one transaction. */
static inline int gw_store_usage_save(gw_store_t *s, const gw_usage_row_t *rows, size_t n)
{
	return s->ops->usage_save ? s->ops->usage_save(s, rows, n) : -EOPNOTSUPP;
}
/* Every stored counter row. */
static inline int gw_store_usage_load(gw_store_t *s, gw_store_usage_fn cb, void *arg)
{
	return s->ops->usage_load ? s->ops->usage_load(s, cb, arg) : 0;
}
/* Append an audit entry (durable when this returns 0). */
static inline int gw_store_audit_append(gw_store_t *s, const gw_audit_entry_t *e)
{
	return s->ops->audit_append ? s->ops->audit_append(s, e) : -EOPNOTSUPP;
}
/* Audit entries with time >= since, oldest first, at most limit. */
static inline int gw_store_audit_list(gw_store_t *s, int64_t since, size_t limit,
				      gw_store_audit_fn cb, void *arg)
{
	return s->ops->audit_list ? s->ops->audit_list(s, since, limit, cb, arg) : -EOPNOTSUPP;
}

/* Start a transaction (a key change and its audit entry commit together). */
static inline int gw_store_begin(gw_store_t *s)
{
	return s->ops->begin ? s->ops->begin(s) : 0;
}
/* Commit (commit != 0) or roll back the transaction; a failed commit rolls back. */
static inline int gw_store_end(gw_store_t *s, int commit)
{
	return s->ops->end ? s->ops->end(s, commit) : 0;
}

/* Open (creating if needed) the SQLite store at path. NULL with err set on failure. */
gw_store_t *gw_store_sqlite_open(const char *path, char *err, size_t errlen);

/* Connect to the Redis key store of conf (store_redis.c). NULL with err set on failure. */
gw_store_t *gw_store_redis_open(const gw_redis_conf_t *conf, char *err, size_t errlen);

/* Called with the id of a key written by any node (from the watcher's own thread). */
typedef void (*gw_store_changed_fn)(void *arg, const char *id);

/*
 * Redis store only: follow every node's key writes. changed(arg, id) for each announced
 * key; resync(arg) after the subscription was lost and is back (announcements may have
 * been missed). Runs until the store is closed. 0 or -errno.
 */
int gw_store_redis_watch(gw_store_t *s, gw_store_changed_fn changed, void (*resync)(void *arg),
			 void *arg);

/*
 * Redis store only: run one command (argv form, as redisCommandArgv) on the store's
 * connection - the admin thread's synchronous reads of cluster state (usage counters).
 * The caller holds the store lock and frees *out (freeReplyObject). 0 or -EIO (errmsg).
 */
struct redisReply;
int gw_store_redis_command(gw_store_t *s, int argc, const char **argv, const size_t *len,
			   struct redisReply **out);

/*
 * Redis store's audit members (pure; unit-tested): an entry as the JSON stored after its
 * sequence number (malloc'd, NULL on allocation failure), and a member ("%020lld" seq
 * then that JSON) back to an entry whose strings live as long as *doc (json_decref it).
 * 0, or -EIO for a malformed member.
 */
struct json_t;
char *gw_store_redis_audit_json(const gw_audit_entry_t *e);
int gw_store_redis_audit_parse(const char *m, size_t len, gw_audit_entry_t *e, struct json_t **doc);

#endif /* GW_STORE_H */

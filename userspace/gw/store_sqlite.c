/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * store_sqlite.c - the embedded key store: one SQLite database in WAL mode (see store.h).
 *
 * WAL lets `sqlite3 keys.db 'select ...'` read while the daemon writes, and makes each
 * admin change one fsync'd append. The connection is opened in serialized mode because the
 * main thread (start, SIGHUP) and the admin thread both use it, never at the same time in
 * practice. Status is stored as text so the database reads well by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw/keys.h"
#include "gw/store.h"

/* How long a write waits for another process's lock (the sqlite3 shell, a backup). */
#define BUSY_TIMEOUT_MS 5000
#define SCHEMA_VERSION	1

typedef struct st_gw_store_sqlite_t {
	gw_store_t super;
	sqlite3 *db;
} gw_store_sqlite_t;

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS keys ("
	" id TEXT PRIMARY KEY,"
	" digest BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),"
	" plan TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'revoked')),"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL DEFAULT 0,"
	" label TEXT NOT NULL DEFAULT ''"
	");"
	/* Quota counters, one row per key and counter kind (usage.h); written by the flusher. */
	"CREATE TABLE IF NOT EXISTS usage ("
	" key_id TEXT NOT NULL,"
	" kind INTEGER NOT NULL,"
	" period TEXT NOT NULL,"
	" used INTEGER NOT NULL,"
	" overage INTEGER NOT NULL,"
	" reset_at INTEGER NOT NULL,"
	" PRIMARY KEY (key_id, kind)"
	") WITHOUT ROWID;"
	/* Admin actions (audit.h); append-only. */
	"CREATE TABLE IF NOT EXISTS audit ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" before TEXT,"
	" after TEXT"
	");"
	"CREATE INDEX IF NOT EXISTS audit_time ON audit (time);";

#define COLS "id, digest, plan, status, created, expires, label"

static int db_error(gw_store_sqlite_t *s, const char *what)
{
	snprintf(s->super.errmsg, sizeof(s->super.errmsg), "Couldn't %s: %s", what,
		 sqlite3_errmsg(s->db));
	return -EIO;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static int row_to_record(sqlite3_stmt *st, gw_key_record_t *r)
{
	int status;

	memset(r, 0, sizeof(*r));
	copy_text(r->id, sizeof(r->id), sqlite3_column_text(st, 0));
	if (sqlite3_column_bytes(st, 1) != 32)
		return -EIO;
	memcpy(r->digest, sqlite3_column_blob(st, 1), 32);
	copy_text(r->plan, sizeof(r->plan), sqlite3_column_text(st, 2));
	status = gw_key_status_of((const char *)sqlite3_column_text(st, 3));
	r->status = status < 0 ? GW_KEY_REVOKED : (uint8_t)status;
	r->created = sqlite3_column_int64(st, 4);
	r->expires = sqlite3_column_int64(st, 5);
	copy_text(r->label, sizeof(r->label), sqlite3_column_text(st, 6));
	return 0;
}

/* Run a prepared statement and hand every row to cb. */
static int each_row(gw_store_sqlite_t *s, sqlite3_stmt *st, gw_store_each_fn cb, void *arg)
{
	gw_key_record_t r;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row_to_record(st, &r))
			continue; /* a corrupt row is skipped, not trusted */
		if ((ret = cb(arg, &r)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "read keys");
	sqlite3_finalize(st);
	return ret;
}

static int sq_load(gw_store_t *base, gw_store_each_fn cb, void *arg)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM keys", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "read keys");
	return each_row(s, st, cb, arg);
}

static int sq_list(gw_store_t *base, const char *after, size_t limit, gw_store_each_fn cb,
		   void *arg)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT " COLS " FROM keys WHERE id > ?1 ORDER BY id LIMIT ?2", -1,
			       &st, NULL) != SQLITE_OK)
		return db_error(s, "list keys");
	sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	return each_row(s, st, cb, arg);
}

static int sq_insert(gw_store_t *base, const gw_key_record_t *r)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "INSERT INTO keys (" COLS ") VALUES (?,?,?,?,?,?,?)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(s, "add key");
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, r->digest, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->plan, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, gw_key_status_name(r->status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->created);
	sqlite3_bind_int64(st, 6, r->expires);
	sqlite3_bind_text(st, 7, r->label, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc != SQLITE_DONE)
		return db_error(s, "add key");
	return 0;
}

static int sq_get(gw_store_t *base, const char *id, gw_key_record_t *out)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;
	int rc, ret;

	if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM keys WHERE id = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_error(s, "read key");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = row_to_record(st, out);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = db_error(s, "read key");
	sqlite3_finalize(st);
	return ret;
}

static int update(gw_store_sqlite_t *s, const char *sql, const char *id, const char *value)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "update key");
	sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(s, "update key");
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

static int sq_set_status(gw_store_t *base, const char *id, uint8_t status)
{
	return update((gw_store_sqlite_t *)base, "UPDATE keys SET status = ?1 WHERE id = ?2", id,
		      gw_key_status_name(status));
}

static int sq_set_plan(gw_store_t *base, const char *id, const char *plan)
{
	return update((gw_store_sqlite_t *)base, "UPDATE keys SET plan = ?1 WHERE id = ?2", id,
		      plan);
}

static size_t sq_count(gw_store_t *base)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;
	size_t n = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM keys", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void sq_close(gw_store_t *base)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;

	sqlite3_close(s->db);
	free(s);
}

/* ---- quota counters and audit log ---- */

static int sq_usage_save(gw_store_t *base, const gw_usage_row_t *rows, size_t n)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st = NULL;
	char id[17];
	int ret = 0;

	if (!n)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, "save usage");
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO usage (key_id, kind, period, used, overage, "
			       "reset_at) VALUES (?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		ret = db_error(s, "save usage");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)rows[i].key);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, rows[i].kind);
		sqlite3_bind_text(st, 3, rows[i].period, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)rows[i].used);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)rows[i].overage);
		sqlite3_bind_int64(st, 6, rows[i].reset_at);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ret = db_error(s, "save usage");
			goto out;
		}
		sqlite3_reset(st);
	}
out:
	sqlite3_finalize(st);
	if (ret) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return ret;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		ret = db_error(s, "commit usage");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return ret;
}

static int sq_usage_load(gw_store_t *base, gw_store_usage_fn cb, void *arg)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT key_id, kind, period, used, overage, reset_at FROM usage",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "read usage");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gw_usage_row_t r = { 0 };
		const unsigned char *id = sqlite3_column_text(st, 0);
		int kind = sqlite3_column_int(st, 1);

		/* A row that does not parse is skipped, not trusted. */
		if (gw_usage_key_of_id((const char *)id, &r.key) || kind < 0 ||
		    kind >= GW_QUOTA_KINDS || sqlite3_column_int64(st, 3) < 0 ||
		    sqlite3_column_int64(st, 4) < 0)
			continue;
		r.kind = (uint8_t)kind;
		copy_text(r.period, sizeof(r.period), sqlite3_column_text(st, 2));
		r.used = (uint64_t)sqlite3_column_int64(st, 3);
		r.overage = (uint64_t)sqlite3_column_int64(st, 4);
		r.reset_at = sqlite3_column_int64(st, 5);
		if ((ret = cb(arg, &r)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "read usage");
	sqlite3_finalize(st);
	return ret;
}

static int sq_audit_append(gw_store_t *base, const gw_audit_entry_t *e)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO audit (time, actor, action, target, before, after) "
			       "VALUES (?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "append to the audit log");
	sqlite3_bind_int64(st, 1, e->time);
	sqlite3_bind_text(st, 2, e->actor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, e->action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, e->target, -1, SQLITE_TRANSIENT);
	if (e->before)
		sqlite3_bind_text(st, 5, e->before, -1, SQLITE_TRANSIENT);
	if (e->after)
		sqlite3_bind_text(st, 6, e->after, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, "append to the audit log");
}

static int sq_audit_list(gw_store_t *base, int64_t since, size_t limit, gw_store_audit_fn cb,
			 void *arg)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT seq, time, actor, action, target, before, after FROM audit "
			       "WHERE time >= ?1 ORDER BY seq LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "read the audit log");
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gw_audit_entry_t e = { 0 };

		e.seq = sqlite3_column_int64(st, 0);
		e.time = sqlite3_column_int64(st, 1);
		copy_text(e.actor, sizeof(e.actor), sqlite3_column_text(st, 2));
		copy_text(e.action, sizeof(e.action), sqlite3_column_text(st, 3));
		copy_text(e.target, sizeof(e.target), sqlite3_column_text(st, 4));
		e.before = (const char *)sqlite3_column_text(st, 5);
		e.after = (const char *)sqlite3_column_text(st, 6);
		if ((ret = cb(arg, &e)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "read the audit log");
	sqlite3_finalize(st);
	return ret;
}

static int sq_begin(gw_store_t *base)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, "begin a transaction");
	return 0;
}

static int sq_end(gw_store_t *base, int commit)
{
	gw_store_sqlite_t *s = (gw_store_sqlite_t *)base;
	int ret = 0;

	if (commit && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		ret = db_error(s, "commit");
		commit = 0;
	}
	if (!commit)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static const gw_store_ops_t sqlite_ops = {
	.name = "sqlite",
	.load = sq_load,
	.insert = sq_insert,
	.get = sq_get,
	.set_status = sq_set_status,
	.set_plan = sq_set_plan,
	.list = sq_list,
	.count = sq_count,
	.close = sq_close,
	.usage_save = sq_usage_save,
	.usage_load = sq_usage_load,
	.audit_append = sq_audit_append,
	.audit_list = sq_audit_list,
	.begin = sq_begin,
	.end = sq_end,
};

gw_store_t *gw_store_sqlite_open(const char *path, char *err, size_t errlen)
{
	gw_store_sqlite_t *s = calloc(1, sizeof(*s));
	char *msg = NULL;
	int version = 0;
	sqlite3_stmt *st;

	if (!s) {
		snprintf(err, errlen, "Couldn't open key store %s: out of memory", path);
		return NULL;
	}
	s->super.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "Couldn't open key store %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
			 &msg) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "Couldn't set up key store %s: %s", path,
			 msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "Couldn't use key store %s: schema version %d is newer than "
			 "this floodgate's %d",
			 path, version, SCHEMA_VERSION);
		goto fail;
	}
	if (version < SCHEMA_VERSION)
		sqlite3_exec(s->db, "PRAGMA user_version = 1", NULL, NULL, NULL);
	return &s->super;
fail:
	if (s->db)
		sqlite3_close(s->db);
	free(s);
	return NULL;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banstore.c - bans in SQLite (see banstore.h). The network is stored as text
 * ("198.18.0.1/32", "2001:2::/64"): readable by hand and parsed back strictly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gw/banorigin.h"
#include "gw/banstore.h"

#define BUSY_TIMEOUT_MS 5000

struct st_gw_banstore_t {
	sqlite3 *db;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS bans ("
			     " cidr TEXT PRIMARY KEY,"
			     " reason TEXT NOT NULL,"
			     " score INTEGER NOT NULL,"
			     " created INTEGER NOT NULL,"
			     " expires INTEGER NOT NULL,"
			     " offences INTEGER NOT NULL,"
			     " edge INTEGER NOT NULL DEFAULT 0,"
			     " origin TEXT"
			     ");";

/* A table made before the origin column: add it (its rows keep origin NULL, "unknown"). */
static int add_origin_column(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT origin FROM bans LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return SQLITE_OK;
	}
	return sqlite3_exec(db, "ALTER TABLE bans ADD COLUMN origin TEXT", NULL, NULL, NULL);
}

static int db_error(gw_banstore_t *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "Couldn't %s: %s", what, sqlite3_errmsg(s->db));
	return -EIO;
}

gw_banstore_t *gw_banstore_open(const char *path, char *err, size_t errlen)
{
	gw_banstore_t *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "Couldn't open the ban store: out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    add_origin_column(s->db) != SQLITE_OK) {
		snprintf(err, errlen, "Couldn't open the ban store %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		gw_banstore_close(s);
		return NULL;
	}
	return s;
}

void gw_banstore_close(gw_banstore_t *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

int gw_banstore_put(gw_banstore_t *s, const gw_ban_t *b, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char c[FG_CIDR_STRLEN];
	int rc;

	if (sqlite3_prepare_v2(
		    s->db,
		    "INSERT OR REPLACE INTO bans (cidr, reason, score, created, expires, "
		    "offences, edge, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		    -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "store a ban", err, errlen);
	sqlite3_bind_text(st, 1, fg_cidr_format_full(&b->cidr, c, sizeof(c)), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, b->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)b->score);
	sqlite3_bind_int64(st, 4, b->created);
	sqlite3_bind_int64(st, 5, b->expires);
	sqlite3_bind_int64(st, 6, b->offences);
	sqlite3_bind_int(st, 7, b->edge);
	if (b->origin[0])
		sqlite3_bind_text(st, 8, b->origin, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 8);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, "store a ban", err, errlen);
}

int gw_banstore_lift(gw_banstore_t *s, const struct fg_cidr *cidr, int64_t now, char *err,
		     size_t errlen)
{
	sqlite3_stmt *st;
	char c[FG_CIDR_STRLEN];
	int rc;

	if (sqlite3_prepare_v2(s->db, "UPDATE bans SET expires = ? WHERE cidr = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(s, "lift a ban", err, errlen);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, fg_cidr_format_full(cidr, c, sizeof(c)), -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(s, "lift a ban", err, errlen);
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int gw_banstore_prune(gw_banstore_t *s, int64_t before, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM bans WHERE expires < ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_error(s, "prune bans", err, errlen);
	sqlite3_bind_int64(st, 1, before);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, "prune bans", err, errlen);
}

int gw_banstore_load(gw_banstore_t *s, int (*fn)(void *arg, const gw_ban_t *b), void *arg,
		     char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT cidr, reason, score, created, expires, offences, edge, "
			       "origin FROM bans",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "read the bans", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		const char *r = (const char *)sqlite3_column_text(st, 1), *o;
		gw_ban_t b = { 0 };

		if (!c || fg_cidr_parse(c, &b.cidr, NULL))
			continue; /* a row edited into nonsense is skipped, not trusted */
		snprintf(b.reason, sizeof(b.reason), "%s", r ? r : "");
		b.score = (uint64_t)sqlite3_column_int64(st, 2);
		b.created = sqlite3_column_int64(st, 3);
		b.expires = sqlite3_column_int64(st, 4);
		b.offences = (uint32_t)sqlite3_column_int64(st, 5);
		b.edge = sqlite3_column_int(st, 6) != 0;
		o = (const char *)sqlite3_column_text(st, 7); /* NULL: a row from before origins */
		if (o && gw_banorigin_valid(o))
			snprintf(b.origin, sizeof(b.origin), "%s", o);
		if ((ret = fn(arg, &b)))
			break;
	}
	sqlite3_finalize(st);
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(s, "read the bans", err, errlen);
	return ret;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/audit.c and the SQLite store's quota and audit tables: usage
 * rows saved in one transaction and loaded back, audit entries appended and listed by
 * time, a key change and its audit entry rolled back together, the JSON of an entry.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/apikey.h"
#include "gw/audit.h"
#include "gw/keys.h"
#include "gw/store.h"

struct rows {
	gw_usage_row_t r[8];
	size_t n;
};

static int usage_cb(void *arg, const gw_usage_row_t *r)
{
	struct rows *rs = arg;

	assert_true(rs->n < 8);
	rs->r[rs->n++] = *r;
	return 0;
}

struct entries {
	char actions[8][32];
	char before[8][128];
	size_t n;
};

static int audit_cb(void *arg, const gw_audit_entry_t *e)
{
	struct entries *es = arg;

	assert_true(es->n < 8);
	snprintf(es->actions[es->n], sizeof(es->actions[0]), "%s", e->action);
	snprintf(es->before[es->n], sizeof(es->before[0]), "%s", e->before ? e->before : "NULL");
	es->n++;
	return 0;
}

static gw_store_t *open_tmp(char *dir, char *path, size_t len)
{
	char err[256];
	gw_store_t *s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/keys.db", dir);
	s = gw_store_sqlite_open(path, err, sizeof(err));
	assert_non_null(s);
	return s;
}

static void rm_tmp(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void usage_rows(void **state)
{
	char dir[] = "/tmp/fg-unit-audit-XXXXXX", path[128], err[256];
	gw_store_t *s = open_tmp(dir, path, sizeof(path));
	gw_usage_row_t rows[2] = {
		{ .key = 0x0123456789abcdefull,
		  .kind = 4,
		  .used = 250,
		  .overage = 5,
		  .reset_at = 1800000000 },
		{ .key = 0xffffffffffffffffull, .kind = 0, .used = 1, .reset_at = 1790000000 },
	};
	struct rows got = { .n = 0 };

	strcpy(rows[0].period, "cred:w:2026-11-16");
	strcpy(rows[1].period, "req:d:2026-11-22");
	assert_int_equal(gw_store_usage_save(s, rows, 2), 0);
	/* a later save of the same (key, kind) replaces it */
	rows[0].used = 300;
	assert_int_equal(gw_store_usage_save(s, rows, 1), 0);
	assert_int_equal(gw_store_usage_save(s, rows, 0), 0);
	gw_store_close(s);
	s = gw_store_sqlite_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(gw_store_usage_load(s, usage_cb, &got), 0);
	assert_int_equal(got.n, 2);
	for (size_t i = 0; i < got.n; i++) {
		const gw_usage_row_t *want = got.r[i].key == rows[0].key ? &rows[0] : &rows[1];

		assert_int_equal(got.r[i].kind, want->kind);
		assert_string_equal(got.r[i].period, want->period);
		assert_int_equal(got.r[i].used, want->used);
		assert_int_equal(got.r[i].overage, want->overage);
		assert_int_equal(got.r[i].reset_at, want->reset_at);
	}
	gw_store_close(s);
	rm_tmp(dir);
}

static void audit_log(void **state)
{
	char dir[] = "/tmp/fg-unit-audit-XXXXXX", path[128];
	gw_store_t *s = open_tmp(dir, path, sizeof(path));
	uint8_t tok[32] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
	char actor[32];
	json_t *before = json_pack("{s:s}", "status", "active");
	json_t *after = json_pack("{s:s}", "status", "blocked");
	struct entries got = { .n = 0 };

	gw_audit_actor(tok, actor, sizeof(actor));
	assert_string_equal(actor, "token:deadbeef");
	assert_int_equal(
		gw_audit_record(s, 1000, actor, "key.create", "0123456789abcdef", NULL, after), 0);
	assert_int_equal(
		gw_audit_record(s, 2000, actor, "key.block", "0123456789abcdef", before, after), 0);
	assert_int_equal(gw_store_audit_list(s, 0, 100, audit_cb, &got), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.actions[0], "key.create");
	assert_string_equal(got.before[0], "NULL");
	assert_string_equal(got.before[1], "{\"status\":\"active\"}");
	got.n = 0;
	assert_int_equal(gw_store_audit_list(s, 1500, 100, audit_cb, &got), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.actions[0], "key.block");
	got.n = 0;
	assert_int_equal(gw_store_audit_list(s, 0, 1, audit_cb, &got), 0);
	assert_int_equal(got.n, 1);
	json_decref(before);
	json_decref(after);
	gw_store_close(s);
	rm_tmp(dir);
}

static void change_and_audit_roll_back_together(void **state)
{
	char dir[] = "/tmp/fg-unit-audit-XXXXXX", path[128];
	gw_store_t *s = open_tmp(dir, path, sizeof(path));
	gw_key_record_t r = { .status = GW_KEY_ACTIVE, .created = 1 }, got;
	struct entries es = { .n = 0 };

	memset(r.digest, 7, sizeof(r.digest));
	gw_apikey_id(r.digest, r.id);
	strcpy(r.plan, "free");
	assert_int_equal(gw_store_insert(s, &r), 0);
	assert_int_equal(gw_store_begin(s), 0);
	assert_int_equal(gw_store_set_status(s, r.id, GW_KEY_BLOCKED), 0);
	assert_int_equal(gw_audit_record(s, 5, "token:x", "key.block", r.id, NULL, NULL), 0);
	assert_int_equal(gw_store_end(s, 0), 0);
	assert_int_equal(gw_store_get(s, r.id, &got), 0);
	assert_int_equal(got.status, GW_KEY_ACTIVE);
	assert_int_equal(gw_store_audit_list(s, 0, 10, audit_cb, &es), 0);
	assert_int_equal(es.n, 0);
	/* committed: both */
	assert_int_equal(gw_store_begin(s), 0);
	assert_int_equal(gw_store_set_status(s, r.id, GW_KEY_BLOCKED), 0);
	assert_int_equal(gw_audit_record(s, 6, "token:x", "key.block", r.id, NULL, NULL), 0);
	assert_int_equal(gw_store_end(s, 1), 0);
	assert_int_equal(gw_store_get(s, r.id, &got), 0);
	assert_int_equal(got.status, GW_KEY_BLOCKED);
	assert_int_equal(gw_store_audit_list(s, 0, 10, audit_cb, &es), 0);
	assert_int_equal(es.n, 1);
	gw_store_close(s);
	rm_tmp(dir);
}

static void entry_json(void **state)
{
	gw_audit_entry_t e = {
		.seq = 3, .time = 1795000000, .before = "{\"plan\":\"free\"}", .after = "not json"
	};
	json_t *o;

	strcpy(e.actor, "token:deadbeef");
	strcpy(e.action, "key.plan");
	strcpy(e.target, "0123456789abcdef");
	o = gw_audit_entry_json(&e);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-11-18T11:06:40Z");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "before"), "plan")), "free");
	/* text that is not JSON is kept as text, not lost */
	assert_string_equal(json_string_value(json_object_get(o, "after")), "not json");
	json_decref(o);
	e.before = e.after = NULL;
	o = gw_audit_entry_json(&e);
	assert_true(json_is_null(json_object_get(o, "before")));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(usage_rows),
		cmocka_unit_test(audit_log),
		cmocka_unit_test(change_and_audit_roll_back_together),
		cmocka_unit_test(entry_json),
	};

	return FG_RUN_TESTS(tests);
}

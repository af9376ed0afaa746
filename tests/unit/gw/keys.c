/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/keys.c (the in-memory table) and store_sqlite.c (the
 * embedded store): insert, update, remove, growth, wholesale replacement keeping bucket
 * state, and the store's round trip through a real SQLite file.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw/apikey.h"
#include "gw/keys.h"
#include "gw/store.h"

static void digest_of(unsigned i, uint8_t d[32])
{
	char k[32];

	snprintf(k, sizeof(k), "key-%u", i);
	gw_apikey_digest(k, strlen(k), d);
}

static void table_basics(void **state)
{
	gw_keys_t *t = gw_keys_new(0);
	gw_keys_lock_t lk;
	gw_key_entry_t *e;
	uint8_t d[32], other[32];

	assert_non_null(t);
	digest_of(1, d);
	digest_of(2, other);
	assert_null(gw_keys_lock(t, d, &lk));
	gw_keys_unlock(&lk);
	assert_int_equal(gw_keys_upsert(t, d, 5, GW_KEY_ACTIVE, 1234), 0);
	assert_int_equal(gw_keys_count(t), 1);
	e = gw_keys_lock(t, d, &lk);
	assert_non_null(e);
	assert_int_equal(e->plan, 5);
	assert_int_equal(e->expires, 1234);
	e->bucket.credit_ns = 77; /* pretend a request spent tokens */
	e->bucket.stamp_ns = 88;
	gw_keys_unlock(&lk);
	assert_null(gw_keys_lock(t, other, &lk));
	gw_keys_unlock(&lk);

	/* an update changes metadata, keeps the bucket */
	assert_int_equal(gw_keys_upsert(t, d, 6, GW_KEY_BLOCKED, 0), 0);
	assert_int_equal(gw_keys_count(t), 1);
	e = gw_keys_lock(t, d, &lk);
	assert_int_equal(e->plan, 6);
	assert_int_equal(e->status, GW_KEY_BLOCKED);
	assert_int_equal(e->bucket.credit_ns, 77);
	gw_keys_unlock(&lk);

	assert_int_equal(gw_keys_reset_bucket(t, d), 0);
	e = gw_keys_lock(t, d, &lk);
	assert_int_equal(e->bucket.credit_ns, 0);
	assert_int_equal(e->bucket.stamp_ns, 0); /* full at its next use */
	gw_keys_unlock(&lk);
	assert_int_equal(gw_keys_reset_bucket(t, other), -ENOENT);

	assert_int_equal(gw_keys_remove(t, d), 0);
	assert_int_equal(gw_keys_remove(t, d), -ENOENT);
	assert_int_equal(gw_keys_count(t), 0);
	gw_keys_free(t);
}

static void growth(void **state)
{
	gw_keys_t *t = gw_keys_new(0);
	uint8_t d[32];

	for (unsigned i = 0; i < 50000; i++) {
		digest_of(i, d);
		assert_int_equal(gw_keys_upsert(t, d, (uint16_t)(i % 7), GW_KEY_ACTIVE, i), 0);
	}
	assert_int_equal(gw_keys_count(t), 50000);
	for (unsigned i = 0; i < 50000; i += 997) {
		gw_keys_lock_t lk;
		gw_key_entry_t *e;

		digest_of(i, d);
		e = gw_keys_lock(t, d, &lk);
		assert_non_null(e);
		assert_int_equal(e->expires, i);
		gw_keys_unlock(&lk);
	}
	gw_keys_free(t);
}

static void replace_keeps_buckets(void **state)
{
	gw_keys_t *t = gw_keys_new(100);
	gw_keys_batch_t *b = gw_keys_batch_new();
	gw_keys_lock_t lk;
	gw_key_entry_t *e;
	uint8_t d[32];

	for (unsigned i = 0; i < 100; i++) {
		digest_of(i, d);
		gw_keys_upsert(t, d, 1, GW_KEY_ACTIVE, 0);
	}
	digest_of(10, d);
	e = gw_keys_lock(t, d, &lk);
	e->bucket.credit_ns = 5;
	e->bucket.stamp_ns = 6;
	gw_keys_unlock(&lk);

	/* the new set: keys 10..149 (0..9 dropped, 100..149 new), all on plan 2 */
	for (unsigned i = 10; i < 150; i++) {
		digest_of(i, d);
		assert_int_equal(gw_keys_batch_add(b, d, 2, GW_KEY_ACTIVE, 0), 0);
	}
	gw_keys_replace(t, b);
	assert_int_equal(gw_keys_count(t), 140);
	digest_of(10, d);
	e = gw_keys_lock(t, d, &lk);
	assert_non_null(e);
	assert_int_equal(e->plan, 2);
	assert_int_equal(e->bucket.credit_ns, 5);
	gw_keys_unlock(&lk);
	digest_of(5, d);
	assert_null(gw_keys_lock(t, d, &lk));
	gw_keys_unlock(&lk);
	digest_of(149, d);
	e = gw_keys_lock(t, d, &lk);
	assert_non_null(e);
	assert_int_equal(e->bucket.stamp_ns, 0);
	gw_keys_unlock(&lk);
	gw_keys_free(t);
}

static void status_names(void **state)
{
	assert_string_equal(gw_key_status_name(GW_KEY_REVOKED), "revoked");
	assert_int_equal(gw_key_status_of("blocked"), GW_KEY_BLOCKED);
	assert_int_equal(gw_key_status_of("nope"), -1);
}

static int count_cb(void *arg, const gw_key_record_t *r)
{
	(*(int *)arg)++;
	return 0;
}

static int first_cb(void *arg, const gw_key_record_t *r)
{
	*(gw_key_record_t *)arg = *r;
	return 1;
}

static void sqlite_store(void **state)
{
	char dir[] = "/tmp/fg-unit-store-XXXXXX", path[128], err[256];
	gw_store_t *s;
	gw_key_record_t r = { 0 }, got;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys.db", dir);
	s = gw_store_sqlite_open(path, err, sizeof(err));
	assert_non_null(s);
	for (unsigned i = 0; i < 5; i++) {
		digest_of(i, r.digest);
		gw_apikey_id(r.digest, r.id);
		snprintf(r.plan, sizeof(r.plan), "free");
		snprintf(r.label, sizeof(r.label), "label %u", i);
		r.created = 1700000000 + i;
		r.expires = i == 3 ? 1800000000 : 0;
		assert_int_equal(gw_store_insert(s, &r), 0);
	}
	assert_int_equal(gw_store_insert(s, &r), -EEXIST);
	assert_int_equal(gw_store_count(s), 5);
	digest_of(3, r.digest);
	gw_apikey_id(r.digest, r.id);
	assert_int_equal(gw_store_get(s, r.id, &got), 0);
	assert_memory_equal(got.digest, r.digest, 32);
	assert_string_equal(got.label, "label 3");
	assert_int_equal(got.expires, 1800000000);
	assert_int_equal(got.status, GW_KEY_ACTIVE);
	assert_int_equal(gw_store_set_status(s, r.id, GW_KEY_REVOKED), 0);
	assert_int_equal(gw_store_set_plan(s, r.id, "premium"), 0);
	assert_int_equal(gw_store_get(s, r.id, &got), 0);
	assert_int_equal(got.status, GW_KEY_REVOKED);
	assert_string_equal(got.plan, "premium");
	assert_int_equal(gw_store_get(s, "0000000000000000", &got), -ENOENT);
	assert_int_equal(gw_store_set_status(s, "0000000000000000", 1), -ENOENT);
	/* listing pages by id */
	assert_int_equal(gw_store_list(s, "", 2, count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(gw_store_list(s, "", 100, first_cb, &got), 1);
	n = 0;
	assert_int_equal(gw_store_list(s, got.id, 100, count_cb, &n), 0);
	assert_int_equal(n, 4);
	gw_store_close(s);

	/* everything is still there after a reopen */
	s = gw_store_sqlite_open(path, err, sizeof(err));
	assert_non_null(s);
	n = 0;
	assert_int_equal(gw_store_load(s, count_cb, &n), 0);
	assert_int_equal(n, 5);
	gw_store_close(s);

	assert_null(gw_store_sqlite_open("/nonexistent-dir/keys.db", err, sizeof(err)));
	assert_non_null(strstr(err, "Couldn't open key store /nonexistent-dir/keys.db"));

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_basics),		 cmocka_unit_test(growth),
		cmocka_unit_test(replace_keeps_buckets), cmocka_unit_test(status_names),
		cmocka_unit_test(sqlite_store),
	};
	return FG_RUN_TESTS(tests);
}

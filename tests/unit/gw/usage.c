/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/usage.c, the embedded quota backend, on a simulated clock:
 * all-or-nothing debits, hard and soft limits, a period reset at its boundary, refunds,
 * flush bookkeeping (collect, redirty, restore) and exactness under concurrent debits.
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gw/usage.h"

#define KEY 0x0123456789abcdefull

static const gw_quota_clock_t UTC = { 0, 0 };

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return gw_quota_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	       s;
}

#define K_REQ_DAY    gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)
#define K_CRED_MONTH gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)

/* The counters of a request costing `credits` at now, with a day request limit and a
 * month credit limit. */
static void counters(gw_quota_counter_t *c, uint64_t day_req, bool day_soft, uint64_t month_cred,
		     uint64_t credits, int64_t now)
{
	gw_quota_limit_t l[GW_QUOTA_KINDS] = { 0 };

	l[K_REQ_DAY] = (gw_quota_limit_t){ day_req, day_soft };
	l[K_CRED_MONTH] = (gw_quota_limit_t){ month_cred, false };
	gw_quota_counters(l, credits, now, &UTC, c);
}

static uint64_t used_of(gw_usage_t *u, const gw_quota_counter_t *c, int kind, uint64_t *over)
{
	uint64_t used[GW_QUOTA_KINDS], ov[GW_QUOTA_KINDS];

	gw_usage_read(u, KEY, c, GW_QUOTA_KINDS, used, ov);
	if (over)
		*over = ov[kind];
	return used[kind];
}

static void key_ids(void **state)
{
	uint8_t d[32] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xff };
	uint64_t k;

	assert_int_equal(gw_usage_key_of_digest(d), KEY);
	assert_int_equal(gw_usage_key_of_id("0123456789abcdef", &k), 0);
	assert_int_equal(k, KEY);
	assert_int_equal(gw_usage_key_of_id("0123456789ABCDEF", &k), -EINVAL);
	assert_int_equal(gw_usage_key_of_id("0123", &k), -EINVAL);
	assert_int_equal(gw_usage_key_of_id(NULL, &k), -EINVAL);
}

static void all_or_nothing(void **state)
{
	gw_usage_t *u = gw_usage_new();
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	int64_t now = utc(2026, 11, 22, 12, 0, 0);
	size_t failed = 99;

	assert_non_null(u);
	counters(c, 100, false, 50, 20, now);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	/* 40 of 50 credits used: a 20-credit request is refused, and debits nothing at all
	 * (not even the request counters, whose limits it is within) */
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, &failed), -EDQUOT);
	assert_int_equal(failed, K_CRED_MONTH);
	assert_int_equal(used_of(u, c, K_CRED_MONTH, NULL), 40);
	assert_int_equal(used_of(u, c, K_REQ_DAY, NULL), 2);
	/* a 10-credit request still fits exactly */
	counters(c, 100, false, 50, 10, now);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(used_of(u, c, K_CRED_MONTH, NULL), 50);
	/* a free route (0 credits) passes a spent credit quota */
	counters(c, 100, false, 50, 0, now);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(used_of(u, c, K_REQ_DAY, NULL), 4);
	gw_usage_free(u);
}

static void soft_limits_count_overage(void **state)
{
	gw_usage_t *u = gw_usage_new();
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	uint64_t over[GW_QUOTA_KINDS], ov;

	counters(c, 2, true, 0, 1, utc(2026, 11, 22, 12, 0, 0));
	for (int i = 0; i < 5; i++) {
		assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, over, NULL), 0);
		assert_int_equal(over[K_REQ_DAY], i < 2 ? 0 : 1);
	}
	assert_int_equal(used_of(u, c, K_REQ_DAY, &ov), 5);
	assert_int_equal(ov, 3);
	gw_usage_free(u);
}

static void period_resets_at_boundary(void **state)
{
	gw_usage_t *u = gw_usage_new();
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	int64_t last = utc(2026, 11, 30, 23, 59, 59);

	counters(c, 3, false, 0, 1, last);
	for (int i = 0; i < 3; i++)
		assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), -EDQUOT);
	assert_int_equal(c[K_REQ_DAY].reset_at, last + 1);
	/* the next second is a new day (and month): the day quota is whole again */
	counters(c, 3, false, 0, 1, last + 1);
	assert_int_equal(used_of(u, c, K_REQ_DAY, NULL), 0);
	assert_int_equal(used_of(u, c, gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_MONTH), NULL), 0);
	/* the week went on: 2026-11-30 and 12-01 are one Monday week */
	assert_int_equal(used_of(u, c, gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK), NULL), 3);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(used_of(u, c, K_REQ_DAY, NULL), 1);
	assert_int_equal(used_of(u, c, gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK), NULL), 4);
	gw_usage_free(u);
}

static void refunds(void **state)
{
	gw_usage_t *u = gw_usage_new();
	gw_quota_counter_t c[GW_QUOTA_KINDS], next[GW_QUOTA_KINDS];
	uint64_t over[GW_QUOTA_KINDS], ov;
	int64_t now = utc(2026, 11, 22, 23, 59, 59);

	counters(c, 1, true, 0, 25, now);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, over, NULL), 0);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, over, NULL), 0);
	assert_int_equal(over[K_REQ_DAY], 1);
	gw_usage_refund(u, KEY, c, GW_QUOTA_KINDS, over);
	assert_int_equal(used_of(u, c, K_CRED_MONTH, NULL), 25);
	assert_int_equal(used_of(u, c, K_REQ_DAY, &ov), 1);
	assert_int_equal(ov, 0);
	/* a refund after the day (and the Monday week) turned leaves the new periods alone
	 * and still fixes the month, which has not */
	counters(next, 1, true, 0, 25, now + 1);
	assert_int_equal(gw_usage_debit(u, KEY, next, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(used_of(u, next, K_CRED_MONTH, NULL), 50);
	gw_usage_refund(u, KEY, c, GW_QUOTA_KINDS, NULL);
	assert_int_equal(used_of(u, next, K_REQ_DAY, NULL), 1);
	assert_int_equal(used_of(u, next, gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_WEEK), NULL),
			 25);
	assert_int_equal(used_of(u, next, K_CRED_MONTH, NULL), 25);
	gw_usage_free(u);
}

static void collect_and_restore(void **state)
{
	gw_usage_t *u = gw_usage_new(), *v = gw_usage_new();
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	int64_t now = utc(2026, 11, 22, 12, 0, 0);
	gw_usage_row_t *rows;
	size_t n;

	counters(c, 0, false, 0, 7, now);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(gw_usage_collect(u, now, &rows, &n), 0);
	assert_int_equal(n, GW_QUOTA_KINDS);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gw_usage_restore(v, &rows[i], now), 0);
	assert_int_equal(used_of(v, c, K_CRED_MONTH, NULL), 7);
	free(rows);
	/* clean now: nothing to write; a failed write is put back */
	assert_int_equal(gw_usage_collect(u, now, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
	assert_int_equal(gw_usage_collect(u, now, &rows, &n), 0);
	assert_int_equal(n, GW_QUOTA_KINDS);
	gw_usage_redirty(u, rows, n);
	free(rows);
	assert_int_equal(gw_usage_collect(u, now, &rows, &n), 0);
	assert_int_equal(n, GW_QUOTA_KINDS);
	free(rows);
	/* a stored row whose period is over is not restored; a finished key is dropped */
	{
		gw_usage_row_t old = { .key = 42, .kind = 0, .used = 9, .reset_at = now };

		strcpy(old.period, "req:d:2026-11-21");
		assert_int_equal(gw_usage_restore(v, &old, now), 0);
		assert_int_equal(gw_usage_count(v), 1);
	}
	assert_int_equal(gw_usage_count(u), 1);
	assert_int_equal(gw_usage_collect(u, utc(2027, 1, 1, 0, 0, 0), &rows, &n), 0);
	free(rows);
	assert_int_equal(gw_usage_count(u), 0);
	gw_usage_free(u);
	gw_usage_free(v);
}

/* gw_usage_add() leaves a table as gw_usage_debit() does for counters without limits:
 * the same counts, and the same rows to write, across a period boundary. */
static void add_is_debit_without_limits(void **state)
{
	gw_usage_t *u = gw_usage_new(), *v = gw_usage_new();
	int64_t t0 = utc(2026, 11, 30, 23, 59, 50);

	for (int i = 0; i < 40; i++) {
		gw_quota_counter_t c[GW_QUOTA_KINDS];
		uint64_t used_u[GW_QUOTA_KINDS], used_v[GW_QUOTA_KINDS];
		uint64_t over_u[GW_QUOTA_KINDS], over_v[GW_QUOTA_KINDS];
		gw_usage_row_t *ru, *rv;
		size_t nu, nv;

		counters(c, 0, false, 0, (uint64_t)i % 3, t0 + i / 2); /* credits 0 too */
		assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
		assert_int_equal(gw_usage_add(v, KEY, c, GW_QUOTA_KINDS, 0), 0);
		gw_usage_read(u, KEY, c, GW_QUOTA_KINDS, used_u, over_u);
		gw_usage_read(v, KEY, c, GW_QUOTA_KINDS, used_v, over_v);
		assert_memory_equal(used_u, used_v, sizeof(used_u));
		assert_memory_equal(over_u, over_v, sizeof(over_u));
		if (i % 7)
			continue;
		assert_int_equal(gw_usage_collect(u, t0 + i / 2, &ru, &nu), 0);
		assert_int_equal(gw_usage_collect(v, t0 + i / 2, &rv, &nv), 0);
		assert_int_equal(nu, nv);
		for (size_t r = 0; r < nu; r++) {
			assert_int_equal(ru[r].kind, rv[r].kind);
			assert_string_equal(ru[r].period, rv[r].period);
			assert_int_equal(ru[r].used, rv[r].used);
			assert_int_equal(ru[r].overage, rv[r].overage);
			assert_int_equal(ru[r].reset_at, rv[r].reset_at);
		}
		free(ru);
		free(rv);
	}
	gw_usage_free(u);
	gw_usage_free(v);
}

#define THREADS	   4
#define PER_THREAD 5000
#define CREDIT_CAP 20000

struct worker {
	gw_usage_t *u;
	uint64_t admitted_cost;
};

static void *debit_loop(void *arg)
{
	struct worker *w = arg;
	gw_quota_counter_t c[GW_QUOTA_KINDS];

	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t cost = 1 + (uint64_t)(i % 25);

		counters(c, 0, false, CREDIT_CAP, cost, utc(2026, 11, 22, 12, 0, 0));
		if (gw_usage_debit(w->u, KEY, c, GW_QUOTA_KINDS, NULL, NULL) == 0)
			w->admitted_cost += cost;
	}
	return NULL;
}

static void exact_under_concurrency(void **state)
{
	gw_usage_t *u = gw_usage_new();
	struct worker w[THREADS];
	pthread_t t[THREADS];
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	uint64_t sum = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .u = u };
		assert_int_equal(pthread_create(&t[i], NULL, debit_loop, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sum += w[i].admitted_cost;
	}
	counters(c, 0, false, CREDIT_CAP, 1, utc(2026, 11, 22, 12, 0, 0));
	/* 4 x 5000 requests of 13 credits on average want ~260000: the cap is reached, never
	 * passed, and what is used is exactly what the admitted requests cost */
	assert_int_equal(used_of(u, c, K_CRED_MONTH, NULL), sum);
	assert_true(sum <= CREDIT_CAP);
	assert_true(sum > CREDIT_CAP - 25);
	gw_usage_free(u);
}

/* Counters of earlier days, made on a thread of their own: this thread's template (and its
 * generation) stays as it is. */
static gw_quota_counter_t old3[GW_QUOTA_KINDS], old1[GW_QUOTA_KINDS];
static void *make_old(void *arg)
{
	int64_t t0 = *(int64_t *)arg;

	counters(old3, 0, false, 0, 1, t0 - 3 * 86400);
	counters(old1, 0, false, 0, 1, t0 - 86400);
	return NULL;
}

/* gw_usage_add() with the template's generation (its shortcut: the periods are not
 * compared) counts as gw_usage_debit() does: across day and month boundaries, and after a
 * debit or a restore put other periods into the entry's slots while the generation stayed. */
static void add_with_generation_is_debit(void **state)
{
	gw_usage_t *u = gw_usage_new(), *v = gw_usage_new();
	int64_t t0 = utc(2026, 11, 30, 23, 59, 0);
	uint64_t last_gen = 0, same = 0;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, make_old, &t0), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int i = 0; i < 300; i++) {
		int64_t now = t0 + i; /* a day and a month end at i = 60 */
		gw_quota_counter_t c[GW_QUOTA_KINDS];
		uint64_t used_u[GW_QUOTA_KINDS], used_v[GW_QUOTA_KINDS];
		uint64_t over_u[GW_QUOTA_KINDS], over_v[GW_QUOTA_KINDS], gen;
		uint64_t credits = (uint64_t)i % 4;
		const gw_quota_counter_t *t = gw_quota_template(now, &UTC, credits, &gen);

		assert_true(gen != 0);
		same += gen == last_gen;
		last_gen = gen;
		counters(c, 0, false, 0, credits, now);
		assert_int_equal(gw_usage_debit(u, KEY, c, GW_QUOTA_KINDS, NULL, NULL), 0);
		assert_int_equal(gw_usage_add(v, KEY, t, GW_QUOTA_KINDS, gen), 0);
		if (i % 50 == 25) { /* other periods in the slots, by a debit */
			assert_int_equal(gw_usage_debit(u, KEY, old3, GW_QUOTA_KINDS, NULL, NULL),
					 0);
			assert_int_equal(gw_usage_debit(v, KEY, old3, GW_QUOTA_KINDS, NULL, NULL),
					 0);
		}
		if (i % 50 == 40) { /* by a restored row */
			gw_usage_row_t r = {
				.key = KEY, .kind = 0, .used = 7, .reset_at = now + 10
			};

			memcpy(r.period, old1[0].period, sizeof(r.period));
			assert_int_equal(gw_usage_restore(u, &r, now), 0);
			assert_int_equal(gw_usage_restore(v, &r, now), 0);
		}
		gw_usage_read(u, KEY, c, GW_QUOTA_KINDS, used_u, over_u);
		gw_usage_read(v, KEY, c, GW_QUOTA_KINDS, used_v, over_v);
		assert_memory_equal(used_u, used_v, sizeof(used_u));
		assert_memory_equal(over_u, over_v, sizeof(over_u));
	}
	assert_int_equal(same, 298); /* one generation a day: the shortcut was taken */
	gw_usage_free(u);
	gw_usage_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_ids),
		cmocka_unit_test(all_or_nothing),
		cmocka_unit_test(soft_limits_count_overage),
		cmocka_unit_test(period_resets_at_boundary),
		cmocka_unit_test(refunds),
		cmocka_unit_test(collect_and_restore),
		cmocka_unit_test(add_is_debit_without_limits),
		cmocka_unit_test(add_with_generation_is_debit),
		cmocka_unit_test(exact_under_concurrency),
	};

	return FG_RUN_TESTS(tests);
}

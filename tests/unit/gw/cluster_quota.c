/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cluster_quota.c: a request's six quota counters as the
 * admission script's counters (key suffixes named by the period only, hard/soft/none,
 * costs, expiry a day after the period), the overage of soft limits, and that every
 * suffix is one the script's argument builder accepts.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/cluster_quota.h"

/* 2026-11-22 12:00:00 UTC */
#define NOW 1795348800LL

static size_t counters(const gw_quota_limit_t *limits, uint64_t credits, gw_quota_counter_t *c)
{
	static const gw_quota_clock_t utc = { 0, 0 };

	return gw_quota_counters(limits, credits, NOW, &utc, c);
}

static void build_kinds(void **state)
{
	gw_quota_limit_t lim[GW_QUOTA_KINDS] = { 0 };
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	gw_cluster_quota_t q;
	size_t n;

	lim[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)] = (gw_quota_limit_t){ 3, false };
	lim[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)] = (gw_quota_limit_t){ 200, true };
	n = counters(lim, 25, c);
	assert_int_equal(n, GW_QUOTA_KINDS);
	gw_cluster_quota_build(c, n, &q);
	assert_int_equal(q.n, GW_QUOTA_KINDS);
	for (size_t i = 0; i < n; i++) {
		char want[512];

		snprintf(want, sizeof(want), "q:%s", c[i].period);
		assert_string_equal(q.ctr[i].suffix, want);
		assert_ptr_equal(q.ctr[i].suffix, q.suffix[i]);
		assert_int_equal(q.ctr[i].cost, c[i].kind / GW_QUOTA_PERIODS ? 25 : 1);
		assert_int_equal(q.ctr[i].limit, c[i].limit);
		assert_int_equal(q.ctr[i].expire_at, c[i].reset_at + GW_CLUSTER_QUOTA_KEEP_S);
		assert_true(q.ctr[i].expire_at > NOW);
	}
	assert_string_equal(q.ctr[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)].suffix,
			    "q:req:d:2026-11-22");
	assert_string_equal(q.ctr[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)].suffix,
			    "q:cred:m:2026-11");
	/* hard only where a limit is enforced */
	assert_true(q.ctr[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)].hard);
	assert_false(q.ctr[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)].hard);
	assert_false(q.ctr[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK)].hard);
	assert_int_equal(q.ctr[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK)].limit, 0);
}

static void build_accepted_by_script_args(void **state)
{
	gw_quota_limit_t lim[GW_QUOTA_KINDS] = { 0 };
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	gw_cluster_quota_t q;
	gw_cluster_args_t a;
	gw_limit_t l = { .interval_ns = 20000000, .cap_ns = 1000000000 };

	gw_cluster_quota_build(c, counters(lim, 1, c), &q);
	assert_int_equal(gw_cluster_build_args(&a, "fg:", "0123456789abcdef", &l, q.ctr, q.n), 0);
	/* EVALSHA sha numkeys bucket + six counters, four bucket args, four per counter */
	assert_int_equal(a.argc, 3 + 1 + 6 + 4 + 4 * 6);
	assert_int_equal(a.len[4], strlen("fg:{0123456789abcdef}:q:req:d:2026-11-22"));
	assert_memory_equal(a.argv[4], "fg:{0123456789abcdef}:q:req:d:2026-11-22", a.len[4]);
}

static void build_truncates(void **state)
{
	gw_quota_counter_t c[GW_QUOTA_KINDS + 2];
	gw_cluster_quota_t q;

	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < GW_QUOTA_KINDS + 2; i++)
		snprintf(c[i].period, sizeof(c[i].period), "req:d:2026-11-%02zu", i + 1);
	gw_cluster_quota_build(c, GW_QUOTA_KINDS + 2, &q);
	assert_int_equal(q.n, GW_QUOTA_KINDS);
	gw_cluster_quota_build(c, 0, &q);
	assert_int_equal(q.n, 0);
}

static void overage(void **state)
{
	gw_quota_counter_t soft = { .limit = 3, .soft = true, .cost = 1 };
	gw_quota_counter_t hard = { .limit = 3, .soft = false, .cost = 1 };
	gw_quota_counter_t none = { .limit = 0, .soft = true, .cost = 1 };

	assert_int_equal(gw_cluster_quota_overage(&soft, 2), 0);
	assert_int_equal(gw_cluster_quota_overage(&soft, 3), 0);
	assert_int_equal(gw_cluster_quota_overage(&soft, 5), 2);
	assert_int_equal(gw_cluster_quota_overage(&hard, 5), 0);
	assert_int_equal(gw_cluster_quota_overage(&none, 5), 0);
}

static void over_per_request(void **state)
{
	/* credits 25 against a soft 200: 190 -> 215 took 15 over; 215 -> 240 took 25 */
	gw_quota_counter_t c[3] = {
		{ .limit = 200, .soft = true, .cost = 25 },
		{ .limit = 200, .soft = true, .cost = 25 },
		{ .limit = 200, .soft = true, .cost = 25 },
	};
	uint64_t values[3] = { 215, 240, 200 }, over[3];

	gw_cluster_quota_over(c, 3, values, over);
	assert_int_equal(over[0], 15);
	assert_int_equal(over[1], 25);
	assert_int_equal(over[2], 0);
}

static void read_script_is_read_only(void **state)
{
	/* the usage read must never write: no write command in its text */
	const char *w[] = { "HSET", "INCRBY", "DECRBY", "EXPIRE", "SET'", "DEL" };

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		assert_null(strstr(gw_cluster_read_script, w[i]));
	assert_non_null(strstr(gw_cluster_read_script, "'MGET'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_kinds),	    cmocka_unit_test(build_accepted_by_script_args),
		cmocka_unit_test(build_truncates),  cmocka_unit_test(overage),
		cmocka_unit_test(over_per_request), cmocka_unit_test(read_script_is_read_only),
	};

	return FG_RUN_TESTS(tests);
}

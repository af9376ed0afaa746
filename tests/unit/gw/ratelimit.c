/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/ratelimit.c and the key table's bucket exactness: admissions
 * of the seed plans over a simulated clock, the RateLimit/Retry-After values, the bounded
 * address table, and several threads spending one key's burst at once.
 */
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tb.h"
#include "gw/keys.h"
#include "gw/ratelimit.h"

#define S  TB_NS_PER_S
#define MS (TB_NS_PER_S / 1000)
#define T0 (1000 * S) /* an arbitrary non-zero start of the simulated clock */

static gw_limit_t limit(const char *rate, double num, uint64_t burst)
{
	gw_limit_t l;
	const char *why = NULL;

	assert_int_equal(gw_limit_parse_rate(rate, num, rate != NULL, burst, &l, &why), 0);
	return l;
}

static void free_plan(void **state)
{
	gw_limit_t l = limit(NULL, 1, 1); /* AWS seed: 1 r/s, burst 1 */
	struct edge_bucket b = { 0 };
	gw_ratelimit_state_t st;

	assert_int_equal(gw_ratelimit_take(&b, T0, &l, &st), 1);
	assert_int_equal(st.remaining, 0);
	assert_int_equal(st.reset_s, 1);
	for (int i = 0; i < 29; i++)
		assert_int_equal(gw_ratelimit_take(&b, T0 + (uint64_t)i * MS, &l, &st), 0);
	assert_int_equal(st.retry_after_s, 1);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 999 * MS, &l, &st), 0);
	assert_int_equal(gw_ratelimit_take(&b, T0 + S, &l, &st), 1);
	assert_int_equal(gw_ratelimit_take(&b, T0 + S, &l, &st), 0);
}

static void premium_plan(void **state)
{
	gw_limit_t l = limit(NULL, 10, 100); /* AWS seed: 10 r/s, burst 100 */
	struct edge_bucket b = { 0 };
	gw_ratelimit_state_t st;
	int admitted = 0;

	for (int i = 0; i < 30; i++)
		admitted += gw_ratelimit_take(&b, T0, &l, &st);
	assert_int_equal(admitted, 30);
	assert_int_equal(st.remaining, 70);
	assert_int_equal(st.limit, 100);
	assert_int_equal(st.reset_s, 3); /* 30 tokens at 10/s */
	for (int i = 0; i < 100; i++)
		admitted += gw_ratelimit_take(&b, T0, &l, &st);
	assert_int_equal(admitted, 100);
	assert_int_equal(st.remaining, 0);
	assert_int_equal(st.retry_after_s, 1); /* 100 ms, rounded up */
	assert_int_equal(gw_ratelimit_take(&b, T0 + 99 * MS, &l, &st), 0);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 100 * MS, &l, &st), 1);
}

static void peek_takes_nothing(void **state)
{
	gw_limit_t l = limit(NULL, 10, 100);
	struct edge_bucket b = { 0 };
	gw_ratelimit_state_t st;

	gw_ratelimit_peek(&b, T0, &l, &st);
	assert_int_equal(st.remaining, 100); /* never used: full */
	assert_int_equal(gw_ratelimit_take(&b, T0, &l, &st), 1);
	gw_ratelimit_peek(&b, T0, &l, &st);
	assert_int_equal(st.remaining, 99);
	gw_ratelimit_peek(&b, T0, &l, &st);
	assert_int_equal(st.remaining, 99);
	gw_ratelimit_peek(&b, T0 + 100 * MS, &l, &st); /* refilled as of then */
	assert_int_equal(st.remaining, 100);
	assert_int_equal(b.credit_ns, 99 * 100 * MS);
}

static void per_minute_tiers(void **state)
{
	gw_limit_t l = limit("5/min", 0, 5);
	struct edge_bucket b = { 0 };
	gw_ratelimit_state_t st;
	int admitted = 0;

	for (int i = 0; i < 10; i++)
		admitted += gw_ratelimit_take(&b, T0, &l, &st);
	assert_int_equal(admitted, 5);
	assert_int_equal(st.retry_after_s, 12); /* one token per 12 s */
	assert_int_equal(st.reset_s, 60);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 11 * S, &l, &st), 0);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 12 * S, &l, &st), 1);
}

/* Over T seconds at twice the rate, admitted = burst + rate * T (BENCH.md's check). */
static void sustained_overload(void **state)
{
	const struct {
		const char *rate;
		double num;
		uint64_t burst, per_s_x100; /* rate * 100 */
	} plans[] = {
		{ NULL, 1, 1, 100 },	    { NULL, 10, 100, 1000 },	   { "20/min", 0, 20, 33 },
		{ "100/min", 0, 100, 166 }, { "1000/min", 0, 1000, 1666 },
	};

	for (size_t p = 0; p < sizeof(plans) / sizeof(plans[0]); p++) {
		gw_limit_t l = limit(plans[p].rate, plans[p].num, plans[p].burst);
		struct edge_bucket b = { 0 };
		gw_ratelimit_state_t st;
		const uint64_t T = 120;
		uint64_t step = l.interval_ns / 2, admitted = 0, want;

		for (uint64_t t = 0; t <= T * S; t += step)
			admitted += (uint64_t)gw_ratelimit_take(&b, T0 + t, &l, &st);
		want = l.burst + T * S / l.interval_ns;
		assert_int_equal(admitted, want);
	}
}

static void header_values(void **state)
{
	gw_ratelimit_state_t st = { .limit = 100, .remaining = 42, .reset_s = 6 };
	char buf[64];

	assert_int_equal(gw_ratelimit_header("premium", &st, buf, sizeof(buf)), 18);
	assert_string_equal(buf, "\"premium\";r=42;t=6");
	assert_int_equal(gw_ratelimit_header("premium", &st, buf, 8), 0);
	assert_int_equal(gw_ratelimit_u64(buf, 0), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(gw_ratelimit_u64(buf, 18446744073709551615ULL), 20);
	assert_string_equal(buf, "18446744073709551615");
	assert_int_equal(gw_ratelimit_u64(buf, 1000), 4);
	assert_string_equal(buf, "1000");
	/* every length, at both ends of it */
	for (uint64_t p = 1, i = 1; i <= 20; i++, p *= 10) {
		char want[32];

		snprintf(want, sizeof(want), "%llu", (unsigned long long)p);
		assert_int_equal(gw_ratelimit_u64(buf, p), strlen(want));
		assert_string_equal(buf, want);
		if (i == 20)
			break; /* 10^20 does not fit */
		snprintf(want, sizeof(want), "%llu", (unsigned long long)(p * 10 - 1));
		assert_int_equal(gw_ratelimit_u64(buf, p * 10 - 1), strlen(want));
		assert_string_equal(buf, want);
	}
}

static void clock_going_back(void **state)
{
	gw_limit_t l = limit(NULL, 1, 2);
	struct edge_bucket b = { 0 };
	gw_ratelimit_state_t st;

	assert_int_equal(gw_ratelimit_take(&b, T0 + 10 * S, &l, &st), 1);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 10 * S, &l, &st), 1);
	/* a step back refills nothing, and going forward again refills only once */
	assert_int_equal(gw_ratelimit_take(&b, T0, &l, &st), 0);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 11 * S, &l, &st), 1);
	assert_int_equal(gw_ratelimit_take(&b, T0 + 11 * S, &l, &st), 0);
}

static void address_table(void **state)
{
	gw_ratelimit_table_t *t = gw_ratelimit_table_new(1024);
	gw_limit_t l = limit(NULL, 1, 3);
	gw_ratelimit_state_t st;
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	int admitted = 0;

	assert_non_null(t);
	a[15] = 1;
	b[15] = 2;
	for (int i = 0; i < 5; i++)
		admitted += gw_ratelimit_table_take(t, a, T0, &l, &st);
	assert_int_equal(admitted, 3);
	assert_int_equal(gw_ratelimit_table_take(t, b, T0, &l, &st), 1); /* b has its own */
	/* a flood of distinct addresses is bounded: old ones are evicted, nothing fails */
	for (uint32_t i = 0; i < 100000; i++) {
		uint8_t x[16] = { 0 };

		memcpy(x, &i, sizeof(i));
		x[15] = 9;
		assert_int_equal(gw_ratelimit_table_take(t, x, T0 + S, &l, &st), 1);
	}
	gw_ratelimit_table_free(t);
}

struct race {
	gw_keys_t *keys;
	uint8_t digest[32];
	gw_limit_t l;
	int admitted;
	pthread_barrier_t *go;
};

static void *spend(void *arg)
{
	struct race *r = arg;
	gw_ratelimit_state_t st;

	pthread_barrier_wait(r->go);
	for (int i = 0; i < 2000; i++) {
		gw_keys_lock_t lk;
		gw_key_entry_t *e = gw_keys_lock(r->keys, r->digest, &lk);

		/* The clock moves, but 1 token per hour never refills during the test. */
		r->admitted += gw_ratelimit_take(&e->bucket, T0 + (uint64_t)i, &r->l, &st);
		gw_keys_unlock(&lk);
	}
	return NULL;
}

static void threads_spend_exactly_the_burst(void **state)
{
	enum { N = 4 };
	gw_keys_t *keys = gw_keys_new(16);
	pthread_t th[N];
	struct race r[N];
	pthread_barrier_t go;
	uint8_t d[32] = { 7, 7, 7 };
	int total = 0;

	assert_non_null(keys);
	assert_int_equal(gw_keys_upsert(keys, d, 1, GW_KEY_ACTIVE, 0), 0);
	pthread_barrier_init(&go, NULL, N);
	for (int i = 0; i < N; i++) {
		r[i] = (struct race){ .keys = keys, .l = limit("1/h", 0, 1000), .go = &go };
		memcpy(r[i].digest, d, 32);
		pthread_create(&th[i], NULL, spend, &r[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		total += r[i].admitted;
	}
	assert_int_equal(total, 1000);
	pthread_barrier_destroy(&go);
	gw_keys_free(keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(free_plan),
		cmocka_unit_test(premium_plan),
		cmocka_unit_test(peek_takes_nothing),
		cmocka_unit_test(per_minute_tiers),
		cmocka_unit_test(sustained_overload),
		cmocka_unit_test(header_values),
		cmocka_unit_test(clock_going_back),
		cmocka_unit_test(address_table),
		cmocka_unit_test(threads_spend_exactly_the_burst),
	};
	return FG_RUN_TESTS(tests);
}

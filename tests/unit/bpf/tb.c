/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of bpf/tb.h, the token-bucket maths shared by the XDP program and the daemon:
 * refill, cap, huge time gaps, zero rate, a clock going backwards, and the per-CPU wallets
 * with one mint cursor holding one rate across CPUs (simulated CPUs, simulated clock).
 */
#include "unit.h"

#include <string.h>

#include "tb.h"

#define MS 1000000ULL
#define S  TB_NS_PER_S

static void limit_set_validates(void **state)
{
	struct edge_limit l;

	assert_int_equal(tb_limit_set(&l, 0, 10), -EINVAL);
	assert_int_equal(tb_limit_set(&l, 10, 0), -EINVAL);
	assert_int_equal(tb_limit_set(&l, 0, 0), -EINVAL);
	assert_int_equal(tb_limit_set(&l, EDGE_RATE_MAX + 1, 1), -EINVAL);
	assert_int_equal(tb_limit_set(&l, 1, EDGE_BURST_MAX + 1), -EINVAL);
	assert_int_equal(tb_limit_set(&l, 1000, 10), 0);
	assert_int_equal(l.rate, 1000);
	assert_int_equal(l.burst, 10);
	assert_int_equal(l.interval_ns, 1 * MS);
	assert_int_equal(l.cap_ns, 10 * MS);
	/* The extremes fit without overflow: 1e9 packets of 1 ns; 1e9 packets of 1 s. */
	assert_int_equal(tb_limit_set(&l, EDGE_RATE_MAX, EDGE_BURST_MAX), 0);
	assert_int_equal(l.interval_ns, 1);
	assert_int_equal(tb_limit_set(&l, 1, EDGE_BURST_MAX), 0);
	assert_int_equal(l.cap_ns, EDGE_BURST_MAX * S);
}

static void interval_fractional_rates(void **state)
{
	assert_int_equal(tb_interval(5, 60 * S), 12 * S); /* 5 per minute */
	assert_int_equal(tb_interval(1000, 60 * S), 60 * MS);
	assert_int_equal(tb_interval(3, S), 333333333);
	assert_int_equal(tb_interval(0, S), 0);
	assert_int_equal(tb_interval(10, 5), 1); /* finer than the clock: clamp to 1 ns */
}

static void mul_sat_saturates(void **state)
{
	assert_int_equal(tb_mul_sat(3, 4), 12);
	assert_int_equal(tb_mul_sat(0, ~0ULL), 0);
	assert_true(tb_mul_sat(1ULL << 40, 1ULL << 40) == ~0ULL);
}

static void refill_and_cap(void **state)
{
	/* 10 ms of credit, 5 ms later: 15 ms; capped at 12 ms. */
	assert_int_equal(tb_refill(10 * MS, 100 * MS, 105 * MS, 20 * MS), 15 * MS);
	assert_int_equal(tb_refill(10 * MS, 100 * MS, 105 * MS, 12 * MS), 12 * MS);
	/* Credit above a (lowered) cap is clipped even with no time passing. */
	assert_int_equal(tb_refill(30 * MS, 100 * MS, 100 * MS, 12 * MS), 12 * MS);
}

static void refill_huge_gap(void **state)
{
	/* Years of idleness, or a stamp of 0, saturate at the cap without overflowing. */
	assert_int_equal(tb_refill(0, 0, ~0ULL, 7 * S), 7 * S);
	assert_int_equal(tb_refill(5, 1, ~0ULL - 1, ~0ULL - 3), ~0ULL - 3);
}

static void clock_backwards_refills_nothing(void **state)
{
	struct edge_bucket b;
	struct edge_limit l;

	tb_limit_set(&l, 10, 1); /* 100 ms per token, burst 1 */
	tb_init(&b, 10 * S, l.cap_ns);
	assert_true(tb_take(&b, 10 * S, l.interval_ns, l.cap_ns, 1));
	/* The clock steps back 5 s: no refill, and the stamp stays at 10 s ... */
	assert_false(tb_take(&b, 5 * S, l.interval_ns, l.cap_ns, 1));
	assert_int_equal(b.stamp_ns, 10 * S);
	/* ... so the first token comes one interval after the *latest* time seen. */
	assert_false(tb_take(&b, 10 * S + 99 * MS, l.interval_ns, l.cap_ns, 1));
	assert_true(tb_take(&b, 10 * S + 100 * MS, l.interval_ns, l.cap_ns, 1));
}

static void zero_rate_is_unlimited(void **state)
{
	struct edge_bucket b = { 0 };

	/* interval 0 (count 0): every request costs nothing. */
	for (int i = 0; i < 1000; i++)
		assert_true(tb_take(&b, (__u64)i, 0, 0, 1));
}

/* Over T seconds at 2x overload a bucket admits burst + rate * T: AWS usage-plan maths. */
static void take_admits_burst_plus_rate(void **state)
{
	struct edge_bucket b;
	struct edge_limit l;
	__u64 admitted = 0, now;

	tb_limit_set(&l, 100, 20);
	tb_init(&b, 1 * S, l.cap_ns);
	for (now = 1 * S; now <= 11 * S; now += 5 * MS) /* 200 requests/s for 10 s */
		admitted += tb_take(&b, now, l.interval_ns, l.cap_ns, 1);
	assert_int_equal(admitted, 20 + 100 * 10);
}

static void take_weighted_cost(void **state)
{
	struct edge_bucket b;
	struct edge_limit l;

	tb_limit_set(&l, 1, 30);
	tb_init(&b, S, l.cap_ns);
	assert_true(tb_take(&b, S, l.interval_ns, l.cap_ns, 25));
	assert_false(tb_take(&b, S, l.interval_ns, l.cap_ns, 25)); /* 5 left: nothing taken */
	assert_int_equal(b.credit_ns, 5 * S);
	assert_int_equal(tb_wait_ns(b.credit_ns, l.interval_ns, l.cap_ns, 25), 20 * S);
	assert_true(tb_wait_ns(b.credit_ns, l.interval_ns, l.cap_ns, 31) == ~0ULL);
	assert_int_equal(tb_wait_ns(b.credit_ns, l.interval_ns, l.cap_ns, 5), 0);
}

static void free_plan_retry_after(void **state)
{
	struct edge_bucket b;
	struct edge_limit l;

	/* The seed's free plan: 1 r/s, burst 1; a second request 300 ms later waits 700 ms. */
	tb_limit_set(&l, 1, 1);
	tb_init(&b, 50 * S, l.cap_ns);
	assert_true(tb_take(&b, 50 * S, l.interval_ns, l.cap_ns, 1));
	assert_false(tb_take(&b, 50 * S + 300 * MS, l.interval_ns, l.cap_ns, 1));
	assert_int_equal(tb_wait_ns(b.credit_ns, l.interval_ns, l.cap_ns, 1), 700 * MS);
}

/* ---- per-CPU wallets: NCPU simulated CPUs, slot 0 is the home slot ---- */

#define NCPU 4

struct sim {
	struct edge_bucket slot[NCPU];
	int created;
	struct edge_limit l;
	__u64 tick; /* > 0: judge first on a coarse clock of this resolution */
	__u64 early_rejects;
};

static int sim_packet(struct sim *s, int cpu, __u64 now)
{
	if (!s->created) { /* what bpf/bucket.h does on a map miss */
		memset(s->slot, 0, sizeof(s->slot));
		tb_percpu_init(&s->slot[cpu], now, s->l.cap_ns, cpu == 0);
		if (cpu != 0)
			tb_percpu_home_init(&s->slot[0], now);
		s->created = 1;
	}
	/* What bpf/bucket.h does: wallet, then the coarse pre-check, then the precise path. */
	if (s->tick) {
		if (tb_wallet_take(&s->slot[cpu], s->l.interval_ns))
			return 1;
		if (tb_percpu_early_reject(&s->slot[cpu], cpu == 0, now / s->tick * s->tick,
					   s->l.interval_ns, s->l.cap_ns)) {
			s->early_rejects++;
			return 0;
		}
	}
	return tb_percpu_take(&s->slot[cpu], &s->slot[0], cpu == 0, now, s->l.interval_ns,
			      s->l.cap_ns);
}

/* Offer `pps` packets per second for `secs` seconds, each to a CPU drawn (fixed seed) with
 * probability share[cpu] per mille; returns the packets admitted. */
static __u64 sim_run(struct sim *s, __u64 start, __u64 pps, __u64 secs, const int share[NCPU])
{
	__u64 admitted = 0, gap = S / pps, n = pps * secs;
	unsigned rnd = 12345;

	for (__u64 i = 0; i < n; i++) {
		int cpu = 0, r, c;

		rnd = rnd * 1103515245u + 12345u;
		r = (int)((rnd >> 8) % 1000);
		for (c = 0; c < NCPU; c++) {
			if (r < share[c]) {
				cpu = c;
				break;
			}
			r -= share[c];
		}
		admitted += sim_packet(s, cpu, start + i * gap);
	}
	return admitted;
}

static void percpu_one_cpu_gets_full_rate(void **state)
{
	struct sim s = { 0 };
	const int only3[NCPU] = { 0, 0, 0, 1000 }; /* not even the home CPU */
	__u64 got;

	tb_limit_set(&s.l, 1000, 100);
	got = sim_run(&s, 7 * S, 2000, 10, only3);
	assert_in_range(got, 100 + 10000 - 1, 100 + 10000 + 1);
}

static void percpu_rate_holds_across_cpus(void **state)
{
	const int even[NCPU] = { 250, 250, 250, 250 };
	const int skewed[NCPU] = { 0, 900, 100, 0 };
	const int two[NCPU] = { 500, 500, 0, 0 };
	const int *cases[] = { even, skewed, two };

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct sim s = { 0 };
		__u64 got, expect = 100 + 1000 * 10;

		tb_limit_set(&s.l, 1000, 100);
		got = sim_run(&s, 7 * S, 2000, 10, cases[k]);
		/* Exact but for less than one token left in each wallet. */
		print_message("# case %u: admitted %llu of %llu expected\n", k,
			      (unsigned long long)got, (unsigned long long)expect);
		assert_in_range(got, expect - NCPU, expect + 1);
	}
}

static void percpu_heavy_overload_still_exact(void **state)
{
	const int even[NCPU] = { 250, 250, 250, 250 };
	struct sim s = { 0 };
	__u64 got;

	tb_limit_set(&s.l, 50, 5);
	got = sim_run(&s, S, 50000, 4, even); /* 1000x overload */
	assert_in_range(got, 5 + 200 - NCPU, 5 + 200 + 1);
}

static void percpu_idle_refills_once(void **state)
{
	const int two[NCPU] = { 0, 500, 500, 0 };
	struct sim s = { 0 };
	__u64 got;

	tb_limit_set(&s.l, 10, 10);
	got = sim_run(&s, S, 1000, 1, two); /* drain: burst + 10 */
	assert_in_range(got, 20 - NCPU, 21);
	/* An hour idle: the key gets one full bucket back in all, not one per CPU. */
	got = sim_run(&s, 3601 * S, 1000, 1, two);
	assert_in_range(got, 20 - NCPU, 21);
}

/* Judging rejections on a 4 ms coarse clock first changes nothing in the totals, and
 * spares the precise clock for most packets of a flood. */
static void percpu_coarse_early_reject_keeps_the_rate(void **state)
{
	const int even[NCPU] = { 250, 250, 250, 250 };
	const int one[NCPU] = { 1000, 0, 0, 0 };
	const __u64 rates[] = { 10, 100, 1000, 20000 };

	for (unsigned k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		for (int c = 0; c < 2; c++) {
			struct sim s = { .tick = 4 * MS };
			__u64 got, expect;

			/* A bucket of one token plus 100 ms of tokens. */
			tb_limit_set(&s.l, rates[k], rates[k] / 10 + 1);
			got = sim_run(&s, 7 * S + 1234567, 50000, 4, c ? even : one);
			expect = s.l.burst + rates[k] * 4;
			print_message("# rate %llu on %s: admitted %llu of %llu, %llu of 200000 "
				      "rejected on the coarse clock\n",
				      (unsigned long long)rates[k], c ? "4 CPUs" : "1 CPU",
				      (unsigned long long)got, (unsigned long long)expect,
				      (unsigned long long)s.early_rejects);
			/* One tick's worth of tokens may still wait at the cursor at the end. */
			assert_in_range(got, expect - NCPU - rates[k] * 4 / 1000 - 1, expect + 1);
			if (rates[k] <= 1000)
				assert_true(s.early_rejects > 200000 / 2);
		}
	}
}

/* With less than TB_COARSE_MIN_CAP of room beyond one token (burst 1 at any rate, or a
 * tiny bucket) the coarse clock is never trusted. */
static void percpu_small_bucket_never_early(void **state)
{
	struct edge_bucket mine = { .credit_ns = 0, .stamp_ns = ~0ULL };

	assert_false(tb_percpu_early_reject(&mine, 0, 0, MS, MS + TB_COARSE_MIN_CAP - 1));
	assert_true(tb_percpu_early_reject(&mine, 0, 0, MS, MS + TB_COARSE_MIN_CAP));
	assert_false(tb_percpu_early_reject(&mine, 0, 0, S, S)); /* burst 1 */
	/* Home CPU: the hint is the cursor plus what the wallet lacks of a token. */
	mine = (struct edge_bucket){ .credit_ns = MS / 4, .stamp_ns = 10 * S };
	assert_true(tb_percpu_early_reject(&mine, 1, 10 * S + 3 * MS / 4 - 1, MS, S));
	assert_false(tb_percpu_early_reject(&mine, 1, 10 * S + 3 * MS / 4, MS, S));
}

static void percpu_uninitialised_cursor_mints_nothing(void **state)
{
	struct edge_bucket home = { 0 }, mine = { 0 };

	/* A slot that exists with a zero cursor (created on another CPU an instant ago). */
	assert_false(tb_percpu_take(&mine, &home, 0, 5 * S, MS, 10 * MS));
	assert_int_equal(home.stamp_ns, 5 * S);
	assert_false(tb_percpu_take(&mine, &home, 0, 5 * S + MS - 1, MS, 10 * MS));
	assert_true(tb_percpu_take(&mine, &home, 0, 5 * S + MS, MS, 10 * MS));
}

static void percpu_hint_skips_cursor(void **state)
{
	struct edge_bucket home = { .credit_ns = 0, .stamp_ns = 100 * MS }, mine = { 0 };

	/* Too early to mint a token: the hint records when it will be worth a look. */
	assert_false(tb_percpu_take(&mine, &home, 0, 100 * MS + 10, MS, 10 * MS));
	assert_int_equal(mine.stamp_ns, 101 * MS);
	assert_int_equal(home.stamp_ns, 100 * MS); /* the cursor did not move */
	assert_true(tb_percpu_take(&mine, &home, 0, 101 * MS, MS, 10 * MS));
	assert_int_equal(home.stamp_ns, 101 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_set_validates),
		cmocka_unit_test(interval_fractional_rates),
		cmocka_unit_test(mul_sat_saturates),
		cmocka_unit_test(refill_and_cap),
		cmocka_unit_test(refill_huge_gap),
		cmocka_unit_test(clock_backwards_refills_nothing),
		cmocka_unit_test(zero_rate_is_unlimited),
		cmocka_unit_test(take_admits_burst_plus_rate),
		cmocka_unit_test(take_weighted_cost),
		cmocka_unit_test(free_plan_retry_after),
		cmocka_unit_test(percpu_one_cpu_gets_full_rate),
		cmocka_unit_test(percpu_rate_holds_across_cpus),
		cmocka_unit_test(percpu_heavy_overload_still_exact),
		cmocka_unit_test(percpu_idle_refills_once),
		cmocka_unit_test(percpu_coarse_early_reject_keeps_the_rate),
		cmocka_unit_test(percpu_small_bucket_never_early),
		cmocka_unit_test(percpu_uninitialised_cursor_mints_nothing),
		cmocka_unit_test(percpu_hint_skips_cursor),
	};
	return FG_RUN_TESTS(tests);
}

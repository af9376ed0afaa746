/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/upgroup.c: each strategy's distribution over many picks,
 * consistent hashing's stability when a server leaves, the breaker (open, one half-open
 * probe, closed again), active-check rise/fall, the retry budget.
 */
#include "unit.h"

#include <string.h>

#include "gw/upgroup.h"

#define N 4

static gw_upserver_t servers[N];
static gw_upstate_t states[N];
static gw_upstream_t up;

static void setup_group(int strategy, const uint32_t *weights)
{
	memset(servers, 0, sizeof(servers));
	memset(states, 0, sizeof(states));
	memset(&up, 0, sizeof(up));
	for (int i = 0; i < N; i++) {
		servers[i].weight = weights ? weights[i] : 1;
		servers[i].st = &states[i];
		servers[i].url = "http://x";
	}
	up.name = "g";
	up.servers = servers;
	up.nservers = N;
	up.strategy = strategy;
	up.fail_threshold = 3;
	up.open_ms = 1000;
	up.retry_budget = 0.25;
	up.health.rise = 2;
	up.health.fall = 2;
}

static void pick_many(gw_upsel_t *sel, int n, uint64_t hash, int *count)
{
	for (int k = 0; k < n; k++) {
		bool probe;
		int i = gw_upgroup_pick(&up, sel, 0, hash, 1, &probe);

		assert_true(i >= 0 && i < N);
		count[i]++;
	}
}

static void round_robin(void **state)
{
	gw_upsel_t sel = { 0 };
	int count[N] = { 0 };

	setup_group(gw_upgroup_strategy_of("round-robin"), NULL);
	pick_many(&sel, 400, 0, count);
	for (int i = 0; i < N; i++)
		assert_int_equal(count[i], 100);
	/* a tried server is skipped */
	{
		bool probe;

		assert_int_not_equal(gw_upgroup_pick(&up, &sel, 1, 0, 1, &probe), 0);
		assert_int_equal(gw_upgroup_pick(&up, &sel, 0xf, 0, 1, &probe), -1);
	}
}

/* A dead server in a round-robin group: its requests retry on the next server, and that
 * retry must not take the next request's turn - else, with two servers, every request
 * would try the dead one first. */
static void round_robin_retry_keeps_turns(void **state)
{
	gw_upsel_t sel = { 0 };
	int first[N] = { 0 };

	setup_group(gw_upgroup_strategy_of("round-robin"), NULL);
	up.nservers = 2;
	for (int k = 0; k < 100; k++) {
		bool probe;
		int i = gw_upgroup_pick(&up, &sel, 0, 0, 1, &probe);

		assert_true(i == 0 || i == 1);
		first[i]++;
		if (i == 0) /* server 0 is dead: the request retries elsewhere */
			assert_int_equal(gw_upgroup_pick(&up, &sel, 1, 0, 1, &probe), 1);
	}
	assert_int_equal(first[0], 50);
	assert_int_equal(first[1], 50);
}

static void weighted(void **state)
{
	static const uint32_t w[N] = { 1, 2, 3, 4 };
	gw_upsel_t sel = { 0 };
	int count[N] = { 0 };

	setup_group(gw_upgroup_strategy_of("weighted"), w);
	pick_many(&sel, 1000, 0, count);
	for (int i = 0; i < N; i++)
		assert_int_equal(count[i], 100 * (i + 1));
}

static void least_connections(void **state)
{
	gw_upsel_t sel = { 0 };
	int count[N] = { 0 };

	setup_group(gw_upgroup_strategy_of("least-connections"), NULL);
	states[0].active = 50; /* a slow server holding many exchanges */
	for (int k = 0; k < 300; k++) {
		bool probe;
		int i = gw_upgroup_pick(&up, &sel, 0, 0, 1, &probe);

		count[i]++;
		gw_upgroup_active(&up, (size_t)i, 1); /* none of them finishes */
	}
	/* the others fill up to the slow one's 50 before it gets any */
	assert_int_equal(count[1] + count[2] + count[3], 300 - count[0]);
	/* then all four are even: (300 - 150) / 4 each, give or take one */
	assert_true(count[0] >= 36 && count[0] <= 39);
	for (int i = 1; i < N; i++)
		assert_true(count[i] >= 50 + 36 && count[i] <= 50 + 39);
}

static void consistent_hash(void **state)
{
	gw_upsel_t sel = { 0 };
	int before[1000], moved = 0, count[N] = { 0 };
	bool probe;

	setup_group(gw_upgroup_strategy_of("hash-key"), NULL);
	for (uint64_t h = 0; h < 1000; h++) {
		before[h] = gw_upgroup_pick(&up, &sel, 0, h * 0x9e3779b97f4a7c15ULL, 1, &probe);
		assert_int_equal(
			gw_upgroup_pick(&up, &sel, 0, h * 0x9e3779b97f4a7c15ULL, 1, &probe),
			before[h]); /* stable */
		count[before[h]]++;
	}
	for (int i = 0; i < N; i++)
		assert_true(count[i] > 150 && count[i] < 350); /* spread */
	/* server 2 goes down: only its own keys move */
	states[2].down = 1;
	for (uint64_t h = 0; h < 1000; h++) {
		int now = gw_upgroup_pick(&up, &sel, 0, h * 0x9e3779b97f4a7c15ULL, 1, &probe);

		if (before[h] != 2)
			assert_int_equal(now, before[h]);
		else
			moved++;
	}
	assert_int_equal(moved, count[2]);
}

static void first_success(void **state)
{
	gw_upsel_t sel = { 0 };
	bool probe;

	setup_group(gw_upgroup_strategy_of("first-success"), NULL);
	assert_int_equal(gw_upgroup_pick(&up, &sel, 0, 0, 1, &probe), 0); /* in order */
	gw_upgroup_result(&up, 0, false, false, 0, 1);
	assert_int_equal(gw_upgroup_pick(&up, &sel, 0, 0, 1, &probe), 1); /* healthy first */
	gw_upgroup_result(&up, 1, true, false, 9000000, 1);
	gw_upgroup_result(&up, 2, true, false, 1000000, 1);
	gw_upgroup_result(&up, 3, true, false, 5000000, 1);
	assert_int_equal(gw_upgroup_pick(&up, &sel, 0, 0, 1, &probe), 2); /* then fastest */
	assert_int_equal(gw_upgroup_pick(&up, &sel, 1u << 2, 0, 1, &probe), 3);
}

static void breaker(void **state)
{
	gw_upsel_t sel = { 0 };
	uint64_t t = 1000000000ULL;
	bool probe;
	int i;

	setup_group(gw_upgroup_strategy_of("round-robin"), NULL);
	for (int k = 0; k < 3; k++)
		gw_upgroup_result(&up, 0, false, false, 0, t);
	assert_int_equal(states[0].breaker, GW_BREAKER_OPEN);
	assert_int_equal(states[0].ejections, 1);
	assert_false(gw_upgroup_eligible(&up, 0, t + 1));
	for (int k = 0; k < 12; k++)
		assert_int_not_equal(gw_upgroup_pick(&up, &sel, 0, 0, t + 1, &probe), 0);
	/* open_ms later: exactly one probe passes */
	t += 1000000000ULL;
	for (i = -1; i != 0;)
		i = gw_upgroup_pick(&up, &sel, 0, 0, t, &probe);
	assert_true(probe);
	assert_int_equal(states[0].breaker, GW_BREAKER_HALF_OPEN);
	for (int k = 0; k < 12; k++)
		assert_int_not_equal(gw_upgroup_pick(&up, &sel, 0, 0, t, &probe), 0);
	/* the probe fails: open again; later another probe succeeds: closed */
	gw_upgroup_result(&up, 0, false, true, 0, t);
	assert_int_equal(states[0].breaker, GW_BREAKER_OPEN);
	t += 1000000000ULL;
	for (i = -1; i != 0;)
		i = gw_upgroup_pick(&up, &sel, 0, 0, t, &probe);
	gw_upgroup_result(&up, 0, true, true, 1000, t);
	assert_int_equal(states[0].breaker, GW_BREAKER_CLOSED);
	assert_int_equal(states[0].fails, 0);
}

static void health(void **state)
{
	setup_group(gw_upgroup_strategy_of("round-robin"), NULL);
	gw_upgroup_checked(&up, 1, false, 1);
	assert_int_equal(states[1].down, 0); /* fall = 2 */
	gw_upgroup_checked(&up, 1, false, 1);
	assert_int_equal(states[1].down, 1);
	assert_false(gw_upgroup_eligible(&up, 1, 1));
	gw_upgroup_checked(&up, 1, true, 1);
	assert_int_equal(states[1].down, 1); /* rise = 2 */
	gw_upgroup_checked(&up, 1, true, 1);
	assert_int_equal(states[1].down, 0);
	assert_true(gw_upgroup_eligible(&up, 1, 1));
}

static void retry_budget(void **state)
{
	gw_upsel_t sel = { 0 };
	int retries = 0;

	setup_group(gw_upgroup_strategy_of("round-robin"), NULL);
	/* 1000 requests, every one wanting a retry: 10 to start with + 0.25 per request */
	for (int k = 0; k < 1000; k++) {
		gw_upgroup_request(&up, &sel);
		retries += gw_upgroup_may_retry(&sel);
	}
	assert_true(retries >= 250 && retries <= 260);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_robin),	   cmocka_unit_test(round_robin_retry_keeps_turns),
		cmocka_unit_test(weighted),	   cmocka_unit_test(least_connections),
		cmocka_unit_test(consistent_hash), cmocka_unit_test(first_success),
		cmocka_unit_test(breaker),	   cmocka_unit_test(health),
		cmocka_unit_test(retry_budget),
	};

	return FG_RUN_TESTS(tests);
}

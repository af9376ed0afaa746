/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/ptimer.c: timers in due order, unlinking, callbacks that link
 * timers, and the timerfd in a real h2o loop (never early; fires after an unlinked one).
 */
#include "unit.h"

#include "gw/ptimer.h"
#include "gw/worker.h"

#define MS 1000000ULL

struct rec {
	gw_ptimer_t t;
	int id;
	uint64_t fired_ns;
};

static int order[16], norder;
static gw_ptimers_t *cur;

static void on_rec(gw_ptimer_t *t)
{
	struct rec *r = H2O_STRUCT_FROM_MEMBER(struct rec, t, t);

	r->fired_ns = gw_now_ns();
	if (norder < 16)
		order[norder++] = r->id;
}

static void due_order_and_unlink(void **state)
{
	gw_ptimers_t pt;
	struct rec a = { .t.cb = on_rec, .id = 1 }, b = { .t.cb = on_rec, .id = 2 },
		   c = { .t.cb = on_rec, .id = 3 }, d = { .t.cb = on_rec, .id = 4 };
	char err[80];

	norder = 0;
	assert_int_equal(gw_ptimers_init(&pt, NULL, err, sizeof(err)), 0);
	assert_int_equal(gw_ptimers_next(&pt), 0);
	gw_ptimer_link(&pt, &a.t, 1000, 300); /* 1300 */
	gw_ptimer_link(&pt, &b.t, 1000, 100); /* 1100: before a */
	gw_ptimer_link(&pt, &c.t, 1000, 200); /* 1200: between */
	gw_ptimer_link(&pt, &d.t, 1000, 200); /* 1200: after c, same time */
	assert_true(gw_ptimer_is_linked(&a.t));
	assert_int_equal(gw_ptimers_next(&pt), 1100);

	assert_int_equal(gw_ptimers_run(&pt, 1099), 0); /* nothing due yet */
	assert_int_equal(gw_ptimers_run(&pt, 1100), 1);
	assert_false(gw_ptimer_is_linked(&b.t));
	assert_int_equal(gw_ptimers_next(&pt), 1200);

	gw_ptimer_unlink(&c.t);
	gw_ptimer_unlink(&c.t); /* twice: harmless */
	assert_false(gw_ptimer_is_linked(&c.t));
	assert_int_equal(gw_ptimers_run(&pt, 5000), 2);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 4);
	assert_int_equal(order[2], 1);
	assert_int_equal(gw_ptimers_next(&pt), 0);

	/* a zero time still links (0 would disarm a timerfd) */
	gw_ptimer_link(&pt, &a.t, 0, 0);
	assert_int_equal(gw_ptimers_next(&pt), 1);
	gw_ptimers_dispose(&pt); /* unlinks without calling */
	assert_false(gw_ptimer_is_linked(&a.t));
	assert_int_equal(norder, 3);
}

/* A callback that links timers: its own relinking with no delay waits for the next run. */
static struct rec again = { .id = 9 };

static void on_relink(gw_ptimer_t *t)
{
	on_rec(t);
	if (norder < 3)
		gw_ptimer_link(cur, t, 0, 0);
}

static void callback_links(void **state)
{
	gw_ptimers_t pt;
	char err[80];

	norder = 0;
	cur = &pt;
	assert_int_equal(gw_ptimers_init(&pt, NULL, err, sizeof(err)), 0);
	again.t.cb = on_relink;
	gw_ptimer_link(&pt, &again.t, 10, 0);
	assert_int_equal(gw_ptimers_run(&pt, 100), 1);
	assert_int_equal(norder, 1);
	assert_true(gw_ptimer_is_linked(&again.t)); /* relinked, not run again at once */
	assert_int_equal(gw_ptimers_run(&pt, 100), 1);
	assert_int_equal(gw_ptimers_run(&pt, 100), 1);
	assert_int_equal(norder, 3);
	assert_false(gw_ptimer_is_linked(&again.t));
	gw_ptimers_dispose(&pt);
}

/* Run the loop until `r` fired or a second went by. */
static void run_until(h2o_evloop_t *loop, struct rec *r)
{
	uint64_t end = gw_now_ns() + 1000 * MS;

	while (!r->fired_ns && gw_now_ns() < end)
		h2o_evloop_run(loop, 50);
}

static void fires_in_a_loop(void **state)
{
	h2o_evloop_t *loop = h2o_evloop_create();
	gw_ptimers_t pt;
	struct rec gone = { .t.cb = on_rec, .id = 5 }, late = { .t.cb = on_rec, .id = 6 },
		   soon = { .t.cb = on_rec, .id = 7 };
	char err[80];
	uint64_t t0;

	norder = 0;
	assert_int_equal(gw_ptimers_init(&pt, loop, err, sizeof(err)), 0);
	assert_true(pt.fd >= 0);

	/* armed for `gone` (5 ms), which goes: the fd fires for nothing and is re-armed for
	 * `late` (30 ms), which fires, never before it is due */
	t0 = gw_now_ns();
	gw_ptimer_link(&pt, &gone.t, t0, 5 * MS);
	gw_ptimer_link(&pt, &late.t, t0, 30 * MS);
	gw_ptimer_unlink(&gone.t);
	run_until(loop, &late);
	assert_int_not_equal(late.fired_ns, 0);
	assert_true(late.fired_ns >= t0 + 30 * MS);
	assert_int_equal(gone.fired_ns, 0);

	/* an earlier timer linked after a later one re-arms the fd for itself */
	late.fired_ns = 0;
	t0 = gw_now_ns();
	gw_ptimer_link(&pt, &late.t, t0, 500 * MS);
	gw_ptimer_link(&pt, &soon.t, t0, 10 * MS);
	run_until(loop, &soon);
	assert_int_not_equal(soon.fired_ns, 0);
	assert_true(soon.fired_ns >= t0 + 10 * MS);
	assert_int_equal(late.fired_ns, 0); /* not yet */
	assert_true(gw_ptimer_is_linked(&late.t));

	gw_ptimers_dispose(&pt);
	assert_false(gw_ptimer_is_linked(&late.t));
	assert_int_equal(pt.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(due_order_and_unlink),
		cmocka_unit_test(callback_links),
		cmocka_unit_test(fires_in_a_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

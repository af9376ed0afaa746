/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/looptimeout.c: one list per duration and loop, shared and
 * reference-counted; an entry on a shared list fires at its time.
 */
#include "unit.h"

#include "gw/looptimeout.h"

static int fired;

static void on_fire(h2o_timeout_entry_t *e)
{
	fired++;
}

static void shared_by_duration(void **state)
{
	h2o_evloop_t *loop = h2o_evloop_create(), *other = h2o_evloop_create();
	h2o_timeout_t *a = gw_looptimeout_get(loop, 1000), *b = gw_looptimeout_get(loop, 1000);
	h2o_timeout_t *c = gw_looptimeout_get(loop, 30), *d = gw_looptimeout_get(other, 1000);
	h2o_timeout_entry_t e = { .cb = on_fire };

	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_ptr_not_equal(a, d); /* another loop, another list */
	assert_int_equal(a->timeout, 1000);
	assert_int_equal(c->timeout, 30);
	assert_int_equal(gw_looptimeout_count(loop), 2);
	assert_int_equal(gw_looptimeout_count(other), 1);

	/* an entry on a shared list fires when due */
	h2o_timeout_link(loop, c, &e);
	for (int i = 0; i < 100 && !fired; i++)
		h2o_evloop_run(loop, 10);
	assert_int_equal(fired, 1);

	gw_looptimeout_put(loop, a);
	assert_int_equal(gw_looptimeout_count(loop), 2); /* b still holds it */
	gw_looptimeout_put(loop, b);
	assert_int_equal(gw_looptimeout_count(loop), 1);
	gw_looptimeout_put(loop, c);
	gw_looptimeout_put(loop, NULL);
	assert_int_equal(gw_looptimeout_count(loop), 0);
	/* a new list after the last one went */
	a = gw_looptimeout_get(loop, 1000);
	assert_non_null(a);
	assert_int_equal(gw_looptimeout_count(loop), 1);
	gw_looptimeout_put(loop, a);
	gw_looptimeout_put(other, d);
	assert_int_equal(gw_looptimeout_count(other), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shared_by_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/lock.h: the states of an uncontended lock; mutual exclusion
 * under contention (a plain counter stays exact); a waiter put to sleep by a long holder
 * is woken by its unlock.
 */
#include <pthread.h>
#include <time.h>

#include "unit.h"

#include "gw/lock.h"

static void states(void **state)
{
	gw_lock_t l = GW_LOCK_INIT;

	assert_int_equal(l.state, 0);
	gw_lock(&l);
	assert_int_equal(l.state, 1);
	gw_unlock(&l);
	assert_int_equal(l.state, 0);
	gw_lock(&l); /* again, after a release */
	gw_unlock(&l);
	assert_int_equal(l.state, 0);
}

#define THREADS 4
#define ROUNDS	200000

static gw_lock_t shared_lock = GW_LOCK_INIT;
static unsigned long counter; /* plain: only the lock keeps the increments whole */

static void *bump(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		gw_lock(&shared_lock);
		counter = counter + 1;
		gw_unlock(&shared_lock);
	}
	return arg;
}

static void exclusion(void **state)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bump, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(counter, (unsigned long)THREADS * ROUNDS);
	assert_int_equal(shared_lock.state, 0);
}

static gw_lock_t long_lock = GW_LOCK_INIT;
static int got;

static void *waiter(void *arg)
{
	gw_lock(&long_lock);
	got = 1;
	gw_unlock(&long_lock);
	return arg;
}

static void sleeper_woken(void **state)
{
	struct timespec ms = { 0, 1000000 };
	pthread_t t;
	int i;

	gw_lock(&long_lock);
	assert_int_equal(pthread_create(&t, NULL, waiter, NULL), 0);
	/* the waiter spins, then marks the lock waited for and sleeps */
	for (i = 0; i < 5000 && __atomic_load_n(&long_lock.state, __ATOMIC_ACQUIRE) != 2; i++)
		nanosleep(&ms, NULL);
	assert_int_equal(long_lock.state, 2);
	assert_int_equal(got, 0);
	gw_unlock(&long_lock); /* wakes it */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(got, 1);
	assert_int_equal(long_lock.state, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(states),
		cmocka_unit_test(exclusion),
		cmocka_unit_test(sleeper_woken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

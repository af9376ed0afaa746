/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lock.h - a futex mutex for the request path's short critical sections (a key's bucket, a
 * key's usage counters, a stripe of the response cache).
 *
 * Why not pthread_mutex_t: an uncontended lock and unlock pair costs about 55 instructions
 * in glibc (type dispatch behind two calls), and an authenticated request takes one to
 * three pairs (keys.c, usage.c, cache.c) - a visible share of an HTTP/2 rejection or cache
 * hit (`make bench-gw-ir`). Here the uncontended pair is one compare-and-swap and one
 * exchange, inline. Under contention a waiter sleeps in the kernel (FUTEX_WAIT) after a
 * short spin, like a pthread mutex: a holder preempted on this two-CPU machine never makes
 * another thread spin for its time slice.
 *
 * The state (U. Drepper, "Futexes Are Tricky", mutex 2): 0 free, 1 held, 2 held and
 * maybe waited for. Not recursive, no owner check, no robustness; zero-initialised is
 * free. Sections stay short (a holder may call malloc, never waits for I/O).
 */
#ifndef GW_LOCK_H
#define GW_LOCK_H

#include <stdint.h>

typedef struct {
	uint32_t state;
} gw_lock_t;

#define GW_LOCK_INIT                                                                               \
	{                                                                                          \
		0                                                                                  \
	}

/* The contended halves (lock.c). */
void gw_lock_wait(gw_lock_t *l);
void gw_lock_wake(gw_lock_t *l);

static inline void gw_lock(gw_lock_t *l)
{
	uint32_t free = 0;

	if (!__atomic_compare_exchange_n(&l->state, &free, 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		gw_lock_wait(l);
}

static inline void gw_unlock(gw_lock_t *l)
{
	if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2)
		gw_lock_wake(l);
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lock.c - the contended halves of lock.h's futex mutex.
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gw/lock.h"

/* Spins before sleeping: the sections are a few hundred instructions, so a holder running
 * on the other CPU is usually out before a futex round trip would be. */
#define SPINS 100

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void futex(uint32_t *addr, int op, uint32_t val)
{
	syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

void gw_lock_wait(gw_lock_t *l)
{
	uint32_t c;

	for (int i = 0; i < SPINS; i++) {
		c = 0;
		if (__atomic_compare_exchange_n(&l->state, &c, 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		relax();
	}
	/* Mark it waited for; whoever finds it free this way holds it as "2", so its unlock
	 * wakes the next sleeper (a spurious wake at worst). */
	while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0)
		futex(&l->state, FUTEX_WAIT, 2);
}

void gw_lock_wake(gw_lock_t *l)
{
	futex(&l->state, FUTEX_WAKE, 1);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * unit.h - what every host unit test includes: cmocka (whose headers need these first)
 * and a runner macro. tests/run.sh sets CMOCKA_MESSAGE_OUTPUT=TAP.
 */
#ifndef FG_TESTS_UNIT_H
#define FG_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define FG_RUN_TESTS(tests) cmocka_run_group_tests(tests, NULL, NULL)

/* One step of xorshift64 (Marsaglia): the seeded randomness of the randomised cases, so a
 * failing case comes back on every run. *state must not be 0. */
static inline uint64_t fg_xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif

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

/* The bytes of a hex string (pairs of digits, spaces between pairs allowed) into out;
 * returns their count. Anything else in the string fails the test: a typo in a vector. */
static inline size_t fg_unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		char c = *hex;
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (c == ' ' && hi < 0)
			continue;
		if (v < 0)
			fail_msg("not a hex digit: '%c'", c);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		fail_msg("an odd number of hex digits");
	return n;
}

#endif

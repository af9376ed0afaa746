/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of bpf/edge.h as user space sees it: every stat, mode and origin has a
 * unique name (fgctl, /metrics and the docs print them), and the limits are consistent.
 */
#include "unit.h"

#include <string.h>

#include "edge.h"
#include "tb.h"

static const char *const stat_names[] = EDGE_STAT_NAMES;
static const char *const mode_names[] = EDGE_MODE_NAMES;
static const char *const origin_names[] = EDGE_ORIGIN_NAMES;

static void names_complete_and_unique(const char *const *names, int n, int max)
{
	assert_int_equal(n, max);
	for (int i = 0; i < n; i++) {
		assert_non_null(names[i]);
		assert_true(strlen(names[i]) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
}

static void stat_names_complete(void **state)
{
	names_complete_and_unique(stat_names, sizeof(stat_names) / sizeof(stat_names[0]),
				  EDGE_STAT_MAX);
}

static void mode_and_origin_names(void **state)
{
	names_complete_and_unique(mode_names, sizeof(mode_names) / sizeof(mode_names[0]),
				  EDGE_MODE_MAX);
	names_complete_and_unique(origin_names, sizeof(origin_names) / sizeof(origin_names[0]),
				  EDGE_ORIGIN_MAX);
}

static void limits_fit_the_maths(void **state)
{
	struct edge_limit l;

	/* The extreme limits fgctl accepts must not overflow the bucket's ns arithmetic. */
	assert_int_equal(tb_limit_set(&l, 1, EDGE_BURST_MAX), 0);
	assert_true(l.cap_ns < ~0ULL / 2);
	/* A TTL at its maximum, in ns from any boot time, fits in 64 bits. */
	assert_true(EDGE_TTL_MAX_S * TB_NS_PER_S < ~0ULL / 2);
	assert_true(EDGE_V6_PREFIX_DEFAULT <= 128 && EDGE_DSCP_DEFAULT <= EDGE_DSCP_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stat_names_complete),
		cmocka_unit_test(mode_and_origin_names),
		cmocka_unit_test(limits_fit_the_maths),
	};
	return FG_RUN_TESTS(tests);
}

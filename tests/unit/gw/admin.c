/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/admin.c's pure parts: expiry dates in and out.
 */
#include "unit.h"

#include <errno.h>

#include "gw/admin.h"

static void parse_times(void **state)
{
	int64_t t;
	char buf[32];

	assert_int_equal(gw_admin_parse_time("2030-01-02", &t), 0);
	assert_int_equal(t, 1893542400);
	assert_int_equal(gw_admin_parse_time("2030-01-02T03:04:05Z", &t), 0);
	assert_int_equal(t, 1893542400 + 3 * 3600 + 4 * 60 + 5);
	assert_string_equal(gw_admin_format_time(t, buf, sizeof(buf)), "2030-01-02T03:04:05Z");
	assert_int_equal(gw_admin_parse_time("1893542400", &t), 0);
	assert_int_equal(t, 1893542400);
	assert_int_equal(gw_admin_parse_time("", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("tomorrow", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("2030-01-02T03:04:05", &t), -EINVAL); /* no Z */
	assert_int_equal(gw_admin_parse_time("2030-01-02 junk", &t), -EINVAL);
	/* days and seconds that do not exist are refused, not moved to the next ones */
	assert_int_equal(gw_admin_parse_time("2030-02-30", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("2030-02-29", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("2028-02-29", &t), 0); /* a leap year */
	assert_int_equal(gw_admin_parse_time("2030-04-31", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("2030-02-28T23:59:60Z", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("2030-02-28T24:00:00Z", &t), -EINVAL);
	/* at most 9999-12-31T23:59:59Z, in both forms */
	assert_int_equal(gw_admin_parse_time("9999-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, GW_ADMIN_TIME_MAX);
	assert_string_equal(gw_admin_format_time(t, buf, sizeof(buf)), "9999-12-31T23:59:59Z");
	assert_int_equal(gw_admin_parse_time("253402300799", &t), 0);
	assert_int_equal(gw_admin_parse_time("253402300800", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("999999999999", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("10000-01-01", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("-5", &t), -EINVAL);
	assert_int_equal(gw_admin_parse_time("12x", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_times),
	};
	return FG_RUN_TESTS(tests);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/quota.c: calendar periods on a simulated clock - day, week
 * and month boundaries, month ends, leap years (and 1900/2100, which are not), UTC
 * offsets either side, the week start - and the counter list a request touches.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gw/quota.h"

/* Unix time of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return gw_quota_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	       s;
}

static const gw_quota_clock_t UTC = { 0, 0 };

static void counters_at(int64_t now, const gw_quota_clock_t *clk, gw_quota_counter_t *c)
{
	static const gw_quota_limit_t none[GW_QUOTA_KINDS];

	assert_int_equal(gw_quota_counters(none, 1, now, clk, c), GW_QUOTA_KINDS);
}

#define DAY(c)	 (&(c)[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)])
#define WEEK(c)	 (&(c)[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK)])
#define MONTH(c) (&(c)[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_MONTH)])

static void civil_matches_libc(void **state)
{
	/* Every day from 1900 to 2200 against gmtime_r, both directions. */
	for (int64_t z = gw_quota_days_from_civil(1900, 1, 1);
	     z < gw_quota_days_from_civil(2200, 1, 1); z++) {
		time_t t = (time_t)(z * 86400);
		struct tm tm;
		int64_t y;
		unsigned m, d;

		gmtime_r(&t, &tm);
		gw_quota_civil_from_days(z, &y, &m, &d);
		if (y != tm.tm_year + 1900 || m != (unsigned)tm.tm_mon + 1 ||
		    d != (unsigned)tm.tm_mday)
			fail_msg("day %lld: %lld-%u-%u, libc %d-%d-%d", (long long)z, (long long)y,
				 m, d, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		assert_int_equal(gw_quota_days_from_civil(y, m, d), z);
	}
	assert_int_equal(gw_quota_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(gw_quota_days_from_civil(1969, 12, 31), -1);
}

static void day_boundary(void **state)
{
	gw_quota_counter_t c[GW_QUOTA_KINDS];

	counters_at(utc(2026, 11, 22, 23, 59, 59), &UTC, c);
	assert_string_equal(DAY(c)->period, "req:d:2026-11-22");
	assert_int_equal(DAY(c)->start, utc(2026, 11, 22, 0, 0, 0));
	assert_int_equal(DAY(c)->reset_at, utc(2026, 11, 23, 0, 0, 0));
	counters_at(utc(2026, 11, 23, 0, 0, 0), &UTC, c);
	assert_string_equal(DAY(c)->period, "req:d:2026-11-23");
	assert_string_equal(c[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_DAY)].period,
			    "cred:d:2026-11-23");
}

static void month_ends_and_leap_years(void **state)
{
	static const struct {
		int y, mo, last; /* the last day of month mo */
	} months[] = {
		{ 2026, 1, 31 }, { 2026, 2, 28 }, { 2024, 2, 29 }, { 2000, 2, 29 },
		{ 1900, 2, 28 }, { 2100, 2, 28 }, { 2026, 4, 30 }, { 2026, 12, 31 },
	};
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	char want[32];

	for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++) {
		int y = months[i].y, mo = months[i].mo;
		int ny = mo == 12 ? y + 1 : y, nm = mo == 12 ? 1 : mo + 1;

		counters_at(utc(y, mo, months[i].last, 23, 59, 59), &UTC, c);
		snprintf(want, sizeof(want), "req:m:%04d-%02d", y, mo);
		assert_string_equal(MONTH(c)->period, want);
		snprintf(want, sizeof(want), "req:d:%04d-%02d-%02d", y, mo, months[i].last);
		assert_string_equal(DAY(c)->period, want);
		assert_int_equal(MONTH(c)->start, utc(y, mo, 1, 0, 0, 0));
		assert_int_equal(MONTH(c)->reset_at, utc(ny, nm, 1, 0, 0, 0));
		/* one second later: the next month, its first day */
		counters_at(utc(y, mo, months[i].last, 23, 59, 59) + 1, &UTC, c);
		snprintf(want, sizeof(want), "req:m:%04d-%02d", ny, nm);
		assert_string_equal(MONTH(c)->period, want);
		snprintf(want, sizeof(want), "req:d:%04d-%02d-01", ny, nm);
		assert_string_equal(DAY(c)->period, want);
	}
	/* 2024-02-28 + 1 day is the 29th; 2100-02-28 + 1 day is March 1st. */
	counters_at(utc(2024, 2, 28, 12, 0, 0) + 86400, &UTC, c);
	assert_string_equal(DAY(c)->period, "req:d:2024-02-29");
	counters_at(utc(2100, 2, 28, 12, 0, 0) + 86400, &UTC, c);
	assert_string_equal(DAY(c)->period, "req:d:2100-03-01");
}

static void week_start(void **state)
{
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	gw_quota_clock_t sunday = { 0, 6 };

	/* 2026-11-22 is a Sunday: the last day of the Monday week of the 16th... */
	counters_at(utc(2026, 11, 22, 23, 59, 59), &UTC, c);
	assert_string_equal(WEEK(c)->period, "req:w:2026-11-16");
	assert_int_equal(WEEK(c)->start, utc(2026, 11, 16, 0, 0, 0));
	assert_int_equal(WEEK(c)->reset_at, utc(2026, 11, 23, 0, 0, 0));
	counters_at(utc(2026, 11, 23, 0, 0, 0), &UTC, c);
	assert_string_equal(WEEK(c)->period, "req:w:2026-11-23");
	/* ... and the first day of a Sunday week. */
	counters_at(utc(2026, 11, 22, 0, 0, 0), &sunday, c);
	assert_string_equal(WEEK(c)->period, "req:w:2026-11-22");
	assert_int_equal(WEEK(c)->reset_at, utc(2026, 11, 29, 0, 0, 0));
	counters_at(utc(2026, 11, 21, 23, 59, 59), &sunday, c);
	assert_string_equal(WEEK(c)->period, "req:w:2026-11-15");
	/* a week across a year end keeps the id of its first day */
	counters_at(utc(2027, 1, 1, 12, 0, 0), &UTC, c);
	assert_string_equal(WEEK(c)->period, "req:w:2026-12-28");
	assert_int_equal(WEEK(c)->reset_at, utc(2027, 1, 4, 0, 0, 0));
	/* before 1970 (negative times) the maths holds too: 1969-12-31 was a Wednesday */
	counters_at(-1, &UTC, c);
	assert_string_equal(DAY(c)->period, "req:d:1969-12-31");
	assert_string_equal(WEEK(c)->period, "req:w:1969-12-29");
}

static void utc_offsets(void **state)
{
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	gw_quota_clock_t india = { 5 * 3600 + 1800, 0 }, pacific = { -8 * 3600, 0 };

	/* +05:30: local midnight is 18:30 UTC the day before */
	counters_at(utc(2026, 11, 22, 18, 29, 59), &india, c);
	assert_string_equal(DAY(c)->period, "req:d:2026-11-22");
	assert_int_equal(DAY(c)->reset_at, utc(2026, 11, 22, 18, 30, 0));
	counters_at(utc(2026, 11, 22, 18, 30, 0), &india, c);
	assert_string_equal(DAY(c)->period, "req:d:2026-11-23");
	/* the month turns at local midnight too: 2026-11-30 18:30 UTC is December there */
	counters_at(utc(2026, 11, 30, 18, 30, 0), &india, c);
	assert_string_equal(MONTH(c)->period, "req:m:2026-12");
	assert_int_equal(MONTH(c)->start, utc(2026, 11, 30, 18, 30, 0));
	/* -08:00: still the old year at 07:59 UTC on January 1st */
	counters_at(utc(2027, 1, 1, 7, 59, 59), &pacific, c);
	assert_string_equal(MONTH(c)->period, "req:m:2026-12");
	assert_string_equal(DAY(c)->period, "req:d:2026-12-31");
	assert_int_equal(MONTH(c)->reset_at, utc(2027, 1, 1, 8, 0, 0));
	counters_at(utc(2027, 1, 1, 8, 0, 0), &pacific, c);
	assert_string_equal(MONTH(c)->period, "req:m:2027-01");
}

static void counters_carry_limits_and_costs(void **state)
{
	gw_quota_limit_t l[GW_QUOTA_KINDS] = { 0 };
	gw_quota_counter_t c[GW_QUOTA_KINDS];

	l[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)] = (gw_quota_limit_t){ 1000, false };
	l[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)] = (gw_quota_limit_t){ 50000, true };
	gw_quota_counters(l, 25, utc(2026, 11, 22, 12, 0, 0), &UTC, c);
	for (int k = 0; k < GW_QUOTA_KINDS; k++) {
		assert_int_equal(c[k].kind, k);
		assert_int_equal(c[k].cost, k < GW_QUOTA_PERIODS ? 1 : 25);
	}
	assert_int_equal(DAY(c)->limit, 1000);
	assert_false(DAY(c)->soft);
	assert_int_equal(c[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)].limit, 50000);
	assert_true(c[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)].soft);
	assert_int_equal(WEEK(c)->limit, 0);
	assert_string_equal(c[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_WEEK)].period,
			    "cred:w:2026-11-16");
}

/* The template is what gw_quota_counters() gives without limits, field for field, across
 * days, clock settings and credit costs. */
static void template_is_counters_without_limits(void **state)
{
	static const gw_quota_limit_t none[GW_QUOTA_KINDS];
	const gw_quota_clock_t clks[] = { UTC, { .utc_offset_s = -5 * 3600, .week_start = 6 } };

	for (size_t k = 0; k < sizeof(clks) / sizeof(clks[0]); k++)
		for (int64_t now = utc(2026, 2, 27, 23, 0, 0); now < utc(2026, 3, 3, 0, 0, 0);
		     now += 5 * 3600) {
			gw_quota_counter_t want[GW_QUOTA_KINDS];
			const gw_quota_counter_t *t;

			uint64_t credits = (uint64_t)(now / 3600) % 3; /* 0 too */

			gw_quota_counters(none, credits, now, &clks[k], want);
			t = gw_quota_template(now, &clks[k], credits, NULL);
			for (int i = 0; i < GW_QUOTA_KINDS; i++) {
				assert_memory_equal(t[i].period, want[i].period,
						    GW_QUOTA_PERIOD_LEN);
				assert_int_equal(t[i].limit, 0);
				assert_false(t[i].soft);
				assert_int_equal(t[i].cost, want[i].cost);
				assert_int_equal(t[i].start, want[i].start);
				assert_int_equal(t[i].reset_at, want[i].reset_at);
				assert_int_equal(t[i].kind, want[i].kind);
			}
		}
}

/* The template's generation: the same while the day (its periods) stays, whatever the
 * credits; another for another day, or another clock; never 0. */
static void template_generations(void **state)
{
	const gw_quota_clock_t other = { .utc_offset_s = 3600 };
	int64_t t0 = utc(2026, 5, 10, 12, 0, 0);
	uint64_t g1, g2, g3, g4, g5;

	gw_quota_template(t0, &UTC, 1, &g1);
	gw_quota_template(t0 + 3600, &UTC, 5, &g2);    /* same day, other credits */
	gw_quota_template(t0 + 86400, &UTC, 5, &g3);   /* next day */
	gw_quota_template(t0 + 86400, &other, 5, &g4); /* another clock */
	gw_quota_template(t0 + 86400, &other, 0, &g5);
	assert_true(g1 != 0);
	assert_int_equal(g1, g2);
	assert_true(g3 != g2);
	assert_true(g4 != g3);
	assert_int_equal(g4, g5);
	gw_quota_template(t0, &UTC, 1, NULL); /* gen is optional */
}

static void parse_offsets_and_weekdays(void **state)
{
	int32_t o;

	assert_int_equal(gw_quota_parse_offset("+05:30", &o), 0);
	assert_int_equal(o, 19800);
	assert_int_equal(gw_quota_parse_offset("-08:00", &o), 0);
	assert_int_equal(o, -28800);
	assert_int_equal(gw_quota_parse_offset("+14:00", &o), 0);
	assert_int_equal(o, 50400);
	assert_int_equal(gw_quota_parse_offset("-03", &o), 0);
	assert_int_equal(o, -10800);
	assert_int_equal(gw_quota_parse_offset("Z", &o), 0);
	assert_int_equal(o, 0);
	assert_int_equal(gw_quota_parse_offset("+14:01", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset("+15:00", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset("+05:60", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset("05:00", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset("+5:00", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset("+05:0", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset("", &o), -EINVAL);
	assert_int_equal(gw_quota_parse_offset(NULL, &o), -EINVAL);
	assert_int_equal(gw_quota_weekday_of("monday"), 0);
	assert_int_equal(gw_quota_weekday_of("sunday"), 6);
	assert_int_equal(gw_quota_weekday_of("Monday"), -1);
	assert_int_equal(gw_quota_weekday_of(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(civil_matches_libc),
		cmocka_unit_test(day_boundary),
		cmocka_unit_test(month_ends_and_leap_years),
		cmocka_unit_test(week_start),
		cmocka_unit_test(utc_offsets),
		cmocka_unit_test(counters_carry_limits_and_costs),
		cmocka_unit_test(template_is_counters_without_limits),
		cmocka_unit_test(template_generations),
		cmocka_unit_test(parse_offsets_and_weekdays),
	};

	return FG_RUN_TESTS(tests);
}

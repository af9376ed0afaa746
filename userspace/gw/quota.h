/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * quota.h - which quota counters a request touches: pure calendar maths, no state.
 *
 * A plan may limit requests and credits per day, week and month (AWS usage-plan periods);
 * each limit is hard (the request is refused) or soft (admitted, the excess counted as
 * overage). Periods are calendar periods in UTC shifted by a configured offset; weeks
 * start on a configured weekday. Every request on an authenticated route touches the same
 * six counters (requests and credits x day, week, month), whether or not the plan limits
 * them: usage is then complete for reporting, and a plan change keeps what was used.
 *
 * gw_quota_counters() turns (plan, route, now, clock settings) into that list. Each
 * counter carries a stable period id ("req:d:2026-11-22", "req:w:2026-11-16" named by the
 * week's first day, "cred:m:2026-11"), so any backend - the embedded table (usage.h) or a
 * Redis script - checks and debits the same list without knowing the calendar: a stored
 * counter whose period id differs from the request's is a finished period and counts as 0.
 */
#ifndef GW_QUOTA_H
#define GW_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum gw_quota_period {
	GW_QUOTA_DAY = 0,
	GW_QUOTA_WEEK,
	GW_QUOTA_MONTH,
	GW_QUOTA_PERIODS,
};

enum gw_quota_unit {
	GW_QUOTA_REQUESTS = 0,
	GW_QUOTA_CREDITS,
	GW_QUOTA_UNITS,
};

/* Counters per request (and per key): unit * GW_QUOTA_PERIODS + period. */
#define GW_QUOTA_KINDS	    (GW_QUOTA_UNITS * GW_QUOTA_PERIODS)
/* Room for a period id and its NUL ("cred:d:-99999-12-31" is the longest). */
#define GW_QUOTA_PERIOD_LEN 24

/*
 * Whether two period ids are the same period. Ids are NUL-padded to the whole array
 * wherever they are written (gw_quota_set_period()), so a fixed-size compare - a few
 * word compares once inlined - is exact; strcmp() cost a request 12 calls.
 */
static inline bool gw_quota_same_period(const char *a, const char *b)
{
	return !memcmp(a, b, GW_QUOTA_PERIOD_LEN);
}

/* Write the id s (truncated to fit) into dst, NUL-padded to GW_QUOTA_PERIOD_LEN. */
static inline void gw_quota_set_period(char dst[GW_QUOTA_PERIOD_LEN], const char *s)
{
	size_t n = strnlen(s, GW_QUOTA_PERIOD_LEN - 1);

	memcpy(dst, s, n);
	memset(dst + n, 0, GW_QUOTA_PERIOD_LEN - n);
}
/* Largest |UTC offset| in seconds (UTC-14:00 .. UTC+14:00 covers every time zone). */
#define GW_QUOTA_OFFSET_MAX (14 * 3600)

/* One configured limit; limit 0 = none. */
typedef struct st_gw_quota_limit_t {
	uint64_t limit;
	bool soft;
} gw_quota_limit_t;

/* How periods are cut. */
typedef struct st_gw_quota_clock_t {
	int32_t utc_offset_s; /* local = UTC + this; |.| <= GW_QUOTA_OFFSET_MAX */
	uint8_t week_start;   /* 0 = Monday .. 6 = Sunday */
} gw_quota_clock_t;

/* One counter a request touches. */
typedef struct st_gw_quota_counter_t {
	char period[GW_QUOTA_PERIOD_LEN]; /* stable id of the period, unit and length */
	uint64_t limit;			  /* 0 = none */
	uint64_t cost;			  /* what this request adds */
	int64_t start;			  /* unix seconds the period began */
	int64_t reset_at;		  /* unix seconds it ends (the next one begins) */
	uint8_t kind;			  /* unit * GW_QUOTA_PERIODS + period */
	bool soft;			  /* over the limit: admit and count overage */
} gw_quota_counter_t;

/*
 * What gw_quota_counters() gives for a plan without limits (GW_QUOTA_KINDS counters, in
 * kind order), without a copy: the calling thread's, valid until its next call of either
 * function. *gen (when gen is not NULL): nonzero, the same for as long as the periods stay
 * those of this thread's previous call, unique in the process otherwise (gw_usage_add()).
 */
const gw_quota_counter_t *gw_quota_template(int64_t now, const gw_quota_clock_t *clk,
					    uint64_t credits, uint64_t *gen);

/*
 * The GW_QUOTA_KINDS counters of a request at unix time now: limits[kind] from the plan,
 * cost 1 for requests and `credits` for credits. Returns GW_QUOTA_KINDS, in kind order.
 */
size_t gw_quota_counters(const gw_quota_limit_t limits[GW_QUOTA_KINDS], uint64_t credits,
			 int64_t now, const gw_quota_clock_t *clk,
			 gw_quota_counter_t out[GW_QUOTA_KINDS]);

/* The kind of (unit, period). */
static inline uint8_t gw_quota_kind(enum gw_quota_unit u, enum gw_quota_period p)
{
	return (uint8_t)(u * GW_QUOTA_PERIODS + p);
}

/* "day", "week", "month"; "requests", "credits". */
const char *gw_quota_period_name(enum gw_quota_period p);
const char *gw_quota_unit_name(enum gw_quota_unit u);

/*
 * Parse a UTC offset "+HH:MM" / "-HH:MM" (also "Z" and "+HH"). Returns 0 with *out in
 * seconds, or -EINVAL (bad form, minutes >= 60, beyond GW_QUOTA_OFFSET_MAX).
 */
int gw_quota_parse_offset(const char *s, int32_t *out);

/* The weekday named s ("monday".."sunday", lower case) as 0..6, or -1. */
int gw_quota_weekday_of(const char *s);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t gw_quota_days_from_civil(int64_t y, unsigned m, unsigned d);
void gw_quota_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif /* GW_QUOTA_H */

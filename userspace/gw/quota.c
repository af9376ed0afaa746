/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * quota.c - calendar periods of quota counters (see quota.h).
 *
 * Dates use the proleptic Gregorian calendar through days-since-epoch conversions (the
 * well-known era/day-of-era method), so month ends and leap years need no tables and no
 * libc time zone state: the request path calls this on every admitted request.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gw/quota.h"

#define DAY_S 86400

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t gw_quota_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void gw_quota_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static const char *const unit_tag[GW_QUOTA_UNITS] = { "req", "cred" };
static const char period_tag[GW_QUOTA_PERIODS] = { 'd', 'w', 'm' };

const char *gw_quota_period_name(enum gw_quota_period p)
{
	static const char *const n[GW_QUOTA_PERIODS] = { "day", "week", "month" };

	return (unsigned)p < GW_QUOTA_PERIODS ? n[p] : "?";
}

const char *gw_quota_unit_name(enum gw_quota_unit u)
{
	static const char *const n[GW_QUOTA_UNITS] = { "requests", "credits" };

	return (unsigned)u < GW_QUOTA_UNITS ? n[u] : "?";
}

/* The periods of one local day: ids, starts and ends of its day, week and month. */
struct periods {
	int64_t today; /* local days since 1970-01-01 */
	int32_t offset;
	uint8_t week_start;
	bool valid;
	char ids[GW_QUOTA_KINDS][GW_QUOTA_PERIOD_LEN];
	int64_t starts[GW_QUOTA_PERIODS], ends[GW_QUOTA_PERIODS];
	/* The day's counters but for their limits and credit costs: copied whole per request */
	gw_quota_counter_t tmpl[GW_QUOTA_KINDS];
	uint64_t gen; /* of these periods (gw_quota_template()) */
};

/* Generations of templates, unique in the process: no two threads' templates share one. */
static uint64_t generations;

static void compute(struct periods *ps, int64_t today, const gw_quota_clock_t *clk)
{
	int64_t off = clk->utc_offset_s, y, wy, ny, mstart, mnext;
	/* 1970-01-01 was a Thursday: (days + 3) mod 7 counts from Monday. */
	int64_t into_week = (((today + 3) % 7 + 7) % 7 - clk->week_start + 7) % 7;
	int64_t wstart = today - into_week;
	unsigned m, d, wm, wd;
	char dates[GW_QUOTA_PERIODS][17];

	gw_quota_civil_from_days(today, &y, &m, &d);
	gw_quota_civil_from_days(wstart, &wy, &wm, &wd);
	mstart = gw_quota_days_from_civil(y, m, 1);
	ny = m == 12 ? y + 1 : y;
	mnext = gw_quota_days_from_civil(ny, m == 12 ? 1 : m + 1, 1);
	snprintf(dates[GW_QUOTA_DAY], sizeof(dates[0]), "%04lld-%02u-%02u", (long long)y, m, d);
	snprintf(dates[GW_QUOTA_WEEK], sizeof(dates[0]), "%04lld-%02u-%02u", (long long)wy, wm, wd);
	snprintf(dates[GW_QUOTA_MONTH], sizeof(dates[0]), "%04lld-%02u", (long long)y, m);
	ps->starts[GW_QUOTA_DAY] = today * DAY_S - off;
	ps->ends[GW_QUOTA_DAY] = (today + 1) * DAY_S - off;
	ps->starts[GW_QUOTA_WEEK] = wstart * DAY_S - off;
	ps->ends[GW_QUOTA_WEEK] = (wstart + 7) * DAY_S - off;
	ps->starts[GW_QUOTA_MONTH] = mstart * DAY_S - off;
	ps->ends[GW_QUOTA_MONTH] = mnext * DAY_S - off;
	for (int u = 0; u < GW_QUOTA_UNITS; u++)
		for (int p = 0; p < GW_QUOTA_PERIODS; p++) {
			char id[GW_QUOTA_PERIOD_LEN];

			snprintf(id, sizeof(id), "%s:%c:%.16s", unit_tag[u], period_tag[p],
				 dates[p]);
			gw_quota_set_period(ps->ids[gw_quota_kind(u, p)], id);
		}
	memset(ps->tmpl, 0, sizeof(ps->tmpl));
	for (int u = 0; u < GW_QUOTA_UNITS; u++)
		for (int p = 0; p < GW_QUOTA_PERIODS; p++) {
			uint8_t k = gw_quota_kind(u, p);
			gw_quota_counter_t *c = &ps->tmpl[k];

			memcpy(c->period, ps->ids[k], GW_QUOTA_PERIOD_LEN);
			c->cost = u == GW_QUOTA_REQUESTS ? 1 : 0;
			c->start = ps->starts[p];
			c->reset_at = ps->ends[p];
			c->kind = k;
		}
	ps->today = today;
	ps->offset = clk->utc_offset_s;
	ps->week_start = clk->week_start;
	ps->valid = true;
}

const gw_quota_counter_t *gw_quota_template(int64_t now, const gw_quota_clock_t *clk,
					    uint64_t credits, uint64_t *gen)
{
	/* Formatting the ids costs more than the rest of an admission; they change once a
	 * day, so each thread keeps the last day's. */
	static __thread struct periods cache;
	int64_t today = floor_div(now + clk->utc_offset_s, DAY_S);

	if (!cache.valid || cache.today != today || cache.offset != clk->utc_offset_s ||
	    cache.week_start != clk->week_start) {
		compute(&cache, today, clk);
		cache.gen = __atomic_add_fetch(&generations, 1, __ATOMIC_RELAXED);
	}
	if (cache.tmpl[gw_quota_kind(GW_QUOTA_CREDITS, 0)].cost != credits)
		for (int p = 0; p < GW_QUOTA_PERIODS; p++)
			cache.tmpl[gw_quota_kind(GW_QUOTA_CREDITS, p)].cost = credits;
	if (gen)
		*gen = cache.gen;
	return cache.tmpl;
}

size_t gw_quota_counters(const gw_quota_limit_t limits[GW_QUOTA_KINDS], uint64_t credits,
			 int64_t now, const gw_quota_clock_t *clk,
			 gw_quota_counter_t out[GW_QUOTA_KINDS])
{
	/* The day's template in one copy, then the plan's limits. */
	memcpy(out, gw_quota_template(now, clk, credits, NULL), GW_QUOTA_KINDS * sizeof(*out));
	for (int k = 0; k < GW_QUOTA_KINDS; k++) {
		out[k].limit = limits[k].limit;
		out[k].soft = limits[k].soft;
	}
	return GW_QUOTA_KINDS;
}

int gw_quota_parse_offset(const char *s, int32_t *out)
{
	int sign, hh, mm = 0;
	size_t len;

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "Z")) {
		*out = 0;
		return 0;
	}
	len = strlen(s);
	if ((len != 3 && len != 6) || (s[0] != '+' && s[0] != '-'))
		return -EINVAL;
	sign = s[0] == '-' ? -1 : 1;
	if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
		return -EINVAL;
	hh = (s[1] - '0') * 10 + (s[2] - '0');
	if (len == 6) {
		if (s[3] != ':' || s[4] < '0' || s[4] > '5' || s[5] < '0' || s[5] > '9')
			return -EINVAL;
		mm = (s[4] - '0') * 10 + (s[5] - '0');
	}
	if (hh * 3600 + mm * 60 > GW_QUOTA_OFFSET_MAX)
		return -EINVAL;
	*out = sign * (hh * 3600 + mm * 60);
	return 0;
}

int gw_quota_weekday_of(const char *s)
{
	static const char *const days[7] = { "monday", "tuesday",  "wednesday", "thursday",
					     "friday", "saturday", "sunday" };

	for (int i = 0; s && i < 7; i++)
		if (!strcmp(s, days[i]))
			return i;
	return -1;
}

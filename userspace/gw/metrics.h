/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics.h - counters of the request path, and their Prometheus text form.
 *
 * Each worker thread owns one gw_metrics_t and is its only writer, so counting is a
 * plain increment on a cache line no other thread writes; the admin thread reads all of
 * them (relaxed atomic loads) to answer /metrics. Labels that name things (routes, plans,
 * upstreams) use interned ids, so counts survive reloads that reorder or rename.
 *
 * Families:
 *   floodgate_requests_total{route,status,plan}       every answered request
 *   floodgate_rejections_total{reason}                 every problem response by type
 *   floodgate_upstream_latency_seconds{upstream}       histogram, time to response head
 *   floodgate_upstream_errors_total{upstream,kind}     refused | timeout | error
 *   floodgate_keys_loaded                              keys in the in-memory table
 *   floodgate_config_reloads_total{result}             ok | failed
 *   floodgate_quota_credits_total                      credits debited (net of refunds)
 *   floodgate_quota_overage_total{unit}                admitted past soft quota limits
 *   floodgate_quota_refunds_total                      requests refunded (upstream failed)
 *   floodgate_connections / floodgate_requests_in_flight
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "gw/problem.h"

/* Distinct (route, status, plan) series one thread tracks; more go to one overflow series. */
#define GW_METRICS_SERIES    2048
/* Upstreams one thread tracks latency for. */
#define GW_METRICS_UPSTREAMS 64
/* Histogram bucket bounds in microseconds (+Inf is implicit). */
#define GW_METRICS_BUCKETS   14

enum gw_upstream_error {
	GW_UPSTREAM_REFUSED = 0, /* connection refused or failed */
	GW_UPSTREAM_TIMEOUT,	 /* connect, first byte or total timeout */
	GW_UPSTREAM_ERROR,	 /* broken or invalid response */
	GW_UPSTREAM_ERROR_MAX,
};

typedef struct st_gw_metrics_t {
	struct {
		uint64_t key; /* route << 32 | plan << 16 | status; 0 = free slot */
		uint64_t count;
	} series[GW_METRICS_SERIES];
	uint64_t overflow;
	uint64_t rejections[GW_PROBLEM_MAX];
	struct {
		uint16_t id; /* interned upstream name; 0 = free */
		uint64_t buckets[GW_METRICS_BUCKETS + 1];
		uint64_t sum_us;
		uint64_t count;
		uint64_t errors[GW_UPSTREAM_ERROR_MAX];
	} upstreams[GW_METRICS_UPSTREAMS];
	uint64_t connections; /* open now (gauge) */
	uint64_t in_flight;   /* requests in progress (gauge) */
} gw_metrics_t;

/* A zeroed block, or NULL. */
gw_metrics_t *gw_metrics_new(void);
void gw_metrics_free(gw_metrics_t *m);

/* One answered request (owner thread only). route/plan are interned ids, 0 = none. */
void gw_metrics_request(gw_metrics_t *m, uint16_t route, uint16_t plan, int status);
void gw_metrics_rejection(gw_metrics_t *m, enum gw_problem p);
void gw_metrics_upstream_latency(gw_metrics_t *m, uint16_t upstream, uint64_t ns);
void gw_metrics_upstream_error(gw_metrics_t *m, uint16_t upstream, enum gw_upstream_error e);
void gw_metrics_gauge_add(uint64_t *gauge, int64_t delta);

/* Process-wide figures the renderer adds. */
typedef struct st_gw_metrics_globals_t {
	uint64_t keys_loaded;
	uint64_t reloads_ok, reloads_failed;
	uint64_t config_generation;
	/* credits.h; overage by unit: [requests, credits] */
	uint64_t quota_credits, quota_overage[2], quota_refunds;
} gw_metrics_globals_t;

/*
 * Render the sum of n threads' blocks and the globals as Prometheus text (format 0.0.4)
 * into a malloc'd buffer (*len set). NULL on allocation failure.
 */
char *gw_metrics_render(gw_metrics_t *const *m, size_t n, const gw_metrics_globals_t *g,
			size_t *len);

#endif /* GW_METRICS_H */

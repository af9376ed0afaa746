/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster_quota.h - a request's quota counters (quota.h) as the admission script's
 * counters (cluster.h): pure translation, no state.
 *
 * Every request counts in the same six counters as in embedded mode (requests and
 * credits x day, week, month), whether or not the plan limits them, so usage is complete
 * and a plan change keeps what was used: the Redis key of a counter is named by the API
 * key and the period id only ("PREFIX{ID}:q:cred:m:2026-11"), never by the plan. A
 * finished period is a different key; each key expires a day after its period ends.
 * Soft limits count without refusing; their overage is what the counter holds beyond the
 * limit (Redis keeps no separate overage counter).
 */
#ifndef GW_CLUSTER_QUOTA_H
#define GW_CLUSTER_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "gw/cluster.h"
#include "gw/quota.h"

/* How long a counter's key outlives its period (reports, clock skew between nodes). */
#define GW_CLUSTER_QUOTA_KEEP_S 86400

typedef struct st_gw_cluster_quota_t {
	size_t n;
	char suffix[GW_QUOTA_KINDS][GW_QUOTA_PERIOD_LEN + 2];
	gw_cluster_counter_t ctr[GW_QUOTA_KINDS];
} gw_cluster_quota_t;

/* The script counters of quota counters q[0..n) (n <= GW_QUOTA_KINDS, else truncated). */
void gw_cluster_quota_build(const gw_quota_counter_t *q, size_t n, gw_cluster_quota_t *out);

/* The overage a counter holding `used` shows: beyond a soft limit, else 0. */
uint64_t gw_cluster_quota_overage(const gw_quota_counter_t *q, uint64_t used);

/* What one admitted request took beyond soft limits per counter (values after debit). */
void gw_cluster_quota_over(const gw_quota_counter_t *q, size_t n, const uint64_t *values,
			   uint64_t *over);

#endif /* GW_CLUSTER_QUOTA_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster_quota.c - quota counters for the admission script (see cluster_quota.h).
 */
#include <string.h>

#include "gw/cluster_quota.h"

void gw_cluster_quota_build(const gw_quota_counter_t *q, size_t n, gw_cluster_quota_t *out)
{
	if (n > GW_QUOTA_KINDS)
		n = GW_QUOTA_KINDS;
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		/* "q:" + the period id (per request: memcpy rather than snprintf) */
		size_t len = strnlen(q[i].period, sizeof(q[i].period));

		if (len > sizeof(out->suffix[i]) - 3)
			len = sizeof(out->suffix[i]) - 3;
		memcpy(out->suffix[i], "q:", 2);
		memcpy(out->suffix[i] + 2, q[i].period, len);
		out->suffix[i][2 + len] = '\0';
		out->ctr[i] = (gw_cluster_counter_t){
			.suffix = out->suffix[i],
			.limit = q[i].limit,
			.cost = q[i].cost,
			.expire_at = q[i].reset_at + GW_CLUSTER_QUOTA_KEEP_S,
			.hard = q[i].limit && !q[i].soft,
		};
	}
}

uint64_t gw_cluster_quota_overage(const gw_quota_counter_t *q, uint64_t used)
{
	return q->limit && q->soft && used > q->limit ? used - q->limit : 0;
}

void gw_cluster_quota_over(const gw_quota_counter_t *q, size_t n, const uint64_t *values,
			   uint64_t *over)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t o = gw_cluster_quota_overage(&q[i], values[i]);

		over[i] = o < q[i].cost ? o : q[i].cost;
	}
}

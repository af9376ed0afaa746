/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * credits.h - the request path's quota step and the usage report.
 *
 * Admission (handler.c's authorize()) takes the plan's token on a copy of the bucket,
 * then asks gw_credits_admit() to check and debit the request's quota counters (quota.h)
 * in the embedded table (usage.h), all while the key's stripe lock is held; only when both
 * admit is the bucket written back. A request refused by either therefore spends neither.
 * When the request ends, gw_credits_finish() gives the debit back if the route says so
 * and the upstream failed (5xx).
 *
 * GET <usage.endpoint> (default /v1/usage) with a key answers that key's own usage; the
 * admin API answers any key's (GET /v1/keys/ID/usage) through gw_credits_usage_json().
 */
#ifndef GW_CREDITS_H
#define GW_CREDITS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "gw/evloop.h"
#include "gw/config.h"
#include "gw/keys.h"
#include "gw/problem.h"
#include "gw/quota.h"
#include "gw/worker.h"

/* What admission recorded about a request's quota (rc->quota, from req->pool). */
typedef struct st_gw_credits_debit_t {
	uint64_t key;
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	uint64_t over[GW_QUOTA_KINDS];
	size_t n;
	size_t failed; /* the counter that refused (when refused) */
	bool debited;
	bool in_redis; /* cluster mode: debited in Redis (cluster_req.c), refunded there */
	bool local;    /* cluster mode: counted on this node under fail-open */
} gw_credits_debit_t;

/*
 * Check and debit the request's counters (caller holds the key's stripe lock). Returns
 * GW_PROBLEM_NONE (debited) or GW_PROBLEM_QUOTA_EXCEEDED (nothing debited; the headers
 * are added by gw_credits_reject()).
 */
enum gw_problem gw_credits_admit(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg,
				 const gw_plan_t *plan, const gw_route_t *route,
				 const uint8_t digest[32]);

/* Retry-After (until the period resets), RateLimit-Policy with the exhausted quota's
 * policy, and RateLimit, for a request gw_credits_admit() refused. */
void gw_credits_reject(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg,
		       const gw_plan_t *plan);

/* At the end of a request: refund an upstream failure on a refund_on_failure route. */
void gw_credits_finish(h2o_req_t *req, gw_reqctx_t *rc);

/*
 * Answer the usage endpoint when the request's path (plen bytes of req->path) is it.
 * Returns true when answered.
 */
bool gw_credits_usage_endpoint(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg,
			       size_t plen);

/*
 * The usage document of a key: id, plan, status, rate and burst, tokens left, every quota
 * counter (limit, used, left, overage, reset time). plan may be NULL (a plan the running
 * config lacks). bucket is the key's bucket as read under its lock (NULL: untouched).
 */
json_t *gw_credits_usage_json(const gw_config_t *cfg, const char *id, const char *plan_name,
			      const gw_plan_t *plan, uint8_t status,
			      const struct edge_bucket *bucket, uint64_t now_ns, int64_t now);

/*
 * The usage document from counters read elsewhere (cluster mode: Redis): used[kind] for
 * each of the GW_QUOTA_KINDS counters, the plan bucket holding credit_ns. Overage is
 * what a soft-limited counter holds beyond its limit.
 */
json_t *gw_credits_usage_json_values(const gw_config_t *cfg, const char *id, const char *plan_name,
				     const gw_plan_t *plan, uint8_t status,
				     const uint64_t used[GW_QUOTA_KINDS], uint64_t credit_ns,
				     int64_t now);

/* Answer a usage request with document o (200, or 500 when o is NULL); o is consumed. */
void gw_credits_send_usage(h2o_req_t *req, gw_reqctx_t *rc, json_t *o);

/* Add an admission decided elsewhere (cluster mode) to the totals below: credits debited
 * (negative: refunded, which also counts a refund) and overage by unit (may be NULL). */
void gw_credits_note(int64_t credits, const uint64_t overage[2]);

/* Process-wide totals for /metrics: credits debited (net of refunds), overage admitted past
 * soft limits by unit (requests, credits), refunded requests. */
void gw_credits_totals(uint64_t *credits, uint64_t overage[2], uint64_t *refunds);

#endif /* GW_CREDITS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster_req.h - the request path's plan-bucket step in cluster mode, and its metrics.
 *
 * The handler has found the key and its plan (key table, in memory as in embedded mode);
 * instead of taking a token from the key's local bucket it hands the request here and
 * returns. One script call decides in Redis (cluster.h) - the plan's bucket and the
 * request's six quota counters (cluster_quota.h) together; a hard quota refuses with 429
 * quota-exceeded as in embedded mode - and the answer finishes the request through
 * gw_handler_decided(). Without an answer - no connection, or none within
 * store.timeout_ms - the policy decides: fail-open takes the token from the node's own
 * bucket (embedded mode's), fail-closed answers 503 limits-unavailable. A client that
 * goes away while Redis decides costs nothing: the request's pool tells the pending call
 * (h2o_mem_alloc_shared's dispose hook), whose answer is then dropped.
 */
#ifndef GW_CLUSTER_REQ_H
#define GW_CLUSTER_REQ_H

#include <stdint.h>

#include <jansson.h>

#include "gw/evloop.h"
#include "gw/proxy.h"
#include "gw/worker.h"

void gw_cluster_request(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
			const uint8_t digest[32], const gw_proxy_drop_t *drop);

/* Give back, in Redis, the quota debit of a refunded request (credits.c's finish). */
void gw_cluster_refund_request(gw_reqctx_t *rc);

/* The usage endpoint in cluster mode: the key's counters and bucket read from Redis by
 * one read-only script call on the worker's connection; answered when it replies (503
 * limits-unavailable when Redis does not). */
void gw_cluster_usage_request(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
			      uint16_t plan_id, uint8_t status);

/* The admin API's usage document of a key in cluster mode: read synchronously through
 * the store's connection (takes the store lock). NULL when Redis failed (logged). */
json_t *gw_cluster_admin_usage(const gw_config_t *cfg, const char *id, const char *plan_name,
			       uint8_t status, int64_t now);

/* Start (cluster mode) and stop the calling worker's Redis client (0 or -ENOMEM); free it
 * once the worker's thread and the admin thread are gone. */
int gw_cluster_worker_start(gw_worker_t *w);
void gw_cluster_worker_stop(gw_worker_t *w);
void gw_cluster_worker_free(gw_worker_t *w);

/* Follow key writes of every node through Redis (the store is the Redis one): each
 * announced key is re-read into the in-memory table; a lost subscription reloads all. */
int gw_cluster_watch_keys(void);

/* Append the cluster families (every worker's counters summed) to a Prometheus text
 * buffer from gw_metrics_render(); returns the new buffer (NULL on allocation failure,
 * text freed). Nothing is appended in embedded mode. */
char *gw_cluster_metrics_append(char *text, size_t *len);

#endif /* GW_CLUSTER_REQ_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster_req.c - cluster mode on the request path (see cluster_req.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "gw/cluster.h"
#include "gw/cluster_req.h"
#include "gw/handler.h"
#include "gw/keys.h"
#include "gw/server.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A request waiting for Redis. */
struct creq {
	h2o_req_t *req;	      /* NULL once h2o disposed of the request (client gone) */
	struct creq **holder; /* in req's pool, points back here until the answer */
	gw_reqctx_t *rc;
	const gw_plan_t *plan;
	gw_cluster_t *c;
	gw_proxy_drop_t drop;
	uint8_t digest[32];
};

static void on_pool_dispose(void *p)
{
	struct creq **holder = p;

	if (*holder)
		(*holder)->req = NULL;
}

/* Redis could not decide: the policy does. */
static void by_policy(struct creq *q)
{
	gw_cluster_stats_t *s = (gw_cluster_stats_t *)gw_cluster_stats(q->c);
	gw_ratelimit_state_t st;
	gw_key_entry_t *e;
	gw_keys_lock_t lk;
	int ok = 0;

	if (gw_cluster_policy(q->c) == GW_REDIS_FAIL_CLOSED) {
		__atomic_store_n(&s->fail_closed, LOAD(s->fail_closed) + 1, __ATOMIC_RELAXED);
		gw_handler_decided(q->req, q->rc, q->plan, NULL, GW_PROBLEM_LIMITS_UNAVAILABLE,
				   &q->drop);
		return;
	}
	__atomic_store_n(&s->fail_open, LOAD(s->fail_open) + 1, __ATOMIC_RELAXED);
	e = gw_keys_lock(gw_server.keys, q->digest, &lk);
	if (e)
		ok = gw_ratelimit_take(&e->bucket, gw_now_ns(), &q->plan->limit, &st);
	gw_keys_unlock(&lk);
	if (!e) /* removed while Redis was asked */
		gw_handler_decided(q->req, q->rc, q->plan, NULL, GW_PROBLEM_INVALID_KEY, &q->drop);
	else
		gw_handler_decided(q->req, q->rc, q->plan, &st,
				   ok ? GW_PROBLEM_NONE : GW_PROBLEM_RATE_LIMITED, &q->drop);
}

static void on_decided(void *data, const gw_cluster_result_t *res)
{
	struct creq *q = data;
	gw_ratelimit_state_t st;

	if (!q->req) {
		free(q);
		return;
	}
	*q->holder = NULL;
	switch (res->verdict) {
	case GW_CLUSTER_ADMIT:
	case GW_CLUSTER_BUCKET:
	case GW_CLUSTER_COUNTER:
		gw_ratelimit_state(&q->plan->limit, res->credit_ns, &st);
		gw_handler_decided(q->req, q->rc, q->plan, &st,
				   res->verdict == GW_CLUSTER_ADMIT ? GW_PROBLEM_NONE
								    : GW_PROBLEM_RATE_LIMITED,
				   &q->drop);
		break;
	default:
		by_policy(q);
		break;
	}
	free(q);
}

void gw_cluster_request(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
			const uint8_t digest[32], const gw_proxy_drop_t *drop)
{
	struct creq *q = malloc(sizeof(*q));

	if (!q) {
		gw_handler_decided(req, rc, plan, NULL, GW_PROBLEM_INTERNAL, drop);
		return;
	}
	*q = (struct creq){
		.req = req, .rc = rc, .plan = plan, .c = rc->tc->worker->cluster, .drop = *drop
	};
	memcpy(q->digest, digest, 32);
	if (!gw_cluster_admit(q->c, rc->key_id, &plan->limit, NULL, 0, on_decided, q)) {
		/* h2o stops reading an HTTP/1 client until its response: spare the epoll
		 * DEL + ADD that a later response would cost (as the proxy does) */
		gw_proxy_keep_client_polled(req);
		q->holder = h2o_mem_alloc_shared(&req->pool, sizeof(*q->holder), on_pool_dispose);
		*q->holder = q;
		return;
	}
	by_policy(q);
	free(q);
}

int gw_cluster_worker_start(gw_worker_t *w)
{
	const gw_config_t *cfg = w->cur->config;
	gw_cluster_t *c;

	if (cfg->store.type != GW_STORE_REDIS)
		return 0;
	if (!(c = gw_cluster_new(w->loop, &cfg->store.redis)))
		return -ENOMEM;
	__atomic_store_n(&w->cluster, c, __ATOMIC_RELEASE);
	return 0;
}

void gw_cluster_worker_stop(gw_worker_t *w)
{
	/* Closed, not freed: the admin thread may still render its counters (/metrics). */
	gw_cluster_close(w->cluster);
}

void gw_cluster_worker_free(gw_worker_t *w)
{
	gw_cluster_t *c = w->cluster;

	__atomic_store_n(&w->cluster, NULL, __ATOMIC_RELEASE);
	gw_cluster_free(c);
}

/* ---- keys written on any node ---- */

static void key_changed(void *arg, const char *id)
{
	gw_key_record_t r;
	gw_keys_lock_t lk;
	gw_key_entry_t *e;
	uint16_t plan, old = 0;
	bool had;

	pthread_mutex_lock(&gw_server.store_lock);
	if (gw_store_get(gw_server.store, id, &r)) {
		pthread_mutex_unlock(&gw_server.store_lock);
		pr_warn("key announcements: Couldn't read key %s: %s", id, gw_server.store->errmsg);
		return;
	}
	plan = gw_intern(r.plan);
	e = gw_keys_lock(gw_server.keys, r.digest, &lk);
	had = e != NULL;
	if (e)
		old = e->plan;
	gw_keys_unlock(&lk);
	if (gw_keys_upsert(gw_server.keys, r.digest, plan, r.status,
			   r.expires <= 0	    ? 0
			   : r.expires > UINT32_MAX ? UINT32_MAX
						    : (uint32_t)r.expires))
		pr_err("key announcements: Couldn't apply key %s: out of memory", id);
	else if (had && old != plan) /* as the admin API does: a new plan, a full bucket */
		gw_keys_reset_bucket(gw_server.keys, r.digest);
	pthread_mutex_unlock(&gw_server.store_lock);
	pr_debug("key announcements: key %s is %s on plan %s", id, gw_key_status_name(r.status),
		 r.plan);
}

static void keys_resync(void *arg)
{
	char err[GW_CONFIG_ERRLEN];

	if (gw_server_load_keys(err, sizeof(err)))
		pr_err("key announcements: %s", err);
}

int gw_cluster_watch_keys(void)
{
	return gw_store_redis_watch(gw_server.store, key_changed, keys_resync, NULL);
}

/* ---- metrics ---- */

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!o->failed) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = (o->cap + (size_t)n + 1) * 2;
			char *b = realloc(o->buf, cap);

			if (!b) {
				o->failed = true;
				return;
			}
			o->buf = b;
			o->cap = cap;
		}
	}
}

char *gw_cluster_metrics_append(char *text, size_t *len)
{
	gw_redis_stats_t r = { 0 };
	gw_cluster_stats_t s = { 0 };
	struct out o = { .buf = text, .len = *len, .cap = *len + 1 };
	unsigned ready = 0, n = 0;
	gw_config_t *cfg = gw_server_config(NULL);
	bool cluster = cfg && cfg->store.type == GW_STORE_REDIS;

	gw_config_unref(cfg);
	if (!cluster)
		return text;
	for (unsigned i = 0; i < gw_server.nworkers; i++) {
		gw_cluster_t *c = __atomic_load_n(&gw_server.workers[i]->cluster, __ATOMIC_ACQUIRE);
		const gw_redis_stats_t *rs;
		const gw_cluster_stats_t *cs;

		if (!c)
			continue;
		n++;
		ready += gw_cluster_ready(c);
		rs = gw_redis_stats(gw_cluster_redis(c));
		cs = gw_cluster_stats(c);
		r.commands += LOAD(rs->commands);
		r.replies += LOAD(rs->replies);
		r.errors += LOAD(rs->errors);
		r.timeouts += LOAD(rs->timeouts);
		r.connects += LOAD(rs->connects);
		r.connect_failures += LOAD(rs->connect_failures);
		r.disconnects += LOAD(rs->disconnects);
		r.refused += LOAD(rs->refused);
		s.calls += LOAD(cs->calls);
		s.admitted += LOAD(cs->admitted);
		s.refused += LOAD(cs->refused);
		s.unavailable += LOAD(cs->unavailable);
		s.script_loads += LOAD(cs->script_loads);
		s.fail_open += LOAD(cs->fail_open);
		s.fail_closed += LOAD(cs->fail_closed);
		s.reconciled += LOAD(cs->reconciled);
		s.pending_lost += LOAD(cs->pending_lost);
	}
	put(&o,
	    "# HELP floodgate_redis_connections Worker connections to Redis, by state.\n"
	    "# TYPE floodgate_redis_connections gauge\n"
	    "floodgate_redis_connections{state=\"ready\"} %u\n"
	    "floodgate_redis_connections{state=\"down\"} %u\n"
	    "# HELP floodgate_redis_round_trips_total Commands sent to Redis (pipelined; each "
	    "one round trip).\n# TYPE floodgate_redis_round_trips_total counter\n"
	    "floodgate_redis_round_trips_total %llu\n"
	    "# HELP floodgate_redis_replies_total Commands Redis answered.\n"
	    "# TYPE floodgate_redis_replies_total counter\nfloodgate_redis_replies_total %llu\n"
	    "# HELP floodgate_redis_errors_total Commands that got no reply, by kind.\n"
	    "# TYPE floodgate_redis_errors_total counter\n"
	    "floodgate_redis_errors_total{kind=\"timeout\"} %llu\n"
	    "floodgate_redis_errors_total{kind=\"disconnect\"} %llu\n"
	    "floodgate_redis_errors_total{kind=\"not_connected\"} %llu\n"
	    "# HELP floodgate_redis_connection_events_total Connections made, failed and lost.\n"
	    "# TYPE floodgate_redis_connection_events_total counter\n"
	    "floodgate_redis_connection_events_total{event=\"connected\"} %llu\n"
	    "floodgate_redis_connection_events_total{event=\"failed\"} %llu\n"
	    "floodgate_redis_connection_events_total{event=\"lost\"} %llu\n"
	    "# HELP floodgate_redis_admissions_total Admission script calls, by outcome.\n"
	    "# TYPE floodgate_redis_admissions_total counter\n"
	    "floodgate_redis_admissions_total{result=\"admitted\"} %llu\n"
	    "floodgate_redis_admissions_total{result=\"refused\"} %llu\n"
	    "floodgate_redis_admissions_total{result=\"unavailable\"} %llu\n"
	    "# HELP floodgate_redis_script_calls_total Admission script calls sent (EVALSHA, "
	    "EVAL after NOSCRIPT).\n# TYPE floodgate_redis_script_calls_total counter\n"
	    "floodgate_redis_script_calls_total %llu\n"
	    "# HELP floodgate_redis_script_loads_total SCRIPT LOADs and EVAL fallbacks.\n"
	    "# TYPE floodgate_redis_script_loads_total counter\n"
	    "floodgate_redis_script_loads_total %llu\n"
	    "# HELP floodgate_redis_fallback_total Requests decided by the policy because "
	    "Redis could not.\n# TYPE floodgate_redis_fallback_total counter\n"
	    "floodgate_redis_fallback_total{policy=\"fail-open\"} %llu\n"
	    "floodgate_redis_fallback_total{policy=\"fail-closed\"} %llu\n"
	    "# HELP floodgate_redis_reconciled_total Counter units counted locally during an "
	    "outage and added to Redis after it.\n"
	    "# TYPE floodgate_redis_reconciled_total counter\n"
	    "floodgate_redis_reconciled_total %llu\n"
	    "# HELP floodgate_redis_reconcile_dropped_total Counter units counted locally that "
	    "could not be kept for reconciliation (table full).\n"
	    "# TYPE floodgate_redis_reconcile_dropped_total counter\n"
	    "floodgate_redis_reconcile_dropped_total %llu\n",
	    ready, n - ready, (unsigned long long)r.commands, (unsigned long long)r.replies,
	    (unsigned long long)r.timeouts, (unsigned long long)(r.errors - r.timeouts),
	    (unsigned long long)r.refused, (unsigned long long)r.connects,
	    (unsigned long long)r.connect_failures, (unsigned long long)r.disconnects,
	    (unsigned long long)s.admitted, (unsigned long long)s.refused,
	    (unsigned long long)s.unavailable, (unsigned long long)s.calls,
	    (unsigned long long)s.script_loads, (unsigned long long)s.fail_open,
	    (unsigned long long)s.fail_closed, (unsigned long long)s.reconciled,
	    (unsigned long long)s.pending_lost);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

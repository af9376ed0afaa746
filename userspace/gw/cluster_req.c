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
#include "gw/cluster_quota.h"
#include "gw/cluster_req.h"
#include "gw/credits.h"
#include "gw/handler.h"
#include "gw/keys.h"
#include "gw/server.h"
#include "gw/textbuf.h"

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
	gw_cluster_quota_t quota; /* the request's counters, as sent */
};

/* The quota step's record (rc->quota, from the request's pool), as embedded mode keeps. */
static gw_credits_debit_t *debit_of(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
				    const uint8_t digest[32])
{
	const gw_config_t *cfg = rc->tc->config;
	gw_credits_debit_t *d = h2o_mem_alloc_pool(&req->pool, sizeof(*d));

	memset(d, 0, sizeof(*d));
	d->key = gw_usage_key_of_digest(digest);
	d->n = gw_quota_counters(plan->quota, rc->route ? rc->route->credits : 0,
				 (int64_t)req->processed_at.at.tv_sec, &cfg->usage.clock, d->c);
	d->in_redis = true;
	rc->quota = d;
	return d;
}

/* Admitted: the debit is done (in Redis, or locally); count it in the totals. */
static void debited(gw_reqctx_t *rc, const gw_cluster_result_t *res, bool local)
{
	gw_credits_debit_t *d = rc->quota;
	uint64_t o[GW_QUOTA_UNITS] = { 0 };

	if (!d)
		return;
	d->debited = true;
	d->local = local;
	gw_cluster_quota_over(d->c, d->n < res->nvalues ? d->n : res->nvalues, res->values,
			      d->over);
	for (size_t i = 0; i < d->n && i < res->nvalues; i++) {
		unsigned u = d->c[i].kind / GW_QUOTA_PERIODS;

		if (d->over[i] > o[u])
			o[u] = d->over[i];
	}
	gw_credits_note(rc->route ? (int64_t)rc->route->credits : 0, o);
}

/* A hard quota counter refused: 429 quota-exceeded with the quota's headers. */
static void quota_refused(struct creq *q, size_t counter)
{
	gw_credits_debit_t *d = q->rc->quota;

	if (d)
		d->failed = counter < d->n ? counter : 0;
	gw_credits_reject(q->req, q->rc, q->rc->tc->config, q->plan);
	gw_handler_decided(q->req, q->rc, q->plan, NULL, GW_PROBLEM_QUOTA_EXCEEDED, &q->drop);
}

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
	gw_cluster_result_t res = { .verdict = GW_CLUSTER_ADMIT };
	int ok = 0;

	if (gw_cluster_policy(q->c) == GW_REDIS_FAIL_CLOSED) {
		__atomic_store_n(&s->fail_closed, LOAD(s->fail_closed) + 1, __ATOMIC_RELAXED);
		gw_handler_decided(q->req, q->rc, q->plan, NULL, GW_PROBLEM_LIMITS_UNAVAILABLE,
				   &q->drop);
		return;
	}
	__atomic_store_n(&s->fail_open, LOAD(s->fail_open) + 1, __ATOMIC_RELAXED);
	e = gw_keys_lock(gw_server.keys, q->digest, &lk);
	if (e) {
		struct edge_bucket before = e->bucket;

		ok = gw_ratelimit_take(&e->bucket, gw_now_ns(), &q->plan->limit, &st);
		/* The quota as this node last saw it plus what it counted since; refused,
		 * the token goes back (as in embedded mode). */
		if (ok) {
			gw_cluster_local_counters(q->c, q->rc->key_id, q->quota.ctr, q->quota.n,
						  &res);
			if (res.verdict != GW_CLUSTER_ADMIT)
				e->bucket = before;
		}
	}
	gw_keys_unlock(&lk);
	if (!e) /* removed while Redis was asked */
		gw_handler_decided(q->req, q->rc, q->plan, NULL, GW_PROBLEM_INVALID_KEY, &q->drop);
	else if (ok && res.verdict == GW_CLUSTER_COUNTER)
		quota_refused(q, res.counter);
	else {
		if (ok)
			debited(q->rc, &res, true);
		gw_handler_decided(q->req, q->rc, q->plan, &st,
				   ok ? GW_PROBLEM_NONE : GW_PROBLEM_RATE_LIMITED, &q->drop);
	}
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
	case GW_CLUSTER_COUNTER:
		quota_refused(q, res->counter);
		break;
	case GW_CLUSTER_ADMIT:
	case GW_CLUSTER_BUCKET:
		if (res->verdict == GW_CLUSTER_ADMIT)
			debited(q->rc, res, false);
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
	{
		gw_credits_debit_t *d = debit_of(req, rc, plan, digest);

		gw_cluster_quota_build(d->c, d->n, &q->quota);
	}
	if (!gw_cluster_admit(q->c, rc->key_id, &plan->limit, q->quota.ctr, q->quota.n, on_decided,
			      q)) {
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

void gw_cluster_refund_request(gw_reqctx_t *rc)
{
	gw_credits_debit_t *d = rc->quota;
	gw_cluster_t *c = rc->tc->worker->cluster;
	gw_cluster_quota_t q;

	if (!d || !c)
		return;
	gw_cluster_quota_build(d->c, d->n, &q);
	gw_cluster_refund(c, rc->key_id, q.ctr, q.n, d->local);
}

/* ---- usage reports: the counters held in Redis ---- */

/* The read's arguments for key id on plan (NULL: no plan, so no limits, a 1-token
 * bucket nobody reads). */
static void usage_counters(const gw_config_t *cfg, const gw_plan_t *plan, int64_t now,
			   gw_cluster_quota_t *q, gw_limit_t *l)
{
	static const gw_quota_limit_t none[GW_QUOTA_KINDS];
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	size_t n = gw_quota_counters(plan ? plan->quota : none, 0, now, &cfg->usage.clock, c);

	gw_cluster_quota_build(c, n, q);
	if (plan)
		*l = plan->limit;
	else
		*l = (gw_limit_t){ .interval_ns = 1, .cap_ns = 1 };
}

/* used[] in kind order from a read's result. */
static void used_of(const gw_cluster_result_t *res, uint64_t used[GW_QUOTA_KINDS])
{
	for (size_t i = 0; i < GW_QUOTA_KINDS; i++)
		used[i] = i < res->nvalues ? res->values[i] : 0;
}

/* A usage request waiting for Redis. */
struct ureq {
	h2o_req_t *req;
	struct ureq **holder;
	gw_reqctx_t *rc;
	const gw_plan_t *plan;
	uint16_t plan_id;
	uint8_t status;
	gw_cluster_quota_t quota;
};

static void on_usage_pool_dispose(void *p)
{
	struct ureq **holder = p;

	if (*holder)
		(*holder)->req = NULL;
}

static void on_usage(void *data, const gw_cluster_result_t *res)
{
	struct ureq *u = data;
	uint64_t used[GW_QUOTA_KINDS];

	if (!u->req) {
		free(u);
		return;
	}
	*u->holder = NULL;
	if (res->verdict == GW_CLUSTER_UNAVAILABLE) {
		gw_handler_decided(u->req, u->rc, u->plan, NULL, GW_PROBLEM_LIMITS_UNAVAILABLE,
				   &(gw_proxy_drop_t){ 0 });
	} else {
		used_of(res, used);
		gw_credits_send_usage(
			u->req, u->rc,
			gw_credits_usage_json_values(u->rc->tc->config, u->rc->key_id,
						     gw_intern_name(u->plan_id), u->plan, u->status,
						     used, res->credit_ns,
						     (int64_t)u->req->processed_at.at.tv_sec));
	}
	free(u);
}

void gw_cluster_usage_request(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
			      uint16_t plan_id, uint8_t status)
{
	struct ureq *u = malloc(sizeof(*u));
	gw_limit_t l;

	if (!u) {
		gw_handler_problem(req, rc, GW_PROBLEM_INTERNAL);
		return;
	}
	*u = (struct ureq){
		.req = req, .rc = rc, .plan = plan, .plan_id = plan_id, .status = status
	};
	usage_counters(rc->tc->config, plan, (int64_t)req->processed_at.at.tv_sec, &u->quota, &l);
	if (gw_cluster_read(rc->tc->worker->cluster, rc->key_id, &l, u->quota.ctr, u->quota.n,
			    on_usage, u)) {
		free(u);
		gw_handler_decided(req, rc, plan, NULL, GW_PROBLEM_LIMITS_UNAVAILABLE,
				   &(gw_proxy_drop_t){ 0 });
		return;
	}
	u->holder = h2o_mem_alloc_shared(&req->pool, sizeof(*u->holder), on_usage_pool_dispose);
	*u->holder = u;
}

json_t *gw_cluster_admin_usage(const gw_config_t *cfg, const char *id, const char *plan_name,
			       uint8_t status, int64_t now)
{
	const gw_plan_t *plan = gw_config_plan(cfg, gw_intern_find(plan_name));
	gw_cluster_args_t a;
	gw_cluster_quota_t q;
	gw_cluster_result_t res;
	uint64_t used[GW_QUOTA_KINDS];
	redisReply *r = NULL;
	gw_limit_t l;
	int ret;

	usage_counters(cfg, plan, now, &q, &l);
	if (gw_cluster_build_args(&a, cfg->store.redis.prefix, id, &l, q.ctr, q.n))
		return NULL;
	a.argv[0] = "EVAL";
	a.len[0] = 4;
	a.argv[1] = gw_cluster_read_script;
	a.len[1] = strlen(gw_cluster_read_script);
	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_redis_command(gw_server.store, a.argc, a.argv, a.len, &r);
	if (ret)
		pr_err("Couldn't read the usage of key %s: %s", id, gw_server.store->errmsg);
	pthread_mutex_unlock(&gw_server.store_lock);
	if (ret)
		return NULL;
	ret = gw_cluster_parse_reply(r, q.n, &res);
	freeReplyObject(r);
	if (ret || res.verdict != GW_CLUSTER_ADMIT) {
		pr_err("Couldn't read the usage of key %s: unexpected reply from Redis", id);
		return NULL;
	}
	used_of(&res, used);
	return gw_credits_usage_json_values(cfg, id, plan_name, plan, status, used, res.credit_ns,
					    now);
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

char *gw_cluster_metrics_append(char *text, size_t *len)
{
	gw_redis_stats_t r = { 0 };
	gw_cluster_stats_t s = { 0 };
	gw_textbuf_t o = { .buf = text, .len = *len, .cap = *len + 1 };
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
	gw_textbuf_put(
		&o,
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
		"# HELP floodgate_redis_connection_events_total Connections made, failed and "
		"lost.\n"
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

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * credits.c - quota admission, refunds and usage reports (see credits.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/admin.h"
#include "gw/apikey.h"
#include "gw/cluster_quota.h"
#include "gw/cluster_req.h"
#include "gw/credits.h"
#include "gw/handler.h"
#include "gw/ratelimit.h"
#include "gw/server.h"
#include "gw/usage.h"

/* Process-wide totals (relaxed atomics). */
static uint64_t total_credits, total_overage[GW_QUOTA_UNITS], total_refunds;

void gw_credits_totals(uint64_t *credits, uint64_t overage[2], uint64_t *refunds)
{
	*credits = __atomic_load_n(&total_credits, __ATOMIC_RELAXED);
	for (int u = 0; u < GW_QUOTA_UNITS; u++)
		overage[u] = __atomic_load_n(&total_overage[u], __ATOMIC_RELAXED);
	*refunds = __atomic_load_n(&total_refunds, __ATOMIC_RELAXED);
}

void gw_credits_note(int64_t credits, const uint64_t overage[2])
{
	if (credits > 0)
		__atomic_add_fetch(&total_credits, (uint64_t)credits, __ATOMIC_RELAXED);
	if (credits < 0) {
		__atomic_sub_fetch(&total_credits, (uint64_t)-credits, __ATOMIC_RELAXED);
		__atomic_add_fetch(&total_refunds, 1, __ATOMIC_RELAXED);
	}
	for (int u = 0; overage && u < GW_QUOTA_UNITS; u++)
		if (overage[u])
			__atomic_add_fetch(&total_overage[u], overage[u], __ATOMIC_RELAXED);
}

/* Whether any of the plan's quota counters has a limit. */
static bool quota_limited(const gw_plan_t *plan)
{
	for (int k = 0; k < GW_QUOTA_KINDS; k++)
		if (plan->quota[k].limit)
			return true;
	return false;
}

enum gw_problem gw_credits_admit(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg,
				 const gw_plan_t *plan, const gw_route_t *route,
				 const uint8_t digest[32])
{
	gw_credits_debit_t *d;
	int ret;

	if (!gw_server.usage)
		return GW_PROBLEM_NONE;
	if (!route->refund_on_failure && !quota_limited(plan)) {
		/* Nothing to refuse, no overage, nothing to give back: the request is only
		 * counted, by the thread's counters as they are, without a record (rc->quota
		 * stays NULL: gw_credits_finish() would not refund, gw_credits_reject() is
		 * not reached without limits). */
		uint64_t gen;
		const gw_quota_counter_t *t =
			gw_quota_template((int64_t)req->processed_at.at.tv_sec, &cfg->usage.clock,
					  route->credits, &gen);

		if (!gw_usage_add(gw_server.usage, gw_usage_key_of_digest(digest), t,
				  GW_QUOTA_KINDS, gen) &&
		    route->credits)
			__atomic_add_fetch(&total_credits, route->credits, __ATOMIC_RELAXED);
		return GW_PROBLEM_NONE;
	}
	d = h2o_mem_alloc_pool(&req->pool, sizeof(*d));
	d->key = gw_usage_key_of_digest(digest);
	d->n = gw_quota_counters(plan->quota, route->credits, (int64_t)req->processed_at.at.tv_sec,
				 &cfg->usage.clock, d->c);
	d->failed = 0;
	d->debited = false;
	d->in_redis = d->local = false;
	rc->quota = d;
	ret = gw_usage_debit(gw_server.usage, d->key, d->c, d->n, d->over, &d->failed);
	if (ret == -EDQUOT)
		return GW_PROBLEM_QUOTA_EXCEEDED;
	/* Out of memory for a new key's counters: admit uncounted rather than refuse. */
	if (ret)
		return GW_PROBLEM_NONE;
	d->debited = true;
	{
		/* Overage of a unit: the largest over its periods (they overlap in time). */
		uint64_t o[GW_QUOTA_UNITS] = { 0 };

		for (size_t i = 0; i < d->n; i++) {
			unsigned u;

			if (!d->over[i]) /* nearly always */
				continue;
			u = d->c[i].kind / GW_QUOTA_PERIODS;
			if (d->over[i] > o[u])
				o[u] = d->over[i];
		}
		if (route->credits)
			__atomic_add_fetch(&total_credits, route->credits, __ATOMIC_RELAXED);
		for (int u = 0; u < GW_QUOTA_UNITS; u++)
			if (o[u])
				__atomic_add_fetch(&total_overage[u], o[u], __ATOMIC_RELAXED);
	}
	return GW_PROBLEM_NONE;
}

/* "plan-month-credits": the name a quota policy goes by in RateLimit headers. */
static int policy_name(char *buf, size_t len, const gw_plan_t *plan, const gw_quota_counter_t *c)
{
	return snprintf(buf, len, "%s-%s-%s", plan->name,
			gw_quota_period_name(c->kind % GW_QUOTA_PERIODS),
			gw_quota_unit_name(c->kind / GW_QUOTA_PERIODS));
}

void gw_credits_reject(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg,
		       const gw_plan_t *plan)
{
	gw_credits_debit_t *d = rc->quota;
	const gw_quota_counter_t *c;
	int64_t now = (int64_t)req->processed_at.at.tv_sec;
	uint64_t t;
	char name[GW_NAME_MAX + 32];
	char *v;
	int n;

	if (!d)
		return;
	c = &d->c[d->failed];
	t = c->reset_at > now ? (uint64_t)(c->reset_at - now) : 1;
	v = h2o_mem_alloc_pool(&req->pool, 24);
	n = (int)gw_ratelimit_u64(v, t);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, "Retry-After", v,
		       (size_t)n);
	policy_name(name, sizeof(name), plan, c);
	if (cfg->headers.ratelimit) {
		size_t len = plan->policy_len + sizeof(name) + 64;

		v = h2o_mem_alloc_pool(&req->pool, len);
		n = snprintf(v, len, "%s, \"%s\";q=%llu;w=%llu", plan->policy, name,
			     (unsigned long long)c->limit,
			     (unsigned long long)(c->reset_at - c->start));
		h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("ratelimit-policy"),
				      0, "RateLimit-Policy", v, (size_t)n);
		v = h2o_mem_alloc_pool(&req->pool, sizeof(name) + 48);
		n = snprintf(v, sizeof(name) + 48, "\"%s\";r=0;t=%llu", name,
			     (unsigned long long)t);
		h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("ratelimit"), 0,
				      "RateLimit", v, (size_t)n);
	}
	if (cfg->headers.legacy) {
		v = h2o_mem_alloc_pool(&req->pool, 48);
		n = (int)gw_ratelimit_u64(v, c->limit);
		h2o_add_header_by_str(&req->pool, &req->res.headers,
				      H2O_STRLIT("x-ratelimit-limit"), 0, "X-RateLimit-Limit", v,
				      (size_t)n);
		h2o_add_header_by_str(&req->pool, &req->res.headers,
				      H2O_STRLIT("x-ratelimit-remaining"), 0,
				      "X-RateLimit-Remaining", "0", 1);
		n = (int)gw_ratelimit_u64(v + 24, t);
		h2o_add_header_by_str(&req->pool, &req->res.headers,
				      H2O_STRLIT("x-ratelimit-reset"), 0, "X-RateLimit-Reset",
				      v + 24, (size_t)n);
	}
}

void gw_credits_finish(h2o_req_t *req, gw_reqctx_t *rc)
{
	gw_credits_debit_t *d = rc->quota;

	if (!d || !d->debited || !rc->route || !rc->route->refund_on_failure ||
	    req->res.status < 500)
		return;
	if (d->in_redis) {
		gw_cluster_refund_request(rc);
		d->debited = false;
		if (rc->route->credits)
			gw_credits_note(-(int64_t)rc->route->credits, NULL);
		else
			__atomic_add_fetch(&total_refunds, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!gw_server.usage)
		return;
	gw_usage_refund(gw_server.usage, d->key, d->c, d->n, d->over);
	d->debited = false;
	__atomic_add_fetch(&total_refunds, 1, __ATOMIC_RELAXED);
	if (rc->route->credits)
		__atomic_sub_fetch(&total_credits, rc->route->credits, __ATOMIC_RELAXED);
}

/* The document; values: counters and bucket from Redis (NULL: the embedded table and
 * bucket). */
struct usage_values {
	const uint64_t *used;
	uint64_t credit_ns;
};

static json_t *usage_json(const gw_config_t *cfg, const char *id, const char *plan_name,
			  const gw_plan_t *plan, uint8_t status, const struct edge_bucket *bucket,
			  uint64_t now_ns, int64_t now, const struct usage_values *vals)
{
	static const gw_quota_limit_t none[GW_QUOTA_KINDS];
	gw_quota_counter_t c[GW_QUOTA_KINDS];
	uint64_t used[GW_QUOTA_KINDS], over[GW_QUOTA_KINDS] = { 0 };
	json_t *o = json_object(), *q = json_object();
	char when[32];
	size_t n;
	uint64_t key = 0;

	n = gw_quota_counters(plan ? plan->quota : none, 0, now, &cfg->usage.clock, c);
	if (vals) {
		for (size_t i = 0; i < n; i++) {
			used[i] = vals->used[i];
			over[i] = gw_cluster_quota_overage(&c[i], used[i]);
		}
	} else if (gw_server.usage && !gw_usage_key_of_id(id, &key)) {
		gw_usage_read(gw_server.usage, key, c, n, used, over);
	} else {
		memset(used, 0, sizeof(used));
	}
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "plan", json_string(plan_name));
	json_object_set_new(o, "status", json_string(gw_key_status_name(status)));
	if (plan) {
		gw_ratelimit_state_t st;
		struct edge_bucket b = bucket ? *bucket : (struct edge_bucket){ 0 };

		if (vals)
			gw_ratelimit_state(&plan->limit, vals->credit_ns, &st);
		else
			gw_ratelimit_peek(&b, now_ns, &plan->limit, &st);
		json_object_set_new(o, "rate",
				    json_pack("{s:s, s:I, s:I, s:I}", "limit", plan->limit.text,
					      "burst", (json_int_t)plan->limit.burst, "tokens_left",
					      (json_int_t)st.remaining, "full_in_s",
					      (json_int_t)st.reset_s));
	} else {
		json_object_set_new(o, "rate", json_null());
	}
	for (int u = 0; u < GW_QUOTA_UNITS; u++) {
		json_t *unit = json_object();

		for (int p = 0; p < GW_QUOTA_PERIODS; p++) {
			const gw_quota_counter_t *k = &c[gw_quota_kind(u, p)];
			uint64_t us = used[k->kind], ov = over[k->kind];
			json_t *e = json_object();

			json_object_set_new(e, "period", json_string(k->period));
			json_object_set_new(e, "limit",
					    k->limit ? json_integer((json_int_t)k->limit)
						     : json_null());
			json_object_set_new(e, "enforce",
					    json_string(!k->limit ? "none"
							: k->soft ? "soft"
								  : "hard"));
			json_object_set_new(e, "used", json_integer((json_int_t)us));
			json_object_set_new(
				e, "left",
				k->limit ? json_integer(
						   (json_int_t)(us < k->limit ? k->limit - us : 0))
					 : json_null());
			json_object_set_new(e, "overage", json_integer((json_int_t)ov));
			json_object_set_new(
				e, "resets_at",
				json_string(gw_admin_format_time(k->reset_at, when, sizeof(when))));
			json_object_set_new(e, "resets_in_s",
					    json_integer((json_int_t)(k->reset_at - now)));
			json_object_set_new(unit, gw_quota_period_name(p), e);
		}
		json_object_set_new(q, gw_quota_unit_name(u), unit);
	}
	json_object_set_new(o, "quotas", q);
	return o;
}

json_t *gw_credits_usage_json(const gw_config_t *cfg, const char *id, const char *plan_name,
			      const gw_plan_t *plan, uint8_t status,
			      const struct edge_bucket *bucket, uint64_t now_ns, int64_t now)
{
	return usage_json(cfg, id, plan_name, plan, status, bucket, now_ns, now, NULL);
}

json_t *gw_credits_usage_json_values(const gw_config_t *cfg, const char *id, const char *plan_name,
				     const gw_plan_t *plan, uint8_t status,
				     const uint64_t used[GW_QUOTA_KINDS], uint64_t credit_ns,
				     int64_t now)
{
	struct usage_values v = { .used = used, .credit_ns = credit_ns };

	return usage_json(cfg, id, plan_name, plan, status, NULL, 0, now, &v);
}

/* The key of a usage request; answers (401) and returns false when there is none. */
static bool usage_key(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg, char *kbuf,
		      gw_apikey_t *key)
{
	int found;

	found = gw_handler_extract_key(req, cfg, kbuf, key);
	if (found > 0)
		return true;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE,
		       "WWW-Authenticate", H2O_STRLIT("Bearer realm=\"floodgate\""));
	gw_handler_problem(req, rc, found ? GW_PROBLEM_INVALID_KEY : GW_PROBLEM_MISSING_KEY);
	return false;
}

bool gw_credits_usage_endpoint(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg, size_t plen)
{
	char *kbuf, id[GW_APIKEY_ID_LEN + 1];
	enum gw_problem problem = GW_PROBLEM_NONE;
	struct edge_bucket b = { 0 };
	const gw_plan_t *plan = NULL;
	uint16_t plan_id = 0;
	uint8_t status = 0, digest[32];
	gw_keys_lock_t lk;
	gw_key_entry_t *e;
	gw_apikey_t key;
	json_t *o;

	if (!cfg->usage.endpoint || plen != cfg->usage.endpoint_len ||
	    memcmp(req->path.base, cfg->usage.endpoint, plen))
		return false;
	if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
	    !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, "Allow",
			       H2O_STRLIT("GET, HEAD"));
		gw_handler_problem(req, rc, GW_PROBLEM_METHOD_NOT_ALLOWED);
		return true;
	}
	kbuf = h2o_mem_alloc_pool(&req->pool, GW_APIKEY_MAX);
	if (!usage_key(req, rc, cfg, kbuf, &key))
		return true;
	gw_apikey_digest(key.key, key.len, digest);
	gw_apikey_id(digest, id);
	memcpy(rc->key_id, id, sizeof(rc->key_id));
	e = gw_keys_lock(gw_server.keys, digest, &lk);
	if (!e) {
		problem = GW_PROBLEM_INVALID_KEY;
	} else {
		plan_id = e->plan;
		status = e->status;
		b = e->bucket;
		if (e->status == GW_KEY_REVOKED)
			problem = GW_PROBLEM_REVOKED_KEY;
		else if (e->expires &&
			 (uint64_t)e->expires <= (uint64_t)req->processed_at.at.tv_sec)
			problem = GW_PROBLEM_EXPIRED_KEY;
	}
	gw_keys_unlock(&lk);
	if (problem) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE,
			       "WWW-Authenticate",
			       H2O_STRLIT("Bearer realm=\"floodgate\", error=\"invalid_token\""));
		gw_handler_problem(req, rc, problem);
		return true;
	}
	rc->plan_id = plan_id;
	plan = gw_config_plan(cfg, plan_id);
	if (rc->tc->worker->cluster) { /* the counters live in Redis: asked, answered later */
		gw_cluster_usage_request(req, rc, plan, plan_id, status);
		return true;
	}
	o = gw_credits_usage_json(cfg, id, gw_intern_name(plan_id), plan, status, &b, gw_now_ns(),
				  (int64_t)req->processed_at.at.tv_sec);
	gw_credits_send_usage(req, rc, o);
	return true;
}

void gw_credits_send_usage(h2o_req_t *req, gw_reqctx_t *rc, json_t *o)
{
	char *s;

	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!s) {
		gw_handler_problem(req, rc, GW_PROBLEM_INTERNAL);
		return;
	}
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
		       H2O_STRLIT("application/json"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
		       H2O_STRLIT("no-store"));
	{
		h2o_iovec_t body = h2o_strdup(&req->pool, s, strlen(s));

		free(s);
		req->res.content_length = body.len;
		h2o_send_inline(req, body.base, body.len);
	}
}

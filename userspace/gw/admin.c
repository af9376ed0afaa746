/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * admin.c - the admin API server (see admin.h).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "log.h"
#include "gw/admin.h"
#include "gw/apikey.h"
#include "gw/audit.h"
#include "gw/credits.h"
#include "gw/cache.h"
#include "gw/banapi.h"
#include "gw/cluster_req.h"
#include "gw/evloop.h"
#include "gw/keys.h"
#include "gw/handler.h"
#include "gw/metrics.h"
#include "gw/problem.h"
#include "gw/server.h"
#include "gw/status.h"
#include "gw/store.h"
#include "gw/upgroup.h"
#include "gw/worker.h"

/* Largest admin request body. */
#define BODY_MAX     (64u << 10)
/* Keys per page of GET /v1/keys, by default and at most. */
#define LIST_DEFAULT 1000
#define LIST_MAX     10000
/* Attempts at a fresh key whose id is not taken (a 64-bit id collision is remote). */
#define CREATE_TRIES 3

struct st_gw_admin_t {
	pthread_t tid;
	int started;
	int stop; /* atomic */
	h2o_globalconf_t gconf;
	h2o_context_t ctx;
	h2o_evloop_t *loop;
	h2o_socket_t *listener;
	h2o_accept_ctx_t accept;
	h2o_multithread_receiver_t notify;
};

typedef struct st_admin_handler_t {
	h2o_handler_t super;
	gw_admin_t *admin;
} admin_handler_t;

/* ---- time ---- */

int gw_admin_parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)s[0]) && strlen(s) <= 12 && !strchr(s, '-')) {
		long long v;

		errno = 0;
		v = strtoll(s, &e, 10);
		if (errno || *e || v < 0 || v > GW_ADMIN_TIME_MAX)
			return -EINVAL;
		*out = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end, "T%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	{
		/* timegm() moves a day or second that does not exist (02-30, a leap second
		 * :60) to the next one: such a date is refused, not stored as another. */
		struct tm want = tm, got;
		time_t t = timegm(&tm);

		if (t < 0 || !gmtime_r(&t, &got) || got.tm_year != want.tm_year ||
		    got.tm_mon != want.tm_mon || got.tm_mday != want.tm_mday ||
		    got.tm_hour != want.tm_hour || got.tm_min != want.tm_min ||
		    got.tm_sec != want.tm_sec)
			return -EINVAL;
		*out = (int64_t)t;
	}
	return *out > GW_ADMIN_TIME_MAX ? -EINVAL : 0;
}

const char *gw_admin_format_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- responses ---- */

static void send_body(h2o_req_t *req, int status, const char *reason, const char *type, char *body,
		      size_t len)
{
	req->res.status = status;
	req->res.reason = reason;
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type", type,
		       strlen(type));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
		       H2O_STRLIT("no-store"));
	h2o_send_inline(req, body, len);
}

/* The problem+json document of an admin error, malloc()ed; NULL when out of memory. */
static char *problem_json(int status, const char *reason, const char *slug, const char *detail)
{
	gw_config_t *cfg = gw_server_config(NULL);
	char type[256];
	json_t *o;
	char *s;

	snprintf(type, sizeof(type), "%sadmin-%s", cfg ? cfg->problem_type_base : "", slug);
	gw_config_unref(cfg);
	o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", reason, "status", status,
		      "detail", detail);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}

static void send_json(h2o_req_t *req, int status, const char *reason, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (!s) {
		send_body(req, 500, "Internal Server Error", "text/plain", "out of memory", 13);
		return;
	}
	send_body(req, status, reason, "application/json", s, strlen(s));
	free(s);
}

static void send_problem(h2o_req_t *req, int status, const char *reason, const char *slug,
			 const char *detail)
{
	char *s = problem_json(status, reason, slug, detail);

	if (!s) {
		send_body(req, 500, "Internal Server Error", "text/plain", "out of memory", 13);
		return;
	}
	if (status == 401)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE,
			       "WWW-Authenticate", H2O_STRLIT("Bearer realm=\"floodgate-admin\""));
	send_body(req, status, reason, "application/problem+json", s, strlen(s));
	free(s);
}

#define BAD_REQUEST(req, detail) send_problem(req, 400, "Bad Request", "bad-request", detail)

static json_t *record_json(const gw_key_record_t *r, const char *key)
{
	char created[32], expires[32];
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(r->id));
	if (key)
		json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "plan", json_string(r->plan));
	json_object_set_new(o, "status", json_string(gw_key_status_name(r->status)));
	json_object_set_new(o, "label", json_string(r->label));
	json_object_set_new(
		o, "created",
		json_string(gw_admin_format_time(r->created, created, sizeof(created))));
	json_object_set_new(
		o, "expires",
		r->expires ? json_string(gw_admin_format_time(r->expires, expires, sizeof(expires)))
			   : json_null());
	return o;
}

/* ---- authentication ---- */

/* Who the request being handled authenticated as (the admin thread handles one at a time). */
static char actor[64];

/* Append an audit entry; the caller holds the store lock. false (logged) when it failed. */
static bool audit(const char *action, const char *target, const json_t *before, const json_t *after)
{
	int ret = gw_audit_record(gw_server.store, (int64_t)time(NULL), actor, action, target,
				  before, after);

	if (ret)
		pr_err("Couldn't write the audit entry of %s %s: %s", action, target,
		       ret == -ENOMEM	    ? "out of memory"
		       : ret == -EOPNOTSUPP ? "this store keeps no audit log"
					    : gw_server.store->errmsg);
	return ret == 0;
}

static bool authorized(h2o_req_t *req)
{
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	gw_config_t *cfg;
	uint8_t d[32];
	bool ok;
	const char *v;
	size_t len;

	if (i == -1)
		return false;
	v = req->headers.entries[i].value.base;
	len = req->headers.entries[i].value.len;
	if (len < 8 || strncasecmp(v, "bearer ", 7))
		return false;
	v += 7;
	len -= 7;
	while (len && *v == ' ') {
		v++;
		len--;
	}
	gw_apikey_digest(v, len, d);
	cfg = gw_server_config(NULL);
	ok = cfg && CRYPTO_memcmp(d, cfg->admin.token_sha256, 32) == 0;
	gw_config_unref(cfg);
	if (ok)
		gw_audit_actor(d, actor, sizeof(actor));
	return ok;
}

/* ---- endpoints ---- */

static void healthz(h2o_req_t *req)
{
	uint64_t gen;
	gw_config_t *cfg = gw_server_config(&gen);
	bool stopping = __atomic_load_n(&gw_server.stopping, __ATOMIC_ACQUIRE);

	gw_config_unref(cfg);
	send_json(req, stopping ? 503 : 200, stopping ? "Service Unavailable" : "OK",
		  json_pack("{s:s, s:I, s:I, s:i}", "status", stopping ? "stopping" : "ok",
			    "generation", (json_int_t)gen, "keys",
			    (json_int_t)gw_keys_count(gw_server.keys), "workers",
			    (int)gw_server.nworkers));
}

/* The cache families of every worker after the others (cache.h). */
static int cache_render(char **text, size_t *len)
{
	struct st_gw_cache_t *c[GW_CONFIG_THREADS_MAX];
	gw_config_t *cfg;
	size_t n = 0;
	int ret;

	for (unsigned i = 0; i < gw_server.nworkers && n < GW_CONFIG_THREADS_MAX; i++)
		c[n++] = gw_server.workers[i]->cache;
	if ((ret = gw_cache_render(c, n, text, len)))
		return ret;
	/* and the upstream servers' state (upgroup.h) */
	if (!(cfg = gw_server_config(NULL)))
		return 0;
	ret = gw_upgroup_render(cfg, text, len);
	gw_config_unref(cfg);
	return ret;
}

static void metrics(h2o_req_t *req)
{
	gw_metrics_t *m[GW_CONFIG_THREADS_MAX];
	gw_metrics_globals_t g = { 0 };
	size_t n = 0, len;
	char *text;

	for (unsigned i = 0; i < gw_server.nworkers && n < GW_CONFIG_THREADS_MAX; i++)
		m[n++] = gw_server.workers[i]->metrics;
	g.keys_loaded = gw_keys_count(gw_server.keys);
	g.reloads_ok = __atomic_load_n(&gw_server.reloads_ok, __ATOMIC_RELAXED);
	g.reloads_failed = __atomic_load_n(&gw_server.reloads_failed, __ATOMIC_RELAXED);
	g.config_generation = __atomic_load_n(&gw_server.generation, __ATOMIC_RELAXED);
	gw_credits_totals(&g.quota_credits, g.quota_overage, &g.quota_refunds);
	if (!(text = gw_metrics_render(m, n, &g, &len)) || cache_render(&text, &len) ||
	    gw_status_metrics_append(&text, &len) ||
	    !(text = gw_cluster_metrics_append(text, &len))) {
		free(text);
		send_problem(req, 500, "Internal Server Error", "internal", "out of memory");
		return;
	}
	send_body(req, 200, "OK", "text/plain; version=0.0.4", text, len);
	free(text);
}

/* The request body as a JSON object (an empty body is {}); NULL after answering 400. */
static json_t *body_object(h2o_req_t *req)
{
	json_error_t je;
	json_t *o;
	char msg[256];

	if (!req->entity.base || !req->entity.len)
		return json_object();
	o = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		snprintf(msg, sizeof(msg), "the body must be a JSON object: %s",
			 o ? "not an object" : je.text);
		json_decref(o);
		BAD_REQUEST(req, msg);
		return NULL;
	}
	return o;
}

/* The plan named by o["plan"], checked against the running config; false after 400. */
static bool plan_of(h2o_req_t *req, json_t *o, const char **plan)
{
	json_t *p = json_object_get(o, "plan");
	gw_config_t *cfg;
	bool known;
	char msg[160];

	if (!json_is_string(p)) {
		BAD_REQUEST(req, "\"plan\" (a plan name from the config) is required");
		return false;
	}
	*plan = json_string_value(p);
	cfg = gw_server_config(NULL);
	known = cfg && gw_config_plan(cfg, gw_intern_find(*plan));
	gw_config_unref(cfg);
	if (!known) {
		snprintf(msg, sizeof(msg), "no plan named \"%.64s\" in the running config", *plan);
		BAD_REQUEST(req, msg);
		return false;
	}
	return true;
}

static uint32_t mem_expires(int64_t e)
{
	return e <= 0 ? 0 : e > UINT32_MAX ? UINT32_MAX : (uint32_t)e;
}

static void create_key(h2o_req_t *req)
{
	static const char *const allowed[] = { "plan", "label", "expires", NULL };
	json_t *o = body_object(req), *v;
	gw_key_record_t r = { 0 };
	char key[GW_APIKEY_GEN_LEN + 1];
	const char *plan, *k;
	int ret = -EEXIST;

	if (!o)
		return;
	json_object_foreach(o, k, v)
	{
		size_t i;

		for (i = 0; allowed[i] && strcmp(allowed[i], k); i++)
			;
		if (!allowed[i]) {
			BAD_REQUEST(req, "unknown field (expected plan, label, expires)");
			goto out;
		}
	}
	if (!plan_of(req, o, &plan))
		goto out;
	snprintf(r.plan, sizeof(r.plan), "%s", plan);
	if ((v = json_object_get(o, "label")) && !json_is_null(v)) {
		const char *l = json_string_value(v);

		if (!l || strlen(l) > GW_LABEL_MAX) {
			BAD_REQUEST(req, "\"label\" must be a string of at most 256 bytes");
			goto out;
		}
		for (const char *p = l; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				BAD_REQUEST(req, "\"label\" must not contain control characters");
				goto out;
			}
		}
		snprintf(r.label, sizeof(r.label), "%s", l);
	}
	r.created = (int64_t)time(NULL);
	if ((v = json_object_get(o, "expires")) && !json_is_null(v)) {
		char num[32];
		const char *s = json_string_value(v);

		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			s = num;
		}
		if (!s || gw_admin_parse_time(s, &r.expires)) {
			BAD_REQUEST(req,
				    "\"expires\" must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a "
				    "Unix time");
			goto out;
		}
		if (r.expires <= r.created) {
			BAD_REQUEST(req, "\"expires\" is in the past");
			goto out;
		}
	}
	r.status = GW_KEY_ACTIVE;
	pthread_mutex_lock(&gw_server.store_lock);
	if (gw_store_begin(gw_server.store))
		ret = -EIO;
	for (int t = 0; t < CREATE_TRIES && ret == -EEXIST; t++) {
		if (gw_apikey_generate(key)) {
			ret = -EIO;
			break;
		}
		gw_apikey_digest(key, strlen(key), r.digest);
		gw_apikey_id(r.digest, r.id);
		ret = gw_store_insert(gw_server.store, &r);
	}
	/* The key and its audit entry are one transaction: both or neither. */
	if (!ret) {
		json_t *after = record_json(&r, NULL);

		if (!audit("key.create", r.id, NULL, after))
			ret = -EIO;
		json_decref(after);
	}
	if (gw_store_end(gw_server.store, !ret) && !ret)
		ret = -EIO;
	if (!ret)
		ret = gw_keys_upsert(gw_server.keys, r.digest, gw_intern(r.plan), r.status,
				     mem_expires(r.expires));
	pthread_mutex_unlock(&gw_server.store_lock);
	if (ret) {
		pr_err("Couldn't create key: %s",
		       ret == -ENOMEM ? "out of memory" : gw_server.store->errmsg);
		send_problem(req, 500, "Internal Server Error", "internal",
			     "the key could not be stored; see the daemon's log");
		goto out;
	}
	pr_info("admin: created key %s (plan %s)", r.id, r.plan);
	send_json(req, 201, "Created", record_json(&r, key));
	OPENSSL_cleanse(key, sizeof(key));
out:
	json_decref(o);
}

struct list_ctx {
	json_t *arr;
	char last[GW_APIKEY_ID_LEN + 1];
	size_t n;
	/* filters: plan "" = any, status -1 = any */
	const char *plan;
	int status;
	size_t limit, scanned;
	char scan_last[GW_APIKEY_ID_LEN + 1];
};

static int list_one(void *arg, const gw_key_record_t *r)
{
	struct list_ctx *lc = arg;

	lc->scanned++;
	snprintf(lc->scan_last, sizeof(lc->scan_last), "%s", r->id);
	if ((lc->plan && lc->plan[0] && strcmp(lc->plan, r->plan)) ||
	    (lc->status >= 0 && lc->status != r->status))
		return 0;
	json_array_append_new(lc->arr, record_json(r, NULL));
	snprintf(lc->last, sizeof(lc->last), "%s", r->id);
	lc->n++;
	/* Full: stop mid-page, so the next page starts right after this key. */
	return lc->limit && lc->n == lc->limit ? 1 : 0;
}

/* The value of query parameter name ("" when absent), copied into buf. */
static const char *query_param(h2o_req_t *req, const char *name, char *buf, size_t len)
{
	const char *q, *end;
	size_t nlen = strlen(name);

	buf[0] = '\0';
	if (req->query_at == SIZE_MAX)
		return buf;
	q = req->path.base + req->query_at + 1;
	end = req->path.base + req->path.len;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - q) > nlen && !memcmp(q, name, nlen) && q[nlen] == '=') {
			size_t vlen = (size_t)(stop - q) - nlen - 1;

			snprintf(buf, len, "%.*s", (int)(vlen < len ? vlen : len - 1),
				 q + nlen + 1);
			return buf;
		}
		q = stop + 1;
	}
	return buf;
}

static bool valid_id(const char *id, size_t len)
{
	if (len != GW_APIKEY_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
			return false;
	return true;
}

static void list_keys(h2o_req_t *req)
{
	struct list_ctx lc = { .arr = json_array(), .status = -1 };
	char lim[16], after[32], plan[GW_NAME_MAX + 2], status[16];
	long limit = LIST_DEFAULT;
	json_t *o;
	int ret;

	query_param(req, "limit", lim, sizeof(lim));
	query_param(req, "after", after, sizeof(after));
	query_param(req, "plan", plan, sizeof(plan));
	query_param(req, "status", status, sizeof(status));
	if (status[0] && (lc.status = gw_key_status_of(status)) < 0) {
		json_decref(lc.arr);
		BAD_REQUEST(req, "status must be active, blocked or revoked");
		return;
	}
	lc.plan = plan;
	if (lim[0]) {
		char *e;

		limit = strtol(lim, &e, 10);
		if (*e || limit < 1 || limit > LIST_MAX) {
			json_decref(lc.arr);
			BAD_REQUEST(req, "limit must be 1 to 10000");
			return;
		}
	}
	if (after[0] && !valid_id(after, strlen(after))) {
		json_decref(lc.arr);
		BAD_REQUEST(req, "after must be a key id (16 lower-case hex digits)");
		return;
	}
	lc.limit = (size_t)limit;
	pthread_mutex_lock(&gw_server.store_lock);
	/* A filter skips keys: read pages of the store until the page is full or it ends. */
	for (;;) {
		lc.scanned = 0;
		ret = gw_store_list(gw_server.store, after, LIST_MAX, list_one, &lc);
		if (ret == 1)
			ret = 0;
		if (ret || lc.n == lc.limit || lc.scanned < LIST_MAX)
			break;
		snprintf(after, sizeof(after), "%s", lc.scan_last);
	}
	pthread_mutex_unlock(&gw_server.store_lock);
	if (ret) {
		json_decref(lc.arr);
		send_problem(req, 500, "Internal Server Error", "internal", "the store failed");
		return;
	}
	o = json_object();
	json_object_set_new(o, "keys", lc.arr);
	json_object_set_new(o, "next", lc.n == (size_t)limit ? json_string(lc.last) : json_null());
	send_json(req, 200, "OK", o);
}

enum key_action { ACT_SHOW, ACT_REVOKE, ACT_BLOCK, ACT_UNBLOCK, ACT_PLAN, ACT_USAGE };

static const char *const action_names[] = {
	[ACT_REVOKE] = "key.revoke",
	[ACT_BLOCK] = "key.block",
	[ACT_UNBLOCK] = "key.unblock",
	[ACT_PLAN] = "key.plan",
};

/* The usage document of a stored key, its bucket read from the in-memory table. */
static json_t *usage_of(const gw_key_record_t *r)
{
	gw_config_t *cfg = gw_server_config(NULL);
	struct edge_bucket b = { 0 };
	gw_keys_lock_t lk;
	gw_key_entry_t *e;
	json_t *o;

	if (!cfg)
		return NULL;
	if (cfg->store.type == GW_STORE_REDIS) { /* the counters and bucket live in Redis */
		o = gw_cluster_admin_usage(cfg, r->id, r->plan, r->status, (int64_t)time(NULL));
		gw_config_unref(cfg);
		return o;
	}
	e = gw_keys_lock(gw_server.keys, r->digest, &lk);
	if (e)
		b = e->bucket;
	gw_keys_unlock(&lk);
	o = gw_credits_usage_json(cfg, r->id, r->plan, gw_config_plan(cfg, gw_intern_find(r->plan)),
				  r->status, &b, gw_now_ns(), (int64_t)time(NULL));
	gw_config_unref(cfg);
	return o;
}

static void key_action(h2o_req_t *req, const char *id, enum key_action act)
{
	gw_key_record_t r;
	json_t *o = NULL, *before = NULL;
	const char *plan = NULL;
	int ret;

	if (act == ACT_PLAN && (!(o = body_object(req)) || !plan_of(req, o, &plan))) {
		json_decref(o);
		return;
	}
	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_get(gw_server.store, id, &r);
	if (ret)
		goto unlock;
	if (act != ACT_SHOW && act != ACT_USAGE && r.status == GW_KEY_REVOKED) {
		ret = -EPERM;
		goto unlock;
	}
	if (act != ACT_SHOW && act != ACT_USAGE) {
		before = record_json(&r, NULL);
		/* The change and its audit entry are one transaction: both or neither. */
		if ((ret = gw_store_begin(gw_server.store)))
			goto unlock;
	}
	switch (act) {
	case ACT_SHOW:
	case ACT_USAGE:
		break;
	case ACT_REVOKE:
	case ACT_BLOCK:
	case ACT_UNBLOCK:
		r.status = act == ACT_REVOKE  ? GW_KEY_REVOKED
			   : act == ACT_BLOCK ? GW_KEY_BLOCKED
					      : GW_KEY_ACTIVE;
		ret = gw_store_set_status(gw_server.store, id, r.status);
		break;
	case ACT_PLAN:
		snprintf(r.plan, sizeof(r.plan), "%s", plan);
		ret = gw_store_set_plan(gw_server.store, id, plan);
		break;
	}
	if (!ret && before) {
		json_t *after = record_json(&r, NULL);

		if (!audit(action_names[act], r.id, before, after))
			ret = -EIO;
		json_decref(after);
	}
	if (before && gw_store_end(gw_server.store, !ret) && !ret)
		ret = -EIO;
	if (!ret && before)
		ret = gw_keys_upsert(gw_server.keys, r.digest, gw_intern(r.plan), r.status,
				     mem_expires(r.expires));
	/* A new plan starts with its own full bucket, not the old plan's leftovers; its
	 * quota counters are the key's and stay as they are. */
	if (!ret && act == ACT_PLAN)
		gw_keys_reset_bucket(gw_server.keys, r.digest);
unlock:
	pthread_mutex_unlock(&gw_server.store_lock);
	json_decref(o);
	json_decref(before);
	if (ret == -ENOENT) {
		send_problem(req, 404, "Not Found", "not-found", "no key with this id");
		return;
	}
	if (ret == -EPERM) {
		send_problem(req, 409, "Conflict", "conflict", "the key is revoked; that is final");
		return;
	}
	if (ret) {
		pr_err("Couldn't update key %s: %s", id,
		       ret == -ENOMEM ? "out of memory" : gw_server.store->errmsg);
		send_problem(req, 500, "Internal Server Error", "internal", "the store failed");
		return;
	}
	if (act == ACT_USAGE) {
		json_t *u = usage_of(&r);

		if (!u) {
			send_problem(req, 500, "Internal Server Error", "internal",
				     "could not read the key's usage");
			return;
		}
		send_json(req, 200, "OK", u);
		return;
	}
	if (act != ACT_SHOW)
		pr_info("admin: key %s is now %s on plan %s", r.id, gw_key_status_name(r.status),
			r.plan);
	send_json(req, 200, "OK", record_json(&r, NULL));
}

static void reload(h2o_req_t *req)
{
	char err[GW_CONFIG_ERRLEN];
	uint64_t gen, gen0;
	gw_config_t *cfg = gw_server_config(&gen0);
	json_t *before, *after;
	bool ok, logged;
	int ret;

	gw_config_unref(cfg);
	ret = gw_server_reload(err, sizeof(err));
	cfg = gw_server_config(&gen);
	gw_config_unref(cfg);
	before = json_pack("{s:I}", "generation", (json_int_t)gen0);
	after = ret ? json_pack("{s:I, s:s}", "generation", (json_int_t)gen, "refused", err)
		    : json_pack("{s:I}", "generation", (json_int_t)gen);
	pthread_mutex_lock(&gw_server.store_lock);
	logged = audit("config.reload", "config", before, after);
	pthread_mutex_unlock(&gw_server.store_lock);
	json_decref(before);
	json_decref(after);
	ok = ret == 0;
	if (!ok) {
		pr_err("reload refused, the running config stays: %s", err);
		send_problem(req, 400, "Bad Request", "reload-refused", err);
		return;
	}
	if (!logged) {
		send_problem(req, 500, "Internal Server Error", "internal",
			     "reloaded, but the audit entry could not be written");
		return;
	}
	send_json(req, 200, "OK",
		  json_pack("{s:s, s:I}", "status", "reloaded", "generation", (json_int_t)gen));
}

struct audit_ctx {
	json_t *arr;
	size_t n;
};

static int audit_one(void *arg, const gw_audit_entry_t *e)
{
	struct audit_ctx *ac = arg;
	json_t *o = gw_audit_entry_json(e);

	if (!o)
		return -ENOMEM;
	json_array_append_new(ac->arr, o);
	ac->n++;
	return 0;
}

/* GET /v1/audit[?since=TIME&limit=N]: entries at or after since, oldest first. */
static void list_audit(h2o_req_t *req)
{
	struct audit_ctx ac = { .arr = json_array() };
	char since_s[40], lim[16];
	int64_t since = 0;
	long limit = LIST_DEFAULT;
	json_t *o;
	int ret;

	query_param(req, "since", since_s, sizeof(since_s));
	query_param(req, "limit", lim, sizeof(lim));
	if (since_s[0] && gw_admin_parse_time(since_s, &since)) {
		json_decref(ac.arr);
		BAD_REQUEST(req, "since must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a Unix time");
		return;
	}
	if (lim[0]) {
		char *e;

		limit = strtol(lim, &e, 10);
		if (*e || limit < 1 || limit > LIST_MAX) {
			json_decref(ac.arr);
			BAD_REQUEST(req, "limit must be 1 to 10000");
			return;
		}
	}
	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_audit_list(gw_server.store, since, (size_t)limit, audit_one, &ac);
	pthread_mutex_unlock(&gw_server.store_lock);
	if (ret) {
		json_decref(ac.arr);
		send_problem(req, 500, "Internal Server Error", "internal", "the store failed");
		return;
	}
	o = json_object();
	json_object_set_new(o, "entries", ac.arr);
	send_json(req, 200, "OK", o);
}

static bool is(h2o_iovec_t v, const char *s)
{
	return h2o_memis(v.base, v.len, s, strlen(s));
}

static json_t *body_object(h2o_req_t *req);

/* POST /v1/cache/purge {"route": NAME, "pattern": GLOB} (either or both) or {"all": true}. */
static void cache_purge(h2o_req_t *req)
{
	json_t *o = body_object(req), *r, *p, *a;
	const char *route = NULL, *pattern = NULL;
	gw_config_t *cfg;
	int64_t seq;
	bool known = false;
	char msg[160];

	if (!o)
		return;
	r = json_object_get(o, "route");
	p = json_object_get(o, "pattern");
	a = json_object_get(o, "all");
	if (json_object_size(o) != (size_t)(!!r + !!p + !!a) || (r && !json_is_string(r)) ||
	    (p && (!json_is_string(p) || !json_string_length(p))) || (a && !json_is_true(a)) ||
	    (a && (r || p)) || (!a && !r && !p)) {
		json_decref(o);
		BAD_REQUEST(req, "expected {\"route\": NAME, \"pattern\": GLOB} (one or both) or "
				 "{\"all\": true}");
		return;
	}
	route = r ? json_string_value(r) : NULL;
	pattern = p ? json_string_value(p) : NULL;
	if (route) {
		cfg = gw_server_config(NULL);
		for (size_t i = 0; cfg && i < cfg->nroutes; i++)
			known |= !strcmp(cfg->routes[i].name, route);
		gw_config_unref(cfg);
		if (!known) {
			snprintf(msg, sizeof(msg), "no route named \"%.64s\"", route);
			json_decref(o);
			send_problem(req, 404, "Not Found", "no-such-route", msg);
			return;
		}
	}
	if ((seq = gw_cache_purge(route, pattern)) < 0) {
		json_decref(o);
		BAD_REQUEST(req, "the pattern is longer than 255 bytes");
		return;
	}
	pr_info("admin: cache purge %lld (route %s, pattern %s)", (long long)seq,
		route ? route : "*", pattern ? pattern : "*");
	{
		json_t *what = json_pack("{s:s, s:s}", "route", route ? route : "*", "pattern",
					 pattern ? pattern : "*");
		bool logged;

		pthread_mutex_lock(&gw_server.store_lock);
		logged = audit("cache.purge", route ? route : "*", NULL, what);
		pthread_mutex_unlock(&gw_server.store_lock);
		json_decref(what);
		if (!logged) {
			json_decref(o);
			send_problem(req, 500, "Internal Server Error", "internal",
				     "purged, but the audit entry could not be written");
			return;
		}
	}
	send_json(req, 200, "OK",
		  json_pack("{s:s, s:I, s:s, s:s}", "status", "purged", "purge", (json_int_t)seq,
			    "route", route ? route : "*", "pattern", pattern ? pattern : "*"));
	json_decref(o);
}

/* /v1/bans: banapi.h does the work. */
static void bans(h2o_req_t *req)
{
	char method[8], cidr[64], detail[256] = "";
	json_t *out = NULL;
	int status;

	snprintf(method, sizeof(method), "%.*s", (int)req->method.len, req->method.base);
	query_param(req, "cidr", cidr, sizeof(cidr));
	status = gw_banapi(method, cidr, req->entity.base, req->entity.len, &out, detail,
			   sizeof(detail));
	if (out && (status == 201 || !strcmp(method, "DELETE"))) {
		/* A ban added or lifted is an admin action like any other: audited before the
		 * answer (the ban itself is in the XDP map already). */
		const char *target = json_string_value(json_object_get(out, "cidr"));
		bool logged;

		if (!target)
			target = json_string_value(json_object_get(out, "lifted"));
		pthread_mutex_lock(&gw_server.store_lock);
		logged = status == 201 ? audit("ban.add", target ? target : cidr, NULL, out)
				       : audit("ban.del", target ? target : cidr, out, NULL);
		pthread_mutex_unlock(&gw_server.store_lock);
		if (!logged) {
			json_decref(out);
			send_problem(req, 500, "Internal Server Error", "internal",
				     "done, but the audit entry could not be written");
			return;
		}
	}
	if (out)
		send_json(req, status, status == 201 ? "Created" : "OK", out);
	else
		send_problem(req, status, status == 404 ? "Not Found" : "Bad Request",
			     status == 404   ? "not-found"
			     : status == 409 ? "conflict"
					     : "bad-request",
			     detail);
}

/* /status (the page) and /status.json (its figures); open like /metrics. */
static void status_page(h2o_req_t *req, bool json)
{
	size_t len;

	if (!json) {
		const char *p = gw_status_page(&len);

		send_body(req, 200, "OK", "text/html; charset=utf-8", (char *)p, len);
		return;
	}
	char *s = gw_status_json(&len);

	if (!s) {
		send_problem(req, 500, "Internal Server Error", "internal", "out of memory");
		return;
	}
	send_body(req, 200, "OK", "application/json", s, len);
	free(s);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	h2o_iovec_t path = req->path_normalized, m = req->method;
	bool get = is(m, "GET") || is(m, "HEAD"), post = is(m, "POST");

	if (is(path, "/healthz")) {
		if (!get)
			goto method;
		healthz(req);
		return 0;
	}
	if (is(path, "/metrics")) {
		if (!get)
			goto method;
		metrics(req);
		return 0;
	}
	if (is(path, "/status") || is(path, "/status.json")) {
		if (!get)
			goto method;
		status_page(req, is(path, "/status.json"));
		return 0;
	}
	if (path.len < 4 || memcmp(path.base, "/v1/", 4))
		goto notfound;
	if (!authorized(req)) {
		send_problem(req, 401, "Unauthorized", "unauthorized",
			     "Authorization: Bearer <admin token> is required");
		return 0;
	}
	if (is(path, "/v1/reload")) {
		if (!post)
			goto method;
		reload(req);
		return 0;
	}
	if (is(path, "/v1/audit")) {
		if (!get)
			goto method;
		list_audit(req);
		return 0;
	}
	if (is(path, "/v1/upstreams")) {
		gw_config_t *cfg;
		char *s;

		if (!get)
			goto method;
		cfg = gw_server_config(NULL);
		s = cfg ? gw_upgroup_json(cfg) : NULL;
		gw_config_unref(cfg);
		if (!s) {
			send_problem(req, 500, "Internal Server Error", "internal",
				     "out of memory");
			return 0;
		}
		send_body(req, 200, "OK", "application/json", s, strlen(s));
		free(s);
		return 0;
	}
	if (is(path, "/v1/cache/purge")) {
		if (!post)
			goto method;
		cache_purge(req);
		return 0;
	}
	if (is(path, "/v1/bans")) {
		bans(req);
		return 0;
	}
	if (is(path, "/v1/keys")) {
		if (get)
			list_keys(req);
		else if (post)
			create_key(req);
		else
			goto method;
		return 0;
	}
	if (path.len > 9 && !memcmp(path.base, "/v1/keys/", 9)) {
		const char *id = path.base + 9, *slash = memchr(id, '/', path.len - 9);
		size_t idlen = slash ? (size_t)(slash - id) : path.len - 9;
		h2o_iovec_t action =
			slash ? h2o_iovec_init(slash + 1,
					       (size_t)(path.base + path.len - slash - 1))
			      : h2o_iovec_init(NULL, 0);
		char idbuf[GW_APIKEY_ID_LEN + 1];

		if (!valid_id(id, idlen))
			goto notfound;
		memcpy(idbuf, id, idlen);
		idbuf[idlen] = '\0';
		if (!slash) {
			if (!get)
				goto method;
			key_action(req, idbuf, ACT_SHOW);
			return 0;
		}
		if (is(action, "usage")) {
			if (!get)
				goto method;
			key_action(req, idbuf, ACT_USAGE);
			return 0;
		}
		if (is(action, "plan") && (post || is(m, "PUT"))) {
			key_action(req, idbuf, ACT_PLAN);
			return 0;
		}
		if (!is(action, "revoke") && !is(action, "block") && !is(action, "unblock") &&
		    !is(action, "plan"))
			goto notfound;
		if (!post)
			goto method;
		key_action(req, idbuf,
			   is(action, "revoke")	 ? ACT_REVOKE
			   : is(action, "block") ? ACT_BLOCK
						 : ACT_UNBLOCK);
		return 0;
	}
notfound:
	send_problem(req, 404, "Not Found", "not-found", "no such admin endpoint");
	return 0;
method:
	send_problem(req, 405, "Method Not Allowed", "method-not-allowed",
		     "this endpoint does not accept this method");
	return 0;
}

/* ---- thread ---- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
	gw_admin_t *a = listener->data;
	h2o_socket_t *sock;

	if (err)
		return;
	while ((sock = h2o_evloop_socket_accept(listener)))
		h2o_accept(&a->accept, sock);
}

static void on_notify(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	while (!h2o_linklist_is_empty(messages))
		h2o_linklist_unlink(messages->next);
}

static void *run(void *arg)
{
	gw_admin_t *a = arg;

	h2o_socket_read_start(a->listener, on_accept);
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
		h2o_evloop_run(a->loop, INT32_MAX);
	h2o_socket_read_stop(a->listener);
	h2o_socket_close(a->listener);
	return NULL;
}

/* h2o's own errors (a body over BODY_MAX: 413, a malformed request: 400) are plain text;
 * the admin API answers every error as problem+json, so they are rewritten here. */
static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	ssize_t i;

	if (req->res.status >= 400 &&
	    (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) != -1 &&
	    req->res.headers.entries[i].value.len >= 10 &&
	    !memcmp(req->res.headers.entries[i].value.base, "text/plain", 10)) {
		const gw_problem_info_t *p = gw_problem_info(gw_problem_of_status(req->res.status));
		char *s =
			problem_json(req->res.status, req->res.reason ? req->res.reason : p->title,
				     p->slug, p->detail);

		if (s) {
			slot = gw_handler_problem_body(req, slot, i,
						       h2o_strdup(&req->pool, s, strlen(s)));
			free(s);
		}
	}
	h2o_setup_next_ostream(req, slot);
}

gw_admin_t *gw_admin_new(int fd, SSL_CTX *ssl)
{
	gw_admin_t *a = calloc(1, sizeof(*a));
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	admin_handler_t *h;

	if (!a) {
		pr_err("admin API: out of memory");
		return NULL;
	}
	h2o_config_init(&a->gconf);
	a->gconf.server_name = h2o_iovec_init(H2O_STRLIT("floodgate-admin"));
	a->gconf.max_request_entity_size = BODY_MAX;
	host = h2o_config_register_host(&a->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = (admin_handler_t *)h2o_create_handler(path, sizeof(*h));
	h->super.on_req = on_req;
	h->admin = a;
	/* h2o answers a request it refuses before routing it through the fallback path */
	h2o_create_filter(&host->fallback_path, sizeof(h2o_filter_t))->on_setup_ostream =
		on_setup_ostream;
	h2o_create_filter(path, sizeof(h2o_filter_t))->on_setup_ostream = on_setup_ostream;
	a->loop = h2o_evloop_create();
	h2o_context_init(&a->ctx, a->loop, &a->gconf);
	h2o_multithread_register_receiver(a->ctx.queue, &a->notify, on_notify);
	a->accept.ctx = &a->ctx;
	a->accept.hosts = a->gconf.hosts;
	if (ssl) {
		/* Kept for the life of the listener, whatever reloads do to the config. */
		SSL_CTX_up_ref(ssl);
		a->accept.ssl_ctx = ssl;
	}
	a->listener = h2o_evloop_socket_create(a->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	a->listener->data = a;
	return a;
}

int gw_admin_start(gw_admin_t *a)
{
	int rc = pthread_create(&a->tid, NULL, run, a);

	if (rc) {
		pr_err("Couldn't start the admin thread: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(a->tid, "fg-admin");
	a->started = 1;
	return 0;
}

void gw_admin_stop(gw_admin_t *a)
{
	if (!a || !a->started)
		return;
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	h2o_multithread_send_message(&a->notify, NULL);
	pthread_join(a->tid, NULL);
	a->started = 0;
}

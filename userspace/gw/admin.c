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
#include "gw/cluster_req.h"
#include "gw/evloop.h"
#include "gw/keys.h"
#include "gw/metrics.h"
#include "gw/server.h"
#include "gw/store.h"
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
		if (errno || *e || v < 0)
			return -EINVAL;
		*out = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end, "T%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return *out < 0 ? -EINVAL : 0;
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
	if (!(text = gw_metrics_render(m, n, &g, &len)) ||
	    !(text = gw_cluster_metrics_append(text, &len))) {
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
	for (int t = 0; t < CREATE_TRIES && ret == -EEXIST; t++) {
		if (gw_apikey_generate(key)) {
			ret = -EIO;
			break;
		}
		gw_apikey_digest(key, strlen(key), r.digest);
		gw_apikey_id(r.digest, r.id);
		ret = gw_store_insert(gw_server.store, &r);
	}
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
};

static int list_one(void *arg, const gw_key_record_t *r)
{
	struct list_ctx *lc = arg;

	json_array_append_new(lc->arr, record_json(r, NULL));
	snprintf(lc->last, sizeof(lc->last), "%s", r->id);
	lc->n++;
	return 0;
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
	struct list_ctx lc = { .arr = json_array() };
	char lim[16], after[32];
	long limit = LIST_DEFAULT;
	json_t *o;
	int ret;

	query_param(req, "limit", lim, sizeof(lim));
	query_param(req, "after", after, sizeof(after));
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
	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_list(gw_server.store, after, (size_t)limit, list_one, &lc);
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

enum key_action { ACT_SHOW, ACT_REVOKE, ACT_BLOCK, ACT_UNBLOCK, ACT_PLAN };

static void key_action(h2o_req_t *req, const char *id, enum key_action act)
{
	gw_key_record_t r;
	json_t *o = NULL;
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
	if (act != ACT_SHOW && r.status == GW_KEY_REVOKED) {
		ret = -EPERM;
		goto unlock;
	}
	switch (act) {
	case ACT_SHOW:
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
	if (!ret && act != ACT_SHOW)
		ret = gw_keys_upsert(gw_server.keys, r.digest, gw_intern(r.plan), r.status,
				     mem_expires(r.expires));
	/* A new plan starts with its own full bucket, not the old plan's leftovers. */
	if (!ret && act == ACT_PLAN)
		gw_keys_reset_bucket(gw_server.keys, r.digest);
unlock:
	pthread_mutex_unlock(&gw_server.store_lock);
	json_decref(o);
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
	if (act != ACT_SHOW)
		pr_info("admin: key %s is now %s on plan %s", r.id, gw_key_status_name(r.status),
			r.plan);
	send_json(req, 200, "OK", record_json(&r, NULL));
}

static void reload(h2o_req_t *req)
{
	char err[GW_CONFIG_ERRLEN];
	uint64_t gen;
	gw_config_t *cfg;

	if (gw_server_reload(err, sizeof(err))) {
		pr_err("reload refused, the running config stays: %s", err);
		send_problem(req, 400, "Bad Request", "reload-refused", err);
		return;
	}
	cfg = gw_server_config(&gen);
	gw_config_unref(cfg);
	send_json(req, 200, "OK",
		  json_pack("{s:s, s:I}", "status", "reloaded", "generation", (json_int_t)gen));
}

static bool is(h2o_iovec_t v, const char *s)
{
	return h2o_memis(v.base, v.len, s, strlen(s));
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

gw_admin_t *gw_admin_new(int fd, SSL_CTX *ssl)
{
	gw_admin_t *a = calloc(1, sizeof(*a));
	h2o_hostconf_t *host;
	admin_handler_t *h;

	if (!a) {
		pr_err("admin API: out of memory");
		return NULL;
	}
	h2o_config_init(&a->gconf);
	a->gconf.server_name = h2o_iovec_init(H2O_STRLIT("floodgate-admin"));
	a->gconf.max_request_entity_size = BODY_MAX;
	host = h2o_config_register_host(&a->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h = (admin_handler_t *)h2o_create_handler(h2o_config_register_path(host, "/", 0),
						  sizeof(*h));
	h->super.on_req = on_req;
	h->admin = a;
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

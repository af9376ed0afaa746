/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * handler.c - the request path (see handler.h).
 *
 * Everything a rejection needs is precomputed in the config (problem bodies, policies),
 * and a rejection allocates nothing but what h2o's pool gives for free: a 401 or 429
 * costs a scan of the path (normalised only when it has to be), one regex match, one
 * stripe lock and, on the first request of a connection with a given key, one SHA-256
 * (keycache.h) on top of h2o's own request parsing. The upstream form of the path is
 * built only for a request that is proxied, or logged. The clock is read once, when a
 * bucket (or the cache, or the access log) first needs it, and the client's address is
 * resolved once, when bans, abuse scoring, per-client limits, the access log or the proxy
 * need it: a 401 with none of those configured reads neither.
 *
 * Over HTTP/1 a problem response goes out in h2o's pull mode: h2o 2.2.5 writes each
 * buffer it is given as its own TLS record, and pulled, the head and the body share one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/apikey.h"
#include "gw/credits.h"
#include "gw/cache.h"
#include "gw/ban.h"
#include "gw/cluster_req.h"
#include "gw/framing.h"
#include "gw/handler.h"
#include "gw/keycache.h"
#include "gw/keys.h"
#include "gw/proxy.h"
#include "gw/ratelimit.h"
#include "gw/server.h"
#include "gw/topkeys.h"

/* The env slot that ties an h2o request to its gw_reqctx_t. */
#define ENV_NAME "floodgate.req"
/* Its name, at one address: handle() puts the slot first, and gw_handler_reqctx() knows it
 * by that address before searching by name. */
static const char env_name[] = ENV_NAME;
/* Occurrences of the client-IP header read per request. */
#define IP_HEADERS_MAX	   8
/* Response headers with room in the request's context (reqmem): a cache hit's stored
 * headers, RateLimit, X-Cache and Age fit; more grow into the pool as usual. */
#define RES_HEADERS_INLINE 12

/* A request's context, in one pool allocation with room for its env slot and its first
 * response headers: h2o would grow both vectors from the pool (h2o_vector__expand()), a
 * visible share of a short answer. The pool outlives every use of either. */
struct reqmem {
	gw_reqctx_t rc;
	void (*hold)(void *); /* gw_handler_hold(): called by the logger, or NULL */
	void *hold_arg;
	char *shared[2]; /* references to the thread's shared header values (keep_shared()) */
	h2o_iovec_t env[2];
	h2o_header_t headers[RES_HEADERS_INLINE];
};

typedef struct st_gw_handler_t {
	h2o_handler_t super;
} gw_handler_t;

/* The request on_req() is handling, and its context: the filter (on_setup_ostream()) runs
 * inside on_req(), from h2o_start_response(), and finds the context here without searching
 * req->env. Cleared when on_req() returns, since a request's address is reused later. */
static __thread h2o_req_t *cur_req;
static __thread gw_reqctx_t *cur_rc;

gw_reqctx_t *gw_handler_reqctx(h2o_req_t *req)
{
	h2o_iovec_t *v;

	if (req == cur_req)
		return cur_rc;
	if (req->env.size >= 2 && req->env.entries[0].base == env_name)
		return (gw_reqctx_t *)req->env.entries[1].base;
	v = h2o_req_getenv(req, H2O_STRLIT(ENV_NAME), 0);

	return v ? (gw_reqctx_t *)v->base : NULL;
}

/* The response header names that are not h2o tokens. */
static h2o_iovec_t hdr_ratelimit_policy = { H2O_STRLIT("ratelimit-policy") };
static h2o_iovec_t hdr_ratelimit = { H2O_STRLIT("ratelimit") };
static h2o_iovec_t hdr_x_ratelimit_limit = { H2O_STRLIT("x-ratelimit-limit") };
static h2o_iovec_t hdr_x_ratelimit_remaining = { H2O_STRLIT("x-ratelimit-remaining") };
static h2o_iovec_t hdr_x_ratelimit_reset = { H2O_STRLIT("x-ratelimit-reset") };

/*
 * Append a response header. h2o_add_header() copies the original-case name into the pool
 * on every call and h2o_add_header_by_str() allocates the name too; here the name and its
 * original case are literals, which outlive any request. The first header reserves room
 * for the usual few at once (h2o would grow the vector 0 -> 4 -> 8).
 */
static void push_header(h2o_req_t *req, h2o_iovec_t *name, const char *orig, const char *v,
			size_t vlen)
{
	h2o_headers_t *hs = &req->res.headers;
	h2o_header_t *slot;

	h2o_vector_reserve(&req->pool, hs, hs->size < 8 ? 8 : hs->size + 1);
	slot = hs->entries + hs->size++;
	slot->name = name;
	slot->orig_name = orig;
	slot->value = h2o_iovec_init(v, vlen);
}

#define TOKEN_NAME(t) ((h2o_iovec_t *)&(t)->buf)

/* An in-memory body pulled by an HTTP/1 connection (gw_handler_send_memory()). */
struct memory_pull {
	h2o_generator_t super;
	h2o_iovec_t body; /* what is left of it */
};

static h2o_send_state_t memory_pull(h2o_generator_t *gen, h2o_req_t *req, h2o_iovec_t *buf)
{
	struct memory_pull *mp = (struct memory_pull *)gen;
	size_t n = mp->body.len < buf->len ? mp->body.len : buf->len;

	memcpy(buf->base, mp->body.base, n);
	buf->len = n;
	mp->body.base += n;
	mp->body.len -= n;
	return mp->body.len ? H2O_SEND_STATE_IN_PROGRESS : H2O_SEND_STATE_FINAL;
}

void gw_handler_send_memory(h2o_req_t *req, h2o_iovec_t body, bool head, bool pull)
{
	static h2o_generator_t generator = { NULL, NULL };

	if (pull && req->version < 0x200 && !head && body.len) {
		struct memory_pull *mp = h2o_mem_alloc_pool(&req->pool, sizeof(*mp));

		*mp = (struct memory_pull){ .body = body };
		h2o_start_response(req, &mp->super);
		/* Nothing between us and the connection (no filter's ostream): pull. */
		if (req->_ostr_top->start_pull) {
			req->_ostr_top->start_pull(req->_ostr_top, memory_pull);
			return;
		}
		h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
		return;
	}
	h2o_start_response(req, &generator);
	if (head || !body.len)
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* The error statuses RFC 9110 defines as cacheable by default (heuristically). */
static bool heuristically_cacheable(int status)
{
	return status == 404 || status == 405 || status == 410 || status == 414 || status == 501;
}

void gw_handler_problem(h2o_req_t *req, gw_reqctx_t *rc, enum gw_problem p)
{
	const gw_config_t *cfg = rc->tc->config;
	const gw_problem_info_t *info = gw_problem_info(p);
	/* The body lives in the config, which outlives the request (rc->tc holds it). */
	h2o_iovec_t body = h2o_iovec_init(cfg->problems[p].body, cfg->problems[p].len);
	bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));

	rc->problem = p;
	req->res.status = info->status;
	req->res.reason = info->title;
	req->res.content_length = body.len;
	push_header(req, TOKEN_NAME(H2O_TOKEN_CONTENT_TYPE), "Content-Type",
		    H2O_STRLIT(GW_PROBLEM_CONTENT_TYPE));
	/* Only a status a cache may store without being told (RFC 9111 4.2.2: 404, 405,
	 * 414, 501 here) needs telling not to; 401, 403, 429, 502... are never stored, and
	 * one header less is a visible share of an HTTP/2 rejection. */
	if (heuristically_cacheable(info->status))
		push_header(req, TOKEN_NAME(H2O_TOKEN_CACHE_CONTROL), "Cache-Control",
			    H2O_STRLIT("no-store"));
	gw_handler_send_memory(req, body, head, true);
}

/* The thread's last Retry-After value, shared as ratelimit_value() shares RateLimit's: a
 * rejection's delay stays the same for a second. */
static __thread struct {
	uint64_t seconds;
	char *v; /* shared, NULL: empty */
	size_t n;
} retry_memo;

/*
 * A reference to one of the thread's shared header values for as long as the request lives:
 * the logger, which h2o calls when the request is done with, releases it (release_req()).
 * h2o_mem_link_shared() would do the same with a link record in the pool and a dispose
 * callback, about 50 instructions a value more on every rejection.
 */
static void keep_shared(h2o_req_t *req, gw_reqctx_t *rc, char *v)
{
	struct reqmem *rm = (struct reqmem *)rc;

	for (size_t i = 0; i < sizeof(rm->shared) / sizeof(rm->shared[0]); i++) {
		if (!rm->shared[i]) {
			h2o_mem_addref_shared(v);
			rm->shared[i] = v;
			return;
		}
	}
	h2o_mem_link_shared(&req->pool, v); /* a third value: h2o's way */
}

static void add_retry_after(h2o_req_t *req, gw_reqctx_t *rc, uint64_t seconds)
{
	if (!seconds)
		seconds = 1;
	if (!retry_memo.v || retry_memo.seconds != seconds) {
		char *v = h2o_mem_alloc_shared(NULL, 24, NULL);

		if (retry_memo.v)
			h2o_mem_release_shared(retry_memo.v);
		retry_memo.seconds = seconds;
		retry_memo.v = v;
		retry_memo.n = gw_ratelimit_u64(v, seconds);
	}
	keep_shared(req, rc, retry_memo.v);
	push_header(req, TOKEN_NAME(H2O_TOKEN_RETRY_AFTER), "Retry-After", retry_memo.v,
		    retry_memo.n);
}

/*
 * The thread's last RateLimit value: a plan's bucket reads the same for many requests in a
 * row (full, or empty until the next second), and formatting it cost more than sharing it.
 * The value is a refcounted h2o chunk each request using it links to its pool, so it
 * outlives every response that carries it, replaced or not. Keyed by the plan's address
 * and the worker's config generation: a plan of a later config may reuse an address, never
 * a generation.
 */
struct ratelimit_memo {
	const gw_plan_t *plan;
	uint64_t gen;
	uint64_t remaining, reset_s;
	char *v; /* shared (h2o_mem_alloc_shared()), NULL: empty */
	size_t n;
};
static __thread struct ratelimit_memo rl_memo;

static void ratelimit_value(h2o_req_t *req, gw_reqctx_t *rc, uint64_t gen, const gw_plan_t *plan,
			    const gw_ratelimit_state_t *st, char **v, size_t *n)
{
	struct ratelimit_memo *m = &rl_memo;

	if (!m->v || m->plan != plan || m->gen != gen || m->remaining != st->remaining ||
	    m->reset_s != st->reset_s) {
		char *nv = h2o_mem_alloc_shared(NULL, GW_NAME_MAX + 64, NULL);

		if (m->v)
			h2o_mem_release_shared(m->v);
		m->plan = plan;
		m->gen = gen;
		m->remaining = st->remaining;
		m->reset_s = st->reset_s;
		m->v = nv;
		m->n = gw_ratelimit_header(plan->name, st, nv, GW_NAME_MAX + 64);
	}
	keep_shared(req, rc, m->v);
	*v = m->v;
	*n = m->n;
}

/* RateLimit-Policy and RateLimit (and the legacy trio) for a plan's bucket state. */
static void add_ratelimit_headers(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
				  const gw_ratelimit_state_t *st)
{
	const gw_config_t *cfg = rc->tc->config;
	uint64_t gen = rc->tc->worker->gen;

	if (cfg->headers.ratelimit) {
		char *v;
		size_t n;

		ratelimit_value(req, rc, gen, plan, st, &v, &n);
		push_header(req, &hdr_ratelimit_policy, "RateLimit-Policy", plan->policy,
			    plan->policy_len);
		if (n)
			push_header(req, &hdr_ratelimit, "RateLimit", v, n);
	}
	if (cfg->headers.legacy) {
		char *v = h2o_mem_alloc_pool(&req->pool, 72);
		size_t a = gw_ratelimit_u64(v, st->limit);
		size_t b = gw_ratelimit_u64(v + 24, st->remaining);
		size_t c = gw_ratelimit_u64(v + 48, st->reset_s);

		push_header(req, &hdr_x_ratelimit_limit, "X-RateLimit-Limit", v, a);
		push_header(req, &hdr_x_ratelimit_remaining, "X-RateLimit-Remaining", v + 24, b);
		push_header(req, &hdr_x_ratelimit_reset, "X-RateLimit-Reset", v + 48, c);
	}
}

/* Client and edge buckets; returns true when the request was answered (429). */
static bool limit_client(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg, uint64_t now)
{
	gw_ratelimit_state_t st;
	uint8_t key[16];

	if (cfg->clients.per_edge_on && rc->ip.via_edge) {
		gw_clientip_bucket_key(&rc->ip.peer, 128, key);
		if (!gw_ratelimit_table_take(gw_server.edge_table, key, now, &cfg->clients.per_edge,
					     &st)) {
			add_retry_after(req, rc, st.retry_after_s);
			gw_handler_problem(req, rc, GW_PROBLEM_EDGE_RATE_LIMITED);
			return true;
		}
	}
	/* Through an edge that did not name the client, the edge's bucket is the only one. */
	if (cfg->clients.per_ip_on &&
	    !(rc->ip.via_edge && !memcmp(&rc->ip.client, &rc->ip.peer, sizeof(rc->ip.peer)))) {
		gw_clientip_bucket_key(&rc->ip.client, cfg->clients.ipv6_prefix, key);
		if (!gw_ratelimit_table_take(gw_server.ip_table, key, now, &cfg->clients.per_ip,
					     &st)) {
			add_retry_after(req, rc, st.retry_after_s);
			gw_handler_problem(req, rc, GW_PROBLEM_CLIENT_RATE_LIMITED);
			return true;
		}
	}
	return false;
}

uint64_t gw_handler_now(gw_reqctx_t *rc)
{
	if (!rc->start_ns)
		rc->start_ns = gw_now_ns();
	return rc->start_ns;
}

static void resolve_client(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg)
{
	struct sockaddr_storage ss;
	const char *vals[IP_HEADERS_MAX];
	size_t lens[IP_HEADERS_MAX], n = 0;
	socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

	if (!sl)
		return;
	if (cfg->clients.header != GW_CLIENT_IP_NONE) {
		ssize_t i = -1;

		while (n < IP_HEADERS_MAX) {
			if (cfg->clients.header == GW_CLIENT_IP_XFF)
				i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i);
			else
				i = h2o_find_header_by_str(&req->headers,
							   H2O_STRLIT("cf-connecting-ip"), i);
			if (i == -1)
				break;
			vals[n] = req->headers.entries[i].value.base;
			lens[n++] = req->headers.entries[i].value.len;
		}
	}
	rc->have_ip = gw_clientip_resolve(cfg, (struct sockaddr *)&ss, vals, lens, n, &rc->ip) == 0;
}

bool gw_handler_client(h2o_req_t *req, gw_reqctx_t *rc)
{
	if (!rc->ip_resolved) {
		rc->ip_resolved = true;
		resolve_client(req, rc, rc->tc->config);
	}
	return rc->have_ip;
}

/* Key checks and the plan bucket; returns true when the request was answered. */

/* Where the key header and Authorization are among the request's headers (the first of
 * each, as h2o_find_header*() find them), or -1: found by handle()'s one pass over them. */
struct key_headers {
	ssize_t header, authorization;
};

static void key_input(h2o_req_t *req, const struct key_headers *kh, gw_apikey_input_t *in)
{
	*in = (gw_apikey_input_t){ 0 };
	if (kh->header != -1) {
		in->header = req->headers.entries[kh->header].value.base;
		in->header_len = req->headers.entries[kh->header].value.len;
	}
	if (kh->authorization != -1) {
		in->authorization = req->headers.entries[kh->authorization].value.base;
		in->authorization_len = req->headers.entries[kh->authorization].value.len;
	}
	if (req->query_at != SIZE_MAX) {
		in->query = req->path.base + req->query_at + 1;
		in->query_len = req->path.len - req->query_at - 1;
	}
}

int gw_handler_extract_key(h2o_req_t *req, const gw_config_t *cfg, char *kbuf, gw_apikey_t *key)
{
	struct key_headers kh = {
		h2o_find_header_by_str(&req->headers, cfg->keys.header, cfg->keys.header_len, -1),
		h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1),
	};
	gw_apikey_input_t in;

	key_input(req, &kh, &in);
	return gw_apikey_extract(cfg, &in, kbuf, key);
}

static bool authorize(h2o_req_t *req, gw_reqctx_t *rc, const gw_config_t *cfg,
		      const gw_route_t *route, const struct key_headers *kh, gw_proxy_drop_t *drop)
{
	char kbuf[GW_APIKEY_MAX]; /* a key from the query, decoded: not needed past here */
	gw_ratelimit_state_t st;
	const gw_plan_t *plan = NULL;
	enum gw_problem problem = GW_PROBLEM_NONE;
	uint8_t digest[32];
	struct edge_bucket bucket;
	gw_keys_lock_t lk;
	gw_key_entry_t *e;
	gw_apikey_t key;
	gw_apikey_input_t in;
	int found = 0;
	bool in_redis = false;

	/* The key this connection presented last is known to be well-formed and its digest
	 * is remembered (keycache.h): only another one is checked and hashed. */
	if (cfg->keys.nsources && cfg->keys.order[0] == GW_KEY_SRC_HEADER && kh->header != -1) {
		/* the first accepted source is there: what gw_apikey_locate() finds, directly */
		key = (gw_apikey_t){ req->headers.entries[kh->header].value.base,
				     req->headers.entries[kh->header].value.len,
				     GW_KEY_SRC_HEADER };
		gw_apikey_trim(&key.key, &key.len);
		found = 1;
	}
	/* an empty key header is no key (gw_apikey_locate() then looks further) */
	if (found <= 0 || !key.len) {
		key_input(req, kh, &in);
		found = gw_apikey_locate(cfg, &in, kbuf, &key);
	}
	if (found > 0 && !gw_keycache_get(rc->tc->worker->keycache, req->conn->id, key.key, key.len,
					  digest, rc->key_id)) {
		if (!gw_apikey_valid(key.key, key.len))
			found = -EINVAL;
		else
			gw_keycache_digest(rc->tc->worker->keycache, req->conn->id, key.key,
					   key.len, digest, rc->key_id);
	}
	if (found <= 0) {
		bool bearer = false;

		for (size_t s = 0; s < cfg->keys.nsources; s++)
			bearer |= cfg->keys.order[s] == GW_KEY_SRC_BEARER;
		const char *challenge =
			bearer ? "Bearer realm=\"floodgate\"" : "ApiKey realm=\"floodgate\"";

		push_header(req, TOKEN_NAME(H2O_TOKEN_WWW_AUTHENTICATE), "WWW-Authenticate",
			    challenge, strlen(challenge));
		gw_handler_problem(req, rc,
				   found ? GW_PROBLEM_INVALID_KEY : GW_PROBLEM_MISSING_KEY);
		return true;
	}
	drop->header = cfg->keys.header;
	drop->header_len = cfg->keys.header_len;
	drop->authorization = key.src == GW_KEY_SRC_BEARER;

	e = gw_keys_lock(gw_server.keys, digest, &lk);
	if (!e) {
		problem = GW_PROBLEM_INVALID_KEY;
	} else {
		rc->plan_id = e->plan;
		bucket = e->bucket;
		if (e->status == GW_KEY_REVOKED)
			problem = GW_PROBLEM_REVOKED_KEY;
		else if (e->expires &&
			 (uint64_t)e->expires <= (uint64_t)req->processed_at.at.tv_sec)
			problem = GW_PROBLEM_EXPIRED_KEY;
		else if (e->status == GW_KEY_BLOCKED)
			problem = GW_PROBLEM_BLOCKED_KEY;
		else if (!(plan = gw_config_plan(cfg, e->plan)))
			problem = GW_PROBLEM_PLAN_UNAVAILABLE;
		else if (!gw_plan_allows(plan, route))
			problem = GW_PROBLEM_ROUTE_NOT_IN_PLAN;
		else if (rc->tc->worker->cluster)
			in_redis = true; /* cluster mode: the bucket is decided in Redis */
		else if (!gw_ratelimit_take(&e->bucket, gw_handler_now(rc), &plan->limit, &st))
			problem = GW_PROBLEM_RATE_LIMITED;
		/* Quota after the token, under the same lock: refused, the token goes back. */
		else if ((problem = gw_credits_admit(req, rc, cfg, plan, route, digest)))
			e->bucket = bucket;
		/* Refused by its plan without spending a token: report the bucket as it is. */
		if (problem == GW_PROBLEM_ROUTE_NOT_IN_PLAN)
			gw_ratelimit_peek(&e->bucket, gw_handler_now(rc), &plan->limit, &st);
	}
	gw_keys_unlock(&lk);
	if (in_redis) {
		gw_cluster_request(req, rc, plan, digest, drop);
		return true;
	}
	if (problem == GW_PROBLEM_RATE_LIMITED || problem == GW_PROBLEM_NONE ||
	    problem == GW_PROBLEM_ROUTE_NOT_IN_PLAN)
		add_ratelimit_headers(req, rc, plan, &st);
	if (problem == GW_PROBLEM_NONE)
		return false;
	if (problem == GW_PROBLEM_RATE_LIMITED)
		add_retry_after(req, rc, st.retry_after_s);
	if (problem == GW_PROBLEM_QUOTA_EXCEEDED)
		gw_credits_reject(req, rc, cfg, plan);
	if (problem == GW_PROBLEM_INVALID_KEY || problem == GW_PROBLEM_EXPIRED_KEY ||
	    problem == GW_PROBLEM_REVOKED_KEY) {
		push_header(req, TOKEN_NAME(H2O_TOKEN_WWW_AUTHENTICATE), "WWW-Authenticate",
			    H2O_STRLIT("Bearer realm=\"floodgate\", error=\"invalid_token\""));
	}
	gw_handler_problem(req, rc, problem);
	return true;
}

/* The path and query the upstream gets: normalised path, query minus the key parameter. */
static void build_uri(h2o_req_t *req, gw_reqctx_t *rc)
{
	const gw_config_t *cfg = rc->tc->config;
	const char *norm = rc->norm;
	size_t nlen = rc->norm_len;
	size_t qlen = req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0;
	char *out;
	size_t o;
	bool strip = false;

	if (!norm)
		return; /* rc->uri is final already */
	out = h2o_mem_alloc_pool(&req->pool, 3 * nlen + qlen + 2);
	o = gw_route_encode(norm, nlen, out);

	for (size_t s = 0; s < cfg->keys.nsources; s++)
		strip |= cfg->keys.order[s] == GW_KEY_SRC_QUERY;
	if (qlen) {
		const char *q = req->path.base + req->query_at + 1;
		size_t n;

		out[o] = '?';
		if (strip)
			n = gw_apikey_strip_query(q, qlen, cfg->keys.query_param,
						  cfg->keys.query_param_len, out + o + 1, NULL);
		else
			memcpy(out + o + 1, q, n = qlen);
		if (n)
			o += 1 + n;
	}
	rc->uri = h2o_iovec_init(out, o);
	rc->norm = NULL;
}

void gw_handler_decided(h2o_req_t *req, gw_reqctx_t *rc, const gw_plan_t *plan,
			const gw_ratelimit_state_t *st, enum gw_problem problem,
			const gw_proxy_drop_t *drop)
{
	if (st)
		add_ratelimit_headers(req, rc, plan, st);
	if (problem) {
		if (problem == GW_PROBLEM_RATE_LIMITED && st)
			add_retry_after(req, rc, st->retry_after_s);
		else if (problem == GW_PROBLEM_LIMITS_UNAVAILABLE)
			add_retry_after(req, rc, 1);
		gw_handler_problem(req, rc, problem);
		return;
	}
	build_uri(req, rc);
	/* decided (in Redis, cluster mode): the cache answers, or the upstream does */
	gw_cache_start(req, rc, &rc->tc->ups[rc->route->upstream->index], drop);
}

/* Whether an HTTP/1.x request is framed as framing.h requires. h2o keeps Host,
 * Content-Length and Transfer-Encoding out of req->headers (and fills the authority in when
 * Host is missing). For a request with a body they are counted from the raw head, which is
 * still at the start of the connection's input (h2o consumes it after the response); a
 * request without one has no boundary to disagree on, its Host fields go unchecked, and a
 * GET pays nothing. */
static bool http1_framing_ok(h2o_req_t *req, gw_framing_t *fr)
{
	fr->host = 1; /* unseen: see above */
	if (req->entity.base && req->conn->callbacks->get_socket) {
		h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);

		if (sock && sock->input) {
			fr->host = 0;
			gw_framing_scan(sock->input->bytes, sock->input->size, fr);
		}
	}
	return gw_framing_ok(req->version, fr);
}

static int handle(h2o_req_t *req)
{
	gw_worker_t *w = gw_worker_self();
	gw_tconf_t *tc = gw_worker_acquire(w);
	const gw_config_t *cfg = tc->config;
	struct reqmem *rm = h2o_mem_alloc_pool(&req->pool, sizeof(*rm));
	gw_reqctx_t *rc = &rm->rc;
	size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	gw_proxy_drop_t drop = { 0 };
	struct key_headers kh = { -1, -1 };
	gw_route_result_t rr;
	enum gw_method method;
	bool known, as_is = false;
	char *norm;
	int n;

	memset(rc, 0, sizeof(*rc));
	rm->hold = NULL;
	rm->shared[0] = rm->shared[1] = NULL;
	rc->tc = tc;
	rc->upstream_ns = -1;
	rc->uri = h2o_iovec_init(req->path.base, plen);
	if (!req->env.capacity) { /* what h2o_req_getenv() would add, without the growth */
		rm->env[0] = h2o_iovec_init(env_name, sizeof(env_name) - 1);
		rm->env[1] = h2o_iovec_init(rc, 0);
		req->env.entries = rm->env;
		req->env.size = req->env.capacity = 2;
	} else {
		h2o_req_getenv(req, env_name, sizeof(env_name) - 1, 1)->base = (char *)rc;
	}
	if (!req->res.headers.capacity) {
		req->res.headers.entries = rm->headers;
		req->res.headers.capacity = RES_HEADERS_INLINE;
	}
	cur_req = req;
	cur_rc = rc;
	w->in_flight++;
	gw_metrics_gauge_add(&w->metrics->in_flight, 1);

	/* The clock and the client's address are read here only when the access log (the
	 * duration, the address) or abuse scoring (the address, in log_access) will want them;
	 * otherwise on demand - a refused request often needs neither. */
	if (cfg->access_log_fd >= 0)
		gw_handler_now(rc);
	if ((cfg->access_log_fd >= 0 || gw_ban_wants_ip(cfg)) &&
	    gw_handler_client(req, rc)) { /* banned, or marked by XDP and over the suspect bucket */
		uint64_t retry = 0;
		enum gw_problem bp =
			gw_ban_check(cfg, &rc->ip, req->conn->id, gw_handler_now(rc), &retry);

		if (bp) {
			add_retry_after(req, rc, retry);
			gw_handler_problem(req, rc, bp);
			return 0;
		}
	}
	if ((cfg->clients.per_ip_on || cfg->clients.per_edge_on) && gw_handler_client(req, rc) &&
	    limit_client(req, rc, cfg, gw_handler_now(rc)))
		return 0;

	{
		size_t head = req->method.len + req->path.len + req->authority.len;
		gw_framing_t fr = { 0 };

		/* The same pass finds the key's headers (the first of each, as
		 * gw_handler_extract_key() does) for authorize(), and fields without a
		 * name (framing.h). */
		for (size_t i = 0; i < req->headers.size; i++) {
			const h2o_header_t *h = &req->headers.entries[i];

			head += h->name->len + h->value.len + 4;
			if (h->name == TOKEN_NAME(H2O_TOKEN_AUTHORIZATION)) {
				if (kh.authorization == -1)
					kh.authorization = (ssize_t)i;
			} else if (!h->name->len) {
				fr.nameless++;
			}
			if (kh.header == -1 && h2o_memis(h->name->base, h->name->len,
							 cfg->keys.header, cfg->keys.header_len))
				kh.header = (ssize_t)i;
		}
		if (head > cfg->limits.max_header_bytes) {
			gw_handler_problem(req, rc, GW_PROBLEM_HEADERS_TOO_LARGE);
			return 0;
		}
		if (fr.nameless || (req->version < 0x200 && !http1_framing_ok(req, &fr))) {
			req->http1_is_persistent = 0; /* nothing after it can be trusted */
			gw_handler_problem(req, rc, GW_PROBLEM_BAD_REQUEST);
			return 0;
		}
	}
	method = gw_method_of(req->method.base, req->method.len);
	/* A path the thread answered lately (route.h's memo) is normal, its route known. */
	known = gw_route_memo_get(w->scratch, cfg, method, req->path.base, plen, &rr, &as_is);
	if (known || gw_route_is_normal(req->path.base, plen)) {
		norm = req->path.base; /* normalising would copy it unchanged */
		n = (int)plen;
	} else {
		norm = h2o_mem_alloc_pool(&req->pool, plen + 1);
		n = gw_route_normalize(req->path.base, plen, norm);
		if (n < 0) {
			gw_handler_problem(req, rc, GW_PROBLEM_BAD_REQUEST);
			return 0;
		}
	}
	if (cfg->usage.endpoint && plen == cfg->usage.endpoint_len && /* the rest: credits.c */
	    gw_credits_usage_endpoint(req, rc, cfg, plen))
		return 0;
	if (!known) {
		gw_route_match(cfg, w->scratch, method, norm, (size_t)n, &rr);
		if (norm == req->path.base) /* only a normal path (route.h) */
			gw_route_memo_put(w->scratch, cfg, method, norm, (size_t)n, &rr);
	}
	if (!rr.route) {
		if (rr.allowed) {
			char *allow = h2o_mem_alloc_pool(&req->pool, 96);
			size_t alen = gw_route_allow_header(rr.allowed, allow, 96);

			push_header(req, TOKEN_NAME(H2O_TOKEN_ALLOW), "Allow", allow, alen);
			gw_handler_problem(req, rc, GW_PROBLEM_METHOD_NOT_ALLOWED);
		} else {
			gw_handler_problem(req, rc, GW_PROBLEM_NOT_FOUND);
		}
		return 0;
	}
	rc->route = rr.route;
	/* Without a query, a path the memo knows to encode as it is goes upstream as it came
	 * (rc->uri already): nothing to build. */
	if (!(as_is && req->query_at == SIZE_MAX)) {
		rc->norm = norm;
		rc->norm_len = (size_t)n;
	}
	if (rr.route->auth && authorize(req, rc, cfg, rr.route, &kh, &drop))
		return 0;
	if (rc->norm)
		build_uri(req, rc);
	/* Past every limit: the cache answers, or the upstream does (cache.h). */
	gw_cache_start(req, rc, &tc->ups[rr.route->upstream->index], &drop);
	return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	int ret = handle(req);

	cur_req = NULL;
	return ret;
}

void gw_handler_thread_done(void)
{
	/* The thread's shared header values: each request linked its own reference, so
	 * these are the thread's last ones. */
	if (retry_memo.v)
		h2o_mem_release_shared(retry_memo.v);
	if (rl_memo.v)
		h2o_mem_release_shared(rl_memo.v);
	retry_memo.v = NULL;
	rl_memo.v = NULL;
}

bool gw_handler_hold(h2o_req_t *req, void (*fn)(void *), void *arg)
{
	gw_reqctx_t *rc = gw_handler_reqctx(req);
	/* rc is the first member of the request's reqmem (handle()) */
	struct reqmem *rm = (struct reqmem *)rc;

	if (!rc || rm->hold)
		return false;
	rm->hold = fn;
	rm->hold_arg = arg;
	return true;
}

/* ---- logger ---- */

/* What gw_handler_hold() and keep_shared() were given, now that the request is done with. */
static void release_req(gw_reqctx_t *rc)
{
	struct reqmem *rm = (struct reqmem *)rc;

	if (rm->hold) {
		rm->hold(rm->hold_arg);
		rm->hold = NULL;
	}
	for (size_t i = 0; i < sizeof(rm->shared) / sizeof(rm->shared[0]) && rm->shared[i]; i++) {
		h2o_mem_release_shared(rm->shared[i]);
		rm->shared[i] = NULL;
	}
}

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
	gw_worker_t *w = gw_worker_self();
	gw_reqctx_t *rc = gw_handler_reqctx(req);
	int status = req->res.status;
	const gw_config_t *cfg;
	char client[FG_CIDR_STRLEN];
	gw_accesslog_entry_t e;

	if (!w) {
		if (rc)
			release_req(rc);
		return;
	}
	if (!rc) {
		/* Answered by h2o itself before our handler (413, 417, ...). */
		gw_metrics_request(w->metrics, 0, 0, status);
		if (status >= 400)
			gw_metrics_rejection(w->metrics, gw_problem_of_status(status));
		return;
	}
	cfg = rc->tc->config;
	if (rc->quota) /* a debit to give back, maybe */
		gw_credits_finish(req, rc);
	gw_metrics_request(w->metrics, rc->route ? rc->route->id : 0, rc->plan_id, status);
	if (rc->problem)
		gw_metrics_rejection(w->metrics, rc->problem);
	if (rc->problem && rc->have_ip)
		gw_ban_note(cfg, &rc->ip, rc->problem); /* abuse scoring */
	else if (!rc->problem && rc->plan_id && rc->key_id[0])
		gw_topkeys_note(rc->key_id);
	if (cfg->access_log_fd >= 0) {
		if (rc->norm)
			build_uri(req, rc);
		client[0] = '\0';
		if (rc->have_ip)
			gw_clientip_format(&rc->ip.client, client);
		e = (gw_accesslog_entry_t){
			.time = req->processed_at.at,
			.client = client,
			.method = req->method.base,
			.method_len = req->method.len,
			.uri = rc->uri.base,
			.uri_len = rc->uri.len,
			.proto = req->version >= 0x200	 ? "HTTP/2"
				 : req->version == 0x100 ? "HTTP/1.0"
							 : "HTTP/1.1",
			.status = status,
			.bytes = req->bytes_sent,
			.duration_ns = gw_now_ns() - gw_handler_now(rc),
			.route = rc->route ? rc->route->name : "",
			.plan = gw_intern_name(rc->plan_id),
			.key_id = rc->key_id,
			.reason = rc->problem ? gw_problem_info(rc->problem)->slug : NULL,
			.upstream_ns = rc->upstream_ns,
		};
		if (gw_accesslog_append(&w->log, &e))
			gw_accesslog_flush(&w->log, cfg->access_log_fd);
	}
	w->in_flight--;
	gw_metrics_gauge_add(&w->metrics->in_flight, -1);
	release_req(rc);
	gw_worker_release(rc->tc);
}

/* ---- h2o's own errors as problem+json ---- */

struct rewrite {
	h2o_ostream_t super;
	h2o_iovec_t body;
};

static void rewrite_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
			 h2o_send_state_t state)
{
	struct rewrite *r = (struct rewrite *)self;

	if (h2o_send_state_is_in_progress(state)) {
		h2o_ostream_send_next(self, req, NULL, 0, state);
		return;
	}
	h2o_ostream_send_next(self, req, &r->body, r->body.len ? 1 : 0, state);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	gw_reqctx_t *rc;
	gw_worker_t *w = NULL;
	ssize_t i;

	/* Ours (problem, proxied or from the cache) pass as they are; only h2o's plain-text
	 * errors change. The context and the worker are looked up only for an error (ours:
	 * inside on_req()). */
	if (req->res.status < 400 ||
	    ((rc = req == cur_req ? cur_rc : gw_handler_reqctx(req)) &&
	     (rc->problem || rc->upstream_ns >= 0 || rc->from_cache)) ||
	    !(w = gw_worker_self()) || !w->cur ||
	    (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) == -1 ||
	    req->res.headers.entries[i].value.len < 10 ||
	    memcmp(req->res.headers.entries[i].value.base, "text/plain", 10)) {
		h2o_setup_next_ostream(req, slot);
		return;
	}
	{
		enum gw_problem p = gw_problem_of_status(req->res.status);
		const gw_config_t *cfg = w->cur->config;

		slot = gw_handler_problem_body(
			req, slot, i,
			h2o_strdup(&req->pool, cfg->problems[p].body, cfg->problems[p].len));
	}
	h2o_setup_next_ostream(req, slot);
}

h2o_ostream_t **gw_handler_problem_body(h2o_req_t *req, h2o_ostream_t **slot, ssize_t ctype,
					h2o_iovec_t body)
{
	struct rewrite *r = (struct rewrite *)h2o_add_ostream(req, sizeof(*r), slot);

	r->super.do_send = rewrite_send;
	r->body = body;
	req->res.headers.entries[ctype].value = h2o_iovec_init(H2O_STRLIT(GW_PROBLEM_CONTENT_TYPE));
	req->res.content_length = body.len;
	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
		r->body.len = 0;
	return &r->super.next;
}

void gw_handler_register(h2o_pathconf_t *pathconf)
{
	gw_handler_t *h = (gw_handler_t *)h2o_create_handler(pathconf, sizeof(*h));
	h2o_logger_t *l = h2o_create_logger(pathconf, sizeof(*l));
	h2o_filter_t *f = h2o_create_filter(pathconf, sizeof(*f));

	h->super.on_req = on_req;
	l->log_access = log_access;
	f->on_setup_ostream = on_setup_ostream;
}

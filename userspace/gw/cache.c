/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.c - the per-worker response cache (see cache.h).
 *
 * An entry is one malloc'd block: the struct, the key, the response's header fields (as
 * h2o_header_t ready to be appended to a response, names pointing at h2o's tokens where
 * there is one) and the Vary values; the body is a second block. A hit copies the
 * header array (pointers, not bytes) and sends the body from the entry; a reference
 * taken through the request's pool keeps the entry alive until the response is done,
 * whatever eviction or a purge does meanwhile.
 *
 * Pending fills (one per key being fetched) live in their own small table; waiters hang
 * off them. Wake-ups go through the loop's zero timeout, never from inside the leader's
 * own send, so a waiter's response never runs in the middle of another's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "log.h"
#include "gw/cache.h"
#include "gw/cachekey.h"
#include "gw/handler.h"
#include "gw/server.h"

/* Largest body answered in h2o's pull mode (head and body in one TLS record). */
#define PULL_MAX_BODY	16384
/* Purge rules remembered; a worker that fell further behind drops everything. */
#define PURGE_RULES	64
#define PURGE_PATTERN	256
/* Pending-fill table buckets (concurrent fetches are few). */
#define PENDING_BUCKETS 256
/* Initial entry table buckets; the table doubles past one entry per bucket. */
#define TABLE_MIN	1024
/* Vary names one entry honours; a longer Vary is not stored. */
#define VARY_MAX	8

struct entry {
	h2o_linklist_t lru; /* in cache->lru, least recently used first */
	struct entry *next; /* hash chain */
	uint64_t hash;
	char *key;
	size_t key_len;
	uint16_t route;
	int status;
	const char *reason;
	h2o_header_t *headers;
	size_t nheaders;
	h2o_iovec_t body;
	uint64_t stored_ns, fresh_until, swr_until, sie_until; /* monotonic ns */
	uint64_t initial_age;				       /* s, the upstream's Age */
	size_t nvary;
	h2o_iovec_t vary_names[VARY_MAX], vary_values[VARY_MAX]; /* into the block */
	size_t bytes;						 /* accounted */
	size_t refs; /* the table's, + one per response in flight or fill */
	bool linked; /* in the table */
};

struct st_gw_cache_fill_t {
	gw_cache_t *cache;
	gw_cache_fill_t *next; /* pending chain */
	uint64_t hash;
	char *key;
	size_t key_len;
	uint16_t route;
	uint64_t ttl, swr, sie; /* the route's, when the fill began */
	uint64_t purge_seq;
	h2o_linklist_t waiters;
	size_t nwaiters;
	struct entry *stale; /* an expired entry for this key (a reference), or NULL */
	struct entry *e;     /* being built: head taken, body coming; NULL = not storing */
	size_t body_cap;
	size_t hbase;	   /* leader's res.headers before the proxy (stale answers) */
	h2o_req_t *leader; /* while the leader's exchange runs */
};

struct waiter {
	h2o_linklist_t link; /* in fill->waiters */
	h2o_timeout_entry_t timer;
	gw_cache_t *cache;
	gw_cache_fill_t *fill;
	h2o_req_t *req;
	gw_reqctx_t *rc;
	gw_upstream_rt_t *rt;
	gw_proxy_drop_t drop;
	size_t hbase;
	enum { W_WAIT, W_RETRY, W_ALONE, W_PROBLEM, W_STALE } action;
	enum gw_problem problem;
	struct entry *stale; /* W_STALE: a reference */
	bool disposed;
};

struct st_gw_cache_t {
	h2o_context_t *ctx;
	struct entry **table;
	size_t nbuckets, nentries, bytes;
	h2o_linklist_t lru;
	gw_cache_fill_t *pending[PENDING_BUCKETS];
	uint64_t seed;
	uint64_t purge_seq;
	h2o_timeout_t lock_timeout;
	uint64_t lock_ms; /* lock_timeout's duration; 0 = not set up */
	size_t nwaiting;  /* linked to lock_timeout */
	struct {
		uint64_t hit, miss, stale, coalesced, bypass, stores, evictions, purged,
			uncacheable, too_big;
		uint64_t bytes, entries; /* gauges */
	} st;
};

/* ---- purge rules (process-wide) ---- */

static struct {
	pthread_mutex_t lock;
	uint64_t seq; /* atomic; the newest rule's */
	struct {
		uint64_t seq;
		uint16_t route; /* 0 = any */
		char pattern[PURGE_PATTERN];
	} rules[PURGE_RULES];
} purges = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static void gauge(uint64_t *g, uint64_t v)
{
	__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

/* ---- entries ---- */

static void entry_free(struct entry *e)
{
	free(e->body.base);
	free(e);
}

static void entry_unref(struct entry *e)
{
	if (--e->refs == 0)
		entry_free(e);
}

static void table_unlink(gw_cache_t *c, struct entry *e)
{
	struct entry **pp = &c->table[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	h2o_linklist_unlink(&e->lru);
	e->linked = false;
	c->nentries--;
	c->bytes -= e->bytes;
	gauge(&c->st.bytes, c->bytes);
	gauge(&c->st.entries, c->nentries);
	entry_unref(e);
}

static struct entry *table_find(gw_cache_t *c, uint64_t hash, const char *key, size_t len)
{
	for (struct entry *e = c->table[hash & (c->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && e->key_len == len && !memcmp(e->key, key, len))
			return e;
	return NULL;
}

static void table_grow(gw_cache_t *c)
{
	size_t n = c->nbuckets * 2;
	struct entry **t = calloc(n, sizeof(*t));

	if (!t)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry *e = c->table[i], *next; e; e = next) {
			next = e->next;
			e->next = t[e->hash & (n - 1)];
			t[e->hash & (n - 1)] = e;
		}
	}
	free(c->table);
	c->table = t;
	c->nbuckets = n;
}

static void evict_to(gw_cache_t *c, size_t budget)
{
	while (c->bytes > budget && !h2o_linklist_is_empty(&c->lru)) {
		table_unlink(c, H2O_STRUCT_FROM_MEMBER(struct entry, lru, c->lru.next));
		count(&c->st.evictions, 1);
	}
}

static void table_insert(gw_cache_t *c, struct entry *e, size_t budget)
{
	struct entry *old = table_find(c, e->hash, e->key, e->key_len);

	if (old)
		table_unlink(c, old);
	evict_to(c, budget > e->bytes ? budget - e->bytes : 0);
	if (c->nentries >= c->nbuckets)
		table_grow(c);
	e->next = c->table[e->hash & (c->nbuckets - 1)];
	c->table[e->hash & (c->nbuckets - 1)] = e;
	h2o_linklist_insert(&c->lru, &e->lru);
	e->linked = true;
	e->refs++;
	c->nentries++;
	c->bytes += e->bytes;
	gauge(&c->st.bytes, c->bytes);
	gauge(&c->st.entries, c->nentries);
	count(&c->st.stores, 1);
}

/* ---- purges ---- */

int64_t gw_cache_purge(const char *route, const char *pattern)
{
	uint16_t id = route ? gw_intern_find(route) : 0;
	uint64_t seq;
	size_t slot;

	if (pattern && strlen(pattern) >= PURGE_PATTERN)
		return -EINVAL;
	pthread_mutex_lock(&purges.lock);
	seq = purges.seq + 1;
	slot = seq % PURGE_RULES;
	purges.rules[slot].seq = seq;
	/* A route never interned has no entries: a rule for id 0xffff matches none. */
	purges.rules[slot].route = route ? (id ? id : 0xffff) : 0;
	snprintf(purges.rules[slot].pattern, PURGE_PATTERN, "%s", pattern ? pattern : "*");
	__atomic_store_n(&purges.seq, seq, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&purges.lock);
	return (int64_t)seq;
}

/* The key's path and query: between "GET " and the first newline. */
static bool rule_matches(const char *pattern, uint16_t route, const struct entry *e)
{
	const char *nl = memchr(e->key, '\n', e->key_len);
	size_t len = nl ? (size_t)(nl - e->key) - 4 : e->key_len - 4;

	return (!route || route == e->route) && gw_cache_glob(pattern, e->key + 4, len);
}

static void apply_purges(gw_cache_t *c, uint64_t upto)
{
	pthread_mutex_lock(&purges.lock);
	if (upto - c->purge_seq > PURGE_RULES - 1) {
		/* Too far behind to know what was asked: everything goes. */
		for (size_t i = 0; i < c->nbuckets; i++)
			while (c->table[i]) {
				table_unlink(c, c->table[i]);
				count(&c->st.purged, 1);
			}
	} else {
		for (uint64_t s = c->purge_seq + 1; s <= upto; s++) {
			const char *pat = purges.rules[s % PURGE_RULES].pattern;
			uint16_t route = purges.rules[s % PURGE_RULES].route;

			for (size_t i = 0; i < c->nbuckets; i++) {
				for (struct entry *e = c->table[i], *next; e; e = next) {
					next = e->next;
					if (rule_matches(pat, route, e)) {
						table_unlink(c, e);
						count(&c->st.purged, 1);
					}
				}
			}
		}
	}
	pthread_mutex_unlock(&purges.lock);
	c->purge_seq = upto;
}

/* ---- responses from an entry ---- */

static h2o_iovec_t hdr_x_cache = { H2O_STRLIT("x-cache") };

static void push_header(h2o_req_t *req, h2o_iovec_t *name, const char *orig, const char *v,
			size_t vlen)
{
	h2o_headers_t *hs = &req->res.headers;
	h2o_header_t *slot;

	h2o_vector_reserve(&req->pool, hs, hs->size + 1);
	slot = hs->entries + hs->size++;
	slot->name = name;
	slot->orig_name = orig;
	slot->value = h2o_iovec_init(v, vlen);
}

static void push_x_cache(h2o_req_t *req, const char *v)
{
	push_header(req, &hdr_x_cache, "X-Cache", v, strlen(v));
}

struct ref {
	struct entry *e;
};

static void on_ref_dispose(void *arg)
{
	entry_unref(((struct ref *)arg)->e);
}

struct pull {
	h2o_generator_t super;
	h2o_iovec_t body; /* what is left of it */
};

static h2o_send_state_t do_pull(h2o_generator_t *gen, h2o_req_t *req, h2o_iovec_t *buf)
{
	struct pull *p = (struct pull *)gen;
	size_t n = p->body.len < buf->len ? p->body.len : buf->len;

	memcpy(buf->base, p->body.base, n);
	buf->len = n;
	p->body.base += n;
	p->body.len -= n;
	return p->body.len ? H2O_SEND_STATE_IN_PROGRESS : H2O_SEND_STATE_FINAL;
}

static uint64_t age_of(const struct entry *e, uint64_t now)
{
	return e->initial_age + (now > e->stored_ns ? (now - e->stored_ns) / 1000000000ULL : 0);
}

/* Answer req from e with X-Cache: label; its headers from index hbase on are dropped
 * first (what an upstream attempt may have added). */
static void serve(h2o_req_t *req, struct entry *e, const char *label, size_t hbase, uint64_t now)
{
	static h2o_generator_t generator = { NULL, NULL };
	struct ref *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_ref_dispose);
	h2o_headers_t *hs = &req->res.headers;
	char *age = h2o_mem_alloc_pool(&req->pool, 24);
	bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));

	r->e = e;
	e->refs++;
	if (hs->size > hbase)
		hs->size = hbase;
	h2o_vector_reserve(&req->pool, hs, hs->size + e->nheaders + 2);
	memcpy(hs->entries + hs->size, e->headers, e->nheaders * sizeof(h2o_header_t));
	hs->size += e->nheaders;
	push_x_cache(req, label);
	push_header(req, (h2o_iovec_t *)&H2O_TOKEN_AGE->buf, "Age", age,
		    (size_t)sprintf(age, "%llu", (unsigned long long)age_of(e, now)));
	req->res.status = e->status;
	req->res.reason = e->reason;
	req->res.content_length = e->body.len;
	if (!head && e->body.len && e->body.len <= PULL_MAX_BODY && req->version < 0x200) {
		struct pull *p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));

		*p = (struct pull){ .body = e->body };
		h2o_start_response(req, &p->super);
		if (req->_ostr_top->start_pull) {
			req->_ostr_top->start_pull(req->_ostr_top, do_pull);
			return;
		}
		h2o_send(req, &e->body, 1, H2O_SEND_STATE_FINAL);
		return;
	}
	h2o_start_response(req, &generator);
	if (head || !e->body.len)
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &e->body, 1, H2O_SEND_STATE_FINAL);
}

/* The request's value of header `name` (several fields joined by ", "), into the pool. */
static h2o_iovec_t req_header(h2o_req_t *req, const char *name, size_t len)
{
	h2o_iovec_t out = { NULL, 0 };
	ssize_t i = -1;

	while ((i = h2o_find_header_by_str(&req->headers, name, len, i)) != -1) {
		h2o_iovec_t v = req->headers.entries[i].value;

		if (!out.base) {
			out = v;
		} else {
			char *p = h2o_mem_alloc_pool(&req->pool, out.len + 2 + v.len);

			memcpy(p, out.base, out.len);
			memcpy(p + out.len, ", ", 2);
			memcpy(p + out.len + 2, v.base, v.len);
			out = h2o_iovec_init(p, out.len + 2 + v.len);
		}
	}
	return out;
}

static bool vary_matches(h2o_req_t *req, const struct entry *e)
{
	for (size_t i = 0; i < e->nvary; i++) {
		h2o_iovec_t v = req_header(req, e->vary_names[i].base, e->vary_names[i].len);

		if (v.len != e->vary_values[i].len ||
		    (v.len && memcmp(v.base, e->vary_values[i].base, v.len)))
			return false;
		/* absent and empty differ */
		if (!v.base != !e->vary_values[i].base)
			return false;
	}
	return true;
}

/* ---- fills and waiters ---- */

static gw_cache_fill_t **pending_slot(gw_cache_t *c, uint64_t hash, const char *key, size_t len)
{
	gw_cache_fill_t **pp = &c->pending[hash % PENDING_BUCKETS];

	while (*pp &&
	       !((*pp)->hash == hash && (*pp)->key_len == len && !memcmp((*pp)->key, key, len)))
		pp = &(*pp)->next;
	return pp;
}

static void fill_unlink(gw_cache_fill_t *f)
{
	gw_cache_fill_t **pp = pending_slot(f->cache, f->hash, f->key, f->key_len);

	if (*pp == f)
		*pp = f->next;
}

static void fill_free(gw_cache_fill_t *f)
{
	if (f->e)
		entry_free(f->e);
	if (f->stale)
		entry_unref(f->stale);
	free(f->key);
	free(f);
}

static void on_wake(h2o_timeout_entry_t *t);
static void on_lock_timeout(h2o_timeout_entry_t *t);
static void start(gw_cache_t *c, h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		  const gw_proxy_drop_t *drop, bool alone);

/* Take w off its fill and the lock timer; its action runs on the next loop turn. */
static void wake(struct waiter *w, int action)
{
	gw_cache_t *c = w->cache;

	h2o_linklist_unlink(&w->link);
	w->fill->nwaiters--;
	w->fill = NULL;
	if (h2o_timeout_is_linked(&w->timer)) {
		h2o_timeout_unlink(&w->timer);
		c->nwaiting--;
	}
	w->action = action;
	w->timer.cb = on_wake;
	h2o_timeout_link(c->ctx->loop, &c->ctx->zero_timeout, &w->timer);
}

static void wake_all(gw_cache_fill_t *f, int action, enum gw_problem p, struct entry *stale)
{
	while (!h2o_linklist_is_empty(&f->waiters)) {
		struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, f->waiters.next);

		w->problem = p;
		if (action == W_STALE) {
			w->stale = stale;
			stale->refs++;
		}
		wake(w, action);
	}
}

static void on_wake(h2o_timeout_entry_t *t)
{
	struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, timer, t);
	gw_cache_t *c = w->cache;
	struct entry *stale = w->stale;

	w->stale = NULL;
	if (w->disposed) {
		if (stale)
			entry_unref(stale);
		return;
	}
	switch (w->action) {
	case W_STALE:
		count(&c->st.stale, 1);
		serve(w->req, stale, "STALE", w->hbase, gw_now_ns());
		entry_unref(stale);
		return;
	case W_PROBLEM:
		gw_handler_problem(w->req, w->rc, w->problem);
		return;
	case W_ALONE:
	case W_RETRY:
		start(c, w->req, w->rc, w->rt, &w->drop, w->action == W_ALONE);
		return;
	default:
		return;
	}
}

static void on_lock_timeout(h2o_timeout_entry_t *t)
{
	struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, timer, t);

	/* h2o unlinked the timer before calling: the leader is slow, this one asks the
	 * upstream itself */
	w->cache->nwaiting--;
	wake(w, W_ALONE);
}

static void on_waiter_dispose(void *arg)
{
	struct waiter *w = arg;

	/* The request went away while it waited (HTTP/2 reset, shutdown). */
	w->disposed = true;
	if (w->fill) {
		h2o_linklist_unlink(&w->link);
		w->fill->nwaiters--;
		w->fill = NULL;
	}
	if (h2o_timeout_is_linked(&w->timer)) {
		if (w->timer.cb == on_lock_timeout)
			w->cache->nwaiting--;
		h2o_timeout_unlink(&w->timer);
	}
	if (w->stale) {
		entry_unref(w->stale);
		w->stale = NULL;
	}
}

static void set_lock_timeout(gw_cache_t *c, uint64_t ms)
{
	if (c->lock_ms == ms)
		return;
	/* A reload changed it: takes effect once nobody waits on the old one. */
	if (c->lock_ms && c->nwaiting)
		return;
	if (c->lock_ms)
		h2o_timeout_dispose(c->ctx->loop, &c->lock_timeout);
	h2o_timeout_init(c->ctx->loop, &c->lock_timeout, ms);
	c->lock_ms = ms;
}

static void wait_on(gw_cache_t *c, gw_cache_fill_t *f, h2o_req_t *req, gw_reqctx_t *rc,
		    gw_upstream_rt_t *rt, const gw_proxy_drop_t *drop)
{
	struct waiter *w = h2o_mem_alloc_shared(&req->pool, sizeof(*w), on_waiter_dispose);

	memset(w, 0, sizeof(*w));
	w->cache = c;
	w->fill = f;
	w->req = req;
	w->rc = rc;
	w->rt = rt;
	w->drop = *drop;
	w->hbase = req->res.headers.size;
	w->timer.cb = on_lock_timeout;
	h2o_linklist_insert(&f->waiters, &w->link);
	f->nwaiters++;
	h2o_timeout_link(c->ctx->loop, &c->lock_timeout, &w->timer);
	c->nwaiting++;
	count(&c->st.coalesced, 1);
}

/* Send req upstream, with fill f (the leader) or without (NULL). */
static void go_upstream(gw_cache_fill_t *f, h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
			const gw_proxy_drop_t *drop)
{
	if (f) {
		f->hbase = req->res.headers.size;
		f->leader = req;
	}
	push_x_cache(req, "MISS");
	gw_proxy_start_fill(req, rc, rt, drop, f);
}

/* The fill is over: its waiters retry (find the new entry, or lead the next fetch), go
 * upstream alone, or share the leader's failure. */
static void on_fill_end(gw_cache_fill_t *f, bool retry, bool failed, enum gw_problem p)
{
	f->leader = NULL;
	fill_unlink(f);
	if (failed) {
		if (f->stale && gw_now_ns() < f->stale->sie_until)
			wake_all(f, W_STALE, p, f->stale);
		else
			wake_all(f, W_PROBLEM, p, NULL);
	} else {
		wake_all(f, retry ? W_RETRY : W_ALONE, p, NULL);
	}
	fill_free(f);
}

/* ---- the request path ---- */

static void start(gw_cache_t *c, h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		  const gw_proxy_drop_t *drop, bool alone)
{
	const gw_config_t *cfg = rc->tc->config;
	const gw_route_t *route = rc->route;
	gw_cachekey_header_t kh[GW_CACHE_KEY_HEADERS_MAX];
	uint64_t now = gw_now_ns(), seq, hash;
	gw_cache_fill_t **slot, *f;
	struct entry *e;
	char *key;
	ssize_t klen;

	if (alone) {
		count(&c->st.miss, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
	if (__builtin_expect((seq = __atomic_load_n(&purges.seq, __ATOMIC_ACQUIRE)) != c->purge_seq,
			     0))
		apply_purges(c, seq);
	for (size_t i = 0; i < route->cache.nheaders; i++) {
		h2o_iovec_t v =
			req_header(req, route->cache.headers[i], route->cache.header_lens[i]);

		kh[i] = (gw_cachekey_header_t){ route->cache.headers[i],
						route->cache.header_lens[i], v.base, v.len };
	}
	key = h2o_mem_alloc_pool(&req->pool,
				 gw_cachekey_size(rc->uri.len, kh, route->cache.nheaders));
	klen = gw_cachekey_build(rc->uri.base, rc->uri.len, kh, route->cache.nheaders, key);
	if (klen < 0) {
		count(&c->st.bypass, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
	hash = gw_cachekey_hash(key, (size_t)klen, c->seed);
	e = table_find(c, hash, key, (size_t)klen);
	if (e && !vary_matches(req, e))
		e = NULL; /* another variant: a miss (the fill replaces it) */
	if (e && now < e->fresh_until) {
		/* the hit: most recently used last */
		h2o_linklist_unlink(&e->lru);
		h2o_linklist_insert(&c->lru, &e->lru);
		count(&c->st.hit, 1);
		serve(req, e, "HIT", req->res.headers.size, now);
		return;
	}
	if (e && now >= e->swr_until && now >= e->sie_until) {
		table_unlink(c, e); /* past every window */
		e = NULL;
	}
	slot = pending_slot(c, hash, key, (size_t)klen);
	if ((f = *slot)) {
		if (e && now < e->swr_until) {
			count(&c->st.stale, 1);
			serve(req, e, "STALE", req->res.headers.size, now);
			return;
		}
		if (f->nwaiters < cfg->cache.max_waiters) {
			set_lock_timeout(c, cfg->cache.lock_timeout_ms);
			wait_on(c, f, req, rc, rt, drop);
			return;
		}
		count(&c->st.miss, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
	/* the leader */
	if (!(f = calloc(1, sizeof(*f))) || !(f->key = malloc((size_t)klen))) {
		free(f);
		count(&c->st.miss, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
	memcpy(f->key, key, (size_t)klen);
	f->key_len = (size_t)klen;
	f->hash = hash;
	f->cache = c;
	f->route = route->id;
	f->ttl = route->cache_ttl_s;
	f->swr = route->cache.swr_s;
	f->sie = route->cache.sie_s;
	f->purge_seq = c->purge_seq;
	h2o_linklist_init_anchor(&f->waiters);
	if (e) {
		f->stale = e;
		e->refs++;
	}
	*slot = f;
	count(&c->st.miss, 1);
	go_upstream(f, req, rc, rt, drop);
}

void gw_cache_start(h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		    const gw_proxy_drop_t *drop)
{
	gw_cache_t *c = rc->tc->worker->cache;
	enum gw_method m = gw_method_of(req->method.base, req->method.len);

	if (!c || !rc->route->cache_ttl_s || !rc->tc->config->cache.max_bytes ||
	    (m != GW_METHOD_GET && m != GW_METHOD_HEAD)) {
		gw_proxy_start(req, rc, rt, drop);
		return;
	}
	/* A HEAD is answered from a GET's entry; its own answer (no body) is not stored. */
	start(c, req, rc, rt, drop, false);
}

/* ---- the leader's exchange ---- */

static bool cacheable_status(int s)
{
	return s == 200 || s == 203 || s == 300 || s == 301 || s == 308;
}

bool gw_cache_fill_head(gw_cache_fill_t *f, h2o_req_t *req, size_t first)
{
	gw_cache_t *c = f->cache;
	const gw_config_t *cfg = gw_worker_self()->cur->config;
	h2o_headers_t *hs = &req->res.headers;
	gw_cache_control_t cc = { 0 };
	char vary[VARY_MAX][64];
	int nvary = 0;
	uint64_t ttl, initial_age = 0, now = gw_now_ns();
	size_t strings = 0, nh = 0, nnames = 0;
	struct entry *e;
	char *p;
	bool store = cacheable_status(req->res.status) &&
		     !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));

	/* stale-if-error for a 5xx answer */
	if (req->res.status >= 500 && req->res.status <= 504 && req->res.status != 501 &&
	    f->stale && now < f->stale->sie_until) {
		count(&c->st.stale, 1);
		serve(req, f->stale, "STALE", f->hbase, now);
		/* the waiters get the stale entry too */
		on_fill_end(f, false, true, GW_PROBLEM_UPSTREAM_ERROR);
		return true;
	}
	for (size_t i = first; i < hs->size && store; i++) {
		const h2o_header_t *h = &hs->entries[i];

		if (h->name == &H2O_TOKEN_CACHE_CONTROL->buf) {
			gw_cache_control_parse(h->value.base, h->value.len, &cc);
		} else if (h->name == &H2O_TOKEN_SET_COOKIE->buf) {
			store = false; /* one client's state: never shared */
		} else if (h->name == &H2O_TOKEN_VARY->buf) {
			int n = gw_cache_list_names(h->value.base, h->value.len, vary + nvary,
						    (size_t)(VARY_MAX - nvary));

			if (n < 0 || gw_cache_vary_star(h->value.base, h->value.len))
				store = false;
			else
				nvary += n;
		} else if (h->name == &H2O_TOKEN_AGE->buf) {
			uint64_t a = 0;

			for (size_t k = 0; k < h->value.len && h->value.base[k] >= '0' &&
					   h->value.base[k] <= '9' && a < 1000000000ULL;
			     k++)
				a = a * 10 + (uint64_t)(h->value.base[k] - '0');
			initial_age = a;
			continue;
		}
		nh++;
		strings += h->value.len + (h->orig_name ? h->name->len : 0);
		if (!h2o_iovec_is_token(h->name)) {
			strings += h->name->len;
			nnames++;
		}
	}
	ttl = gw_cache_control_ttl(&cc, f->ttl);
	if (!store || !ttl || ttl <= initial_age) {
		count(&c->st.uncacheable, 1);
		return false;
	}
	if (req->res.content_length != SIZE_MAX &&
	    req->res.content_length > cfg->cache.max_object_bytes) {
		count(&c->st.too_big, 1);
		return false;
	}
	for (int i = 0; i < nvary; i++) {
		h2o_iovec_t v = req_header(req, vary[i], strlen(vary[i]));

		strings += strlen(vary[i]) + v.len + 1;
	}
	strings += f->key_len + strlen(req->res.reason ? req->res.reason : "") + 1;
	e = calloc(1,
		   sizeof(*e) + nh * sizeof(h2o_header_t) + nnames * sizeof(h2o_iovec_t) + strings);
	if (!e)
		return false;
	e->headers = (h2o_header_t *)(e + 1);
	{
		h2o_iovec_t *names = (h2o_iovec_t *)(e->headers + nh);

		p = (char *)(names + nnames);
		for (size_t i = first; i < hs->size; i++) {
			const h2o_header_t *h = &hs->entries[i];
			h2o_header_t *o;

			if (h->name == &H2O_TOKEN_AGE->buf)
				continue;
			o = &e->headers[e->nheaders++];
			if (h2o_iovec_is_token(h->name)) {
				o->name = h->name;
			} else {
				memcpy(p, h->name->base, h->name->len);
				*names = h2o_iovec_init(p, h->name->len);
				o->name = names++;
				p += h->name->len;
			}
			o->orig_name = NULL;
			if (h->orig_name) {
				memcpy(p, h->orig_name, h->name->len);
				o->orig_name = p;
				p += h->name->len;
			}
			memcpy(p, h->value.base, h->value.len);
			o->value = h2o_iovec_init(p, h->value.len);
			p += h->value.len;
		}
	}
	for (int i = 0; i < nvary; i++) {
		size_t nl = strlen(vary[i]);
		h2o_iovec_t v = req_header(req, vary[i], nl);

		memcpy(p, vary[i], nl);
		e->vary_names[i] = h2o_iovec_init(p, nl);
		p += nl;
		if (v.base) {
			memcpy(p, v.base, v.len);
			e->vary_values[i] = h2o_iovec_init(p, v.len);
		} else {
			e->vary_values[i] = h2o_iovec_init(NULL, 0);
		}
		p += v.len + 1;
	}
	e->nvary = (size_t)nvary;
	memcpy(p, f->key, f->key_len);
	e->key = p;
	e->key_len = f->key_len;
	p += f->key_len;
	strcpy(p, req->res.reason ? req->res.reason : "");
	e->reason = p;
	e->hash = f->hash;
	e->route = f->route;
	e->status = req->res.status;
	e->initial_age = initial_age;
	e->bytes = sizeof(*e) + nh * sizeof(h2o_header_t) + nnames * sizeof(h2o_iovec_t) + strings;
	{
		uint64_t swr = cc.has_swr ? cc.swr : f->swr, sie = cc.has_sie ? cc.sie : f->sie;

		e->stored_ns = now;
		e->fresh_until = now + (ttl - initial_age) * 1000000000ULL;
		e->swr_until = e->fresh_until + swr * 1000000000ULL;
		e->sie_until = e->fresh_until + sie * 1000000000ULL;
	}
	if (req->res.content_length != SIZE_MAX && req->res.content_length &&
	    !(e->body.base = malloc(req->res.content_length))) {
		free(e);
		return false;
	}
	f->body_cap = req->res.content_length != SIZE_MAX ? req->res.content_length : 0;
	f->e = e;
	return false;
}

void gw_cache_fill_body(gw_cache_fill_t *f, const void *data, size_t len)
{
	struct entry *e = f->e;
	size_t max;

	if (!e || !len)
		return;
	max = gw_worker_self()->cur->config->cache.max_object_bytes;
	if (e->body.len + len > max) {
		count(&f->cache->st.too_big, 1);
		entry_free(e);
		f->e = NULL;
		return;
	}
	if (e->body.len + len > f->body_cap) {
		size_t cap = (e->body.len + len) * 2;
		char *n;

		if (cap > max)
			cap = max;
		if (!(n = realloc(e->body.base, cap))) {
			entry_free(e);
			f->e = NULL;
			return;
		}
		e->body.base = n;
		f->body_cap = cap;
	}
	memcpy(e->body.base + e->body.len, data, len);
	e->body.len += len;
	e->bytes += len;
}

void gw_cache_fill_end(gw_cache_fill_t *f, bool complete)
{
	gw_cache_t *c = f->cache;
	struct entry *e = f->e;
	bool stored = false;

	if (!complete) {
		/* The leader's client went away, or the body broke: the waiters start over;
		 * the first to run leads the next fetch, the others wait for it. */
		on_fill_end(f, true, false, GW_PROBLEM_NONE);
		return;
	}
	if (e && f->purge_seq == __atomic_load_n(&purges.seq, __ATOMIC_ACQUIRE) &&
	    gw_worker_self()->cur->config->cache.max_bytes) {
		f->e = NULL;
		e->refs = 0;
		table_insert(c, e, gw_worker_self()->cur->config->cache.max_bytes);
		stored = true;
	}
	on_fill_end(f, stored, false, GW_PROBLEM_NONE);
}

bool gw_cache_fill_failed(gw_cache_fill_t *f, h2o_req_t *req, enum gw_problem p)
{
	struct entry *s = f->stale;
	uint64_t now = gw_now_ns();
	bool served = false;

	if (s && now < s->sie_until) {
		count(&f->cache->st.stale, 1);
		serve(req, s, "STALE", f->hbase, now);
		served = true;
	}
	on_fill_end(f, false, true, p);
	return served;
}

/* ---- life ---- */

gw_cache_t *gw_cache_new(h2o_context_t *ctx)
{
	gw_cache_t *c = calloc(1, sizeof(*c));

	if (!c || !(c->table = calloc(TABLE_MIN, sizeof(*c->table)))) {
		free(c);
		return NULL;
	}
	c->nbuckets = TABLE_MIN;
	c->ctx = ctx;
	h2o_linklist_init_anchor(&c->lru);
	if (getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
		c->seed = (uint64_t)(uintptr_t)c ^ gw_now_ns();
	c->purge_seq = __atomic_load_n(&purges.seq, __ATOMIC_ACQUIRE);
	return c;
}

void gw_cache_free(gw_cache_t *c)
{
	if (!c)
		return;
	evict_to(c, 0);
	if (c->lock_ms)
		h2o_timeout_dispose(c->ctx->loop, &c->lock_timeout);
	free(c->table);
	free(c);
}

/* ---- metrics ---- */

int gw_cache_render(gw_cache_t *const *cs, size_t n, char **buf, size_t *len)
{
	uint64_t hit = 0, miss = 0, stale = 0, coal = 0, bypass = 0, stores = 0, ev = 0, purged = 0,
		 unc = 0, big = 0, bytes = 0, entries = 0;
	char *out, *p;
	int k;

	for (size_t i = 0; i < n; i++) {
		const gw_cache_t *c = cs[i];

		if (!c)
			continue;
#define L(f) __atomic_load_n(&c->st.f, __ATOMIC_RELAXED)
		hit += L(hit);
		miss += L(miss);
		stale += L(stale);
		coal += L(coalesced);
		bypass += L(bypass);
		stores += L(stores);
		ev += L(evictions);
		purged += L(purged);
		unc += L(uncacheable);
		big += L(too_big);
		bytes += L(bytes);
		entries += L(entries);
#undef L
	}
	if (!(out = realloc(*buf, *len + 2048)))
		return -ENOMEM;
	p = out + *len;
	k = snprintf(p, 2048,
		     "# HELP floodgate_cache_requests_total Cacheable requests by outcome.\n"
		     "# TYPE floodgate_cache_requests_total counter\n"
		     "floodgate_cache_requests_total{result=\"hit\"} %llu\n"
		     "floodgate_cache_requests_total{result=\"miss\"} %llu\n"
		     "floodgate_cache_requests_total{result=\"stale\"} %llu\n"
		     "floodgate_cache_requests_total{result=\"coalesced\"} %llu\n"
		     "floodgate_cache_requests_total{result=\"bypass\"} %llu\n"
		     "# HELP floodgate_cache_stores_total Responses stored.\n"
		     "# TYPE floodgate_cache_stores_total counter\n"
		     "floodgate_cache_stores_total %llu\n"
		     "# HELP floodgate_cache_not_stored_total Responses not stored, by reason.\n"
		     "# TYPE floodgate_cache_not_stored_total counter\n"
		     "floodgate_cache_not_stored_total{reason=\"uncacheable\"} %llu\n"
		     "floodgate_cache_not_stored_total{reason=\"too_big\"} %llu\n"
		     "# HELP floodgate_cache_evictions_total Entries evicted for the budget.\n"
		     "# TYPE floodgate_cache_evictions_total counter\n"
		     "floodgate_cache_evictions_total %llu\n"
		     "# HELP floodgate_cache_purged_total Entries removed by purges.\n"
		     "# TYPE floodgate_cache_purged_total counter\n"
		     "floodgate_cache_purged_total %llu\n"
		     "# HELP floodgate_cache_bytes Bytes held, all workers.\n"
		     "# TYPE floodgate_cache_bytes gauge\n"
		     "floodgate_cache_bytes %llu\n"
		     "# HELP floodgate_cache_entries Entries held, all workers.\n"
		     "# TYPE floodgate_cache_entries gauge\n"
		     "floodgate_cache_entries %llu\n",
		     (unsigned long long)hit, (unsigned long long)miss, (unsigned long long)stale,
		     (unsigned long long)coal, (unsigned long long)bypass,
		     (unsigned long long)stores, (unsigned long long)unc, (unsigned long long)big,
		     (unsigned long long)ev, (unsigned long long)purged, (unsigned long long)bytes,
		     (unsigned long long)entries);
	*buf = out;
	*len += (size_t)(k > 0 && k < 2048 ? k : 0);
	return 0;
}

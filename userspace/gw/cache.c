/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.c - the response cache (see cache.h).
 *
 * One store for the process, split in STRIPES by the key's hash, each stripe with its own
 * mutex, hash table, LRU list, byte budget (max_bytes / STRIPES) and table of fetches in
 * progress. A hit holds its stripe's lock for a lookup and a reference count increment;
 * the response is then sent from the entry without the lock. An entry is one malloc'd
 * block: the struct, the key, the response's header fields (as h2o_header_t ready to be
 * appended to a response, names pointing at h2o's tokens where there is one) and the Vary
 * values; the body is a second block. A reference taken through the request's pool keeps
 * an entry alive until its response is done, whatever eviction or a purge does meanwhile.
 *
 * A fetch in progress (a fill) is known to its stripe; requests of any worker thread for
 * its key wait on it. Waiters belong to their own worker: they are woken through that
 * worker's h2o message queue, never from the thread or the call stack of the leader, and
 * their lock timeout runs on their own loop. A waiter is reference-counted (its request,
 * and its place in a fill or in a message in flight) so that a request going away while
 * another thread wakes it is safe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "log.h"
#include "gw/bgfetch.h"
#include "gw/cache.h"
#include "gw/cachekey.h"
#include "gw/cacherec.h"
#include "gw/cacheshared.h"
#include "gw/cluster.h"
#include "gw/handler.h"
#include "gw/lock.h"
#include "gw/ratelimit.h"
#include "gw/server.h"

/* Largest body answered in h2o's pull mode (head and body in one TLS record). */
#define PULL_MAX_BODY	16384
/* Stripes of the store (a power of two); the budget is split evenly between them. */
#define STRIPES		GW_CACHE_STRIPES
/* Pending-fill buckets per stripe (concurrent fetches are few). */
#define PENDING_BUCKETS 64
/* Initial entry table buckets per stripe; a table doubles past one entry per bucket. */
#define TABLE_MIN	256
/* Vary names one entry honours; a longer Vary is not stored. */
#define VARY_MAX	8
/* start()'s modes: straight upstream without a fill; do not ask the shared layer. */
#define MODE_ALONE	1u
#define MODE_LOCAL	2u

struct entry {
	h2o_linklist_t lru; /* in its stripe's lru, least recently used first */
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
	size_t refs; /* atomic: the table's, + one per response in flight or fill */
	bool linked; /* in the table (stripe lock) */
};

struct stripe {
	gw_lock_t lock;
	struct entry **table;
	size_t nbuckets, nentries, bytes; /* nentries, bytes: also read atomically */
	h2o_linklist_t lru;
	gw_cache_fill_t *pending[PENDING_BUCKETS];
};

struct st_gw_cache_fill_t {
	gw_cache_t *cache;     /* the leader's worker */
	struct stripe *stripe; /* of the key */
	gw_cache_fill_t *next; /* pending chain (stripe lock) */
	uint64_t hash;
	char *key;
	size_t key_len;
	uint16_t route;
	uint64_t ttl, swr, sie; /* the route's, when the fill began */
	uint64_t purge_seq;
	h2o_linklist_t waiters; /* stripe lock */
	size_t nwaiters;	/* stripe lock */
	struct entry *stale;	/* an expired entry for this key (a reference), or NULL */
	struct entry *e;	/* being built: head taken, body coming; NULL = not storing */
	size_t body_cap;
	size_t hbase; /* leader's res.headers before the proxy (stale answers) */
	/* A background refresh (stale-while-revalidate) has no client request: */
	bool bg;
	bool from_shared; /* e came from the shared layer: not written back */
	enum refresh_why { R_NONE, R_FAILED, R_PURGED, R_NOT_STORED } why;
	gw_bgfetch_t *fetch;	/* its upstream exchange, until it ends */
	h2o_linklist_t bg_link; /* in cache->refreshing while fetch runs */
	h2o_mem_pool_t pool;	/* the copied request fields (Vary values) */
	h2o_headers_t reqh;
};

enum waiter_action { W_WAIT, W_RETRY, W_ALONE, W_PROBLEM, W_STALE };

struct waiter {
	h2o_linklist_t link;	       /* in fill->waiters (stripe lock), then a wake list */
	h2o_multithread_message_t msg; /* to its worker */
	h2o_timeout_entry_t timer;     /* the lock timeout (own worker) */
	gw_cache_t *cache;	       /* its worker's */
	struct stripe *stripe;
	gw_cache_fill_t *fill; /* while it waits (stripe lock) */
	h2o_req_t *req;
	gw_reqctx_t *rc;
	gw_upstream_rt_t *rt;
	gw_proxy_drop_t drop;
	size_t hbase;
	enum waiter_action action;
	enum gw_problem problem;
	struct entry *stale; /* W_STALE: a reference */
	int refs;	     /* atomic: the request's, + the fill's or a message's */
	bool disposed;	     /* the request is gone (own worker) */
};

struct st_gw_cache_t {
	h2o_context_t *ctx;
	h2o_multithread_receiver_t wakeups;
	h2o_timeout_t lock_timeout;
	uint64_t lock_ms;	   /* lock_timeout's duration; 0 = not set up */
	size_t nwaiting;	   /* linked to lock_timeout */
	h2o_linklist_t refreshing; /* background refreshes of this worker (fills) */
	h2o_timeout_entry_t poll;  /* the other nodes' purges (one worker per node) */
	int64_t purge_applied;	   /* the last announced purge applied here; -1: none read */
	bool poll_inflight;
	struct {
		uint64_t hit, miss, stale, coalesced, bypass, stores, uncacheable, too_big;
		uint64_t refresh_started, refresh_ok, refresh_failed, refresh_cancelled;
		uint64_t sh_hit, sh_miss, sh_error, sh_stored, sh_store_error, sh_too_big;
	} st;
};

static struct {
	pthread_once_t once;
	int init_err;
	uint64_t seed;
	uint64_t purge_seq;	    /* atomic: bumped by every purge */
	uint64_t evictions, purged; /* atomic */
	uint64_t shared_purged;	    /* atomic: entries deleted from the shared layer */
	struct stripe s[STRIPES];
} store = { .once = PTHREAD_ONCE_INIT };

static void count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static void store_init(void)
{
	if (getrandom(&store.seed, sizeof(store.seed), 0) != sizeof(store.seed))
		store.seed = (uint64_t)(uintptr_t)&store ^ gw_now_ns();
	for (size_t i = 0; i < STRIPES; i++) {
		struct stripe *s = &store.s[i];

		s->lock = (gw_lock_t)GW_LOCK_INIT;
		h2o_linklist_init_anchor(&s->lru);
		s->nbuckets = TABLE_MIN;
		if (!(s->table = calloc(TABLE_MIN, sizeof(*s->table))))
			store.init_err = -ENOMEM;
	}
}

static struct stripe *stripe_of(uint64_t hash)
{
	return &store.s[hash >> 60 & (STRIPES - 1)];
}

/* ---- entries (stripe lock held where they are linked) ---- */

static void entry_free(struct entry *e)
{
	free(e->body.base);
	free(e);
}

static void entry_ref(struct entry *e)
{
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

static void entry_unref(struct entry *e)
{
	if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		entry_free(e);
}

static void stripe_gauges(struct stripe *s, size_t nentries, size_t bytes)
{
	__atomic_store_n(&s->nentries, nentries, __ATOMIC_RELAXED);
	__atomic_store_n(&s->bytes, bytes, __ATOMIC_RELAXED);
}

static void table_unlink(struct stripe *s, struct entry *e)
{
	struct entry **pp = &s->table[e->hash & (s->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	h2o_linklist_unlink(&e->lru);
	e->linked = false;
	stripe_gauges(s, s->nentries - 1, s->bytes - e->bytes);
	entry_unref(e);
}

static struct entry *table_find(struct stripe *s, uint64_t hash, const char *key, size_t len)
{
	for (struct entry *e = s->table[hash & (s->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && e->key_len == len && !memcmp(e->key, key, len))
			return e;
	return NULL;
}

static void table_grow(struct stripe *s)
{
	size_t n = s->nbuckets * 2;
	struct entry **t = calloc(n, sizeof(*t));

	if (!t)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (struct entry *e = s->table[i], *next; e; e = next) {
			next = e->next;
			e->next = t[e->hash & (n - 1)];
			t[e->hash & (n - 1)] = e;
		}
	}
	free(s->table);
	s->table = t;
	s->nbuckets = n;
}

static void evict_to(struct stripe *s, size_t budget)
{
	while (s->bytes > budget && !h2o_linklist_is_empty(&s->lru)) {
		table_unlink(s, H2O_STRUCT_FROM_MEMBER(struct entry, lru, s->lru.next));
		__atomic_add_fetch(&store.evictions, 1, __ATOMIC_RELAXED);
	}
}

/* Insert e (refs 0) within the stripe's budget; false when it cannot fit. */
static bool table_insert(struct stripe *s, struct entry *e, size_t budget)
{
	struct entry *old = table_find(s, e->hash, e->key, e->key_len);

	if (old)
		table_unlink(s, old);
	if (e->bytes > budget)
		return false;
	evict_to(s, budget - e->bytes);
	if (s->nentries >= s->nbuckets)
		table_grow(s);
	e->next = s->table[e->hash & (s->nbuckets - 1)];
	s->table[e->hash & (s->nbuckets - 1)] = e;
	h2o_linklist_insert(&s->lru, &e->lru);
	e->linked = true;
	e->refs = 1;
	stripe_gauges(s, s->nentries + 1, s->bytes + e->bytes);
	return true;
}

/* ---- purges ---- */

/* The key's path and query: between "GET " and the first newline. */
static bool purge_matches(const char *pattern, uint16_t route, const struct entry *e)
{
	const char *nl = memchr(e->key, '\n', e->key_len);
	size_t len = nl ? (size_t)(nl - e->key) - 4 : e->key_len - 4;

	return (!route || route == e->route) && gw_cache_glob(pattern, e->key + 4, len);
}

/* The shared layer's entries too, when there is one (blocking: the admin thread). */
static void shared_purge(const char *route, const char *pattern)
{
	gw_config_t *cfg = gw_server_config(NULL);
	int64_t n;

	if (!cfg)
		return;
	if (cfg->cache.shared_redis && (n = gw_cacheshared_purge(cfg, route, pattern)) > 0)
		__atomic_add_fetch(&store.shared_purged, (uint64_t)n, __ATOMIC_RELAXED);
	gw_config_unref(cfg);
}

static int64_t purge_local(const char *route, const char *pattern);

int64_t gw_cache_purge(const char *route, const char *pattern)
{
	if (pattern && strlen(pattern) > 255)
		return -EINVAL;
	pthread_once(&store.once, store_init);
	if (store.init_err)
		return store.init_err;
	/* A fill in progress when the purge came is delivered but not stored (here: the
	 * sequence moves before Redis is purged, so no lookup in flight stores what it read). */
	__atomic_add_fetch(&store.purge_seq, 1, __ATOMIC_ACQ_REL);
	shared_purge(route, pattern);
	return purge_local(route, pattern);
}

/* This node's layer only. */
static int64_t purge_local(const char *route, const char *pattern)
{
	uint16_t id = route ? gw_intern_find(route) : 0;
	uint64_t seq, n = 0;

	seq = __atomic_add_fetch(&store.purge_seq, 1, __ATOMIC_ACQ_REL);
	if (route && !id)
		return (int64_t)seq; /* never interned: it has no entries */
	for (size_t i = 0; i < STRIPES; i++) {
		struct stripe *s = &store.s[i];

		gw_lock(&s->lock);
		for (size_t b = 0; b < s->nbuckets; b++) {
			for (struct entry *e = s->table[b], *next; e; e = next) {
				next = e->next;
				if (purge_matches(pattern ? pattern : "*", id, e)) {
					table_unlink(s, e);
					n++;
				}
			}
		}
		gw_unlock(&s->lock);
	}
	__atomic_add_fetch(&store.purged, n, __ATOMIC_RELAXED);
	return (int64_t)seq;
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

static void push_x_cache(h2o_req_t *req, h2o_iovec_t v)
{
	push_header(req, &hdr_x_cache, "X-Cache", v.base, v.len);
}

/* An X-Cache label, its length known without strlen(). */
#define LABEL(s) h2o_iovec_init(H2O_STRLIT(s))

struct ref {
	struct entry *e;
};

static void on_ref_dispose(void *arg)
{
	entry_unref(((struct ref *)arg)->e);
}

static void on_hold_release(void *arg)
{
	entry_unref(arg);
}

static uint64_t age_of(const struct entry *e, uint64_t now)
{
	return e->initial_age + (now > e->stored_ns ? (now - e->stored_ns) / 1000000000ULL : 0);
}

/* Answer req from e with X-Cache: label; its headers from index hbase on are dropped
 * first (what an upstream attempt may have added). */
static void serve(h2o_req_t *req, struct entry *e, h2o_iovec_t label, size_t hbase, uint64_t now)
{
	h2o_headers_t *hs = &req->res.headers;
	char *age = h2o_mem_alloc_pool(&req->pool, 24);
	bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
	gw_reqctx_t *rc = gw_handler_reqctx(req);

	/* an upstream's answer, as it was: the error filter must leave it alone, as it does
	 * a proxied one (no cacheable status is an error today; this keeps it so if one is) */
	if (rc)
		rc->from_cache = true;

	/* The body is sent from the entry: it stays until the request is done with, held by
	 * the request's context (no allocation), else by a reference in its pool. */
	if (!gw_handler_hold(req, on_hold_release, e)) {
		struct ref *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_ref_dispose);

		r->e = e;
	}
	entry_ref(e);
	if (hs->size > hbase)
		hs->size = hbase;
	h2o_vector_reserve(&req->pool, hs, hs->size + e->nheaders + 2);
	memcpy(hs->entries + hs->size, e->headers, e->nheaders * sizeof(h2o_header_t));
	hs->size += e->nheaders;
	push_x_cache(req, label);
	push_header(req, (h2o_iovec_t *)&H2O_TOKEN_AGE->buf, "Age", age,
		    gw_ratelimit_u64(age, age_of(e, now)));
	req->res.status = e->status;
	req->res.reason = e->reason;
	req->res.content_length = e->body.len;
	gw_handler_send_memory(req, e->body, head, e->body.len <= PULL_MAX_BODY);
}

/* The value of header `name` in hs (several fields joined by ", "), into pool. */
static h2o_iovec_t header_value(h2o_mem_pool_t *pool, const h2o_headers_t *hs, const char *name,
				size_t len)
{
	h2o_iovec_t out = { NULL, 0 };
	ssize_t i = -1;

	while ((i = h2o_find_header_by_str(hs, name, len, i)) != -1) {
		h2o_iovec_t v = hs->entries[i].value;

		if (!out.base) {
			out = v;
		} else {
			char *p = h2o_mem_alloc_pool(pool, out.len + 2 + v.len);

			memcpy(p, out.base, out.len);
			memcpy(p + out.len, ", ", 2);
			memcpy(p + out.len + 2, v.base, v.len);
			out = h2o_iovec_init(p, out.len + 2 + v.len);
		}
	}
	return out;
}

/* The request's value of header `name`, into its pool. */
static h2o_iovec_t req_header(h2o_req_t *req, const char *name, size_t len)
{
	return header_value(&req->pool, &req->headers, name, len);
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

static gw_cache_fill_t **pending_slot(struct stripe *s, uint64_t hash, const char *key, size_t len)
{
	gw_cache_fill_t **pp = &s->pending[hash % PENDING_BUCKETS];

	while (*pp &&
	       !((*pp)->hash == hash && (*pp)->key_len == len && !memcmp((*pp)->key, key, len)))
		pp = &(*pp)->next;
	return pp;
}

static void fill_free(gw_cache_fill_t *f)
{
	if (f->e)
		entry_free(f->e);
	if (f->stale)
		entry_unref(f->stale);
	if (f->bg)
		h2o_mem_clear_pool(&f->pool);
	free(f->key);
	free(f);
}

static void waiter_unref(struct waiter *w)
{
	if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (w->stale)
		entry_unref(w->stale);
	free(w);
}

static void start(gw_cache_t *c, h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		  const gw_proxy_drop_t *drop, unsigned mode, uint64_t now);

/* Run a woken waiter's action (its own worker, its request alive). */
static void act(struct waiter *w)
{
	gw_cache_t *c = w->cache;
	struct entry *stale = w->stale;

	w->stale = NULL;
	switch (w->action) {
	case W_STALE:
		count(&c->st.stale, 1);
		serve(w->req, stale, LABEL("STALE"), w->hbase, gw_now_ns());
		entry_unref(stale);
		return;
	case W_PROBLEM:
		gw_handler_problem(w->req, w->rc, w->problem);
		return;
	case W_ALONE:
	case W_RETRY:
		start(c, w->req, w->rc, w->rt, &w->drop, w->action == W_ALONE ? MODE_ALONE : 0,
		      gw_now_ns());
		return;
	default:
		if (stale)
			entry_unref(stale);
		return;
	}
}

static void unlink_timer(struct waiter *w)
{
	if (h2o_timeout_is_linked(&w->timer)) {
		h2o_timeout_unlink(&w->timer);
		w->cache->nwaiting--;
	}
}

/* Wake-ups sent by whichever thread ended a fill. */
static void on_wakeups(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	while (!h2o_linklist_is_empty(messages)) {
		struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, msg.link, messages->next);

		h2o_linklist_unlink(&w->msg.link);
		if (!w->disposed) {
			unlink_timer(w);
			act(w);
		}
		waiter_unref(w); /* the message's */
	}
}

/* Take every waiter off f (stripe lock held) into list, each with its action. */
static void take_waiters(gw_cache_fill_t *f, h2o_linklist_t *list, enum waiter_action action,
			 enum gw_problem p, struct entry *stale)
{
	while (!h2o_linklist_is_empty(&f->waiters)) {
		struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, f->waiters.next);

		h2o_linklist_unlink(&w->link);
		w->fill = NULL;
		w->action = action;
		w->problem = p;
		if (action == W_STALE) {
			w->stale = stale;
			entry_ref(stale);
		}
		h2o_linklist_insert(list, &w->link);
	}
	f->nwaiters = 0;
}

/* Send each waiter of list to its worker (no lock held). */
static void send_wakeups(h2o_linklist_t *list)
{
	while (!h2o_linklist_is_empty(list)) {
		struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, list->next);

		h2o_linklist_unlink(&w->link);
		h2o_multithread_send_message(&w->cache->wakeups, &w->msg);
	}
}

static void on_lock_timeout(h2o_timeout_entry_t *t)
{
	struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, timer, t);
	bool mine = false;

	w->cache->nwaiting--; /* h2o unlinked the timer before calling */
	gw_lock(&w->stripe->lock);
	if (w->fill) {
		h2o_linklist_unlink(&w->link);
		w->fill->nwaiters--;
		w->fill = NULL;
		mine = true;
	}
	gw_unlock(&w->stripe->lock);
	if (!mine)
		return; /* a wake-up is on its way */
	/* the leader is slow: this one asks the upstream itself */
	w->action = W_ALONE;
	act(w);
	waiter_unref(w); /* the fill's */
}

struct waiter_ref {
	struct waiter *w;
};

static void on_waiter_dispose(void *arg)
{
	struct waiter *w = ((struct waiter_ref *)arg)->w;
	bool mine = false;

	/* The request went away (HTTP/2 reset, shutdown, or answered and done). */
	w->disposed = true;
	unlink_timer(w);
	gw_lock(&w->stripe->lock);
	if (w->fill) {
		h2o_linklist_unlink(&w->link);
		w->fill->nwaiters--;
		w->fill = NULL;
		mine = true;
	}
	gw_unlock(&w->stripe->lock);
	if (mine)
		waiter_unref(w); /* the fill's */
	waiter_unref(w);	 /* the request's */
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

/* A waiter on f for req (stripe lock held); NULL when out of memory. */
static struct waiter *wait_on(gw_cache_t *c, struct stripe *s, gw_cache_fill_t *f, h2o_req_t *req,
			      gw_reqctx_t *rc, gw_upstream_rt_t *rt, const gw_proxy_drop_t *drop)
{
	struct waiter *w = calloc(1, sizeof(*w));
	struct waiter_ref *r;

	if (!w)
		return NULL;
	r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_waiter_dispose);
	r->w = w;
	w->refs = 2;
	w->cache = c;
	w->stripe = s;
	w->fill = f;
	w->req = req;
	w->rc = rc;
	w->rt = rt;
	w->drop = *drop;
	w->hbase = req->res.headers.size;
	w->timer.cb = on_lock_timeout;
	h2o_linklist_insert(&f->waiters, &w->link);
	f->nwaiters++;
	return w;
}

/* Send req upstream, with fill f (the leader) or without (NULL). */
static void go_upstream(gw_cache_fill_t *f, h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
			const gw_proxy_drop_t *drop)
{
	if (f)
		f->hbase = req->res.headers.size;
	push_x_cache(req, LABEL("MISS"));
	gw_proxy_start_fill(req, rc, rt, drop, f);
}

/* ---- the shared layer (cacheshared.h) ---- */

static void fill_over(gw_cache_fill_t *f, struct entry *e, bool retry, bool failed,
		      enum gw_problem p);
static bool purged_since(const gw_cache_fill_t *f);

static void on_put(void *data, redisReply *reply, const char *err)
{
	gw_cache_t *c = data;

	if (err || !reply || reply->type == REDIS_REPLY_ERROR)
		count(&c->st.sh_store_error, 1);
	else if (reply->type == REDIS_REPLY_STATUS) /* SET's OK */
		count(&c->st.sh_stored, 1);
}

/* Write e (a reference held by the caller) to the shared layer, on this worker's
 * connection, its lifetimes counted from now. */
static void shared_put(gw_cache_t *c, const gw_config_t *cfg, struct entry *e)
{
	gw_worker_t *w = gw_worker_self();
	uint64_t now = gw_now_ns();
	const char *nl = memchr(e->key, '\n', e->key_len);
	size_t plen = nl ? (size_t)(nl - e->key) - 4 : e->key_len - 4, n;
	gw_cacherec_t *r;
	char *buf;

	if (!w || !w->cluster || now >= e->fresh_until)
		return;
	if (e->body.len > cfg->cache.shared_max_object_bytes ||
	    e->nheaders > GW_CACHEREC_HEADERS_MAX) {
		count(&c->st.sh_too_big, 1); /* this node's layer only */
		return;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return;
	r->status = e->status;
	r->fresh_ms = (e->fresh_until - now) / 1000000;
	r->swr_ms = (e->swr_until - e->fresh_until) / 1000000;
	r->sie_ms = (e->sie_until - e->fresh_until) / 1000000;
	r->initial_age_s = age_of(e, now);
	r->ttl_ms = r->fresh_ms + (r->swr_ms > r->sie_ms ? r->swr_ms : r->sie_ms);
	r->key = e->key;
	r->key_len = e->key_len;
	r->reason = e->reason;
	r->reason_len = strlen(e->reason);
	r->nvary = e->nvary;
	for (size_t i = 0; i < e->nvary; i++)
		r->vary[i] = (gw_cacherec_field_t){ e->vary_names[i].base, e->vary_names[i].len,
						    e->vary_values[i].base, e->vary_values[i].len };
	r->nheaders = e->nheaders;
	for (size_t i = 0; i < e->nheaders; i++) {
		const h2o_header_t *h = &e->headers[i];

		r->headers[i] = (gw_cacherec_field_t){ h->orig_name ? h->orig_name : h->name->base,
						       h->name->len, h->value.base, h->value.len };
	}
	r->body = e->body.base;
	r->body_len = e->body.len;
	if ((n = gw_cacherec_size(r)) && (buf = malloc(n))) {
		gw_cacherec_encode(r, buf);
		if (gw_cacheshared_put(gw_cluster_redis_rw(w->cluster), cfg->store.redis.prefix,
				       gw_intern_name(e->route), e->key, e->key_len, e->key + 4,
				       plen, buf, n, r->ttl_ms, on_put, c))
			count(&c->st.sh_store_error, 1);
		free(buf);
	}
	free(r);
}

/* An entry for f from a record read from the shared layer (pttl: its remaining life in
 * ms), if the record is f's key and req's variant and still fresh; else NULL. */
static struct entry *entry_of_record(gw_cache_fill_t *f, const gw_cacherec_t *r, int64_t pttl,
				     h2o_req_t *req, uint64_t now)
{
	size_t strings = r->key_len + r->reason_len + 1, nnames = 0;
	uint64_t elapsed_ns, stored;
	struct entry *e;
	h2o_iovec_t *names;
	char *p, low[256];

	if (r->key_len != f->key_len || memcmp(r->key, f->key, f->key_len) || r->nvary > VARY_MAX ||
	    pttl < 0 || r->body_len > gw_worker_self()->cur->config->cache.max_object_bytes)
		return NULL; /* (over this node's max_object_bytes: the upstream answers) */
	for (size_t i = 0; i < r->nvary; i++) {
		h2o_iovec_t v = req_header(req, r->vary[i].name, r->vary[i].name_len);

		if (!v.base != !r->vary[i].value || v.len != r->vary[i].value_len ||
		    (v.len && memcmp(v.base, r->vary[i].value, v.len)))
			return NULL; /* another variant */
		strings += r->vary[i].name_len + r->vary[i].value_len + 1;
	}
	/* its age by Redis's clock: what the PX it was written with has run down */
	elapsed_ns = (r->ttl_ms > (uint64_t)pttl ? r->ttl_ms - (uint64_t)pttl : 0) * 1000000ULL;
	stored = now > elapsed_ns ? now - elapsed_ns : 0;
	if (stored + r->fresh_ms * 1000000ULL <= now)
		return NULL; /* not fresh here: the upstream decides (the fill goes on) */
	for (size_t i = 0; i < r->nheaders; i++) {
		if (r->headers[i].name_len >= sizeof(low))
			return NULL;
		memcpy(low, r->headers[i].name, r->headers[i].name_len);
		h2o_strtolower(low, r->headers[i].name_len);
		if (!h2o_lookup_token(low, r->headers[i].name_len)) {
			nnames++;
			strings += r->headers[i].name_len;
		}
		strings += r->headers[i].name_len + r->headers[i].value_len;
	}
	e = calloc(1, sizeof(*e) + r->nheaders * sizeof(h2o_header_t) +
			      nnames * sizeof(h2o_iovec_t) + strings);
	if (!e)
		return NULL;
	if (r->body_len && !(e->body.base = malloc(r->body_len))) {
		free(e);
		return NULL;
	}
	if (r->body_len)
		memcpy(e->body.base, r->body, r->body_len);
	e->body.len = r->body_len;
	e->headers = (h2o_header_t *)(e + 1);
	names = (h2o_iovec_t *)(e->headers + r->nheaders);
	p = (char *)(names + nnames);
	for (size_t i = 0; i < r->nheaders; i++) {
		const gw_cacherec_field_t *h = &r->headers[i];
		h2o_header_t *o = &e->headers[e->nheaders++];
		const h2o_token_t *t;

		memcpy(p, h->name, h->name_len); /* as the upstream spelt it */
		memcpy(low, h->name, h->name_len);
		h2o_strtolower(low, h->name_len);
		o->orig_name = memcmp(low, p, h->name_len) ? p : NULL;
		p += h->name_len;
		if ((t = h2o_lookup_token(low, h->name_len))) {
			o->name = (h2o_iovec_t *)&t->buf;
		} else {
			memcpy(p, low, h->name_len);
			*names = h2o_iovec_init(p, h->name_len);
			o->name = names++;
			p += h->name_len;
		}
		memcpy(p, h->value, h->value_len);
		o->value = h2o_iovec_init(p, h->value_len);
		p += h->value_len;
	}
	for (size_t i = 0; i < r->nvary; i++) {
		memcpy(p, r->vary[i].name, r->vary[i].name_len);
		e->vary_names[i] = h2o_iovec_init(p, r->vary[i].name_len);
		p += r->vary[i].name_len;
		if (r->vary[i].value) {
			memcpy(p, r->vary[i].value, r->vary[i].value_len);
			e->vary_values[i] = h2o_iovec_init(p, r->vary[i].value_len);
		} else {
			e->vary_values[i] = h2o_iovec_init(NULL, 0);
		}
		p += r->vary[i].value_len + 1;
	}
	e->nvary = r->nvary;
	memcpy(p, f->key, f->key_len);
	e->key = p;
	e->key_len = f->key_len;
	p += f->key_len;
	memcpy(p, r->reason, r->reason_len);
	p[r->reason_len] = '\0';
	e->reason = p;
	e->hash = f->hash;
	e->route = f->route;
	e->status = r->status;
	e->initial_age = r->initial_age_s;
	e->stored_ns = stored;
	e->fresh_until = stored + r->fresh_ms * 1000000ULL;
	e->swr_until = e->fresh_until + r->swr_ms * 1000000ULL;
	e->sie_until = e->fresh_until + r->sie_ms * 1000000ULL;
	e->bytes = sizeof(*e) + r->nheaders * sizeof(h2o_header_t) + nnames * sizeof(h2o_iovec_t) +
		   strings + r->body_len;
	return e;
}

/* A leader's lookup in the shared layer; its request may go away meanwhile. */
struct lookup {
	gw_cache_t *c;
	gw_cache_fill_t *f;
	h2o_req_t *req;
	gw_reqctx_t *rc;
	gw_upstream_rt_t *rt;
	gw_proxy_drop_t drop;
	struct lookup_ref *ref; /* in the request's pool; NULL once it is gone */
};

struct lookup_ref {
	struct lookup *lk; /* NULL once the lookup is over */
};

static void on_lookup_dispose(void *arg)
{
	struct lookup_ref *ref = arg;

	if (ref->lk)
		ref->lk->ref = NULL; /* the request is gone */
}

static void on_lookup(void *data, redisReply *reply, const char *err)
{
	struct lookup *lk = data;
	gw_cache_t *c = lk->c;
	gw_cache_fill_t *f = lk->f;
	struct entry *e = NULL;
	gw_cacherec_t *rec;

	if (!lk->ref) {
		/* The leader's client went away: the waiters start over (their own lookup). */
		fill_over(f, NULL, true, false, GW_PROBLEM_NONE);
		free(lk);
		return;
	}
	lk->ref->lk = NULL;
	if (err || !reply || reply->type == REDIS_REPLY_ERROR) {
		count(&c->st.sh_error, 1);
		if (reply && reply->type == REDIS_REPLY_ERROR)
			pr_debug("cache: shared layer lookup: %s", reply->str);
	} else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		   reply->element[0]->type != REDIS_REPLY_STRING ||
		   reply->element[1]->type != REDIS_REPLY_INTEGER) {
		count(&c->st.sh_miss, 1); /* nil: absent */
	} else if ((rec = malloc(sizeof(*rec)))) {
		if (gw_cacherec_decode(reply->element[0]->str, reply->element[0]->len, rec) == 0)
			e = entry_of_record(f, rec, reply->element[1]->integer, lk->req,
					    gw_now_ns());
		else
			count(&c->st.sh_error, 1); /* not a record of ours: counted apart */
		free(rec);
		if (!e)
			count(&c->st.sh_miss, 1);
	}
	if (e && purged_since(f)) {
		entry_free(e); /* read before a purge: not stored, the upstream answers */
		e = NULL;
	}
	if (e) {
		/* stored here and given to the waiters; the leader finds it like them */
		count(&c->st.sh_hit, 1);
		f->from_shared = true;
		fill_over(f, e, false, false, GW_PROBLEM_NONE);
		start(c, lk->req, lk->rc, lk->rt, &lk->drop, MODE_LOCAL, gw_now_ns());
	} else {
		count(&c->st.miss, 1);
		go_upstream(f, lk->req, lk->rc, lk->rt, &lk->drop);
	}
	free(lk);
}

/* Ask the shared layer for f's key before the upstream: true when the question is on its
 * way (the answer goes on with the request), false when there is no shared layer or no
 * connection (counted: the upstream it is). */
static bool shared_lookup(gw_cache_t *c, gw_cache_fill_t *f, h2o_req_t *req, gw_reqctx_t *rc,
			  gw_upstream_rt_t *rt, const gw_proxy_drop_t *drop)
{
	const gw_config_t *cfg = rc->tc->config;
	gw_worker_t *w = rc->tc->worker;
	struct lookup *lk;

	if (!cfg->cache.shared_redis || !w->cluster)
		return false;
	if (!(lk = calloc(1, sizeof(*lk))))
		return false;
	lk->c = c;
	lk->f = f;
	lk->req = req;
	lk->rc = rc;
	lk->rt = rt;
	lk->drop = *drop;
	lk->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*lk->ref), on_lookup_dispose);
	lk->ref->lk = lk;
	if (gw_cacheshared_get(gw_cluster_redis_rw(w->cluster), cfg->store.redis.prefix, f->key,
			       f->key_len, on_lookup, lk)) {
		lk->ref->lk = NULL;
		free(lk);
		count(&c->st.sh_error, 1);
		return false;
	}
	gw_proxy_keep_client_polled(req);
	return true;
}

/*
 * The fill is over (leader's worker): e (or NULL) goes into the store, and the waiters
 * retry (they find the new entry, or one of them leads the next fetch), go upstream
 * alone, or share the leader's failure.
 */
static void fill_over(gw_cache_fill_t *f, struct entry *e, bool retry, bool failed,
		      enum gw_problem p)
{
	struct stripe *s = f->stripe;
	const gw_config_t *cfg = gw_worker_self()->cur->config;
	h2o_linklist_t woken;
	gw_cache_fill_t **pp;
	struct entry *put = NULL;

	h2o_linklist_init_anchor(&woken);
	gw_lock(&s->lock);
	if ((pp = pending_slot(s, f->hash, f->key, f->key_len)) && *pp == f)
		*pp = f->next;
	/* What an upstream gave goes to the shared layer too (shared_put(), after the lock). */
	if (e) {
		if (table_insert(s, e, cfg->cache.max_bytes / STRIPES))
			count(&f->cache->st.stores, 1);
		else
			entry_free(e), e = NULL;
	}
	if (e && cfg->cache.shared_redis && !f->from_shared)
		entry_ref(e), put = e; /* written once the lock is given back */
	if (failed && f->stale && gw_now_ns() < f->stale->sie_until)
		take_waiters(f, &woken, W_STALE, p, f->stale);
	else if (failed)
		take_waiters(f, &woken, W_PROBLEM, p, NULL);
	else
		take_waiters(f, &woken, retry || e ? W_RETRY : W_ALONE, p, NULL);
	gw_unlock(&s->lock);
	if (put) {
		shared_put(f->cache, cfg, put);
		entry_unref(put);
	}
	send_wakeups(&woken);
	fill_free(f);
}

/* ---- background refreshes (stale-while-revalidate) ---- */

static void make_entry(gw_cache_fill_t *f, int status, const char *reason, const h2o_headers_t *hs,
		       size_t first, size_t content_length, bool is_head, h2o_mem_pool_t *pool,
		       const h2o_headers_t *reqh);

static bool purged_since(const gw_cache_fill_t *f)
{
	return f->purge_seq != __atomic_load_n(&store.purge_seq, __ATOMIC_ACQUIRE);
}

static bool refresh_head(void *data, int status, const char *reason, const h2o_headers_t *hs,
			 size_t content_length)
{
	gw_cache_fill_t *f = data;

	if (purged_since(f)) {
		f->why = R_PURGED; /* nothing read from here on would be stored */
		return false;
	}
	if (status >= 500) {
		f->why = R_FAILED; /* the stale entry stays, for the rest of its windows */
		return false;
	}
	make_entry(f, status, reason, hs, 0, content_length, false, &f->pool, &f->reqh);
	if (!f->e) {
		f->why = R_NOT_STORED; /* the body is of no use: the exchange stops here */
		return false;
	}
	return true;
}

static bool refresh_body(void *data, const void *bytes, size_t len)
{
	gw_cache_fill_t *f = data;

	if (purged_since(f)) {
		f->why = R_PURGED;
		return false;
	}
	gw_cache_fill_body(f, bytes, len);
	if (!f->e) {
		f->why = R_NOT_STORED; /* too big (counted), or out of memory */
		return false;
	}
	return true;
}

/* The upstream answered with something that cannot be stored: the stale entry it
 * supersedes goes, so that the next request asks the upstream itself. */
static void drop_stale(gw_cache_fill_t *f)
{
	struct stripe *s = f->stripe;

	gw_lock(&s->lock);
	if (f->stale->linked && table_find(s, f->hash, f->key, f->key_len) == f->stale)
		table_unlink(s, f->stale);
	gw_unlock(&s->lock);
}

/* The refresh is over (its fetch gone): store, keep the stale entry, or drop it. Waiters
 * (requests of another variant, which the stale entry could not answer) retry when there
 * is a new entry or the fetch was cut short, else go upstream on their own. */
static void refresh_over(gw_cache_fill_t *f, enum gw_bgfetch_result r)
{
	gw_cache_t *c = f->cache;
	struct entry *e = f->e;

	f->e = NULL;
	f->fetch = NULL;
	h2o_linklist_unlink(&f->bg_link);
	if (r == GW_BGFETCH_OK && !e && !f->why)
		f->why = R_NOT_STORED; /* a body-less answer that is not stored */
	if (r == GW_BGFETCH_OK && e && purged_since(f))
		f->why = R_PURGED;
	if (r == GW_BGFETCH_FAILED)
		f->why = R_FAILED;
	if (f->why == R_NONE && !gw_worker_self()->cur->config->cache.max_bytes)
		f->why = R_NOT_STORED; /* the cache was switched off meanwhile */
	switch (f->why) {
	case R_NONE:
		count(&c->st.refresh_ok, 1);
		fill_over(f, e, false, false, GW_PROBLEM_NONE);
		return;
	case R_NOT_STORED:
		count(&c->st.refresh_ok, 1);
		drop_stale(f);
		break;
	case R_PURGED:
		count(&c->st.refresh_cancelled, 1);
		break;
	default:
		count(&c->st.refresh_failed, 1);
		break;
	}
	if (e)
		entry_free(e);
	fill_over(f, NULL, f->why == R_PURGED, false, GW_PROBLEM_NONE);
}

static void refresh_end(void *data, enum gw_bgfetch_result r)
{
	refresh_over(data, r);
}

static const gw_bgfetch_cbs_t refresh_cbs = {
	.head = refresh_head,
	.body = refresh_body,
	.end = refresh_end,
};

/*
 * Start f's background refresh for the request req that found its entry stale: the GET
 * head req would send and its header fields (less the API key's) are copied into memory f
 * owns; no limit or quota is charged for it (req was). When the fetch cannot start, the
 * refresh is over at once (failed; the stale entry stays).
 */
static void refresh_start(gw_cache_t *c, gw_cache_fill_t *f, h2o_req_t *req, gw_reqctx_t *rc,
			  gw_upstream_rt_t *rt, const gw_proxy_drop_t *drop)
{
	uint64_t hash;
	h2o_iovec_t head;

	f->bg = true;
	h2o_mem_init_pool(&f->pool);
	for (size_t i = 0; i < req->headers.size; i++) {
		const h2o_header_t *h = &req->headers.entries[i];
		h2o_iovec_t v = h2o_strdup(&f->pool, h->value.base, h->value.len);

		if ((drop->authorization && h->name == &H2O_TOKEN_AUTHORIZATION->buf) ||
		    (drop->header && h->name->len == drop->header_len &&
		     !memcmp(h->name->base, drop->header, drop->header_len)))
			continue; /* the API key stays with its request */
		if (h2o_iovec_is_token(h->name)) {
			h2o_add_header(&f->pool, &f->reqh,
				       H2O_STRUCT_FROM_MEMBER(h2o_token_t, buf, h->name), NULL,
				       v.base, v.len);
		} else {
			h2o_iovec_t n = h2o_strdup(&f->pool, h->name->base, h->name->len);

			h2o_add_header_by_str(&f->pool, &f->reqh, n.base, n.len, 0, NULL, v.base,
					      v.len);
		}
	}
	head = gw_proxy_get_head(req, rc, rt, drop, &hash);
	count(&c->st.refresh_started, 1);
	h2o_linklist_insert(&c->refreshing, &f->bg_link);
	if (!(f->fetch = gw_bgfetch_start(rc->tc, rt, head.base, head.len, hash, &refresh_cbs, f)))
		refresh_over(f, GW_BGFETCH_FAILED);
}

/* ---- the other nodes' purges (cacheshared.h) ---- */

static void on_poll_reply(void *data, redisReply *reply, const char *err)
{
	gw_cache_t *c = data;
	int64_t last;
	uint64_t oldest = 0;
	const redisReply *list;
	char route[256], pattern[256];

	c->poll_inflight = false;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY)
		return; /* next second */
	last = reply->element[0]->integer;
	list = reply->element[1];
	if (c->purge_applied < 0 || last < c->purge_applied) {
		c->purge_applied = last; /* the first reading (or a new Redis): from now on */
		return;
	}
	for (size_t i = 0; i < list->elements; i++) {
		uint64_t seq;

		if (list->element[i]->type != REDIS_REPLY_STRING ||
		    gw_cacheshared_parse_purge(list->element[i]->str, list->element[i]->len, &seq,
					       route, pattern))
			continue;
		if (!oldest || seq < oldest)
			oldest = seq;
		if ((int64_t)seq <= c->purge_applied || (int64_t)seq > last)
			continue;
		purge_local(route[0] ? route : NULL, pattern[0] ? pattern : NULL);
	}
	if (last > c->purge_applied && (!oldest || (int64_t)oldest > c->purge_applied + 1))
		purge_local(NULL, NULL); /* some were missed: everything goes */
	c->purge_applied = last;
}

static void on_poll(h2o_timeout_entry_t *t)
{
	gw_cache_t *c = H2O_STRUCT_FROM_MEMBER(gw_cache_t, poll, t);
	gw_worker_t *w = gw_worker_self();
	const gw_config_t *cfg = w && w->cur ? w->cur->config : NULL;

	h2o_timeout_link(c->ctx->loop, &c->ctx->one_sec_timeout, &c->poll);
	if (!cfg || !cfg->cache.shared_redis || !w->cluster || c->poll_inflight)
		return;
	if (!gw_cacheshared_poll(gw_cluster_redis_rw(w->cluster), cfg->store.redis.prefix,
				 on_poll_reply, c))
		c->poll_inflight = true;
}

void gw_cache_worker_start(gw_cache_t *c, unsigned index)
{
	if (!c || index)
		return; /* one poller per node */
	c->purge_applied = -1;
	c->poll.cb = on_poll;
	h2o_timeout_link(c->ctx->loop, &c->ctx->one_sec_timeout, &c->poll);
}

void gw_cache_stop(gw_cache_t *c)
{
	if (!c)
		return;
	if (h2o_timeout_is_linked(&c->poll))
		h2o_timeout_unlink(&c->poll);
	while (!h2o_linklist_is_empty(&c->refreshing)) {
		gw_cache_fill_t *f =
			H2O_STRUCT_FROM_MEMBER(gw_cache_fill_t, bg_link, c->refreshing.next);

		gw_bgfetch_cancel(f->fetch);
		f->why = R_PURGED; /* counted as cancelled; waiters start over */
		refresh_over(f, GW_BGFETCH_ABORTED);
	}
}

/* ---- the request path ---- */

static void start(gw_cache_t *c, h2o_req_t *req, gw_reqctx_t *rc, gw_upstream_rt_t *rt,
		  const gw_proxy_drop_t *drop, unsigned mode, uint64_t now)
{
	const gw_config_t *cfg = rc->tc->config;
	const gw_route_t *route = rc->route;
	gw_cachekey_header_t kh[GW_CACHE_KEY_HEADERS_MAX];
	uint64_t hash;
	gw_cache_fill_t **slot, *f;
	struct stripe *s;
	struct entry *e;
	struct waiter *w;
	char *key;
	ssize_t klen;

	if (mode & MODE_ALONE) {
		count(&c->st.miss, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
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
	hash = gw_cachekey_hash(key, (size_t)klen, store.seed);
	s = stripe_of(hash);
	gw_lock(&s->lock);
	e = table_find(s, hash, key, (size_t)klen);
	if (e && !vary_matches(req, e))
		e = NULL; /* another variant: a miss (the fill replaces it) */
	if (e && now < e->fresh_until) {
		/* the hit: most recently used last */
		h2o_linklist_unlink(&e->lru);
		h2o_linklist_insert(&s->lru, &e->lru);
		entry_ref(e);
		gw_unlock(&s->lock);
		count(&c->st.hit, 1);
		serve(req, e, LABEL("HIT"), req->res.headers.size, now);
		entry_unref(e); /* serve() holds its own */
		return;
	}
	if (e && now >= e->swr_until && now >= e->sie_until) {
		table_unlink(s, e); /* past every window */
		e = NULL;
	}
	slot = pending_slot(s, hash, key, (size_t)klen);
	if ((f = *slot)) {
		if (e && now < e->swr_until) {
			entry_ref(e);
			gw_unlock(&s->lock);
			count(&c->st.stale, 1);
			serve(req, e, LABEL("STALE"), req->res.headers.size, now);
			entry_unref(e);
			return;
		}
		w = f->nwaiters < cfg->cache.max_waiters ? wait_on(c, s, f, req, rc, rt, drop)
							 : NULL;
		gw_unlock(&s->lock);
		if (w) {
			set_lock_timeout(c, cfg->cache.lock_timeout_ms);
			h2o_timeout_link(c->ctx->loop, &c->lock_timeout, &w->timer);
			c->nwaiting++;
			count(&c->st.coalesced, 1);
			return;
		}
		count(&c->st.miss, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
	/* The leader: a stale entry in its stale-while-revalidate window answers at once and
	 * is refreshed in the background; otherwise the shared layer, if any, is asked before
	 * the upstream (shared_lookup()), and what it has is stored here by fill_over() and
	 * served to the leader and its waiters alike. */
	if (!(f = calloc(1, sizeof(*f))) || !(f->key = malloc((size_t)klen))) {
		gw_unlock(&s->lock);
		free(f);
		if (e && now < e->swr_until) {
			entry_ref(e);
			count(&c->st.stale, 1);
			serve(req, e, LABEL("STALE"), req->res.headers.size, now);
			entry_unref(e);
			return;
		}
		count(&c->st.miss, 1);
		go_upstream(NULL, req, rc, rt, drop);
		return;
	}
	memcpy(f->key, key, (size_t)klen);
	f->key_len = (size_t)klen;
	f->hash = hash;
	f->cache = c;
	f->stripe = s;
	f->route = route->id;
	f->ttl = route->cache_ttl_s;
	f->swr = route->cache.swr_s;
	f->sie = route->cache.sie_s;
	f->purge_seq = __atomic_load_n(&store.purge_seq, __ATOMIC_ACQUIRE);
	h2o_linklist_init_anchor(&f->waiters);
	if (e) {
		f->stale = e;
		entry_ref(e);
	}
	*slot = f;
	if (e && now < e->swr_until) {
		/* RFC 5861: the stale entry answers now, the refresh runs without the client */
		entry_ref(e);
		gw_unlock(&s->lock);
		refresh_start(c, f, req, rc, rt, drop);
		count(&c->st.stale, 1);
		serve(req, e, LABEL("STALE"), req->res.headers.size, now);
		entry_unref(e);
		return;
	}
	gw_unlock(&s->lock);
	if (!(mode & MODE_LOCAL) && shared_lookup(c, f, req, rc, rt, drop))
		return; /* the shared layer answers first (cacheshared.h) */
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
	/* A HEAD is answered from a GET's entry; its own answer (no body) is not stored. The
	 * request's clock reading (taken for its bucket, on a hit) serves the freshness test. */
	start(c, req, rc, rt, drop, 0, gw_handler_now(rc));
}

/* ---- the leader's exchange ---- */

static bool cacheable_status(int s)
{
	return s == 200 || s == 203 || s == 300 || s == 301 || s == 308;
}

/*
 * Start building f's entry from a response head: status, reason, fields hs[first..),
 * content_length (SIZE_MAX unknown); the request's fields reqh give the Vary values.
 * f->e stays NULL when the response is not to be stored.
 */
static void make_entry(gw_cache_fill_t *f, int status, const char *reason, const h2o_headers_t *hs,
		       size_t first, size_t content_length, bool is_head, h2o_mem_pool_t *pool,
		       const h2o_headers_t *reqh)
{
	gw_cache_t *c = f->cache;
	const gw_config_t *cfg = gw_worker_self()->cur->config;
	gw_cache_control_t cc = { 0 };
	char vary[VARY_MAX][64];
	int nvary = 0;
	uint64_t ttl, initial_age = 0, now = gw_now_ns();
	size_t strings = 0, nh = 0, nnames = 0;
	struct entry *e;
	char *p;
	bool store = cacheable_status(status) && !is_head;

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
		return;
	}
	if (content_length != SIZE_MAX && content_length > cfg->cache.max_object_bytes) {
		count(&c->st.too_big, 1);
		return;
	}
	for (int i = 0; i < nvary; i++) {
		h2o_iovec_t v = header_value(pool, reqh, vary[i], strlen(vary[i]));

		strings += strlen(vary[i]) + v.len + 1;
	}
	strings += f->key_len + strlen(reason ? reason : "") + 1;
	e = calloc(1,
		   sizeof(*e) + nh * sizeof(h2o_header_t) + nnames * sizeof(h2o_iovec_t) + strings);
	if (!e)
		return;
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
		h2o_iovec_t v = header_value(pool, reqh, vary[i], nl);

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
	strcpy(p, reason ? reason : "");
	e->reason = p;
	e->hash = f->hash;
	e->route = f->route;
	e->status = status;
	e->initial_age = initial_age;
	e->bytes = sizeof(*e) + nh * sizeof(h2o_header_t) + nnames * sizeof(h2o_iovec_t) + strings;
	{
		uint64_t swr = cc.has_swr ? cc.swr : f->swr, sie = cc.has_sie ? cc.sie : f->sie;

		e->stored_ns = now;
		e->fresh_until = now + (ttl - initial_age) * 1000000000ULL;
		e->swr_until = e->fresh_until + swr * 1000000000ULL;
		e->sie_until = e->fresh_until + sie * 1000000000ULL;
	}
	if (content_length != SIZE_MAX && content_length &&
	    !(e->body.base = malloc(content_length))) {
		free(e);
		return;
	}
	f->body_cap = content_length != SIZE_MAX ? content_length : 0;
	f->e = e;
}

bool gw_cache_fill_head(gw_cache_fill_t *f, h2o_req_t *req, size_t first)
{
	uint64_t now = gw_now_ns();

	/* stale-if-error for a 5xx answer */
	if (req->res.status >= 500 && req->res.status <= 504 && req->res.status != 501 &&
	    f->stale && now < f->stale->sie_until) {
		count(&f->cache->st.stale, 1);
		serve(req, f->stale, LABEL("STALE"), f->hbase, now);
		/* the waiters get the stale entry too */
		fill_over(f, NULL, false, true, GW_PROBLEM_UPSTREAM_ERROR);
		return true;
	}
	make_entry(f, req->res.status, req->res.reason, &req->res.headers, first,
		   req->res.content_length,
		   h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")), &req->pool,
		   &req->headers);
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
	struct entry *e = f->e;

	f->e = NULL;
	if (!complete) {
		/* The leader's client went away, or the body broke: the waiters start over;
		 * the first to run leads the next fetch, the others wait for it. */
		if (e)
			entry_free(e);
		fill_over(f, NULL, true, false, GW_PROBLEM_NONE);
		return;
	}
	if (e && (f->purge_seq != __atomic_load_n(&store.purge_seq, __ATOMIC_ACQUIRE) ||
		  !gw_worker_self()->cur->config->cache.max_bytes)) {
		entry_free(e); /* purged meanwhile: delivered, not stored */
		e = NULL;
	}
	fill_over(f, e, false, false, GW_PROBLEM_NONE);
}

bool gw_cache_fill_failed(gw_cache_fill_t *f, h2o_req_t *req, enum gw_problem p)
{
	struct entry *s = f->stale;
	uint64_t now = gw_now_ns();
	bool served = false;

	if (s && now < s->sie_until) {
		count(&f->cache->st.stale, 1);
		serve(req, s, LABEL("STALE"), f->hbase, now);
		served = true;
	}
	fill_over(f, NULL, false, true, p);
	return served;
}

/* ---- life ---- */

gw_cache_t *gw_cache_new(h2o_context_t *ctx)
{
	gw_cache_t *c;

	pthread_once(&store.once, store_init);
	if (store.init_err || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->ctx = ctx;
	h2o_linklist_init_anchor(&c->refreshing);
	h2o_multithread_register_receiver(ctx->queue, &c->wakeups, on_wakeups);
	return c;
}

void gw_cache_free(gw_cache_t *c)
{
	if (!c)
		return;
	gw_cache_stop(c);
	h2o_multithread_unregister_receiver(c->ctx->queue, &c->wakeups);
	if (c->lock_ms)
		h2o_timeout_dispose(c->ctx->loop, &c->lock_timeout);
	free(c);
}

/* ---- metrics ---- */

int gw_cache_render(gw_cache_t *const *cs, size_t n, char **buf, size_t *len)
{
	uint64_t hit = 0, miss = 0, stale = 0, coal = 0, bypass = 0, stores = 0, ev = 0, purged = 0,
		 unc = 0, big = 0, bytes = 0, entries = 0, rs = 0, rok = 0, rfail = 0, rcan = 0,
		 sh[6] = { 0 };
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
		unc += L(uncacheable);
		big += L(too_big);
		rs += L(refresh_started);
		rok += L(refresh_ok);
		rfail += L(refresh_failed);
		rcan += L(refresh_cancelled);
		sh[0] += L(sh_hit);
		sh[1] += L(sh_miss);
		sh[2] += L(sh_error);
		sh[3] += L(sh_stored);
		sh[4] += L(sh_store_error);
		sh[5] += L(sh_too_big);
#undef L
	}
	/* the store's own figures */
	ev = __atomic_load_n(&store.evictions, __ATOMIC_RELAXED);
	purged = __atomic_load_n(&store.purged, __ATOMIC_RELAXED);
	for (size_t i = 0; i < STRIPES; i++) {
		bytes += __atomic_load_n(&store.s[i].bytes, __ATOMIC_RELAXED);
		entries += __atomic_load_n(&store.s[i].nentries, __ATOMIC_RELAXED);
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
		     "# HELP floodgate_cache_bytes Bytes held.\n"
		     "# TYPE floodgate_cache_bytes gauge\n"
		     "floodgate_cache_bytes %llu\n"
		     "# HELP floodgate_cache_entries Entries held.\n"
		     "# TYPE floodgate_cache_entries gauge\n"
		     "floodgate_cache_entries %llu\n",
		     (unsigned long long)hit, (unsigned long long)miss, (unsigned long long)stale,
		     (unsigned long long)coal, (unsigned long long)bypass,
		     (unsigned long long)stores, (unsigned long long)unc, (unsigned long long)big,
		     (unsigned long long)ev, (unsigned long long)purged, (unsigned long long)bytes,
		     (unsigned long long)entries);
	*len += (size_t)(k > 0 && k < 2048 ? k : 0);
	*buf = out;
	if (!(out = realloc(*buf, *len + 1024)))
		return 0; /* the families so far stand */
	p = out + *len;
	k = snprintf(p, 1024,
		     "# HELP floodgate_cache_refreshes_total Background refreshes "
		     "(stale-while-revalidate) by outcome.\n"
		     "# TYPE floodgate_cache_refreshes_total counter\n"
		     "floodgate_cache_refreshes_total{result=\"started\"} %llu\n"
		     "floodgate_cache_refreshes_total{result=\"succeeded\"} %llu\n"
		     "floodgate_cache_refreshes_total{result=\"failed\"} %llu\n"
		     "floodgate_cache_refreshes_total{result=\"cancelled\"} %llu\n",
		     (unsigned long long)rs, (unsigned long long)rok, (unsigned long long)rfail,
		     (unsigned long long)rcan);
	*buf = out;
	*len += (size_t)(k > 0 && k < 1024 ? k : 0);
	if (!(out = realloc(*buf, *len + 1536)))
		return 0;
	p = out + *len;
	k = snprintf(p, 1536,
		     "# HELP floodgate_cache_shared_total The shared (Redis) layer: lookups by "
		     "outcome, writes.\n"
		     "# TYPE floodgate_cache_shared_total counter\n"
		     "floodgate_cache_shared_total{result=\"hit\"} %llu\n"
		     "floodgate_cache_shared_total{result=\"miss\"} %llu\n"
		     "floodgate_cache_shared_total{result=\"error\"} %llu\n"
		     "floodgate_cache_shared_total{result=\"stored\"} %llu\n"
		     "floodgate_cache_shared_total{result=\"store_error\"} %llu\n"
		     "floodgate_cache_shared_total{result=\"too_big\"} %llu\n"
		     "# HELP floodgate_cache_shared_purged_total Shared layer entries removed by "
		     "purges.\n"
		     "# TYPE floodgate_cache_shared_purged_total counter\n"
		     "floodgate_cache_shared_purged_total %llu\n",
		     (unsigned long long)sh[0], (unsigned long long)sh[1],
		     (unsigned long long)sh[2], (unsigned long long)sh[3],
		     (unsigned long long)sh[4], (unsigned long long)sh[5],
		     (unsigned long long)__atomic_load_n(&store.shared_purged, __ATOMIC_RELAXED));
	*buf = out;
	*len += (size_t)(k > 0 && k < 1536 ? k : 0);
	return 0;
}

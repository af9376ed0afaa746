/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ban.c - abuse scoring and bans (see ban.h).
 *
 * The score table is a fixed array of 4-way sets behind striped locks, like the address
 * buckets (ratelimit.c): a flood of addresses costs bounded memory and evicts the quietest.
 * Ban records live in one array under one mutex: bans are rare events, the request path
 * reads them only while some are active (an atomic count says so), and a linear scan of
 * the few active ones is cheaper than keeping a second index right.
 *
 * A verdict is installed into the XDP map by the thread that reached it, at once (the
 * point of a ban is the next packet); the store write is queued to the ban thread, which
 * also expires bans (deleting their map entries) and prunes old records once a second.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "gw/ban.h"
#include "gw/banorigin.h"
#include "gw/banstore.h"
#include "gw/edge.h"
#include "gw/edgecfg.h"
#include "gw/ratelimit.h"
#include "gw/server.h"

#define WAYS	      4
#define STRIPES	      64
#define FORGIVE_MIN_S 86400 /* an expired ban still counts as an offence this long at least */
#define TICK_MS	      250   /* ban thread: queue, expiry */
#define SUSPECT_TABLE 16384 /* suspect buckets tracked */

struct slot {
	uint8_t key[16];
	uint64_t start_ms; /* start of the current window; 0 = free */
	uint64_t cur, prev;
};

/* The active non-edge bans, indexed for the request path: a hash per (family, prefix,
 * masked address), rebuilt on every change (bans are rare; requests are not), read under
 * a read lock. A host is looked up once per prefix length in use (usually one or two). */
struct aslot {
	struct fg_cidr c; /* family 0 = free */
	int64_t expires;
};

struct aset {
	size_t cap; /* power of two, at least twice the entries */
	struct aslot *slot;
	uint8_t plen4[33], plen6[129]; /* prefix lengths in use */
};

struct op {
	struct op *next;
	bool lift;
	gw_ban_t ban;
};

static struct {
	/* scores */
	struct slot *slots;
	size_t nsets;
	pthread_mutex_t stripes[STRIPES];
	/* records */
	pthread_mutex_t lock;
	gw_ban_t *bans;
	bool *active;
	size_t nbans;
	uint32_t nactive; /* atomic: the request path's "any ban at all?" */
	/* thread */
	pthread_t tid;
	bool running;
	int stop;
	pthread_cond_t cond;
	struct op *queue, **tail;
	gw_banstore_t *store;
	uint64_t forgive_s;
	/* publisher */
	gw_ban_publish_fn publish;
	void *publish_arg;
	gw_ratelimit_table_t *suspect;
	gw_ban_stats_t st;
	pthread_rwlock_t alock;
	struct aset *aset;
} B = { .lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.alock = PTHREAD_RWLOCK_INITIALIZER };

#define COUNT(f) __atomic_add_fetch(&B.st.f, 1, __ATOMIC_RELAXED)

/* ---- pure helpers ---- */

uint64_t gw_ban_ttl(uint64_t base, uint64_t mult, uint64_t max, uint32_t offence)
{
	uint64_t t = base;

	for (uint32_t i = 1; i < offence && t < max; i++)
		t = t > max / (mult ? mult : 1) ? max : t * mult;
	return t < max ? t : max;
}

int gw_ban_kind_of(enum gw_problem p)
{
	switch (p) {
	case GW_PROBLEM_MISSING_KEY:
	case GW_PROBLEM_INVALID_KEY:
	case GW_PROBLEM_EXPIRED_KEY:
	case GW_PROBLEM_REVOKED_KEY:
		return GW_ABUSE_AUTH;
	case GW_PROBLEM_RATE_LIMITED:
	case GW_PROBLEM_CLIENT_RATE_LIMITED:
	case GW_PROBLEM_EDGE_RATE_LIMITED:
		return GW_ABUSE_RATE_LIMITED;
	case GW_PROBLEM_NOT_FOUND:
	case GW_PROBLEM_METHOD_NOT_ALLOWED:
		return GW_ABUSE_NOT_FOUND;
	case GW_PROBLEM_BAD_REQUEST:
	case GW_PROBLEM_HEADERS_TOO_LARGE:
		return GW_ABUSE_MALFORMED;
	default:
		return -1;
	}
}

void gw_ban_net_of(const struct fg_cidr *client, unsigned v6prefix, struct fg_cidr *out)
{
	*out = *client;
	out->prefixlen = client->family == AF_INET ? 32 : v6prefix;
	fg_cidr_mask(out);
}

uint64_t gw_ban_window_score(uint64_t cur, uint64_t prev, uint64_t cur_start_ms, uint64_t now_ms,
			     uint64_t window_ms)
{
	uint64_t into = now_ms > cur_start_ms ? now_ms - cur_start_ms : 0;

	if (into >= window_ms)
		return 0; /* stale: the caller rolls the window first */
	return cur + (prev * (window_ms - into)) / window_ms;
}

static const char *const kind_names[GW_ABUSE_KIND_MAX] = {
	[GW_ABUSE_AUTH] = "auth_failure",
	[GW_ABUSE_RATE_LIMITED] = "rate_limited",
	[GW_ABUSE_NOT_FOUND] = "not_found",
	[GW_ABUSE_MALFORMED] = "malformed",
};

static uint64_t now_ms(void)
{
	return fg_mono_ns() / 1000000;
}

static bool same_cidr(const struct fg_cidr *a, const struct fg_cidr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* ---- exemptions ---- */

static bool allowlisted(const gw_config_t *cfg, const struct fg_cidr *host)
{
	const gw_edgecfg_t *ec = cfg->edge;
	struct fg_rule_entry r;
	struct fg_edgemap *em;
	bool yes;

	/* Loopback is the host itself (health checks, the admin's curl): never banned. */
	static const uint8_t v6lo[16] = { [15] = 1 };

	yes = host->family == AF_INET ? host->addr[0] == 127 : !memcmp(host->addr, v6lo, 16);
	for (size_t i = 0; i < ec->nallow && !yes; i++)
		yes = ec->allow[i].family == host->family && fg_cidr_contains(&ec->allow[i], host);
	if (!yes && (em = gw_edge_lock())) {
		yes = !fg_edgemap_rule_match(em, FG_LIST_ALLOW, host, fg_mono_ns(), &r);
		gw_edge_unlock();
	}
	return yes;
}

static bool is_edge(const gw_config_t *cfg, const struct fg_cidr *host)
{
	const gw_edgecfg_t *ec = cfg->edge;
	struct fg_edge_entry e;
	struct fg_edgemap *em;
	bool yes = gw_clientip_is_edge(cfg, host);

	for (size_t i = 0; i < ec->nedges && !yes; i++)
		yes = ec->edges[i].cidr.family == host->family &&
		      fg_cidr_contains(&ec->edges[i].cidr, host);
	if (!yes && (em = gw_edge_lock())) {
		yes = !fg_edgemap_edge_match(em, host, &e) && e.net.origin != EDGE_ORIGIN_BAN;
		gw_edge_unlock();
	}
	return yes;
}

/* ---- the maps ---- */

/* Write b into the XDP maps (a block entry, or a tightened edge entry). */
static int map_install(const gw_ban_t *b, uint64_t tighten_pct)
{
	struct fg_edgemap *em = gw_edge_lock();
	int64_t left = b->expires - (int64_t)time(NULL);
	struct fg_edge_entry e;
	int ret = 0;

	if (!em)
		return 0;
	if (left < 1)
		left = 1;
	if (!b->edge) {
		ret = fg_edgemap_rule_put(em, FG_LIST_BLOCK, &b->cidr, (uint64_t)left,
					  EDGE_MODE_INHERIT, EDGE_ORIGIN_BAN);
	} else if (!fg_edgemap_edge_match(em, &b->cidr, &e)) {
		/* A tightened /32 beside the edge's CIDR: the longest match wins, so this IP's
		 * bucket gets the lower limit and the rest of the CIDR keeps its own. */
		const struct edge_limit *l = &e.net.limit;
		uint64_t rate = l->rate * tighten_pct / 100, burst = l->burst * tighten_pct / 100;

		if (e.net.origin == EDGE_ORIGIN_BAN && same_cidr(&e.cidr, &b->cidr))
			rate = l->rate, burst = l->burst; /* already tightened: keep it */
		ret = fg_edgemap_edge_put(em, &b->cidr, rate ? rate : 1, burst ? burst : 1,
					  e.net.mode, EDGE_ORIGIN_BAN);
		if (!ret)
			COUNT(tightened);
	}
	gw_edge_unlock();
	return ret;
}

static void map_remove(const gw_ban_t *b)
{
	gw_config_t *cfg = gw_server_config(NULL);
	struct fg_edgemap *em = gw_edge_lock();
	struct edge_rule r;
	struct edge_net n;

	if (!em) {
		gw_config_unref(cfg);
		return;
	}
	if (!b->edge) {
		if (!fg_edgemap_rule_get(em, FG_LIST_BLOCK, &b->cidr, &r) &&
		    r.origin == EDGE_ORIGIN_BAN)
			fg_edgemap_rule_del(em, FG_LIST_BLOCK, &b->cidr);
	} else if (!fg_edgemap_edge_get(em, &b->cidr, &n) && n.origin == EDGE_ORIGIN_BAN) {
		fg_edgemap_edge_del(em, &b->cidr);
		/* The tightening replaced a config edge of exactly this CIDR: put it back. */
		for (size_t i = 0; cfg && i < cfg->edge->nedges; i++) {
			const gw_edgecfg_edge_t *g = &cfg->edge->edges[i];

			if (same_cidr(&g->cidr, &b->cidr))
				fg_edgemap_edge_put(em, &g->cidr, g->rate, g->burst, g->mode,
						    EDGE_ORIGIN_CONFIG);
		}
	}
	gw_edge_unlock();
	gw_config_unref(cfg);
}

/* ---- records (B.lock held) ---- */

static ssize_t find(const struct fg_cidr *c)
{
	for (size_t i = 0; i < B.nbans; i++)
		if (same_cidr(&B.bans[i].cidr, c))
			return (ssize_t)i;
	return -1;
}

/* The record of c, created when missing. NULL when full. */
static ssize_t record_of(const struct fg_cidr *c)
{
	ssize_t i = find(c);

	if (i >= 0)
		return i;
	if (!B.bans) { /* first record (gw_ban_start allocates too; a test may not call it) */
		B.bans = calloc(GW_BAN_MAX, sizeof(*B.bans));
		B.active = calloc(GW_BAN_MAX, sizeof(*B.active));
		if (!B.bans || !B.active) {
			free(B.bans);
			free(B.active);
			B.bans = NULL;
			B.active = NULL;
			return -1;
		}
	}
	if (B.nbans == GW_BAN_MAX) {
		/* Full: forget the oldest inactive record. */
		size_t old = SIZE_MAX;

		for (size_t k = 0; k < B.nbans; k++)
			if (!B.active[k] &&
			    (old == SIZE_MAX || B.bans[k].expires < B.bans[old].expires))
				old = k;
		if (old == SIZE_MAX)
			return -1;
		B.bans[old] = B.bans[--B.nbans];
		B.active[old] = B.active[B.nbans];
	}
	memset(&B.bans[B.nbans], 0, sizeof(B.bans[0]));
	B.bans[B.nbans].cidr = *c;
	B.active[B.nbans] = false;
	return (ssize_t)B.nbans++;
}

static void set_active(size_t i, bool on)
{
	if (B.active[i] != on) {
		B.active[i] = on;
		if (on)
			__atomic_add_fetch(&B.nactive, 1, __ATOMIC_RELEASE);
		else
			__atomic_sub_fetch(&B.nactive, 1, __ATOMIC_RELEASE);
	}
}

static uint64_t cidr_hash(const struct fg_cidr *c)
{
	uint64_t h = 14695981039346656037ull ^ ((uint64_t)c->family << 8 | c->prefixlen);

	for (int i = 0; i < 16; i++)
		h = (h ^ c->addr[i]) * 1099511628211ull;
	return h;
}

/* Rebuild the request path's index from the records (B.lock held). On allocation failure
 * the old index stays: it errs towards the bans it knew. */
static void rebuild_active(void)
{
	struct aset *a = calloc(1, sizeof(*a)), *old;
	size_t n = __atomic_load_n(&B.nactive, __ATOMIC_RELAXED);

	if (!a)
		return;
	for (a->cap = 16; a->cap < 2 * n + 2; a->cap *= 2)
		;
	if (!(a->slot = calloc(a->cap, sizeof(*a->slot)))) {
		free(a);
		return;
	}
	for (size_t i = 0; i < B.nbans; i++) {
		const gw_ban_t *b = &B.bans[i];
		size_t k;

		if (!B.active[i] || b->edge)
			continue;
		for (k = cidr_hash(&b->cidr) & (a->cap - 1); a->slot[k].c.family;
		     k = (k + 1) & (a->cap - 1))
			;
		a->slot[k] = (struct aslot){ b->cidr, b->expires };
		if (b->cidr.family == AF_INET)
			a->plen4[b->cidr.prefixlen] = 1;
		else
			a->plen6[b->cidr.prefixlen] = 1;
	}
	pthread_rwlock_wrlock(&B.alock);
	old = B.aset;
	B.aset = a;
	pthread_rwlock_unlock(&B.alock);
	if (old)
		free(old->slot);
	free(old);
}

static void enqueue(const gw_ban_t *b, bool lift)
{
	struct op *o = calloc(1, sizeof(*o));

	if (!o) {
		pr_err("ban: Couldn't queue the store write of a ban: out of memory");
		return;
	}
	o->ban = *b;
	o->lift = lift;
	pthread_mutex_lock(&B.lock);
	if (B.running) {
		*B.tail = o;
		B.tail = &o->next;
		pthread_cond_signal(&B.cond);
		o = NULL;
	}
	pthread_mutex_unlock(&B.lock);
	free(o);
}

/* ---- entry points ---- */

static int install(const gw_ban_t *in, uint64_t tighten_pct, bool publish, gw_ban_t *out)
{
	gw_ban_t b = *in;
	ssize_t i;
	int ret = map_install(&b, tighten_pct);

	b.installed_ns = fg_mono_ns();
	if (ret) {
		char t[FG_CIDR_STRLEN];

		pr_err("ban: Couldn't write the ban of %s into the XDP maps: %s",
		       fg_cidr_format(&b.cidr, t, sizeof(t)), strerror(-ret));
	}
	pthread_mutex_lock(&B.lock);
	i = record_of(&b.cidr);
	if (i >= 0) {
		b.hits = 0;
		B.bans[i] = b;
		set_active((size_t)i, true);
		rebuild_active();
	}
	pthread_mutex_unlock(&B.lock);
	if (i < 0)
		return -ENOSPC;
	COUNT(installed);
	enqueue(&b, false);
	if (publish && B.publish)
		B.publish(B.publish_arg, &b, false);
	if (out)
		*out = b;
	return ret;
}

int gw_ban_decide(const gw_config_t *cfg, const struct fg_cidr *c, const char *reason,
		  uint64_t score, uint64_t ttl_s, gw_ban_t *out)
{
	const gw_edgecfg_t *ec = cfg->edge;
	gw_ban_t b = { .decided_ns = fg_mono_ns() };
	struct fg_cidr host = *c;
	char t[FG_CIDR_STRLEN];
	ssize_t i;
	int ret;

	if (!c->family || c->prefixlen > fg_cidr_maxlen(c))
		return -EINVAL;
	host.prefixlen = fg_cidr_maxlen(c);
	if (allowlisted(cfg, &host)) {
		COUNT(refused_allow);
		return -EPERM;
	}
	b.edge = is_edge(cfg, &host);
	b.cidr = *c;
	if (fg_cidr_is_host(c))
		gw_ban_net_of(c, b.edge ? 128 : ec->ipv6_prefix, &b.cidr);
	fg_cidr_mask(&b.cidr);
	snprintf(b.reason, sizeof(b.reason), "%s", reason);
	if (gw_banorigin_local(cfg, b.origin, sizeof(b.origin)))
		b.origin[0] = '\0'; /* no hostname: shown as unknown, the ban still stands */
	b.score = score;
	pthread_mutex_lock(&B.lock);
	i = find(&b.cidr);
	b.offences = i >= 0 ? B.bans[i].offences + 1 : 1;
	pthread_mutex_unlock(&B.lock);
	if (!ttl_s)
		ttl_s = gw_ban_ttl(ec->ban_ttl_s, ec->ban_multiplier, ec->ban_max_ttl_s,
				   b.offences);
	b.created = (int64_t)time(NULL);
	b.expires = b.created + (int64_t)ttl_s;
	COUNT(decided);
	ret = install(&b, ec->edge_tighten_percent, true, out);
	pr_info("ban: %s %s for %llus (offence %u, %s, score %llu)",
		b.edge ? "tightened edge" : "banned", fg_cidr_format(&b.cidr, t, sizeof(t)),
		(unsigned long long)ttl_s, b.offences, b.reason, (unsigned long long)score);
	return ret;
}

int gw_ban_install(const gw_ban_t *b)
{
	gw_config_t *cfg = gw_server_config(NULL);
	uint64_t pct = cfg ? cfg->edge->edge_tighten_percent : 50;
	int ret;

	gw_config_unref(cfg);
	if (b->expires <= (int64_t)time(NULL))
		return -ETIME;
	ret = install(b, pct, false, NULL);
	return ret;
}

int gw_ban_lift(const struct fg_cidr *c, bool publish)
{
	gw_ban_t b;
	ssize_t i;

	pthread_mutex_lock(&B.lock);
	i = find(c);
	if ((i < 0 || !B.active[i]) && c->family == AF_INET6 && fg_cidr_is_host(c)) {
		/* `bans del 2001:2::1` for the /64 it was banned under */
		gw_config_t *cfg = gw_server_config(NULL);
		struct fg_cidr net;

		gw_ban_net_of(c, cfg ? cfg->edge->ipv6_prefix : EDGE_V6_PREFIX_DEFAULT, &net);
		gw_config_unref(cfg);
		i = find(&net);
	}
	if (i < 0 || !B.active[i]) {
		pthread_mutex_unlock(&B.lock);
		return -ENOENT;
	}
	set_active((size_t)i, false);
	B.bans[i].expires = (int64_t)time(NULL);
	b = B.bans[i];
	rebuild_active();
	pthread_mutex_unlock(&B.lock);
	map_remove(&b);
	COUNT(lifted);
	enqueue(&b, true);
	if (publish && B.publish)
		B.publish(B.publish_arg, &b, true);
	return 0;
}

void gw_ban_set_publisher(gw_ban_publish_fn fn, void *arg)
{
	B.publish_arg = arg;
	__atomic_store_n(&B.publish, fn, __ATOMIC_RELEASE);
}

static int cmp_hits(const void *a, const void *b)
{
	const gw_ban_t *x = a, *y = b;

	return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

int gw_ban_list(gw_ban_t **out, size_t *n)
{
	struct fg_edgemap *em;
	gw_ban_t *v;
	size_t k = 0;

	pthread_mutex_lock(&B.lock);
	v = malloc((B.nbans + 1) * sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&B.lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < B.nbans; i++)
		if (B.active[i])
			v[k++] = B.bans[i];
	pthread_mutex_unlock(&B.lock);
	if ((em = gw_edge_lock())) {
		for (size_t i = 0; i < k; i++) {
			struct edge_rule r;
			struct edge_net e;

			if (!v[i].edge && !fg_edgemap_rule_get(em, FG_LIST_BLOCK, &v[i].cidr, &r))
				v[i].hits = r.hits;
			else if (v[i].edge && !fg_edgemap_edge_get(em, &v[i].cidr, &e))
				v[i].hits = e.hits;
		}
		gw_edge_unlock();
	}
	qsort(v, k, sizeof(*v), cmp_hits);
	*out = v;
	*n = k;
	return 0;
}

void gw_ban_stats(gw_ban_stats_t *out)
{
	out->decided = __atomic_load_n(&B.st.decided, __ATOMIC_RELAXED);
	out->installed = __atomic_load_n(&B.st.installed, __ATOMIC_RELAXED);
	out->lifted = __atomic_load_n(&B.st.lifted, __ATOMIC_RELAXED);
	out->expired = __atomic_load_n(&B.st.expired, __ATOMIC_RELAXED);
	out->refused_allow = __atomic_load_n(&B.st.refused_allow, __ATOMIC_RELAXED);
	out->tightened = __atomic_load_n(&B.st.tightened, __ATOMIC_RELAXED);
	out->l7_refused = __atomic_load_n(&B.st.l7_refused, __ATOMIC_RELAXED);
	out->suspect_refused = __atomic_load_n(&B.st.suspect_refused, __ATOMIC_RELAXED);
	out->active = __atomic_load_n(&B.nactive, __ATOMIC_RELAXED);
}

/* ---- the request path ---- */

/* Seconds left of the active non-edge ban covering host, 0 when none. */
static uint64_t banned_for(const struct fg_cidr *host)
{
	int64_t now = (int64_t)time(NULL);
	unsigned max = host->family == AF_INET ? 32 : 128;
	uint64_t left = 0;
	const struct aset *a;

	pthread_rwlock_rdlock(&B.alock);
	a = B.aset;
	for (int p = (int)max; a && p >= 0 && !left; p--) {
		const uint8_t *in_use = host->family == AF_INET ? a->plen4 : a->plen6;
		struct fg_cidr net = *host;

		if (!in_use[p])
			continue;
		net.prefixlen = (unsigned)p;
		fg_cidr_mask(&net);
		for (size_t k = cidr_hash(&net) & (a->cap - 1); a->slot[k].c.family;
		     k = (k + 1) & (a->cap - 1)) {
			if (same_cidr(&a->slot[k].c, &net)) {
				if (a->slot[k].expires > now)
					left = (uint64_t)(a->slot[k].expires - now);
				break;
			}
		}
	}
	pthread_rwlock_unlock(&B.alock);
	return left;
}

void gw_ban_note(const gw_config_t *cfg, const gw_clientip_t *ip, enum gw_problem p)
{
	const gw_edgecfg_t *ec = cfg->edge;
	int kind = gw_ban_kind_of(p);
	struct fg_cidr net;
	struct slot *set, *s = NULL;
	pthread_mutex_t *lk;
	uint64_t now, h = 14695981039346656037ull, score;
	bool ban = false;

	if (!ec->abuse_on || kind < 0 || !ec->weights[kind] || !B.slots)
		return;
	/* A refusal of a client already banned is the ban working, not new abuse. */
	if (__atomic_load_n(&B.nactive, __ATOMIC_ACQUIRE) && banned_for(&ip->client))
		return;
	gw_ban_net_of(&ip->client, ec->ipv6_prefix, &net);
	for (int i = 0; i < 16; i++)
		h = (h ^ net.addr[i]) * 1099511628211ull;
	h ^= (uint64_t)net.family;
	set = &B.slots[(h % B.nsets) * WAYS];
	lk = &B.stripes[h % STRIPES];
	now = now_ms();
	pthread_mutex_lock(lk);
	for (int w = 0; w < WAYS; w++)
		if (set[w].start_ms && !memcmp(set[w].key, net.addr, 16)) {
			s = &set[w];
			break;
		}
	if (!s) {
		/* The way with the oldest window goes. */
		s = &set[0];
		for (int w = 1; w < WAYS; w++)
			if (set[w].start_ms < s->start_ms)
				s = &set[w];
		memcpy(s->key, net.addr, 16);
		s->start_ms = now ? now : 1;
		s->cur = s->prev = 0;
	}
	if (now - s->start_ms >= ec->window_ms) {
		uint64_t n = (now - s->start_ms) / ec->window_ms;

		s->prev = n == 1 ? s->cur : 0;
		s->cur = 0;
		s->start_ms += n * ec->window_ms;
	}
	s->cur += ec->weights[kind];
	score = gw_ban_window_score(s->cur, s->prev, s->start_ms, now, ec->window_ms);
	if (score >= ec->threshold) {
		ban = true;
		s->cur = s->prev = 0; /* the ban answers this score; start again after it */
	}
	pthread_mutex_unlock(lk);
	if (!ban)
		return;
	gw_ban_decide(cfg, &ip->client, kind_names[kind], score, 0, NULL);
	/* Through an edge that named the client: the edge's bucket is tightened too. */
	if (ip->via_edge && !same_cidr(&ip->client, &ip->peer))
		gw_ban_decide(cfg, &ip->peer, kind_names[kind], score, 0, NULL);
}

static __thread uint64_t suspect_conn = UINT64_MAX;
static __thread bool suspect_marked;

bool gw_ban_wants_ip(const gw_config_t *cfg)
{
	const gw_edgecfg_t *ec = cfg->edge;

	return __atomic_load_n(&B.nactive, __ATOMIC_ACQUIRE) || (ec->suspect_on && B.suspect) ||
	       (ec->abuse_on && B.slots);
}

enum gw_problem gw_ban_check(const gw_config_t *cfg, const gw_clientip_t *ip, uint64_t conn_id,
			     uint64_t now_ns, uint64_t *retry_s)
{
	const gw_edgecfg_t *ec = cfg->edge;
	gw_ratelimit_state_t st;
	uint8_t key[16];
	uint64_t left;

	if (__atomic_load_n(&B.nactive, __ATOMIC_ACQUIRE) && (left = banned_for(&ip->client))) {
		COUNT(l7_refused);
		*retry_s = left;
		return GW_PROBLEM_CLIENT_RATE_LIMITED;
	}
	if (!ec->suspect_on || !B.suspect)
		return GW_PROBLEM_NONE;
	/* fg_marked is keyed by the packet's source: the TCP peer. One lookup per connection. */
	if (suspect_conn != conn_id) {
		suspect_conn = conn_id;
		suspect_marked = gw_edge_marked(&ip->peer, ec->suspect_window_s);
	}
	if (!suspect_marked)
		return GW_PROBLEM_NONE;
	gw_clientip_bucket_key(&ip->client, ec->ipv6_prefix, key);
	if (gw_ratelimit_table_take(B.suspect, key, now_ns, &ec->suspect, &st))
		return GW_PROBLEM_NONE;
	COUNT(suspect_refused);
	*retry_s = st.retry_after_s;
	return GW_PROBLEM_CLIENT_RATE_LIMITED;
}

/* ---- the ban thread ---- */

static void expire(void)
{
	int64_t now = (int64_t)time(NULL);
	gw_ban_t gone[64];
	size_t n = 0;

	pthread_mutex_lock(&B.lock);
	for (size_t i = 0; i < B.nbans && n < 64; i++) {
		if (B.active[i] && B.bans[i].expires <= now) {
			set_active(i, false);
			gone[n++] = B.bans[i];
		}
	}
	if (n)
		rebuild_active();
	/* Records past forgiveness are forgotten (the store prunes the same). */
	for (size_t i = 0; i < B.nbans;) {
		if (!B.active[i] && B.bans[i].expires + (int64_t)B.forgive_s < now) {
			B.bans[i] = B.bans[--B.nbans];
			B.active[i] = B.active[B.nbans];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&B.lock);
	for (size_t i = 0; i < n; i++) {
		char t[FG_CIDR_STRLEN];

		map_remove(&gone[i]);
		COUNT(expired);
		pr_info("ban: %s of %s expired", gone[i].edge ? "tightening" : "ban",
			fg_cidr_format(&gone[i].cidr, t, sizeof(t)));
	}
}

static void *run(void *arg)
{
	char err[256];
	uint64_t last_prune = 0;

	for (;;) {
		struct timespec ts;
		struct op *q;
		int stop;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&B.lock);
		if (!B.queue && !B.stop)
			pthread_cond_timedwait(&B.cond, &B.lock, &ts);
		q = B.queue;
		B.queue = NULL;
		B.tail = &B.queue;
		stop = B.stop;
		pthread_mutex_unlock(&B.lock);
		while (q) {
			struct op *next = q->next;
			int ret = q->lift ? gw_banstore_lift(B.store, &q->ban.cidr, q->ban.expires,
							     err, sizeof(err))
					  : gw_banstore_put(B.store, &q->ban, err, sizeof(err));

			if (ret && ret != -ENOENT)
				pr_err("ban: %s", err);
			free(q);
			q = next;
		}
		expire();
		if (fg_mono_ns() - last_prune > 60ull * 1000000000ull) {
			last_prune = fg_mono_ns();
			if (gw_banstore_prune(B.store, (int64_t)time(NULL) - (int64_t)B.forgive_s,
					      err, sizeof(err)))
				pr_err("ban: %s", err);
		}
		if (stop)
			break;
	}
	return NULL;
}

static int restore_one(void *arg, const gw_ban_t *b)
{
	uint64_t pct = *(uint64_t *)arg;
	ssize_t i;

	if (b->expires > (int64_t)time(NULL))
		return install(b, pct, false, NULL) == -ENOSPC ? 1 : 0;
	/* Expired: remembered for the repeat rule only. */
	pthread_mutex_lock(&B.lock);
	i = record_of(&b->cidr);
	if (i >= 0)
		B.bans[i] = *b;
	pthread_mutex_unlock(&B.lock);
	return 0;
}

int gw_ban_remember(const gw_ban_t *b)
{
	ssize_t i;

	pthread_mutex_lock(&B.lock);
	i = record_of(&b->cidr);
	if (i >= 0 && !B.active[i]) {
		B.bans[i] = *b;
		B.bans[i].hits = 0;
	}
	pthread_mutex_unlock(&B.lock);
	return i >= 0 ? 0 : -ENOSPC;
}

struct orphans {
	gw_ban_t *v;
	size_t n, cap;
};

static bool known(const struct fg_cidr *c, bool edge)
{
	ssize_t i;
	bool yes;

	pthread_mutex_lock(&B.lock);
	i = find(c);
	yes = i >= 0 && B.active[i] && B.bans[i].edge == edge;
	pthread_mutex_unlock(&B.lock);
	return yes;
}

static int orphan_add(struct orphans *o, const struct fg_cidr *c, bool edge)
{
	if (known(c, edge))
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		gw_ban_t *v = cap <= GW_BAN_MAX ? realloc(o->v, cap * sizeof(*v)) : NULL;

		if (!v)
			return 1; /* enough for one sweep; the rest expire by their TTL */
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = (gw_ban_t){ .cidr = *c, .edge = edge };
	return 0;
}

static int orphan_rule(const struct fg_rule_entry *e, void *arg)
{
	return e->rule.origin == EDGE_ORIGIN_BAN ? orphan_add(arg, &e->cidr, false) : 0;
}

static int orphan_edge(const struct fg_edge_entry *e, void *arg)
{
	return e->net.origin == EDGE_ORIGIN_BAN ? orphan_add(arg, &e->cidr, true) : 0;
}

size_t gw_ban_sweep_orphans(void)
{
	struct orphans o = { 0 };
	struct fg_edgemap *em = gw_edge_lock();

	if (!em)
		return 0;
	fg_edgemap_rule_foreach(em, FG_LIST_BLOCK, orphan_rule, &o);
	fg_edgemap_edge_foreach(em, orphan_edge, &o);
	gw_edge_unlock();
	for (size_t i = 0; i < o.n; i++) {
		char t[FG_CIDR_STRLEN];

		map_remove(&o.v[i]);
		pr_info("ban: %s of %s is in the maps but no longer in force: removed",
			o.v[i].edge ? "tightening" : "ban",
			fg_cidr_format(&o.v[i].cidr, t, sizeof(t)));
	}
	free(o.v);
	return o.n;
}

int gw_ban_start(const gw_config_t *cfg, char *err, size_t errlen)
{
	const gw_edgecfg_t *ec = cfg->edge;
	uint64_t pct = ec->edge_tighten_percent;
	size_t restored;
	int ret;

	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&B.stripes[i], NULL);
	B.nsets = ec->table_size / WAYS;
	B.slots = calloc(B.nsets * WAYS, sizeof(*B.slots));
	pthread_mutex_lock(&B.lock);
	if (!B.bans) {
		B.bans = calloc(GW_BAN_MAX, sizeof(*B.bans));
		B.active = calloc(GW_BAN_MAX, sizeof(*B.active));
	}
	pthread_mutex_unlock(&B.lock);
	B.suspect = gw_ratelimit_table_new(SUSPECT_TABLE);
	B.tail = &B.queue;
	B.forgive_s = ec->ban_max_ttl_s > FORGIVE_MIN_S ? ec->ban_max_ttl_s : FORGIVE_MIN_S;
	if (!B.slots || !B.bans || !B.active || !B.suspect) {
		snprintf(err, errlen, "Couldn't allocate the abuse tables: out of memory");
		return -ENOMEM;
	}
	if (!(B.store = gw_banstore_open(cfg->store.path, err, errlen)))
		return -EIO;
	/* Restored before the thread runs: install() queues nothing yet (not running). */
	ret = gw_banstore_load(B.store, restore_one, &pct, err, errlen);
	if (ret)
		return ret;
	restored = __atomic_load_n(&B.nactive, __ATOMIC_RELAXED);
	B.running = true;
	ret = pthread_create(&B.tid, NULL, run, NULL);
	if (ret) {
		B.running = false;
		snprintf(err, errlen, "Couldn't start the ban thread: %s", strerror(ret));
		return -ret;
	}
	pthread_setname_np(B.tid, "fg-ban");
	if (restored)
		pr_info("ban: %zu active bans restored from the store", restored);
	return 0;
}

void gw_ban_stop(void)
{
	pthread_mutex_lock(&B.lock);
	if (!B.running) {
		pthread_mutex_unlock(&B.lock);
		return;
	}
	B.stop = 1;
	pthread_cond_signal(&B.cond);
	pthread_mutex_unlock(&B.lock);
	pthread_join(B.tid, NULL);
	pthread_mutex_lock(&B.lock);
	B.running = false;
	pthread_mutex_unlock(&B.lock);
	gw_banstore_close(B.store);
	B.store = NULL;
}

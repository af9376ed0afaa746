/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ratelimit.c - request token buckets and their header values (see ratelimit.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "gw/ratelimit.h"

/* Ways per set of the address table: a set is one lock's worth of linear search. */
#define WAYS  8
/* Lock stripes of the address table. */
#define LOCKS 1024

struct slot {
	uint8_t addr[16];
	struct edge_bucket b; /* stamp_ns 0: free slot */
};

struct st_gw_ratelimit_table_t {
	size_t nsets; /* power of two */
	struct slot *slots;
	pthread_mutex_t locks[LOCKS];
};

static uint64_t ceil_s(uint64_t ns)
{
	return ns / TB_NS_PER_S + (ns % TB_NS_PER_S != 0);
}

void gw_ratelimit_state(const gw_limit_t *l, uint64_t credit_ns, gw_ratelimit_state_t *st)
{
	uint64_t wait = tb_wait_ns(credit_ns, l->interval_ns, l->cap_ns, 1);

	if (credit_ns > l->cap_ns)
		credit_ns = l->cap_ns;
	st->limit = l->burst;
	st->remaining = credit_ns / l->interval_ns;
	st->reset_s = ceil_s(l->cap_ns - credit_ns);
	st->retry_after_s = wait == ~0ULL ? l->window_s : ceil_s(wait);
}

int gw_ratelimit_take(struct edge_bucket *b, uint64_t now_ns, const gw_limit_t *l,
		      gw_ratelimit_state_t *st)
{
	int ok;

	if (!b->stamp_ns)
		tb_init(b, now_ns, l->cap_ns);
	ok = tb_take(b, now_ns, l->interval_ns, l->cap_ns, 1);
	gw_ratelimit_state(l, b->credit_ns, st);
	return ok;
}

void gw_ratelimit_peek(const struct edge_bucket *b, uint64_t now_ns, const gw_limit_t *l,
		       gw_ratelimit_state_t *st)
{
	uint64_t credit =
		b->stamp_ns ? tb_refill(b->credit_ns, b->stamp_ns, now_ns, l->cap_ns) : l->cap_ns;

	gw_ratelimit_state(l, credit, st);
}

size_t gw_ratelimit_u64(char *buf, uint64_t v)
{
	/* The digits counted by comparisons, then written in place from the last: cheaper
	 * than producing them elsewhere and copying them (a memcpy() call), above all for the
	 * short numbers most headers carry (Age, t=). */
	static const uint64_t pow10[19] = {
		10ULL,
		100ULL,
		1000ULL,
		10000ULL,
		100000ULL,
		1000000ULL,
		10000000ULL,
		100000000ULL,
		1000000000ULL,
		10000000000ULL,
		100000000000ULL,
		1000000000000ULL,
		10000000000000ULL,
		100000000000000ULL,
		1000000000000000ULL,
		10000000000000000ULL,
		100000000000000000ULL,
		1000000000000000000ULL,
		10000000000000000000ULL,
	};
	size_t n = 1;
	char *p;

	while (n < 20 && v >= pow10[n - 1])
		n++;
	p = buf + n;
	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return n;
}

size_t gw_ratelimit_header(const char *name, const gw_ratelimit_state_t *st, char *buf, size_t len)
{
	size_t nlen = strlen(name), o;

	/* quotes, ";r=", ";t=", two numbers of at most 20 digits, NUL */
	if (len < nlen + 2 + 6 + 40 + 1)
		return 0;
	buf[0] = '"';
	memcpy(buf + 1, name, nlen);
	o = nlen + 1;
	memcpy(buf + o, "\";r=", 4);
	o += 4;
	o += gw_ratelimit_u64(buf + o, st->remaining);
	memcpy(buf + o, ";t=", 3);
	o += 3;
	o += gw_ratelimit_u64(buf + o, st->reset_s);
	return o;
}

gw_ratelimit_table_t *gw_ratelimit_table_new(size_t capacity)
{
	gw_ratelimit_table_t *t = calloc(1, sizeof(*t));
	size_t sets = 1;

	if (!t)
		return NULL;
	while (sets * WAYS < capacity)
		sets <<= 1;
	t->nsets = sets;
	t->slots = calloc(sets * WAYS, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_init(&t->locks[i], NULL);
	return t;
}

void gw_ratelimit_table_free(gw_ratelimit_table_t *t)
{
	if (!t)
		return;
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&t->locks[i]);
	free(t->slots);
	free(t);
}

/* FNV-1a over the address, then a final mix: addresses are not random, unlike digests. */
static uint64_t addr_hash(const uint8_t a[16])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < 16; i++) {
		h ^= a[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

int gw_ratelimit_table_take(gw_ratelimit_table_t *t, const uint8_t addr[16], uint64_t now_ns,
			    const gw_limit_t *l, gw_ratelimit_state_t *st)
{
	uint64_t h = addr_hash(addr);
	size_t set = (size_t)h & (t->nsets - 1);
	struct slot *s = &t->slots[set * WAYS], *victim = NULL, *hit = NULL;
	pthread_mutex_t *m = &t->locks[set & (LOCKS - 1)];
	int ok;

	pthread_mutex_lock(m);
	for (int w = 0; w < WAYS; w++) {
		if (s[w].b.stamp_ns && !memcmp(s[w].addr, addr, 16)) {
			hit = &s[w];
			break;
		}
		if (!victim || !s[w].b.stamp_ns ||
		    (victim->b.stamp_ns && s[w].b.stamp_ns < victim->b.stamp_ns))
			victim = &s[w];
	}
	if (!hit) {
		hit = victim;
		memcpy(hit->addr, addr, 16);
		hit->b.stamp_ns = 0;
	}
	ok = gw_ratelimit_take(&hit->b, now_ns, l, st);
	pthread_mutex_unlock(m);
	return ok;
}

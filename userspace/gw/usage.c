/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * usage.c - the embedded quota counters (see usage.h).
 *
 * Lock stripes by key, each a chained hash table that grows on its own. Keys are digest
 * bytes, so they are uniformly spread already and need no further hashing. A key's slots
 * sit in its entry, so one lock and one lookup cover a whole request's counters.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/lock.h"
#include "gw/usage.h"

/* Lock stripes (a power of two). */
#define STRIPES	       64
/* Initial chains per stripe (a power of two); doubled when entries outnumber chains. */
#define STRIPE_BUCKETS 16

typedef struct st_slot_t {
	char period[GW_QUOTA_PERIOD_LEN]; /* "" = never used */
	uint64_t used;
	uint64_t overage;
	int64_t reset_at;
	bool dirty;
} slot_t;

typedef struct st_entry_t {
	struct st_entry_t *next;
	uint64_t key;
	/* The periods of every slot are those of gw_usage_add()'s counters of this generation
	 * (gw_quota_template()); 0: unknown. Any other change of a period clears it. */
	uint64_t gen;
	slot_t slots[GW_QUOTA_KINDS];
} entry_t;

typedef struct st_stripe_t {
	gw_lock_t lock;
	entry_t **buckets;
	size_t nbuckets;
	size_t count;
} __attribute__((aligned(64))) stripe_t;

struct st_gw_usage_t {
	stripe_t stripes[STRIPES];
};

uint64_t gw_usage_key_of_digest(const uint8_t digest[32])
{
	uint64_t k;

	/* the first 8 bytes, big-endian: one load (and a byte swap) */
	memcpy(&k, digest, 8);
	return be64toh(k);
}

int gw_usage_key_of_id(const char *id, uint64_t *out)
{
	uint64_t k = 0;

	if (!id || strlen(id) != 16)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		char ch = id[i];
		unsigned v;

		if (ch >= '0' && ch <= '9')
			v = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = (unsigned)(ch - 'a' + 10);
		else
			return -EINVAL;
		k = k << 4 | v;
	}
	*out = k;
	return 0;
}

gw_usage_t *gw_usage_new(void)
{
	gw_usage_t *u = aligned_alloc(64, sizeof(*u));

	if (!u)
		return NULL;
	memset(u, 0, sizeof(*u));
	for (int i = 0; i < STRIPES; i++) {
		stripe_t *s = &u->stripes[i];

		s->lock = (gw_lock_t)GW_LOCK_INIT;
		s->nbuckets = STRIPE_BUCKETS;
		if (!(s->buckets = calloc(s->nbuckets, sizeof(*s->buckets)))) {
			while (i-- > 0)
				free(u->stripes[i].buckets);
			free(u);
			return NULL;
		}
	}
	return u;
}

void gw_usage_free(gw_usage_t *u)
{
	if (!u)
		return;
	for (int i = 0; i < STRIPES; i++) {
		stripe_t *s = &u->stripes[i];

		for (size_t b = 0; b < s->nbuckets; b++) {
			entry_t *e = s->buckets[b], *next;

			for (; e; e = next) {
				next = e->next;
				free(e);
			}
		}
		free(s->buckets);
	}
	free(u);
}

static stripe_t *stripe_of(gw_usage_t *u, uint64_t key)
{
	return &u->stripes[key & (STRIPES - 1)];
}

static size_t bucket_of(const stripe_t *s, uint64_t key)
{
	return (size_t)(key >> 6) & (s->nbuckets - 1);
}

static entry_t *find(stripe_t *s, uint64_t key)
{
	entry_t *e = s->buckets[bucket_of(s, key)];

	while (e && e->key != key)
		e = e->next;
	return e;
}

/* Double the chains; on allocation failure the table simply stays denser. */
static void grow(stripe_t *s)
{
	size_t nb = s->nbuckets * 2;
	entry_t **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		entry_t *e = s->buckets[i], *next;

		for (; e; e = next) {
			size_t j = (size_t)(e->key >> 6) & (nb - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static entry_t *find_or_add(stripe_t *s, uint64_t key)
{
	entry_t *e = find(s, key);
	size_t b;

	if (e)
		return e;
	if (!(e = calloc(1, sizeof(*e))))
		return NULL;
	if (s->count >= s->nbuckets)
		grow(s);
	e->key = key;
	b = bucket_of(s, key);
	e->next = s->buckets[b];
	s->buckets[b] = e;
	s->count++;
	return e;
}

/* What the slot holds for counter c's period (0 when it counts another period). */
static uint64_t current(const slot_t *sl, const gw_quota_counter_t *c, uint64_t *overage)
{
	bool same = gw_quota_same_period(sl->period, c->period);

	if (overage)
		*overage = same ? sl->overage : 0;
	return same ? sl->used : 0;
}

int gw_usage_debit(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n,
		   uint64_t *over, size_t *failed)
{
	stripe_t *s = stripe_of(u, key);
	entry_t *e;
	int ret = 0;

	gw_lock(&s->lock);
	e = find(s, key);
	/* Check every hard limit before touching anything: all or nothing. */
	for (size_t i = 0; i < n; i++) {
		uint64_t used;

		if (!c[i].limit || c[i].soft) /* nothing to refuse: the count is not needed */
			continue;
		used = e ? current(&e->slots[c[i].kind], &c[i], NULL) : 0;
		if (used + c[i].cost > c[i].limit) {
			if (failed)
				*failed = i;
			ret = -EDQUOT;
			goto out;
		}
	}
	if (!e && !(e = find_or_add(s, key))) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		slot_t *sl = &e->slots[c[i].kind];
		uint64_t used, next, o = 0;

		if (!gw_quota_same_period(sl->period, c[i].period)) {
			memcpy(sl->period, c[i].period, sizeof(sl->period));
			sl->used = sl->overage = 0;
			sl->reset_at = c[i].reset_at;
			sl->dirty = true;
			e->gen = 0;
		}
		used = sl->used;
		next = used + c[i].cost;
		if (c[i].limit && next > c[i].limit)
			o = next - (used > c[i].limit ? used : c[i].limit);
		if (c[i].cost) {
			sl->used = next;
			sl->overage += o;
			sl->dirty = true;
		}
		if (over)
			over[i] = o;
	}
out:
	gw_unlock(&s->lock);
	return ret;
}

int gw_usage_add(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n, uint64_t gen)
{
	stripe_t *s = stripe_of(u, key);
	entry_t *e;
	int ret = 0;

	gw_lock(&s->lock);
	if (!(e = find_or_add(s, key))) {
		ret = -ENOMEM;
		goto out;
	}
	if (gen && e->gen == gen) {
		/* The slots hold these periods already: only the costs to add. */
		for (size_t i = 0; i < n; i++) {
			if (c[i].cost) {
				e->slots[c[i].kind].used += c[i].cost;
				e->slots[c[i].kind].dirty = true;
			}
		}
		goto out;
	}
	/* gw_usage_debit()'s second loop where no counter has a limit (no overage) */
	for (size_t i = 0; i < n; i++) {
		slot_t *sl = &e->slots[c[i].kind];

		if (!gw_quota_same_period(sl->period, c[i].period)) {
			memcpy(sl->period, c[i].period, sizeof(sl->period));
			sl->used = sl->overage = 0;
			sl->reset_at = c[i].reset_at;
			sl->dirty = true;
		}
		if (c[i].cost) {
			sl->used += c[i].cost;
			sl->dirty = true;
		}
	}
	/* every kind was given: the slots hold gen's periods now */
	e->gen = n == GW_QUOTA_KINDS ? gen : 0;
out:
	gw_unlock(&s->lock);
	return ret;
}

void gw_usage_refund(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n,
		     const uint64_t *over)
{
	stripe_t *s = stripe_of(u, key);
	entry_t *e;

	gw_lock(&s->lock);
	if ((e = find(s, key))) {
		for (size_t i = 0; i < n; i++) {
			slot_t *sl = &e->slots[c[i].kind];
			uint64_t o = over ? over[i] : 0;

			/* A period that ended since is settled: nothing to give back there. */
			if (!gw_quota_same_period(sl->period, c[i].period) || !c[i].cost)
				continue;
			sl->used -= sl->used < c[i].cost ? sl->used : c[i].cost;
			sl->overage -= sl->overage < o ? sl->overage : o;
			sl->dirty = true;
		}
	}
	gw_unlock(&s->lock);
}

void gw_usage_read(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n,
		   uint64_t *used, uint64_t *overage)
{
	stripe_t *s = stripe_of(u, key);
	entry_t *e;

	gw_lock(&s->lock);
	e = find(s, key);
	for (size_t i = 0; i < n; i++) {
		uint64_t o = 0;

		used[i] = e ? current(&e->slots[c[i].kind], &c[i], &o) : 0;
		if (overage)
			overage[i] = o;
	}
	gw_unlock(&s->lock);
}

/* Whether nothing in e needs keeping: every slot clean and its period over. */
static bool expired(const entry_t *e, int64_t now)
{
	for (int k = 0; k < GW_QUOTA_KINDS; k++)
		if (e->slots[k].dirty || (e->slots[k].period[0] && e->slots[k].reset_at > now))
			return false;
	return true;
}

int gw_usage_collect(gw_usage_t *u, int64_t now, gw_usage_row_t **rows, size_t *n)
{
	gw_usage_row_t *out = NULL;
	size_t cap = 0, len = 0;

	for (int i = 0; i < STRIPES; i++) {
		stripe_t *s = &u->stripes[i];

		gw_lock(&s->lock);
		for (size_t b = 0; b < s->nbuckets; b++) {
			entry_t **pp = &s->buckets[b], *e;

			while ((e = *pp)) {
				if (expired(e, now)) {
					*pp = e->next;
					s->count--;
					free(e);
					continue;
				}
				for (int k = 0; k < GW_QUOTA_KINDS; k++) {
					slot_t *sl = &e->slots[k];

					if (!sl->dirty)
						continue;
					if (len == cap) {
						size_t nc = cap ? cap * 2 : 256;
						gw_usage_row_t *r = realloc(out, nc * sizeof(*r));

						if (!r) {
							gw_unlock(&s->lock);
							gw_usage_redirty(u, out, len);
							free(out);
							return -ENOMEM;
						}
						out = r;
						cap = nc;
					}
					out[len] = (gw_usage_row_t){
						.key = e->key,
						.kind = (uint8_t)k,
						.used = sl->used,
						.overage = sl->overage,
						.reset_at = sl->reset_at,
					};
					memcpy(out[len].period, sl->period, sizeof(sl->period));
					len++;
					sl->dirty = false;
				}
				pp = &e->next;
			}
		}
		gw_unlock(&s->lock);
	}
	*rows = out;
	*n = len;
	return 0;
}

void gw_usage_redirty(gw_usage_t *u, const gw_usage_row_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		stripe_t *s = stripe_of(u, rows[i].key);
		entry_t *e;

		if (rows[i].kind >= GW_QUOTA_KINDS)
			continue;
		gw_lock(&s->lock);
		if ((e = find(s, rows[i].key)) &&
		    gw_quota_same_period(e->slots[rows[i].kind].period, rows[i].period))
			e->slots[rows[i].kind].dirty = true;
		gw_unlock(&s->lock);
	}
}

int gw_usage_restore(gw_usage_t *u, const gw_usage_row_t *r, int64_t now)
{
	stripe_t *s = stripe_of(u, r->key);
	entry_t *e;
	slot_t *sl;

	if (r->kind >= GW_QUOTA_KINDS || r->reset_at <= now || !r->period[0])
		return 0;
	gw_lock(&s->lock);
	if (!(e = find_or_add(s, r->key))) {
		gw_unlock(&s->lock);
		return -ENOMEM;
	}
	sl = &e->slots[r->kind];
	e->gen = 0;
	gw_quota_set_period(sl->period, r->period);
	sl->used = r->used;
	sl->overage = r->overage;
	sl->reset_at = r->reset_at;
	sl->dirty = false;
	gw_unlock(&s->lock);
	return 0;
}

size_t gw_usage_count(gw_usage_t *u)
{
	size_t n = 0;

	for (int i = 0; i < STRIPES; i++) {
		gw_lock(&u->stripes[i].lock);
		n += u->stripes[i].count;
		gw_unlock(&u->stripes[i].lock);
	}
	return n;
}

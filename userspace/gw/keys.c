/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * keys.c - the striped in-memory key table (see keys.h).
 *
 * Digests are SHA-256 outputs, uniformly distributed, so their first 8 bytes are the hash:
 * the low bits pick the stripe, the next ones the chain inside the stripe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gw/apikey.h"
#include "gw/keys.h"

/* Lock stripes: enough that two threads rarely meet on one, few enough to stay small. */
#define STRIPES_SHIFT 10
#define STRIPES	      (1u << STRIPES_SHIFT)
/* Smallest chain array of a stripe. */
#define MIN_BUCKETS   4
/* Bulk-load slabs: aligned, so an entry finds its slab's header by masking its address. */
#define SLAB_BYTES    (2u << 20)
#define SLAB_ENTRIES  (SLAB_BYTES / sizeof(gw_key_entry_t) - 1) /* the first slot is the header */

struct slab {
	size_t live; /* entries not freed yet; atomic once the slab is published */
	size_t used; /* entries handed out (building only) */
};

struct stripe {
	gw_lock_t lock;
	gw_key_entry_t **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
} __attribute__((aligned(64)));

struct st_gw_keys_t {
	struct stripe stripes[STRIPES];
	size_t count; /* atomic */
};

struct st_gw_keys_batch_t {
	gw_key_entry_t *head[STRIPES];
	size_t count[STRIPES];
	struct slab *slab; /* being filled */
};

/* A slab from mmap, aligned to its size (mapped twice as large, the excess unmapped), so
 * that unmapping it really returns the memory. */
static struct slab *slab_new(void)
{
	uint8_t *p = mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + 2 * SLAB_BYTES > a + SLAB_BYTES)
		munmap((void *)(a + SLAB_BYTES), (uintptr_t)p + 2 * SLAB_BYTES - (a + SLAB_BYTES));
	return (struct slab *)a; /* fresh anonymous memory: zeroed */
}

static void entry_free(gw_key_entry_t *e)
{
	struct slab *s;

	if (!(e->flags & GW_KEY_F_SLAB)) {
		free(e);
		return;
	}
	s = (struct slab *)((uintptr_t)e & ~(uintptr_t)(SLAB_BYTES - 1));
	if (__atomic_sub_fetch(&s->live, 1, __ATOMIC_ACQ_REL) == 0)
		munmap(s, SLAB_BYTES);
}

static const char *const status_names[GW_KEY_STATUS_MAX] = { "active", "blocked", "revoked" };

const char *gw_key_status_name(enum gw_key_status s)
{
	return (unsigned)s < GW_KEY_STATUS_MAX ? status_names[s] : "unknown";
}

int gw_key_status_of(const char *s)
{
	for (int i = 0; i < GW_KEY_STATUS_MAX; i++)
		if (!strcmp(s, status_names[i]))
			return i;
	return -1;
}

static uint64_t hash_of(const uint8_t d[32])
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));
	return h;
}

static struct stripe *stripe_of(gw_keys_t *t, uint64_t h)
{
	return &t->stripes[h & (STRIPES - 1)];
}

static size_t bucket_of(const struct stripe *s, uint64_t h)
{
	return (h >> STRIPES_SHIFT) & (s->nbuckets - 1);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = MIN_BUCKETS;

	while (p < n)
		p <<= 1;
	return p;
}

gw_keys_t *gw_keys_new(size_t expected)
{
	gw_keys_t *t = aligned_alloc(64, sizeof(*t));
	size_t per = pow2_at_least(expected / STRIPES + 1);

	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < STRIPES; i++) {
		struct stripe *s = &t->stripes[i];

		s->lock = (gw_lock_t)GW_LOCK_INIT;
		s->nbuckets = per;
		s->buckets = calloc(per, sizeof(*s->buckets));
		if (!s->buckets) {
			gw_keys_free(t);
			return NULL;
		}
	}
	return t;
}

static void free_chains(gw_key_entry_t **buckets, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		gw_key_entry_t *e = buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
}

void gw_keys_free(gw_keys_t *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < STRIPES; i++) {
		if (t->stripes[i].buckets)
			free_chains(t->stripes[i].buckets, t->stripes[i].nbuckets);
		free(t->stripes[i].buckets);
	}
	free(t);
}

size_t gw_keys_count(const gw_keys_t *t)
{
	return __atomic_load_n(&t->count, __ATOMIC_RELAXED);
}

static gw_key_entry_t *find(struct stripe *s, uint64_t h, const uint8_t d[32])
{
	gw_key_entry_t *e = s->buckets[bucket_of(s, h)];

	for (; e; e = e->next)
		if (gw_apikey_digest_equal(e->digest, d))
			return e;
	return NULL;
}

/* Double a stripe's chain array (caller holds its lock). Failure leaves it as it was:
 * chains just get longer. */
static void grow(struct stripe *s)
{
	size_t n = s->nbuckets * 2;
	gw_key_entry_t **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		gw_key_entry_t *e = s->buckets[i], *next;

		for (; e; e = next) {
			size_t j = (hash_of(e->digest) >> STRIPES_SHIFT) & (n - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

int gw_keys_upsert(gw_keys_t *t, const uint8_t digest[32], uint16_t plan, uint8_t status,
		   uint32_t expires)
{
	uint64_t h = hash_of(digest);
	struct stripe *s = stripe_of(t, h);
	gw_key_entry_t *e, *fresh;

	/* Allocate before locking: a stripe lock is never held across malloc. */
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	memcpy(fresh->digest, digest, 32);
	fresh->plan = plan;
	fresh->status = status;
	fresh->expires = expires;
	gw_lock(&s->lock);
	if ((e = find(s, h, digest))) {
		e->plan = plan;
		e->status = status;
		e->expires = expires;
		gw_unlock(&s->lock);
		free(fresh);
		return 0;
	}
	if (s->count >= s->nbuckets)
		grow(s);
	fresh->next = s->buckets[bucket_of(s, h)];
	s->buckets[bucket_of(s, h)] = fresh;
	s->count++;
	gw_unlock(&s->lock);
	__atomic_add_fetch(&t->count, 1, __ATOMIC_RELAXED);
	return 0;
}

int gw_keys_reset_bucket(gw_keys_t *t, const uint8_t digest[32])
{
	uint64_t h = hash_of(digest);
	struct stripe *s = stripe_of(t, h);
	gw_key_entry_t *e;

	gw_lock(&s->lock);
	e = find(s, h, digest);
	if (e)
		memset(&e->bucket, 0, sizeof(e->bucket));
	gw_unlock(&s->lock);
	return e ? 0 : -ENOENT;
}

int gw_keys_remove(gw_keys_t *t, const uint8_t digest[32])
{
	uint64_t h = hash_of(digest);
	struct stripe *s = stripe_of(t, h);
	gw_key_entry_t **pp, *e = NULL;

	gw_lock(&s->lock);
	for (pp = &s->buckets[bucket_of(s, h)]; *pp; pp = &(*pp)->next) {
		if (gw_apikey_digest_equal((*pp)->digest, digest)) {
			e = *pp;
			*pp = e->next;
			s->count--;
			break;
		}
	}
	gw_unlock(&s->lock);
	if (!e)
		return -ENOENT;
	entry_free(e);
	__atomic_sub_fetch(&t->count, 1, __ATOMIC_RELAXED);
	return 0;
}

gw_key_entry_t *gw_keys_lock(gw_keys_t *t, const uint8_t digest[32], gw_keys_lock_t *lk)
{
	uint64_t h = hash_of(digest);
	struct stripe *s = stripe_of(t, h);

	gw_lock(&s->lock);
	lk->lock = &s->lock;
	return find(s, h, digest);
}

void gw_keys_unlock(gw_keys_lock_t *lk)
{
	gw_unlock(lk->lock);
}

gw_keys_batch_t *gw_keys_batch_new(void)
{
	return calloc(1, sizeof(gw_keys_batch_t));
}

int gw_keys_batch_add(gw_keys_batch_t *b, const uint8_t digest[32], uint16_t plan, uint8_t status,
		      uint32_t expires)
{
	unsigned i = (unsigned)(hash_of(digest) & (STRIPES - 1));
	gw_key_entry_t *e;

	if (!b->slab || b->slab->used == SLAB_ENTRIES) {
		struct slab *s = slab_new();

		if (!s)
			return -ENOMEM;
		b->slab = s;
	}
	e = (gw_key_entry_t *)b->slab + 1 + b->slab->used++;
	b->slab->live++;
	e->flags = GW_KEY_F_SLAB;
	memcpy(e->digest, digest, 32);
	e->plan = plan;
	e->status = status;
	e->expires = expires;
	e->next = b->head[i];
	b->head[i] = e;
	b->count[i]++;
	return 0;
}

void gw_keys_batch_free(gw_keys_batch_t *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < STRIPES; i++) {
		gw_key_entry_t *e = b->head[i], *next;

		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(b);
}

void gw_keys_replace(gw_keys_t *t, gw_keys_batch_t *b)
{
	for (unsigned i = 0; i < STRIPES; i++) {
		struct stripe *s = &t->stripes[i];
		size_t n = pow2_at_least(b->count[i]);
		gw_key_entry_t **nb = calloc(n, sizeof(*nb)), **ob, *e, *next;
		size_t on, ocount;
		struct stripe old;

		if (!nb) {
			/* Out of memory: keep this stripe as it is rather than empty it. */
			continue;
		}
		/* Chain the new entries without the lock... */
		for (e = b->head[i]; e; e = next) {
			size_t j = (hash_of(e->digest) >> STRIPES_SHIFT) & (n - 1);

			next = e->next;
			e->next = nb[j];
			nb[j] = e;
		}
		b->head[i] = NULL;
		/* ...then, locked, carry the buckets over and swap. */
		gw_lock(&s->lock);
		old = (struct stripe){ .buckets = s->buckets, .nbuckets = s->nbuckets };
		for (size_t j = 0; j < n; j++) {
			for (e = nb[j]; e; e = e->next) {
				gw_key_entry_t *o = find(&old, hash_of(e->digest), e->digest);

				if (o)
					e->bucket = o->bucket;
			}
		}
		ob = s->buckets;
		on = s->nbuckets;
		ocount = s->count;
		s->buckets = nb;
		s->nbuckets = n;
		s->count = b->count[i];
		gw_unlock(&s->lock);
		free_chains(ob, on);
		free(ob);
		__atomic_add_fetch(&t->count, b->count[i], __ATOMIC_RELAXED);
		__atomic_sub_fetch(&t->count, ocount, __ATOMIC_RELAXED);
	}
	gw_keys_batch_free(b);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * topkeys.c - approximate per-key usage counts (see topkeys.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gw/topkeys.h"

#define THREADS_MAX 512

struct table {
	gw_topkey_t slot[GW_TOPKEYS_SLOTS];
};

static struct table *tables[THREADS_MAX];
static unsigned ntables; /* atomic */
static __thread struct table *mine;

static struct table *self(void)
{
	unsigned i;

	if (mine)
		return mine;
	i = __atomic_fetch_add(&ntables, 1, __ATOMIC_ACQ_REL);
	if (i >= THREADS_MAX)
		return NULL;
	mine = calloc(1, sizeof(*mine));
	__atomic_store_n(&tables[i], mine, __ATOMIC_RELEASE);
	return mine;
}

void gw_topkeys_note(const char *id)
{
	struct table *t = self();
	uint64_t a, b, h;
	gw_topkey_t *s;

	if (!t)
		return;
	/* The id is 16 hex digits (memcmp below reads 16 too): two words, one multiply each,
	 * where a byte-wise hash cost this per-request note more than the rest of it. */
	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
	h ^= h >> 29;
	s = &t->slot[h % GW_TOPKEYS_SLOTS];
	if (!memcmp(s->id, id, 16)) {
		__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
	} else if (s->count <= 1) {
		/* The reader may see a torn id for one refresh; it only labels a figure. */
		memcpy(s->id, id, 16);
		s->id[16] = '\0';
		__atomic_store_n(&s->count, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);
	}
}

static int cmp(const void *a, const void *b)
{
	const gw_topkey_t *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->id, y->id);
}

size_t gw_topkeys_top(gw_topkey_t *out, size_t n)
{
	unsigned nt = __atomic_load_n(&ntables, __ATOMIC_ACQUIRE);
	gw_topkey_t *all;
	size_t m = 0, k = 0;

	if (nt > THREADS_MAX)
		nt = THREADS_MAX;
	all = malloc(((size_t)nt * GW_TOPKEYS_SLOTS + 1) * sizeof(*all));
	if (!all)
		return 0;
	for (unsigned t = 0; t < nt; t++) {
		struct table *tb = __atomic_load_n(&tables[t], __ATOMIC_ACQUIRE);

		for (size_t i = 0; tb && i < GW_TOPKEYS_SLOTS; i++) {
			uint64_t c = __atomic_load_n(&tb->slot[i].count, __ATOMIC_RELAXED);

			if (!c)
				continue;
			memcpy(all[m].id, tb->slot[i].id, 16);
			all[m].id[16] = '\0';
			all[m++].count = c;
		}
	}
	/* The same key on several threads: sum. */
	qsort(all, m, sizeof(*all), cmp);
	for (size_t i = 0; i < m; i++) {
		size_t j;

		for (j = 0; j < k && strcmp(all[j].id, all[i].id); j++)
			;
		if (j < k)
			all[j].count += all[i].count;
		else
			all[k++] = all[i];
	}
	qsort(all, k, sizeof(*all), cmp);
	if (k > n)
		k = n;
	memcpy(out, all, k * sizeof(*out));
	free(all);
	return k;
}

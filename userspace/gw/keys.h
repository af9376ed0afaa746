/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * keys.h - the in-memory API key table the hot path reads: digest -> plan, status, expiry
 * and the key's plan token bucket.
 *
 * Loaded from the store at start and kept in step with it by the admin API (every change
 * is applied here right after it is committed there), so a request never touches disk.
 * The table is split into lock stripes by digest; looking a key up and taking a token from
 * its bucket happen under one stripe lock, which is what makes a plan's burst exact when
 * one key's requests arrive on several worker threads at once. Each stripe grows on its
 * own, so no change ever stops the whole table.
 *
 * An entry is 64 bytes: the digest, the bucket (struct edge_bucket, tb.h's units), expiry,
 * plan id and status. Keys loaded in bulk (start, reload) live in 2 MB slabs mapped for
 * them, about 72 bytes per key with the chain pointers; a slab goes back to the system as
 * soon as its last key is gone, so a reload of a million keys does not leave the old
 * table's memory behind.
 */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge.h"
#include "gw/lock.h"

enum gw_key_status {
	GW_KEY_ACTIVE = 0,
	GW_KEY_BLOCKED = 1, /* 403 until unblocked */
	GW_KEY_REVOKED = 2, /* 401 for ever */
	GW_KEY_STATUS_MAX,
};

const char *gw_key_status_name(enum gw_key_status s);
/* The status named s, or -1. */
int gw_key_status_of(const char *s);

typedef struct st_gw_key_entry_t {
	struct st_gw_key_entry_t *next;
	uint8_t digest[32];
	struct edge_bucket bucket; /* plan bucket; stamp_ns 0 = never used (full) */
	uint32_t expires;	   /* unix seconds, 0 = never */
	uint16_t plan;		   /* interned plan name */
	uint8_t status;		   /* enum gw_key_status */
	uint8_t flags;		   /* GW_KEY_F_* (the table's own) */
} gw_key_entry_t;
_Static_assert(sizeof(gw_key_entry_t) == 64, "key entry stays one cache line");

/* gw_key_entry_t.flags */
#define GW_KEY_F_SLAB 1 /* allocated in a bulk-load slab, not by malloc */

typedef struct st_gw_keys_t gw_keys_t;

/* A locked stripe, from gw_keys_lock(). */
typedef struct st_gw_keys_lock_t {
	gw_lock_t *lock;
} gw_keys_lock_t;

/* A new table sized for about `expected` keys. NULL on allocation failure. */
gw_keys_t *gw_keys_new(size_t expected);
void gw_keys_free(gw_keys_t *t);

/* Keys in the table. */
size_t gw_keys_count(const gw_keys_t *t);

/* Insert a key or update its plan, status and expiry; an existing key keeps its bucket.
 * Returns 0 or -ENOMEM. */
int gw_keys_upsert(gw_keys_t *t, const uint8_t digest[32], uint16_t plan, uint8_t status,
		   uint32_t expires);

/* Give a key a fresh (full) bucket, as when it moves to another plan; -ENOENT. */
int gw_keys_reset_bucket(gw_keys_t *t, const uint8_t digest[32]);

/* Remove a key; -ENOENT when absent. */
int gw_keys_remove(gw_keys_t *t, const uint8_t digest[32]);

/*
 * Lock the stripe that holds digest and return its entry, or NULL when absent; the stripe
 * is locked either way and must be released with gw_keys_unlock() soon (no I/O between).
 * The digest comparison is constant-time.
 */
gw_key_entry_t *gw_keys_lock(gw_keys_t *t, const uint8_t digest[32], gw_keys_lock_t *lk);
void gw_keys_unlock(gw_keys_lock_t *lk);

/* A set of keys built off-line (no locks) to replace the table's content at once. */
typedef struct st_gw_keys_batch_t gw_keys_batch_t;
gw_keys_batch_t *gw_keys_batch_new(void);
int gw_keys_batch_add(gw_keys_batch_t *b, const uint8_t digest[32], uint16_t plan, uint8_t status,
		      uint32_t expires);
void gw_keys_batch_free(gw_keys_batch_t *b);

/*
 * Make the table hold exactly the batch's keys, one stripe at a time (each stripe is
 * locked only while its chains are swapped). A key present before and after keeps its
 * bucket, so a reload does not refill anyone's burst. Consumes the batch.
 */
void gw_keys_replace(gw_keys_t *t, gw_keys_batch_t *b);

#endif /* GW_KEYS_H */

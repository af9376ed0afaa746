/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * usage.h - the embedded quota backend: every key's counters in memory.
 *
 * A key (named by the first 8 bytes of its digest, the same 64 bits its hex id spells)
 * has one slot per counter kind (quota.h). A slot holds the period id it counts, the
 * amount used in it, the overage (what soft limits admitted beyond the limit) and when
 * the period ends. A request's counters are checked and debited under one lock, all or
 * nothing: if any hard limit would be exceeded nothing is debited, so concurrent requests
 * never overspend and a refused request costs nothing. The request path calls this with
 * the key's stripe lock (keys.h) held, which makes the plan's token bucket and the quota
 * one decision.
 *
 * Durability is the caller's: gw_usage_collect() hands out the slots changed since the
 * last call (the flusher writes them to the store in one transaction) and
 * gw_usage_restore() puts stored rows back at start.
 */
#ifndef GW_USAGE_H
#define GW_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "gw/quota.h"

typedef struct st_gw_usage_t gw_usage_t;

/* A stored counter (one row of the store's usage table). */
typedef struct st_gw_usage_row_t {
	uint64_t key; /* first 8 digest bytes, big-endian: the key id's value */
	uint8_t kind;
	char period[GW_QUOTA_PERIOD_LEN];
	uint64_t used;
	uint64_t overage;
	int64_t reset_at;
} gw_usage_row_t;

/* A new, empty table, or NULL. */
gw_usage_t *gw_usage_new(void);
void gw_usage_free(gw_usage_t *u);

/* The 64-bit key of a digest, and of a hex key id (-EINVAL when not 16 hex digits). */
uint64_t gw_usage_key_of_digest(const uint8_t digest[32]);
int gw_usage_key_of_id(const char *id, uint64_t *out);

/*
 * Check counters c[0..n) of key and debit them all, or none. Returns 0 when admitted
 * (over[i], when over is not NULL, receives the overage counter i took on), -EDQUOT when
 * a hard limit refused the request (*failed = the index of the first such counter), or
 * -ENOMEM (nothing debited; the caller fails open or closed as it sees fit).
 */
int gw_usage_debit(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n,
		   uint64_t *over, size_t *failed);

/*
 * gw_usage_debit() for counters without limits (every c[i].limit 0): nothing to check and
 * no overage, so only the costs are added. gen: gw_quota_template()'s generation of c (its
 * GW_QUOTA_KINDS counters), or 0. An entry that took counters of the same generation last
 * holds their periods already, and skips comparing them (about 120 instructions of an
 * admitted request). Returns 0 or -ENOMEM (nothing added).
 */
int gw_usage_add(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n, uint64_t gen);

/*
 * Give back a debit (a request refunded after an upstream failure): used and overage of
 * each counter whose period is still the current one go down by what was taken.
 */
void gw_usage_refund(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n,
		     const uint64_t *over);

/* What key has used (and overage) in each counter's period; 0 for a period not begun. */
void gw_usage_read(gw_usage_t *u, uint64_t key, const gw_quota_counter_t *c, size_t n,
		   uint64_t *used, uint64_t *overage);

/*
 * The slots changed since the last call, as a malloc'd array (*rows, *n), and mark them
 * clean; slots whose period ended before `now` and are clean are dropped from memory.
 * Returns 0 or -ENOMEM (nothing marked clean).
 */
int gw_usage_collect(gw_usage_t *u, int64_t now, gw_usage_row_t **rows, size_t *n);

/* Mark rows dirty again (their write failed), where the slot still counts that period. */
void gw_usage_redirty(gw_usage_t *u, const gw_usage_row_t *rows, size_t n);

/* Put a stored row back (clean); a row for a period ended before now is ignored. 0/-ENOMEM. */
int gw_usage_restore(gw_usage_t *u, const gw_usage_row_t *r, int64_t now);

/* Keys with counters in memory. */
size_t gw_usage_count(gw_usage_t *u);

#endif /* GW_USAGE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ratelimit.h - token buckets of the request path and the headers that describe them.
 *
 * All bucket maths is bpf/tb.h's (the XDP filter's): content kept as credit in ns, one
 * token = interval_ns, full = cap_ns, buckets start full (AWS usage-plan semantics).
 *
 * Plan buckets live in the key table entries (keys.h) and are taken under the key's stripe
 * lock. Client-IP and edge-IP buckets live in a fixed-size set-associative table: memory
 * is bounded whatever a flood of source addresses does; when a set is full the least
 * recently refilled address is evicted (an evicted address simply starts again full).
 *
 * Header values follow draft-ietf-httpapi-ratelimit-headers (-09):
 *   RateLimit-Policy: "free";q=1;w=1        q = burst, w = seconds to refill an empty bucket
 *   RateLimit: "free";r=0;t=1               r = tokens left, t = seconds until full again
 * and, behind a switch, the legacy X-RateLimit-Limit / -Remaining / -Reset (= q, r, t).
 * Retry-After on a 429 is the seconds until the next token (at least 1).
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "edge.h"
#include "gw/config.h"

typedef struct st_gw_ratelimit_state_t {
	uint64_t limit;		/* q: the burst */
	uint64_t remaining;	/* r: whole tokens left */
	uint64_t reset_s;	/* t: seconds until the bucket is full */
	uint64_t retry_after_s; /* seconds until one token is there (0 when one is) */
} gw_ratelimit_state_t;

/* The header state of a bucket holding credit_ns. */
void gw_ratelimit_state(const gw_limit_t *l, uint64_t credit_ns, gw_ratelimit_state_t *st);

/*
 * Take one token from b at now_ns (b's owner serialises calls). A bucket with stamp_ns 0
 * has never been used and starts full. Returns 1 (admitted) or 0; fills st either way.
 */
int gw_ratelimit_take(struct edge_bucket *b, uint64_t now_ns, const gw_limit_t *l,
		      gw_ratelimit_state_t *st);

/* The state of b at now_ns without taking anything (b is not changed). */
void gw_ratelimit_peek(const struct edge_bucket *b, uint64_t now_ns, const gw_limit_t *l,
		       gw_ratelimit_state_t *st);

/* Decimal digits of v into buf (at least 21 bytes; NUL-terminated); returns the length.
 * The hot path's number formatting: snprintf costs more than the rest of a 429. */
size_t gw_ratelimit_u64(char *buf, uint64_t v);

/* "\"NAME\";r=R;t=T" into buf; returns the length (0 when it does not fit). */
size_t gw_ratelimit_header(const char *name, const gw_ratelimit_state_t *st, char *buf, size_t len);

/* Bounded per-address buckets (client IPs, edge IPs). */
typedef struct st_gw_ratelimit_table_t gw_ratelimit_table_t;

/* A table tracking about `capacity` addresses (rounded to a power of two). */
gw_ratelimit_table_t *gw_ratelimit_table_new(size_t capacity);
void gw_ratelimit_table_free(gw_ratelimit_table_t *t);

/* Take one token for an address (16-byte form, fg_cidr_to_in6); see gw_ratelimit_take. */
int gw_ratelimit_table_take(gw_ratelimit_table_t *t, const uint8_t addr[16], uint64_t now_ns,
			    const gw_limit_t *l, gw_ratelimit_state_t *st);

#endif /* GW_RATELIMIT_H */

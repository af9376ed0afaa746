/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cacherec.h - the record of one cached response in the shared (Redis) layer of the
 * response cache (cache.h, cacheshared.h): pure encode and decode, unit-tested.
 *
 * A versioned binary record, integers big-endian:
 *
 *   "FGC" 0x01                      magic and version
 *   u16 status
 *   u64 fresh_ms, swr_ms, sie_ms    lifetimes counted from the moment it was stored
 *   u64 initial_age_s               the upstream's Age when it was stored
 *   u64 ttl_ms                      the PX it was written with (ages are derived from
 *                                   Redis's PTTL against it: no node's clock is involved)
 *   u32 key_len, key                the full cache key (a hash collision never answers)
 *   u16 reason_len, reason
 *   u8  nvary, nvary x { u16 name_len, name, u8 present, u32 value_len, value }
 *   u16 nheaders, nheaders x { u16 name_len, name, u32 value_len, value }
 *   u32 body_len, body
 *
 * and nothing after. Decoding checks every length against the buffer and the fields a
 * response would carry (status 100..599, header names of token characters, values
 * without CR, LF or NUL): a truncated, corrupt or foreign value is -EINVAL, never a
 * crash, never a header injected into a response.
 */
#ifndef GW_CACHEREC_H
#define GW_CACHEREC_H

#include <stddef.h>
#include <stdint.h>

#define GW_CACHEREC_VERSION	1
#define GW_CACHEREC_VARY_MAX	8
#define GW_CACHEREC_HEADERS_MAX 100

typedef struct st_gw_cacherec_field_t {
	const char *name;
	size_t name_len;
	const char *value; /* a Vary value: NULL = the request had no such field */
	size_t value_len;
} gw_cacherec_field_t;

typedef struct st_gw_cacherec_t {
	int status;
	uint64_t fresh_ms, swr_ms, sie_ms, initial_age_s, ttl_ms;
	const char *key;
	size_t key_len;
	const char *reason;
	size_t reason_len;
	size_t nvary;
	gw_cacherec_field_t vary[GW_CACHEREC_VARY_MAX];
	size_t nheaders;
	gw_cacherec_field_t headers[GW_CACHEREC_HEADERS_MAX];
	const char *body;
	size_t body_len;
} gw_cacherec_t;

/* Bytes r encodes to; 0 when it cannot be encoded (a count or length over its field). */
size_t gw_cacherec_size(const gw_cacherec_t *r);
/* Encode r into out (gw_cacherec_size(r) bytes); returns that size, 0 as above. */
size_t gw_cacherec_encode(const gw_cacherec_t *r, char *out);
/* Decode buf[0..len) into r (its pointers point into buf). 0 or -EINVAL. */
int gw_cacherec_decode(const char *buf, size_t len, gw_cacherec_t *r);

#endif /* GW_CACHEREC_H */

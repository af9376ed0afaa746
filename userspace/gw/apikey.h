/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * apikey.h - API keys as the client presents them: extraction, format, digest.
 *
 * A key may come from the configured header (X-API-Key), from "Authorization: Bearer",
 * or from the configured query parameter (api_key); the config says which of these are
 * accepted and in what order the first present one wins. The query parameter is removed
 * from the query the upstream receives, whichever source supplied the key, so a key in a
 * URL never travels further than the gateway.
 *
 * Keys are never stored: only their SHA-256 digest is, and the first 8 bytes of it in hex
 * are the key's public id (what the admin API and the access log show).
 */
#ifndef GW_APIKEY_H
#define GW_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/config.h"

/* Longest key accepted from a request; longer ones are invalid without a lookup. */
#define GW_APIKEY_MAX	  256
/* Length of keys the gateway generates: "fg_" and 32 base64url characters (192 bits). */
#define GW_APIKEY_GEN_LEN 35
/* Length of a key id in hex digits (8 bytes of the digest). */
#define GW_APIKEY_ID_LEN  16

/* The parts of a request extraction looks at, each NULL when absent. */
typedef struct st_gw_apikey_input_t {
	const char *header; /* value of keys.header */
	size_t header_len;
	const char *authorization; /* value of Authorization */
	size_t authorization_len;
	const char *query; /* the query string after '?' (without it) */
	size_t query_len;
} gw_apikey_input_t;

typedef struct st_gw_apikey_t {
	const char *key; /* points into the request or into buf */
	size_t len;
	enum gw_key_source src;
} gw_apikey_t;

/*
 * Find the key per cfg->keys. buf (GW_APIKEY_MAX bytes) receives a percent-decoded query
 * value. Returns 1 with *out set, 0 when no accepted source carries a key, -EINVAL when
 * the first present one is malformed (empty, too long, bad bytes or escapes).
 */
int gw_apikey_extract(const gw_config_t *cfg, const gw_apikey_input_t *in, char *buf,
		      gw_apikey_t *out);

/* Leading and trailing spaces and tabs off s[0..*len). */
static inline void gw_apikey_trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * gw_apikey_extract() without the last step: the key of the first present accepted source,
 * not yet checked with gw_apikey_valid() (what extract returns -EINVAL for, locate returns
 * 1 for). For a caller that knows some keys to be valid already (keycache.h's hits).
 */
int gw_apikey_locate(const gw_config_t *cfg, const gw_apikey_input_t *in, char *buf,
		     gw_apikey_t *out);

/* Whether a key is well-formed: 1..GW_APIKEY_MAX visible ASCII characters. */
bool gw_apikey_valid(const char *key, size_t len);

/*
 * Copy query (without '?') to out with every `param` parameter removed (its name compared
 * after percent-decoding). out holds query_len bytes. Returns the new length; *removed
 * counts the parameters dropped (may be NULL).
 */
size_t gw_apikey_strip_query(const char *query, size_t len, const char *param, size_t param_len,
			     char *out, size_t *removed);

/* SHA-256 of the key. */
void gw_apikey_digest(const char *key, size_t len, uint8_t out[32]);

/* Hex id of a digest: GW_APIKEY_ID_LEN characters and a NUL. */
void gw_apikey_id(const uint8_t digest[32], char out[GW_APIKEY_ID_LEN + 1]);

/* A fresh random key (GW_APIKEY_GEN_LEN characters and a NUL). Returns 0 or -EIO. */
int gw_apikey_generate(char out[GW_APIKEY_GEN_LEN + 1]);

/*
 * Constant-time equality of a[0..len) and b[0..len): the time depends on len only. Word
 * at a time, inline: CRYPTO_memcmp goes byte by byte behind a call, and this runs for
 * every request (the key table's digests, keycache.h's keys).
 */
static inline bool gw_apikey_ct_equal(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t u, v;

		__builtin_memcpy(&u, x + i, 8);
		__builtin_memcpy(&v, y + i, 8);
		acc |= u ^ v;
		/* keep the compiler from turning the accumulation into an early exit */
		__asm__("" : "+r"(acc));
	}
	if (i < len && len >= 8) {
		/* the tail as the last 8 bytes, overlapping the words before it */
		uint64_t u, v;

		__builtin_memcpy(&u, x + len - 8, 8);
		__builtin_memcpy(&v, y + len - 8, 8);
		acc |= u ^ v;
		__asm__("" : "+r"(acc));
		i = len;
	}
	for (; i < len; i++) {
		acc |= (uint64_t)(x[i] ^ y[i]);
		__asm__("" : "+r"(acc));
	}
	return acc == 0;
}

/* Constant-time equality of two 32-byte digests. */
static inline bool gw_apikey_digest_equal(const uint8_t a[32], const uint8_t b[32])
{
	return gw_apikey_ct_equal(a, b, 32);
}

#endif /* GW_APIKEY_H */

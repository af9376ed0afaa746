/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tls13.h - TLS 1.3 record protection for the AES-GCM suites (RFC 8446 section 5.2), one
 * direction of one connection per gw_tls13_dir_t: the traffic key schedule (section 7.3),
 * seal, open and KeyUpdate (section 4.6.3).
 *
 * Why not OpenSSL's record layer: OpenSSL 3.0 re-initialises its EVP AES-GCM context for
 * every record through the provider interface (parameter lookups, IV length queries), about
 * 6,000 instructions for a 300-byte record, 20 times the cipher's own work. Here the AES key
 * schedule is done once per key (AES-ECB, used as GCM's block and counter functions) and
 * the GHASH is OpenSSL's CRYPTO_gcm128, which picks the CPU's carry-less multiply; AES is
 * AES-NI (EVP AES-ECB on a CPU without it). A record costs a few hundred instructions. The TLS handshake stays OpenSSL's (see tlsfast.h).
 */
#ifndef GW_TLS13_H
#define GW_TLS13_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/modes.h>

#define GW_TLS13_AES_128_GCM_SHA256 0x1301
#define GW_TLS13_AES_256_GCM_SHA384 0x1302

#define GW_TLS13_HEADER	    5	  /* type, legacy version, length */
#define GW_TLS13_TAG	    16	  /* AES-GCM tag */
#define GW_TLS13_PLAIN_MAX  16384 /* 2^14: the largest plaintext of one record */
#define GW_TLS13_CIPHER_MAX (GW_TLS13_PLAIN_MAX + 256) /* largest record body accepted */
#define GW_TLS13_SECRET_MAX 48			       /* SHA-384 */
#define GW_TLS13_IV	    12
/* What seal adds to the plaintext: header, inner content type, tag. */
#define GW_TLS13_OVERHEAD   (GW_TLS13_HEADER + 1 + GW_TLS13_TAG)

/* Record content types (section 5.1). */
#define GW_TLS13_ALERT	   21
#define GW_TLS13_HANDSHAKE 22
#define GW_TLS13_APP_DATA  23

struct gw_tls13_aes;

typedef struct st_gw_tls13_dir_t {
	GCM128_CONTEXT *gcm;
	struct gw_tls13_aes *aes; /* AES under the traffic key (AES-NI, else EVP AES-ECB) */
	ctr128_f ctr;		  /* its counter mode, for GCM */
	const EVP_MD *md;	  /* the suite's hash, for KeyUpdate */
	uint8_t secret[GW_TLS13_SECRET_MAX];
	size_t secret_len;
	size_t key_len;
	uint8_t iv[GW_TLS13_IV];
	uint64_t seq; /* the next record's sequence number */
} gw_tls13_dir_t;

/* AES by AES-NI (on: the default when the CPU has it) or by EVP AES-ECB (off), for keys
 * set up from now on; for the tests of both. 0, or -ENOTSUP when the CPU lacks AES-NI. */
int gw_tls13_set_aesni(int on);

/* HKDF-Expand-Label(secret, label, "", outlen) of section 7.1 with md. 0 or -EINVAL. */
int gw_tls13_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
			  const char *label, uint8_t *out, size_t outlen);

/* Set d up for `suite` (GW_TLS13_AES_*) from a traffic secret of the suite's hash length,
 * sequence number 0. d must be zeroed or freed before. 0, -EINVAL (suite or length) or
 * -ENOMEM; on error d holds nothing to free. */
int gw_tls13_dir_init(gw_tls13_dir_t *d, uint16_t suite, const uint8_t *secret, size_t secret_len);

/* Move d to the next traffic secret (KeyUpdate), sequence number 0. 0 or -ENOMEM (d is then
 * unusable: freed). */
int gw_tls13_dir_update(gw_tls13_dir_t *d);

/* Forget the keys and free d's contexts; d may be zeroed or freed twice. */
void gw_tls13_dir_free(gw_tls13_dir_t *d);

/* One record of content type `type` carrying len bytes (at most GW_TLS13_PLAIN_MAX) into
 * out, which needs len + GW_TLS13_OVERHEAD bytes and may not overlap data. Returns the
 * record's length; the sequence number advances. */
size_t gw_tls13_seal(gw_tls13_dir_t *d, uint8_t type, const void *data, size_t len, uint8_t *out);

/* Length of the record body announced by a 5-byte header, or -EBADMSG when the header is
 * not that of a protected TLS 1.3 record (type 23, version 3.3, 17 to 16640 bytes). */
int gw_tls13_body_len(const uint8_t *hdr);

/* Open the record rec (header and body, reclen bytes, as gw_tls13_body_len said): the
 * plaintext goes to out (reclen - GW_TLS13_HEADER - GW_TLS13_TAG bytes of room; out may be
 * rec + GW_TLS13_HEADER), its length to *len and its content type to *type. The padding is
 * removed. 0, or -EBADMSG when the record fails authentication or has no content type
 * (out's contents are then wiped); the sequence number advances only on success. */
int gw_tls13_open(gw_tls13_dir_t *d, const uint8_t *rec, size_t reclen, uint8_t *out, size_t *len,
		  uint8_t *type);

#endif /* GW_TLS13_H */

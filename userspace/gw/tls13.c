/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tls13.c - TLS 1.3 AES-GCM record protection (see tls13.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>
#include <openssl/crypto.h>

#include "gw/tls13.h"

/* Counter blocks encrypted per EVP call: 1 KiB of keystream on the stack. */
#define CTR_CHUNK 64

static EVP_CIPHER *aes128_ecb, *aes256_ecb;
static EVP_MD *sha256, *sha384;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

/* Fetched once: an implicit fetch by name on every connection takes a lock and a property
 * query (OpenSSL's one-shot HMAC() costs about 30,000 instructions for it). */
static void fetch_algorithms(void)
{
	aes128_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	aes256_ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

/* HMAC (RFC 2104) over a fetched digest, for keys no longer than its block. */
static int hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
		uint8_t *out, unsigned *outlen)
{
	uint8_t pad[128], ih[EVP_MAX_MD_SIZE];
	size_t bs = (size_t)EVP_MD_get_block_size(md);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned ilen = 0;
	int ok;

	if (!ctx || klen > bs || bs > sizeof(pad)) {
		EVP_MD_CTX_free(ctx);
		return -EINVAL;
	}
	memset(pad, 0x36, bs);
	for (size_t i = 0; i < klen; i++)
		pad[i] ^= key[i];
	ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, bs) &&
	     EVP_DigestUpdate(ctx, msg, mlen) && EVP_DigestFinal_ex(ctx, ih, &ilen);
	memset(pad, 0x5c, bs);
	for (size_t i = 0; i < klen; i++)
		pad[i] ^= key[i];
	ok = ok && EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, bs) &&
	     EVP_DigestUpdate(ctx, ih, ilen) && EVP_DigestFinal_ex(ctx, out, outlen);
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(ih, sizeof(ih));
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EINVAL;
}

int gw_tls13_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
			  const char *label, uint8_t *out, size_t outlen)
{
	/* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, context<0> */
	uint8_t info[2 + 1 + 255 + 1 + 1], t[EVP_MAX_MD_SIZE];
	size_t llen = strlen(label), ilen, hlen = (size_t)EVP_MD_get_size(md), done = 0;
	unsigned int tlen = 0;

	pthread_once(&fetch_once, fetch_algorithms);
	if (hlen == 32 && sha256)
		md = sha256;
	else if (hlen == 48 && sha384)
		md = sha384;

	if (outlen > 255 * hlen || outlen > 0xffff || 6 + llen > 255)
		return -EINVAL;
	info[0] = (uint8_t)(outlen >> 8);
	info[1] = (uint8_t)outlen;
	info[2] = (uint8_t)(6 + llen);
	memcpy(info + 3, "tls13 ", 6);
	memcpy(info + 9, label, llen);
	info[9 + llen] = 0; /* empty context */
	ilen = 10 + llen;
	/* HKDF-Expand (RFC 5869): T(i) = HMAC(secret, T(i-1) | info | i) */
	for (uint8_t i = 1; done < outlen; i++) {
		uint8_t msg[EVP_MAX_MD_SIZE + sizeof(info) + 1];
		size_t mlen = 0, n;

		memcpy(msg, t, tlen);
		mlen = tlen;
		memcpy(msg + mlen, info, ilen);
		mlen += ilen;
		msg[mlen++] = i;
		if (hmac(md, secret, secret_len, msg, mlen, t, &tlen))
			return -EINVAL;
		n = outlen - done < tlen ? outlen - done : tlen;
		memcpy(out + done, t, n);
		done += n;
		OPENSSL_cleanse(msg, sizeof(msg));
	}
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}

/* AES under one traffic key: the round keys for AES-NI, else an EVP AES-ECB context (a
 * few hundred instructions of dispatch per call, three calls per record). On the heap:
 * GCM128_CONTEXT keeps a pointer to it. */
struct gw_tls13_aes {
	__m128i rk[15];
	int rounds;
	EVP_CIPHER_CTX *evp;
};

static int use_aesni = -1;

int gw_tls13_set_aesni(int on)
{
	if (on && !__builtin_cpu_supports("aes"))
		return -ENOTSUP;
	use_aesni = on;
	return 0;
}

__attribute__((target("aes,sse2"))) static __m128i expand_step(__m128i k, __m128i assist)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, assist);
}

/* The key schedule of FIPS-197 section 5.2 with AESKEYGENASSIST (its round constants must
 * be immediates, hence the unrolling). */
#define EXP128(i, rcon)                                                                            \
	a->rk[i] = expand_step(                                                                    \
		a->rk[i - 1],                                                                      \
		_mm_shuffle_epi32(_mm_aeskeygenassist_si128(a->rk[i - 1], rcon), 0xff))
#define EXP256(i, rcon)                                                                            \
	do {                                                                                       \
		a->rk[i] = expand_step(                                                            \
			a->rk[i - 2],                                                              \
			_mm_shuffle_epi32(_mm_aeskeygenassist_si128(a->rk[i - 1], rcon), 0xff));   \
		if (i + 1 < 15)                                                                    \
			a->rk[i + 1] = expand_step(                                                \
				a->rk[i - 1],                                                      \
				_mm_shuffle_epi32(_mm_aeskeygenassist_si128(a->rk[i], 0), 0xaa));  \
	} while (0)

__attribute__((target("aes,sse2"))) static void aesni_schedule(struct gw_tls13_aes *a,
							       const uint8_t *key, size_t len)
{
	a->rk[0] = _mm_loadu_si128((const __m128i *)key);
	if (len == 16) {
		a->rounds = 10;
		EXP128(1, 0x01);
		EXP128(2, 0x02);
		EXP128(3, 0x04);
		EXP128(4, 0x08);
		EXP128(5, 0x10);
		EXP128(6, 0x20);
		EXP128(7, 0x40);
		EXP128(8, 0x80);
		EXP128(9, 0x1b);
		EXP128(10, 0x36);
		return;
	}
	a->rounds = 14;
	a->rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
	EXP256(2, 0x01);
	EXP256(4, 0x02);
	EXP256(6, 0x04);
	EXP256(8, 0x08);
	EXP256(10, 0x10);
	EXP256(12, 0x20);
	EXP256(14, 0x40);
}

__attribute__((target("aes,sse2"))) static inline __m128i
aesni_encrypt(const struct gw_tls13_aes *a, __m128i x)
{
	x = _mm_xor_si128(x, a->rk[0]);
	for (int r = 1; r < a->rounds; r++)
		x = _mm_aesenc_si128(x, a->rk[r]);
	return _mm_aesenclast_si128(x, a->rk[a->rounds]);
}

/* GCM's block function: one AES block under the key. */
__attribute__((target("aes,sse2"))) static void aesni_block(const unsigned char in[16],
							    unsigned char out[16], const void *key)
{
	_mm_storeu_si128((__m128i *)out, aesni_encrypt(key, _mm_loadu_si128((const __m128i *)in)));
}

/* `blocks` blocks of AES-CTR with `rounds` known at compile time: the round keys stay in
 * registers, and four blocks go through the rounds side by side (AESENC's latency is
 * several cycles, its throughput one per cycle). */
__attribute__((target("aes,sse4.1"), always_inline)) static inline void
aesni_ctr_n(const struct gw_tls13_aes *a, const int rounds, const unsigned char *in,
	    unsigned char *out, size_t blocks, const unsigned char ivec[16])
{
	__m128i k[15], ctr = _mm_loadu_si128((const __m128i *)ivec);
	uint32_t c = (uint32_t)ivec[12] << 24 | (uint32_t)ivec[13] << 16 | (uint32_t)ivec[14] << 8 |
		     ivec[15];
	size_t i = 0;

	for (int r = 0; r <= rounds; r++)
		k[r] = a->rk[r];
	for (; i + 4 <= blocks; i += 4, c += 4) {
		__m128i x0 =
			_mm_xor_si128(_mm_insert_epi32(ctr, (int)__builtin_bswap32(c), 3), k[0]);
		__m128i x1 = _mm_xor_si128(_mm_insert_epi32(ctr, (int)__builtin_bswap32(c + 1), 3),
					   k[0]);
		__m128i x2 = _mm_xor_si128(_mm_insert_epi32(ctr, (int)__builtin_bswap32(c + 2), 3),
					   k[0]);
		__m128i x3 = _mm_xor_si128(_mm_insert_epi32(ctr, (int)__builtin_bswap32(c + 3), 3),
					   k[0]);

#pragma GCC unroll 14
		for (int r = 1; r < rounds; r++) {
			x0 = _mm_aesenc_si128(x0, k[r]);
			x1 = _mm_aesenc_si128(x1, k[r]);
			x2 = _mm_aesenc_si128(x2, k[r]);
			x3 = _mm_aesenc_si128(x3, k[r]);
		}
		x0 = _mm_aesenclast_si128(x0, k[rounds]);
		x1 = _mm_aesenclast_si128(x1, k[rounds]);
		x2 = _mm_aesenclast_si128(x2, k[rounds]);
		x3 = _mm_aesenclast_si128(x3, k[rounds]);
		_mm_storeu_si128(
			(__m128i *)(out + 16 * i),
			_mm_xor_si128(x0, _mm_loadu_si128((const __m128i *)(in + 16 * i))));
		_mm_storeu_si128(
			(__m128i *)(out + 16 * i + 16),
			_mm_xor_si128(x1, _mm_loadu_si128((const __m128i *)(in + 16 * i + 16))));
		_mm_storeu_si128(
			(__m128i *)(out + 16 * i + 32),
			_mm_xor_si128(x2, _mm_loadu_si128((const __m128i *)(in + 16 * i + 32))));
		_mm_storeu_si128(
			(__m128i *)(out + 16 * i + 48),
			_mm_xor_si128(x3, _mm_loadu_si128((const __m128i *)(in + 16 * i + 48))));
	}
	for (; i < blocks; i++, c++) {
		__m128i x =
			_mm_xor_si128(_mm_insert_epi32(ctr, (int)__builtin_bswap32(c), 3), k[0]);

#pragma GCC unroll 14
		for (int r = 1; r < rounds; r++)
			x = _mm_aesenc_si128(x, k[r]);
		x = _mm_aesenclast_si128(x, k[rounds]);
		_mm_storeu_si128((__m128i *)(out + 16 * i),
				 _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)(in + 16 * i))));
	}
}

/* GCM's counter function: `blocks` blocks of AES-CTR from ivec, the counter being its last
 * 32 bits (big-endian), as CRYPTO_gcm128_*_ctr32 expect. */
__attribute__((target("aes,sse4.1"))) static void aesni_ctr32(const unsigned char *in,
							      unsigned char *out, size_t blocks,
							      const void *key,
							      const unsigned char ivec[16])
{
	const struct gw_tls13_aes *a = key;

	if (a->rounds == 10)
		aesni_ctr_n(a, 10, in, out, blocks, ivec);
	else
		aesni_ctr_n(a, 14, in, out, blocks, ivec);
}

static void evp_block(const unsigned char in[16], unsigned char out[16], const void *key)
{
	int outl;

	EVP_EncryptUpdate(((const struct gw_tls13_aes *)key)->evp, out, &outl, in, 16);
}

/* The same through EVP: counter blocks built in a buffer, one call per 1 KiB. */
static void evp_ctr32(const unsigned char *in, unsigned char *out, size_t blocks, const void *key,
		      const unsigned char ivec[16])
{
	EVP_CIPHER_CTX *evp = ((const struct gw_tls13_aes *)key)->evp;
	uint64_t ctr[CTR_CHUNK * 2], ks[CTR_CHUNK * 2], prefix, tail;
	uint32_t c = (uint32_t)ivec[12] << 24 | (uint32_t)ivec[13] << 16 | (uint32_t)ivec[14] << 8 |
		     ivec[15];

	memcpy(&prefix, ivec, 8);
	memcpy(&tail, ivec + 8, 8);
	while (blocks) {
		size_t n = blocks < CTR_CHUNK ? blocks : CTR_CHUNK;
		int outl;

		for (size_t i = 0; i < n; i++, c++) {
			uint32_t be = __builtin_bswap32(c);

			ctr[2 * i] = prefix;
			ctr[2 * i + 1] = tail;
			memcpy((uint8_t *)&ctr[2 * i + 1] + 4, &be, 4);
		}
		EVP_EncryptUpdate(evp, (uint8_t *)ks, &outl, (uint8_t *)ctr, (int)(16 * n));
		for (size_t i = 0; i < 2 * n; i++) {
			uint64_t w;

			memcpy(&w, in + 8 * i, 8);
			w ^= ks[i];
			memcpy(out + 8 * i, &w, 8);
		}
		in += 16 * n;
		out += 16 * n;
		blocks -= n;
	}
}

static void aes_free(struct gw_tls13_aes *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->evp);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* Key and IV of the current secret; the previous contexts, if any, are replaced. */
static int derive(gw_tls13_dir_t *d)
{
	uint8_t key[32];
	EVP_CIPHER *cipher = d->key_len == 16 ? aes128_ecb : aes256_ecb;
	struct gw_tls13_aes *aes = aligned_alloc(16, sizeof(*aes));
	GCM128_CONTEXT *gcm = NULL;
	int err = -ENOMEM;

	if (!aes)
		goto out;
	memset(aes, 0, sizeof(*aes));
	if (gw_tls13_expand_label(d->md, d->secret, d->secret_len, "key", key, d->key_len) ||
	    gw_tls13_expand_label(d->md, d->secret, d->secret_len, "iv", d->iv, GW_TLS13_IV)) {
		err = -EINVAL;
		goto out;
	}
	if (use_aesni < 0)
		use_aesni = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
	if (use_aesni) {
		aesni_schedule(aes, key, d->key_len);
	} else if (!cipher || !(aes->evp = EVP_CIPHER_CTX_new()) ||
		   EVP_EncryptInit_ex2(aes->evp, cipher, key, NULL, NULL) != 1 ||
		   EVP_CIPHER_CTX_set_padding(aes->evp, 0) != 1) {
		goto out;
	}
	/* computes the hash key H = AES(0) through the block function */
	if (!(gcm = CRYPTO_gcm128_new(aes, aes->evp ? evp_block : aesni_block)))
		goto out;
	if (d->gcm)
		CRYPTO_gcm128_release(d->gcm);
	aes_free(d->aes);
	d->gcm = gcm;
	d->aes = aes;
	d->ctr = aes->evp ? evp_ctr32 : aesni_ctr32;
	d->seq = 0;
	aes = NULL;
	err = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	aes_free(aes);
	return err;
}

int gw_tls13_dir_init(gw_tls13_dir_t *d, uint16_t suite, const uint8_t *secret, size_t secret_len)
{
	int err;

	pthread_once(&fetch_once, fetch_algorithms);
	memset(d, 0, sizeof(*d));
	switch (suite) {
	case GW_TLS13_AES_128_GCM_SHA256:
		d->md = EVP_sha256();
		d->key_len = 16;
		break;
	case GW_TLS13_AES_256_GCM_SHA384:
		d->md = EVP_sha384();
		d->key_len = 32;
		break;
	default:
		return -EINVAL;
	}
	if (secret_len != (size_t)EVP_MD_get_size(d->md))
		return -EINVAL;
	memcpy(d->secret, secret, secret_len);
	d->secret_len = secret_len;
	err = derive(d);
	if (err)
		gw_tls13_dir_free(d);
	return err;
}

int gw_tls13_dir_update(gw_tls13_dir_t *d)
{
	uint8_t next[GW_TLS13_SECRET_MAX];
	int err = gw_tls13_expand_label(d->md, d->secret, d->secret_len, "traffic upd", next,
					d->secret_len);

	if (!err) {
		memcpy(d->secret, next, d->secret_len);
		err = derive(d);
	}
	OPENSSL_cleanse(next, sizeof(next));
	if (err)
		gw_tls13_dir_free(d);
	return err;
}

void gw_tls13_dir_free(gw_tls13_dir_t *d)
{
	if (d->gcm)
		CRYPTO_gcm128_release(d->gcm);
	aes_free(d->aes);
	OPENSSL_cleanse(d, sizeof(*d));
}

/* The per-record nonce: the IV xor the 64-bit sequence number, right-aligned. */
static void nonce(const gw_tls13_dir_t *d, uint8_t n[GW_TLS13_IV])
{
	memcpy(n, d->iv, GW_TLS13_IV);
	for (int i = 0; i < 8; i++)
		n[GW_TLS13_IV - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

static void put_header(uint8_t *h, size_t body)
{
	h[0] = GW_TLS13_APP_DATA; /* every protected record's outer type */
	h[1] = 3;
	h[2] = 3;
	h[3] = (uint8_t)(body >> 8);
	h[4] = (uint8_t)body;
}

size_t gw_tls13_seal(gw_tls13_dir_t *d, uint8_t type, const void *data, size_t len, uint8_t *out)
{
	uint8_t n[GW_TLS13_IV], *body = out + GW_TLS13_HEADER;
	size_t body_len = len + 1 + GW_TLS13_TAG;

	put_header(out, body_len);
	memcpy(body, data, len);
	body[len] = type;
	nonce(d, n);
	CRYPTO_gcm128_setiv(d->gcm, n, sizeof(n));
	CRYPTO_gcm128_aad(d->gcm, out, GW_TLS13_HEADER);
	CRYPTO_gcm128_encrypt_ctr32(d->gcm, body, body, len + 1, d->ctr);
	CRYPTO_gcm128_tag(d->gcm, body + len + 1, GW_TLS13_TAG);
	d->seq++;
	return GW_TLS13_HEADER + body_len;
}

int gw_tls13_body_len(const uint8_t *hdr)
{
	size_t len = (size_t)hdr[3] << 8 | hdr[4];

	if (hdr[0] != GW_TLS13_APP_DATA || hdr[1] != 3 || hdr[2] != 3 || len < GW_TLS13_TAG + 1 ||
	    len > GW_TLS13_CIPHER_MAX)
		return -EBADMSG;
	return (int)len;
}

int gw_tls13_open(gw_tls13_dir_t *d, const uint8_t *rec, size_t reclen, uint8_t *out, size_t *len,
		  uint8_t *type)
{
	uint8_t n[GW_TLS13_IV];
	size_t clen, i;

	if (reclen < GW_TLS13_HEADER || gw_tls13_body_len(rec) < 0 ||
	    (size_t)gw_tls13_body_len(rec) != reclen - GW_TLS13_HEADER)
		return -EBADMSG;
	clen = reclen - GW_TLS13_HEADER - GW_TLS13_TAG;
	nonce(d, n);
	CRYPTO_gcm128_setiv(d->gcm, n, sizeof(n));
	CRYPTO_gcm128_aad(d->gcm, rec, GW_TLS13_HEADER);
	CRYPTO_gcm128_decrypt_ctr32(d->gcm, rec + GW_TLS13_HEADER, out, clen, d->ctr);
	if (CRYPTO_gcm128_finish(d->gcm, rec + reclen - GW_TLS13_TAG, GW_TLS13_TAG))
		goto bad;
	/* the content type is the last non-zero byte; zeros after it are padding */
	for (i = clen; i > 0 && !out[i - 1]; i--)
		;
	if (!i || i - 1 > GW_TLS13_PLAIN_MAX)
		goto bad;
	*type = out[i - 1];
	*len = i - 1;
	d->seq++;
	return 0;
bad:
	OPENSSL_cleanse(out, clen);
	return -EBADMSG;
}

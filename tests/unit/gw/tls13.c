/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/tls13.c, TLS 1.3 AES-GCM record protection:
 *   - HKDF-Expand-Label: RFC 8448's key and IV of a handshake traffic secret, and OpenSSL's
 *     own HKDF (EVP_KDF, expand only) for both hashes and several lengths;
 *   - seal: byte for byte what OpenSSL's EVP AES-GCM gives for the same key, nonce and
 *     header, both suites, lengths 0 to 16384, sequence numbers 0 to 1000 and near 2^64;
 *   - open: its own records back, in place and not, padded records made with EVP, every
 *     single-bit change of a record refused (and the sequence number not advanced), bad
 *     headers, an all-zero inner plaintext;
 *   - KeyUpdate: the next secret is HKDF-Expand-Label(secret, "traffic upd");
 *   - seal, open and KeyUpdate with AES by AES-NI and by EVP (a CPU without AES-NI).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include "unit.h"

#include "gw/tls13.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)fg_xorshift64(&rng);
}

/* OpenSSL's HKDF-Expand with the TLS 1.3 label, built here independently of tls13.c. */
static void ossl_expand_label(const char *md, const uint8_t *secret, size_t slen, const char *label,
			      uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
	uint8_t info[300];
	size_t ilen = 0, ll = strlen(label);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5], *p = params;

	info[ilen++] = (uint8_t)(outlen >> 8);
	info[ilen++] = (uint8_t)outlen;
	info[ilen++] = (uint8_t)(6 + ll);
	memcpy(info + ilen, "tls13 ", 6);
	ilen += 6;
	memcpy(info + ilen, label, ll);
	ilen += ll;
	info[ilen++] = 0;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, ilen);
	*p = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kctx, out, outlen, params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

static void rfc8448_key_iv(void **state)
{
	(void)state;
	/* RFC 8448 section 3, {server} derive write traffic keys for handshake data */
	uint8_t secret[32], key[16], iv[12], want_key[16], want_iv[12];

	fg_unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", secret);
	fg_unhex("3fce516009c21727d0f2e4e86ee403bc", want_key);
	fg_unhex("5d313eb2671276ee13000b30", want_iv);
	assert_int_equal(gw_tls13_expand_label(EVP_sha256(), secret, 32, "key", key, 16), 0);
	assert_int_equal(gw_tls13_expand_label(EVP_sha256(), secret, 32, "iv", iv, 12), 0);
	assert_memory_equal(key, want_key, 16);
	assert_memory_equal(iv, want_iv, 12);
}

static void expand_label_as_openssl(void **state)
{
	(void)state;
	static const struct {
		const char *md;
		const EVP_MD *(*get)(void);
	} mds[] = { { "SHA256", EVP_sha256 }, { "SHA384", EVP_sha384 } };
	static const char *labels[] = { "key", "iv", "traffic upd", "finished" };
	static const size_t lens[] = { 1, 12, 16, 32, 48, 100 };

	for (size_t m = 0; m < 2; m++)
		for (size_t l = 0; l < 4; l++)
			for (size_t n = 0; n < sizeof(lens) / sizeof(lens[0]); n++) {
				uint8_t secret[48], got[100], want[100];

				fill(secret, sizeof(secret));
				assert_int_equal(gw_tls13_expand_label(mds[m].get(), secret, 48,
								       labels[l], got, lens[n]),
						 0);
				ossl_expand_label(mds[m].md, secret, 48, labels[l], want, lens[n]);
				assert_memory_equal(got, want, lens[n]);
			}
}

/* What EVP AES-GCM makes of (type, data, padding) under d's current key, IV and sequence
 * number: the reference record. */
static size_t evp_record(const gw_tls13_dir_t *d, uint8_t type, const uint8_t *data, size_t len,
			 size_t pad, uint8_t *out)
{
	uint8_t key[32], nonce[12], inner[GW_TLS13_PLAIN_MAX + 300];
	size_t ilen = len + 1 + pad, body = ilen + GW_TLS13_TAG;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl;

	assert_int_equal(
		gw_tls13_expand_label(d->md, d->secret, d->secret_len, "key", key, d->key_len), 0);
	memcpy(nonce, d->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(d->seq >> (8 * i));
	memcpy(inner, data, len);
	inner[len] = type;
	memset(inner + len + 1, 0, pad);
	out[0] = 23;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)(body >> 8);
	out[4] = (uint8_t)body;
	assert_int_equal(
		EVP_EncryptInit_ex(c, d->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(),
				   NULL, key, nonce),
		1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &outl, out, 5), 1);
	assert_int_equal(EVP_EncryptUpdate(c, out + 5, &outl, inner, (int)ilen), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + 5 + outl, &outl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 5 + ilen), 1);
	EVP_CIPHER_CTX_free(c);
	return 5 + body;
}

static void new_dir(gw_tls13_dir_t *d, uint16_t suite)
{
	uint8_t secret[48];
	size_t slen = suite == GW_TLS13_AES_128_GCM_SHA256 ? 32 : 48;

	fill(secret, slen);
	assert_int_equal(gw_tls13_dir_init(d, suite, secret, slen), 0);
	assert_int_equal(d->seq, 0);
}

static void seal_as_evp(void **state)
{
	(void)state;
	static uint8_t data[GW_TLS13_PLAIN_MAX], got[GW_TLS13_PLAIN_MAX + 64],
		want[GW_TLS13_PLAIN_MAX + 64];
	static const size_t lens[] = { 0,    1,	   15,	 16,   17,    31,   300,
				       1023, 1024, 1025, 4096, 16383, 16384 };
	static const uint16_t suites[] = { GW_TLS13_AES_128_GCM_SHA256,
					   GW_TLS13_AES_256_GCM_SHA384 };

	for (size_t s = 0; s < 2; s++) {
		gw_tls13_dir_t d;

		new_dir(&d, suites[s]);
		for (int round = 0; round < 80; round++) {
			size_t len = round < 13 ? lens[round] : fg_xorshift64(&rng) % 2000;
			uint8_t type = (uint8_t)(21 + round % 3);
			size_t wl, gl;

			if (round == 40)
				d.seq = UINT64_MAX - 20; /* every byte of the nonce's xor */
			fill(data, len);
			wl = evp_record(&d, type, data, len, 0, want);
			gl = gw_tls13_seal(&d, type, data, len, got);
			assert_int_equal(gl, len + GW_TLS13_OVERHEAD);
			assert_int_equal(gl, wl);
			assert_memory_equal(got, want, gl);
		}
		gw_tls13_dir_free(&d);
	}
}

static void open_records(void **state)
{
	(void)state;
	static uint8_t data[GW_TLS13_PLAIN_MAX], rec[GW_TLS13_PLAIN_MAX + 400],
		out[GW_TLS13_PLAIN_MAX + 400];
	gw_tls13_dir_t tx, rx;
	uint8_t secret[32], type;
	size_t len, rl;

	fill(secret, sizeof(secret));
	assert_int_equal(gw_tls13_dir_init(&tx, GW_TLS13_AES_128_GCM_SHA256, secret, 32), 0);
	assert_int_equal(gw_tls13_dir_init(&rx, GW_TLS13_AES_128_GCM_SHA256, secret, 32), 0);
	for (int round = 0; round < 200; round++) {
		size_t n = round == 0 ? GW_TLS13_PLAIN_MAX : fg_xorshift64(&rng) % 3000;
		size_t pad = round % 4 == 3 ? fg_xorshift64(&rng) % 200 : 0;
		bool in_place = round & 1;

		fill(data, n);
		if (pad) { /* padding: only another implementation makes such records */
			rl = evp_record(&tx, 23, data, n, pad, rec);
			tx.seq++;
		} else {
			rl = gw_tls13_seal(&tx, 23, data, n, rec);
		}
		assert_int_equal(gw_tls13_body_len(rec), (int)(rl - 5));
		uint8_t *dst = in_place ? rec + 5 : out;

		assert_int_equal(gw_tls13_open(&rx, rec, rl, dst, &len, &type), 0);
		assert_int_equal(type, 23);
		assert_int_equal(len, n);
		assert_memory_equal(dst, data, n);
	}
	assert_int_equal(rx.seq, 200);
	/* a record out of order (sequence number one behind) fails */
	rl = gw_tls13_seal(&tx, 23, "x", 1, rec);
	tx.seq--;
	rl = gw_tls13_seal(&tx, 23, "y", 1, rec); /* the same number again */
	assert_int_equal(gw_tls13_open(&rx, rec, rl, out, &len, &type), 0);
	rl = gw_tls13_seal(&tx, 23, "z", 1, rec);
	rx.seq++; /* skip one */
	assert_int_equal(gw_tls13_open(&rx, rec, rl, out, &len, &type), -EBADMSG);
	gw_tls13_dir_free(&tx);
	gw_tls13_dir_free(&rx);
}

static void tampering_refused(void **state)
{
	(void)state;
	gw_tls13_dir_t tx, rx;
	uint8_t secret[48], rec[128], copy[128], out[128], type;
	size_t rl, len;

	fill(secret, sizeof(secret));
	assert_int_equal(gw_tls13_dir_init(&tx, GW_TLS13_AES_256_GCM_SHA384, secret, 48), 0);
	assert_int_equal(gw_tls13_dir_init(&rx, GW_TLS13_AES_256_GCM_SHA384, secret, 48), 0);
	rl = gw_tls13_seal(&tx, 23, "GET / HTTP/1.1\r\n\r\n", 18, rec);
	for (size_t bit = 0; bit < 8 * rl; bit++) {
		memcpy(copy, rec, rl);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(gw_tls13_open(&rx, copy, rl, out, &len, &type), -EBADMSG);
		assert_int_equal(rx.seq, 0);
	}
	/* cut short, or a length that does not match */
	assert_int_equal(gw_tls13_open(&rx, rec, rl - 1, out, &len, &type), -EBADMSG);
	assert_int_equal(gw_tls13_open(&rx, rec, 4, out, &len, &type), -EBADMSG);
	assert_int_equal(gw_tls13_open(&rx, rec, rl, out, &len, &type), 0);
	assert_int_equal(len, 18);
	assert_memory_equal(out, "GET / HTTP/1.1\r\n\r\n", 18);
	/* an inner plaintext of zeros only has no content type */
	{
		uint8_t zeros[8] = { 0 };

		rl = evp_record(&tx, 0, zeros, 7, 0, rec); /* 7 zeros + type 0 */
		tx.seq++;
		assert_int_equal(gw_tls13_open(&rx, rec, rl, out, &len, &type), -EBADMSG);
	}
	gw_tls13_dir_free(&tx);
	gw_tls13_dir_free(&rx);
}

static void headers(void **state)
{
	(void)state;
	uint8_t h[5] = { 23, 3, 3, 0, 17 };

	assert_int_equal(gw_tls13_body_len(h), 17);
	h[3] = 0x41;
	h[4] = 0x00; /* 16640 = 2^14 + 256 */
	assert_int_equal(gw_tls13_body_len(h), 16640);
	h[4] = 1;
	assert_int_equal(gw_tls13_body_len(h), -EBADMSG);
	h[3] = 0;
	h[4] = 16;
	assert_int_equal(gw_tls13_body_len(h), -EBADMSG);
	h[4] = 100;
	h[0] = 22; /* a plaintext handshake record after the handshake */
	assert_int_equal(gw_tls13_body_len(h), -EBADMSG);
	h[0] = 23;
	h[2] = 1;
	assert_int_equal(gw_tls13_body_len(h), -EBADMSG);
}

static void key_update(void **state)
{
	(void)state;
	gw_tls13_dir_t d;
	uint8_t secret[32], next[32], rec[64], want[64];

	fill(secret, 32);
	assert_int_equal(gw_tls13_dir_init(&d, GW_TLS13_AES_128_GCM_SHA256, secret, 32), 0);
	gw_tls13_seal(&d, 23, "a", 1, rec);
	ossl_expand_label("SHA256", secret, 32, "traffic upd", next, 32);
	assert_int_equal(gw_tls13_dir_update(&d), 0);
	assert_memory_equal(d.secret, next, 32);
	assert_int_equal(d.seq, 0);
	evp_record(&d, 23, (const uint8_t *)"b", 1, 0, want);
	gw_tls13_seal(&d, 23, "b", 1, rec);
	assert_memory_equal(rec, want, 1 + GW_TLS13_OVERHEAD);
	gw_tls13_dir_free(&d);
	gw_tls13_dir_free(&d); /* twice is harmless */
}

static void bad_init(void **state)
{
	(void)state;
	gw_tls13_dir_t d;
	uint8_t secret[48] = { 1 };

	assert_int_equal(gw_tls13_dir_init(&d, 0x1303, secret, 32), -EINVAL); /* ChaCha20 */
	assert_int_equal(gw_tls13_dir_init(&d, GW_TLS13_AES_128_GCM_SHA256, secret, 48), -EINVAL);
	assert_int_equal(gw_tls13_dir_init(&d, GW_TLS13_AES_256_GCM_SHA384, secret, 32), -EINVAL);
	gw_tls13_dir_free(&d);
}

/* AES-NI is what this machine uses; EVP AES-ECB is what a CPU without it would. */
static int aesni(void **state)
{
	(void)state;
	return gw_tls13_set_aesni(1);
}

static int evp(void **state)
{
	(void)state;
	return gw_tls13_set_aesni(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8448_key_iv),
		cmocka_unit_test(expand_label_as_openssl),
		cmocka_unit_test_setup(seal_as_evp, aesni),
		cmocka_unit_test_setup(open_records, aesni),
		cmocka_unit_test_setup(tampering_refused, aesni),
		cmocka_unit_test_setup(key_update, aesni),
		{ "seal_as_evp (EVP AES)", seal_as_evp, evp, NULL, NULL },
		{ "open_records (EVP AES)", open_records, evp, NULL, NULL },
		{ "tampering_refused (EVP AES)", tampering_refused, evp, NULL, NULL },
		{ "key_update (EVP AES)", key_update, evp, NULL, NULL },
		cmocka_unit_test(headers),
		cmocka_unit_test(bad_init),
	};

	return FG_RUN_TESTS(tests);
}

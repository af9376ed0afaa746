/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/huff.c, HPACK Huffman decoding:
 *   - the code: RFC 7541's examples decode to their text, known codes of appendix B, a
 *     complete prefix code (Kraft sum exactly 1);
 *   - libh2o's own encoder (h2o_hpack_encode_string) on random strings of every byte,
 *     short and long: each decodes back to the string;
 *   - every decoding error of RFC 7541 5.2: EOS inside, padding of 8 bits or more,
 *     padding that is not all ones, a code cut short;
 *   - the "rare" flag: set for every string with an octet a field value may not hold.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "gw/hpack.h"
#include "gw/huff.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return fg_xorshift64(&rng);
}

static void decodes_to(const uint8_t *in, size_t len, const char *want, size_t want_len)
{
	static char out[16384];
	ssize_t n;
	size_t i;
	int rare, ctl = 0;

	assert_true(gw_huff_decoded_max(len) <= sizeof(out));
	n = gw_huff_decode(out, in, len, &rare);
	assert_int_equal(n, (ssize_t)want_len);
	assert_memory_equal(out, want, want_len);
	/* rare: a code over 11 bits, which every octet invalid in a field value has */
	for (i = 0; i < want_len; i++)
		ctl |= ((unsigned char)want[i] < 0x20 && want[i] != '\t') || want[i] == 0x7f;
	if (ctl)
		assert_true(rare);
}

/* RFC 7541 appendix C.4 and C.6: the Huffman-coded strings of its examples. */
static void rfc_examples(void **state)
{
	static const struct {
		const char *hex, *text;
	} ex[] = {
		{ "f1e3c2e5f23a6ba0ab90f4ff", "www.example.com" },
		{ "a8eb10649cbf", "no-cache" },
		{ "25a849e95ba97d7f", "custom-key" },
		{ "25a849e95bb8e8b4bf", "custom-value" },
		{ "6402", "302" },
		{ "aec3771a4b", "private" },
		{ "d07abe941054d444a8200595040b8166e082a62d1bff", "Mon, 21 Oct 2013 20:13:21 GMT" },
		{ "9d29ad171863c78f0b97c8e9ae82ae43d3", "https://www.example.com" },
	};
	uint8_t in[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		decodes_to(in, fg_unhex(ex[i].hex, in), ex[i].text, strlen(ex[i].text));
	decodes_to(in, 0, "", 0);
}

static void the_code(void **state)
{
	unsigned bits, sym, total = 0;
	double kraft = 0;

	(void)state;
	assert_int_equal(gw_huff_code('0', &bits), 0x0);
	assert_int_equal(bits, 5);
	assert_int_equal(gw_huff_code('a', &bits), 0x3);
	assert_int_equal(bits, 5);
	assert_int_equal(gw_huff_code(' ', &bits), 0x14);
	assert_int_equal(bits, 6);
	assert_int_equal(gw_huff_code('?', &bits), 0x3fc);
	assert_int_equal(bits, 10);
	assert_int_equal(gw_huff_code(0, &bits), 0x1ff8);
	assert_int_equal(bits, 13);
	assert_int_equal(gw_huff_code(255, &bits), 0x3ffffee);
	assert_int_equal(bits, 26);
	assert_int_equal(gw_huff_code(256, &bits), 0x3fffffff);
	assert_int_equal(bits, 30);
	gw_huff_code(257, &bits);
	assert_int_equal(bits, 0);
	for (sym = 0; sym <= 256; sym++) {
		uint32_t code = gw_huff_code(sym, &bits);

		assert_true(bits >= 5 && bits <= 30);
		assert_true(code < (1u << bits));
		kraft += 1.0 / (double)(1u << bits);
		total++;
	}
	assert_int_equal(total, 257);
	assert_true(kraft == 1.0);
}

/* A Huffman string of symbols syms[0..n) with `pad` padding bits of value padv. */
static size_t encode(const unsigned *syms, size_t n, unsigned pad, uint32_t padv, uint8_t *out)
{
	uint64_t acc = 0;
	unsigned have = 0, bits;
	size_t o = 0, i;

	for (i = 0; i <= n; i++) {
		uint32_t code = i < n ? gw_huff_code(syms[i], &bits) : padv;

		if (i == n)
			bits = pad;
		acc = acc << bits | code;
		have += bits;
		while (have >= 8) {
			out[o++] = (uint8_t)(acc >> (have - 8));
			have -= 8;
		}
	}
	assert_int_equal(have, 0);
	return o;
}

static void errors(void **state)
{
	unsigned syms[4] = { 'a', 'b', 256, 'c' };
	uint8_t in[32];
	char out[64];
	size_t n;
	int rare;

	(void)state;
	/* "ab" is 5 + 6 bits: 5 bits of ones complete it, zeros or 13 ones do not */
	n = encode(syms, 2, 5, 0x1f, in);
	decodes_to(in, n, "ab", 2);
	n = encode(syms, 2, 5, 0x1e, in);
	assert_int_equal(gw_huff_decode(out, in, n, &rare), -1);
	n = encode(syms, 2, 13, 0x1fff, in);
	assert_int_equal(gw_huff_decode(out, in, n, &rare), -1);
	/* EOS inside, then 'c' and padding */
	n = encode(syms, 4, 2, 0x3, in);
	assert_int_equal(gw_huff_decode(out, in, n, &rare), -1);
	/* a full byte of ones is not padding */
	in[0] = 0xff;
	assert_int_equal(gw_huff_decode(out, in, 1, &rare), -1);
	/* a 13-bit code cut after its first byte */
	syms[0] = 0;
	n = encode(syms, 1, 3, 0x7, in);
	assert_int_equal(n, 2);
	assert_int_equal(gw_huff_decode(out, in, 1, &rare), -1);
	decodes_to(in, 2, "\0", 1);
	/* the codes of up to 11 bits are not rare ('?' is 10 bits long) */
	syms[0] = 'a';
	syms[1] = '?';
	syms[2] = 'Z';
	n = encode(syms, 3, 1, 0x1, in); /* 5 + 10 + 8 bits */
	assert_int_equal(gw_huff_decode(out, in, n, &rare), 3);
	assert_false(rare);
	syms[1] = ' ';
	syms[2] = 0x7f;
	n = encode(syms, 3, 1, 0x1, in); /* 5 + 6 + 28 bits */
	assert_int_equal(gw_huff_decode(out, in, n, &rare), 3);
	assert_true(rare);
}

/* libh2o's encoder Huffman-codes a string when that is shorter: the literal starts with
 * the H bit and a 7-bit-prefix length. */
static void from_h2o_encoder(void **state)
{
	static char s[6000];
	static uint8_t enc[6100];
	int i, huffed = 0;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t len = i % 10 ? rnd() % 60 : rnd() % sizeof(s), j, n, at = 1;
		uint64_t k = rnd() % 4;
		size_t plen;

		for (j = 0; j < len; j++)
			s[j] = k == 0	? (char)rnd()
			       : k == 1 ? "abcdefghijklmnopqrstuvwxyz0123456789/-._?=&"[rnd() % 43]
			       : k == 2 ? (char)(32 + rnd() % 95)
					: (char)(rnd() % 3 ? 'a' + rnd() % 26 : 128 + rnd() % 128);
		n = h2o_hpack_encode_string(enc, s, len);
		if (!(enc[0] & 0x80))
			continue;
		huffed++;
		plen = enc[0] & 0x7f;
		if (plen == 0x7f) {
			size_t mult = 1;

			for (;; mult *= 128) {
				plen += (size_t)(enc[at] & 0x7f) * mult;
				if (!(enc[at++] & 0x80))
					break;
			}
		}
		assert_int_equal(at + plen, n);
		decodes_to(enc + at, plen, s, len);
	}
	assert_true(huffed > 5000);
}

/* The memo gives what decoding gives: output, length, rare and errors, for strings that
 * come back, strings that share a slot, strings too long for it and invalid codes. */
static void memo_same_as_decode(void **state)
{
	static struct gw_huff_memo memo;
	static uint8_t pool[64][64];
	static size_t pool_len[64];
	char want[128], got[128];
	int i, hits = 0;

	(void)state;
	for (i = 0; i < 64; i++) {
		size_t j;

		pool_len[i] = 1 + rnd() % 60; /* some over GW_HUFF_MEMO_IN */
		for (j = 0; j < pool_len[i]; j++)
			pool[i][j] = (uint8_t)rnd();
		if (i < 32) { /* valid codes of short path-like strings */
			char s[40];
			uint8_t enc[64];
			size_t n = 1 + rnd() % 30, at = 1;

			for (j = 0; j < n; j++)
				s[j] = "abcdefghijklmnopqrstuvwxyz0123456789/-._"[rnd() % 40];
			if (i % 8 == 0)
				s[n / 2] = '\x01'; /* a rare code */
			assert_true(h2o_hpack_encode_string(enc, s, n) <= sizeof(enc));
			if (!(enc[0] & 0x80))
				continue;
			pool_len[i] = enc[0] & 0x7f;
			memcpy(pool[i], enc + at, pool_len[i]);
		}
	}
	for (i = 0; i < 20000; i++) {
		size_t k = rnd() % 64, len = pool_len[k];
		int rare_want = -1, rare_got = -2;
		ssize_t n_want = gw_huff_decode(want, pool[k], len, &rare_want);
		ssize_t n_got;

		memset(got, 0x5a, sizeof(got));
		n_got = gw_huff_decode_memo(&memo, got, pool[k], len, &rare_got);
		assert_int_equal(n_got, n_want);
		if (n_want >= 0) {
			assert_int_equal(!!rare_got, !!rare_want);
			assert_memory_equal(got, want, (size_t)n_want);
			hits += len <= GW_HUFF_MEMO_IN;
		}
	}
	assert_true(hits > 1000);
	/* strings that differ only in their last byte, many of them in one slot */
	for (i = 0; i < 4 * 256; i++) {
		uint8_t s1[20];
		int rare_want, rare_got;
		ssize_t n_want, n_got;

		memcpy(s1, pool[1], sizeof(s1));
		s1[sizeof(s1) - 1] = (uint8_t)(i * 7);
		n_want = gw_huff_decode(want, s1, sizeof(s1), &rare_want);
		n_got = gw_huff_decode_memo(&memo, got, s1, sizeof(s1), &rare_got);
		assert_int_equal(n_got, n_want);
		if (n_want >= 0)
			assert_memory_equal(got, want, (size_t)n_want);
	}
	/* a string that fails to decode is not remembered as anything */
	{
		const uint8_t eos[4] = { 0xff, 0xff, 0xff, 0xff };
		int rare;

		assert_int_equal(gw_huff_decode_memo(&memo, got, eos, sizeof(eos), &rare), -1);
		assert_int_equal(gw_huff_decode_memo(&memo, got, eos, sizeof(eos), &rare), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc_examples),
		cmocka_unit_test(the_code),
		cmocka_unit_test(errors),
		cmocka_unit_test(from_h2o_encoder),
		cmocka_unit_test(memo_same_as_decode),
	};

	return FG_RUN_TESTS(tests);
}

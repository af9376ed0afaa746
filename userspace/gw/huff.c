// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * huff.c - HPACK Huffman decoding with a 64-bit bit buffer and a 10-bit lookup table
 * (see huff.h).
 */
#include <pthread.h>
#include <string.h>

#include "gw/huff.h"

#define SYMBOLS	  257 /* 256 octets and EOS */
#define EOS	  256
#define MIN_BITS  5
#define MAX_BITS  30
/* Codes of up to FAST_BITS bits are found with one lookup of the next FAST_BITS bits,
 * two at a time when both lie in them (most of a path: letters, digits, '/' are 5 to 7
 * bits). 2^11 entries of 4 bytes: 8 KiB. */
#define FAST_BITS 11

/* RFC 7541 appendix B: the length in bits of each symbol's code, by symbol. The code
 * itself is canonical (codes of one length are consecutive, in symbol order, and follow
 * the last code of the next shorter length shifted left), so the lengths define it. */
static const uint8_t code_len[SYMBOLS] = {
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, /*   0 */
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, /*  16 */
	6,  10, 10, 12, 13, 6,	8,  11, 10, 10, 8,  11, 8,  6,	6,  6,	/*  32 */
	5,  5,	5,  6,	6,  6,	6,  6,	6,  6,	7,  8,	15, 6,	12, 10, /*  48 */
	13, 6,	7,  7,	7,  7,	7,  7,	7,  7,	7,  7,	7,  7,	7,  7,	/*  64 */
	7,  7,	7,  7,	7,  7,	7,  7,	8,  7,	8,  13, 19, 13, 14, 6,	/*  80 */
	15, 5,	6,  5,	6,  5,	6,  6,	6,  5,	7,  7,	6,  6,	6,  5,	/*  96 */
	6,  7,	6,  5,	5,  6,	7,  7,	7,  7,	7,  15, 11, 14, 13, 28, /* 112 */
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, /* 128 */
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, /* 144 */
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, /* 160 */
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, /* 176 */
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, /* 192 */
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, /* 208 */
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, /* 224 */
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, /* 240 */
	30,								/* EOS */
};

/* fast[next FAST_BITS bits]: the first symbol (bits 0-7), the second (8-15), the first
 * code's length (16-23) and both codes' length (24-31; the first's alone when no second
 * code fits in the bits left). The lengths are NO_FAST when the first code is longer
 * than FAST_BITS. Every symbol of FAST_BITS bits or fewer is an octet (EOS is 30 bits). */
#define NO_FAST	   0xff
#define F_SYM1(e)  ((e)&0xff)
#define F_SYM2(e)  ((e) >> 8 & 0xff)
#define F_LEN1(e)  ((e) >> 16 & 0xff)
#define F_LEN(e)   ((e) >> 24)
#define F_COUNT(e) (1 + (F_LEN(e) != F_LEN1(e)))
static uint32_t fast[1 << FAST_BITS];
/* For each length: the first code, how many codes, and where they start in by_code. */
static uint32_t first_code[MAX_BITS + 1];
static uint16_t n_codes[MAX_BITS + 1], first_index[MAX_BITS + 1];
/* The symbols in code order. */
static uint16_t by_code[SYMBOLS];
static uint32_t sym_code[SYMBOLS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The symbol whose code starts the top `bits` bits of v (a FAST_BITS-bit window) and is
 * at most that long, with its length; -1 when none is. */
static int code_at(uint32_t v, unsigned bits, unsigned *len)
{
	unsigned l;

	for (l = MIN_BITS; l <= bits; l++) {
		uint32_t c = v >> (FAST_BITS - l);

		if (c - first_code[l] < n_codes[l]) {
			*len = l;
			return by_code[first_index[l] + c - first_code[l]];
		}
	}
	return -1;
}

static void build(void)
{
	uint32_t code = 0;
	unsigned len, sym, v, n = 0;

	for (len = MIN_BITS; len <= MAX_BITS; len++) {
		first_code[len] = code;
		first_index[len] = (uint16_t)n;
		for (sym = 0; sym < SYMBOLS; sym++) {
			if (code_len[sym] != len)
				continue;
			sym_code[sym] = code++;
			by_code[n++] = (uint16_t)sym;
		}
		n_codes[len] = (uint16_t)(n - first_index[len]);
		code <<= 1;
	}
	for (v = 0; v < (1u << FAST_BITS); v++) {
		unsigned l1, l2 = 0, s2 = 0;
		int s1 = code_at(v, FAST_BITS, &l1), b;

		if (s1 < 0) {
			fast[v] = (uint32_t)NO_FAST << 16 | (uint32_t)NO_FAST << 24;
			continue;
		}
		/* a second code in the bits left */
		b = code_at(v << l1 & ((1u << FAST_BITS) - 1), FAST_BITS - l1, &l2);
		if (b >= 0)
			s2 = (unsigned)b;
		else
			l2 = 0;
		fast[v] = (uint32_t)s1 | s2 << 8 | l1 << 16 | (l1 + l2) << 24;
	}
}

/* The tables are built once, before the first use, by whichever thread comes first. */
static inline void ready(void)
{
	static int done;

	if (__builtin_expect(!__atomic_load_n(&done, __ATOMIC_ACQUIRE), 0)) {
		pthread_once(&once, build);
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
}

uint32_t gw_huff_code(unsigned sym, unsigned *bits)
{
	ready();
	if (sym >= SYMBOLS) {
		*bits = 0;
		return 0;
	}
	*bits = code_len[sym];
	return sym_code[sym];
}

/* A code longer than FAST_BITS at the top of acc, of which avail bits are input: its
 * symbol and length, or -1 when acc holds fewer bits than the code needs. */
static int slow_symbol(uint64_t acc, unsigned avail, unsigned *len)
{
	unsigned l;

	for (l = FAST_BITS + 1; l <= MAX_BITS && l <= avail; l++) {
		uint32_t v = (uint32_t)(acc >> (64 - l));

		if (v - first_code[l] < n_codes[l]) {
			*len = l;
			return by_code[first_index[l] + v - first_code[l]];
		}
	}
	return -1;
}

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

ssize_t gw_huff_decode(char *dst, const uint8_t *src, size_t len, int *rare)
{
	const uint8_t *p = src, *end = src + len;
	uint64_t acc = 0; /* input bits, the next one at bit 63 */
	unsigned avail = 0;
	char *o = dst;

	ready();
	*rare = 0;
	for (;;) {
		unsigned l;
		uint32_t e;
		int sym;

		/* Refill when a code might not fit: 8 bytes at once while the input has them
		 * (the bits past `avail` are the input's own next bits, so OR-ing them in
		 * again later changes nothing). */
		if (avail < MAX_BITS) {
			if (end - p >= 8) {
				acc |= load_be64(p) >> avail;
				p += (63 - avail) >> 3;
				avail |= 56;
			} else {
				for (; avail <= 56 && p < end; avail += 8)
					acc |= (uint64_t)*p++ << (56 - avail);
				if (avail < MIN_BITS)
					break;
			}
		}
		e = fast[acc >> (64 - FAST_BITS)];
		l = F_LEN(e);
		if (__builtin_expect(l <= avail, 1)) {
			/* dst has a byte to spare for the second (huff.h) */
			o[0] = (char)F_SYM1(e);
			o[1] = (char)F_SYM2(e);
			o += F_COUNT(e);
			acc <<= l;
			avail -= l;
			continue;
		}
		l = F_LEN1(e);
		if (l <= avail) { /* the last code but one, and a second cut short */
			*o++ = (char)F_SYM1(e);
			acc <<= l;
			avail -= l;
			continue;
		}
		if (avail <= 7 && p == end)
			break; /* the padding, checked below */
		sym = l == NO_FAST ? slow_symbol(acc, avail, &l) : -1;
		if (sym < 0 || sym == EOS)
			return -1;
		*o++ = (char)sym;
		*rare = 1;
		acc <<= l;
		avail -= l;
	}
	/* RFC 7541 5.2: at most 7 bits of padding, the top bits of EOS (all ones) */
	if (avail && (acc >> (64 - avail)) != (1u << avail) - 1)
		return -1;
	return o - dst;
}

/* The slot of src[0..len) (1 <= len <= GW_HUFF_MEMO_IN): its first and last 8 bytes
 * (the bytes of two paths of one API differ mostly at their end) and its length. */
static inline unsigned memo_slot(const uint8_t *src, size_t len)
{
	uint64_t a = 0, b = 0;

	if (len >= 8) {
		memcpy(&a, src, 8);
		memcpy(&b, src + len - 8, 8);
	} else {
		memcpy(&a, src, len);
	}
	a ^= (b + len) * 0x9e3779b97f4a7c15ull;
	return (unsigned)((a * 0xff51afd7ed558ccdull) >> 60) & (GW_HUFF_MEMO_SLOTS - 1);
}

ssize_t gw_huff_decode_memo(struct gw_huff_memo *m, char *dst, const uint8_t *src, size_t len,
			    int *rare)
{
	unsigned i;
	ssize_t n;

	_Static_assert(GW_HUFF_MEMO_SLOTS <= 16 && !(GW_HUFF_MEMO_SLOTS & (GW_HUFF_MEMO_SLOTS - 1)),
		       "the slot is 4 bits of the hash");
	_Static_assert(GW_HUFF_MEMO_IN * 8 / 5 <= UINT8_MAX, "out_len is a byte");
	if (!len || len > GW_HUFF_MEMO_IN)
		return gw_huff_decode(dst, src, len, rare);
	i = memo_slot(src, len);
	if (m->slot[i].in_len == len && !memcmp(m->slot[i].in, src, len)) {
		memcpy(dst, m->slot[i].out, m->slot[i].out_len);
		*rare = m->slot[i].rare;
		return m->slot[i].out_len;
	}
	n = gw_huff_decode(dst, src, len, rare);
	if (n < 0)
		return n; /* an error is found again, not remembered */
	m->slot[i].in_len = (uint8_t)len;
	m->slot[i].out_len = (uint8_t)n;
	m->slot[i].rare = (uint8_t) !!*rare;
	memcpy(m->slot[i].in, src, len);
	memcpy(m->slot[i].out, dst, (size_t)n);
	return n;
}

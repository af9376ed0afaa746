/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * huff.h - HPACK's Huffman code (RFC 7541 5.2 and appendix B), decoding.
 *
 * HTTP/2 clients Huffman-code the strings of a request head they send as literals: with
 * nghttp2 (curl, h2load) that is :path on every request, since nghttp2 never puts :path
 * in the dynamic table. libh2o 2.2.5 decodes four bits at a time through a state table:
 * about 600 instructions for a 20-character path (`make bench-gw-ir`). This decoder keeps
 * up to 64 bits of input in a register and takes the codes of up to 11 bits (every letter,
 * digit and URL punctuation) one or two at a time with one table lookup; longer codes are
 * found from the code lengths, which define the canonical code.
 */
#ifndef GW_HUFF_H
#define GW_HUFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes of output a Huffman string of len bytes decodes to at most (the shortest code is
 * 5 bits), and one more: the decoder writes two symbols at a time. */
static inline size_t gw_huff_decoded_max(size_t len)
{
	return len * 8 / 5 + 1;
}

/* Decode the Huffman string src[0..len) into dst (gw_huff_decoded_max(len) bytes).
 * Returns the decoded length, or -1 for what RFC 7541 5.2 makes a decoding error: the
 * EOS symbol in the string, or padding that is longer than 7 bits or not all ones.
 * *rare: set when a code longer than 11 bits was decoded. Every octet a field value may
 * not hold (CTLs but HTAB, DEL) has such a code, so a value without one needs no check. */
ssize_t gw_huff_decode(char *dst, const uint8_t *src, size_t len, int *rare);

/* A memo of the last short strings decoded, so a string a client sends again (nghttp2's
 * :path on every request to one resource) costs a compare and a copy instead of a decode:
 * about 60 instructions instead of 300 for a 13-character path. Direct-mapped by a hash
 * of the coded bytes; a hit needs the same coded bytes, so its output is what decoding
 * them gives. Strings of more than GW_HUFF_MEMO_IN coded bytes are decoded every time.
 * One memo per thread: it is not locked. */
#define GW_HUFF_MEMO_SLOTS 16
#define GW_HUFF_MEMO_IN	   48
struct gw_huff_memo {
	struct {
		uint8_t in_len; /* 0: empty */
		uint8_t out_len;
		uint8_t rare;
		uint8_t in[GW_HUFF_MEMO_IN];
		char out[GW_HUFF_MEMO_IN * 8 / 5];
	} slot[GW_HUFF_MEMO_SLOTS];
};

/* gw_huff_decode() through the memo m (zeroed before its first use): the same result,
 * the same *rare, the same bytes in dst (gw_huff_decoded_max(len) bytes). */
ssize_t gw_huff_decode_memo(struct gw_huff_memo *m, char *dst, const uint8_t *src, size_t len,
			    int *rare);

/* The code of symbol sym (0..256, 256 being EOS) and its length in bits: for tests and
 * for encoders. */
uint32_t gw_huff_code(unsigned sym, unsigned *bits);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hpackdec.c - libFuzzer target: HTTP/2 request heads from the fuzzer through floodgate's
 * decoder (gw/hpackdec.c, its Huffman decoder and memo) and through libh2o's own, each
 * with its own HPACK table; tests/unit/gw/hpackdec.c's check() must find them the same
 * (return code, error, fields, the two tables) and nothing of ours pointing into the input.
 *
 * Input: byte 0 picks the table size (4096, 256, 64 or 0 bytes, bits 0-1) and which heads
 * are trailers (bits 2-7, heads 1 to 6); then heads, each one length byte and its bytes,
 * all on one connection's table, so that later heads refer to what earlier ones inserted
 * (the fast path takes only heads that leave the table as it is).
 */
#define FG_FUZZ 1
#include "../unit/gw/hpackdec.c"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = { 4096, 256, 64, 0 };
	const uint8_t *p = data + 1, *end = data + size;
	uint8_t blk[256];
	unsigned i;

	if (!theirs && !(theirs = (parse_fn)dlsym(RTLD_NEXT, "h2o_hpack_parse_headers")))
		abort();
	if (size < 2)
		return 0;
	sides_init(caps[data[0] & 3]);
	for (i = 0; p < end; i++) {
		size_t n = *p++;

		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		memcpy(blk, p, n); /* check() overwrites its input */
		p += n;
		check(blk, n, i && i < 7 && (data[0] >> (i + 1) & 1));
	}
	sides_end();
	return 0;
}

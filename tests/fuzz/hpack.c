// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hpack.c - libFuzzer target: HTTP/2 response heads (what upstreams and the cache hand to
 * floodgate's own HPACK encoder, gw/hpack.h) over one connection's table, each decoded by
 * nghttp2's decoder and compared with what was sent (tests/unit/gw/hpack.c's round trip):
 * every field in order, never-indexed ones so marked, frames within the size, the block
 * within the capacity reserved for it, and the table's bookkeeping sane after every head.
 *
 * Input: byte 0 picks the table size (4096, 256 or 0); then heads of: a field count, two
 * status bytes, a flags byte (Server, Content-Length, small frames) and a Date second,
 * then per field a name byte and a value (a length byte and its bytes).
 */
#define FG_FUZZ 1
#include "../unit/gw/hpack.c"
#include "fuzz/fuzz.h"

static h2o_iovec_t *name_of(uint8_t k)
{
	switch (k % 12) {
	case 0:
		return &n_ratelimit;
	case 1:
		return &n_policy;
	case 2:
		return &n_xcache;
	case 3:
		return &n_xrem;
	case 4:
		return &n_custom[k / 12 % 4];
	default: /* h2o's tokens but the pseudo-headers */
		return &h2o__tokens[5 + k % (62 - 5)].buf;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t table_sizes[] = { 4096, 256, 0 };
	static char vals[MAX_FIELDS][256];
	h2o_iovec_t server = h2o_iovec_init(H2O_STRLIT("floodgate"));
	const uint8_t *p = data + 1, *end = data + size;
	struct conn c;

	if (size < 6)
		return 0;
	forget_varying();
	conn_init(&c, table_sizes[data[0] % 3], h2o_hpack_flatten_response);
	for (uint32_t r = 0; end - p >= 5 && r < 64; r++) {
		h2o_header_t hs[MAX_FIELDS - 4];
		size_t n = p[0] % 40, cl = p[3] & 2 ? (size_t)p[1] * 1000 + p[2] : SIZE_MAX;
		size_t max_frame = p[3] & 4 ? 16 + p[2] : 16384;
		int status = 100 + (p[1] << 8 | p[2]) % 500;
		const h2o_iovec_t *srv = p[3] & 1 ? &server : NULL;

		snprintf(ts_str.rfc1123, sizeof(ts_str.rfc1123), "Sun, 06 Nov 1994 08:49:%02u GMT",
			 p[4] % 60u);
		p += 5;
		for (size_t i = 0; i < n; i++) {
			size_t vl = p < end ? *p++ : 0;

			hs[i].name = name_of(p < end ? *p++ : 0);
			hs[i].orig_name = NULL;
			if (vl > (size_t)(end - p))
				vl = (size_t)(end - p);
			memcpy(vals[i], p, vl);
			p += vl;
			hs[i].value = h2o_iovec_init(vals[i], vl);
		}
		check_head(&c, 2 * r + 1, max_frame, status, srv, hs, n, cl);
	}
	conn_close(&c);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * path.c - libFuzzer target: request paths from the fuzzer through the whitelist's
 * normalisation (gw/route.h), and the properties the route check relies on:
 *   - a normal form starts with '/', holds no control byte, no backslash, no empty, "."
 *     or ".." segment, and is its own normal form unless it holds a '%' (decoded once:
 *     "%2525" is the path "/%25", and normalising that again would decode it again);
 *   - gw_route_is_normal() never says so of a path that normalising would change;
 *   - what goes upstream (gw_route_encode() of the normal form) normalises back to that
 *     normal form: the upstream resolves the path the whitelist matched, no other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/route.h"

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char norm[GW_PATH_MAX + 1], again[GW_PATH_MAX + 1], enc[3 * GW_PATH_MAX + 1],
		back[3 * GW_PATH_MAX + 1];
	const char *in = (const char *)data;
	int n, m;

	if (size > GW_PATH_MAX + 16)
		return 0;
	n = gw_route_normalize(in, size, size <= GW_PATH_MAX ? norm : again);
	if (gw_route_is_normal(in, size))
		MUST(n == (int)size && !memcmp(norm, in, size));
	if (n < 0)
		return 0;
	MUST((size_t)n <= size && norm[n] == '\0' && n >= 1 && norm[0] == '/');
	for (int i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)norm[i];

		MUST(ch >= 0x20 && ch != 0x7f && ch != '\\');
		if (ch == '/' && i + 1 < n) { /* the segment after this slash */
			const char *seg = norm + i + 1;
			const char *end = memchr(seg, '/', (size_t)(n - i - 1));
			size_t len = end ? (size_t)(end - seg) : (size_t)(n - i - 1);

			MUST(len > 0 || !end); /* no "//"; a trailing '/' may stay */
			MUST(!(len == 1 && seg[0] == '.') &&
			     !(len == 2 && seg[0] == '.' && seg[1] == '.'));
		}
	}
	if (!memchr(norm, '%', (size_t)n)) {
		m = gw_route_normalize(norm, (size_t)n, again);
		MUST(m == n && !memcmp(again, norm, (size_t)n));
	}
	m = (int)gw_route_encode(norm, (size_t)n, enc);
	MUST(m >= n && (size_t)m <= 3 * (size_t)n);
	MUST(gw_route_normalize(enc, (size_t)m, back) == n && !memcmp(back, norm, (size_t)n));
	return 0;
}

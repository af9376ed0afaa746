/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bytes.h - moves and compares of short byte strings, inline.
 *
 * HTTP header names and values are mostly under 32 bytes: these moves and compares of two
 * overlapping words cost a few instructions where a call to memcpy or memcmp costs 20 to
 * 40 (most of the HPACK encoder's time before, measured with `make bench-gw-ir`).
 */
#ifndef GW_BYTES_H
#define GW_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t gw_load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t gw_load32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void gw_copy_bytes(uint8_t *dst, const char *src, size_t len)
{
	if (len > 32) {
		memcpy(dst, src, len);
	} else if (len > 16) {
		uint64_t a = gw_load64(src), b = gw_load64(src + 8), c = gw_load64(src + len - 16),
			 d = gw_load64(src + len - 8);

		memcpy(dst, &a, 8);
		memcpy(dst + 8, &b, 8);
		memcpy(dst + len - 16, &c, 8);
		memcpy(dst + len - 8, &d, 8);
	} else if (len >= 8) {
		uint64_t a = gw_load64(src), b = gw_load64(src + len - 8);

		memcpy(dst, &a, 8);
		memcpy(dst + len - 8, &b, 8);
	} else if (len >= 4) {
		uint32_t a = gw_load32(src), b = gw_load32(src + len - 4);

		memcpy(dst, &a, 4);
		memcpy(dst + len - 4, &b, 4);
	} else if (len) {
		dst[0] = (uint8_t)src[0];
		dst[len / 2] = (uint8_t)src[len / 2];
		dst[len - 1] = (uint8_t)src[len - 1];
	}
}

static inline int gw_same_bytes(const char *a, const char *b, size_t len)
{
	if (len > 32)
		return !memcmp(a, b, len);
	if (len > 16)
		return ((gw_load64(a) ^ gw_load64(b)) | (gw_load64(a + 8) ^ gw_load64(b + 8)) |
			(gw_load64(a + len - 16) ^ gw_load64(b + len - 16)) |
			(gw_load64(a + len - 8) ^ gw_load64(b + len - 8))) == 0;
	if (len >= 8)
		return ((gw_load64(a) ^ gw_load64(b)) |
			(gw_load64(a + len - 8) ^ gw_load64(b + len - 8))) == 0;
	if (len >= 4)
		return ((gw_load32(a) ^ gw_load32(b)) |
			(gw_load32(a + len - 4) ^ gw_load32(b + len - 4))) == 0;
	return !len || (a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1]);
}

#endif

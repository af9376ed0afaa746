// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * framing.c - libFuzzer target: raw HTTP/1.x request heads through the framing check
 * (gw/framing.h) and through picohttpparser, the parser h2o 2.2.5 reads them with (its
 * phr_parse_request; fuzz.h).
 * For every head pico accepts whole, the Content-Length, Transfer-Encoding and Host
 * fields floodgate counts must be the fields pico found by those names: a field one of
 * them sees and the other does not is a request boundary the check would not judge
 * (request smuggling).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw/framing.h"

#include "fuzz/fuzz.h"

static unsigned named(const struct phr_header *h, size_t n, const char *name)
{
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += h[i].name && h[i].name_len == strlen(name) &&
		     !strncasecmp(h[i].name, name, h[i].name_len);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_header h[100];
	const char *method, *path;
	size_t mlen, plen, n = sizeof(h) / sizeof(h[0]);
	gw_framing_t f = { 0 };
	int minor, ret;
	char *buf = malloc(size ? size : 1); /* exactly size bytes: ASan sees overreads */

	MUST(buf);
	memcpy(buf, data, size);
	ret = phr_parse_request(buf, size, &method, &mlen, &path, &plen, &minor, h, &n, 0);
	gw_framing_scan(buf, size, &f); /* never past size, whatever pico says */
	if (ret > 0) {
		memset(&f, 0, sizeof(f));
		gw_framing_scan(buf, (size_t)ret, &f);
		MUST(f.content_length == named(h, n, "content-length"));
		MUST(f.transfer_encoding == named(h, n, "transfer-encoding"));
		MUST(f.host == named(h, n, "host"));
	}
	free(buf);
	return 0;
}

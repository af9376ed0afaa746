/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * framing.c - the framing fields of a raw HTTP/1.x request head (see framing.h).
 */
#include <string.h>
#include <strings.h>

#include "gw/framing.h"

static bool name_is(const char *line, size_t llen, const char *name, size_t nlen)
{
	return llen > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen);
}

void gw_framing_scan(const char *buf, size_t len, gw_framing_t *f)
{
	const char *p = buf, *end = buf + len, *nl;

	/* One empty line before the request line is skipped, as picohttpparser (h2o's)
	 * does (RFC 9112 2.2): else it was taken for the request line, and the request
	 * line for a field. */
	if (p < end && *p == '\n')
		p++;
	else if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	/* the request line */
	if (!(nl = memchr(p, '\n', (size_t)(end - p))))
		return;
	for (p = nl + 1; p < end; p = nl + 1) {
		size_t llen;

		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			nl = end; /* a last line without its end: counted all the same */
		llen = (size_t)(nl - p);
		if (llen && p[llen - 1] == '\r')
			llen--;
		if (!llen)
			return; /* the empty line: the head ends */
		if (name_is(p, llen, "content-length", 14))
			f->content_length++;
		else if (name_is(p, llen, "transfer-encoding", 17))
			f->transfer_encoding++;
		else if (name_is(p, llen, "host", 4))
			f->host++;
	}
}

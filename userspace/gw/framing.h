/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * framing.h - the request framing floodgate refuses before anything else reads a request.
 *
 * Why: h2o 2.2.5 is lenient where a gateway must not be. It takes the first of two
 * Content-Length fields and reads what follows as the next request, so a front proxy that
 * took the other one sees a different request boundary (request smuggling); it keeps
 * obs-fold continuation lines (and HTTP/2 fields with an empty name) as fields without a
 * name, which the proxy would forward upstream as ": value" lines; it answers HTTP/1.1
 * without Host. RFC 9112 lets a server reject all of these with 400 (sections 3.2, 5.2,
 * 6.1, 6.3), and the connection is closed after the answer, since its framing cannot be
 * trusted past that request.
 */
#ifndef GW_FRAMING_H
#define GW_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

/* What a request's fields say of its framing. */
typedef struct st_gw_framing_t {
	unsigned nameless;	 /* fields with an empty name: obs-fold lines, or HTTP/2 */
	unsigned content_length; /* Content-Length fields */
	unsigned transfer_encoding;
	unsigned host;
} gw_framing_t;

/* Count the Content-Length, Transfer-Encoding and Host fields (names in any case) of the
 * raw HTTP/1.x request head at `buf` (its first `len` bytes; the head ends at the first
 * empty line), adding to `f`. h2o 2.2.5 keeps these fields out of req->headers: it takes
 * the first Content-Length, lets Transfer-Encoding win, and the last Host. */
void gw_framing_scan(const char *buf, size_t len, gw_framing_t *f);

/* Whether a request of `version` (h2o's: 0x100 HTTP/1.0, 0x101 HTTP/1.1, 0x200 HTTP/2)
 * with these counts is well framed. HTTP/2 carries neither Host nor Transfer-Encoding
 * fields (h2o turns them into :authority or refuses them) and its Content-Length is h2o's
 * own check: only the empty names count there. */
static inline bool gw_framing_ok(int version, const gw_framing_t *f)
{
	if (f->nameless)
		return false;
	if (version >= 0x200)
		return true;
	/* one length: two Content-Length fields (even equal: simpler than comparing), both
	 * kinds at once, or two Transfer-Encoding fields are refused */
	if (f->content_length > 1 || f->transfer_encoding > 1 ||
	    (f->content_length && f->transfer_encoding))
		return false;
	/* HTTP/1.0 has no transfer codings: its framing would be faulty (RFC 9112 6.1) */
	if (version < 0x101)
		return !f->transfer_encoding && f->host <= 1;
	return f->host == 1;
}

#endif /* GW_FRAMING_H */

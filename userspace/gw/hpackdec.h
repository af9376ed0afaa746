/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hpackdec.h - HTTP/2 request heads decoded by floodgate when they need no change to the
 * connection's HPACK table; every other head goes to libh2o's own decoder.
 *
 * A client that repeats a request (a polling client, an API client with a fixed key, a
 * load generator) sends each repeated field as one "indexed" byte and the fields it
 * never indexes (nghttp2, and so curl and h2load, never indexes :path; authorization is
 * "never indexed") as literals, mostly Huffman-coded. libh2o 2.2.5's
 * h2o_hpack_parse_headers() spent about 1,600 instructions on such a 6-field head
 * (`make bench-gw-ir`), a fifth of floodgate's whole 429: 600 in its Huffman decoder, 200
 * taking references on the table's strings, 200 adding the fields one call each.
 *
 * hpackdec.c defines h2o_hpack_parse_headers in the floodgate executable; libh2o calls it
 * through its PLT (lib/http2/connection.c), so the dynamic linker binds those calls to
 * this one, as with gw/hpack.h. It first scans the head without changing the table:
 *   - fields that are indexed, or literals "without indexing" or "never indexed" (with
 *     an indexed or a literal name, raw or Huffman-coded: gw/huff.h);
 *   - every name and value valid as libh2o checks them (no soft error);
 *   - :method, :scheme, :authority and :path at most once each and before any other
 *     field, and only in a request's head (not in trailers);
 *   - no field HTTP/2 forbids (connection, host, te, ...), no cache-digest, a
 *     content-length that is a number.
 * Such a head is stored into the request exactly as libh2o stores it: the same fields in
 * req->input and req->headers, in order, with the same names (h2o's tokens where h2o
 * has one). The strings that live in the table are copied into the request's pool with
 * one allocation, where libh2o takes a reference on each. Any other head - one that
 * inserts into the table or resizes it (a client's first requests), and every error,
 * hard or soft - goes to libh2o's own parser from its first byte, with nothing changed.
 */
#ifndef GW_HPACKDEC_H
#define GW_HPACKDEC_H

#include <stddef.h>
#include <stdint.h>

#include "gw/hpack.h"

/* libh2o's pseudo-header bits (<h2o/http2_internal.h>, which cannot be included: see
 * hpack.h). */
#define GW_HPACKDEC_METHOD    1
#define GW_HPACKDEC_SCHEME    2
#define GW_HPACKDEC_PATH      4
#define GW_HPACKDEC_AUTHORITY 8

/* A head of more fields than this goes to libh2o. */
#define GW_HPACKDEC_MAX_FIELDS 64

struct st_h2o_cache_digests_t;

/* Decode the request head (or trailers: pseudo_map NULL) [src, src + len) into req when
 * it takes the fast path described above. Returns 0 when it did (and sets
 * *content_length: SIZE_MAX when there is none), 1 when libh2o must decode it; req and
 * the table are then as they were, but for unused memory in req's pool. */
int gw_hpackdec_fast(h2o_req_t *req, const h2o_hpack_header_table_t *t, const uint8_t *src,
		     size_t len, int *pseudo_map, size_t *content_length);

/* libh2o's entry point, defined here: gw_hpackdec_fast(), else libh2o's own. */
int h2o_hpack_parse_headers(h2o_req_t *req, h2o_hpack_header_table_t *header_table,
			    const uint8_t *src, size_t len, int *pseudo_header_exists_map,
			    size_t *content_length, struct st_h2o_cache_digests_t **digests,
			    const char **err_desc);

/* Whether libh2o's calls resolve to this file's h2o_hpack_parse_headers, with libh2o's
 * own found for the other heads. */
int gw_hpackdec_bound(void);

#endif

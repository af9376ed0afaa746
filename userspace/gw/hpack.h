/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hpack.h - floodgate's HPACK encoder for HTTP/2 response heads (RFC 7541).
 *
 * libh2o 2.2.5 encodes every response head with h2o_hpack_flatten_response(). It sends
 * every field "with incremental indexing" and looks each one up in the connection's
 * dynamic table by a linear scan of up to 32 entries. Fields whose value changes from one
 * response to the next (Date every second, RateLimit every request, Retry-After, Age) are
 * inserted too, so they push the fields that do repeat (Content-Type, RateLimit-Policy,
 * Cache-Control) deep into the table or out of it, and every lookup walks the stale
 * entries. A 429 spent about 1,280 instructions there and a cache hit about 1,600
 * (`make bench-gw-ir`), as much as floodgate's own work on them.
 *
 * hpack.c defines h2o_hpack_flatten_response in the floodgate executable. libh2o calls it
 * through its PLT (lib/http2/stream.c), so the dynamic linker binds that call to this
 * one, as with fastfmt's __sprintf_chk. It differs from h2o's only in what it indexes:
 *   - fields whose value may vary per response (date, age, retry-after, expires,
 *     content-length, and floodgate's RateLimit, X-RateLimit-Remaining and
 *     X-RateLimit-Reset) are literals without indexing, sent as they are (for these short
 *     values Huffman coding costs more than the bytes it saves), unless the value is the
 *     one this field had in the thread's last response: a value that came twice in a row
 *     (Date within its second, a 429's RateLimit) is indexed like any other field;
 *   - set-cookie and cookie are "never indexed" (RFC 7541 7.1.3), Huffman-coded;
 *   - every other field is looked up and, when not found, inserted Huffman-coded, as
 *     h2o does. The dynamic table then holds only fields that repeat: a few entries.
 * The table keeps h2o's layout and memory (entries from h2o_mem_alloc_shared, at most
 * 32 of them), so h2o's h2o_hpack_dispose_header_table frees it, and h2o's own encoder
 * (h2o_hpack_flatten_request, for server push, which floodgate never starts) could
 * still share it.
 */
#ifndef GW_HPACK_H
#define GW_HPACK_H

#include <stddef.h>
#include <stdint.h>

#include "gw/evloop.h"

/*
 * libh2o 2.2.5's HPACK table and the calls used here, as <h2o/http2_internal.h> declares
 * them. That header cannot be included: it includes "khash.h", which Debian's
 * libh2o-evloop-dev does not ship. The layout is the installed library's ABI; the unit
 * test runs h2o's own encoder and dispose on tables of this type to hold it to that.
 */
struct st_h2o_hpack_header_table_entry_t {
	h2o_iovec_t *name;
	h2o_iovec_t *value;
	const char *err_desc; /* used by h2o's decoder only */
};

typedef struct st_h2o_hpack_header_table_t {
	struct st_h2o_hpack_header_table_entry_t *entries; /* a ring, newest first */
	size_t num_entries, entry_capacity, entry_start_index;
	size_t hpack_size;	   /* sum of (32 + name + value), RFC 7541 4.1 */
	size_t hpack_capacity;	   /* the table's maximum size in force */
	size_t hpack_max_capacity; /* the peer's SETTINGS_HEADER_TABLE_SIZE */
} h2o_hpack_header_table_t;

/* h2o's token of name, or NULL: tokens are one array, H2O_TOKEN_X_TRAFFIC its last entry
 * in 2.2.5 (the unit tests hold it to that). A token is compared by address and has a
 * static name index. */
static inline const h2o_token_t *gw_token_of(const h2o_iovec_t *name)
{
	uintptr_t p = (uintptr_t)name;

	return p >= (uintptr_t)h2o__tokens && p <= (uintptr_t)H2O_TOKEN_X_TRAFFIC
		       ? (const h2o_token_t *)name
		       : NULL;
}

void h2o_hpack_dispose_header_table(h2o_hpack_header_table_t *header_table);
size_t h2o_hpack_encode_string(uint8_t *dst, const char *s, size_t len);

/* RFC 9113 4.1 and 6: frame header size, the two frame types of a head, END_HEADERS. */
#define GW_H2_FRAME_HEADER_SIZE	 9
#define GW_H2_FRAME_HEADERS	 0x1
#define GW_H2_FRAME_CONTINUATION 0x9
#define GW_H2_FLAG_END_HEADERS	 0x4

/* At most this many entries in the encoder's dynamic table (h2o's own limit): a lookup
 * never scans more. */
#define GW_HPACK_MAX_ENTRIES 32

/* Bytes a header block of these fields needs at most, frame headers not included.
 * server and date may be NULL (field not sent); content_length SIZE_MAX: not sent. */
size_t gw_hpack_block_capacity(const h2o_header_t *headers, size_t n, const h2o_iovec_t *server,
			       const h2o_iovec_t *date, size_t content_length);

/* Encode a response head's header block at dst (gw_hpack_block_capacity() bytes) and
 * update table t; returns the end of the block. Fields go in the order :status, server,
 * date, headers[0..n), content-length. A status outside 100..999 is written in decimal
 * all the same (a client then refuses it; h2o asserts). */
uint8_t *gw_hpack_encode_response(h2o_hpack_header_table_t *t, uint8_t *dst, int status,
				  const h2o_iovec_t *server, const h2o_iovec_t *date,
				  const h2o_header_t *headers, size_t n, size_t content_length);

/* Frame the header block that starts at (*buf)->bytes + start_at + 9 (9 bytes reserved
 * for the frame header) and ends at (*buf)->size: one HEADERS frame with END_HEADERS, or
 * HEADERS then CONTINUATION frames of at most max_frame_size bytes. */
void gw_hpack_frame(h2o_buffer_t **buf, size_t start_at, uint32_t stream_id, size_t max_frame_size);

/* libh2o's entry point, defined here (see above). */
void h2o_hpack_flatten_response(h2o_buffer_t **buf, h2o_hpack_header_table_t *header_table,
				uint32_t stream_id, size_t max_frame_size, h2o_res_t *res,
				h2o_timestamp_t *ts, const h2o_iovec_t *server_name,
				size_t content_length);

/* Whether libh2o's calls resolve to this file's h2o_hpack_flatten_response (0 when the
 * executable does not export it). */
int gw_hpack_bound(void);

#endif

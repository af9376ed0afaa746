// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hpack.c - HTTP/2 response heads, encoded with a dynamic table that holds only the
 * fields that repeat (see hpack.h for why libh2o's own encoder is replaced).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "gw/bytes.h"
#include "gw/fastfmt.h"
#include "gw/hpack.h"

/* RFC 7541 4.1: an entry's size is its name's and value's lengths plus 32. */
#define ENTRY_OVERHEAD 32
/* RFC 7541 appendix A: the static table's 61 entries come before the dynamic ones. */
#define STATIC_ENTRIES 61
/* Bytes of one HPACK integer at most: a prefix byte and 7 bits per further byte of a
 * 64-bit value. */
#define INT_MAX_BYTES  11

typedef struct st_h2o_hpack_header_table_entry_t entry_t;

#define TOKEN_BIT(tok) ((uint64_t)1 << ((tok)-h2o__tokens))
static inline int name_is(const h2o_iovec_t *name, const char *s, size_t len)
{
	return name->len == len && gw_same_bytes(name->base, s, len);
}

/* Fields whose value changes from one response to the next: indexing every value would
 * fill the table with entries never used again. Tokens by a bit of their index in h2o's
 * table (H2O_TOKEN_X_TRAFFIC, the last, is 61: they fit in 64 bits). Returns the field's
 * kind, 1..VOLATILE_KINDS, or 0 for a field whose value repeats. */
enum {
	V_NONE,
	V_DATE,
	V_AGE,
	V_RETRY_AFTER,
	V_EXPIRES,
	V_CONTENT_LENGTH,
	V_RATELIMIT,
	V_XRL_RESET,
	V_XRL_REMAINING,
	VOLATILE_KINDS = V_XRL_REMAINING
};
static unsigned volatile_kind(const h2o_iovec_t *name, const h2o_token_t *tok)
{
	if (tok) {
		const uint64_t mask = TOKEN_BIT(H2O_TOKEN_DATE) | TOKEN_BIT(H2O_TOKEN_AGE) |
				      TOKEN_BIT(H2O_TOKEN_RETRY_AFTER) |
				      TOKEN_BIT(H2O_TOKEN_EXPIRES) |
				      TOKEN_BIT(H2O_TOKEN_CONTENT_LENGTH);

		if (!((mask >> (tok - h2o__tokens)) & 1))
			return V_NONE;
		return tok == H2O_TOKEN_DATE	      ? V_DATE
		       : tok == H2O_TOKEN_AGE	      ? V_AGE
		       : tok == H2O_TOKEN_RETRY_AFTER ? V_RETRY_AFTER
		       : tok == H2O_TOKEN_EXPIRES     ? V_EXPIRES
						      : V_CONTENT_LENGTH;
	}
	switch (name->len) {
	case 9:
		return name_is(name, "ratelimit", 9) ? V_RATELIMIT : V_NONE;
	case 17:
		return name_is(name, "x-ratelimit-reset", 17) ? V_XRL_RESET : V_NONE;
	case 21:
		return name_is(name, "x-ratelimit-remaining", 21) ? V_XRL_REMAINING : V_NONE;
	default:
		return V_NONE;
	}
}

/* A varying field's value in this thread's last response. A value that comes twice in a
 * row will likely come again (Date within its second, the Age of a cached answer, the
 * RateLimit and Retry-After of an empty bucket's 429s): it is indexed, and the responses
 * after send one byte for it instead of its 5-32 (and encrypt that much less). A value that
 * changes every time is never inserted. A value is kept as the words a compare of up to
 * 32 bytes loads (gw_same_bytes()); longer values are never indexed. */
#define LAST_MAX 32
static __thread struct last {
	uint64_t w[4];
	size_t len;
} last[VOLATILE_KINDS + 1];

static inline __attribute__((always_inline)) int repeated(unsigned kind, const h2o_iovec_t *value)
{
	const char *p = value->base;
	size_t len = value->len;
	uint64_t w[4] = { 0, 0, 0, 0 };
	struct last *l = &last[kind];
	int same;

	if (len > LAST_MAX)
		return 0;
	if (len > 16) {
		w[0] = gw_load64(p), w[1] = gw_load64(p + 8);
		w[2] = gw_load64(p + len - 16), w[3] = gw_load64(p + len - 8);
	} else if (len >= 8) {
		w[0] = gw_load64(p), w[1] = gw_load64(p + len - 8);
	} else if (len >= 4) {
		w[0] = gw_load32(p), w[1] = gw_load32(p + len - 4);
	} else if (len) {
		w[0] = (uint8_t)p[0] | (uint32_t)(uint8_t)p[len / 2] << 8 |
		       (uint32_t)(uint8_t)p[len - 1] << 16;
	}
	same = l->len == len &&
	       !((l->w[0] ^ w[0]) | (l->w[1] ^ w[1]) | (l->w[2] ^ w[2]) | (l->w[3] ^ w[3]));
	if (!same)
		*l = (struct last){ { w[0], w[1], w[2], w[3] }, len };
	return same;
}

/* An HPACK integer (RFC 7541 5.1) with `first`'s high bits above a prefix of `prefix`
 * bits. */
static inline uint8_t *put_int(uint8_t *dst, uint8_t first, size_t v, unsigned prefix)
{
	size_t max = ((size_t)1 << prefix) - 1;

	if (v < max) {
		*dst++ = (uint8_t)(first | v);
		return dst;
	}
	*dst++ = (uint8_t)(first | max);
	for (v -= max; v >= 128; v >>= 7)
		*dst++ = (uint8_t)(0x80 | (v & 0x7f));
	*dst++ = (uint8_t)v;
	return dst;
}

/* A string literal as it is (H bit clear). */
static inline uint8_t *put_raw(uint8_t *dst, const char *s, size_t len)
{
	dst = put_int(dst, 0x00, len, 7);
	gw_copy_bytes(dst, s, len);
	return dst + len;
}

/* A string literal, Huffman-coded when that is shorter (h2o's coder). */
static uint8_t *put_huff(uint8_t *dst, const char *s, size_t len)
{
	return dst + h2o_hpack_encode_string(dst, s, len);
}

/* Heads repeat: the n-th field of a response is usually where the n-th field of the last
 * response, on any connection of this thread, was found (every connection's table fills
 * in the same order). hint[n] is that entry's position from the newest; find() checks it
 * first, by name and value as the scan would, so a wrong hint costs one comparison. */
#define HINTS 32
static __thread uint8_t hint[HINTS];

/* HPACK index of an entry holding name: value (at most one does: insert() only adds what
 * find() did not find), 0 if none; *name_idx: the index of the newest entry with that name
 * (0: none), for a literal that names it. at: the field's position in the head. */
static inline __attribute__((always_inline)) size_t
find(const h2o_hpack_header_table_t *t, const h2o_iovec_t *name, const h2o_token_t *tok,
     const h2o_iovec_t *value, size_t *name_idx, size_t at)
{
	size_t i, slot = t->entry_start_index;

	if (at < HINTS && (i = hint[at]) < t->num_entries) {
		size_t h = slot + i < t->entry_capacity ? slot + i : slot + i - t->entry_capacity;
		const entry_t *e = t->entries + h;

		if ((e->name == name || (!tok && name_is(e->name, name->base, name->len))) &&
		    e->value->len == value->len &&
		    gw_same_bytes(e->value->base, value->base, value->len))
			return STATIC_ENTRIES + 1 + i;
	}
	*name_idx = 0;
	for (i = 0; i < t->num_entries; i++) {
		const entry_t *e = t->entries + slot;

		if (++slot == t->entry_capacity)
			slot = 0;
		/* a token by address alone; another name by its length first */
		if (e->name != name && (tok || !name_is(e->name, name->base, name->len)))
			continue;
		if (!*name_idx)
			*name_idx = STATIC_ENTRIES + 1 + i;
		if (e->value->len == value->len &&
		    gw_same_bytes(e->value->base, value->base, value->len)) {
			if (at < HINTS)
				hint[at] = (uint8_t)i;
			return STATIC_ENTRIES + 1 + i;
		}
	}
	return 0;
}

/* A copy in h2o's shape for table strings (alloc_buf() in lib/http2/hpack.c): released
 * by h2o_mem_release_shared(), which h2o's dispose calls. */
static h2o_iovec_t *copy_str(const h2o_iovec_t *s)
{
	h2o_iovec_t *c = h2o_mem_alloc_shared(NULL, sizeof(*c) + s->len + 1, NULL);

	c->base = (char *)c + sizeof(*c);
	c->len = s->len;
	memcpy(c->base, s->base, s->len);
	c->base[s->len] = '\0';
	return c;
}

/* Drop the oldest entry, as a decoder does when the table overflows. */
static void evict_oldest(h2o_hpack_header_table_t *t)
{
	entry_t *e = t->entries + (t->entry_start_index + --t->num_entries) % t->entry_capacity;

	t->hpack_size -= e->name->len + e->value->len + ENTRY_OVERHEAD;
	if (!h2o_iovec_is_token(e->name))
		h2o_mem_release_shared(e->name);
	h2o_mem_release_shared(e->value);
	memset(e, 0, sizeof(*e));
}

/* Insert name: value as the newest entry (RFC 7541 4.4). Evicting down to
 * GW_HPACK_MAX_ENTRIES as well is safe: the decoder keeps those older entries, but every
 * entry this table still has sits at the same index in the decoder's. */
static void insert(h2o_hpack_header_table_t *t, const h2o_iovec_t *name, const h2o_token_t *tok,
		   const h2o_iovec_t *value)
{
	size_t add = name->len + value->len + ENTRY_OVERHEAD;
	entry_t *e;

	while (t->num_entries && t->hpack_size + add > t->hpack_capacity)
		evict_oldest(t);
	while (t->num_entries >= GW_HPACK_MAX_ENTRIES)
		evict_oldest(t);
	if (add > t->hpack_capacity)
		return; /* the decoder is left with an empty table too */
	if (t->num_entries == t->entry_capacity) {
		size_t cap = t->num_entries * 2 < 16 ? 16 : t->num_entries * 2, i;
		entry_t *ne = h2o_mem_alloc(cap * sizeof(*ne));

		for (i = 0; i < t->num_entries; i++)
			ne[i] = t->entries[(t->entry_start_index + i) % t->entry_capacity];
		memset(ne + i, 0, (cap - i) * sizeof(*ne));
		free(t->entries);
		t->entries = ne;
		t->entry_capacity = cap;
		t->entry_start_index = 0;
	}
	t->hpack_size += add;
	t->num_entries++;
	t->entry_start_index = (t->entry_start_index + t->entry_capacity - 1) % t->entry_capacity;
	e = t->entries + t->entry_start_index;
	e->name = tok ? (h2o_iovec_t *)name : copy_str(name);
	e->value = copy_str(value);
}

/* A field that must carry its value: never indexed (set-cookie, cookie), or not in the
 * table yet. Off the hot path, which finds repeated fields in the table. */
static __attribute__((noinline)) uint8_t *put_literal(h2o_hpack_header_table_t *t, uint8_t *dst,
						      const h2o_iovec_t *name,
						      const h2o_token_t *tok, size_t nidx,
						      const h2o_iovec_t *value)
{
	uint8_t rep;
	unsigned prefix;
	int add = 0;

	if (tok && tok->dont_compress) {
		/* never indexed, 0001xxxx: a short secret in a shared table could be guessed one
		 * try at a time (RFC 7541 7.1.3) */
		rep = 0x10, prefix = 4;
	} else if (name->len + value->len + ENTRY_OVERHEAD > t->hpack_capacity / 2) {
		/* too big to share the table with others: without indexing, 0000xxxx */
		rep = 0x00, prefix = 4;
	} else {
		/* with incremental indexing, 01xxxxxx */
		rep = 0x40, prefix = 6, add = 1;
	}
	if (nidx) {
		dst = put_int(dst, rep, nidx, prefix);
	} else {
		*dst++ = rep;
		dst = put_huff(dst, name->base, name->len);
	}
	dst = put_huff(dst, value->base, value->len);
	if (add)
		insert(t, name, tok, value);
	return dst;
}

/* One field. Representations of RFC 7541 6.1-6.2. */
static inline __attribute__((always_inline)) uint8_t *put_field(h2o_hpack_header_table_t *t,
								uint8_t *dst,
								const h2o_iovec_t *name,
								const h2o_iovec_t *value, size_t at)
{
	const h2o_token_t *tok = gw_token_of(name);
	size_t nidx = tok ? (unsigned char)tok->http2_static_table_name_index : 0;
	unsigned kind = volatile_kind(name, tok);
	size_t idx, didx;

	if (kind && !repeated(kind, value)) {
		/* literal without indexing, 0000xxxx, strings as they are */
		if (nidx) {
			dst = put_int(dst, 0x00, nidx, 4);
		} else {
			*dst++ = 0x00;
			dst = put_raw(dst, name->base, name->len);
		}
		return put_raw(dst, value->base, value->len);
	}
	if (tok && tok->dont_compress)
		return put_literal(t, dst, name, tok, nidx, value);
	idx = find(t, name, tok, value, &didx, at);
	if (idx)
		return put_int(dst, 0x80, idx, 7); /* indexed, 1xxxxxxx */
	return put_literal(t, dst, name, tok, nidx ? nidx : didx, value);
}

/* Bytes put_field() may write for one field: the representation's byte, two integers,
 * and the strings (Huffman coding never grows them: h2o falls back to the raw form). */
static size_t field_capacity(size_t name_len, size_t value_len)
{
	return 1 + 2 * INT_MAX_BYTES + name_len + value_len;
}

static inline size_t block_capacity(const h2o_header_t *headers, size_t n,
				    const h2o_iovec_t *server, const h2o_iovec_t *date,
				    size_t content_length)
{
	size_t cap = 2 + INT_MAX_BYTES + 20, i; /* :status, any int in decimal */

	if (server)
		cap += field_capacity(H2O_TOKEN_SERVER->buf.len, server->len);
	if (date)
		cap += field_capacity(H2O_TOKEN_DATE->buf.len, date->len);
	for (i = 0; i < n; i++)
		cap += field_capacity(headers[i].name->len, headers[i].value.len);
	if (content_length != SIZE_MAX)
		cap += 3 + 20;
	return cap;
}

size_t gw_hpack_block_capacity(const h2o_header_t *headers, size_t n, const h2o_iovec_t *server,
			       const h2o_iovec_t *date, size_t content_length)
{
	return block_capacity(headers, n, server, date, content_length);
}

/* :status: one byte for the seven codes of the static table; otherwise a literal without
 * indexing that names static entry 8, as h2o writes it. */
static uint8_t *put_status(uint8_t *dst, int status)
{
	switch (status) {
	case 200:
		*dst++ = 0x80 | 8;
		return dst;
	case 204:
		*dst++ = 0x80 | 9;
		return dst;
	case 206:
		*dst++ = 0x80 | 10;
		return dst;
	case 304:
		*dst++ = 0x80 | 11;
		return dst;
	case 400:
		*dst++ = 0x80 | 12;
		return dst;
	case 404:
		*dst++ = 0x80 | 13;
		return dst;
	case 500:
		*dst++ = 0x80 | 14;
		return dst;
	case 401:
		memcpy(dst,
		       "\x08\x03"
		       "401",
		       5);
		return dst + 5;
	case 403:
		memcpy(dst,
		       "\x08\x03"
		       "403",
		       5);
		return dst + 5;
	case 429:
		memcpy(dst,
		       "\x08\x03"
		       "429",
		       5);
		return dst + 5;
	default:
		*dst++ = 0x08;
		/* 3 digits for 100..999; anything else in decimal all the same */
		*dst = (uint8_t)gw_fastfmt_int((char *)dst + 1, status);
		return dst + 1 + *dst;
	}
}

uint8_t *gw_hpack_encode_response(h2o_hpack_header_table_t *t, uint8_t *dst, int status,
				  const h2o_iovec_t *server, const h2o_iovec_t *date,
				  const h2o_header_t *headers, size_t n, size_t content_length)
{
	size_t i;

	dst = put_status(dst, status);
	if (server)
		dst = put_field(t, dst, &H2O_TOKEN_SERVER->buf, server, 0);
	if (date)
		dst = put_field(t, dst, &H2O_TOKEN_DATE->buf, date, 1);
	for (i = 0; i < n; i++)
		dst = put_field(t, dst, headers[i].name, &headers[i].value, i + 2);
	if (content_length != SIZE_MAX) {
		/* literal without indexing naming static entry 28, raw digits (as h2o) */
		uint8_t *len;

		*dst++ = 0x0f;
		*dst++ = 28 - 15;
		len = dst++;
		*len = (uint8_t)gw_fastfmt_size((char *)dst, content_length);
		dst += *len;
	}
	return dst;
}

/* RFC 9113 4.1: 24-bit length, type, flags, reserved bit and 31-bit stream id. */
static inline void put_frame_header(uint8_t *p, size_t len, uint8_t type, uint8_t flags,
				    uint32_t stream_id)
{
	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	p[5] = (uint8_t)((stream_id >> 24) & 0x7f);
	p[6] = (uint8_t)(stream_id >> 16);
	p[7] = (uint8_t)(stream_id >> 8);
	p[8] = (uint8_t)stream_id;
}

void gw_hpack_frame(h2o_buffer_t **buf, size_t start_at, uint32_t stream_id, size_t max_frame_size)
{
	size_t payload = (*buf)->size - start_at - GW_H2_FRAME_HEADER_SIZE, off;

	if (payload <= max_frame_size) {
		put_frame_header((uint8_t *)(*buf)->bytes + start_at, payload, GW_H2_FRAME_HEADERS,
				 GW_H2_FLAG_END_HEADERS, stream_id);
		return;
	}
	/* RFC 9113 6.10: the rest goes in CONTINUATION frames, the last one ending the head;
	 * each needs 9 bytes of frame header inserted before its payload */
	put_frame_header((uint8_t *)(*buf)->bytes + start_at, max_frame_size, GW_H2_FRAME_HEADERS,
			 0, stream_id);
	off = start_at + GW_H2_FRAME_HEADER_SIZE + max_frame_size;
	for (;;) {
		size_t left = (*buf)->size - off,
		       len = left <= max_frame_size ? left : max_frame_size;

		h2o_buffer_reserve(buf, GW_H2_FRAME_HEADER_SIZE);
		memmove((*buf)->bytes + off + GW_H2_FRAME_HEADER_SIZE, (*buf)->bytes + off, left);
		(*buf)->size += GW_H2_FRAME_HEADER_SIZE;
		put_frame_header((uint8_t *)(*buf)->bytes + off, len, GW_H2_FRAME_CONTINUATION,
				 left <= max_frame_size ? GW_H2_FLAG_END_HEADERS : 0, stream_id);
		if (left <= max_frame_size)
			return;
		off += GW_H2_FRAME_HEADER_SIZE + max_frame_size;
	}
}

void h2o_hpack_flatten_response(h2o_buffer_t **buf, h2o_hpack_header_table_t *header_table,
				uint32_t stream_id, size_t max_frame_size, h2o_res_t *res,
				h2o_timestamp_t *ts, const h2o_iovec_t *server_name,
				size_t content_length)
{
	h2o_iovec_t date = h2o_iovec_init(ts->str->rfc1123, H2O_TIMESTR_RFC1123_LEN);
	const h2o_iovec_t *server = server_name->len ? server_name : NULL;
	size_t start_at = (*buf)->size;
	size_t cap =
		GW_H2_FRAME_HEADER_SIZE + block_capacity(res->headers.entries, res->headers.size,
							 server, &date, content_length);
	uint8_t *dst = (uint8_t *)h2o_buffer_reserve(buf, cap).base + GW_H2_FRAME_HEADER_SIZE;

	dst = gw_hpack_encode_response(header_table, dst, res->status, server, &date,
				       res->headers.entries, res->headers.size, content_length);
	(*buf)->size = (size_t)((char *)dst - (*buf)->bytes);
	if ((*buf)->size - start_at - GW_H2_FRAME_HEADER_SIZE <= max_frame_size)
		put_frame_header((uint8_t *)(*buf)->bytes + start_at,
				 (*buf)->size - start_at - GW_H2_FRAME_HEADER_SIZE,
				 GW_H2_FRAME_HEADERS, GW_H2_FLAG_END_HEADERS, stream_id);
	else
		gw_hpack_frame(buf, start_at, stream_id, max_frame_size);
}

int gw_hpack_bound(void)
{
	return dlsym(RTLD_DEFAULT, "h2o_hpack_flatten_response") ==
	       (void *)h2o_hpack_flatten_response;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/hpack.c, floodgate's HPACK encoder for HTTP/2 response heads.
 * Every head is decoded by nghttp2's decoder (libnghttp2, an implementation of its own)
 * with one decoder per connection, as a client keeps it, and must give back exactly the
 * fields encoded, in order:
 *   - thousands of random heads over one connection: stable and varying fields, names
 *     outside h2o's tokens, values of every byte, values too big for the table, small
 *     tables, statuses 100..999 and outside, frames split into CONTINUATIONs;
 *   - what is indexed: a repeated field costs one byte, varying fields never enter the
 *     table, set-cookie is "never indexed", the table keeps h2o's 32-entry limit;
 *   - the same heads through libh2o's own encoder decode the same (and libh2o's encoder
 *     and dispose work on tables of hpack.h's layout: the ABI the header mirrors);
 *   - this program's libh2o is bound to hpack.c's h2o_hpack_flatten_response.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "unit.h"

#include "gw/hpack.h"

#define MAX_FIELDS 64

struct field {
	char name[64];
	size_t name_len;
	char *value;
	size_t value_len;
	int never_indexed;
};

struct head {
	struct field f[MAX_FIELDS];
	size_t n;
};

static void head_free(struct head *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->f[i].value);
	h->n = 0;
}

static void head_add(struct head *h, const char *name, size_t nl, const char *value, size_t vl,
		     int never)
{
	struct field *f = &h->f[h->n++];

	assert_true(h->n <= MAX_FIELDS && nl < sizeof(f->name));
	memcpy(f->name, name, nl);
	f->name_len = nl;
	f->value = malloc(vl + 1);
	assert_non_null(f->value);
	memcpy(f->value, value, vl);
	f->value_len = vl;
	f->never_indexed = never;
}

/* The header block of the frames in buf from `at`: HEADERS, then CONTINUATIONs until
 * END_HEADERS, each of at most max_frame bytes, all on stream sid. */
static size_t unframe(const h2o_buffer_t *buf, size_t at, uint32_t sid, size_t max_frame,
		      uint8_t *out, size_t cap)
{
	size_t n = 0, first = 1;

	for (;;) {
		const uint8_t *p = (const uint8_t *)buf->bytes + at;
		size_t len;

		assert_true(at + GW_H2_FRAME_HEADER_SIZE <= buf->size);
		len = (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
		assert_int_equal(p[3], first ? GW_H2_FRAME_HEADERS : GW_H2_FRAME_CONTINUATION);
		assert_int_equal(p[4] & ~GW_H2_FLAG_END_HEADERS, 0);
		assert_int_equal((uint32_t)p[5] << 24 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 |
					 p[8],
				 sid);
		assert_true(len <= max_frame);
		assert_true(at + GW_H2_FRAME_HEADER_SIZE + len <= buf->size);
		assert_true(n + len <= cap);
		memcpy(out + n, p + GW_H2_FRAME_HEADER_SIZE, len);
		n += len;
		at += GW_H2_FRAME_HEADER_SIZE + len;
		first = 0;
		if (p[4] & GW_H2_FLAG_END_HEADERS)
			break;
		/* a CONTINUATION follows only a full frame */
		assert_int_equal(len, max_frame);
	}
	assert_int_equal(at, buf->size);
	return n;
}

/* Decode one header block with the connection's decoder. */
static void decode(nghttp2_hd_inflater *inf, const uint8_t *in, size_t len, struct head *out)
{
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, len, 1);

		assert_true(rv >= 0);
		in += rv;
		len -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			head_add(out, (const char *)nv.name, nv.namelen, (const char *)nv.value,
				 nv.valuelen, !!(nv.flags & NGHTTP2_NV_FLAG_NO_INDEX));
		if (flags & NGHTTP2_HD_INFLATE_FINAL)
			break;
		assert_true(rv > 0 || len > 0);
	}
	assert_int_equal(len, 0);
	nghttp2_hd_inflate_end_headers(inf);
}

/* The fields a response should decode to (never_indexed as hpack.c sends them). */
static void expected(struct head *h, int status, const h2o_iovec_t *server, const h2o_iovec_t *date,
		     const h2o_header_t *hs, size_t n, size_t cl)
{
	char num[32];
	size_t i;

	head_add(h, ":status", 7, num, (size_t)snprintf(num, sizeof(num), "%d", status), 0);
	if (server)
		head_add(h, "server", 6, server->base, server->len, 0);
	if (date)
		head_add(h, "date", 4, date->base, date->len, 0);
	for (i = 0; i < n; i++)
		head_add(h, hs[i].name->base, hs[i].name->len, hs[i].value.base, hs[i].value.len,
			 hs[i].name == &H2O_TOKEN_SET_COOKIE->buf ||
				 hs[i].name == &H2O_TOKEN_COOKIE->buf);
	if (cl != SIZE_MAX)
		head_add(h, "content-length", 14, num,
			 (size_t)snprintf(num, sizeof(num), "%zu", cl), 0);
}

static void same_heads(const struct head *a, const struct head *b, int check_never)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->f[i].name_len, b->f[i].name_len);
		assert_memory_equal(a->f[i].name, b->f[i].name, a->f[i].name_len);
		assert_int_equal(a->f[i].value_len, b->f[i].value_len);
		if (a->f[i].value_len)
			assert_memory_equal(a->f[i].value, b->f[i].value, a->f[i].value_len);
		if (check_never)
			assert_int_equal(a->f[i].never_indexed, b->f[i].never_indexed);
	}
}

/* The table's bookkeeping holds: size is the sum of its entries', at most 32 entries, no
 * never-indexed field, and no varying field except one whose value came twice in a row. */
static void table_sane(const h2o_hpack_header_table_t *t)
{
	size_t i, size = 0;

	assert_true(t->num_entries <= GW_HPACK_MAX_ENTRIES);
	assert_true(t->num_entries <= t->entry_capacity || !t->num_entries);
	for (i = 0; i < t->num_entries; i++) {
		const struct st_h2o_hpack_header_table_entry_t *e =
			t->entries + (t->entry_start_index + i) % t->entry_capacity;

		assert_non_null(e->name);
		assert_non_null(e->value);
		size += e->name->len + e->value->len + 32;
		assert_ptr_not_equal(e->name, &H2O_TOKEN_SET_COOKIE->buf);
		assert_ptr_not_equal(e->name, &H2O_TOKEN_COOKIE->buf);
		if (e->name == &H2O_TOKEN_AGE->buf ||
		    (e->name->len == 9 && !memcmp(e->name->base, "ratelimit", 9)))
			assert_true(e->value->len <= 32);
	}
	assert_int_equal(size, t->hpack_size);
	assert_true(t->hpack_size <= t->hpack_capacity);
}

typedef void (*flatten_fn)(h2o_buffer_t **, h2o_hpack_header_table_t *, uint32_t, size_t,
			   h2o_res_t *, h2o_timestamp_t *, const h2o_iovec_t *, size_t);

struct conn {
	h2o_hpack_header_table_t t;
	nghttp2_hd_inflater *inf;
	h2o_buffer_t *buf;
	flatten_fn flatten;
};

static void conn_init(struct conn *c, size_t table_size, flatten_fn fn)
{
	memset(c, 0, sizeof(*c));
	c->t.hpack_capacity = c->t.hpack_max_capacity = table_size;
	assert_int_equal(nghttp2_hd_inflate_new(&c->inf), 0);
	h2o_buffer_init(&c->buf, &h2o_socket_buffer_prototype);
	c->flatten = fn;
}

static void conn_close(struct conn *c)
{
	h2o_hpack_dispose_header_table(&c->t);
	nghttp2_hd_inflate_del(c->inf);
	h2o_buffer_dispose(&c->buf);
}

static h2o_timestamp_string_t ts_str;
static h2o_timestamp_t ts = { .str = &ts_str };

/* Encode one response on c through c->flatten and decode it; the decoded fields go to
 * got. Returns the header block's length. */
static size_t roundtrip(struct conn *c, uint32_t sid, size_t max_frame, int status,
			const h2o_iovec_t *server, h2o_header_t *hs, size_t n, size_t cl,
			struct head *got)
{
	static uint8_t block[1 << 20];
	h2o_res_t res;
	h2o_iovec_t none = { NULL, 0 };
	size_t len, at = c->buf->size;

	memset(&res, 0, sizeof(res));
	res.status = status;
	res.headers.entries = hs;
	res.headers.size = n;
	c->flatten(&c->buf, &c->t, sid, max_frame, &res, &ts, server ? server : &none, cl);
	len = unframe(c->buf, at, sid, max_frame, block, sizeof(block));
	h2o_buffer_consume(&c->buf, c->buf->size);
	decode(c->inf, block, len, got);
	return len;
}

/* ---- random heads ---- */

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	return fg_xorshift64(&rng);
}

static h2o_iovec_t n_ratelimit = { H2O_STRLIT("ratelimit") };
static h2o_iovec_t n_policy = { H2O_STRLIT("ratelimit-policy") };
static h2o_iovec_t n_xcache = { H2O_STRLIT("x-cache") };
static h2o_iovec_t n_xrem = { H2O_STRLIT("x-ratelimit-remaining") };
static h2o_iovec_t n_custom[4] = { { H2O_STRLIT("x-a") },
				   { H2O_STRLIT("x-upstream-trace-identifier") },
				   { H2O_STRLIT("x-b") },
				   { H2O_STRLIT("x-" /* an empty-looking suffix */ "q") } };

/* A random value: short and repeating, or of random bytes, or long. */
static h2o_iovec_t rnd_value(char *buf, size_t cap)
{
	static const char *common[] = { "application/json",   "max-age=600", "HIT", "MISS",
					"\"bench\";q=10;w=1", "text/plain",  "",    "1" };
	uint64_t k = rnd() % 10;
	size_t len, i;

	if (k < 6) {
		const char *v = common[rnd() % 8];

		return h2o_iovec_init(v, strlen(v));
	}
	len = k < 9 ? rnd() % 40 : 100 + rnd() % 5000;
	if (len > cap)
		len = cap;
	for (i = 0; i < len; i++)
		buf[i] = (char)(rnd() & 0xff);
	return h2o_iovec_init(buf, len);
}

/* A random name: one of h2o's tokens (all 62 but the pseudo-headers), one of floodgate's
 * names, or a made-up one. */
static h2o_iovec_t *rnd_name(void)
{
	uint64_t k = rnd() % 10;

	if (k < 5)
		return &h2o__tokens[5 + rnd() % (62 - 5)].buf;
	switch (k) {
	case 5:
		return &n_ratelimit;
	case 6:
		return &n_policy;
	case 7:
		return &n_xcache;
	case 8:
		return &n_xrem;
	default:
		return &n_custom[rnd() % 4];
	}
}

/* n random fields into hs (values in vals), and a Date that changes every head r. */
static void rnd_head(h2o_header_t *hs, size_t n, char (*vals)[5200], size_t r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		hs[i].name = rnd_name();
		hs[i].orig_name = NULL;
		hs[i].value = rnd_value(vals[i], sizeof(vals[i]));
	}
	snprintf(ts_str.rfc1123, sizeof(ts_str.rfc1123), "Sun, 06 Nov 1994 %02u:%02u:%02u GMT",
		 (unsigned)(r / 3600 % 24), (unsigned)(r / 60 % 60), (unsigned)(r % 60));
}

/* Random heads over connections with tables of 4096 (h2o's), 256 and 0 bytes: each
 * decodes to what was encoded, the block fits the capacity hpack.c reserves, and the
 * table's bookkeeping holds after every head. */
/* One head through c and back, checked: the fields as sent, the block within the
 * capacity reserved for it, the table sane after it (Date: ts_str's). */
static void check_head(struct conn *c, uint32_t sid, size_t max_frame, int status,
		       const h2o_iovec_t *srv, h2o_header_t *hs, size_t n, size_t cl)
{
	h2o_iovec_t date = h2o_iovec_init(ts_str.rfc1123, H2O_TIMESTR_RFC1123_LEN);
	struct head got = { .n = 0 }, want = { .n = 0 };
	size_t len = roundtrip(c, sid, max_frame, status, srv, hs, n, cl, &got);

	assert_true(len <= gw_hpack_block_capacity(hs, n, srv, &date, cl));
	expected(&want, status, srv, &date, hs, n, cl);
	same_heads(&got, &want, 1);
	head_free(&got);
	head_free(&want);
	table_sane(&c->t);
}

static void random_heads(void **state)
{
	static char vals[MAX_FIELDS][5200];
	static const size_t table_sizes[] = { 4096, 256, 0 };
	h2o_iovec_t server = h2o_iovec_init(H2O_STRLIT("floodgate"));
	size_t ti, r;

	(void)state;
	for (ti = 0; ti < 3; ti++) {
		struct conn c;

		conn_init(&c, table_sizes[ti], h2o_hpack_flatten_response);
		for (r = 0; r < 3000; r++) {
			h2o_header_t hs[MAX_FIELDS - 4];
			size_t n = r % 7 ? rnd() % 12 : 20 + rnd() % 20; /* some past 32 entries */
			size_t cl = rnd() % 3 ? rnd() % 100000 : SIZE_MAX;
			size_t max_frame = rnd() % 4 ? 16384 : 16 + rnd() % 200;
			int status = rnd() % 20 ? 100 + (int)(rnd() % 900) : 200;
			const h2o_iovec_t *srv = rnd() % 2 ? &server : NULL;

			rnd_head(hs, n, vals, r);
			check_head(&c, (uint32_t)(2 * r + 1), max_frame, status, srv, hs, n, cl);
		}
		conn_close(&c);
	}
}

static h2o_header_t hdr(h2o_iovec_t *name, const char *v)
{
	h2o_header_t h = { name, NULL, h2o_iovec_init(v, strlen(v)) };

	return h;
}

/* Whether the table holds name: value. */
static int in_table(const h2o_hpack_header_table_t *t, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < t->num_entries; i++) {
		const struct st_h2o_hpack_header_table_entry_t *e =
			t->entries + (t->entry_start_index + i) % t->entry_capacity;

		if (e->name->len == strlen(name) && !memcmp(e->name->base, name, e->name->len) &&
		    e->value->len == strlen(value) && !memcmp(e->value->base, value, e->value->len))
			return 1;
	}
	return 0;
}

/* floodgate's 429 and cache hit, as the handler builds them: the first head inserts the
 * fields that repeat; the second sends each of them as one byte, and the varying ones
 * (date, ratelimit, retry-after, age) as literals that never enter the table. */
/* The encoder remembers each varying field's last value per thread: a head whose varying
 * values no earlier one had starts every test from the same state. */
static void forget_varying(void)
{
	static unsigned calls;
	char v[16];
	h2o_header_t hs[3];
	struct conn c;
	struct head got = { .n = 0 };
	char saved[sizeof(ts_str.rfc1123)];

	snprintf(v, sizeof(v), "forget-%u", calls++);
	hs[0] = hdr(&n_ratelimit, v);
	hs[1] = hdr(&H2O_TOKEN_RETRY_AFTER->buf, v);
	hs[2] = hdr(&H2O_TOKEN_AGE->buf, v);
	memcpy(saved, ts_str.rfc1123, sizeof(saved));
	snprintf(ts_str.rfc1123, sizeof(ts_str.rfc1123), "Thu, 01 Jan 1970 00:00:%02u GMT",
		 calls % 60);
	conn_init(&c, 4096, h2o_hpack_flatten_response);
	roundtrip(&c, 1, 16384, 200, NULL, hs, 3, SIZE_MAX, &got);
	head_free(&got);
	assert_int_equal(c.t.num_entries, 0);
	conn_close(&c);
	memcpy(ts_str.rfc1123, saved, sizeof(saved));
}

static void what_is_indexed(void **state)
{
	static const uint8_t date_lit[] = { 0x0f, 0x12, 29 }; /* static 33, without indexing */
	h2o_header_t h429[] = {
		hdr(&n_policy, "\"free\";q=1;w=1"),
		hdr(&n_ratelimit, "\"free\";r=0;t=1"),
		hdr(&H2O_TOKEN_RETRY_AFTER->buf, "1"),
		hdr(&H2O_TOKEN_CONTENT_TYPE->buf, "application/problem+json"),
	};
	h2o_header_t hit[] = {
		hdr(&n_policy, "\"free\";q=1;w=1"),
		hdr(&n_ratelimit, "\"free\";r=0;t=1"),
		hdr(&H2O_TOKEN_CACHE_CONTROL->buf, "max-age=600"),
		hdr(&H2O_TOKEN_CONTENT_TYPE->buf, "text/plain"),
		hdr(&n_xcache, "HIT"),
		hdr(&H2O_TOKEN_AGE->buf, "7"),
	};
	h2o_iovec_t none = { NULL, 0 };
	struct conn c;
	struct head got = { .n = 0 };
	size_t first, second, third;
	h2o_res_t res;
	uint8_t *p;

	(void)state;
	strcpy(ts_str.rfc1123, "Sun, 06 Nov 1994 08:49:37 GMT");
	forget_varying();
	conn_init(&c, 4096, h2o_hpack_flatten_response);
	first = roundtrip(&c, 1, 16384, 429, NULL, h429, 4, 160, &got);
	head_free(&got);
	/* the varying fields are new: literals without indexing */
	assert_int_equal(c.t.num_entries, 2);
	assert_true(in_table(&c.t, "ratelimit-policy", "\"free\";q=1;w=1"));
	assert_true(in_table(&c.t, "content-type", "application/problem+json"));

	/* the bytes of the same head once more, field by field: the policy and the content
	 * type indexed; date, ratelimit and retry-after come a second time, so they are
	 * inserted, Huffman-coded */
	memset(&res, 0, sizeof(res));
	res.status = 429;
	res.headers.entries = h429;
	res.headers.size = 4;
	h2o_hpack_flatten_response(&c.buf, &c.t, 3, 16384, &res, &ts, &none, 160);
	p = (uint8_t *)c.buf->bytes + GW_H2_FRAME_HEADER_SIZE;
	second = c.buf->size - GW_H2_FRAME_HEADER_SIZE;
	assert_memory_equal(p,
			    "\x08\x03"
			    "429",
			    5);
	assert_int_equal(p[5], 0x40 | 33); /* date: static 33 named, incremental indexing */
	assert_true(p[6] & 0x80);	   /* Huffman */
	decode(c.inf, p, second, &got);
	head_free(&got);
	h2o_buffer_consume(&c.buf, c.buf->size);
	assert_int_equal(c.t.num_entries, 5);
	assert_true(in_table(&c.t, "date", ts_str.rfc1123));
	assert_true(in_table(&c.t, "ratelimit", "\"free\";r=0;t=1"));
	assert_true(in_table(&c.t, "retry-after", "1"));

	/* third: one byte a field, as h2o's own encoder gets it */
	third = roundtrip(&c, 5, 16384, 429, NULL, h429, 4, 160, &got);
	head_free(&got);
	/* :status 429 (5), date, policy, ratelimit, retry-after, content-type (1 each),
	 * content-length (3 + 3) */
	assert_int_equal(third, 5 + 5 + 6);
	assert_true(first > second && second > third);
	assert_int_equal(c.t.num_entries, 5);

	/* a new second: the new date is a literal first, indexed from the next head on */
	strcpy(ts_str.rfc1123, "Sun, 06 Nov 1994 08:49:38 GMT");
	h2o_hpack_flatten_response(&c.buf, &c.t, 7, 16384, &res, &ts, &none, 160);
	p = (uint8_t *)c.buf->bytes + GW_H2_FRAME_HEADER_SIZE;
	assert_memory_equal(p + 5, date_lit, 3);
	assert_memory_equal(p + 8, ts_str.rfc1123, 29);
	decode(c.inf, p, c.buf->size - GW_H2_FRAME_HEADER_SIZE, &got);
	head_free(&got);
	h2o_buffer_consume(&c.buf, c.buf->size);
	assert_int_equal(c.t.num_entries, 5);
	roundtrip(&c, 9, 16384, 429, NULL, h429, 4, 160, &got);
	head_free(&got);
	assert_int_equal(c.t.num_entries, 6);
	assert_int_equal(roundtrip(&c, 11, 16384, 429, NULL, h429, 4, 160, &got), 16);
	head_free(&got);

	/* the cache hit on the same connection: policy and ratelimit found; cache-control,
	 * content-type and x-cache new; age new to the thread, so a literal */
	roundtrip(&c, 13, 16384, 200, NULL, hit, 6, 5, &got);
	head_free(&got);
	assert_int_equal(c.t.num_entries, 9);
	assert_false(in_table(&c.t, "age", "7"));
	roundtrip(&c, 15, 16384, 200, NULL, hit, 6, 5, &got);
	head_free(&got);
	assert_true(in_table(&c.t, "age", "7"));
	third = roundtrip(&c, 17, 16384, 200, NULL, hit, 6, 5, &got);
	head_free(&got);
	/* :status 200, date, policy, ratelimit, cache-control, content-type, x-cache, age
	 * (1 each), content-length (3 + 1) */
	assert_int_equal(third, 8 + 4);
	table_sane(&c.t);
	conn_close(&c);
}

/* A varying value is inserted only when it comes twice in a row; one that changes every
 * time never is, nor one longer than 32 bytes, and the table stays in step with the
 * decoder throughout. */
static void varying_values(void **state)
{
	static const char long_value[] = "\"bench-plan\";r=123456;t=12;extra=1";
	char v[8][16];
	h2o_header_t hs[1];
	struct conn c;
	struct head got = { .n = 0 };
	size_t i;

	(void)state;
	strcpy(ts_str.rfc1123, "Sun, 06 Nov 1994 08:49:37 GMT");
	forget_varying();
	conn_init(&c, 4096, h2o_hpack_flatten_response);
	/* the date repeats: inserted by the second head */
	for (i = 0; i < 8; i++) {
		snprintf(v[i], sizeof(v[i]), "r=%zu", 90 - i);
		hs[0] = hdr(&n_ratelimit, v[i]);
		roundtrip(&c, 1 + 2 * (uint32_t)i, 16384, 200, NULL, hs, 1, SIZE_MAX, &got);
		assert_int_equal(got.n, 3);
		assert_int_equal(got.f[2].value_len, strlen(v[i]));
		assert_memory_equal(got.f[2].value, v[i], strlen(v[i]));
		head_free(&got);
		assert_int_equal(c.t.num_entries, i ? 1 : 0); /* the date alone */
	}
	/* the same value twice: inserted, then indexed */
	roundtrip(&c, 17, 16384, 200, NULL, hs, 1, SIZE_MAX, &got);
	head_free(&got);
	assert_int_equal(c.t.num_entries, 2);
	assert_int_equal(roundtrip(&c, 19, 16384, 200, NULL, hs, 1, SIZE_MAX, &got), 3);
	head_free(&got);
	/* too long to be remembered: never inserted */
	hs[0] = hdr(&n_ratelimit, long_value);
	for (i = 0; i < 3; i++) {
		roundtrip(&c, 21 + 2 * (uint32_t)i, 16384, 200, NULL, hs, 1, SIZE_MAX, &got);
		assert_int_equal(got.f[2].value_len, strlen(long_value));
		head_free(&got);
	}
	assert_int_equal(c.t.num_entries, 2);
	/* values of every length up to the limit, each once then twice: the lengths' word
	 * loads tell any two of them apart */
	for (i = 0; i <= 32; i++) {
		char a[33], b[33];

		memset(a, 'a', i);
		a[i] = '\0';
		memcpy(b, a, i + 1);
		if (i)
			b[i / 2] = 'b'; /* a middle byte differs */
		hs[0] = hdr(&H2O_TOKEN_AGE->buf, a);
		roundtrip(&c, 27 + 6 * (uint32_t)i, 16384, 200, NULL, hs, 1, SIZE_MAX, &got);
		head_free(&got);
		hs[0] = hdr(&H2O_TOKEN_AGE->buf, b);
		roundtrip(&c, 29 + 6 * (uint32_t)i, 16384, 200, NULL, hs, 1, SIZE_MAX, &got);
		assert_int_equal(got.f[2].value_len, i);
		assert_memory_equal(got.f[2].value, b, i);
		head_free(&got);
		assert_false(in_table(&c.t, "age", b) && i);
		roundtrip(&c, 31 + 6 * (uint32_t)i, 16384, 200, NULL, hs, 1, SIZE_MAX, &got);
		head_free(&got);
		assert_true(in_table(&c.t, "age", b));
		table_sane(&c.t);
	}
	conn_close(&c);
}

/* set-cookie is never indexed however short; cookie too; a field too big for half the
 * table goes without indexing and leaves the table as it was. */
static void never_and_big(void **state)
{
	static char big[3000];
	h2o_header_t hs[4];
	struct conn c;
	struct head got = { .n = 0 };
	size_t i;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	forget_varying();
	hs[0] = hdr(&n_policy, "\"p\";q=1;w=1");
	hs[1] = hdr(&H2O_TOKEN_SET_COOKIE->buf, "id=1");
	hs[2] = hdr(&H2O_TOKEN_COOKIE->buf, "a-rather-long-cookie-value-of-more-than-20");
	hs[3] = hdr(&n_custom[0], big);
	conn_init(&c, 4096, h2o_hpack_flatten_response);
	for (i = 0; i < 3; i++) {
		roundtrip(&c, 1 + 2 * (uint32_t)i, 16384, 200, NULL, hs, 4, SIZE_MAX, &got);
		assert_int_equal(got.n, 6);
		assert_int_equal(got.f[3].never_indexed, 1); /* set-cookie */
		assert_int_equal(got.f[4].never_indexed, 1); /* cookie */
		assert_int_equal(got.f[5].value_len, sizeof(big) - 1);
		head_free(&got);
		/* the policy, and the date from the second head on */
		assert_int_equal(c.t.num_entries, i ? 2 : 1);
		assert_true(in_table(&c.t, "ratelimit-policy", "\"p\";q=1;w=1"));
		table_sane(&c.t);
	}
	conn_close(&c);
}

/* A table never holds more than 32 entries (as h2o's); the decoder, whose table holds
 * more, still agrees on every index. */
static void entry_limit(void **state)
{
	static char vals[100][8];
	h2o_header_t hs[50];
	struct conn c;
	struct head got = { .n = 0 };
	size_t r, i;

	(void)state;
	conn_init(&c, 4096, h2o_hpack_flatten_response);
	for (r = 0; r < 4; r++) {
		for (i = 0; i < 50; i++) {
			snprintf(vals[i], sizeof(vals[i]), "v%zu", (i * 7 + r * 3) % 100);
			hs[i] = hdr(&n_custom[i % 4], vals[i]);
		}
		roundtrip(&c, 1 + 2 * (uint32_t)r, 16384, 200, NULL, hs, 50, SIZE_MAX, &got);
		assert_int_equal(got.n, 52);
		head_free(&got);
		assert_int_equal(c.t.num_entries, GW_HPACK_MAX_ENTRIES);
		table_sane(&c.t);
	}
	conn_close(&c);
}

/* Statuses outside 100..999 are written all the same (h2o would assert). */
static void odd_status(void **state)
{
	static const int st[] = { 99, 1000, 0, -5, 204, 206, 304, 400, 404, 500, 999, 100 };
	struct conn c;
	struct head got = { .n = 0 };
	char want[16];
	size_t i;

	(void)state;
	conn_init(&c, 4096, h2o_hpack_flatten_response);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		roundtrip(&c, 1 + 2 * (uint32_t)i, 16384, st[i], NULL, NULL, 0, SIZE_MAX, &got);
		snprintf(want, sizeof(want), "%d", st[i]);
		assert_int_equal(got.f[0].value_len, strlen(want));
		assert_memory_equal(got.f[0].value, want, strlen(want));
		head_free(&got);
	}
	conn_close(&c);
}

/* libh2o's own encoder, run on tables of hpack.h's layout, decodes to the same fields as
 * hpack.c's for the same heads; both tables are freed by libh2o's dispose. */
static void same_as_h2o(void **state)
{
	static char vals[MAX_FIELDS][5200];
	flatten_fn theirs = (flatten_fn)dlsym(RTLD_NEXT, "h2o_hpack_flatten_response");
	h2o_iovec_t server = h2o_iovec_init(H2O_STRLIT("floodgate"));
	struct conn ours, h2o;
	size_t r;

	(void)state;
	assert_non_null(theirs);
	assert_ptr_not_equal(theirs, h2o_hpack_flatten_response);
	conn_init(&ours, 4096, h2o_hpack_flatten_response);
	conn_init(&h2o, 4096, theirs);
	for (r = 0; r < 2000; r++) {
		h2o_header_t hs[16];
		size_t n = rnd() % 16, cl = rnd() % 2 ? rnd() % 5000 : SIZE_MAX;
		int status = 100 + (int)(rnd() % 900);
		struct head a = { .n = 0 }, b = { .n = 0 };

		rnd_head(hs, n, vals, r);
		roundtrip(&ours, 1 + 2 * (uint32_t)r, 16384, status, &server, hs, n, cl, &a);
		roundtrip(&h2o, 1 + 2 * (uint32_t)r, 16384, status, &server, hs, n, cl, &b);
		same_heads(&a, &b, 0);
		head_free(&a);
		head_free(&b);
	}
	conn_close(&ours);
	conn_close(&h2o);
}

/* This program's libh2o calls hpack.c's encoder, as floodgate's does. */
static void bound(void **state)
{
	(void)state;
	assert_int_equal(gw_hpack_bound(), 1);
}

#ifdef FG_FUZZ /* tests/fuzz/hpack.c reuses this file's round trip, not its tests */
static const void *const unit_tests_unused[] = { random_heads,	 what_is_indexed,
						 varying_values, never_and_big,
						 entry_limit,	 odd_status,
						 same_as_h2o,	 bound };
#else
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_heads),	  cmocka_unit_test(what_is_indexed),
		cmocka_unit_test(varying_values), cmocka_unit_test(never_and_big),
		cmocka_unit_test(entry_limit),	  cmocka_unit_test(odd_status),
		cmocka_unit_test(same_as_h2o),	  cmocka_unit_test(bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif

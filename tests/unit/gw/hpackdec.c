/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/hpackdec.c, the fast path for HTTP/2 request heads. Every
 * head goes through both floodgate's path (gw_hpackdec_fast, and libh2o's parser when it
 * declines) and libh2o's own parser alone, each with its own HPACK table; the results
 * must be the same: return code, error text, pseudo-headers, content-length, every field
 * in order with the same name (the same h2o token) and value, and the two tables. Heads:
 *   - requests from nghttp2's encoder (an implementation of its own, as curl's and
 *     h2load's) over long connections: indexed fields, literals never indexed, Huffman
 *     and raw strings, names outside h2o's tokens, table size updates, small tables;
 *   - the same with bytes changed, cut or added (every error stays libh2o's);
 *   - hand-made heads for each case the fast path must leave to libh2o;
 *   - trailers (no pseudo-header allowed).
 * The fast path must take most repeated heads, and keep nothing pointing into the input
 * or the table (the input is overwritten before the comparison).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "unit.h"

#include "gw/hpackdec.h"

typedef int (*parse_fn)(h2o_req_t *, h2o_hpack_header_table_t *, const uint8_t *, size_t, int *,
			size_t *, struct st_h2o_cache_digests_t **, const char **);

static parse_fn theirs;
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	return fg_xorshift64(&rng);
}

/* One decoder: floodgate's path (fast = 1) or libh2o's alone. */
struct side {
	h2o_hpack_header_table_t t;
	h2o_req_t req;
	int rc, map, fast, took_fast;
	size_t cl;
	const char *err;
};

static struct side ours, h2o;
static long fast_taken, heads;

static void table_init(h2o_hpack_header_table_t *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->hpack_capacity = t->hpack_max_capacity = cap;
}

static void sides_init(size_t cap)
{
	table_init(&ours.t, cap);
	table_init(&h2o.t, cap);
	ours.fast = 1;
	h2o.fast = 0;
}

static void sides_end(void)
{
	h2o_hpack_dispose_header_table(&ours.t);
	h2o_hpack_dispose_header_table(&h2o.t);
}

static void parse(struct side *s, const uint8_t *blk, size_t len, int trailers)
{
	memset(&s->req, 0, sizeof(s->req));
	h2o_mem_init_pool(&s->req.pool);
	s->map = 0;
	s->err = NULL;
	s->cl = 12345;
	s->took_fast = s->fast && !gw_hpackdec_fast(&s->req, &s->t, blk, len,
						    trailers ? NULL : &s->map, &s->cl);
	s->rc = s->took_fast ? 0
			     : theirs(&s->req, &s->t, blk, len, trailers ? NULL : &s->map, &s->cl,
				      NULL, &s->err);
}

static void same_str(const h2o_iovec_t *a, const h2o_iovec_t *b)
{
	assert_int_equal(a->base == NULL, b->base == NULL);
	assert_int_equal(a->len, b->len);
	if (a->len)
		assert_memory_equal(a->base, b->base, a->len);
}

static void same_name(const h2o_iovec_t *a, const h2o_iovec_t *b)
{
	/* a token is one object: compared by address, as h2o does */
	assert_int_equal(h2o_iovec_is_token(a), h2o_iovec_is_token(b));
	if (h2o_iovec_is_token(a))
		assert_ptr_equal(a, b);
	else
		same_str(a, b);
}

static void same_table(const h2o_hpack_header_table_t *a, const h2o_hpack_header_table_t *b)
{
	size_t i;

	assert_int_equal(a->num_entries, b->num_entries);
	assert_int_equal(a->hpack_size, b->hpack_size);
	assert_int_equal(a->hpack_capacity, b->hpack_capacity);
	for (i = 0; i < a->num_entries; i++) {
		const struct st_h2o_hpack_header_table_entry_t *x = a->entries +
								    (a->entry_start_index + i) %
									    a->entry_capacity,
							       *y = b->entries +
								    (b->entry_start_index + i) %
									    b->entry_capacity;

		same_name(x->name, y->name);
		same_str(x->value, y->value);
		assert_int_equal(x->err_desc == NULL, y->err_desc == NULL);
	}
}

/* s's string lies outside blk and outside every table string */
static void owned(const struct side *s, const h2o_iovec_t *v, const uint8_t *blk, size_t len)
{
	size_t i;

	if (!v->base || !v->len)
		return;
	assert_false((const uint8_t *)v->base >= blk && (const uint8_t *)v->base < blk + len);
	for (i = 0; i < s->t.num_entries; i++) {
		const struct st_h2o_hpack_header_table_entry_t *e =
			s->t.entries + (s->t.entry_start_index + i) % s->t.entry_capacity;

		assert_ptr_not_equal(v->base, e->value->base);
		if (!h2o_iovec_is_token(e->name))
			assert_ptr_not_equal(v->base, e->name->base);
	}
}

/* Decode blk on both sides and compare. */
static void check(uint8_t *blk, size_t len, int trailers)
{
	size_t i;

	parse(&ours, blk, len, trailers);
	parse(&h2o, blk, len, trailers);
	heads++;
	fast_taken += ours.took_fast;
	if (ours.took_fast)
		for (i = 0; i < ours.req.headers.size; i++) {
			owned(&ours, &ours.req.headers.entries[i].value, blk, len);
			owned(&ours, ours.req.headers.entries[i].name, blk, len);
		}
	memset(blk, 0xa5, len); /* nothing may still point into the input */
	assert_int_equal(ours.rc, h2o.rc);
	assert_int_equal(ours.err == NULL, h2o.err == NULL);
	if (ours.err)
		assert_string_equal(ours.err, h2o.err);
	same_table(&ours.t, &h2o.t);
	if (ours.rc == 0 || ours.err) {
		assert_int_equal(ours.map, h2o.map);
		assert_int_equal(ours.cl, h2o.cl);
		same_str(&ours.req.input.method, &h2o.req.input.method);
		same_str(&ours.req.input.path, &h2o.req.input.path);
		same_str(&ours.req.input.authority, &h2o.req.input.authority);
		assert_ptr_equal(ours.req.input.scheme, h2o.req.input.scheme);
		assert_int_equal(ours.req.headers.size, h2o.req.headers.size);
		for (i = 0; i < ours.req.headers.size; i++) {
			const h2o_header_t *x = ours.req.headers.entries + i,
					   *y = h2o.req.headers.entries + i;

			same_name(x->name, y->name);
			assert_null(x->orig_name);
			assert_null(y->orig_name);
			same_str(&x->value, &y->value);
		}
	}
	h2o_mem_clear_pool(&ours.req.pool);
	h2o_mem_clear_pool(&h2o.req.pool);
}

/* ---- requests from nghttp2's encoder ---- */

#define MAX_NV 40

struct nvs {
	nghttp2_nv nv[MAX_NV];
	size_t n;
	char buf[MAX_NV][2048];
};

static void nv_add(struct nvs *h, const char *name, const char *value, uint8_t flags)
{
	nghttp2_nv *nv = &h->nv[h->n];

	assert_true(h->n < MAX_NV);
	snprintf(h->buf[h->n], sizeof(h->buf[0]), "%s", value);
	nv->name = (uint8_t *)name;
	nv->namelen = strlen(name);
	nv->value = (uint8_t *)h->buf[h->n];
	nv->valuelen = strlen(h->buf[h->n]);
	nv->flags = flags;
	h->n++;
}

static const char *pick(const char *const *list, size_t n)
{
	return list[rnd() % n];
}
#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

/* An API client: the fields it sends on every request of a connection. */
struct client {
	const char *ua, *accept, *key;
	int bearer;
	size_t token_len; /* bearer: a token of this many characters (a JWT is long) */
};

static void rnd_client(struct client *c)
{
	static const char *const uas[] = { "h2load nghttp2/1.52.0", "curl/7.88.1",
					   "Go-http-client/2.0" };
	static const char *const accepts[] = { "*/*", "application/json", "" };
	static const char *const keys[] = { "k-1234567890", "fg_0123456789abcdef", "",
					    "\xc3\xa9t\xc3\xa9" };

	c->ua = PICK(uas);
	c->accept = PICK(accepts);
	c->key = PICK(keys);
	c->bearer = rnd() % 3 == 0;
	c->token_len = rnd() % 3 ? 16 + rnd() % 48 : 200 + rnd() % 1500;
}

/* A request head of client c (random fields when c is NULL); now and then an odd one. */
static void rnd_request(struct nvs *h, const struct client *c, int trailers)
{
	static const char *const methods[] = { "GET", "GET", "POST", "PUT", "DELETE", "HEAD" };
	static const char *const paths[] = { "/v1/limited",
					     "/v1/items/42",
					     "/",
					     "/index.html",
					     "/v1/search?q=abc&limit=10",
					     "/api/%7Euser/x.json",
					     "/v1/items?api_key=0123456789abcdef" };
	static const char *const names[] = { "user-agent",	"accept",	   "x-api-key",
					     "x-request-id",	"accept-encoding", "cookie",
					     "x-forwarded-for", "if-none-match",   "referer" };
	static const char *const values[] = { "h2load nghttp2/1.52.0",
					      "*/*",
					      "k-1234567890",
					      "application/json",
					      "gzip, deflate",
					      "a=b; c=d",
					      "198.18.0.7",
					      "\"etag\"",
					      "",
					      "\xc3\xa9t\xc3\xa9" };
	static const char *const odd_names[] = {
		"content-length", "te",	     "host",	 "connection",
		"cache-digest",	  "X-Upper", "bad name", ":status",
		":path",	  "",	     ":bogus",	 "transfer-encoding"
	};
	static const char *const odd_values[] = {
		"12", "abc", "trailers", "a\001b", "a\nb", "  1", "18446744073709551616", "x\x7fy"
	};
	char v[2048];
	size_t i, k;

	h->n = 0;
	if (!trailers) {
		nv_add(h, ":method", PICK(methods), 0);
		nv_add(h, ":scheme", rnd() % 8 ? "https" : "http", 0);
		nv_add(h, ":authority", rnd() % 4 ? "api.floodgate.test" : "198.18.0.1:8443", 0);
		nv_add(h, ":path", PICK(paths), 0);
	}
	if (c) {
		nv_add(h, "user-agent", c->ua, 0);
		if (*c->accept)
			nv_add(h, "accept", c->accept, 0);
		if (c->bearer) {
			/* a fresh token now and then, never indexed: Huffman-coded each time */
			k = (size_t)snprintf(v, sizeof(v), "Bearer ");
			for (i = 0; i < c->token_len && k < sizeof(v) - 1; i++)
				v[k++] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
					 "56789-_."[(rnd() % 16 ? i : rnd()) % 65];
			v[k] = '\0';
			nv_add(h, "authorization", v, NGHTTP2_NV_FLAG_NO_INDEX);
		} else {
			nv_add(h, "x-api-key", c->key, 0);
		}
		if (rnd() % 20 == 0)
			nv_add(h, "content-length", rnd() % 2 ? "12" : "0", 0);
	} else {
		k = rnd() % 6;
		for (i = 0; i < k; i++)
			nv_add(h, PICK(names), PICK(values),
			       rnd() % 5 ? 0 : NGHTTP2_NV_FLAG_NO_INDEX);
		if (rnd() % 5 == 0) {
			snprintf(v, sizeof(v), "x-custom-%u", (unsigned)(rnd() % 6));
			nv_add(h, v, PICK(values), 0);
		}
	}
	if (rnd() % 30 == 0)
		nv_add(h, PICK(odd_names), rnd() % 2 ? PICK(odd_values) : PICK(values), 0);
	if (rnd() % 30 == 0 && h->n > 1) { /* a pseudo-header after a regular field */
		nghttp2_nv t = h->nv[0];

		h->nv[0] = h->nv[h->n - 1];
		h->nv[h->n - 1] = t;
	}
}

static size_t deflate(nghttp2_hd_deflater *def, const struct nvs *h, uint8_t *out, size_t cap)
{
	ssize_t n = nghttp2_hd_deflate_hd(def, out, cap, h->nv, h->n);

	assert_true(n >= 0);
	return (size_t)n;
}

/* Long connections: most heads repeat, so most take the fast path. */
static void from_nghttp2(void **state)
{
	static const size_t caps[] = { 4096, 4096, 256, 64, 0 };
	uint8_t blk[16384];
	size_t c;
	long taken0, heads0;

	(void)state;
	for (c = 0; c < 40; c++) {
		size_t cap = caps[c % 5];
		nghttp2_hd_deflater *def;
		struct client cl;
		int i;

		assert_int_equal(nghttp2_hd_deflate_new(&def, cap), 0);
		sides_init(4096);
		if (cap != 4096) /* the encoder announces its smaller table: a size update */
			assert_int_equal(nghttp2_hd_deflate_change_table_size(def, cap), 0);
		rnd_client(&cl);
		taken0 = fast_taken;
		heads0 = heads;
		for (i = 0; i < 400; i++) {
			struct nvs h;
			int trailers = i % 50 == 49;

			rnd_request(&h, c % 7 == 6 ? NULL : &cl, trailers);
			check(blk, deflate(def, &h, blk, sizeof(blk)), trailers);
			if (ours.rc && ours.rc != H2O_HTTP2_ERROR_INVALID_HEADER_CHAR) {
				/* a connection error: the client starts a new connection */
				nghttp2_hd_deflate_del(def);
				sides_end();
				assert_int_equal(nghttp2_hd_deflate_new(&def, cap), 0);
				sides_init(4096);
				if (cap != 4096)
					assert_int_equal(
						nghttp2_hd_deflate_change_table_size(def, cap), 0);
			}
		}
		fprintf(stderr, "# table %zu, %s: %ld of %ld heads without libh2o\n", cap,
			c % 7 == 6 ? "random fields" : "one client", fast_taken - taken0,
			heads - heads0);
		/* a client's repeated heads leave a full-size table as it is (or no table at
		 * all is used): 2 in 3 at least take the fast path, odd fields and the
		 * connections they end included */
		if (c % 7 != 6 && (cap == 4096 || cap == 0))
			assert_true((fast_taken - taken0) * 3 > (heads - heads0) * 2);
		nghttp2_hd_deflate_del(def);
		sides_end();
	}
}

/* The same heads with a byte changed, bytes cut or bytes added. */
static void mutated(void **state)
{
	uint8_t blk[16384], copy[16384];
	int trial;

	(void)state;
	for (trial = 0; trial < 3000; trial++) {
		nghttp2_hd_deflater *def;
		struct client cl;
		struct nvs h;
		size_t n, i, k;
		int j;

		assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
		sides_init(4096);
		rnd_client(&cl);
		for (j = 0; j < 6; j++) {
			rnd_request(&h, j % 2 ? &cl : NULL, 0);
			check(blk, deflate(def, &h, blk, sizeof(blk)), 0);
		}
		rnd_request(&h, trial % 2 ? &cl : NULL, 0);
		n = deflate(def, &h, copy, sizeof(copy));
		for (j = 0; j < 4 && n; j++) {
			memcpy(blk, copy, n);
			switch (rnd() % 4) {
			case 0: /* flip bits */
				for (k = 1 + rnd() % 3; k; k--)
					blk[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
				check(blk, n, 0);
				break;
			case 1: /* cut */
				check(blk, rnd() % n, 0);
				break;
			case 2: /* a random byte */
				blk[rnd() % n] = (uint8_t)rnd();
				check(blk, n, 0);
				break;
			default: /* random bytes appended */
				k = 1 + rnd() % 8;
				for (i = 0; i < k && n + i < sizeof(blk); i++)
					blk[n + i] = (uint8_t)rnd();
				check(blk, n + i, rnd() % 2);
				break;
			}
		}
		nghttp2_hd_deflate_del(def);
		sides_end();
	}
}

/* Heads the fast path must take, or leave to libh2o, made byte by byte. The comment
 * says which; `fast` is checked. */
static void by_hand(void **state)
{
	static const struct {
		const char *hex;
		int fast, trailers;
	} cases[] = {
		{ "82 86 84 41 0f 7777772e6578616d706c652e636f6d", 0, 0 }, /* inserts: h2o */
		{ "82 86 84 01 0f 7777772e6578616d706c652e636f6d", 1, 0 }, /* RFC C.3.1, no index */
		{ "82 87 85 01 8c f1e3c2e5f23a6ba0ab90f4ff", 1, 0 },	   /* Huffman authority */
		{ "", 1, 0 },						   /* empty head */
		{ "", 1, 1 },						   /* empty trailers */
		{ "82 82", 0, 0 },					   /* :method twice */
		{ "82 84 82", 0, 0 },					   /* twice again */
		{ "88", 0, 0 },						   /* :status */
		{ "82 00 03 782d61 01 62 84", 0, 0 },			   /* pseudo after x-a */
		{ "00 03 782d61 01 62", 1, 1 },				   /* a trailer */
		{ "82 00 03 782d61 01 62", 1, 0 },			   /* x-a: b */
		{ "84", 0, 1 },						   /* pseudo in trailers */
		{ "00 03 782d41 01 62", 0, 0 },				   /* upper case: error */
		{ "00 03 782061 01 62", 0, 0 },				   /* space: soft error */
		{ "00 03 782d61 01 01", 0, 0 },				   /* ctl in value */
		{ "00 03 782d61 03 61 09 62", 1, 0 },			   /* tab in value */
		{ "00 00 01 62", 0, 0 },				   /* empty name */
		{ "00 03 3a7878 01 62", 0, 0 },				   /* :xx */
		{ "0f 0d 02 3132", 1, 0 },				   /* content-length 12 */
		{ "0f 0d 02 3132 0f 0d 01 35", 1, 0 },			   /* the last one counts */
		{ "0f 0d 02 3132 0f 0d 02 2d31", 0, 0 },		   /* content-length -1 */
		{ "00 02 7465 08 747261696c657273", 0, 0 },		   /* te: trailers */
		{ "0f 17 01 61", 0, 0 },				   /* host */
		{ "00 0c 63616368652d646967657374 01 61", 0, 0 },	   /* cache-digest */
		{ "0f 2b 01 61", 1, 0 },				   /* user-agent: a */
		{ "10 03 782d61 01 62", 1, 0 },				   /* never indexed */
		{ "20", 0, 0 },						   /* size update */
		{ "be", 0, 0 },			/* index 62, empty table */
		{ "ff 00", 0, 0 },		/* index 127, empty */
		{ "ff ff ff ff ff 7f", 0, 0 },	/* int too long */
		{ "80", 0, 0 },			/* index 0 */
		{ "01 8f ffffffff", 0, 0 },	/* EOS in Huffman */
		{ "01 81 ff", 0, 0 },		/* 8 bits of padding */
		{ "01 85 f1e3c2e5f2", 0, 0 },	/* a cut Huffman: bad pad */
		{ "01 05 7777", 0, 0 },		/* string past the end */
		{ "00 83 63a5ff 01 62", 0, 0 }, /* Huffman name, bad */
		{ "00 82 f1e3 01 62", 1, 0 },	/* Huffman name "www." */
		{ "01", 0, 0 },			/* cut before the value */
	};
	uint8_t blk[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = fg_unhex(cases[i].hex, blk);

		sides_init(4096);
		check(blk, n, cases[i].trailers);
		if (ours.took_fast != cases[i].fast)
			fail_msg("case %zu (%s): fast path %d, expected %d", i, cases[i].hex,
				 ours.took_fast, cases[i].fast);
		sides_end();
	}
}

/* A field indexed from the dynamic table: floodgate copies its strings, so the request
 * keeps them when the table evicts the entry. */
static void outlives_eviction(void **state)
{
	uint8_t blk[256];
	size_t n;

	(void)state;
	sides_init(4096);
	/* insert x-key: v1 (libh2o), then use it by index 62 (fast) */
	n = fg_unhex("82 86 84 01 01 61 40 05 782d6b6579 02 7631", blk);
	check(blk, n, 0);
	n = fg_unhex("82 86 84 01 01 61 be", blk);
	parse(&ours, blk, n, 0);
	assert_true(ours.took_fast);
	assert_int_equal(ours.req.headers.size, 1);
	/* a size update to 0 evicts and frees every entry */
	h2o_hpack_dispose_header_table(&ours.t);
	table_init(&ours.t, 4096);
	assert_int_equal(ours.req.headers.entries[0].name->len, 5);
	assert_memory_equal(ours.req.headers.entries[0].name->base, "x-key", 5);
	assert_memory_equal(ours.req.headers.entries[0].value.base, "v1", 3);
	h2o_mem_clear_pool(&ours.req.pool);
	sides_end();
}

/* More fields than the fast path holds: libh2o's. */
static void many_fields(void **state)
{
	uint8_t blk[1024];
	size_t n = 0, i;

	(void)state;
	for (i = 0; i < GW_HPACKDEC_MAX_FIELDS + 1; i++) {
		memcpy(blk + n, "\x0f\x2b\x01\x61", 4); /* user-agent: a */
		n += 4;
	}
	sides_init(4096);
	check(blk, n - 4, 0);
	assert_true(ours.took_fast);
	check(blk, n, 0);
	assert_false(ours.took_fast);
	sides_end();
}

/* This program's libh2o is bound to hpackdec.c's parser; tokens are one array ending at
 * x-traffic, as gw_token_of() takes them. */
static void bound(void **state)
{
	int i;

	(void)state;
	assert_true(gw_hpackdec_bound());
	assert_ptr_equal(h2o_lookup_token(H2O_STRLIT("x-traffic")), H2O_TOKEN_X_TRAFFIC);
	for (i = 0; &h2o__tokens[i] <= H2O_TOKEN_X_TRAFFIC; i++)
		assert_ptr_equal(gw_token_of(&h2o__tokens[i].buf), &h2o__tokens[i]);
	assert_null(gw_token_of((const h2o_iovec_t *)(H2O_TOKEN_X_TRAFFIC + 1)));
}

static int setup(void **state)
{
	(void)state;
	theirs = (parse_fn)dlsym(RTLD_NEXT, "h2o_hpack_parse_headers");
	return theirs ? 0 : -1;
}

#ifdef FG_FUZZ /* tests/fuzz/hpackdec.c reuses this file's checks, not its tests */
static const void *const unit_tests_unused[] = { from_nghttp2, mutated, by_hand, outlives_eviction,
						 many_fields,  bound,	setup };
#else
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(from_nghttp2), cmocka_unit_test(mutated),
		cmocka_unit_test(by_hand),	cmocka_unit_test(outlives_eviction),
		cmocka_unit_test(many_fields),	cmocka_unit_test(bound),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
#endif

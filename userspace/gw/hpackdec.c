// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hpackdec.c - HTTP/2 request heads that leave the HPACK table as it is, decoded without
 * libh2o's general decoder (see hpackdec.h); every other head goes to libh2o's.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/bytes.h"
#include "gw/hpackdec.h"
#include "gw/huff.h"

#define STATIC_ENTRIES 61
#define DYNAMIC_FIRST  62

/* RFC 7541 appendix A: the static table. */
static const struct {
	const char *name, *value;
} static_text[61] = {
	{ ":authority", "" },
	{ ":method", "GET" },
	{ ":method", "POST" },
	{ ":path", "/" },
	{ ":path", "/index.html" },
	{ ":scheme", "http" },
	{ ":scheme", "https" },
	{ ":status", "200" },
	{ ":status", "204" },
	{ ":status", "206" },
	{ ":status", "304" },
	{ ":status", "400" },
	{ ":status", "404" },
	{ ":status", "500" },
	{ "accept-charset", "" },
	{ "accept-encoding", "gzip, deflate" },
	{ "accept-language", "" },
	{ "accept-ranges", "" },
	{ "accept", "" },
	{ "access-control-allow-origin", "" },
	{ "age", "" },
	{ "allow", "" },
	{ "authorization", "" },
	{ "cache-control", "" },
	{ "content-disposition", "" },
	{ "content-encoding", "" },
	{ "content-language", "" },
	{ "content-length", "" },
	{ "content-location", "" },
	{ "content-range", "" },
	{ "content-type", "" },
	{ "cookie", "" },
	{ "date", "" },
	{ "etag", "" },
	{ "expect", "" },
	{ "expires", "" },
	{ "from", "" },
	{ "host", "" },
	{ "if-match", "" },
	{ "if-modified-since", "" },
	{ "if-none-match", "" },
	{ "if-range", "" },
	{ "if-unmodified-since", "" },
	{ "last-modified", "" },
	{ "link", "" },
	{ "location", "" },
	{ "max-forwards", "" },
	{ "proxy-authenticate", "" },
	{ "proxy-authorization", "" },
	{ "range", "" },
	{ "referer", "" },
	{ "refresh", "" },
	{ "retry-after", "" },
	{ "server", "" },
	{ "set-cookie", "" },
	{ "strict-transport-security", "" },
	{ "transfer-encoding", "" },
	{ "user-agent", "" },
	{ "vary", "" },
	{ "via", "" },
	{ "www-authenticate", "" },
};

/* The static table with h2o's token of each name (init checks that every one has one). */
static struct {
	const h2o_token_t *token;
	h2o_iovec_t value;
} static_table[STATIC_ENTRIES];

/* Characters libh2o accepts without a soft error (lib/http2/hpack.c): in a name, RFC
 * 9110's tchar but upper-case letters; in a value, HTAB, SP, VCHAR and obs-text. */
#define NAME_OK	 1
#define VALUE_OK 2
static uint8_t char_class[256];

typedef int (*parse_fn)(h2o_req_t *, h2o_hpack_header_table_t *, const uint8_t *, size_t, int *,
			size_t *, struct st_h2o_cache_digests_t **, const char **);

/* libh2o's own parser, for every head the fast path does not take. */
static parse_fn h2o_parse;
/* The static table resolved: otherwise every head goes to libh2o. */
static int fast_ok;

/* h2o's tokens of pseudo-headers: :authority, :method, :path, :scheme, :status. */
#define PSEUDO_TOKENS 5

/* Before main, so no request can come first. */
__attribute__((constructor)) static void init(void)
{
	const char *name_punct = "!#$%&'*+-.^_`|~";
	size_t i;

	h2o_parse = (parse_fn)dlsym(RTLD_NEXT, "h2o_hpack_parse_headers");
	for (i = 0; i < 256; i++) {
		int name = (i >= '0' && i <= '9') || (i >= 'a' && i <= 'z') ||
			   (i && strchr(name_punct, (int)i));

		char_class[i] = (uint8_t)((name ? NAME_OK : 0) |
					  (i == '\t' || (i >= 0x20 && i != 0x7f) ? VALUE_OK : 0));
	}
	for (i = 0; i < STATIC_ENTRIES; i++) {
		const h2o_token_t *tok =
			h2o_lookup_token(static_text[i].name, strlen(static_text[i].name));

		if (!tok || gw_token_of(&tok->buf) != tok)
			return;
		static_table[i].token = tok;
		static_table[i].value =
			h2o_iovec_init(static_text[i].value, strlen(static_text[i].value));
	}
	/* pseudo_bit() takes h2o's pseudo-header tokens as its first five, as in 2.2.5 */
	for (i = 0; &h2o__tokens[i] <= H2O_TOKEN_X_TRAFFIC; i++)
		if ((h2o__tokens[i].buf.base[0] == ':') != (i < PSEUDO_TOKENS))
			return;
	if (H2O_TOKEN_AUTHORITY != h2o__tokens + 0 || H2O_TOKEN_METHOD != h2o__tokens + 1 ||
	    H2O_TOKEN_PATH != h2o__tokens + 2 || H2O_TOKEN_SCHEME != h2o__tokens + 3)
		return;
	fast_ok = 1;
}

/* One field as the scan found it. */
enum kind { PSEUDO, CONTENT_LENGTH, REGULAR };

typedef struct {
	const h2o_token_t *tok; /* NULL: a name outside h2o's tokens, in name */
	h2o_iovec_t name, value;
	uint8_t name_copy;  /* name's bytes are not in the request's pool yet */
	uint8_t value_copy; /* value's bytes are not in the request's pool yet */
	uint8_t kind;
	uint8_t pseudo; /* kind PSEUDO: its GW_HPACKDEC_* bit */
} field_t;

/* What the scan found besides the fields: what apply() allocates, and where short
 * Huffman-coded strings were decoded (copied into the pool with the others). */
#define SCRATCH 512
typedef struct {
	size_t names, bytes, regular;
	size_t cl;
	size_t used;
	char scratch[SCRATCH];
} scan_t;

/* An HPACK integer (RFC 7541 5.1) with a prefix of `prefix` bits, *p < end. libh2o's
 * bound: at most 4 bytes after the prefix. Returns -1 when truncated. */
static inline int32_t get_int(const uint8_t **p, const uint8_t *end, unsigned prefix)
{
	int32_t max = (1 << prefix) - 1, v = *(*p)++ & max, mult;
	const uint8_t *lim;

	if (v != max)
		return v;
	lim = end - *p > 4 ? *p + 4 : end;
	for (mult = 1;; mult *= 128) {
		if (*p >= lim)
			return -1;
		v += (**p & 0x7f) * mult;
		if (!(*(*p)++ & 0x80))
			return v;
	}
}

static inline int all_chars(const h2o_iovec_t *s, uint8_t cls)
{
	uint8_t acc = cls;
	size_t i;

	for (i = 0; i < s->len; i++)
		acc &= char_class[(uint8_t)s->base[i]];
	return acc == cls;
}

/* A string literal (RFC 7541 5.2): a raw one is left where it is (copied at the end), a
 * Huffman-coded one is decoded into the request's pool. Checked against cls (NAME_OK or
 * VALUE_OK) but a name starting with ':' (a pseudo-header, libh2o checks its token). */
/* This thread's memo of decoded Huffman strings (huff.h): nghttp2 clients send :path as a
 * literal on every request. */
static __thread struct gw_huff_memo huff_memo;

static inline int get_string(h2o_mem_pool_t *pool, scan_t *sc, const uint8_t **p,
			     const uint8_t *end, h2o_iovec_t *s, uint8_t *copy, uint8_t cls)
{
	int huff, rare = 1;
	int32_t len;

	if (*p >= end)
		return -1;
	huff = **p & 0x80;
	len = get_int(p, end, 7);
	if (len < 0 || end - *p < len)
		return -1;
	if (huff) {
		/* into the scratch space when it fits, copied with the others; a long one
		 * straight into the pool */
		size_t max = gw_huff_decoded_max((size_t)len);
		int in_scratch = max <= SCRATCH - sc->used;
		char *d = in_scratch ? sc->scratch + sc->used : h2o_mem_alloc_pool(pool, max + 1);
		ssize_t n = gw_huff_decode_memo(&huff_memo, d, *p, (size_t)len, &rare);

		if (n < 0)
			return -1;
		*s = h2o_iovec_init(d, (size_t)n);
		*copy = (uint8_t)in_scratch;
		if (in_scratch)
			sc->used += (size_t)n;
		else
			d[n] = '\0';
	} else {
		*s = h2o_iovec_init(*p, (size_t)len);
		*copy = 1;
	}
	*p += len;
	if (cls == VALUE_OK && !rare)
		return 0; /* Huffman codes of invalid octets are rare ones (huff.h) */
	if (cls == NAME_OK && (!s->len || s->base[0] == ':'))
		return s->len ? 0 : -1;
	return all_chars(s, cls) ? 0 : -1;
}

/* Entry idx of the static or dynamic table: its name, and its value when with_value.
 * -1 for an index past the table or an entry libh2o stored with a soft error. */
static inline int lookup(const h2o_hpack_header_table_t *t, int32_t idx, field_t *f, int with_value)
{
	const struct st_h2o_hpack_header_table_entry_t *e;
	size_t i;

	if (idx <= STATIC_ENTRIES) {
		f->tok = static_table[idx - 1].token;
		if (with_value) {
			f->value = static_table[idx - 1].value;
			f->value_copy = 0;
		}
		return 0;
	}
	i = (size_t)(idx - DYNAMIC_FIRST);
	if (i >= t->num_entries)
		return -1;
	i += t->entry_start_index;
	if (i >= t->entry_capacity)
		i -= t->entry_capacity;
	e = t->entries + i;
	if (e->err_desc)
		return -1;
	f->tok = gw_token_of(e->name);
	if (!f->tok) {
		f->name = *e->name;
		f->name_copy = 1;
	}
	if (with_value) {
		f->value = *e->value;
		f->value_copy = 1;
	}
	return 0;
}

/* The pseudo-header bit of h2o's first PSEUDO_TOKENS tokens (:status has none). */
static const uint8_t pseudo_bits[PSEUDO_TOKENS] = { GW_HPACKDEC_AUTHORITY, GW_HPACKDEC_METHOD,
						    GW_HPACKDEC_PATH, GW_HPACKDEC_SCHEME, 0 };

/* Read the fields of [src, src + len) into f without changing req or the table. Returns
 * their number, -1 when libh2o must decode the head. */
static int scan(h2o_req_t *req, const h2o_hpack_header_table_t *t, const uint8_t *src, size_t len,
		int pseudo_ok, field_t *f, scan_t *sc)
{
	const uint8_t *p = src, *end = src + len;
	int n = 0, seen = 0;

	/* libh2o refuses a pseudo-header the request already has (never, in a head) */
	if (pseudo_ok && (req->input.method.base || req->input.scheme || req->input.path.base ||
			  req->input.authority.base))
		return -1;
	for (; p < end; n++, f++) {
		const uint8_t b = *p;
		size_t ti;

		if (n == GW_HPACKDEC_MAX_FIELDS)
			return -1;
		f->name_copy = 0;
		if (b & 0x80) { /* indexed */
			int32_t idx = get_int(&p, end, 7);

			if (idx <= 0 || lookup(t, idx, f, 1) < 0)
				return -1;
		} else if (b & 0xe0) {
			return -1; /* with incremental indexing, or a size update */
		} else {	   /* without indexing, never indexed */
			if (b & 0x0f) {
				int32_t idx = get_int(&p, end, 4);

				if (idx <= 0 || lookup(t, idx, f, 0) < 0)
					return -1;
			} else {
				p++;
				if (get_string(&req->pool, sc, &p, end, &f->name, &f->name_copy,
					       NAME_OK) < 0)
					return -1;
				f->tok = h2o_lookup_token(f->name.base, f->name.len);
			}
			if (get_string(&req->pool, sc, &p, end, &f->value, &f->value_copy,
				       VALUE_OK) < 0)
				return -1;
		}
		sc->bytes += f->value_copy ? f->value.len + 1 : 0;
		if (!f->tok) {
			if (f->name.base[0] == ':')
				return -1; /* not a pseudo-header h2o knows: its protocol error */
			sc->names++;
			sc->bytes += f->name_copy ? f->name.len + 1 : 0;
		} else if ((ti = (size_t)(f->tok - h2o__tokens)) < PSEUDO_TOKENS) {
			int bit = pseudo_bits[ti];

			if (!bit || !pseudo_ok || (seen & bit))
				return -1; /* :status, trailers, after a field, twice */
			seen |= bit;
			f->kind = PSEUDO;
			f->pseudo = (uint8_t)bit;
			continue;
		}
		/* a pseudo-header after the first regular field is libh2o's protocol error */
		pseudo_ok = 0;
		f->kind = REGULAR;
		if (f->tok == H2O_TOKEN_CONTENT_LENGTH) {
			if ((sc->cl = h2o_strtosize(f->value.base, f->value.len)) == SIZE_MAX)
				return -1;
			f->kind = CONTENT_LENGTH;
			continue;
		}
		if (f->tok && (f->tok->http2_should_reject || f->tok == H2O_TOKEN_CACHE_DIGEST))
			return -1;
		sc->regular++;
	}
	return n;
}

static inline char *put_copy(char *dst, h2o_iovec_t *s)
{
	gw_copy_bytes((uint8_t *)dst, s->base, s->len);
	dst[s->len] = '\0';
	s->base = dst;
	return dst + s->len + 1;
}

/* Store n scanned fields into req as libh2o does. The strings still in the table, in
 * the connection's input buffer or in the scratch space are copied into the pool first,
 * with one allocation. */
static void apply(h2o_req_t *req, field_t *f, int n, const scan_t *sc, int *pseudo_map)
{
	h2o_iovec_t *iov = NULL;
	char *dst = NULL;
	int i;

	if (sc->names + sc->bytes) {
		iov = h2o_mem_alloc_pool(&req->pool, sc->names * sizeof(*iov) + sc->bytes);
		dst = (char *)(iov + sc->names);
	}
	if (sc->regular)
		h2o_vector_reserve(&req->pool, &req->headers, req->headers.size + sc->regular);
	for (i = 0; i < n; i++, f++) {
		h2o_header_t *slot;

		if (f->value_copy)
			dst = put_copy(dst, &f->value);
		if (f->kind == PSEUDO) {
			*pseudo_map |= f->pseudo;
			switch (f->pseudo) {
			case GW_HPACKDEC_PATH:
				req->input.path = f->value;
				break;
			case GW_HPACKDEC_METHOD:
				req->input.method = f->value;
				break;
			case GW_HPACKDEC_AUTHORITY:
				req->input.authority = f->value;
				break;
			default:
				req->input.scheme =
					f->value.len == 5 && !memcmp(f->value.base, "https", 5)
						? &H2O_URL_SCHEME_HTTPS
						: &H2O_URL_SCHEME_HTTP;
			}
			continue;
		}
		if (f->kind != REGULAR)
			continue; /* content-length: only its value, as libh2o */
		slot = req->headers.entries + req->headers.size++;
		if (f->tok) {
			slot->name = (h2o_iovec_t *)&f->tok->buf;
		} else {
			if (f->name_copy)
				dst = put_copy(dst, &f->name);
			*iov = f->name;
			slot->name = iov++;
		}
		slot->orig_name = NULL;
		slot->value = f->value;
	}
}

int gw_hpackdec_fast(h2o_req_t *req, const h2o_hpack_header_table_t *t, const uint8_t *src,
		     size_t len, int *pseudo_map, size_t *content_length)
{
	field_t f[GW_HPACKDEC_MAX_FIELDS];
	scan_t sc;
	int n;

	if (!fast_ok)
		return 1;
	sc.names = sc.bytes = sc.regular = sc.used = 0;
	sc.cl = SIZE_MAX;
	n = scan(req, t, src, len, pseudo_map != NULL, f, &sc);
	if (n < 0)
		return 1;
	apply(req, f, n, &sc, pseudo_map ? pseudo_map : &(int){ 0 });
	*content_length = sc.cl;
	return 0;
}

int h2o_hpack_parse_headers(h2o_req_t *req, h2o_hpack_header_table_t *header_table,
			    const uint8_t *src, size_t len, int *pseudo_header_exists_map,
			    size_t *content_length, struct st_h2o_cache_digests_t **digests,
			    const char **err_desc)
{
	if (!gw_hpackdec_fast(req, header_table, src, len, pseudo_header_exists_map,
			      content_length))
		return 0;
	if (!h2o_parse) {
		/* cannot happen while libh2o is linked; refuse rather than guess */
		fprintf(stderr, "floodgate: libh2o's h2o_hpack_parse_headers not found\n");
		abort();
	}
	return h2o_parse(req, header_table, src, len, pseudo_header_exists_map, content_length,
			 digests, err_desc);
}

int gw_hpackdec_bound(void)
{
	return h2o_parse && fast_ok &&
	       dlsym(RTLD_DEFAULT, "h2o_hpack_parse_headers") == (void *)h2o_hpack_parse_headers;
}

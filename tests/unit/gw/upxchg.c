/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/upxchg.c's pure parts, the rules the proxy and the background
 * fetch share: Connection tokens, reading the final response head (1xx skipped, 101 and
 * oversized heads refused), which response fields are dropped, keep-alive, the body's
 * framing, and the body accounting (Content-Length cut, chunked decoding).
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "gw/upxchg.h"

static void tokens(void **state)
{
	static const char v[] = " keep-alive ,\tX-Foo\t, , close";

	assert_true(gw_upxchg_has_token(v, sizeof(v) - 1, "keep-alive", 10));
	assert_true(gw_upxchg_has_token(v, sizeof(v) - 1, "x-foo", 5)); /* any case */
	assert_true(gw_upxchg_has_token(v, sizeof(v) - 1, "CLOSE", 5));
	assert_false(gw_upxchg_has_token(v, sizeof(v) - 1, "keep", 4)); /* whole elements only */
	assert_false(gw_upxchg_has_token(v, sizeof(v) - 1, "foo", 3));
	assert_false(gw_upxchg_has_token("", 0, "close", 5));
	/* the length bounds the value, not a NUL */
	assert_false(gw_upxchg_has_token("closed", 5, "closed", 6));
	assert_true(gw_upxchg_has_token("closed", 5, "close", 5));
}

static h2o_buffer_t *buffer_of(const char *s)
{
	h2o_buffer_t *b;
	size_t len = strlen(s);

	h2o_buffer_init(&b, &h2o_socket_buffer_prototype);
	if (len) {
		h2o_iovec_t r = h2o_buffer_reserve(&b, len);

		memcpy(r.base, s, len);
		b->size += len;
	}
	return b;
}

static void read_head(void **state)
{
	static const char two[] = "HTTP/1.1 100 Continue\r\n\r\n"
				  "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
				  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	gw_upstream_head_t *h = malloc(sizeof(*h));
	h2o_buffer_t *b;
	ssize_t n;

	assert_non_null(h);
	/* 1xx heads consumed, the final one's length returned and left in the buffer */
	b = buffer_of(two);
	n = gw_upxchg_read_head(&b, h);
	assert_int_equal(n, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"));
	assert_int_equal(h->status, 200);
	assert_int_equal(b->size, (size_t)n + 2);
	assert_memory_equal(b->bytes, "HTTP/1.1 200", 12);
	h2o_buffer_dispose(&b);

	/* incomplete: more needed, nothing consumed but complete 1xx heads */
	b = buffer_of("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX: y\r\n");
	assert_int_equal(gw_upxchg_read_head(&b, h), 0);
	assert_memory_equal(b->bytes, "HTTP/1.1 200", 12);
	h2o_buffer_dispose(&b);
	b = buffer_of("");
	assert_int_equal(gw_upxchg_read_head(&b, h), 0);
	h2o_buffer_dispose(&b);

	/* 101: no protocol switch through the proxy */
	b = buffer_of("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	assert_int_equal(gw_upxchg_read_head(&b, h), -1);
	h2o_buffer_dispose(&b);

	/* malformed */
	b = buffer_of("HTTX/1.1 200 OK\r\n\r\n");
	assert_int_equal(gw_upxchg_read_head(&b, h), -1);
	h2o_buffer_dispose(&b);

	/* a head that does not end within GW_UPXCHG_HEAD_MAX; exactly at it, still waiting */
	{
		size_t len = GW_UPXCHG_HEAD_MAX;
		char *big = malloc(len + 2);
		const char *start = "HTTP/1.1 200 OK\r\nX-Big: ";

		assert_non_null(big);
		memset(big, 'a', len + 1);
		memcpy(big, start, strlen(start));
		big[len] = '\0';
		b = buffer_of(big);
		assert_int_equal(gw_upxchg_read_head(&b, h), 0);
		h2o_buffer_dispose(&b);
		big[len] = 'a';
		big[len + 1] = '\0';
		b = buffer_of(big);
		assert_int_equal(gw_upxchg_read_head(&b, h), -1);
		h2o_buffer_dispose(&b);
		free(big);
	}
	free(h);
}

/* Parse s, take its head into a fresh header list; the result of take_head. */
static int take(const char *s, bool is_head, gw_upxchg_t *x, h2o_mem_pool_t *pool,
		h2o_headers_t *out, size_t *cl)
{
	gw_upstream_head_t *h = malloc(sizeof(*h));
	int r;

	assert_non_null(h);
	assert_true(gw_upstream_parse_head(s, strlen(s), h) > 0);
	memset(x, 0, sizeof(*x));
	memset(out, 0, sizeof(*out));
	r = gw_upxchg_take_head(x, h, is_head, pool, out, cl);
	free(h);
	return r;
}

static bool has_field(const h2o_headers_t *out, const char *name)
{
	for (size_t i = 0; i < out->size; i++)
		if (h2o_memis(out->entries[i].name->base, out->entries[i].name->len, name,
			      strlen(name)))
			return true;
	return false;
}

static void dropped_fields(void **state)
{
	h2o_mem_pool_t pool;
	h2o_headers_t out;
	gw_upxchg_t x;
	size_t cl;

	h2o_mem_init_pool(&pool);
	assert_int_equal(take("HTTP/1.1 200 OK\r\n"
			      "Connection: X-Hop, keep-alive\r\n"
			      "Keep-Alive: timeout=5\r\n"
			      "Content-Length: 3\r\n"
			      "Server: upstream/1.0\r\n"
			      "X-Hop: 1\r\n"
			      "Upgrade: h2c\r\n"
			      "Proxy-Authenticate: Basic\r\n"
			      "Content-Type: text/plain\r\n"
			      "X-Keep: 2\r\n"
			      "Set-Cookie: a=1\r\n"
			      "Set-Cookie: b=2\r\n\r\n",
			      false, &x, &pool, &out, &cl),
			 0);
	assert_int_equal(cl, 3);
	assert_false(has_field(&out, "connection"));
	assert_false(has_field(&out, "keep-alive"));
	assert_false(has_field(&out, "content-length")); /* h2o writes its own framing */
	assert_false(has_field(&out, "server"));
	assert_false(has_field(&out, "x-hop")); /* named by Connection */
	assert_false(has_field(&out, "upgrade"));
	assert_true(has_field(&out, "content-type"));
	assert_true(has_field(&out, "x-keep"));
	assert_true(has_field(&out, "proxy-authenticate")); /* end to end in a response */
	assert_int_equal(out.size, 5);			    /* both Set-Cookie kept */
	/* the original spelling of a name is kept beside its lower-case form (of the name's
	 * length: h2o and the cache read name->len bytes of it), and the value as it came */
	for (size_t i = 0; i < out.size; i++)
		if (h2o_memis(out.entries[i].name->base, out.entries[i].name->len,
			      H2O_STRLIT("x-keep"))) {
			assert_memory_equal(out.entries[i].orig_name, "X-Keep", 6);
			assert_true(h2o_memis(out.entries[i].value.base, out.entries[i].value.len,
					      H2O_STRLIT("2")));
		}
	h2o_mem_clear_pool(&pool);
}

static void keepalive_and_framing(void **state)
{
	static const struct {
		const char *head;
		bool is_head;
		int r;
		enum gw_upxchg_body body;
		size_t cl;
		unsigned keepalive;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 0, GW_UPXCHG_BODY_LENGTH,
		  5, 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", false, 0,
		  GW_UPXCHG_BODY_LENGTH, 5, 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", false, -1, 0,
		  0, 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", false, -1, 0, 0, 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 0, GW_UPXCHG_BODY_NONE, 0,
		  1 },
		{ "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false, 0,
		  GW_UPXCHG_BODY_LENGTH, 1, 0 },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, 0, GW_UPXCHG_BODY_LENGTH,
		  1, 0 },
		{ "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", false,
		  0, GW_UPXCHG_BODY_LENGTH, 1, 1 },
		/* chunked wins over Content-Length, which is then unknown */
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
		  false, 0, GW_UPXCHG_BODY_CHUNKED, SIZE_MAX, 1 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", false, 0,
		  GW_UPXCHG_BODY_CHUNKED, SIZE_MAX, 1 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, -1, 0, 0,
		  0 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
		  "\r\n",
		  false, -1, 0, 0, 0 },
		/* no framing: until the connection closes, never reused */
		{ "HTTP/1.1 200 OK\r\n\r\n", false, 0, GW_UPXCHG_BODY_CLOSE, SIZE_MAX, 0 },
		/* no body whatever the fields say; the Content-Length is still reported */
		{ "HTTP/1.1 204 No Content\r\n\r\n", false, 0, GW_UPXCHG_BODY_NONE, SIZE_MAX, 1 },
		{ "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", false, 0,
		  GW_UPXCHG_BODY_NONE, 7, 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", true, 0, GW_UPXCHG_BODY_NONE, 7,
		  1 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, 0,
		  GW_UPXCHG_BODY_NONE, SIZE_MAX, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h2o_mem_pool_t pool;
		h2o_headers_t out;
		gw_upxchg_t x;
		size_t cl;
		int r;

		h2o_mem_init_pool(&pool);
		r = take(cases[i].head, cases[i].is_head, &x, &pool, &out, &cl);
		print_message("# case %zu\n", i);
		assert_int_equal(r, cases[i].r);
		if (!r) {
			assert_int_equal(x.body, cases[i].body);
			assert_int_equal(cl, cases[i].cl);
			assert_int_equal(x.keepalive, cases[i].keepalive);
			if (x.body == GW_UPXCHG_BODY_LENGTH)
				assert_int_equal(x.left, cl);
		}
		h2o_mem_clear_pool(&pool);
	}
}

static void body(void **state)
{
	gw_upxchg_t x = { 0 };
	char buf[64];
	size_t len;

	/* Content-Length: counted down, what comes after is cut and spoils the connection */
	x.body = GW_UPXCHG_BODY_LENGTH;
	x.left = 5;
	x.keepalive = 1;
	memcpy(buf, "abc", 3);
	len = 3;
	assert_int_equal(gw_upxchg_body(&x, buf, &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(x.left, 2);
	len = 4;
	assert_int_equal(gw_upxchg_body(&x, buf, &len), 1);
	assert_int_equal(len, 2);
	assert_int_equal(x.keepalive, 0);

	/* chunked, decoded in place; bytes after the end spoil the connection */
	memset(&x, 0, sizeof(x));
	x.body = GW_UPXCHG_BODY_CHUNKED;
	x.keepalive = 1;
	strcpy(buf, "3\r\nabc\r\n0\r\n\r\n");
	len = strlen(buf);
	assert_int_equal(gw_upxchg_body(&x, buf, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(x.keepalive, 1);
	memset(&x, 0, sizeof(x));
	x.body = GW_UPXCHG_BODY_CHUNKED;
	x.keepalive = 1;
	strcpy(buf, "1\r\na\r\n0\r\n\r\nHTTP");
	len = strlen(buf);
	assert_int_equal(gw_upxchg_body(&x, buf, &len), 1);
	assert_int_equal(len, 1);
	assert_int_equal(x.keepalive, 0);
	memset(&x, 0, sizeof(x));
	x.body = GW_UPXCHG_BODY_CHUNKED;
	strcpy(buf, "zz\r\n");
	len = strlen(buf);
	assert_int_equal(gw_upxchg_body(&x, buf, &len), -1);

	/* until close: everything is body, never complete by itself */
	memset(&x, 0, sizeof(x));
	x.body = GW_UPXCHG_BODY_CLOSE;
	len = 10;
	assert_int_equal(gw_upxchg_body(&x, buf, &len), 0);
	assert_int_equal(len, 10);
}

/* A redial replaces the dead connection; the attempt stays counted on its server. */
static void redial_keeps_the_attempt(void **state)
{
	gw_upxchg_t x;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.active = 1;
	gw_upxchg_redial(&x);
	assert_int_equal(x.active, 1);
	assert_int_equal(x.retried, 1);
	assert_null(x.conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens),	  cmocka_unit_test(read_head),
		cmocka_unit_test(dropped_fields), cmocka_unit_test(keepalive_and_framing),
		cmocka_unit_test(body),		  cmocka_unit_test(redial_keeps_the_attempt),
	};
	return FG_RUN_TESTS(tests);
}

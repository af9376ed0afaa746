/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/upstream.c's parsers: response heads (valid, partial,
 * malformed) and the chunked decoder fed whole, byte by byte, and with bad input.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "gw/upstream.h"

static void heads(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \r\n"
				 "Set-Cookie: x=1\r\n\r\nhello";
	gw_upstream_head_t h;
	ssize_t n;

	n = gw_upstream_parse_head(ok, sizeof(ok) - 1, &h);
	assert_int_equal(n, sizeof(ok) - 1 - 5);
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.reason_len, 2);
	assert_int_equal(h.nheaders, 3);
	assert_int_equal(h.headers[1].name_len, 3);
	assert_memory_equal(h.headers[1].value, "b c", 3); /* OWS trimmed both sides */
	assert_int_equal(h.headers[1].value_len, 3);
	/* every prefix is incomplete, not an error */
	for (size_t len = 0; len < (size_t)n; len++)
		assert_int_equal(gw_upstream_parse_head(ok, len, &h), 0);
	/* bare LF line ends, no reason phrase, HTTP/1.0 */
	assert_int_equal(gw_upstream_parse_head("HTTP/1.0 204\nA: 1\n\n", 19, &h), 19);
	assert_int_equal(h.status, 204);
	assert_int_equal(h.minor, 0);
	assert_int_equal(h.reason_len, 0);
}

/* Every byte in a field name: accepted exactly when RFC 9110 calls it a tchar. */
static void name_bytes(void **state)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	gw_upstream_head_t h;

	for (int c = 0; c < 256; c++) {
		char head[64];
		int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nX%cY: v\r\n\r\n",
				 c ? c : '?');
		bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || (c && memchr(extra, c, sizeof(extra) - 1));

		head[18] = (char)c; /* the byte between X and Y, NUL included */
		if (c == '\n' || c == ':')
			continue; /* they end the line or the name: not a byte of it */
		assert_true(n > 0);
		if (tchar)
			assert_int_equal(gw_upstream_parse_head(head, (size_t)n, &h), n);
		else
			assert_int_equal(gw_upstream_parse_head(head, (size_t)n, &h), -1);
	}
}

/* Every byte at every place of a field value (in and out of an eight-byte word): refused
 * exactly when it is a control byte other than HTAB (CR and LF end the line: skipped). */
static void value_bytes(void **state)
{
	gw_upstream_head_t h;

	for (int c = 0; c < 256; c++) {
		if (c == '\r' || c == '\n')
			continue;
		for (int at = 0; at < 19; at++) {
			char head[80];
			int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nX: a%.*sz\r\n\r\n",
					 19, "bcdefghijklmnopqrst");
			/* the value starts at 20 ("a"), then 19 letters, "z" */
			bool bad = (c < 0x20 && c != '\t') || c == 0x7f;

			head[21 + at] = (char)c;
			assert_int_equal(gw_upstream_parse_head(head, (size_t)n, &h), bad ? -1 : n);
		}
	}
}

static void bad_heads(void **state)
{
	gw_upstream_head_t h;
	const char *bad[] = {
		"THIS IS NOT HTTP\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 600 No\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: \x01\r\n\r\n",
		"GARBAGE",
		/* control bytes in the reason, which goes into the client's status line (a
		 * bare CR would split it), and DEL in a value (found by tests/fuzz/upstream.c) */
		"HTTP/1.1 200 OK\rX-Injected: 1\r\n\r\n",
		"HTTP/1.1 404 Not\x01Found\r\n\r\n",
		"HTTP/1.1 200 OK\x7f\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gw_upstream_parse_head(bad[i], strlen(bad[i]), &h) != -1) {
			print_message("# accepted: %s\n", bad[i]);
			fail();
		}
	}
	{
		/* more fields than GW_UPSTREAM_HEADERS_MAX */
		size_t cap = 32 + 8 * (GW_UPSTREAM_HEADERS_MAX + 1) + 4, len = 0;
		char *b = malloc(cap);

		len += (size_t)sprintf(b, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i <= GW_UPSTREAM_HEADERS_MAX; i++)
			len += (size_t)sprintf(b + len, "A: 1\r\n");
		len += (size_t)sprintf(b + len, "\r\n");
		assert_int_equal(gw_upstream_parse_head(b, len, &h), -1);
		free(b);
	}
}

static const char chunked_body[] = "5\r\nhello\r\n"
				   "1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n"
				   "0\r\nTrailer: x\r\n\r\n";

static void chunked_whole(void **state)
{
	char buf[256];
	size_t len = sizeof(chunked_body) - 1, extra;
	gw_chunked_t d = { 0 };

	memcpy(buf, chunked_body, len);
	memcpy(buf + len, "NEXT", 4);
	len += 4;
	assert_int_equal(gw_chunked_decode(&d, buf, &len, &extra), 1);
	assert_int_equal(len, 31);
	assert_memory_equal(buf, "helloabcdefghijklmnopqrstuvwxyz", 31);
	assert_int_equal(extra, 4);
}

static void chunked_bytewise(void **state)
{
	gw_chunked_t d = { 0 };
	char out[64];
	size_t o = 0, extra;
	int r = 0;

	for (size_t i = 0; i < sizeof(chunked_body) - 1; i++) {
		char b = chunked_body[i];
		size_t len = 1;

		assert_int_equal(r, 0);
		r = gw_chunked_decode(&d, &b, &len, &extra);
		assert_true(r >= 0);
		if (len)
			out[o++] = b;
	}
	assert_int_equal(r, 1);
	assert_int_equal(o, 31);
	assert_memory_equal(out, "helloabcdefghijklmnopqrstuvwxyz", 31);
}

static void chunked_bad(void **state)
{
	const char *bad[] = {
		"x\r\n",		 /* not a size */
		"5\r\nhelloX\r\n",	 /* no CRLF after the data */
		"1234567890abcdef0\r\n", /* size overflows */
		"5\rX",			 /* CR without LF */
		"0\r\n\rX",		 /* final CR without LF */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[64];
		size_t len = strlen(bad[i]), extra;
		gw_chunked_t d = { 0 };

		memcpy(buf, bad[i], len);
		if (gw_chunked_decode(&d, buf, &len, &extra) != -1) {
			print_message("# accepted: %s\n", bad[i]);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heads),	 cmocka_unit_test(name_bytes),
		cmocka_unit_test(value_bytes),	 cmocka_unit_test(bad_heads),
		cmocka_unit_test(chunked_whole), cmocka_unit_test(chunked_bytewise),
		cmocka_unit_test(chunked_bad),
	};
	return FG_RUN_TESTS(tests);
}

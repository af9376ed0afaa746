/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/framing.[ch]: the framing fields of a raw HTTP/1.x head, and
 * which counts a request may have per version.
 */
#include <string.h>

#include "unit.h"

#include "gw/framing.h"

static gw_framing_t scan(const char *head)
{
	gw_framing_t f = { 0 };

	gw_framing_scan(head, strlen(head), &f);
	return f;
}

/* The counts scan() finds in head: Host, Content-Length, Transfer-Encoding. */
static void counts(const char *head, unsigned host, unsigned cl, unsigned te)
{
	gw_framing_t f = scan(head);

	assert_int_equal(f.host, host);
	assert_int_equal(f.content_length, cl);
	assert_int_equal(f.transfer_encoding, te);
}

static void scan_counts(void **state)
{
	counts("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 1, 1, 0);
	/* any case, bare LF, two of each */
	counts("POST /a HTTP/1.1\nHOST: x\ncontent-LENGTH: 3\nContent-Length: 30\n"
	       "transfer-encoding: chunked\nhost: y\n\n",
	       2, 2, 1);
	/* the body and what follows the head are not fields */
	counts("POST /a HTTP/1.1\r\nHost: x\r\n\r\nContent-Length: 3\r\nHost: y\r\n\r\n", 1, 0, 0);
	/* names that only start alike, values that mention them, no colon */
	counts("GET / HTTP/1.1\r\nHosts: x\r\nX-Host: y\r\nContent-Lengths: 1\r\n"
	       "X: content-length: 2\r\nHost\r\nTransfer-Encoding-X: z\r\n\r\n",
	       0, 0, 0);
	/* cut heads: no request line end, a last line without its end */
	counts("GET / HTTP/1.1", 0, 0, 0);
	counts("GET / HTTP/1.1\r\nHost: x", 1, 0, 0);
	counts("", 0, 0, 0);
	/* one empty line before the request line is skipped, as h2o's parser does; the
	 * request line was then counted as a field (found by tests/fuzz/framing.c) */
	counts("\nhost:c / HTTP/1.0\nhost: x\n\n", 1, 0, 0);
	counts("\r\ncontent-length:5 / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 0, 0);
}

static void ok_per_version(void **state)
{
	gw_framing_t f = { .host = 1 };

	assert_true(gw_framing_ok(0x101, &f));
	f.content_length = 1;
	assert_true(gw_framing_ok(0x101, &f));
	f.content_length = 2;
	assert_false(gw_framing_ok(0x101, &f)); /* two lengths */
	f.content_length = 1;
	f.transfer_encoding = 1;
	assert_false(gw_framing_ok(0x101, &f)); /* both kinds */
	f.content_length = 0;
	assert_true(gw_framing_ok(0x101, &f));
	assert_false(gw_framing_ok(0x100, &f)); /* no transfer codings in HTTP/1.0 */
	f.transfer_encoding = 2;
	assert_false(gw_framing_ok(0x101, &f));
	f.transfer_encoding = 0;
	f.host = 0;
	assert_false(gw_framing_ok(0x101, &f)); /* HTTP/1.1 needs its Host */
	assert_true(gw_framing_ok(0x100, &f));	/* HTTP/1.0 does not */
	f.host = 2;
	assert_false(gw_framing_ok(0x101, &f));
	assert_false(gw_framing_ok(0x100, &f));
	/* HTTP/2: only fields without a name count */
	f = (gw_framing_t){ .content_length = 2, .transfer_encoding = 1 };
	assert_true(gw_framing_ok(0x200, &f));
	f.nameless = 1;
	assert_false(gw_framing_ok(0x200, &f));
	f = (gw_framing_t){ .host = 1, .nameless = 1 };
	assert_false(gw_framing_ok(0x101, &f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scan_counts),
		cmocka_unit_test(ok_per_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

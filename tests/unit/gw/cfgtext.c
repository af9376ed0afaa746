/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cfgtext.c: what is escaped in a config message (C0, DEL,
 * C1, line separators, bidi overrides, bytes that are not UTF-8), what is kept, and how a
 * message that does not fit is cut.
 */
#include "unit.h"

#include <string.h>

#include "gw/cfgtext.h"

static void escapes(void **state)
{
	char out[128];

	assert_string_equal(gw_cfgtext_escape(out, sizeof(out), "plain /v1 caf\xc3\xa9 \\n"),
			    "plain /v1 caf\xc3\xa9 \\n");
	assert_string_equal(gw_cfgtext_escape(out, sizeof(out), "a\nt.json:1:1: forged"),
			    "a\\nt.json:1:1: forged");
	assert_string_equal(gw_cfgtext_escape(out, sizeof(out), "\t\r\x01\x1b[2J\x7f"),
			    "\\t\\r\\x01\\x1b[2J\\x7f");
	/* C1 NEL, LINE SEPARATOR, RIGHT-TO-LEFT OVERRIDE, FIRST STRONG ISOLATE */
	assert_string_equal(gw_cfgtext_escape(out, sizeof(out),
					      "\xc2\x85|\xe2\x80\xa8|\xe2\x80\xae|\xe2\x81\xa8"),
			    "\\u0085|\\u2028|\\u202e|\\u2068");
	/* not UTF-8: a lone continuation byte, a cut sequence, an overlong '/', a surrogate */
	assert_string_equal(
		gw_cfgtext_escape(out, sizeof(out), "\x80|\xe2\x80|\xc0\xaf|\xed\xa0\x80"),
		"\\x80|\\xe2\\x80|\\xc0\\xaf|\\xed\\xa0\\x80");
	assert_true(gw_cfgtext_has_control("x\ny"));
	assert_true(gw_cfgtext_has_control("\xe2\x80\xa9"));
	assert_true(gw_cfgtext_has_control("\xff"));
	assert_false(gw_cfgtext_has_control("/health?x=1 \xe2\x82\xac"));
	assert_false(gw_cfgtext_has_control(""));
}

static void cut_to_fit(void **state)
{
	char out[8], buf[16];

	/* fits exactly: no ellipsis */
	assert_string_equal(gw_cfgtext_escape(out, sizeof(out), "1234567"), "1234567");
	assert_string_equal(gw_cfgtext_escape(out, sizeof(out), "12345678"), "1234...");
	/* an escape is never cut in half */
	assert_string_equal(gw_cfgtext_escape(out, sizeof(out), "123\x01x"), "123...");
	assert_string_equal(gw_cfgtext_escape(out, 3, "12345"), "12");
	strcpy(buf, "ab\ncd\nef\ngh");
	gw_cfgtext_escape_inplace(buf, 14);
	assert_string_equal(buf, "ab\\ncd\\nef...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes),
		cmocka_unit_test(cut_to_fit),
	};
	return FG_RUN_TESTS(tests);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/banorigin.c: the "HOST@LISTENER" id of the node that decided a
 * ban, made from a hostname and a listener address, and which ids are accepted from a
 * store or another node.
 */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "gw/ban.h"
#include "gw/banorigin.h"

static void make_host_listener(void **state)
{
	char o[GW_BAN_ORIGIN_MAX];

	assert_int_equal(gw_banorigin_make("gw-a", "198.18.0.1:8080", o, sizeof(o)), 0);
	assert_string_equal(o, "gw-a@198.18.0.1:8080");
	assert_true(gw_banorigin_valid(o));
	assert_int_equal(gw_banorigin_make("gw-a", "[2001:2::1]:8443", o, sizeof(o)), 0);
	assert_string_equal(o, "gw-a@[2001:2::1]:8443");
	assert_true(gw_banorigin_valid(o));
	/* no listener: the host alone */
	assert_int_equal(gw_banorigin_make("gw-a", NULL, o, sizeof(o)), 0);
	assert_string_equal(o, "gw-a");
	assert_int_equal(gw_banorigin_make("gw-a", "", o, sizeof(o)), 0);
	assert_string_equal(o, "gw-a");
	/* an empty hostname */
	assert_int_equal(gw_banorigin_make("", "198.18.0.1:80", o, sizeof(o)), 0);
	assert_string_equal(o, "localhost@198.18.0.1:80");
}

static void make_sanitises_and_truncates(void **state)
{
	char o[GW_BAN_ORIGIN_MAX], small[12];
	char longhost[200];

	/* characters that would need quoting become '-'; in the host also the separators */
	assert_int_equal(gw_banorigin_make("a b\"c:d@e[f]", "198.18.0.1:9 x@", o, sizeof(o)), 0);
	assert_string_equal(o, "a-b-c-d-e-f-@198.18.0.1:9-x-");
	assert_true(gw_banorigin_valid(o));
	/* a long host gives way to the listener */
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_int_equal(gw_banorigin_make(longhost, "198.18.0.1:18080", o, sizeof(o)), 0);
	assert_int_equal(strlen(o), GW_BAN_ORIGIN_MAX - 1);
	assert_string_equal(o + strlen(o) - 17, "@198.18.0.1:18080");
	assert_true(gw_banorigin_valid(o));
	assert_int_equal(gw_banorigin_make("host", "1.2.3.4:5", small, sizeof(small)), 0);
	assert_string_equal(small, "h@1.2.3.4:5");
	/* no room for the listener with a host: the host alone */
	assert_int_equal(gw_banorigin_make("host", "198.18.0.1:18080", small, sizeof(small)), 0);
	assert_string_equal(small, "host");
	assert_int_equal(gw_banorigin_make("host", NULL, small, 1), -EINVAL);
}

static void valid(void **state)
{
	char too_long[GW_BAN_ORIGIN_MAX + 1];

	assert_true(gw_banorigin_valid("gw-a.example_1@[2001:2::1]:8080"));
	assert_false(gw_banorigin_valid(NULL));
	assert_false(gw_banorigin_valid(""));
	assert_false(gw_banorigin_valid("a b"));
	assert_false(gw_banorigin_valid("a\"b"));
	assert_false(gw_banorigin_valid("a\\b"));
	assert_false(gw_banorigin_valid("a\nb"));
	memset(too_long, 'x', GW_BAN_ORIGIN_MAX);
	too_long[GW_BAN_ORIGIN_MAX] = '\0';
	assert_false(gw_banorigin_valid(too_long));
	too_long[GW_BAN_ORIGIN_MAX - 1] = '\0';
	assert_true(gw_banorigin_valid(too_long));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(make_host_listener),
		cmocka_unit_test(make_sanitises_and_truncates),
		cmocka_unit_test(valid),
	};

	return FG_RUN_TESTS(tests);
}

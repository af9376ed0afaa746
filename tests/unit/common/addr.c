/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/common/addr.c: CIDR parsing (every rejection says why),
 * formatting round trips, containment, socket addresses and the map key forms.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"

static void parse_ok(const char *in, int family, unsigned len, const char *out)
{
	struct fg_cidr c;
	const char *why = NULL;
	char buf[FG_CIDR_STRLEN];

	if (fg_cidr_parse(in, &c, &why)) {
		print_message("# '%s' rejected: %s\n", in, why);
		fail();
	}
	assert_int_equal(c.family, family);
	assert_int_equal(c.prefixlen, len);
	assert_string_equal(fg_cidr_format(&c, buf, sizeof(buf)), out);
}

static void parse_bad(const char *in, const char *why_part)
{
	struct fg_cidr c = { .family = 99 };
	const char *why = NULL;

	assert_int_equal(fg_cidr_parse(in, &c, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, why_part)) {
		print_message("# '%s': got '%s', expected to contain '%s'\n", in, why, why_part);
		fail();
	}
	assert_int_equal(c.family, 99); /* untouched */
}

static void parses_ipv4(void **state)
{
	parse_ok("198.18.0.1", AF_INET, 32, "198.18.0.1");
	parse_ok("198.18.0.1/32", AF_INET, 32, "198.18.0.1");
	parse_ok("198.18.0.0/15", AF_INET, 15, "198.18.0.0/15");
	parse_ok("0.0.0.0/0", AF_INET, 0, "0.0.0.0/0");
	parse_ok("198.19.255.128/25", AF_INET, 25, "198.19.255.128/25");
}

static void parses_ipv6(void **state)
{
	parse_ok("2001:2::1", AF_INET6, 128, "2001:2::1");
	parse_ok("2001:2::/48", AF_INET6, 48, "2001:2::/48");
	parse_ok("2001:0002:0000:0000:0000:0000:0000:0000/48", AF_INET6, 48, "2001:2::/48");
	parse_ok("::/0", AF_INET6, 0, "::/0");
	parse_ok("2001:2:0:1::/64", AF_INET6, 64, "2001:2:0:1::/64");
}

static void folds_v4_mapped(void **state)
{
	parse_ok("::ffff:198.18.0.1", AF_INET, 32, "198.18.0.1");
	parse_ok("::ffff:198.18.0.0/111", AF_INET, 15, "198.18.0.0/15");
	/* Shorter than /96 covers more than IPv4: stays IPv6. */
	parse_ok("::fffe:0:0/95", AF_INET6, 95, "::fffe:0:0/95");
}

static void rejects_with_reason(void **state)
{
	parse_bad("", "empty");
	parse_bad("198.18.0.1/33", "over 32");
	parse_bad("2001:2::/129", "over 128");
	parse_bad("198.18.0.1/24", "bits set beyond");
	parse_bad("2001:2::1/48", "bits set beyond");
	parse_bad("198.18.0.256", "not an IPv4 or IPv6 address");
	parse_bad("198.18.0", "not an IPv4 or IPv6 address");
	parse_bad("010.1.1.1", "not an IPv4 or IPv6 address"); /* no octal surprises */
	parse_bad(" 198.18.0.1", "not an IPv4 or IPv6 address");
	parse_bad("198.18.0.1 ", "not an IPv4 or IPv6 address");
	parse_bad("198.18.0.0/", "not a number");
	parse_bad("198.18.0.0/-1", "not a number");
	parse_bad("198.18.0.0/+8", "not a number");
	parse_bad("198.18.0.0/0x10", "not a number");
	parse_bad("198.18.0.0/0008", "not a number");
	parse_bad("198.18.0.0/8/8", "not a number");
	parse_bad("2001:2:::1", "not an IPv6 address");
	parse_bad("example.com", "not an IPv4 or IPv6 address");
	parse_bad("2001:2::/48 ", "not a number");
}

static void rejects_overlong(void **state)
{
	char big[200];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_bad(big, "too long");
}

static void addr_parse_refuses_prefix(void **state)
{
	struct fg_cidr c;
	const char *why;

	assert_int_equal(fg_addr_parse("198.18.0.1", &c, &why), 0);
	assert_int_equal(fg_addr_parse("198.18.0.0/24", &c, &why), -EINVAL);
	assert_string_equal(why, "expected an address, not a CIDR");
	assert_int_equal(fg_addr_parse(NULL, &c, &why), -EINVAL);
}

static void format_full_and_host(void **state)
{
	struct fg_cidr c;
	char buf[FG_CIDR_STRLEN];

	fg_cidr_parse("2001:2:0:ffff:ffff:ffff:ffff:ffff", &c, NULL);
	assert_string_equal(fg_cidr_format_full(&c, buf, sizeof(buf)),
			    "2001:2:0:ffff:ffff:ffff:ffff:ffff/128");
	assert_true(strlen(buf) < FG_CIDR_STRLEN);
	assert_true(fg_cidr_is_host(&c));
}

static void contains(void **state)
{
	struct fg_cidr net, a;

	fg_cidr_parse("198.18.0.0/15", &net, NULL);
	fg_cidr_parse("198.19.1.2", &a, NULL);
	assert_true(fg_cidr_contains(&net, &a));
	fg_cidr_parse("198.20.0.1", &a, NULL);
	assert_false(fg_cidr_contains(&net, &a));
	fg_cidr_parse("2001:2::1", &a, NULL);
	assert_false(fg_cidr_contains(&net, &a)); /* other family */
	fg_cidr_parse("2001:2::/48", &net, NULL);
	assert_true(fg_cidr_contains(&net, &a));
	fg_cidr_parse("0.0.0.0/0", &net, NULL);
	fg_cidr_parse("198.51.100.7", &a, NULL);
	assert_true(fg_cidr_contains(&net, &a));
}

static void mask(void **state)
{
	struct fg_cidr c = { .family = AF_INET6, .prefixlen = 64 };
	char buf[FG_CIDR_STRLEN];

	inet_pton(AF_INET6, "2001:2:0:7:1:2:3:4", c.addr);
	fg_cidr_mask(&c);
	assert_string_equal(fg_cidr_format(&c, buf, sizeof(buf)), "2001:2:0:7::/64");
	c.family = AF_INET;
	c.prefixlen = 23;
	inet_pton(AF_INET, "198.18.3.77", c.addr);
	fg_cidr_mask(&c);
	assert_string_equal(fg_cidr_format(&c, buf, sizeof(buf)), "198.18.2.0/23");
}

static void from_sockaddr(void **state)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr sun = { .sa_family = AF_UNIX };
	struct fg_cidr c;
	char buf[FG_CIDR_STRLEN];

	inet_pton(AF_INET, "198.18.5.6", &s4.sin_addr);
	assert_int_equal(fg_cidr_from_sockaddr((struct sockaddr *)&s4, &c), 0);
	assert_string_equal(fg_cidr_format(&c, buf, sizeof(buf)), "198.18.5.6");
	inet_pton(AF_INET6, "::ffff:198.18.5.7", &s6.sin6_addr);
	assert_int_equal(fg_cidr_from_sockaddr((struct sockaddr *)&s6, &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_string_equal(fg_cidr_format(&c, buf, sizeof(buf)), "198.18.5.7");
	inet_pton(AF_INET6, "2001:2::9", &s6.sin6_addr);
	assert_int_equal(fg_cidr_from_sockaddr((struct sockaddr *)&s6, &c), 0);
	assert_string_equal(fg_cidr_format(&c, buf, sizeof(buf)), "2001:2::9");
	assert_int_equal(fg_cidr_from_sockaddr(&sun, &c), -EAFNOSUPPORT);
}

static void key_forms_round_trip(void **state)
{
	struct fg_cidr c, back;
	struct edge_in6 in6;
	struct edge_lpm4 k4;
	struct edge_lpm6 k6;

	fg_cidr_parse("198.18.0.9", &c, NULL);
	fg_cidr_to_in6(&c, &in6);
	assert_int_equal(in6.addr[10], 0xff);
	assert_int_equal(in6.addr[12], 198);
	fg_cidr_from_in6(&in6, &back);
	assert_memory_equal(&c, &back, sizeof(c));

	fg_cidr_parse("2001:2::9", &c, NULL);
	fg_cidr_to_in6(&c, &in6);
	fg_cidr_from_in6(&in6, &back);
	assert_memory_equal(&c, &back, sizeof(c));

	fg_cidr_parse("198.18.0.0/15", &c, NULL);
	fg_cidr_to_lpm4(&c, &k4);
	assert_int_equal(k4.prefixlen, 15);
	fg_cidr_from_lpm4(&k4, &back);
	assert_memory_equal(&c, &back, sizeof(c));

	fg_cidr_parse("2001:2::/48", &c, NULL);
	fg_cidr_to_lpm6(&c, &k6);
	assert_int_equal(k6.prefixlen, 48);
	fg_cidr_from_lpm6(&k6, &back);
	assert_memory_equal(&c, &back, sizeof(c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_ipv4),
		cmocka_unit_test(parses_ipv6),
		cmocka_unit_test(folds_v4_mapped),
		cmocka_unit_test(rejects_with_reason),
		cmocka_unit_test(rejects_overlong),
		cmocka_unit_test(addr_parse_refuses_prefix),
		cmocka_unit_test(format_full_and_host),
		cmocka_unit_test(contains),
		cmocka_unit_test(mask),
		cmocka_unit_test(from_sockaddr),
		cmocka_unit_test(key_forms_round_trip),
	};
	return FG_RUN_TESTS(tests);
}

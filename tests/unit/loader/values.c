/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of loader/values.c: numbers, TTLs and port lists as fgctl reads them, and
 * durations, TTLs and port sets as it prints them.
 */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "fgctl.h"

static void u64(void **state)
{
	uint64_t v = 7;

	assert_int_equal(fgctl_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fgctl_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(fgctl_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(fgctl_parse_u64("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(fgctl_parse_u64("", &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64("+1", &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64("1 ", &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64("0x10", &v), -EINVAL);
	assert_int_equal(fgctl_parse_u64("1e3", &v), -EINVAL);
}

static void ttl_ok(const char *s, uint64_t want)
{
	const char *why = NULL;
	uint64_t v = 0;

	if (fgctl_parse_ttl(s, &v, &why)) {
		print_message("# '%s' rejected: %s\n", s, why);
		fail();
	}
	assert_true(v == want);
}

static void ttl_bad(const char *s, int err, const char *why_part)
{
	const char *why = NULL;
	uint64_t v = 12345;

	assert_int_equal(fgctl_parse_ttl(s, &v, &why), err);
	assert_non_null(why);
	if (!strstr(why, why_part)) {
		print_message("# '%s': '%s' lacks '%s'\n", s, why, why_part);
		fail();
	}
	assert_true(v == 12345); /* untouched */
}

static void ttls(void **state)
{
	ttl_ok("1", 1);
	ttl_ok("90", 90);
	ttl_ok("90s", 90);
	ttl_ok("2m", 120);
	ttl_ok("3h", 10800);
	ttl_ok("7d", 604800);
	ttl_ok("315360000", EDGE_TTL_MAX_S);
	ttl_ok("3650d", EDGE_TTL_MAX_S);
	ttl_ok("0010", 10);
	ttl_bad("315360001", -ERANGE, "maximum of 315360000 seconds");
	ttl_bad("3651d", -ERANGE, "maximum");
	ttl_bad("99999999999999999999999", -ERANGE, "maximum");
	ttl_bad("10000000000000000000d", -ERANGE, "maximum");
	ttl_bad("0", -EINVAL, "at least 1 second");
	ttl_bad("0d", -EINVAL, "at least 1 second");
	ttl_bad("", -EINVAL, "not a number of seconds");
	ttl_bad("s", -EINVAL, "not a number");
	ttl_bad("abc", -EINVAL, "not a number");
	ttl_bad("-5", -EINVAL, "not a number");
	ttl_bad("5x", -EINVAL, "not a number");
	ttl_bad("5ms", -EINVAL, "not a number");
	ttl_bad("1.5h", -EINVAL, "not a number");
	ttl_bad("5 s", -EINVAL, "not a number");
}

static bool has(const struct fgctl_ports *p, unsigned port)
{
	return (p->bits[port / 64] >> (port % 64)) & 1;
}

static void ports_bad(const char *s, const char *why_part)
{
	struct fgctl_ports p = { .count = 99 };
	char why[128] = "";

	assert_int_equal(fgctl_parse_ports(s, &p, why, sizeof(why)), -EINVAL);
	if (!strstr(why, why_part)) {
		print_message("# '%s': '%s' lacks '%s'\n", s, why, why_part);
		fail();
	}
	assert_int_equal(p.count, 99); /* untouched */
}

static void ports(void **state)
{
	struct fgctl_ports p;
	char why[128];

	assert_int_equal(fgctl_parse_ports("443", &p, why, sizeof(why)), 0);
	assert_false(p.all);
	assert_int_equal(p.count, 1);
	assert_true(has(&p, 443));
	assert_false(has(&p, 442));

	assert_int_equal(fgctl_parse_ports("80,443,8000-8010,443,8005", &p, why, sizeof(why)), 0);
	assert_int_equal(p.count, 13); /* duplicates counted once */
	assert_true(has(&p, 80) && has(&p, 443) && has(&p, 8000) && has(&p, 8010));
	assert_false(has(&p, 8011) || has(&p, 7999));

	assert_int_equal(fgctl_parse_ports("1-65535", &p, why, sizeof(why)), 0);
	assert_int_equal(p.count, 65535);
	assert_false(has(&p, 0));
	assert_int_equal(fgctl_parse_ports("65535", &p, why, sizeof(why)), 0);
	assert_true(has(&p, 65535));
	assert_int_equal(fgctl_parse_ports("22-22", &p, why, sizeof(why)), 0);
	assert_int_equal(p.count, 1);

	assert_int_equal(fgctl_parse_ports("all", &p, why, sizeof(why)), 0);
	assert_true(p.all);
	assert_int_equal(p.count, 0);

	ports_bad("", "empty port list");
	ports_bad("0", "port 0 is out of range 1..65535");
	ports_bad("65536", "port 65536 is out of range");
	ports_bad("70000", "out of range");
	ports_bad("80,,443", "empty item");
	ports_bad("80,", "empty item");
	ports_bad(",80", "empty item");
	ports_bad("90-80", "port range 90-80 is reversed");
	ports_bad("80-", "empty item");
	ports_bad("-80", "empty item");
	ports_bad("http", "'http' is not a port number");
	ports_bad("80;443", "is not a port number");
	ports_bad("1-2-3", "is not a port number");
	ports_bad("ALL", "is not a port number");
	ports_bad("99999999999999999999999", "is not a port number");
}

static void format_ports(void **state)
{
	__u64 bits[EDGE_PORT_WORDS] = { 0 };
	struct fgctl_ports p;
	char buf[64], small[12], why[64];

	assert_string_equal(fgctl_format_ports(bits, true, buf, sizeof(buf)), "all");
	assert_string_equal(fgctl_format_ports(bits, false, buf, sizeof(buf)), "none");
	assert_int_equal(fgctl_parse_ports("443,80,8000-8010,22,65535", &p, why, sizeof(why)), 0);
	assert_string_equal(fgctl_format_ports(p.bits, false, buf, sizeof(buf)),
			    "22,80,443,8000-8010,65535");
	/* Round trip. */
	assert_int_equal(fgctl_parse_ports(buf, &p, why, sizeof(why)), 0);
	assert_int_equal(p.count, 15);
	/* Too long: truncated with "...", still a terminated string. */
	fgctl_format_ports(p.bits, false, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_non_null(strstr(small, "..."));
}

static void duration(void **state)
{
	static const struct {
		uint64_t s;
		const char *text;
	} cases[] = {
		{ 0, "0s" },	  { 1, "1s" },
		{ 59, "59s" },	  { 60, "1m" },
		{ 61, "1m1s" },	  { 3599, "59m59s" },
		{ 3600, "1h" },	  { 3660, "1h1m" },
		{ 3661, "1h1m" }, { 86399, "23h59m" },
		{ 86400, "1d" },  { 90000, "1d1h" },
		{ 172800, "2d" }, { EDGE_TTL_MAX_S, "3650d" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fgctl_format_duration(cases[i].s, buf, sizeof(buf)),
				    cases[i].text);
}

static void ttl_text(void **state)
{
	const uint64_t s = 1000000000ULL, now = 1000 * s;
	char buf[32];

	assert_string_equal(fgctl_format_ttl(0, now, buf, sizeof(buf)), "never");
	assert_string_equal(fgctl_format_ttl(now, now, buf, sizeof(buf)), "expired");
	assert_string_equal(fgctl_format_ttl(now - 1, now, buf, sizeof(buf)), "expired");
	assert_string_equal(fgctl_format_ttl(now + 1, now, buf, sizeof(buf)), "1s"); /* rounds up */
	assert_string_equal(fgctl_format_ttl(now + s, now, buf, sizeof(buf)), "1s");
	assert_string_equal(fgctl_format_ttl(now + s + 1, now, buf, sizeof(buf)), "2s");
	assert_string_equal(fgctl_format_ttl(now + 120 * s, now, buf, sizeof(buf)), "2m");
}

static void table(void **state)
{
	static const char *const heads[] = { "CIDR", "HITS", "MODE" };
	struct fgctl_table t;
	char out[256] = "";
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");

	assert_non_null(f);
	fgctl_table_init(&t, 3, heads, 1u << 1);
	assert_int_equal(fgctl_table_add(&t, "198.18.0.1", "5", "drop"), 0);
	assert_int_equal(fgctl_table_add(&t, "2001:2::/48", "12345", "mark"), 0);
	fgctl_table_print(&t, f);
	fgctl_table_free(&t);
	fclose(f);
	assert_string_equal(out, "CIDR          HITS  MODE\n"
				 "198.18.0.1       5  drop\n"
				 "2001:2::/48  12345  mark\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(u64),	    cmocka_unit_test(ttls),
		cmocka_unit_test(ports),    cmocka_unit_test(format_ports),
		cmocka_unit_test(duration), cmocka_unit_test(ttl_text),
		cmocka_unit_test(table),
	};

	return FG_RUN_TESTS(tests);
}

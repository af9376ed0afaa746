/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of fgflood's command line (tools/fgflood/args.c): defaults, every option,
 * and a table of bad command lines, each of which must fail with one line that says what
 * is wrong (main() turns it into exit status 2; tests/integration/flood.sh checks that).
 */
#include "unit.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "fgflood/fgflood.h"

#define ARGV(...) ((char *[]){ "fgflood", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "fgflood", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...)                                                                         \
	flood_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o, err, sizeof(err))

static void defaults(void **state)
{
	struct flood_opts o;
	char err[256];

	assert_int_equal(PARSE(&o, err, "veth0", "--dst", "198.18.40.2", "--count", "10"), 0);
	assert_string_equal(o.ifname, "veth0");
	assert_int_equal(o.dst.family, AF_INET);
	assert_int_equal(o.src.family, 0); /* the interface's address, resolved later */
	assert_int_equal(o.proto, IPPROTO_TCP);
	assert_int_equal(o.dport, 80);
	assert_int_equal(o.count, 10);
	assert_true(o.seconds == 0);
	assert_int_equal(o.pps, 0);
	assert_int_equal(o.threads, 1);
	assert_int_equal(o.batch, 64);
	assert_int_equal(o.seed, 1);
	assert_int_equal(o.engine, FLOOD_ENGINE_AUTO);
	assert_true(o.qdisc_bypass);
	assert_false(o.json);
	assert_int_equal(flood_frame_len(&o), 60);
	assert_false(o.drop_refused);
	assert_int_equal(PARSE(&o, err, "veth0", "--dst", "198.18.40.2", "--seconds", "1", "--pps",
			       "1000", "--engine", "live", "--drop-refused"),
			 0);
	assert_true(o.drop_refused);

	assert_int_equal(PARSE(&o, err, "veth0", "--dst=2001:2::2", "--seconds=1.5"), 0);
	assert_int_equal(o.dst.family, AF_INET6);
	assert_true(o.seconds == 1.5);
	assert_int_equal(flood_frame_len(&o), 74); /* an IPv6 SYN is longer than 60 */
}

static void every_option(void **state)
{
	struct flood_opts o;
	char err[256];
	const uint8_t smac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

	assert_int_equal(PARSE(&o, err, "--udp", "--dst", "2001:2:0:40::2", "veth1", "--dport", "9",
			       "--src", "2001:2:0:40::/64", "--pps", "5000", "--count", "7",
			       "--seconds", "3", "--threads", "2", "--size", "128", "--src-mac",
			       "02:aa:bb:cc:dd:ee", "--dst-mac", "02:AA:BB:CC:DD:EF", "--seed",
			       "4294967295", "--engine", "packet", "--batch", "256", "--no-bypass",
			       "--json", "-v"),
			 0);
	assert_string_equal(o.ifname, "veth1");
	assert_int_equal(o.proto, IPPROTO_UDP);
	assert_int_equal(o.dport, 9);
	assert_int_equal(o.src.family, AF_INET6);
	assert_int_equal(o.src.prefixlen, 64);
	assert_int_equal(o.pps, 5000);
	assert_int_equal(o.count, 7);
	assert_true(o.seconds == 3);
	assert_int_equal(o.threads, 2);
	assert_int_equal(o.size, 128);
	assert_true(o.have_src_mac && o.have_dst_mac);
	assert_memory_equal(o.src_mac, smac, 6);
	assert_int_equal(o.dst_mac[5], 0xef);
	assert_int_equal(o.seed, 4294967295u);
	assert_int_equal(o.engine, FLOOD_ENGINE_PACKET);
	assert_int_equal(o.batch, 256);
	assert_false(o.qdisc_bypass);
	assert_true(o.json && o.verbose);

	assert_int_equal(PARSE(&o, err, "veth0", "--dst", "198.18.40.2", "--src-random", "--max",
			       "--syn", "--count", "1", "--engine", "live"),
			 0);
	assert_int_equal(o.src.family, AF_INET);
	assert_int_equal(o.src.prefixlen, 15);
	assert_int_equal(o.engine, FLOOD_ENGINE_LIVE);
	assert_int_equal(
		PARSE(&o, err, "veth0", "--dst", "2001:2::9", "--src-random", "--count", "1"), 0);
	assert_int_equal(o.src.prefixlen, 48);

	assert_int_equal(PARSE(&o, err, "--help"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, err, "x", "-h"), 0);
	assert_true(o.help);
}

struct bad {
	const char *argv[16];
	const char *why; /* a part of the message */
};

static const struct bad bads[] = {
	{ { NULL }, "missing IFACE" },
	{ { "--dst", "198.18.0.2", "--count", "1" }, "missing IFACE" },
	{ { "veth0", "--count", "1" }, "missing --dst" },
	{ { "veth0", "--dst", "198.18.0.2" }, "unbounded" },
	{ { "veth0", "--dst", "198.18.0.2", "--pps", "10" }, "unbounded" },
	{ { "veth0", "--dst", "198.18.0.300", "--count", "1" }, "--dst: '198.18.0.300'" },
	{ { "veth0", "--dst", "198.18.0.0/15", "--count", "1" }, "--dst" },
	{ { "veth0", "--dst", "198.18.0.2", "--src", "198.18.0.1/15", "--count", "1" }, "--src" },
	{ { "veth0", "--dst", "198.18.0.2", "--src", "2001:2::/48", "--count", "1" }, "famil" },
	{ { "veth0", "--dst", "198.18.0.2", "--syn", "--udp", "--count", "1" }, "exclude" },
	{ { "veth0", "--dst", "198.18.0.2", "--src", "198.18.0.1", "--src-random", "--count", "1" },
	  "exclude" },
	{ { "veth0", "--dst", "198.18.0.2", "--pps", "5", "--max", "--count", "1" }, "exclude" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "0" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "abc" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "-5" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1e3" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "10k" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "99999999999999999999999" }, "--count" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "0" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "-1" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "nan" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "inf" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "0x10" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "86401" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--seconds", "2s" }, "--seconds" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--dport", "0" }, "--dport" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--dport", "65536" }, "--dport" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--pps", "0" }, "--pps" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--threads", "0" }, "--threads" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--threads", "257" }, "--threads" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--pps", "1", "--threads", "2" },
	  "per thread" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--size", "59" }, "--size" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--size", "1515" }, "--size" },
	{ { "veth0", "--dst", "2001:2::2", "--count", "1", "--size", "60" }, "shorter" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--src-mac", "02:aa:bb:cc:dd" },
	  "--src-mac" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--dst-mac", "02:aa:bb:cc:dd:zz" },
	  "--dst-mac" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--dst-mac", "02:aa:bb:cc:dd:eef" },
	  "--dst-mac" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--engine", "pktgen" }, "--engine" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--batch", "0" }, "--batch" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--batch", "257" }, "--batch" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--seed", "4294967296" }, "--seed" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--bogus" }, "unknown option" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "-x" }, "unknown option" },
	{ { "veth0", "--dst", "198.18.0.2", "--count" }, "needs a value" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--count", "2" }, "twice" },
	{ { "veth0", "veth1", "--dst", "198.18.0.2", "--count", "1" }, "unexpected argument" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--json=yes" }, "takes no value" },
	{ { "an-interface-name-too-long", "--dst", "198.18.0.2", "--count", "1" }, "too long" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--pps", "10", "--drop-refused" },
	  "--drop-refused needs --engine live" },
	{ { "veth0", "--dst", "198.18.0.2", "--count", "1", "--engine", "live", "--drop-refused" },
	  "--drop-refused needs" },
};

static void bad_arguments(void **state)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char *argv[18] = { "fgflood" };
		struct flood_opts o;
		char err[256];
		int argc = 1;

		for (int j = 0; bads[i].argv[j]; j++)
			argv[argc++] = (char *)bads[i].argv[j];
		err[0] = '\0';
		if (flood_parse_args(argc, argv, &o, err, sizeof(err)) != -EINVAL) {
			print_message("# case %zu (%s) was accepted\n", i, bads[i].why);
			fail();
		}
		if (!strstr(err, bads[i].why) || strchr(err, '\n') || strlen(err) < 10) {
			print_message("# case %zu: message '%s', expected one line with '%s'\n", i,
				      err, bads[i].why);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(every_option),
		cmocka_unit_test(bad_arguments),
	};
	return FG_RUN_TESTS(tests);
}

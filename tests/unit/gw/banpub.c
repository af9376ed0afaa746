/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the pure parts of userspace/gw/banpub.c: the ban record exchanged through
 * Redis (encode, decode, every way a record is refused) and the conversion of a remote
 * verdict's realtime stamp into this node's monotonic clock.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/banpub.h"

static gw_banpub_msg_t sample(void)
{
	gw_banpub_msg_t m = { .lifted = false, .decided_rt_ns = 1700000000123456789LL };

	snprintf(m.node, sizeof(m.node), "0123456789abcdef");
	assert_int_equal(fg_cidr_parse("2001:2:0:9::/64", &m.ban.cidr, NULL), 0);
	snprintf(m.ban.reason, sizeof(m.ban.reason), "auth_failure");
	m.ban.score = 12;
	m.ban.created = 1700000000;
	m.ban.expires = 1700000600;
	m.ban.offences = 3;
	m.ban.edge = true;
	snprintf(m.ban.origin, sizeof(m.ban.origin), "gw-a@198.18.0.2:18080");
	return m;
}

static void round_trip(void **state)
{
	gw_banpub_msg_t m = sample(), d;
	const char *why = "unset";
	char buf[1024];
	int n = gw_banpub_encode(&m, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_int_equal(gw_banpub_decode(buf, (size_t)n, &d, &why), 0);
	assert_null(why);
	assert_string_equal(d.node, "0123456789abcdef");
	assert_false(d.lifted);
	assert_true(d.decided_rt_ns == 1700000000123456789LL);
	assert_int_equal(d.ban.cidr.family, AF_INET6);
	assert_int_equal(d.ban.cidr.prefixlen, 64);
	assert_memory_equal(d.ban.cidr.addr, m.ban.cidr.addr, 16);
	assert_string_equal(d.ban.reason, "auth_failure");
	assert_int_equal(d.ban.score, 12);
	assert_int_equal(d.ban.created, 1700000000);
	assert_int_equal(d.ban.expires, 1700000600);
	assert_int_equal(d.ban.offences, 3);
	assert_true(d.ban.edge);
	assert_string_equal(d.ban.origin, "gw-a@198.18.0.2:18080");

	m.lifted = true;
	m.ban.edge = false;
	n = gw_banpub_encode(&m, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"op\":\"lift\""));
	assert_int_equal(gw_banpub_decode(buf, (size_t)n, &d, &why), 0);
	assert_true(d.lifted);
	assert_false(d.ban.edge);

	/* no origin known (a ban restored from an older store): the field is left out */
	m.ban.origin[0] = '\0';
	n = gw_banpub_encode(&m, buf, sizeof(buf));
	assert_null(strstr(buf, "origin"));
	assert_int_equal(gw_banpub_decode(buf, (size_t)n, &d, &why), 0);
	assert_string_equal(d.ban.origin, "");
}

static void encode_too_small(void **state)
{
	gw_banpub_msg_t m = sample();
	char buf[40];

	assert_int_equal(gw_banpub_encode(&m, buf, sizeof(buf)), -ENOSPC);
}

static void refuse(const char *json, const char *want)
{
	gw_banpub_msg_t d;
	const char *why = NULL;

	assert_int_equal(gw_banpub_decode(json, strlen(json), &d, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, want));
}

#define REC(node, op, cidr, reason, score, created, expires, off, edge, dec)                       \
	"{\"node\":\"" node "\",\"op\":\"" op "\",\"cidr\":\"" cidr "\",\"reason\":\"" reason      \
	"\",\"score\":" score ",\"created\":" created ",\"expires\":" expires ",\"offences\":" off \
	",\"edge\":" edge ",\"decided_ns\":" dec "}"

static void decode_refuses(void **state)
{
	const char *ok = REC("0123456789abcdef", "ban", "198.18.1.2/32", "x", "1", "10", "20", "1",
			     "false", "5");
	gw_banpub_msg_t d;
	const char *why;

	assert_int_equal(gw_banpub_decode(ok, strlen(ok), &d, &why), 0);
	assert_int_equal(d.ban.cidr.family, AF_INET);
	/* a record of a node from before origins has none: still accepted */
	assert_string_equal(d.ban.origin, "");
	refuse("{\"node\":\"0123456789abcdef\",\"op\":\"ban\",\"cidr\":\"198.18.1.2\","
	       "\"reason\":\"x\",\"score\":1,\"created\":10,\"expires\":20,\"offences\":1,"
	       "\"edge\":false,\"decided_ns\":5,\"origin\":\"a b\"}",
	       "origin");
	refuse("{\"node\":\"0123456789abcdef\",\"op\":\"ban\",\"cidr\":\"198.18.1.2\","
	       "\"reason\":\"x\",\"score\":1,\"created\":10,\"expires\":20,\"offences\":1,"
	       "\"edge\":false,\"decided_ns\":5,\"origin\":7}",
	       "missing or mistyped");
	refuse("not json", "not a JSON object");
	refuse("[1,2]", "not a JSON object");
	refuse("{\"op\":\"ban\"}", "missing or mistyped");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.2/32", "x", "\"1\"", "10", "20", "1",
		   "false", "5"),
	       "missing or mistyped");
	refuse(REC("short", "ban", "198.18.1.2/32", "x", "1", "10", "20", "1", "false", "5"),
	       "node id");
	refuse(REC("0123456789abcdef", "drop", "198.18.1.2/32", "x", "1", "10", "20", "1", "false",
		   "5"),
	       "neither ban nor lift");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.300", "x", "1", "10", "20", "1", "false",
		   "5"),
	       "CIDR");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.2", "a\\\"b", "1", "10", "20", "1", "false",
		   "5"),
	       "reason");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.2", "0123456789012345678901234567890123",
		   "1", "10", "20", "1", "false", "5"),
	       "reason");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.2", "x", "-1", "10", "20", "1", "false",
		   "5"),
	       "out-of-range");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.2", "x", "1", "30", "20", "1", "false",
		   "5"),
	       "out-of-range");
	refuse(REC("0123456789abcdef", "ban", "198.18.1.2", "x", "1", "10", "20", "4294967296",
		   "false", "5"),
	       "out-of-range");
	/* a duplicate key is not silently resolved */
	refuse("{\"node\":\"0123456789abcdef\",\"node\":\"0123456789abcdef\"}", "not a JSON");
}

static void local_mono(void **state)
{
	/* decided 3 ms ago (realtime) -> 3 ms before now on the monotonic clock */
	assert_int_equal(gw_banpub_local_mono(1000000000, 1003000000, 50000000), 47000000);
	/* a verdict stamped in the future (clock skew) counts as now */
	assert_int_equal(gw_banpub_local_mono(2000000000, 1000000000, 50000000), 50000000);
	/* older than the monotonic clock itself: the earliest stamp there is, never 0 */
	assert_int_equal(gw_banpub_local_mono(0, 1000000000000LL, 5), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(encode_too_small),
		cmocka_unit_test(decode_refuses),
		cmocka_unit_test(local_mono),
	};

	return FG_RUN_TESTS(tests);
}

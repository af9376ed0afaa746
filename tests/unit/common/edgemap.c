/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the pure parts of userspace/common/edgemap.c: building rule and edge
 * values, the default config and its checks, the port bitmap, and the names. The map
 * operations themselves run against real maps in tests/integration/fgctl.sh.
 */
#include "unit.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "edgemap.h"
#include "tb.h"

static struct fg_cidr cidr(const char *s)
{
	struct fg_cidr c;

	assert_int_equal(fg_cidr_parse(s, &c, NULL), 0);
	return c;
}

static void rule_make(void **state)
{
	const uint64_t now = 5000 * TB_NS_PER_S;
	struct fg_cidr host = cidr("198.18.0.1"), net = cidr("2001:2::/48");
	struct edge_rule r;

	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, 0, EDGE_MODE_INHERIT,
				      EDGE_ORIGIN_MANUAL, now),
			 0);
	assert_true(r.expires_ns == 0);
	assert_true(r.created_ns == now);
	assert_int_equal(r.prefixlen, 32);
	assert_int_equal(r.hits, 0);
	assert_int_equal(r.mode, EDGE_MODE_INHERIT);

	assert_int_equal(
		fg_rule_make(&r, FG_LIST_BLOCK, &net, 60, EDGE_MODE_MARK, EDGE_ORIGIN_BAN, now), 0);
	assert_true(r.expires_ns == now + 60 * TB_NS_PER_S);
	assert_int_equal(r.prefixlen, 48);
	assert_int_equal(r.mode, EDGE_MODE_MARK);
	assert_int_equal(r.origin, EDGE_ORIGIN_BAN);
	assert_false(fg_rule_expired(&r, now + 59 * TB_NS_PER_S));
	assert_true(fg_rule_expired(&r, now + 60 * TB_NS_PER_S));

	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, EDGE_TTL_MAX_S, 0, 0, now), 0);
	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, EDGE_TTL_MAX_S + 1, 0, 0, now),
			 -ERANGE);
	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, 0, EDGE_MODE_MAX, 0, now), -EINVAL);
	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, 0, 0, EDGE_ORIGIN_MAX, now),
			 -EINVAL);
	/* An allowed source is always passed: a mode there is a mistake. */
	assert_int_equal(fg_rule_make(&r, FG_LIST_ALLOW, &host, 0, EDGE_MODE_DROP, 0, now),
			 -EINVAL);
	assert_int_equal(fg_rule_make(&r, FG_LIST_ALLOW, &host, 10, EDGE_MODE_INHERIT, 0, now), 0);

	host.prefixlen = 33;
	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, 0, 0, 0, now), -EINVAL);
	host.family = AF_UNIX;
	assert_int_equal(fg_rule_make(&r, FG_LIST_BLOCK, &host, 0, 0, 0, now), -EAFNOSUPPORT);
}

static void edge_make(void **state)
{
	struct fg_cidr net = cidr("198.51.100.0/24");
	struct edge_net e;

	assert_int_equal(
		fg_edge_make(&e, &net, 20000, 40000, EDGE_MODE_INHERIT, EDGE_ORIGIN_CONFIG), 0);
	assert_int_equal(e.limit.rate, 20000);
	assert_int_equal(e.limit.burst, 40000);
	assert_int_equal(e.limit.interval_ns, TB_NS_PER_S / 20000);
	assert_int_equal(e.limit.cap_ns, 40000 * (TB_NS_PER_S / 20000));
	assert_int_equal(e.prefixlen, 24);
	assert_int_equal(e.origin, EDGE_ORIGIN_CONFIG);
	assert_int_equal(fg_edge_make(&e, &net, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(fg_edge_make(&e, &net, 0, 10, 0, 0), -EINVAL);
	assert_int_equal(fg_edge_make(&e, &net, 10, 0, 0, 0), -EINVAL);
	assert_int_equal(fg_edge_make(&e, &net, EDGE_RATE_MAX + 1, 1, 0, 0), -EINVAL);
	assert_int_equal(fg_edge_make(&e, &net, 1, EDGE_BURST_MAX + 1, 0, 0), -EINVAL);
	assert_int_equal(fg_edge_make(&e, &net, 1, 1, 9, 0), -EINVAL);
}

static void config_default(void **state)
{
	struct edge_config c;

	fg_config_default(&c);
	assert_int_equal(fg_config_check(&c), 0);
	assert_int_equal(c.mode, EDGE_MODE_DROP);
	assert_true(c.flags & EDGE_F_ALL_PORTS);
	assert_true(c.flags & EDGE_F_SYN_ONLY);
	assert_true(c.flags & EDGE_F_MALFORMED_DROP);
	assert_false(c.flags & EDGE_F_LOCKDOWN);
	assert_int_equal(c.src.rate, 100);
	assert_int_equal(c.src.burst, 200);
	assert_int_equal(c.newsrc.rate, FG_DEFAULT_NEWSRC_RATE);
	assert_int_equal(c.newsrc.burst, FG_DEFAULT_NEWSRC_BURST);
	assert_int_equal(c.dscp, EDGE_DSCP_DEFAULT);
	assert_int_equal(c.v6_prefix, EDGE_V6_PREFIX_DEFAULT);
	assert_int_equal(c.origin, EDGE_ORIGIN_MANUAL);
	assert_int_equal(c.abi, EDGE_ABI_VERSION);
}

static void config_check(void **state)
{
	struct edge_config c, d;

	fg_config_default(&d);

#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		c = d;                                                                             \
		stmt;                                                                              \
		assert_int_equal(fg_config_check(&c), -EINVAL);                                    \
	} while (0)
#define GOOD(stmt)                                                                                 \
	do {                                                                                       \
		c = d;                                                                             \
		stmt;                                                                              \
		assert_int_equal(fg_config_check(&c), 0);                                          \
	} while (0)

	BAD(c.mode = EDGE_MODE_INHERIT);
	BAD(c.mode = EDGE_MODE_MAX);
	GOOD(c.mode = EDGE_MODE_MONITOR);
	BAD(c.flags |= 1u << 7);
	GOOD(c.flags = 0);
	BAD(c.dscp = 64);
	GOOD(c.dscp = 63);
	BAD(c.v6_prefix = 0);
	BAD(c.v6_prefix = 129);
	GOOD(c.v6_prefix = 128);
	BAD(c.origin = EDGE_ORIGIN_MAX);
	BAD(c.abi = EDGE_ABI_VERSION + 1); /* another layout's config */
	BAD(c.abi = 0);
	GOOD(memset(&c.src, 0, sizeof(c.src)));	   /* no limit */
	BAD(c.src.rate = 0);			   /* zero rate, burst left */
	BAD(c.src.interval_ns++);		   /* not what tb_limit_set() makes */
	BAD(c.src.burst = EDGE_BURST_MAX + 1);	   /* out of range */
	GOOD(tb_limit_set(&c.newsrc, 1000, 2000)); /* a new-source limit */
	BAD(c.newsrc.burst = 5);		   /* inconsistent */
	GOOD(c.generation = 0xffffffff);
#undef BAD
#undef GOOD
}

static void ports(void **state)
{
	struct edge_config c = { 0 };

	assert_false(fg_config_port(&c, 443));
	fg_config_port_set(&c, 443, true);
	fg_config_port_set(&c, 0, true);
	fg_config_port_set(&c, 65535, true);
	fg_config_port_set(&c, 65536, true); /* ignored */
	assert_true(fg_config_port(&c, 443));
	assert_true(fg_config_port(&c, 0));
	assert_true(fg_config_port(&c, 65535));
	assert_false(fg_config_port(&c, 444));
	assert_false(fg_config_port(&c, 65536));
	/* The bit the program reads: word port/64, bit port%64. */
	assert_true(c.ports[443 / 64] == 1ULL << (443 % 64));
	fg_config_port_set(&c, 443, false);
	assert_false(fg_config_port(&c, 443));
}

static void names(void **state)
{
	for (uint32_t id = 0; id < EDGE_STAT_MAX; id++)
		assert_string_not_equal(fg_stat_name(id), "?");
	assert_string_equal(fg_stat_name(EDGE_STAT_MAX), "?");
	assert_string_equal(fg_stat_name(EDGE_STAT_SOURCE_LIMIT), "source_limit");
	assert_string_equal(fg_mode_name(EDGE_MODE_INHERIT), "inherit");
	assert_string_equal(fg_mode_name(EDGE_MODE_MONITOR), "monitor");
	assert_string_equal(fg_mode_name(99), "?");
	assert_int_equal(fg_mode_parse("mark"), EDGE_MODE_MARK);
	assert_int_equal(fg_mode_parse("bogus"), -EINVAL);
	assert_string_equal(fg_origin_name(EDGE_ORIGIN_BAN), "ban");
	assert_string_equal(fg_origin_name(EDGE_ORIGIN_MAX), "?");
	assert_string_equal(fg_list_name(FG_LIST_ALLOW), "allowlist");
	assert_string_equal(fg_list_name(FG_LIST_BLOCK), "blocklist");
	/* Map ids and names agree with the ABI. */
	assert_string_equal(fg_map_names[FG_MAP_CONFIG], EDGE_MAP_CONFIG);
	assert_string_equal(fg_map_names[FG_MAP_NEWSRC], EDGE_MAP_NEWSRC);
	for (int i = 0; i < FG_MAP_COUNT; i++) {
		assert_non_null(fg_map_names[i]);
		assert_int_equal(fg_map_id_of(fg_map_names[i]), i);
	}
	assert_int_equal(fg_map_id_of("fg_nosuch"), -ENOENT);
}

static void pin_path(void **state)
{
	char buf[32];

	assert_int_equal(fg_pin_path(buf, sizeof(buf), "/sys/fs/bpf/x", "fg_config"), 0);
	assert_string_equal(buf, "/sys/fs/bpf/x/fg_config");
	assert_int_equal(fg_pin_path(buf, 10, "/sys/fs/bpf/x", "fg_config"), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_make),	  cmocka_unit_test(edge_make),
		cmocka_unit_test(config_default), cmocka_unit_test(config_check),
		cmocka_unit_test(ports),	  cmocka_unit_test(names),
		cmocka_unit_test(pin_path),
	};

	return FG_RUN_TESTS(tests);
}

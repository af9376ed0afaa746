/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/redis_conf.c: redis:// URLs (every part, every bad form),
 * key prefixes, the reconnection backoff.
 */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "gw/redis_conf.h"

static void good_urls(void **state)
{
	gw_redis_conf_t c;
	const char *why = NULL;

	memset(&c, 0, sizeof(c));
	assert_int_equal(gw_redis_parse_url("redis://127.0.0.1:6380/2", &c, &why), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.port, 6380);
	assert_int_equal(c.db, 2);
	assert_string_equal(c.password, "");

	assert_int_equal(gw_redis_parse_url("redis://localhost", &c, &why), 0);
	assert_string_equal(c.host, "localhost");
	assert_int_equal(c.port, 6379);
	assert_int_equal(c.db, 0);

	assert_int_equal(gw_redis_parse_url("redis://:s%40cret@[::1]:7000/", &c, &why), 0);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.port, 7000);
	assert_string_equal(c.user, "");
	assert_string_equal(c.password, "s@cret");

	assert_int_equal(gw_redis_parse_url("redis://app:pw@redis.internal/15", &c, &why), 0);
	assert_string_equal(c.user, "app");
	assert_string_equal(c.password, "pw");
	assert_string_equal(c.host, "redis.internal");
	assert_int_equal(c.db, 15);
}

static void bad_urls(void **state)
{
	static const char *const bad[] = {
		"http://127.0.0.1",  "redis://",	   "redis://:6379",    "redis://h:0",
		"redis://h:65536",   "redis://h:12a",	   "redis://h:",       "redis://h/x",
		"redis://h/1000001", "redis://h?db=1",	   "redis://pw@h",     "redis://:@h",
		"redis://:%zz@h",    "redis://:%4@h",	   "redis://[::1",     "redis://[::1]x",
		"redis://h h",	     "redis://h/12345678", "redis://:a%00b@h", "redis://h:123456",
	};
	gw_redis_conf_t c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		memset(&c, 0, sizeof(c));
		if (gw_redis_parse_url(bad[i], &c, &why) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(why);
		assert_true(strlen(why) > 10);
	}
}

/* The host: [brackets] hold an IPv6 address, digits and dots an IPv4 address, anything
 * else a name of RFC 1123 labels. */
static void hosts(void **state)
{
	static const char *const good[] = {
		"redis://[::1]",	   "redis://[2001:db8::7]:7000",
		"redis://198.18.0.7",	   "redis://redis-1.internal.",
		"redis://r_1.example.com", "redis://[::ffff:198.18.0.1]",
	};
	static const char *const bad[] = {
		"redis://[zz::gg]",   "redis://[198.18.0.1]", "redis://[]",
		"redis://[::1%eth0]", "redis://198.18.0.256", "redis://198.18.0",
		"redis://1.2.3.4.5",  "redis://-redis",	      "redis://redis-",
		"redis://a..b",	      "redis://.redis",	      "redis://a:b:c",
	};
	gw_redis_conf_t c;
	const char *why;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (gw_redis_parse_url(good[i], &c, &why))
			fail_msg("refused %s: %s", good[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (gw_redis_parse_url(bad[i], &c, &why) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(gw_redis_parse_url("redis://[zz::gg]:6379", &c, &why), -EINVAL);
	assert_string_equal(why, "the Redis host in [brackets] must be an IPv6 address");
	assert_int_equal(gw_redis_parse_url("redis://a..b", &c, &why), -EINVAL);
	assert_string_equal(why, "the Redis host must be a name (labels of A-Z a-z 0-9 - _, 1 to "
				 "63 bytes, no '-' at either end), an IPv4 address or [IPv6]");
}

static void prefixes(void **state)
{
	char longp[GW_REDIS_PREFIX_MAX + 2];

	assert_true(gw_redis_valid_prefix(""));
	assert_true(gw_redis_valid_prefix("fg:"));
	assert_true(gw_redis_valid_prefix("prod.eu-1_fg:"));
	assert_false(gw_redis_valid_prefix("fg {x}"));
	assert_false(gw_redis_valid_prefix("fg{"));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_false(gw_redis_valid_prefix(longp));
	longp[GW_REDIS_PREFIX_MAX] = '\0';
	assert_true(gw_redis_valid_prefix(longp));
}

static void backoff(void **state)
{
	assert_int_equal(gw_redis_backoff_ms(0), 50);
	assert_int_equal(gw_redis_backoff_ms(1), 100);
	assert_int_equal(gw_redis_backoff_ms(5), 1600);
	assert_int_equal(gw_redis_backoff_ms(6), 2000);
	assert_int_equal(gw_redis_backoff_ms(1000), 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_urls), cmocka_unit_test(bad_urls), cmocka_unit_test(hosts),
		cmocka_unit_test(prefixes),  cmocka_unit_test(backoff),
	};

	return FG_RUN_TESTS(tests);
}

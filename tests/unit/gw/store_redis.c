/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/store_redis.c's pure parts: an audit entry to the JSON the
 * commit script stores after the sequence number and back (every field, NULL before or
 * after, quotes and non-ASCII in the JSON texts), and every malformed member refused.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/store.h"

/* The member the commit script would store for e at sequence number seq. */
static char *member_of(const gw_audit_entry_t *e, long long seq)
{
	char *j = gw_store_redis_audit_json(e), *m;

	assert_non_null(j);
	m = malloc(strlen(j) + 32);
	assert_non_null(m);
	sprintf(m, "%020lld%s", seq, j);
	free(j);
	return m;
}

static void round_trip(void **state)
{
	gw_audit_entry_t e = { .time = 1795348800,
			       .before = "{\"plan\":\"free\",\"l\":\"é \\\"x\\\"\"}",
			       .after = "{\"plan\":\"metered\"}" },
			 out;
	json_t *doc = NULL;
	char *m;

	snprintf(e.actor, sizeof(e.actor), "token:0a1b2c3d");
	snprintf(e.action, sizeof(e.action), "key.plan");
	snprintf(e.target, sizeof(e.target), "0123456789abcdef");
	m = member_of(&e, 42);
	assert_int_equal(gw_store_redis_audit_parse(m, strlen(m), &out, &doc), 0);
	assert_int_equal(out.seq, 42);
	assert_int_equal(out.time, 1795348800);
	assert_string_equal(out.actor, "token:0a1b2c3d");
	assert_string_equal(out.action, "key.plan");
	assert_string_equal(out.target, "0123456789abcdef");
	assert_string_equal(out.before, e.before);
	assert_string_equal(out.after, e.after);
	json_decref(doc);
	free(m);
}

static void null_before_after(void **state)
{
	gw_audit_entry_t e = { .time = 7 }, out;
	json_t *doc = NULL;
	char *m;

	snprintf(e.action, sizeof(e.action), "config.reload");
	snprintf(e.target, sizeof(e.target), "config");
	m = member_of(&e, 99999999999LL);
	assert_int_equal(gw_store_redis_audit_parse(m, strlen(m), &out, &doc), 0);
	assert_int_equal(out.seq, 99999999999LL);
	assert_null(out.before);
	assert_null(out.after);
	assert_string_equal(out.actor, "");
	json_decref(doc);
	free(m);
}

static void malformed(void **state)
{
	static const char *bad[] = {
		"",
		"0000000000000000000",	/* shorter than the sequence number */
		"00000000000000000001", /* no JSON */
		"00000000000000000001{",
		"00000000000000000001[]",
		"00000000000000000001{\"time\":1,\"actor\":\"a\",\"action\":\"b\",\"target\":"
		"\"c\"}",
		"00000000000000000001{\"time\":\"1\",\"actor\":\"a\",\"action\":\"b\",\"target\":"
		"\"c\",\"before\":null,\"after\":null}",
		"00000000000000000001{\"time\":1,\"actor\":\"a\",\"action\":\"b\",\"target\":\"c\","
		"\"before\":5,\"after\":null}",
		"00000000000000000001{\"time\":1,\"actor\":\"a\",\"action\":\"b\",\"target\":\"c\","
		"\"before\":null,\"after\":{}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gw_audit_entry_t out;
		json_t *doc = NULL;

		assert_int_equal(gw_store_redis_audit_parse(bad[i], strlen(bad[i]), &out, &doc),
				 -EIO);
		assert_null(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(null_before_after),
		cmocka_unit_test(malformed),
	};

	return FG_RUN_TESTS(tests);
}

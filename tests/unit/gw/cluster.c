/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cluster.c's pure parts: the script's argument vector (keys
 * in one hash slot, the bucket in tb.h units, counters in order), bad counter lists, the
 * reply parser (every verdict, every malformed reply), the script's SHA-1.
 */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "gw/cluster.h"

static gw_limit_t limit_of(const char *rate, uint64_t burst)
{
	gw_limit_t l;
	const char *why;

	assert_int_equal(gw_limit_parse_rate(rate, 0, true, burst, &l, &why), 0);
	return l;
}

static void arg_is(const gw_cluster_args_t *a, int i, const char *want)
{
	assert_true(i < a->argc);
	assert_int_equal(a->len[i], strlen(want));
	assert_memory_equal(a->argv[i], want, a->len[i]);
}

static void args_bucket_only(void **state)
{
	gw_limit_t l = limit_of("50/s", 100);
	gw_cluster_args_t a;

	assert_int_equal(gw_cluster_build_args(&a, "fg:", "0123456789abcdef", &l, NULL, 0), 0);
	assert_int_equal(a.argc, 2 + 1 + 1 + 4);
	arg_is(&a, 2, "1");
	arg_is(&a, 3, "fg:{0123456789abcdef}:tb");
	arg_is(&a, 4, "20000000");   /* ns per token at 50/s */
	arg_is(&a, 5, "2000000000"); /* 100 tokens */
	arg_is(&a, 6, "3000");	     /* TTL: a full refill and a second */
	arg_is(&a, 7, "0");
}

static void args_counters(void **state)
{
	gw_limit_t l = limit_of("5/min", 5);
	gw_cluster_counter_t c[2] = {
		{ "q:day:20261122", 1000, 1, 1795392000, true },
		{ "credits:202611", 0, 7, 0, false },
	};
	gw_cluster_args_t a;

	assert_int_equal(gw_cluster_build_args(&a, "", "aaaaaaaaaaaaaaaa", &l, c, 2), 0);
	assert_int_equal(a.argc, 2 + 1 + 3 + 4 + 8);
	arg_is(&a, 2, "3");
	arg_is(&a, 3, "{aaaaaaaaaaaaaaaa}:tb");
	arg_is(&a, 4, "{aaaaaaaaaaaaaaaa}:q:day:20261122");
	arg_is(&a, 5, "{aaaaaaaaaaaaaaaa}:credits:202611");
	arg_is(&a, 6, "12000000000");
	arg_is(&a, 7, "60000000000");
	arg_is(&a, 9, "2");
	arg_is(&a, 10, "1000");
	arg_is(&a, 11, "1");
	arg_is(&a, 12, "1795392000");
	arg_is(&a, 13, "1");
	arg_is(&a, 14, "0");
	arg_is(&a, 15, "7");
	arg_is(&a, 16, "0");
	arg_is(&a, 17, "0");
}

/* The hand-written RESP is byte for byte what hiredis would send for the same argv. */
static void resp_matches_hiredis(void **state)
{
	gw_limit_t l = limit_of("5/min", 5);
	gw_cluster_counter_t c[GW_CLUSTER_COUNTERS_MAX];
	char sfx[GW_CLUSTER_COUNTERS_MAX][GW_CLUSTER_SUFFIX_MAX + 1];
	static gw_cluster_args_t a;
	static char out[GW_CLUSTER_RESP_MAX];
	char *want = NULL;
	long long wlen;
	size_t len;

	for (size_t i = 0; i < GW_CLUSTER_COUNTERS_MAX; i++) {
		memset(sfx[i], 'a' + (int)i, GW_CLUSTER_SUFFIX_MAX);
		sfx[i][GW_CLUSTER_SUFFIX_MAX] = '\0';
		c[i] = (gw_cluster_counter_t){ sfx[i], UINT64_MAX, i, INT64_MAX, i & 1 };
	}
	for (size_t n = 0; n <= GW_CLUSTER_COUNTERS_MAX; n += GW_CLUSTER_COUNTERS_MAX / 2) {
		assert_int_equal(gw_cluster_build_args(&a, "fg:", "0123456789abcdef", &l, c, n), 0);
		a.argv[0] = "EVALSHA";
		a.len[0] = 7;
		a.argv[1] = gw_cluster_script_sha();
		a.len[1] = 40;
		len = gw_cluster_format_resp(&a, out, sizeof(out));
		wlen = redisFormatCommandArgv(&want, a.argc, a.argv, a.len);
		assert_true(wlen > 0);
		assert_int_equal(len, (size_t)wlen);
		assert_memory_equal(out, want, len);
		redisFreeCommand(want);
		/* too small a buffer: 0, never a partial command */
		assert_int_equal(gw_cluster_format_resp(&a, out, len - 1), 0);
		assert_int_equal(gw_cluster_format_resp(&a, out, 10), 0);
	}
}

static void args_refused(void **state)
{
	gw_limit_t l = limit_of("1/s", 1);
	gw_cluster_counter_t c[GW_CLUSTER_COUNTERS_MAX + 1];
	char longs[GW_CLUSTER_SUFFIX_MAX + 2];
	gw_cluster_args_t a;

	for (size_t i = 0; i <= GW_CLUSTER_COUNTERS_MAX; i++)
		c[i] = (gw_cluster_counter_t){ "q", 1, 1, 0, true };
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, GW_CLUSTER_COUNTERS_MAX), 0);
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, GW_CLUSTER_COUNTERS_MAX + 1),
			 -EINVAL);
	c[0].suffix = NULL;
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, 1), -EINVAL);
	c[0].suffix = "";
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, 1), -EINVAL);
	c[0].suffix = "a b";
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, 1), -EINVAL);
	c[0].suffix = "{slot}";
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, 1), -EINVAL);
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	c[0].suffix = longs;
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, c, 1), -EINVAL);
	assert_int_equal(gw_cluster_build_args(&a, "p", "k", &l, NULL, 1), -EINVAL);
}

/* A reply array of integers (elements point into the caller's storage). */
struct fake {
	redisReply top;
	redisReply el[12];
	redisReply *ptr[12];
};

static redisReply *ints(struct fake *f, size_t n, const long long *v)
{
	memset(f, 0, sizeof(*f));
	f->top.type = REDIS_REPLY_ARRAY;
	f->top.elements = n;
	f->top.element = f->ptr;
	for (size_t i = 0; i < n; i++) {
		f->el[i].type = REDIS_REPLY_INTEGER;
		f->el[i].integer = v[i];
		f->ptr[i] = &f->el[i];
	}
	return &f->top;
}

static void reply_verdicts(void **state)
{
	struct fake f;
	gw_cluster_result_t r;

	assert_int_equal(gw_cluster_parse_reply(ints(&f, 4, (long long[]){ 0, 123, 5, 9 }), 2, &r),
			 0);
	assert_int_equal(r.verdict, GW_CLUSTER_ADMIT);
	assert_int_equal(r.credit_ns, 123);
	assert_int_equal(r.nvalues, 2);
	assert_int_equal(r.values[0], 5);
	assert_int_equal(r.values[1], 9);

	assert_int_equal(gw_cluster_parse_reply(ints(&f, 2, (long long[]){ 1, 7 }), 2, &r), 0);
	assert_int_equal(r.verdict, GW_CLUSTER_BUCKET);
	assert_int_equal(r.credit_ns, 7);
	assert_int_equal(r.nvalues, 0);

	assert_int_equal(gw_cluster_parse_reply(ints(&f, 4, (long long[]){ 3, 0, 1, 10 }), 2, &r),
			 0);
	assert_int_equal(r.verdict, GW_CLUSTER_COUNTER);
	assert_int_equal(r.counter, 1);
	assert_int_equal(r.values[1], 10);

	assert_int_equal(gw_cluster_parse_reply(ints(&f, 2, (long long[]){ 0, 99 }), 0, &r), 0);
	assert_int_equal(r.verdict, GW_CLUSTER_ADMIT);
}

static void reply_malformed(void **state)
{
	struct fake f;
	gw_cluster_result_t r;
	redisReply *p;

	assert_int_equal(gw_cluster_parse_reply(NULL, 0, &r), -EPROTO);
	p = ints(&f, 1, (long long[]){ 0 });
	assert_int_equal(gw_cluster_parse_reply(p, 0, &r), -EPROTO); /* too short */
	p = ints(&f, 3, (long long[]){ 0, 1, 2 });
	assert_int_equal(gw_cluster_parse_reply(p, 2, &r), -EPROTO); /* a value missing */
	p = ints(&f, 2, (long long[]){ 4, 1 });
	assert_int_equal(gw_cluster_parse_reply(p, 2, &r), -EPROTO); /* no counter 2 */
	p = ints(&f, 2, (long long[]){ -1, 1 });
	assert_int_equal(gw_cluster_parse_reply(p, 0, &r), -EPROTO);
	p = ints(&f, 2, (long long[]){ 0, -5 });
	assert_int_equal(gw_cluster_parse_reply(p, 0, &r), -EPROTO);
	p = ints(&f, 3, (long long[]){ 0, 1, 2 });
	f.el[2].type = REDIS_REPLY_NIL;
	assert_int_equal(gw_cluster_parse_reply(p, 1, &r), -EPROTO);
	p = ints(&f, 2, (long long[]){ 0, 1 });
	p->type = REDIS_REPLY_ERROR;
	assert_int_equal(gw_cluster_parse_reply(p, 0, &r), -EPROTO);
}

static void script_sha(void **state)
{
	unsigned char d[SHA_DIGEST_LENGTH];
	char hex[41];
	const char *sha = gw_cluster_script_sha();

	SHA1((const unsigned char *)gw_cluster_script, strlen(gw_cluster_script), d);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(sha, hex);
	assert_ptr_equal(sha, gw_cluster_script_sha());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(args_bucket_only),	cmocka_unit_test(args_counters),
		cmocka_unit_test(args_refused),		cmocka_unit_test(reply_verdicts),
		cmocka_unit_test(reply_malformed),	cmocka_unit_test(script_sha),
		cmocka_unit_test(resp_matches_hiredis),
	};

	return FG_RUN_TESTS(tests);
}

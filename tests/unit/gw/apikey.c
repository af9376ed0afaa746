/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/apikey.c: extraction from each source and in the configured
 * order, malformed keys, removal of the query parameter, digests, ids and generation.
 */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "gw/apikey.h"

static gw_config_t *cfg_with(const char *keys)
{
	char text[2048], err[GW_CONFIG_ERRLEN];
	gw_config_t *c;

	snprintf(text, sizeof(text),
		 "{\"listen\": [\"127.0.0.1:18080\"], \"admin\": {\"token_sha256\": "
		 "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}, "
		 "\"store\": {\"path\": \"/tmp/k.db\"}, \"upstreams\": {\"a\": {\"url\": "
		 "\"http://127.0.0.1:1\"}}, \"routes\": [{\"name\": \"r\", \"methods\": \"*\", "
		 "\"path\": \"/.*\", \"upstream\": \"a\"}], \"plans\": {}%s%s}",
		 keys ? ", \"keys\": " : "", keys ? keys : "");
	c = gw_config_parse("k.json", text, strlen(text), err, sizeof(err));
	if (!c)
		print_message("# %s\n", err);
	assert_non_null(c);
	return c;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

#define IN(h, a, q) ((gw_apikey_input_t){ (h), slen(h), (a), slen(a), (q), slen(q) })

static void expect_key(gw_config_t *c, gw_apikey_input_t in, const char *key,
		       enum gw_key_source src)
{
	char buf[GW_APIKEY_MAX];
	gw_apikey_t k;

	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), 1);
	assert_int_equal(k.len, strlen(key));
	assert_memory_equal(k.key, key, k.len);
	assert_int_equal(k.src, src);
}

static void each_source(void **state)
{
	gw_config_t *c = cfg_with(NULL);
	char buf[GW_APIKEY_MAX];
	gw_apikey_t k;
	gw_apikey_input_t none = IN(NULL, NULL, "a=1&b=2");

	expect_key(c, IN("fg_abc", NULL, NULL), "fg_abc", GW_KEY_SRC_HEADER);
	expect_key(c, IN("  fg_abc\t", NULL, NULL), "fg_abc", GW_KEY_SRC_HEADER);
	expect_key(c, IN(NULL, "Bearer fg_abc", NULL), "fg_abc", GW_KEY_SRC_BEARER);
	expect_key(c, IN(NULL, "bearer   fg_abc ", NULL), "fg_abc", GW_KEY_SRC_BEARER);
	expect_key(c, IN(NULL, NULL, "api_key=fg_abc"), "fg_abc", GW_KEY_SRC_QUERY);
	expect_key(c, IN(NULL, NULL, "x=1&api_key=fg_abc&y=2"), "fg_abc", GW_KEY_SRC_QUERY);
	expect_key(c, IN(NULL, NULL, "api%5Fkey=fg%5Fabc"), "fg_abc", GW_KEY_SRC_QUERY);
	/* other auth schemes are not ours: the next source is tried */
	expect_key(c, IN(NULL, "Basic dXNlcjpwdw==", "api_key=q"), "q", GW_KEY_SRC_QUERY);
	assert_int_equal(gw_apikey_extract(c, &none, buf, &k), 0);
	none = IN(NULL, "Basic dXNlcjpwdw==", NULL);
	assert_int_equal(gw_apikey_extract(c, &none, buf, &k), 0);
	gw_config_unref(c);
}

static void order_is_configured(void **state)
{
	gw_config_t *c = cfg_with(NULL);

	/* default order: header, bearer, query */
	expect_key(c, IN("h", "Bearer b", "api_key=q"), "h", GW_KEY_SRC_HEADER);
	expect_key(c, IN(NULL, "Bearer b", "api_key=q"), "b", GW_KEY_SRC_BEARER);
	/* an empty value is no key: it does not hide the next source's */
	expect_key(c, IN("", "Bearer b", "api_key=q"), "b", GW_KEY_SRC_BEARER);
	expect_key(c, IN(" ", "Bearer ", "api_key=q"), "q", GW_KEY_SRC_QUERY);
	gw_config_unref(c);

	c = cfg_with("{\"sources\": [\"query\", \"bearer\"], \"query_param\": \"key\"}");
	expect_key(c, IN("h", "Bearer b", "key=q"), "q", GW_KEY_SRC_QUERY);
	expect_key(c, IN("h", "Bearer b", "api_key=q"), "b", GW_KEY_SRC_BEARER);
	{
		char buf[GW_APIKEY_MAX];
		gw_apikey_t k;
		gw_apikey_input_t only_header = IN("h", NULL, NULL);

		/* the header is not an accepted source in this config */
		assert_int_equal(gw_apikey_extract(c, &only_header, buf, &k), 0);
	}
	gw_config_unref(c);
}

static void malformed(void **state)
{
	gw_config_t *c = cfg_with(NULL);
	char buf[GW_APIKEY_MAX], big[GW_APIKEY_MAX + 2];
	gw_apikey_t k;
	gw_apikey_input_t in;

	in = IN("", NULL, NULL);
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), 0); /* empty: no key */
	in = IN(" \t", NULL, NULL);
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), 0);
	in = IN("fg abc", NULL, NULL);
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), -EINVAL);
	in = IN(NULL, "Bearer ", NULL);
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), 0); /* "Bearer" alone: no key */
	in = IN(NULL, NULL, "api_key=");
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), 0);
	in = IN(NULL, NULL, "api_key=%20");
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), -EINVAL);
	in = IN(NULL, NULL, "api_key=%zz");
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), -EINVAL);
	in = IN(NULL, NULL, "api_key=a%00b");
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), -EINVAL);
	in = IN(NULL, NULL, "api_key=%");
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), -EINVAL);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	in = IN(big, NULL, NULL);
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), -EINVAL);
	big[GW_APIKEY_MAX] = '\0';
	in = IN(big, NULL, NULL);
	assert_int_equal(gw_apikey_extract(c, &in, buf, &k), 1);
	assert_false(gw_apikey_valid("\xc3\xa9", 2));
	assert_true(gw_apikey_valid("~!", 2));
	gw_config_unref(c);
}

/* gw_apikey_locate() finds what gw_apikey_extract() finds, minus the validity check. */
static void locate_is_extract_without_validity(void **state)
{
	gw_config_t *c = cfg_with(NULL);
	char big[GW_APIKEY_MAX + 2];

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const gw_apikey_input_t ins[] = {
		IN("fg_abc", NULL, NULL),
		IN("  fg_abc\t", NULL, NULL),
		IN(NULL, "Bearer fg_abc", NULL),
		IN(NULL, NULL, "x=1&api_key=fg%5Fabc"),
		IN("", NULL, NULL),
		IN("fg abc", "Bearer b", NULL),
		IN(NULL, "Bearer ", NULL),
		IN(NULL, NULL, "api_key="),
		IN(NULL, NULL, "api_key=%zz"),
		IN(NULL, NULL, "api_key=a%00b"),
		IN(NULL, NULL, "a=1"),
		IN("\xc3\xa9", NULL, NULL),
		IN(big, NULL, NULL),
	};

	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		char b1[GW_APIKEY_MAX], b2[GW_APIKEY_MAX];
		gw_apikey_t k1, k2;
		gw_apikey_input_t in = ins[i];
		int e = gw_apikey_extract(c, &in, b1, &k1);
		int l = gw_apikey_locate(c, &in, b2, &k2);

		if (l <= 0) {
			assert_int_equal(e, l);
			continue;
		}
		assert_int_equal(e, gw_apikey_valid(k2.key, k2.len) ? 1 : -EINVAL);
		if (e == 1) {
			assert_int_equal(k1.len, k2.len);
			assert_memory_equal(k1.key, k2.key, k1.len);
			assert_int_equal(k1.src, k2.src);
		}
	}
	gw_config_unref(c);
}

static void strip(const char *q, const char *want, size_t want_removed)
{
	char out[256];
	size_t removed, n = gw_apikey_strip_query(q, strlen(q), "api_key", 7, out, &removed);

	out[n] = '\0';
	assert_string_equal(out, want);
	assert_int_equal(removed, want_removed);
}

static void query_stripping(void **state)
{
	strip("api_key=abc", "", 1);
	strip("a=1&api_key=abc", "a=1", 1);
	strip("api_key=abc&a=1", "a=1", 1);
	strip("a=1&api_key=abc&b=2", "a=1&b=2", 1);
	strip("api_key=x&api_key=y", "", 2);
	strip("api%5fkey=x&b", "b", 1);
	strip("api_key", "", 1);
	strip("api_keys=1&xapi_key=2", "api_keys=1&xapi_key=2", 0);
	/* ';' separates too for some upstreams: the key goes in every reading (fuzz/apikey.c) */
	strip("a=1;api_key=abc", "a=1", 1);
	strip("a=1;api_key=abc&b=2", "a=1&b=2", 1);
	strip("a=1&api_key=abc;b=2", "a=1;b=2", 1);
	strip("q=x;y&c=3", "q=x;y&c=3", 0);
	strip("api_key;%61pi_key=2;z", "z", 2);
	strip("a=1&&b=2&", "a=1&b=2", 0);
	strip("", "", 0);
}

static void digests_and_ids(void **state)
{
	uint8_t d[32], d2[32];
	char id[GW_APIKEY_ID_LEN + 1];

	/* sha256("test") */
	gw_apikey_digest("test", 4, d);
	gw_apikey_id(d, id);
	assert_string_equal(id, "9f86d081884c7d65");
	gw_apikey_digest("test", 4, d2);
	assert_true(gw_apikey_digest_equal(d, d2));
	d2[31] ^= 1;
	assert_false(gw_apikey_digest_equal(d, d2));
}

/* Every length and every differing byte and bit position: equal exactly when equal. */
static void constant_time_equality(void **state)
{
	unsigned char a[80], b[80];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(a); len++) {
		memcpy(b, a, sizeof(b));
		assert_true(gw_apikey_ct_equal(a, b, len));
		for (size_t at = 0; at < len; at++)
			for (int bit = 0; bit < 8; bit++) {
				b[at] ^= (unsigned char)(1u << bit);
				assert_false(gw_apikey_ct_equal(a, b, len));
				b[at] ^= (unsigned char)(1u << bit);
			}
		if (len < sizeof(a)) {
			b[len] ^= 0xff; /* past the length: not compared */
			assert_true(gw_apikey_ct_equal(a, b, len));
		}
	}
}

/* Validity byte by byte, against the rule: visible ASCII only. */
static void validity_of_every_byte(void **state)
{
	char key[40];

	memset(key, 'k', sizeof(key));
	for (int c = 0; c < 256; c++)
		for (size_t at = 0; at < sizeof(key); at++) {
			key[at] = (char)c;
			assert_int_equal(gw_apikey_valid(key, sizeof(key)), c >= 0x21 && c <= 0x7e);
			/* and around it, so that a neighbour cannot hide or fake it */
			key[at ^ 1] = '~';
			assert_int_equal(gw_apikey_valid(key, sizeof(key)), c >= 0x21 && c <= 0x7e);
			key[at ^ 1] = '!';
			assert_int_equal(gw_apikey_valid(key, sizeof(key)), c >= 0x21 && c <= 0x7e);
			key[at ^ 1] = 'k';
			key[at] = 'k';
		}
	assert_false(gw_apikey_valid(key, 0));
}

static void generation(void **state)
{
	char a[GW_APIKEY_GEN_LEN + 1], b[GW_APIKEY_GEN_LEN + 1];

	assert_int_equal(gw_apikey_generate(a), 0);
	assert_int_equal(gw_apikey_generate(b), 0);
	assert_int_equal(strlen(a), GW_APIKEY_GEN_LEN);
	assert_memory_equal(a, "fg_", 3);
	assert_true(gw_apikey_valid(a, strlen(a)));
	assert_string_not_equal(a, b);
	for (size_t i = 3; i < strlen(a); i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_",
				       a[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_source),
		cmocka_unit_test(order_is_configured),
		cmocka_unit_test(malformed),
		cmocka_unit_test(locate_is_extract_without_validity),
		cmocka_unit_test(query_stripping),
		cmocka_unit_test(digests_and_ids),
		cmocka_unit_test(generation),
		cmocka_unit_test(constant_time_equality),
		cmocka_unit_test(validity_of_every_byte),
	};
	return FG_RUN_TESTS(tests);
}

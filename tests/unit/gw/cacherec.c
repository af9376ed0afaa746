/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/cacherec.c: the shared cache layer's record - round trips,
 * every truncation and every single-byte corruption of a record rejected or decoded to
 * something valid (never a crash), foreign values, fields a response must not carry.
 */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gw/cacherec.h"

static gw_cacherec_t sample(void)
{
	gw_cacherec_t r = { 0 };

	r.status = 200;
	r.fresh_ms = 60000;
	r.swr_ms = 5000;
	r.sie_ms = 0;
	r.initial_age_s = 3;
	r.ttl_ms = 65000;
	r.key = "GET /v1/items?a=1\nx-tenant: a\n";
	r.key_len = strlen(r.key);
	r.reason = "OK";
	r.reason_len = 2;
	r.nvary = 2;
	r.vary[0] = (gw_cacherec_field_t){ "accept-language", 15, "de", 2 };
	r.vary[1] = (gw_cacherec_field_t){ "x-absent", 8, NULL, 0 };
	r.nheaders = 3;
	r.headers[0] = (gw_cacherec_field_t){ "Content-Type", 12, "application/json", 16 };
	r.headers[1] = (gw_cacherec_field_t){ "cache-control", 13, "max-age=60", 10 };
	r.headers[2] = (gw_cacherec_field_t){ "x-empty", 7, "", 0 };
	r.body = "{\"id\":1}\0binary";
	r.body_len = 15;
	return r;
}

static char *encode(const gw_cacherec_t *r, size_t *len)
{
	size_t n = gw_cacherec_size(r);
	char *buf = malloc(n ? n : 1);

	assert_non_null(buf);
	assert_true(n > 0);
	assert_int_equal(gw_cacherec_encode(r, buf), n);
	*len = n;
	return buf;
}

static void field_equal(const gw_cacherec_field_t *a, const gw_cacherec_field_t *b)
{
	assert_int_equal(a->name_len, b->name_len);
	assert_memory_equal(a->name, b->name, a->name_len);
	assert_true(!a->value == !b->value);
	if (a->value) {
		assert_int_equal(a->value_len, b->value_len);
		if (a->value_len)
			assert_memory_equal(a->value, b->value, a->value_len);
	}
}

static void round_trip(void **state)
{
	gw_cacherec_t r = sample(), d;
	size_t len;
	char *buf = encode(&r, &len);

	assert_int_equal(gw_cacherec_decode(buf, len, &d), 0);
	assert_int_equal(d.status, 200);
	assert_true(d.fresh_ms == 60000 && d.swr_ms == 5000 && d.sie_ms == 0);
	assert_true(d.initial_age_s == 3 && d.ttl_ms == 65000);
	assert_int_equal(d.key_len, r.key_len);
	assert_memory_equal(d.key, r.key, r.key_len);
	assert_int_equal(d.reason_len, 2);
	assert_memory_equal(d.reason, "OK", 2);
	assert_int_equal(d.nvary, 2);
	field_equal(&d.vary[0], &r.vary[0]);
	field_equal(&d.vary[1], &r.vary[1]);
	assert_null(d.vary[1].value); /* absent stays absent, not empty */
	assert_int_equal(d.nheaders, 3);
	for (size_t i = 0; i < 3; i++)
		field_equal(&d.headers[i], &r.headers[i]);
	assert_int_equal(d.body_len, 15);
	assert_memory_equal(d.body, r.body, 15); /* binary body, NUL included */
	free(buf);

	/* the smallest record: no vary, no header, no body, no reason */
	r.nvary = r.nheaders = r.body_len = r.reason_len = 0;
	buf = encode(&r, &len);
	assert_int_equal(gw_cacherec_decode(buf, len, &d), 0);
	assert_int_equal(d.nheaders, 0);
	assert_int_equal(d.body_len, 0);
	free(buf);
}

static void truncated(void **state)
{
	gw_cacherec_t r = sample(), d;
	size_t len;
	char *buf = encode(&r, &len);

	for (size_t n = 0; n < len; n++) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		assert_int_equal(gw_cacherec_decode(cut, n, &d), -EINVAL);
		free(cut);
	}
	assert_int_equal(gw_cacherec_decode(NULL, 0, &d), -EINVAL);
	/* bytes after the record */
	{
		char *more = malloc(len + 1);

		memcpy(more, buf, len);
		more[len] = 'x';
		assert_int_equal(gw_cacherec_decode(more, len + 1, &d), -EINVAL);
		free(more);
	}
	free(buf);
}

static void corrupt(void **state)
{
	gw_cacherec_t r = sample(), d;
	size_t len, ok = 0;
	char *buf = encode(&r, &len);

	/* every byte flipped, one at a time: rejected, or a record whose fields are sane */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *c = malloc(len);
			int rc;

			memcpy(c, buf, len);
			c[i] ^= (char)(1 << bit);
			rc = gw_cacherec_decode(c, len, &d);
			assert_true(rc == 0 || rc == -EINVAL);
			if (!rc) {
				ok++;
				assert_true(d.status >= 100 && d.status <= 599);
				assert_true(d.body + d.body_len <= c + len);
				for (size_t h = 0; h < d.nheaders; h++)
					assert_null(memchr(d.headers[h].value, '\n',
							   d.headers[h].value_len));
			}
			free(c);
		}
	}
	assert_true(ok > 0); /* flips inside the body or a value stay decodable */
	/* a foreign value, another version */
	assert_int_equal(gw_cacherec_decode("hello world, not a record", 25, &d), -EINVAL);
	buf[3] = GW_CACHEREC_VERSION + 1;
	assert_int_equal(gw_cacherec_decode(buf, len, &d), -EINVAL);
	free(buf);
}

static void refused_fields(void **state)
{
	gw_cacherec_t r = sample(), d;
	size_t len;
	char *buf;

	/* a header value carrying a line break would inject a header: encoded, never decoded */
	r.headers[0].value = "text/plain\r\nx-evil: 1";
	r.headers[0].value_len = strlen(r.headers[0].value);
	buf = encode(&r, &len);
	assert_int_equal(gw_cacherec_decode(buf, len, &d), -EINVAL);
	free(buf);

	r = sample();
	r.headers[1].name = "bad name";
	r.headers[1].name_len = 8;
	buf = encode(&r, &len);
	assert_int_equal(gw_cacherec_decode(buf, len, &d), -EINVAL);
	free(buf);

	r = sample();
	r.status = 99;
	assert_int_equal(gw_cacherec_size(&r), 0);
	r = sample();
	r.nheaders = GW_CACHEREC_HEADERS_MAX + 1;
	assert_int_equal(gw_cacherec_size(&r), 0);
	r = sample();
	r.nvary = GW_CACHEREC_VARY_MAX + 1;
	assert_int_equal(gw_cacherec_size(&r), 0);
	r = sample();
	r.key_len = 0;
	buf = encode(&r, &len);
	assert_int_equal(gw_cacherec_decode(buf, len, &d), -EINVAL); /* a record has a key */
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(truncated),
		cmocka_unit_test(corrupt),
		cmocka_unit_test(refused_fields),
	};

	return FG_RUN_TESTS(tests);
}

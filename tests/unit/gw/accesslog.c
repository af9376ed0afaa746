/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/accesslog.c: each line is one valid JSON object whatever the
 * bytes of the request, long URIs are cut, the buffer asks to be flushed before it fills.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "gw/accesslog.h"

static gw_accesslog_entry_t entry(const char *uri)
{
	return (gw_accesslog_entry_t){
		.time = { .tv_sec = 1738324800, .tv_usec = 123456 },
		.client = "2001:2::7",
		.method = "GET",
		.method_len = 3,
		.uri = uri,
		.uri_len = strlen(uri),
		.proto = "HTTP/2",
		.status = 429,
		.bytes = 169,
		.duration_ns = 1234567,
		.route = "items",
		.plan = "free",
		.key_id = "9f86d081884c7d65",
		.reason = "rate-limited",
		.upstream_ns = -1,
	};
}

static void one_json_line(void **state)
{
	gw_accesslog_t l;
	gw_accesslog_entry_t e = entry("/v1/items?a=\"b\"&c=\\\x01\xff");
	json_t *o;

	assert_int_equal(gw_accesslog_init(&l, 0), 0);
	assert_int_equal(gw_accesslog_append(&l, &e), 0);
	assert_int_equal(l.buf[l.len - 1], '\n');
	assert_null(memchr(l.buf, '\n', l.len - 1));
	l.buf[l.len] = '\0';
	o = json_loads(l.buf, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "time")),
			    "2025-01-31T12:00:00.123Z");
	assert_string_equal(json_string_value(json_object_get(o, "uri")),
			    "/v1/items?a=\"b\"&c=\\\x01\xc3\xbf");
	assert_int_equal(json_integer_value(json_object_get(o, "status")), 429);
	assert_true(json_is_null(json_object_get(o, "upstream_ms")));
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "rate-limited");
	assert_true(json_real_value(json_object_get(o, "ms")) > 1.2);
	json_decref(o);
	gw_accesslog_dispose(&l);
}

static void long_uri_and_flush(void **state)
{
	char *uri = malloc(10000);
	gw_accesslog_t l;
	gw_accesslog_entry_t e;
	int lines = 0, full = 0;
	char path[] = "/tmp/fg-unit-accesslog-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char line[20000];

	memset(uri, 'a', 9999);
	uri[0] = '/';
	uri[9999] = '\0';
	e = entry(uri);
	e.upstream_ns = 800000;
	e.reason = NULL;
	assert_int_equal(gw_accesslog_init(&l, 65536), 0);
	while (!full && lines < 1000) {
		full = gw_accesslog_append(&l, &e);
		lines++;
	}
	assert_true(full);
	gw_accesslog_flush(&l, fd);
	assert_int_equal(l.len, 0);
	close(fd);
	f = fopen(path, "r");
	for (int n = 0; n < lines; n++) {
		json_t *o;

		assert_non_null(fgets(line, sizeof(line), f));
		o = json_loads(line, 0, NULL);
		assert_non_null(o);
		assert_int_equal(strlen(json_string_value(json_object_get(o, "uri"))), 2048);
		assert_true(json_is_null(json_object_get(o, "reason")));
		json_decref(o);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	gw_accesslog_dispose(&l);
	free(uri);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_json_line),
		cmocka_unit_test(long_uri_and_flush),
	};
	return FG_RUN_TESTS(tests);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/problem.c: every problem renders as RFC 9457 JSON with its
 * stable type, status, title and detail; slugs are unique; h2o's statuses map sensibly.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/problem.h"

static void every_problem_renders(void **state)
{
	for (int p = 1; p < GW_PROBLEM_MAX; p++) {
		const gw_problem_info_t *i = gw_problem_info((enum gw_problem)p);
		gw_problem_body_t b;
		char type[128];
		json_t *o;

		assert_int_equal(gw_problem_render("urn:x:", (enum gw_problem)p, &b), 0);
		assert_int_equal(strlen(b.body), b.len);
		o = json_loads(b.body, 0, NULL);
		assert_non_null(o);
		snprintf(type, sizeof(type), "urn:x:%s", i->slug);
		assert_string_equal(json_string_value(json_object_get(o, "type")), type);
		assert_int_equal(json_integer_value(json_object_get(o, "status")), i->status);
		assert_true(i->status >= 400 && i->status <= 599);
		assert_true(strlen(json_string_value(json_object_get(o, "title"))) > 0);
		assert_true(strlen(json_string_value(json_object_get(o, "detail"))) > 0);
		assert_int_equal(json_object_size(o), 4);
		json_decref(o);
		free(b.body);
		for (int q = 1; q < p; q++)
			assert_string_not_equal(i->slug, gw_problem_info((enum gw_problem)q)->slug);
	}
}

static void stable_types(void **state)
{
	/* These strings are an API: clients match on them. */
	assert_string_equal(gw_problem_info(GW_PROBLEM_RATE_LIMITED)->slug, "rate-limited");
	assert_string_equal(gw_problem_info(GW_PROBLEM_MISSING_KEY)->slug, "missing-key");
	assert_string_equal(gw_problem_info(GW_PROBLEM_INVALID_KEY)->slug, "invalid-key");
	assert_string_equal(gw_problem_info(GW_PROBLEM_ROUTE_NOT_IN_PLAN)->slug,
			    "route-not-in-plan");
	assert_string_equal(gw_problem_info(GW_PROBLEM_UPSTREAM_TIMEOUT)->slug, "upstream-timeout");
	assert_int_equal(gw_problem_info(GW_PROBLEM_UPSTREAM_UNAVAILABLE)->status, 502);
	assert_int_equal(gw_problem_info(GW_PROBLEM_BLOCKED_KEY)->status, 403);
	assert_int_equal(gw_problem_info((enum gw_problem)999)->status, 500);
}

static void h2o_statuses(void **state)
{
	assert_int_equal(gw_problem_of_status(413), GW_PROBLEM_PAYLOAD_TOO_LARGE);
	assert_int_equal(gw_problem_of_status(431), GW_PROBLEM_HEADERS_TOO_LARGE);
	assert_int_equal(gw_problem_of_status(400), GW_PROBLEM_BAD_REQUEST);
	assert_int_equal(gw_problem_of_status(417), GW_PROBLEM_BAD_REQUEST);
	assert_int_equal(gw_problem_of_status(503), GW_PROBLEM_UNAVAILABLE);
	assert_int_equal(gw_problem_of_status(500), GW_PROBLEM_INTERNAL);
}

static void escaping(void **state)
{
	gw_problem_body_t b;
	json_t *o;

	/* a type base with a quote still yields valid JSON */
	assert_int_equal(gw_problem_render("urn:\"q\":", GW_PROBLEM_NOT_FOUND, &b), 0);
	o = json_loads(b.body, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "urn:\"q\":not-found");
	json_decref(o);
	free(b.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_problem_renders),
		cmocka_unit_test(stable_types),
		cmocka_unit_test(h2o_statuses),
		cmocka_unit_test(escaping),
	};
	return FG_RUN_TESTS(tests);
}

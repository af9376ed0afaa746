/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/metrics.c: counting per thread, summing across threads in the
 * Prometheus text, the latency histogram's cumulative buckets, and the overflow series.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "gw/intern.h"
#include "gw/metrics.h"

static void has(const char *text, const char *line)
{
	if (!strstr(text, line)) {
		print_message("# missing '%s' in:\n%s\n", line, text);
		fail();
	}
}

static void sums_threads(void **state)
{
	gw_metrics_t *m[2] = { gw_metrics_new(), gw_metrics_new() };
	gw_metrics_globals_t g = {
		.keys_loaded = 7, .reloads_ok = 2, .reloads_failed = 1, .config_generation = 3
	};
	uint16_t route = gw_intern("m-items"), plan = gw_intern("m-free"), up = gw_intern("m-api");
	size_t len;
	char *t;

	for (int i = 0; i < 3; i++)
		gw_metrics_request(m[0], route, plan, 200);
	gw_metrics_request(m[1], route, plan, 200);
	gw_metrics_request(m[1], route, plan, 429);
	gw_metrics_request(m[1], 0, 0, 404);
	gw_metrics_rejection(m[0], GW_PROBLEM_RATE_LIMITED);
	gw_metrics_rejection(m[1], GW_PROBLEM_RATE_LIMITED);
	gw_metrics_upstream_latency(m[0], up, 300000);	    /* 0.3 ms */
	gw_metrics_upstream_latency(m[1], up, 7000000);	    /* 7 ms */
	gw_metrics_upstream_latency(m[1], up, 20000000000); /* 20 s: +Inf */
	gw_metrics_upstream_error(m[0], up, GW_UPSTREAM_TIMEOUT);
	gw_metrics_gauge_add(&m[0]->connections, 3);
	gw_metrics_gauge_add(&m[0]->connections, -1);
	t = gw_metrics_render(m, 2, &g, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	has(t, "floodgate_requests_total{route=\"m-items\",status=\"200\",plan=\"m-free\"} 4\n");
	has(t, "floodgate_requests_total{route=\"m-items\",status=\"429\",plan=\"m-free\"} 1\n");
	has(t, "floodgate_requests_total{route=\"\",status=\"404\",plan=\"\"} 1\n");
	has(t, "floodgate_rejections_total{reason=\"rate-limited\"} 2\n");
	has(t, "floodgate_rejections_total{reason=\"not-found\"} 0\n");
	has(t, "floodgate_upstream_latency_seconds_bucket{upstream=\"m-api\",le=\"0.0005\"} 1\n");
	has(t, "floodgate_upstream_latency_seconds_bucket{upstream=\"m-api\",le=\"0.01\"} 2\n");
	has(t, "floodgate_upstream_latency_seconds_bucket{upstream=\"m-api\",le=\"10\"} 2\n");
	has(t, "floodgate_upstream_latency_seconds_bucket{upstream=\"m-api\",le=\"+Inf\"} 3\n");
	has(t, "floodgate_upstream_latency_seconds_count{upstream=\"m-api\"} 3\n");
	has(t, "floodgate_upstream_latency_seconds_sum{upstream=\"m-api\"} 20.007300\n");
	has(t, "floodgate_upstream_errors_total{upstream=\"m-api\",kind=\"timeout\"} 1\n");
	has(t, "floodgate_upstream_errors_total{upstream=\"m-api\",kind=\"refused\"} 0\n");
	has(t, "floodgate_keys_loaded 7\n");
	has(t, "floodgate_config_reloads_total{result=\"failed\"} 1\n");
	has(t, "floodgate_config_generation 3\n");
	has(t, "floodgate_connections 2\n");
	has(t, "# TYPE floodgate_upstream_latency_seconds histogram\n");
	free(t);
	gw_metrics_free(m[0]);
	gw_metrics_free(m[1]);
}

static void overflow_series(void **state)
{
	gw_metrics_t *m = gw_metrics_new();
	gw_metrics_globals_t g = { 0 };
	size_t len;
	char *t;

	/* more distinct series than one thread tracks: the rest is counted, not lost */
	for (int s = 100; s < 100 + GW_METRICS_SERIES + 10; s++)
		gw_metrics_request(m, 1, 1, s);
	t = gw_metrics_render(&m, 1, &g, &len);
	has(t, "floodgate_requests_total{route=\"other\",status=\"other\",plan=\"other\"} 10\n");
	free(t);
	gw_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sums_threads),
		cmocka_unit_test(overflow_series),
	};
	return FG_RUN_TESTS(tests);
}

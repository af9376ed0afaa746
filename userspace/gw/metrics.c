/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics.c - per-thread counters and the Prometheus renderer (see metrics.h).
 *
 * Single writer per block: an increment is a relaxed load and a relaxed store, not a
 * locked read-modify-write, and a reader on another thread sees some recent value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/intern.h"
#include "gw/metrics.h"
#include "gw/textbuf.h"

#define LOAD(x)	    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define INC(x)	    STORE(x, LOAD(x) + 1)

static const uint64_t bounds_us[GW_METRICS_BUCKETS] = {
	500,	1000,	2500,	5000,	 10000,	  25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

static const char *const error_kinds[GW_UPSTREAM_ERROR_MAX] = { "refused", "timeout", "error" };

gw_metrics_t *gw_metrics_new(void)
{
	return calloc(1, sizeof(gw_metrics_t));
}

void gw_metrics_free(gw_metrics_t *m)
{
	free(m);
}

void gw_metrics_request(gw_metrics_t *m, uint16_t route, uint16_t plan, int status)
{
	uint64_t key = (uint64_t)route << 32 | (uint64_t)plan << 16 | ((uint64_t)status & 0xffff);
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 53) & (GW_METRICS_SERIES - 1);

	if (!key)
		key = 1; /* status 0 never happens; keep 0 as "free" */
	for (size_t probe = 0; probe < GW_METRICS_SERIES;
	     probe++, i = (i + 1) & (GW_METRICS_SERIES - 1)) {
		uint64_t k = LOAD(m->series[i].key);

		if (k == key) {
			INC(m->series[i].count);
			return;
		}
		if (!k) {
			STORE(m->series[i].count, 1);
			/* the count is in place before the key makes the slot visible */
			__atomic_store_n(&m->series[i].key, key, __ATOMIC_RELEASE);
			return;
		}
	}
	INC(m->overflow);
}

void gw_metrics_rejection(gw_metrics_t *m, enum gw_problem p)
{
	if ((unsigned)p < GW_PROBLEM_MAX)
		INC(m->rejections[p]);
}

static int upstream_slot(gw_metrics_t *m, uint16_t id)
{
	for (int i = 0; i < GW_METRICS_UPSTREAMS; i++) {
		uint16_t have = __atomic_load_n(&m->upstreams[i].id, __ATOMIC_ACQUIRE);

		if (have == id)
			return i;
		if (!have) {
			__atomic_store_n(&m->upstreams[i].id, id, __ATOMIC_RELEASE);
			return i;
		}
	}
	return -1;
}

void gw_metrics_upstream_latency(gw_metrics_t *m, uint16_t upstream, uint64_t ns)
{
	int s = upstream_slot(m, upstream);
	uint64_t us = ns / 1000;
	int b = 0;

	if (s < 0)
		return;
	while (b < GW_METRICS_BUCKETS && us > bounds_us[b])
		b++;
	INC(m->upstreams[s].buckets[b]);
	STORE(m->upstreams[s].sum_us, LOAD(m->upstreams[s].sum_us) + us);
	INC(m->upstreams[s].count);
}

void gw_metrics_upstream_error(gw_metrics_t *m, uint16_t upstream, enum gw_upstream_error e)
{
	int s = upstream_slot(m, upstream);

	if (s >= 0 && (unsigned)e < GW_UPSTREAM_ERROR_MAX)
		INC(m->upstreams[s].errors[e]);
}

void gw_metrics_gauge_add(uint64_t *gauge, int64_t delta)
{
	STORE(*gauge, LOAD(*gauge) + (uint64_t)delta);
}

/* ---- rendering ---- */

struct agg {
	uint64_t key, count;
};

static int cmp_agg(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static const char *label(uint16_t id)
{
	return id ? gw_intern_name(id) : "";
}

char *gw_metrics_render(gw_metrics_t *const *m, size_t n, const gw_metrics_globals_t *g,
			size_t *len)
{
	gw_textbuf_t o = { .cap = 16384 };
	struct agg *agg;
	size_t nagg = 0, cap = GW_METRICS_SERIES * (n ? n : 1);
	uint64_t overflow = 0, conns = 0, inflight = 0;

	o.buf = malloc(o.cap);
	agg = malloc(cap * sizeof(*agg));
	if (!o.buf || !agg) {
		free(o.buf);
		free(agg);
		return NULL;
	}
	for (size_t t = 0; t < n; t++) {
		for (size_t i = 0; i < GW_METRICS_SERIES; i++) {
			uint64_t k = __atomic_load_n(&m[t]->series[i].key, __ATOMIC_ACQUIRE);

			if (k)
				agg[nagg++] = (struct agg){ k, LOAD(m[t]->series[i].count) };
		}
		overflow += LOAD(m[t]->overflow);
		conns += LOAD(m[t]->connections);
		inflight += LOAD(m[t]->in_flight);
	}
	qsort(agg, nagg, sizeof(*agg), cmp_agg);

	gw_textbuf_put(
		&o,
		"# HELP floodgate_requests_total Requests answered, by route, status and plan.\n"
		"# TYPE floodgate_requests_total counter\n");
	for (size_t i = 0; i < nagg;) {
		uint64_t k = agg[i].key, sum = 0;

		for (; i < nagg && agg[i].key == k; i++)
			sum += agg[i].count;
		gw_textbuf_put(
			&o,
			"floodgate_requests_total{route=\"%s\",status=\"%u\",plan=\"%s\"} %llu\n",
			label((uint16_t)(k >> 32)), (unsigned)(k & 0xffff),
			label((uint16_t)(k >> 16)), (unsigned long long)sum);
	}
	if (overflow)
		gw_textbuf_put(
			&o,
			"floodgate_requests_total{route=\"other\",status=\"other\",plan=\"other\"} "
			"%llu\n",
			(unsigned long long)overflow);

	gw_textbuf_put(
		&o, "# HELP floodgate_rejections_total Requests refused by the gateway, by problem "
		    "type.\n# TYPE floodgate_rejections_total counter\n");
	for (int p = 1; p < GW_PROBLEM_MAX; p++) {
		uint64_t sum = 0;

		for (size_t t = 0; t < n; t++)
			sum += LOAD(m[t]->rejections[p]);
		gw_textbuf_put(&o, "floodgate_rejections_total{reason=\"%s\"} %llu\n",
			       gw_problem_info((enum gw_problem)p)->slug, (unsigned long long)sum);
	}

	gw_textbuf_put(
		&o,
		"# HELP floodgate_upstream_latency_seconds Time from sending a request upstream "
		"to its response head.\n# TYPE floodgate_upstream_latency_seconds histogram\n");
	{
		uint16_t ids[GW_METRICS_UPSTREAMS * 4];
		size_t nids = 0;

		for (size_t t = 0; t < n; t++) {
			for (int s = 0; s < GW_METRICS_UPSTREAMS; s++) {
				uint16_t id =
					__atomic_load_n(&m[t]->upstreams[s].id, __ATOMIC_ACQUIRE);
				size_t j;

				if (!id)
					break;
				for (j = 0; j < nids && ids[j] != id; j++)
					;
				if (j == nids && nids < sizeof(ids) / sizeof(ids[0]))
					ids[nids++] = id;
			}
		}
		for (size_t j = 0; j < nids; j++) {
			uint64_t b[GW_METRICS_BUCKETS + 1] = { 0 }, sum = 0, count = 0,
							errs[GW_UPSTREAM_ERROR_MAX] = { 0 },
							cum = 0;

			for (size_t t = 0; t < n; t++) {
				for (int s = 0; s < GW_METRICS_UPSTREAMS; s++) {
					if (__atomic_load_n(&m[t]->upstreams[s].id,
							    __ATOMIC_ACQUIRE) != ids[j])
						continue;
					for (int k = 0; k <= GW_METRICS_BUCKETS; k++)
						b[k] += LOAD(m[t]->upstreams[s].buckets[k]);
					sum += LOAD(m[t]->upstreams[s].sum_us);
					count += LOAD(m[t]->upstreams[s].count);
					for (int e = 0; e < GW_UPSTREAM_ERROR_MAX; e++)
						errs[e] += LOAD(m[t]->upstreams[s].errors[e]);
				}
			}
			for (int k = 0; k < GW_METRICS_BUCKETS; k++) {
				cum += b[k];
				gw_textbuf_put(&o,
					       "floodgate_upstream_latency_seconds_bucket{upstream="
					       "\"%s\",le="
					       "\"%g\"} "
					       "%llu\n",
					       label(ids[j]), (double)bounds_us[k] / 1e6,
					       (unsigned long long)cum);
			}
			cum += b[GW_METRICS_BUCKETS];
			gw_textbuf_put(
				&o,
				"floodgate_upstream_latency_seconds_bucket{upstream=\"%s\",le=\"+"
				"Inf\"}"
				" "
				"%llu\n"
				"floodgate_upstream_latency_seconds_sum{upstream=\"%s\"} %.6f\n"
				"floodgate_upstream_latency_seconds_count{upstream=\"%s\"} %llu\n",
				label(ids[j]), (unsigned long long)cum, label(ids[j]),
				(double)sum / 1e6, label(ids[j]), (unsigned long long)count);
			for (int e = 0; e < GW_UPSTREAM_ERROR_MAX; e++)
				gw_textbuf_put(&o,
					       "floodgate_upstream_errors_total{upstream=\"%s\","
					       "kind=\"%s\"} "
					       "%llu\n",
					       label(ids[j]), error_kinds[e],
					       (unsigned long long)errs[e]);
		}
	}

	gw_textbuf_put(
		&o,
		"# HELP floodgate_keys_loaded API keys in the in-memory table.\n"
		"# TYPE floodgate_keys_loaded gauge\nfloodgate_keys_loaded %llu\n"
		"# HELP floodgate_config_reloads_total Config reloads (SIGHUP), by result.\n"
		"# TYPE floodgate_config_reloads_total counter\n"
		"floodgate_config_reloads_total{result=\"ok\"} %llu\n"
		"floodgate_config_reloads_total{result=\"failed\"} %llu\n"
		"# HELP floodgate_config_generation Generation of the running config (1 at "
		"start).\n"
		"# TYPE floodgate_config_generation gauge\nfloodgate_config_generation %llu\n"
		"# HELP floodgate_connections Client connections open.\n"
		"# TYPE floodgate_connections gauge\nfloodgate_connections %llu\n"
		"# HELP floodgate_requests_in_flight Requests being processed.\n"
		"# TYPE floodgate_requests_in_flight gauge\nfloodgate_requests_in_flight %llu\n",
		(unsigned long long)g->keys_loaded, (unsigned long long)g->reloads_ok,
		(unsigned long long)g->reloads_failed, (unsigned long long)g->config_generation,
		(unsigned long long)conns, (unsigned long long)inflight);
	gw_textbuf_put(
		&o,
		"# HELP floodgate_quota_credits_total Credits debited by admitted requests (net of "
		"refunds).\n"
		"# TYPE floodgate_quota_credits_total counter\nfloodgate_quota_credits_total %llu\n"
		"# HELP floodgate_quota_overage_total Admitted past soft quota limits, by unit.\n"
		"# TYPE floodgate_quota_overage_total counter\n"
		"floodgate_quota_overage_total{unit=\"requests\"} %llu\n"
		"floodgate_quota_overage_total{unit=\"credits\"} %llu\n"
		"# HELP floodgate_quota_refunds_total Requests refunded after an upstream "
		"failure.\n"
		"# TYPE floodgate_quota_refunds_total counter\nfloodgate_quota_refunds_total "
		"%llu\n",
		(unsigned long long)g->quota_credits, (unsigned long long)g->quota_overage[0],
		(unsigned long long)g->quota_overage[1], (unsigned long long)g->quota_refunds);
	free(agg);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

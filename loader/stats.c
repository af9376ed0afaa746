/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * stats.c - fgctl stats: the per-CPU verdict counters summed, once or every --watch
 * seconds (rates over each interval), --count times.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fgctl.h"
#include "log.h"
#include "tb.h"

struct stats_opts {
	bool json, per_cpu;
	uint64_t watch, count;
};

static const struct fgctl_arg stats_args[] = {
	{ "--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct stats_opts, json),
	  .help = "print a JSON object (with --watch: one compact object per line)" },
	{ "--watch", "SECONDS", FGCTL_ARG_U64, 0, offsetof(struct stats_opts, watch), 1,
	  FGCTL_WATCH_MAX, .help = "print the counters and their rates every SECONDS" },
	{ "--count", "N", FGCTL_ARG_U64, 0, offsetof(struct stats_opts, count), 1, 1000000,
	  .help = "with --watch: stop after N intervals (default: until interrupted)" },
	{ "--per-cpu", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct stats_opts, per_cpu),
	  .help = "also show each CPU's packets (which receive queues the traffic used)" },
	{ NULL },
};

static int stats_check(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	if (fgctl_given(p, "--count") && !fgctl_given(p, "--watch")) {
		snprintf(err, len, "--count needs --watch");
		return -EINVAL;
	}
	if (fgctl_given(p, "--per-cpu") && fgctl_given(p, "--watch")) {
		snprintf(err, len, "--per-cpu goes without --watch");
		return -EINVAL;
	}
	return 0;
}

/* prev NULL: absolute counters; else deltas and rates over `secs`. */
static json_t *stats_json(const struct edge_stat *cur, const struct edge_stat *prev, double secs,
			  uint64_t now)
{
	json_t *o = json_object(), *counters = json_object();
	uint64_t pk = 0, by = 0;

	for (uint32_t id = 0; id < EDGE_STAT_MAX; id++) {
		json_t *c = json_pack("{s:o, s:o}", "packets", fgctl_json_u64(cur[id].packets),
				      "bytes", fgctl_json_u64(cur[id].bytes));

		if (prev && c) {
			uint64_t d = cur[id].packets - prev[id].packets;

			json_object_set_new(c, "delta", fgctl_json_u64(d));
			json_object_set_new(c, "pps", json_real(secs > 0 ? d / secs : 0));
		}
		json_object_set_new(counters, fg_stat_name(id), c);
		if (id < EDGE_STAT_VERDICT_END) {
			pk += cur[id].packets;
			by += cur[id].bytes;
		}
	}
	json_object_set_new(o, "time_ns", fgctl_json_u64(now));
	if (prev)
		json_object_set_new(o, "interval_s", json_real(secs));
	json_object_set_new(o, "total",
			    json_pack("{s:o, s:o}", "packets", fgctl_json_u64(pk), "bytes",
				      fgctl_json_u64(by)));
	json_object_set_new(o, "counters", counters);
	return o;
}

static int stats_table(FILE *f, const struct edge_stat *cur, const struct edge_stat *prev,
		       double secs)
{
	static const char *const heads[] = { "COUNTER", "PACKETS", "BYTES", "PPS" };
	struct fgctl_table t;
	uint64_t pk = 0, by = 0, dt = 0;
	int err = 0;

	fgctl_table_init(&t, prev ? 4 : 3, heads, 0xe);
	for (uint32_t id = 0; id < EDGE_STAT_MAX && !err; id++) {
		char p[24], b[24], r[32];
		uint64_t d = prev ? cur[id].packets - prev[id].packets : 0;

		snprintf(p, sizeof(p), "%llu", (unsigned long long)cur[id].packets);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)cur[id].bytes);
		snprintf(r, sizeof(r), "%.0f", secs > 0 ? d / secs : 0.0);
		err = fgctl_table_add(&t, fg_stat_name(id), p, b, r);
		if (id < EDGE_STAT_VERDICT_END) {
			pk += cur[id].packets;
			by += cur[id].bytes;
			dt += d;
		}
		if (id + 1 == EDGE_STAT_VERDICT_END && !err) {
			snprintf(p, sizeof(p), "%llu", (unsigned long long)pk);
			snprintf(b, sizeof(b), "%llu", (unsigned long long)by);
			snprintf(r, sizeof(r), "%.0f", secs > 0 ? dt / secs : 0.0);
			err = fgctl_table_add(&t, "total", p, b, r);
		}
	}
	if (!err)
		fgctl_table_print(&t, f);
	fgctl_table_free(&t);
	return err;
}

/* Packets per CPU of every counter: a JSON object of arrays, or a table. */
static int per_cpu(struct fgctl_ctx *ctx, bool json)
{
	int ncpu = ctx->em->ncpu, err = 0;
	struct edge_stat *v = calloc((size_t)ncpu, sizeof(*v));
	json_t *o = json ? json_object() : NULL;

	if (!v)
		return -ENOMEM;
	if (!json)
		fprintf(ctx->out, "%-14s", "COUNTER");
	for (int cpu = 0; !json && cpu < ncpu; cpu++) {
		char head[16];

		snprintf(head, sizeof(head), "CPU%d", cpu);
		fprintf(ctx->out, " %15s", head);
	}
	if (!json)
		fputc('\n', ctx->out);
	for (uint32_t id = 0; id < EDGE_STAT_MAX && !err; id++) {
		json_t *a = json ? json_array() : NULL;

		err = fg_edgemap_stat_percpu(ctx->em, id, v);
		if (err) {
			pr_err("Couldn't read the counters: %s", strerror(-err));
			json_decref(a);
			break;
		}
		if (!json)
			fprintf(ctx->out, "%-14s", fg_stat_name(id));
		for (int cpu = 0; cpu < ncpu; cpu++) {
			if (json)
				json_array_append_new(a, fgctl_json_u64(v[cpu].packets));
			else
				fprintf(ctx->out, " %15llu", (unsigned long long)v[cpu].packets);
		}
		if (json)
			json_object_set_new(o, fg_stat_name(id), a);
		else
			fputc('\n', ctx->out);
	}
	free(v);
	if (json) {
		if (err) {
			json_decref(o);
			return err;
		}
		return fgctl_json_print(ctx->out,
					json_pack("{s:i, s:o}", "cpus", ncpu, "packets", o), false);
	}
	return err;
}

static int read_stats(struct fgctl_ctx *ctx, struct edge_stat *s)
{
	int err = fg_edgemap_stats_read(ctx->em, s);

	if (err)
		pr_err("Couldn't read the counters: %s", strerror(-err));
	return err;
}

static int run_stats(struct fgctl_ctx *ctx, const void *opts)
{
	const struct stats_opts *o = opts;
	struct edge_stat cur[EDGE_STAT_MAX], prev[EDGE_STAT_MAX];
	struct timespec next;
	uint64_t t0, t1;
	int err;

	if (o->per_cpu)
		return per_cpu(ctx, o->json);
	err = read_stats(ctx, cur);
	if (err)
		return err;
	if (!o->watch) {
		if (o->json)
			return fgctl_json_print(ctx->out, stats_json(cur, NULL, 0, fg_mono_ns()),
						false);
		return stats_table(ctx->out, cur, NULL, 0);
	}
	t0 = fg_mono_ns();
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint64_t i = 0; !o->count || i < o->count; i++) {
		memcpy(prev, cur, sizeof(cur));
		next.tv_sec += (time_t)o->watch;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		err = read_stats(ctx, cur);
		if (err)
			return err;
		t1 = fg_mono_ns();
		double secs = (double)(t1 - t0) / TB_NS_PER_S;

		if (o->json) {
			err = fgctl_json_print(ctx->out, stats_json(cur, prev, secs, t1), true);
		} else {
			fprintf(ctx->out, "%s-- %.2f s --\n", i ? "\n" : "", secs);
			err = stats_table(ctx->out, cur, prev, secs);
			fflush(ctx->out);
		}
		if (err)
			return err;
		t0 = t1;
	}
	return 0;
}

const struct fgctl_cmd fgctl_cmds_stats[] = {
	{ "stats", "Show the verdict counters (summed over CPUs)",
	  "Every packet is counted under exactly one verdict (pass_* to malformed; they add "
	  "up to\n\"total\"); a violation is also counted under its outcome: dropped, "
	  "marked or monitored.\nfragment counts non-first IP fragments on top of their "
	  "verdict.",
	  stats_args, sizeof(struct stats_opts), NULL, stats_check, run_stats, FGCTL_F_MAPS },
	{ NULL },
};

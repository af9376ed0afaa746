/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edges.c - edge CIDRs (CDN or proxy tiers): edge add, edge del, list edges. Each IP of
 * an edge CIDR gets its own bucket with the edge's rate and burst instead of the source
 * limit, since one edge IP carries many clients.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fgctl.h"
#include "log.h"

struct edge_opts {
	struct fg_cidr cidr;
	uint64_t rate, burst;
	int mode;
	bool json;
};

static const struct fgctl_choice edge_modes[] = {
	{ "drop", EDGE_MODE_DROP },
	{ "mark", EDGE_MODE_MARK },
	{ "monitor", EDGE_MODE_MONITOR },
	{ NULL },
};

static const struct fgctl_arg add_args[] = {
	{ "CIDR", "CIDR", FGCTL_ARG_CIDR, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct edge_opts, cidr), .help = "the edge's network, IPv4 or IPv6" },
	{ "--rate", "PPS", FGCTL_ARG_U64, FGCTL_REQUIRED, offsetof(struct edge_opts, rate), 1,
	  EDGE_RATE_MAX, .help = "packets per second per edge IP" },
	{ "--burst", "N", FGCTL_ARG_U64, FGCTL_REQUIRED, offsetof(struct edge_opts, burst), 1,
	  EDGE_BURST_MAX, .help = "bucket size in packets per edge IP" },
	{ "--mode", NULL, FGCTL_ARG_CHOICE, 0, offsetof(struct edge_opts, mode),
	  .choices = edge_modes, .help = "verdict over the limit (default: the config's mode)" },
	{ NULL },
};

static const struct fgctl_arg del_args[] = {
	{ "CIDR", "CIDR", FGCTL_ARG_CIDR, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct edge_opts, cidr), .help = "the edge's network, as added" },
	{ NULL },
};

static const struct fgctl_arg list_args[] = {
	{ "--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct edge_opts, json),
	  .help = "print JSON (an array of objects) instead of a table" },
	{ NULL },
};

static int run_add(struct fgctl_ctx *ctx, const void *opts)
{
	const struct edge_opts *o = opts;
	char cidr[FG_CIDR_STRLEN];
	int err;

	err = fg_edgemap_edge_put(ctx->em, &o->cidr, o->rate, o->burst, (uint32_t)o->mode,
				  EDGE_ORIGIN_MANUAL);
	if (err)
		pr_err("Couldn't add edge %s: %s", fg_cidr_format(&o->cidr, cidr, sizeof(cidr)),
		       err == -E2BIG || err == -ENOMEM ? "the edge map is full" : strerror(-err));
	return err;
}

static int run_del(struct fgctl_ctx *ctx, const void *opts)
{
	const struct edge_opts *o = opts;
	char cidr[FG_CIDR_STRLEN];
	int err;

	fg_cidr_format(&o->cidr, cidr, sizeof(cidr));
	err = fg_edgemap_edge_del(ctx->em, &o->cidr);
	if (err == -ENOENT)
		return fgctl_bad(ctx, err, "Couldn't delete edge %s: not an edge", cidr);
	if (err)
		pr_err("Couldn't delete edge %s: %s", cidr, strerror(-err));
	return err;
}

struct edges {
	struct fg_edge_entry *v;
	size_t n, cap;
};

static int collect(const struct fg_edge_entry *e, void *arg)
{
	struct edges *x = arg;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 32;
		struct fg_edge_entry *grown = realloc(x->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		x->v = grown;
		x->cap = cap;
	}
	x->v[x->n++] = *e;
	return 0;
}

static int cmp_edge(const void *pa, const void *pb)
{
	const struct fg_cidr *a = &((const struct fg_edge_entry *)pa)->cidr;
	const struct fg_cidr *b = &((const struct fg_edge_entry *)pb)->cidr;
	int d;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	d = memcmp(a->addr, b->addr, sizeof(a->addr));
	return d ? d : (int)a->prefixlen - (int)b->prefixlen;
}

static int run_list(struct fgctl_ctx *ctx, const void *opts)
{
	static const char *const heads[] = { "CIDR", "RATE", "BURST", "MODE", "ORIGIN", "HITS" };
	const struct edge_opts *o = opts;
	struct edges x = { 0 };
	struct fgctl_table t;
	int err;

	err = fg_edgemap_edge_foreach(ctx->em, collect, &x);
	if (err) {
		pr_err("Couldn't read the edges: %s", strerror(-err));
		goto out;
	}
	qsort(x.v, x.n, sizeof(*x.v), cmp_edge);
	if (o->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < x.n && a; i++) {
			const struct edge_net *e = &x.v[i].net;
			char cidr[FG_CIDR_STRLEN];

			json_array_append_new(
				a, json_pack("{s:s, s:i, s:i, s:o, s:o, s:s, s:s, s:o}", "cidr",
					     fg_cidr_format(&x.v[i].cidr, cidr, sizeof(cidr)),
					     "family", x.v[i].cidr.family == AF_INET ? 4 : 6,
					     "prefixlen", (int)x.v[i].cidr.prefixlen, "rate",
					     fgctl_json_u64(e->limit.rate), "burst",
					     fgctl_json_u64(e->limit.burst), "mode",
					     fg_mode_name(e->mode), "origin",
					     fg_origin_name(e->origin), "hits",
					     fgctl_json_u64(e->hits)));
		}
		err = fgctl_json_print(ctx->out, a, false);
		goto out;
	}
	fgctl_table_init(&t, 6, heads, (1u << 1) | (1u << 2) | (1u << 5));
	for (size_t i = 0; i < x.n && !err; i++) {
		const struct edge_net *e = &x.v[i].net;
		char cidr[FG_CIDR_STRLEN], rate[24], burst[24], hits[24];

		snprintf(rate, sizeof(rate), "%llu/s", (unsigned long long)e->limit.rate);
		snprintf(burst, sizeof(burst), "%llu", (unsigned long long)e->limit.burst);
		snprintf(hits, sizeof(hits), "%llu", (unsigned long long)e->hits);
		err = fgctl_table_add(&t, fg_cidr_format(&x.v[i].cidr, cidr, sizeof(cidr)), rate,
				      burst, fg_mode_name(e->mode), fg_origin_name(e->origin),
				      hits);
	}
	if (!err)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
out:
	free(x.v);
	return err;
}

const struct fgctl_cmd fgctl_cmds_edges[] = {
	{ "edge add", "Add or replace an edge CIDR with its per-IP limit",
	  "Packets to protected ports from an edge IP are limited by that IP's own bucket "
	  "(--rate,\n--burst) instead of the source limit, and pass lock-down. Adding an "
	  "existing edge\nreplaces its limit and mode (hits kept).",
	  add_args, sizeof(struct edge_opts), NULL, NULL, run_add, FGCTL_F_MAPS },
	{ "edge del", "Delete an edge CIDR", NULL, del_args, sizeof(struct edge_opts), NULL, NULL,
	  run_del, FGCTL_F_MAPS },
	{ "list edges", "List the edge CIDRs with their limits and hits", NULL, list_args,
	  sizeof(struct edge_opts), NULL, NULL, run_list, FGCTL_F_MAPS },
	{ NULL },
};

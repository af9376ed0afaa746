/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lists.c - the allowlist and blocklist: block, unblock, allow, disallow, list blocks,
 * list allows, sweep; and list marked (the sources the program marked).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fgctl.h"
#include "log.h"
#include "tb.h"

struct rule_opts {
	struct fg_cidr cidr;
	uint64_t ttl;
	int mode;
};

struct list_opts {
	bool json;
};

static const struct fgctl_choice rule_modes[] = {
	{ "drop", EDGE_MODE_DROP },
	{ "mark", EDGE_MODE_MARK },
	{ "monitor", EDGE_MODE_MONITOR },
	{ NULL },
};

#define CIDR_ARG(verb)                                                                             \
	{                                                                                          \
		"CIDR", "CIDR", FGCTL_ARG_CIDR, FGCTL_POSITIONAL | FGCTL_REQUIRED,                 \
			offsetof(struct rule_opts, cidr),                                          \
			.help = "address or network to " verb                                      \
				", IPv4 or IPv6 (198.18.0.1, 2001:2::/48)"                         \
	}
#define TTL_ARG                                                                                    \
	{                                                                                          \
		"--ttl", "SECONDS", FGCTL_ARG_TTL, 0, offsetof(struct rule_opts, ttl),             \
			.help = "remove it after this long: N or N with s, m, h, d (at most 10 "   \
				"years); "                                                         \
				"default: never"                                                   \
	}
#define JSON_ARG(type)                                                                             \
	{                                                                                          \
		"--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(type, json),                           \
			.help = "print JSON (an array of objects) instead of a table"              \
	}

static const struct fgctl_arg block_args[] = {
	CIDR_ARG("block"),
	TTL_ARG,
	{ "--mode", NULL, FGCTL_ARG_CHOICE, 0, offsetof(struct rule_opts, mode),
	  .choices = rule_modes,
	  .help = "verdict for this entry (default: the config's mode, see fgctl mode)" },
	{ NULL },
};
static const struct fgctl_arg allow_args[] = { CIDR_ARG("allow"), TTL_ARG, { NULL } };
static const struct fgctl_arg unblock_args[] = { CIDR_ARG("unblock"), { NULL } };
static const struct fgctl_arg disallow_args[] = { CIDR_ARG("disallow"), { NULL } };
static const struct fgctl_arg list_args[] = { JSON_ARG(struct list_opts), { NULL } };

static const char *cidr_text(const struct fg_cidr *c, char *buf)
{
	return fg_cidr_format(c, buf, FG_CIDR_STRLEN);
}

/* ---- block, allow ---- */

static int put_rule(struct fgctl_ctx *ctx, enum fg_list list, const struct rule_opts *o)
{
	char cidr[FG_CIDR_STRLEN], other[FG_CIDR_STRLEN];
	struct fg_rule_entry hit;
	struct fg_edge_entry edge;
	int err;

	err = fg_edgemap_rule_put(ctx->em, list, &o->cidr, o->ttl, (uint32_t)o->mode,
				  EDGE_ORIGIN_MANUAL);
	if (err) {
		pr_err("Couldn't %s %s: %s", list == FG_LIST_BLOCK ? "block" : "allow",
		       cidr_text(&o->cidr, cidr),
		       err == -E2BIG || err == -ENOMEM ? "the list is full" : strerror(-err));
		return err;
	}
	if (list == FG_LIST_BLOCK && fg_cidr_is_host(&o->cidr)) {
		if (!fg_edgemap_rule_match(ctx->em, FG_LIST_ALLOW, &o->cidr, fg_mono_ns(), &hit))
			pr_warn("%s is also allowlisted (%s): the allowlist wins",
				cidr_text(&o->cidr, cidr), cidr_text(&hit.cidr, other));
		if (!fg_edgemap_edge_match(ctx->em, &o->cidr, &edge))
			pr_warn("%s is inside edge %s: blocking an edge IP blocks every client "
				"behind it",
				cidr_text(&o->cidr, cidr), cidr_text(&edge.cidr, other));
	}
	pr_info("%s %s", list == FG_LIST_BLOCK ? "Blocked" : "Allowed", cidr_text(&o->cidr, cidr));
	return 0;
}

static int run_block(struct fgctl_ctx *ctx, const void *opts)
{
	return put_rule(ctx, FG_LIST_BLOCK, opts);
}

static int run_allow(struct fgctl_ctx *ctx, const void *opts)
{
	return put_rule(ctx, FG_LIST_ALLOW, opts);
}

/* ---- unblock, disallow ---- */

static int del_rule(struct fgctl_ctx *ctx, enum fg_list list, const struct rule_opts *o)
{
	const char *verb = list == FG_LIST_BLOCK ? "unblock" : "disallow";
	char cidr[FG_CIDR_STRLEN], other[FG_CIDR_STRLEN];
	struct fg_rule_entry cover;
	int err;

	err = fg_edgemap_rule_del(ctx->em, list, &o->cidr);
	if (err == -ENOENT) {
		if (fg_cidr_is_host(&o->cidr) &&
		    !fg_edgemap_rule_match(ctx->em, list, &o->cidr, fg_mono_ns(), &cover))
			return fgctl_bad(ctx, err, "Couldn't %s %s: not in the %s (%s is)", verb,
					 cidr_text(&o->cidr, cidr), fg_list_name(list),
					 cidr_text(&cover.cidr, other));
		return fgctl_bad(ctx, err, "Couldn't %s %s: not in the %s", verb,
				 cidr_text(&o->cidr, cidr), fg_list_name(list));
	}
	if (err)
		pr_err("Couldn't %s %s: %s", verb, cidr_text(&o->cidr, cidr), strerror(-err));
	return err;
}

static int run_unblock(struct fgctl_ctx *ctx, const void *opts)
{
	return del_rule(ctx, FG_LIST_BLOCK, opts);
}

static int run_disallow(struct fgctl_ctx *ctx, const void *opts)
{
	return del_rule(ctx, FG_LIST_ALLOW, opts);
}

/* ---- list blocks, list allows ---- */

struct rules {
	struct fg_rule_entry *v;
	size_t n, cap;
};

static int collect_rule(const struct fg_rule_entry *e, void *arg)
{
	struct rules *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct fg_rule_entry *grown = realloc(r->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		r->v = grown;
		r->cap = cap;
	}
	r->v[r->n++] = *e;
	return 0;
}

static int cmp_cidr(const struct fg_cidr *a, const struct fg_cidr *b)
{
	int d;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	d = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (d)
		return d;
	return (int)a->prefixlen - (int)b->prefixlen;
}

static int cmp_rule(const void *a, const void *b)
{
	return cmp_cidr(&((const struct fg_rule_entry *)a)->cidr,
			&((const struct fg_rule_entry *)b)->cidr);
}

static json_t *rule_json(const struct fg_rule_entry *e, enum fg_list list, uint64_t now)
{
	const struct edge_rule *r = &e->rule;
	char cidr[FG_CIDR_STRLEN];
	json_t *ttl;

	if (!r->expires_ns)
		ttl = json_null();
	else if (r->expires_ns <= now)
		ttl = json_integer(0);
	else
		ttl = fgctl_json_u64((r->expires_ns - now + TB_NS_PER_S - 1) / TB_NS_PER_S);
	json_t *o = json_pack(
		"{s:s, s:i, s:i, s:s, s:o, s:b, s:o, s:o, s:o}", "cidr", cidr_text(&e->cidr, cidr),
		"family", e->cidr.family == AF_INET ? 4 : 6, "prefixlen", (int)e->cidr.prefixlen,
		"origin", fg_origin_name(r->origin), "ttl_s", ttl, "expired",
		fg_rule_expired(r, now), "expires_ns", fgctl_json_u64(r->expires_ns), "created_ns",
		fgctl_json_u64(r->created_ns), "hits", fgctl_json_u64(r->hits));

	if (o && list == FG_LIST_BLOCK)
		json_object_set_new(o, "mode", json_string(fg_mode_name(r->mode)));
	return o;
}

static int list_rules(struct fgctl_ctx *ctx, enum fg_list list, bool json)
{
	static const char *const heads_block[] = { "CIDR", "TTL", "MODE", "ORIGIN", "HITS" };
	static const char *const heads_allow[] = { "CIDR", "TTL", "ORIGIN", "HITS" };
	struct rules r = { 0 };
	uint64_t now = fg_mono_ns();
	int err;

	err = fg_edgemap_rule_foreach(ctx->em, list, collect_rule, &r);
	if (err) {
		pr_err("Couldn't read the %s: %s", fg_list_name(list), strerror(-err));
		goto out;
	}
	qsort(r.v, r.n, sizeof(*r.v), cmp_rule);
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < r.n && a; i++)
			json_array_append_new(a, rule_json(&r.v[i], list, now));
		err = fgctl_json_print(ctx->out, a, false);
		goto out;
	}
	struct fgctl_table t;

	if (list == FG_LIST_BLOCK)
		fgctl_table_init(&t, 5, heads_block, 1u << 4);
	else
		fgctl_table_init(&t, 4, heads_allow, 1u << 3);
	for (size_t i = 0; i < r.n && !err; i++) {
		const struct edge_rule *e = &r.v[i].rule;
		char cidr[FG_CIDR_STRLEN], ttl[32], hits[24];

		cidr_text(&r.v[i].cidr, cidr);
		fgctl_format_ttl(e->expires_ns, now, ttl, sizeof(ttl));
		snprintf(hits, sizeof(hits), "%llu", (unsigned long long)e->hits);
		if (list == FG_LIST_BLOCK)
			err = fgctl_table_add(&t, cidr, ttl, fg_mode_name(e->mode),
					      fg_origin_name(e->origin), hits);
		else
			err = fgctl_table_add(&t, cidr, ttl, fg_origin_name(e->origin), hits);
	}
	if (!err)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
out:
	free(r.v);
	return err;
}

static int run_list_blocks(struct fgctl_ctx *ctx, const void *opts)
{
	return list_rules(ctx, FG_LIST_BLOCK, ((const struct list_opts *)opts)->json);
}

static int run_list_allows(struct fgctl_ctx *ctx, const void *opts)
{
	return list_rules(ctx, FG_LIST_ALLOW, ((const struct list_opts *)opts)->json);
}

/* ---- list marked ---- */

struct marks {
	struct fg_marked_entry *v;
	size_t n, cap;
};

static int collect_mark(const struct fg_marked_entry *e, void *arg)
{
	struct marks *m = arg;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct fg_marked_entry *grown = realloc(m->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		m->v = grown;
		m->cap = cap;
	}
	m->v[m->n++] = *e;
	return 0;
}

static int cmp_mark(const void *a, const void *b)
{
	return cmp_cidr(&((const struct fg_marked_entry *)a)->src,
			&((const struct fg_marked_entry *)b)->src);
}

static int run_list_marked(struct fgctl_ctx *ctx, const void *opts)
{
	static const char *const heads[] = { "SOURCE", "PACKETS", "LAST SEEN", "REASON" };
	bool json = ((const struct list_opts *)opts)->json;
	uint64_t now = fg_mono_ns();
	struct marks m = { 0 };
	int err;

	err = fg_edgemap_marked_foreach(ctx->em, collect_mark, &m);
	if (err) {
		pr_err("Couldn't read the marked sources: %s", strerror(-err));
		goto out;
	}
	qsort(m.v, m.n, sizeof(*m.v), cmp_mark);
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < m.n && a; i++) {
			const struct edge_marked *e = &m.v[i].marked;
			char src[FG_CIDR_STRLEN];

			json_array_append_new(
				a, json_pack("{s:s, s:o, s:o, s:o, s:s}", "source",
					     cidr_text(&m.v[i].src, src), "packets",
					     fgctl_json_u64(e->count), "last_ns",
					     fgctl_json_u64(e->last_ns), "last_seen_s",
					     fgctl_json_u64(now > e->last_ns ? (now - e->last_ns) /
										       TB_NS_PER_S
									     : 0),
					     "reason", fg_stat_name(e->reason)));
		}
		err = fgctl_json_print(ctx->out, a, false);
		goto out;
	}
	struct fgctl_table t;

	fgctl_table_init(&t, 4, heads, 1u << 1);
	for (size_t i = 0; i < m.n && !err; i++) {
		const struct edge_marked *e = &m.v[i].marked;
		char src[FG_CIDR_STRLEN], count[24], ago[40];

		snprintf(count, sizeof(count), "%llu", (unsigned long long)e->count);
		fgctl_format_duration(now > e->last_ns ? (now - e->last_ns) / TB_NS_PER_S : 0, ago,
				      sizeof(ago) - 5);
		strcat(ago, " ago");
		err = fgctl_table_add(&t, cidr_text(&m.v[i].src, src), count, ago,
				      fg_stat_name(e->reason));
	}
	if (!err)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
out:
	free(m.v);
	return err;
}

/* ---- sweep ---- */

static int run_sweep(struct fgctl_ctx *ctx, const void *opts)
{
	unsigned removed = 0;
	int err = fg_edgemap_sweep(ctx->em, fg_mono_ns(), &removed);

	if (err) {
		pr_err("Couldn't sweep expired entries: %s", strerror(-err));
		return err;
	}
	fprintf(ctx->out, "removed %u expired entr%s\n", removed, removed == 1 ? "y" : "ies");
	return 0;
}

static const struct fgctl_arg no_args[] = { { NULL } };

const struct fgctl_cmd fgctl_cmds_lists[] = {
	{ "block", "Block a source address or network",
	  "Packets from it are dropped (or marked, or counted: --mode) before anything else "
	  "but the\nallowlist looks at them. A host goes to the exact-match map, a network to "
	  "the LPM trie.\nBlocking again replaces the entry (new TTL and mode, hits kept).",
	  block_args, sizeof(struct rule_opts), NULL, NULL, run_block, FGCTL_F_MAPS },
	{ "unblock", "Remove a blocklist entry (exactly this address or network)", NULL,
	  unblock_args, sizeof(struct rule_opts), NULL, NULL, run_unblock, FGCTL_F_MAPS },
	{ "allow", "Allowlist a source: always passed, never limited",
	  "The allowlist is looked at first: an allowlisted source passes even when it is "
	  "also\nblocked, and lock-down lets it through.",
	  allow_args, sizeof(struct rule_opts), NULL, NULL, run_allow, FGCTL_F_MAPS },
	{ "disallow", "Remove an allowlist entry (exactly this address or network)", NULL,
	  disallow_args, sizeof(struct rule_opts), NULL, NULL, run_disallow, FGCTL_F_MAPS },
	{ "list blocks", "List the blocklist with TTLs, modes, origins and hits",
	  "Expired entries no longer match; they are listed (TTL \"expired\") until fgctl "
	  "sweep or\nthe daemon removes them.",
	  list_args, sizeof(struct list_opts), NULL, NULL, run_list_blocks, FGCTL_F_MAPS },
	{ "list allows", "List the allowlist", NULL, list_args, sizeof(struct list_opts), NULL,
	  NULL, run_list_allows, FGCTL_F_MAPS },
	{ "list marked", "List the sources the program marked (mode mark)",
	  "The LRU map the daemon reads on accept to apply its stricter limits to suspects.",
	  list_args, sizeof(struct list_opts), NULL, NULL, run_list_marked, FGCTL_F_MAPS },
	{ "sweep", "Delete expired allow and block entries", NULL, no_args, 0, NULL, NULL,
	  run_sweep, FGCTL_F_MAPS },
	{ NULL },
};

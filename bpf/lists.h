/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: allow/block list and edge lookups for bpf/edge.bpf.c. */
/*
 * lists.h - "is this source on a list?": exact hash first, then the LPM trie.
 *
 * Entries carry an expiry; an expired entry does not match. The program never deletes
 * (user space sweeps), so a ban renewed by user space at the instant it expires cannot be
 * lost to a delete racing the update. An expired longest-prefix match must not hide a
 * live shorter prefix, so the lookup retries with the expired entry's prefix length - 1,
 * at most EDGE_LPM_RETRY times.
 */
#ifndef FLOODGATE_LISTS_H
#define FLOODGATE_LISTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "edge.h"

/* The packet's time, read at most once per packet and only when a decision needs it.
 * CLOCK_MONOTONIC (bpf/edge.h): `now` is precise, `coarse` is the same clock at the last
 * tick (never ahead of `now`), ten times cheaper to read here. */
struct clock {
	__u64 now;
	__u64 coarse;
};

static __always_inline __u64 clock_now(struct clock *c)
{
	if (!c->now)
		c->now = bpf_ktime_get_ns();
	return c->now;
}

static __always_inline __u64 clock_coarse(struct clock *c)
{
	if (!c->coarse)
		c->coarse = c->now ? c->now : bpf_ktime_get_coarse_ns();
	return c->coarse;
}

/* Expiries are whole seconds: a tick of lateness is fine, a precise read is not needed. */
static __always_inline int rule_live(const struct edge_rule *r, struct clock *clk)
{
	return !r->expires_ns || r->expires_ns > clock_coarse(clk);
}

/*
 * The live rule matching a source, or NULL. `exact_key` is the address in the exact map's
 * key form; `lpm_key` points at an edge_lpm4/edge_lpm6 already holding the address with
 * prefixlen = the family's maximum (its first member is the prefix length). Counts a hit.
 * use_exact/use_lpm come from edge_config.lists: a map known to be empty is skipped.
 */
static __always_inline struct edge_rule *rule_find(void *exact, const void *exact_key, void *lpm,
						   __u32 *lpm_key, int use_exact, int use_lpm,
						   struct clock *clk)
{
	struct edge_rule *r;
	int i;

	if (use_exact) {
		r = bpf_map_lookup_elem(exact, exact_key);
		if (r && rule_live(r, clk))
			goto hit;
	}
	if (!use_lpm)
		return NULL;
#pragma unroll
	for (i = 0; i < EDGE_LPM_RETRY; i++) {
		r = bpf_map_lookup_elem(lpm, lpm_key);
		if (!r)
			return NULL;
		if (rule_live(r, clk))
			goto hit;
		/* Expired: look for a shorter prefix (a bogus length cannot loop: it shrinks). */
		if (!r->prefixlen || !*lpm_key)
			return NULL;
		*lpm_key = (r->prefixlen < *lpm_key ? r->prefixlen : *lpm_key) - 1;
	}
	return NULL;
hit:
	__sync_fetch_and_add(&r->hits, 1);
	return r;
}

#endif /* FLOODGATE_LISTS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: the XDP edge filter. Its ABI with user space is bpf/edge.h. */
/*
 * edge.bpf.c - floodgate's NIC layer: drop or mark floods before the kernel allocates
 * an skb.
 *
 * Order of decisions, each ending in exactly one verdict counter (bpf/edge.h):
 *   parse (malformed -> configured verdict; not IP -> pass)
 *   -> allowlist (pass) -> blocklist (violation)
 *   -> not a protected port (pass)
 *   -> from an edge CIDR: the edge IP's own bucket (violation when over)
 *   -> lock-down: everything else to protected ports (violation)
 *   -> the source's bucket (violation when over)
 * A violation's verdict comes from its rule, its edge or the config: drop, mark (pass
 * with a DSCP and remember the source), or monitor (pass and count). It never parses HTTP.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "edge.h"
#include "maps.h"
#include "parse.h"
#include "lists.h"
#include "bucket.h"
#include "stats.h"
#include "mark.h"

/* libxdp: run early, and let the next program run when we pass. */
struct {
	__uint(priority, EDGE_RUN_PRIO);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xdp_edge);

static __always_inline int is_protected(const struct edge_config *cfg, const struct pkt *p)
{
	__u16 port = p->dport;

	/* A non-first fragment has no port to look at and fragment floods are a classic:
	 * it is judged like traffic to a protected port. */
	if (p->frag)
		return 1;
	if (p->l4proto != IPPROTO_TCP && p->l4proto != IPPROTO_UDP)
		return 0;
	if (cfg->flags & EDGE_F_ALL_PORTS)
		return 1;
	return (cfg->ports[(port >> 6) & (EDGE_PORT_WORDS - 1)] >> (port & 63)) & 1;
}

/* The source as one 16-byte key (IPv4 mapped), for edge buckets and fg_marked. */
static __always_inline void source_in6(const struct pkt *p, struct edge_in6 *k)
{
	if (p->family == 4) {
		__builtin_memset(k->addr, 0, 10);
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		__builtin_memcpy(&k->addr[12], &p->saddr4, 4);
	} else {
		__builtin_memcpy(k->addr, p->saddr6.addr, 16);
	}
}

/* An IPv6 source's bucket key: its address masked to the configured prefix. */
static __always_inline void source_prefix6(const struct pkt *p, __u8 prefix, struct edge_in6 *k)
{
	__u32 *w = (__u32 *)k->addr;
	int i;

	__builtin_memcpy(k->addr, p->saddr6.addr, 16);
#pragma unroll
	for (i = 0; i < 4; i++) {
		int bits = (int)prefix - 32 * i;

		if (bits >= 32)
			continue;
		w[i] = bits <= 0 ? 0 : w[i] & bpf_htonl(~0U << (32 - bits));
	}
}

/* Count the packet and turn (reason, mode) into the XDP action. mode 0: a pass. */
static __always_inline int record(struct xdp_md *ctx, struct pkt *p, const struct edge_config *cfg,
				  __u32 reason, __u32 mode, struct clock *clk)
{
	__u64 bytes = ctx->data_end - ctx->data;
	struct edge_in6 src;

	stat_add(reason, bytes);
	switch (mode) {
	case EDGE_MODE_INHERIT:
		return XDP_PASS;
	case EDGE_MODE_MARK:
		stat_add(EDGE_STAT_MARKED, bytes);
		mark_dscp(ctx, p, cfg->dscp);
		source_in6(p, &src);
		mark_record(&src, reason, clk);
		return XDP_PASS;
	case EDGE_MODE_MONITOR:
		stat_add(EDGE_STAT_MONITORED, bytes);
		return XDP_PASS;
	default:
		stat_add(EDGE_STAT_DROPPED, bytes);
		return XDP_DROP;
	}
}

SEC("xdp")
int xdp_edge(struct xdp_md *ctx)
{
	struct edge_config *cfg;
	struct edge_rule *rule;
	struct edge_net *edge;
	struct clock clk = { 0 };
	struct pkt p = { 0 };
	struct edge_in6 k6;
	struct edge_lpm4 l4;
	struct edge_lpm6 l6;
	__u32 zero = 0, reason, mode = 0, lists;
	int counted;

	cfg = bpf_map_lookup_elem(&fg_config, &zero);
	if (!cfg)
		return XDP_PASS; /* an array always has key 0; fail open regardless */

	switch (parse_packet(ctx, &p)) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
		reason = EDGE_STAT_PASS_NOT_IP;
		goto out;
	default:
		reason = EDGE_STAT_MALFORMED;
		if (cfg->flags & EDGE_F_MALFORMED_DROP)
			mode = EDGE_MODE_DROP;
		goto out;
	}
	if (p.frag)
		stat_add(EDGE_STAT_FRAGMENT, ctx->data_end - ctx->data);
	lists = cfg->lists;

	/* Allowlist, then blocklist. */
	if (p.family == 4) {
		l4.prefixlen = 32;
		__builtin_memcpy(l4.addr, &p.saddr4, 4);
		rule = rule_find(&fg_allow4, &p.saddr4, &fg_allownet4, &l4.prefixlen,
				 lists & EDGE_L_ALLOW4, lists & EDGE_L_ALLOWNET4, &clk);
	} else {
		l6.prefixlen = 128;
		__builtin_memcpy(l6.addr, p.saddr6.addr, 16);
		rule = rule_find(&fg_allow6, &p.saddr6, &fg_allownet6, &l6.prefixlen,
				 lists & EDGE_L_ALLOW6, lists & EDGE_L_ALLOWNET6, &clk);
	}
	if (rule) {
		reason = EDGE_STAT_PASS_ALLOW;
		goto out;
	}
	if (p.family == 4) {
		l4.prefixlen = 32;
		rule = rule_find(&fg_block4, &p.saddr4, &fg_blocknet4, &l4.prefixlen,
				 lists & EDGE_L_BLOCK4, lists & EDGE_L_BLOCKNET4, &clk);
	} else {
		l6.prefixlen = 128;
		rule = rule_find(&fg_block6, &p.saddr6, &fg_blocknet6, &l6.prefixlen,
				 lists & EDGE_L_BLOCK6, lists & EDGE_L_BLOCKNET6, &clk);
	}
	if (rule) {
		reason = EDGE_STAT_BLOCK;
		mode = rule->mode ? rule->mode : cfg->mode;
		goto out;
	}

	if (!is_protected(cfg, &p)) {
		reason = EDGE_STAT_PASS_OTHER;
		goto out;
	}
	counted = !(cfg->flags & EDGE_F_SYN_ONLY) || p.syn;

	/* An edge IP is a crowd of clients: its own, higher limit, never the source's. */
	if (p.family == 4) {
		l4.prefixlen = 32;
		edge = bpf_map_lookup_elem(&fg_edges4, &l4);
	} else {
		l6.prefixlen = 128;
		edge = bpf_map_lookup_elem(&fg_edges6, &l6);
	}
	if (edge) {
		__sync_fetch_and_add(&edge->hits, 1);
		reason = EDGE_STAT_PASS_EDGE;
		if (!counted)
			goto out;
		source_in6(&p, &k6);
		if (bucket_admit(&fg_edgebkt, &k6, &edge->limit, NULL, NULL, &clk) !=
		    BUCKET_ADMIT) {
			reason = EDGE_STAT_EDGE_LIMIT;
			mode = edge->mode ? edge->mode : cfg->mode;
		}
		goto out;
	}

	if (cfg->flags & EDGE_F_LOCKDOWN) {
		reason = EDGE_STAT_LOCKDOWN;
		mode = cfg->mode;
		goto out;
	}
	if (!counted) {
		reason = EDGE_STAT_PASS_OTHER;
		goto out;
	}
	if (p.family == 4) {
		counted = bucket_admit(&fg_src4, &p.saddr4, &cfg->src, &fg_newsrc, &cfg->newsrc,
				       &clk);
	} else {
		source_prefix6(&p, cfg->v6_prefix, &k6);
		counted = bucket_admit(&fg_src6, &k6, &cfg->src, &fg_newsrc, &cfg->newsrc, &clk);
	}
	reason = counted == BUCKET_ADMIT  ? EDGE_STAT_PASS_SOURCE
		 : counted == BUCKET_OVER ? EDGE_STAT_SOURCE_LIMIT
					  : EDGE_STAT_NEW_SOURCE;
	if (reason != EDGE_STAT_PASS_SOURCE)
		mode = cfg->mode;
out:
	/* A config written by hand with mode 0 must still enforce: default to drop. */
	if (mode == EDGE_MODE_INHERIT && reason >= EDGE_STAT_BLOCK && reason != EDGE_STAT_MALFORMED)
		mode = EDGE_MODE_DROP;
	return record(ctx, &p, cfg, reason, mode, &clk);
}

char _license[] SEC("license") = "GPL";

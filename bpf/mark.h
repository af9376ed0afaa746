/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: the `mark` verdict of bpf/edge.bpf.c. */
/*
 * mark.h - pass a packet but label it: rewrite its DSCP (IPv4 header checksum updated
 * incrementally, RFC 1624) and remember its source in fg_marked, which the daemon reads
 * on accept to give the connection its stricter "suspect" limits. The two ECN bits are
 * preserved.
 */
#ifndef FLOODGATE_MARK_H
#define FLOODGATE_MARK_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>

#include "edge.h"
#include "lists.h"
#include "maps.h"
#include "parse.h"

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on 16-bit one's complement words. */
static __always_inline __u16 csum16_add(__u16 a, __u16 b)
{
	__u16 r = a + b;

	return r + (r < b);
}

static __always_inline void csum16_replace(__u16 *sum, __u16 old, __u16 new)
{
	*sum = ~csum16_add(csum16_add(~(*sum), ~old), new);
}

static __always_inline void mark_dscp(struct xdp_md *ctx, struct pkt *p, __u8 dscp)
{
	void *end = (void *)(long)ctx->data_end;

	if (p->family == 4) {
		struct iphdr *iph = p->l3;
		__u16 old, new;

		if ((void *)(iph + 1) > end)
			return;
		old = *(__u16 *)iph;
		iph->tos = (dscp << 2) | (iph->tos & 3);
		new = *(__u16 *)iph;
		csum16_replace(&iph->check, old, new);
	} else {
		__u8 *b = p->l3; /* version:4 | traffic class:8 | flow label:20 */
		__u8 tc;

		if ((void *)(b + 2) > end)
			return;
		tc = (__u8)((b[0] & 0x0f) << 4 | b[1] >> 4);
		tc = (dscp << 2) | (tc & 3);
		b[0] = 0x60 | tc >> 4;
		b[1] = (__u8)(tc << 4) | (b[1] & 0x0f);
	}
}

static __always_inline void mark_record(const struct edge_in6 *src, __u32 reason, struct clock *clk)
{
	struct edge_marked *m, fresh = { 0 };

	m = bpf_map_lookup_elem(&fg_marked, src);
	if (m) {
		m->last_ns = clock_coarse(clk);
		m->reason = reason;
		__sync_fetch_and_add(&m->count, 1);
		return;
	}
	fresh.last_ns = clock_coarse(clk);
	fresh.count = 1;
	fresh.reason = reason;
	bpf_map_update_elem(&fg_marked, src, &fresh, BPF_ANY);
}

#endif /* FLOODGATE_MARK_H */

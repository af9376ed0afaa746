/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: packet parsing for bpf/edge.bpf.c (BPF target, verifier-checked bounds). */
/*
 * parse.h - turns a frame into the few facts the edge filter decides on.
 *
 * One cursor walks Ethernet, up to EDGE_VLAN_MAX 802.1Q/802.1ad tags, IPv4 (IHL and
 * total length checked, fragments recognised) or IPv6 (up to EDGE_V6_EXT_MAX extension
 * headers skipped), then TCP, UDP, ICMP or ICMPv6. Every header is bounds-checked before
 * it is read; anything that does not fit the frame, or that claims impossible lengths, is
 * reported as malformed rather than guessed at: the config decides its fate.
 */
#ifndef FLOODGATE_PARSE_H
#define FLOODGATE_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "edge.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IP_MF		0x2000
#define IP_OFFSET	0x1FFF
#define IP6_OFFSET_MASK 0xFFF8 /* fragment offset bits of frag_off, network order masked */

/* The verdict of the parser. */
enum parse_result {
	PARSE_OK = 0,	 /* IPv4 or IPv6, fields below filled */
	PARSE_NOT_IP,	 /* another ethertype: not ours to judge */
	PARSE_MALFORMED, /* truncated or inconsistent */
};

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* What the filter needs from a packet. */
struct pkt {
	__u8 family;  /* 4 or 6 */
	__u8 l4proto; /* IPPROTO_*, or IPPROTO_NONE when unknown (non-first fragment) */
	__u8 syn;     /* TCP with SYN set and ACK clear: a new connection */
	__u8 frag;    /* non-first fragment: no transport header */
	__u16 dport;  /* host order; 0 when not TCP/UDP */
	__u16 pad;
	__be32 saddr4;
	struct edge_in6 saddr6;
	void *l3; /* the IP header, for a DSCP rewrite */
};

/* pos..end is the frame (end is data_end, the only bound the verifier accepts); `left` is
 * what the IP header says remains of the datagram, checked as a number alongside. */
struct cursor {
	void *pos;
	void *end;
	__u32 left;
};

/* Advance over a header of `len` bytes; NULL when the frame or the datagram is shorter. */
static __always_inline void *cursor_take(struct cursor *c, __u32 len)
{
	void *h = c->pos;

	if (len > c->left || h + len > c->end)
		return NULL;
	c->pos = h + len;
	c->left -= len;
	return h;
}

static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	struct tcphdr *th;
	struct udphdr *uh;

	if (p->frag)
		return PARSE_OK;
	switch (p->l4proto) {
	case IPPROTO_TCP:
		th = c->pos;
		if ((void *)(th + 1) > c->end || th->doff < 5)
			return PARSE_MALFORMED;
		if ((__u32)th->doff * 4 > c->left || (void *)th + th->doff * 4 > c->end)
			return PARSE_MALFORMED;
		p->dport = bpf_ntohs(th->dest);
		p->syn = th->syn && !th->ack;
		return PARSE_OK;
	case IPPROTO_UDP:
		uh = c->pos;
		if (sizeof(*uh) > c->left || (void *)(uh + 1) > c->end)
			return PARSE_MALFORMED;
		p->dport = bpf_ntohs(uh->dest);
		return PARSE_OK;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Echo, errors and neighbour discovery all carry at least 8 bytes. */
		if (c->left < 8 || c->pos + 8 > c->end)
			return PARSE_MALFORMED;
		return PARSE_OK;
	default:
		return PARSE_OK;
	}
}

static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct iphdr *iph = c->pos;
	__u32 hlen;
	__u16 tot, off;

	if ((void *)(iph + 1) > c->end || iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || (void *)iph + tot > c->end)
		return PARSE_MALFORMED;
	if ((void *)iph + hlen > c->end)
		return PARSE_MALFORMED;
	/* Trailing link-layer padding is not ours: the transport ends where IP says. */
	c->left = tot - hlen;
	c->pos = (void *)iph + hlen;
	p->family = 4;
	p->l3 = iph;
	p->saddr4 = iph->saddr;
	p->l4proto = iph->protocol;
	off = bpf_ntohs(iph->frag_off);
	p->frag = (off & IP_OFFSET) != 0;
	return parse_l4(c, p);
}

static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *opt;
	struct frag_hdr {
		__u8 nexthdr;
		__u8 reserved;
		__be16 frag_off;
		__be32 identification;
	} * fh;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > c->end || ip6->version != 6)
		return PARSE_MALFORMED;
	if ((void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > c->end)
		return PARSE_MALFORMED;
	c->left = bpf_ntohs(ip6->payload_len);
	c->pos = ip6 + 1;
	p->family = 6;
	p->l3 = ip6;
	__builtin_memcpy(p->saddr6.addr, &ip6->saddr, 16);
	next = ip6->nexthdr;

#pragma unroll
	for (i = 0; i < EDGE_V6_EXT_MAX; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			opt = c->pos;
			if (c->left < sizeof(*opt) || (void *)(opt + 1) > c->end)
				return PARSE_MALFORMED;
			if (!cursor_take(c, (opt->hdrlen + 1) * 8))
				return PARSE_MALFORMED;
			next = opt->nexthdr;
			break;
		case IPPROTO_AH:
			opt = c->pos;
			if (c->left < sizeof(*opt) || (void *)(opt + 1) > c->end)
				return PARSE_MALFORMED;
			if (!cursor_take(c, (opt->hdrlen + 2) * 4))
				return PARSE_MALFORMED;
			next = opt->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			fh = cursor_take(c, sizeof(*fh));
			if (!fh)
				return PARSE_MALFORMED;
			if (bpf_ntohs(fh->frag_off) & IP6_OFFSET_MASK)
				p->frag = 1;
			next = fh->nexthdr;
			break;
		default:
			goto done;
		}
	}
	/* Still an extension header after the bound: deeper than any sane stack. */
	if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
	    next == IPPROTO_AH || next == IPPROTO_FRAGMENT)
		return PARSE_MALFORMED;
done:
	p->l4proto = next;
	return parse_l4(c, p);
}

/* Fill *p from the frame. Returns enum parse_result. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct pkt *p)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.left = 0xffffffff, /* until an IP header says otherwise */
	};
	struct ethhdr *eth;
	struct vlan_hdr *vh;
	__u16 proto;
	int i;

	eth = cursor_take(&c, sizeof(*eth));
	if (!eth)
		return PARSE_MALFORMED;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < EDGE_VLAN_MAX; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = cursor_take(&c, sizeof(*vh));
		if (!vh)
			return PARSE_MALFORMED;
		proto = vh->encap_proto;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return PARSE_MALFORMED; /* a third tag: beyond any legitimate stack */

	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(&c, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(&c, p);
	return PARSE_NOT_IP;
}

#endif /* FLOODGATE_PARSE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.c - frame builder for tests and benchmarks (see pkt.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

#define ETH_HLEN   14
#define VLAN_HLEN  4
#define IP4_HLEN   20
#define IP6_HLEN   40
#define TCP_HLEN   20
#define UDP_HLEN   8
#define ICMP_HLEN  8
#define V6OPT_HLEN 8

uint32_t fg_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t fg_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static unsigned l4_hlen(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return TCP_HLEN;
	case IPPROTO_UDP:
		return UDP_HLEN;
	default:
		return ICMP_HLEN;
	}
}

/* Transport checksum over the pseudo-header and the segment (not for later fragments). */
static void l4_checksum(const struct fg_pkt_spec *s, uint8_t *l4, unsigned seglen, uint8_t proto)
{
	unsigned alen = s->src.family == AF_INET ? 4 : 16;
	uint32_t sum = 0;
	uint8_t tail[4];
	uint8_t *csum;

	if (proto == IPPROTO_TCP)
		csum = l4 + 16;
	else if (proto == IPPROTO_UDP)
		csum = l4 + 6;
	else
		csum = l4 + 2;
	put16(csum, 0);
	/* ICMPv4 has no pseudo-header; TCP, UDP and ICMPv6 do. */
	if (proto != IPPROTO_ICMP) {
		sum = fg_csum_add(sum, s->src.addr, alen);
		sum = fg_csum_add(sum, s->dst.addr, alen);
		put16(tail, 0);
		tail[2] = 0;
		tail[3] = proto;
		if (alen == 4) {
			sum += seglen;
			sum = fg_csum_add(sum, tail + 2, 2);
		} else {
			sum += seglen >> 16;
			sum += seglen & 0xffff;
			sum = fg_csum_add(sum, tail, 4);
		}
	}
	sum = fg_csum_add(sum, l4, seglen);
	put16(csum, fg_csum_fold(sum));
	if (proto == IPPROTO_UDP && csum[0] == 0 && csum[1] == 0)
		put16(csum, 0xffff);
}

int fg_pkt_build(const struct fg_pkt_spec *s, uint8_t *buf, size_t size, struct fg_pkt_layout *l)
{
	int v6 = s->src.family == AF_INET6;
	uint8_t proto = s->proto;
	unsigned off = 0, l4len, seglen, i;
	uint8_t *ip, *l4;

	if (s->src.family != s->dst.family || s->vlans < 0 || s->vlans > 2 || s->v6_ext < 0 ||
	    (s->v6_ext && !v6) || s->dscp > 63)
		return -EINVAL;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP &&
	    proto != IPPROTO_ICMPV6)
		return -EINVAL;
	if (proto == IPPROTO_ICMP && v6)
		proto = IPPROTO_ICMPV6;
	if (proto == IPPROTO_ICMPV6 && !v6)
		proto = IPPROTO_ICMP;

	l4len = s->frag == FG_FRAG_LATER ? 0 : l4_hlen(proto);
	seglen = l4len + s->payload;
	if (ETH_HLEN + s->vlans * VLAN_HLEN + (v6 ? IP6_HLEN + s->v6_ext * V6OPT_HLEN : IP4_HLEN) +
		    (v6 && s->frag ? 8 : 0) + seglen >
	    size)
		return -ENOSPC;
	memset(buf, 0, size);

	memcpy(buf, s->dst_mac, 6);
	memcpy(buf + 6, s->src_mac, 6);
	off = 12;
	if (s->vlans == 2) {
		put16(buf + off, 0x88a8);
		put16(buf + off + 2, 100);
		off += VLAN_HLEN;
	}
	if (s->vlans >= 1) {
		put16(buf + off, 0x8100);
		put16(buf + off + 2, 200);
		off += VLAN_HLEN;
	}
	put16(buf + off, v6 ? 0x86dd : 0x0800);
	off += 2;
	l->l3 = off;
	ip = buf + off;

	if (!v6) {
		ip[0] = 0x45;
		ip[1] = (uint8_t)(s->dscp << 2);
		put16(ip + 2, (uint16_t)(IP4_HLEN + seglen));
		put16(ip + 4, 0x1234);
		if (s->frag == FG_FRAG_FIRST)
			put16(ip + 6, 0x2000);
		else if (s->frag == FG_FRAG_LATER)
			put16(ip + 6, 185); /* offset 1480 bytes, last fragment */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, s->src.addr, 4);
		memcpy(ip + 16, s->dst.addr, 4);
		put16(ip + 10, fg_csum_fold(fg_csum_add(0, ip, IP4_HLEN)));
		off += IP4_HLEN;
	} else {
		uint8_t *next = ip + 6;
		unsigned ext = 0;

		ip[0] = 0x60 | (uint8_t)(s->dscp >> 2);
		ip[1] = (uint8_t)((s->dscp & 3) << 6);
		ip[7] = 64;
		memcpy(ip + 8, s->src.addr, 16);
		memcpy(ip + 24, s->dst.addr, 16);
		off += IP6_HLEN;
		for (i = 0; i < (unsigned)s->v6_ext; i++) {
			*next = IPPROTO_DSTOPTS;
			next = buf + off;
			buf[off + 1] = 0; /* 8 bytes: next header, length, 6 bytes of PadN */
			buf[off + 2] = 1;
			buf[off + 3] = 4;
			off += V6OPT_HLEN;
			ext += V6OPT_HLEN;
		}
		if (s->frag) {
			*next = IPPROTO_FRAGMENT;
			next = buf + off;
			put16(buf + off + 2, s->frag == FG_FRAG_FIRST ? 0x0001 : (uint16_t)(1480));
			buf[off + 4] = 0x12;
			off += 8;
			ext += 8;
		}
		*next = proto;
		put16(ip + 4, (uint16_t)(ext + seglen));
	}
	l->l4 = off;
	l4 = buf + off;
	if (l4len) {
		if (proto == IPPROTO_TCP) {
			put16(l4, s->sport);
			put16(l4 + 2, s->dport);
			put16(l4 + 4, 0x0102);
			l4[12] = 5 << 4;
			l4[13] = s->tcp_flags;
			put16(l4 + 14, 64240);
		} else if (proto == IPPROTO_UDP) {
			put16(l4, s->sport);
			put16(l4 + 2, s->dport);
			put16(l4 + 4, (uint16_t)seglen);
		} else {
			l4[0] = proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		}
	}
	for (i = 0; i < s->payload; i++)
		l4[l4len + i] = (uint8_t)i;
	if (l4len && s->frag == FG_FRAG_NONE)
		l4_checksum(s, l4, seglen, proto);
	off += seglen;
	l->len = off < 60 ? 60 : off; /* Ethernet minimum frame, zero padded */
	return 0;
}

int fg_pkt_dscp(const uint8_t *frame, const struct fg_pkt_layout *l)
{
	const uint8_t *ip = frame + l->l3;

	if ((ip[0] >> 4) == 4)
		return ip[1] >> 2;
	return ((ip[0] & 0x0f) << 2) | (ip[1] >> 6);
}

int fg_pkt_ipv4_csum_ok(const uint8_t *frame, const struct fg_pkt_layout *l)
{
	const uint8_t *ip = frame + l->l3;

	if ((ip[0] >> 4) != 4)
		return 1;
	return fg_csum_fold(fg_csum_add(0, ip, (ip[0] & 0x0f) * 4u)) == 0;
}

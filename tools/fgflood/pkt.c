/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.c - the template frame and its checksum bases (see bpf/flood.h for the per-packet
 * half, shared with the XDP program).
 *
 * A TCP SYN carries no data: when the frame is longer than its headers, the rest is
 * Ethernet padding outside the IP datagram. A UDP datagram fills the frame with zeros.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>

#include "fgflood.h"

static void put16(uint8_t *p, uint16_t host)
{
	uint16_t n = htons(host);

	memcpy(p, &n, 2);
}

/*
 * One's complement sum of bytes as 16-bit words in memory order, the odd tail padded with
 * zero; not folded (a frame has at most 757 words: no overflow of 32 bits).
 */
static uint32_t sum_bytes(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;
	uint16_t w;
	unsigned i;

	for (i = 0; i + 1 < len; i += 2) {
		memcpy(&w, p + i, 2);
		s += w;
	}
	if (len & 1) {
		uint8_t last[2] = { p[len - 1], 0 };

		memcpy(&w, last, 2);
		s += w;
	}
	return s;
}

/* Pseudo-header sum (RFC 768/793, RFC 8200 8.1) for a source address of zero. */
static uint32_t pseudo_sum(int family, const uint8_t *dst, uint8_t proto, unsigned l4len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if (family == AF_INET) {
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		put16(ph + 10, (uint16_t)l4len);
		return sum_bytes(ph, 12);
	}
	memcpy(ph + 16, dst, 16);
	ph[34] = (uint8_t)(l4len >> 8);
	ph[35] = (uint8_t)l4len;
	ph[39] = proto;
	return sum_bytes(ph, 40);
}

int flood_tmpl_build(const struct flood_spec *s, struct flood_tmpl *t)
{
	unsigned l3len = s->family == AF_INET ? FLOOD_IP4_LEN : FLOOD_IP6_LEN;
	unsigned hlen =
		FLOOD_ETH_LEN + l3len + (s->proto == IPPROTO_TCP ? FLOOD_TCP_LEN : FLOOD_UDP_LEN);
	unsigned l4len, iplen;
	uint8_t *f = t->frame, *l3, *l4;
	struct flood_cfg *c = &t->cfg;

	if (s->frame_len < hlen || s->frame_len > FLOOD_FRAME_MAX)
		return -EINVAL;
	if ((s->family != AF_INET && s->family != AF_INET6) || s->dst.family != s->family ||
	    s->src.family != s->family)
		return -EINVAL;
	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
		return -EINVAL;

	memset(t, 0, sizeof(*t));
	t->len = s->frame_len;
	l3 = f + FLOOD_ETH_LEN;
	l4 = l3 + l3len;
	l4len = s->proto == IPPROTO_TCP ? FLOOD_TCP_LEN : s->frame_len - FLOOD_ETH_LEN - l3len;
	iplen = l3len + l4len;

	memcpy(f, s->dst_mac, 6);
	memcpy(f + 6, s->src_mac, 6);
	put16(f + 12, s->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);

	if (s->family == AF_INET) {
		l3[0] = 0x45;
		put16(l3 + 2, (uint16_t)iplen);
		put16(l3 + 6, 0x4000); /* DF */
		l3[8] = 64;
		l3[9] = s->proto;
		memcpy(l3 + 16, s->dst.addr, 4);
	} else {
		l3[0] = 0x60;
		put16(l3 + 4, (uint16_t)l4len);
		l3[6] = s->proto;
		l3[7] = 64;
		memcpy(l3 + 24, s->dst.addr, 16);
	}

	put16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		l4[12] = (FLOOD_TCP_LEN / 4) << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 64240);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}

	c->family = s->family == AF_INET ? 4 : 6;
	c->proto = s->proto;
	c->seed = s->seed;
	c->l4_off = (uint16_t)(FLOOD_ETH_LEN + l3len);
	c->frame_len = (uint16_t)s->frame_len;
	c->ip_base = s->family == AF_INET ? sum_bytes(l3, FLOOD_IP4_LEN) : 0;
	c->l4_base = pseudo_sum(s->family, s->dst.addr, s->proto, l4len) + sum_bytes(l4, l4len);
	c->vary_src = !fg_cidr_is_host(&s->src);
	memcpy(c->src_net, s->src.addr, 16);
	for (unsigned bit = s->src.prefixlen; bit < fg_cidr_maxlen(&s->src); bit++)
		((uint8_t *)c->src_host)[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	/* The first packet is a valid one even before anyone applies a stream to it. */
	flood_tmpl_apply(t, 0, 0, t->frame);
	return 0;
}

void flood_tmpl_apply(const struct flood_tmpl *t, uint32_t stream, uint64_t n, uint8_t *frame)
{
	struct flood_vary v;

	flood_pick(&t->cfg, stream, n, &v);
	flood_write(&t->cfg, &v, (__u16 *)(frame + FLOOD_ETH_LEN),
		    (__u16 *)(frame + t->cfg.l4_off));
}

uint16_t flood_csum_ip4_full(const uint8_t *frame)
{
	uint8_t h[FLOOD_IP4_LEN];

	memcpy(h, frame + FLOOD_ETH_LEN, sizeof(h));
	h[10] = h[11] = 0;
	return flood_csum_fold(sum_bytes(h, sizeof(h)));
}

uint16_t flood_csum_l4_full(const uint8_t *frame, unsigned len)
{
	const uint8_t *l3 = frame + FLOOD_ETH_LEN, *l4;
	uint8_t buf[FLOOD_FRAME_MAX], proto;
	unsigned l4len, csum_off;
	uint32_t s;
	uint16_t r;

	if (l3[0] >> 4 == 4) {
		l4 = l3 + (l3[0] & 0xf) * 4;
		l4len = (unsigned)((l3[2] << 8 | l3[3]) - (l3[0] & 0xf) * 4);
		proto = l3[9];
		s = pseudo_sum(AF_INET, l3 + 16, proto, l4len) + sum_bytes(l3 + 12, 4);
	} else {
		l4 = l3 + FLOOD_IP6_LEN;
		l4len = (unsigned)(l3[4] << 8 | l3[5]);
		proto = l3[6];
		s = pseudo_sum(AF_INET6, l3 + 24, proto, l4len) + sum_bytes(l3 + 8, 16);
	}
	if (l4 + l4len > frame + len)
		return 0;
	csum_off = proto == IPPROTO_TCP ? FLOOD_TCP_CSUM : FLOOD_UDP_CSUM;
	memcpy(buf, l4, l4len);
	buf[csum_off] = buf[csum_off + 1] = 0;
	r = flood_csum_fold(s + sum_bytes(buf, l4len));
	if (proto == IPPROTO_UDP && r == 0)
		r = 0xffff;
	return r;
}

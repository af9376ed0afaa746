/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.h - build Ethernet frames for tests and benchmarks: IPv4/IPv6, TCP/UDP/ICMP,
 * optional 802.1Q / QinQ tags, IPv4 fragments and IPv6 extension headers, with correct
 * checksums. Used by the BPF fixture tables and the in-kernel benchmark; the layout it
 * returns lets a test corrupt one field on purpose.
 */
#ifndef FG_PKT_H
#define FG_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define FG_TH_FIN 0x01
#define FG_TH_SYN 0x02
#define FG_TH_RST 0x04
#define FG_TH_ACK 0x10

enum fg_pkt_frag {
	FG_FRAG_NONE = 0,
	FG_FRAG_FIRST, /* more-fragments set, offset 0: carries the transport header */
	FG_FRAG_LATER, /* offset > 0: no transport header */
};

struct fg_pkt_spec {
	struct fg_cidr src, dst; /* hosts of one family; it decides IPv4 or IPv6 */
	uint8_t proto;		 /* IPPROTO_TCP, IPPROTO_UDP, or IPPROTO_ICMP (ICMPv6 for v6) */
	uint16_t sport, dport;	 /* host order */
	uint8_t tcp_flags;	 /* FG_TH_* */
	uint8_t dscp;
	int vlans;	  /* 0, 1 (802.1Q) or 2 (802.1ad outer + 802.1Q inner) */
	int frag;	  /* enum fg_pkt_frag */
	int v6_ext;	  /* IPv6 destination-options headers before the transport */
	unsigned payload; /* bytes after the transport header */
	uint8_t src_mac[6], dst_mac[6];
};

/* Offsets of the headers in the built frame. */
struct fg_pkt_layout {
	unsigned l3;  /* IP header */
	unsigned l4;  /* transport header (or where it would be) */
	unsigned len; /* whole frame */
};

/* Build the frame into buf. Returns 0, -EINVAL for an inconsistent spec, -ENOSPC when
 * buf is too small. */
int fg_pkt_build(const struct fg_pkt_spec *s, uint8_t *buf, size_t size, struct fg_pkt_layout *l);

/* Internet checksum (RFC 1071) over len bytes, added to a running sum. */
uint32_t fg_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t fg_csum_fold(uint32_t sum);

/* The DSCP a built IPv4/IPv6 frame carries (for checking a mark). */
int fg_pkt_dscp(const uint8_t *frame, const struct fg_pkt_layout *l);

/* 1 when the IPv4 header checksum of the frame is right (IPv6 has none: 1). */
int fg_pkt_ipv4_csum_ok(const uint8_t *frame, const struct fg_pkt_layout *l);

#endif /* FG_PKT_H */

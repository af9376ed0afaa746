/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The edge filter's fixture table, run with BPF_PROG_TEST_RUN: for each packet class the
 * frame, the maps preloaded, and what must come out - the XDP action, the one verdict
 * counter that moved (and the outcome counter for a violation), the DSCP after a mark,
 * whether the source was remembered in fg_marked, and the fragment counter.
 *
 * Preload mini-language for block/allow entries: "CIDR[,expired][,monitor|,mark|,drop]".
 */
#include "unit.h"
#include "harness.h"

#include <linux/if_ether.h>
#include <netinet/in.h>

#define F_MONITOR EDGE_MODE_MONITOR
#define F_MARK	  EDGE_MODE_MARK

struct fixture {
	const char *name;
	/* the frame */
	const char *src, *dst;
	uint8_t proto;
	uint16_t dport;
	uint8_t tcp_flags;
	int vlans, frag, v6_ext;
	void (*corrupt)(uint8_t *frame, struct fg_pkt_layout *l);
	/* the maps */
	const char *block[3], *allow[3];
	const char *edge; /* an edge CIDR, 100 pps burst 10 */
	uint32_t edge_mode;
	int edge_empty;	 /* the source's edge-IP bucket is exhausted */
	int src_empty;	 /* the source's bucket is exhausted */
	int src_tracked; /* the source already has a (full) bucket */
	int newsrc;	 /* new-source limit: 1 = 100/s burst 5, 2 = the same, exhausted */
	uint32_t mode;	 /* config mode (0: default drop) */
	uint32_t flags_on, flags_off;
	uint32_t lists_off; /* edge_config.lists bits cleared (lists marked empty) */
	/* what must come out */
	int action;
	uint32_t stat;
	uint32_t outcome; /* EDGE_STAT_DROPPED/MARKED/MONITORED, 0 for a pass */
	int dscp;	  /* expected DSCP after, -1: unchanged */
	int fragment;
	int marked;
};

#define V4S  "198.18.1.10"
#define V4D  "198.18.0.2"
#define V6S  "2001:2:0:1::10"
#define V6D  "2001:2::2"
#define SYN  FG_TH_SYN
#define PASS XDP_PASS
#define DROP XDP_DROP

/* ---- corruptions ---- */
/* clang-format off: one line per corruption and per fixture reads as a table */
static void set_ethertype_arp(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3 - 2] = 0x08;
	f[l->l3 - 1] = 0x06;
}
static void third_vlan(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3 - 2] = 0x81;
	f[l->l3 - 1] = 0x00;
}
static void cut_in_vlan(uint8_t *f, struct fg_pkt_layout *l)
{
	l->len = 16;
}
static void cut_in_ip(uint8_t *f, struct fg_pkt_layout *l)
{
	l->len = l->l3 + 10;
}
static void ip_version_5(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3] = (uint8_t)(0x50 | (f[l->l3] & 0x0f));
}
static void ihl_4(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3] = 0x44;
}
static void ihl_15(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3] = 0x4f;
	l->len = l->l3 + 40;
}
static void totlen_short(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3 + 2] = 0;
	f[l->l3 + 3] = 12;
}
static void totlen_long(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3 + 2] = 0x05;
	f[l->l3 + 3] = 0xdc;
}
/* IPv4 total length that ends inside the transport header (frame keeps its padding). */
static void l4_cut_v4(uint8_t *f, struct fg_pkt_layout *l)
{
	unsigned t = l->l4 - l->l3 + 6;
	f[l->l3 + 2] = 0;
	f[l->l3 + 3] = (uint8_t)t;
}
static void doff_4(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l4 + 12] = 4 << 4;
}
static void doff_15(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l4 + 12] = 15 << 4;
}
static void v6_version_4(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3] = 0x40;
}
static void v6_paylen_long(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3 + 4] = 0x05;
	f[l->l3 + 5] = 0xdc;
}
static void v6_cut_in_hdr(uint8_t *f, struct fg_pkt_layout *l)
{
	l->len = l->l3 + 30;
}
/* Payload length ending inside the first extension header. */
static void v6_cut_in_ext(uint8_t *f, struct fg_pkt_layout *l)
{
	f[l->l3 + 4] = 0;
	f[l->l3 + 5] = 4;
}
static void v6_l4_cut(uint8_t *f, struct fg_pkt_layout *l)
{
	unsigned p = l->l4 - l->l3 - 40 + 4;
	f[l->l3 + 4] = 0;
	f[l->l3 + 5] = (uint8_t)p;
}

static const struct fixture fixtures[] = {
	/* plain classes */
	{ "ipv4 tcp syn, unprotected port", V4S, V4D, IPPROTO_TCP, 8080, SYN, .action = PASS,
	  .stat = EDGE_STAT_PASS_OTHER, .dscp = -1 },
	{ "ipv4 tcp syn, protected, under the limit", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "ipv4 udp, protected, under the limit", V4S, V4D, IPPROTO_UDP, 53, .action = PASS,
	  .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "ipv4 icmp echo: no port, not protected", V4S, V4D, IPPROTO_ICMP, .action = PASS,
	  .stat = EDGE_STAT_PASS_OTHER, .dscp = -1 },
	{ "ipv6 tcp syn, protected, under the limit", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "ipv6 icmpv6 echo", V6S, V6D, IPPROTO_ICMP, .action = PASS, .stat = EDGE_STAT_PASS_OTHER,
	  .dscp = -1 },
	{ "ipv6 with 6 extension headers (the bound)", V6S, V6D, IPPROTO_TCP, 443, SYN, .v6_ext = 6,
	  .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "802.1Q ipv4", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 1, .action = PASS,
	  .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "QinQ ipv4", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 2, .action = PASS,
	  .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "QinQ ipv6", V6S, V6D, IPPROTO_TCP, 443, SYN, .vlans = 2, .action = PASS,
	  .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "not IP (ARP)", V4S, V4D, IPPROTO_TCP, 443, SYN, .corrupt = set_ethertype_arp,
	  .action = PASS, .stat = EDGE_STAT_PASS_NOT_IP, .dscp = -1 },
	{ "QinQ tagged ARP", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 2,
	  .corrupt = set_ethertype_arp, .action = PASS, .stat = EDGE_STAT_PASS_NOT_IP, .dscp = -1 },

	/* malformed and truncated: dropped by the fixtures' config */
	{ "malformed: third VLAN tag", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 2,
	  .corrupt = third_vlan, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: inside the VLAN tag", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 1,
	  .corrupt = cut_in_vlan, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: inside the IPv4 header", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .corrupt = cut_in_ip, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed: IP version 5 in an IPv4 frame", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .corrupt = ip_version_5, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed: IHL 4", V4S, V4D, IPPROTO_TCP, 443, SYN, .corrupt = ihl_4, .action = DROP,
	  .stat = EDGE_STAT_MALFORMED, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: IHL 15 beyond the frame", V4S, V4D, IPPROTO_TCP, 443, SYN, .corrupt = ihl_15,
	  .action = DROP, .stat = EDGE_STAT_MALFORMED, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed: total length below the header", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .corrupt = totlen_short, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: total length beyond the frame", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .corrupt = totlen_long, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: TCP header cut by IP length", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .corrupt = l4_cut_v4, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed: TCP data offset 4", V4S, V4D, IPPROTO_TCP, 443, SYN, .corrupt = doff_4,
	  .action = DROP, .stat = EDGE_STAT_MALFORMED, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: TCP data offset 15 beyond the frame", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .corrupt = doff_15, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: UDP header cut by IP length", V4S, V4D, IPPROTO_UDP, 53, .corrupt = l4_cut_v4,
	  .action = DROP, .stat = EDGE_STAT_MALFORMED, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: ICMP header cut by IP length", V4S, V4D, IPPROTO_ICMP, .corrupt = l4_cut_v4,
	  .action = DROP, .stat = EDGE_STAT_MALFORMED, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: first fragment too short for TCP", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .frag = FG_FRAG_FIRST, .corrupt = l4_cut_v4, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: inside the IPv6 header", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .corrupt = v6_cut_in_hdr, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed: IP version 4 in an IPv6 frame", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .corrupt = v6_version_4, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: IPv6 payload length beyond the frame", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .corrupt = v6_paylen_long, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: inside an IPv6 extension header", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .v6_ext = 2, .corrupt = v6_cut_in_ext, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed: 7 IPv6 extension headers", V6S, V6D, IPPROTO_TCP, 443, SYN, .v6_ext = 7,
	  .action = DROP, .stat = EDGE_STAT_MALFORMED, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "truncated: TCP cut by IPv6 payload length", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .corrupt = v6_l4_cut, .action = DROP, .stat = EDGE_STAT_MALFORMED,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "malformed passed when so configured", V4S, V4D, IPPROTO_TCP, 443, SYN, .corrupt = ihl_4,
	  .flags_off = EDGE_F_MALFORMED_DROP, .action = PASS, .stat = EDGE_STAT_MALFORMED,
	  .dscp = -1 },

	/* fragments */
	{ "ipv4 first fragment: judged by its ports", V4S, V4D, IPPROTO_TCP, 8080, SYN,
	  .frag = FG_FRAG_FIRST, .action = PASS, .stat = EDGE_STAT_PASS_OTHER, .dscp = -1 },
	{ "ipv4 later fragment: counted, judged as protected", V4S, V4D, IPPROTO_UDP, 8080,
	  .frag = FG_FRAG_LATER, .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .fragment = 1,
	  .dscp = -1 },
	{ "ipv4 later fragment over the limit", V4S, V4D, IPPROTO_UDP, 8080, .frag = FG_FRAG_LATER,
	  .src_empty = 1, .action = DROP, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_DROPPED, .fragment = 1, .dscp = -1 },
	{ "ipv6 later fragment", V6S, V6D, IPPROTO_UDP, 8080, .frag = FG_FRAG_LATER, .action = PASS,
	  .stat = EDGE_STAT_PASS_SOURCE, .fragment = 1, .dscp = -1 },
	{ "ipv6 first fragment after an extension header", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .frag = FG_FRAG_FIRST, .v6_ext = 1, .action = PASS, .stat = EDGE_STAT_PASS_SOURCE,
	  .dscp = -1 },

	/* blocklist */
	{ "blocked /32", V4S, V4D, IPPROTO_TCP, 443, SYN, .block = { V4S }, .action = DROP,
	  .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "blocked /32, unprotected port too", V4S, V4D, IPPROTO_TCP, 8080, SYN, .block = { V4S },
	  .action = DROP, .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "blocked /128", V6S, V6D, IPPROTO_TCP, 443, SYN, .block = { V6S }, .action = DROP,
	  .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "blocked IPv4 CIDR", V4S, V4D, IPPROTO_UDP, 53, .block = { "198.18.1.0/24" },
	  .action = DROP, .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "blocked IPv6 CIDR", V6S, V6D, IPPROTO_UDP, 53, .block = { "2001:2::/48" },
	  .action = DROP, .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "blocked, through QinQ", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 2,
	  .block = { "198.18.0.0/15" }, .action = DROP, .stat = EDGE_STAT_BLOCK,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "expired /32 block no longer matches", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { V4S ",expired" }, .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "expired CIDR block no longer matches", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .block = { "2001:2:0:1::/64,expired" }, .action = PASS, .stat = EDGE_STAT_PASS_SOURCE,
	  .dscp = -1 },
	{ "expired /24 does not hide a live /16", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { "198.18.1.0/24,expired", "198.18.0.0/16" }, .action = DROP,
	  .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "expired /32 does not hide a live CIDR", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { V4S ",expired", "198.18.1.0/24" }, .action = DROP, .stat = EDGE_STAT_BLOCK,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "block entry in monitor mode", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { V4S ",monitor" }, .action = PASS, .stat = EDGE_STAT_BLOCK,
	  .outcome = EDGE_STAT_MONITORED, .dscp = -1 },
	{ "block entry in mark mode", V4S, V4D, IPPROTO_TCP, 443, SYN, .block = { V4S ",mark" },
	  .action = PASS, .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_MARKED,
	  .dscp = EDGE_DSCP_DEFAULT, .marked = 1 },
	{ "block entry inherits the config's monitor mode", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { V4S }, .mode = EDGE_MODE_MONITOR, .action = PASS, .stat = EDGE_STAT_BLOCK,
	  .outcome = EDGE_STAT_MONITORED, .dscp = -1 },

	{ "a block in a list marked empty is not consulted", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { V4S }, .lists_off = EDGE_L_BLOCK4, .action = PASS,
	  .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "... while the CIDR list still is", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .block = { V4S, "198.18.1.0/24" }, .lists_off = EDGE_L_BLOCK4, .action = DROP,
	  .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "an allow in a list marked empty is not consulted", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .allow = { "2001:2::/48" }, .block = { V6S }, .lists_off = EDGE_L_ALLOWNET6,
	  .action = DROP, .stat = EDGE_STAT_BLOCK, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },

	/* allowlist */
	{ "allowlisted /32 beats a block", V4S, V4D, IPPROTO_TCP, 443, SYN, .allow = { V4S },
	  .block = { V4S }, .action = PASS, .stat = EDGE_STAT_PASS_ALLOW, .dscp = -1 },
	{ "allowlisted CIDR beats the limit", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .allow = { "2001:2::/48" }, .src_empty = 1, .action = PASS, .stat = EDGE_STAT_PASS_ALLOW,
	  .dscp = -1 },
	{ "expired allow falls through to the block", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .allow = { V4S ",expired" }, .block = { V4S }, .action = DROP, .stat = EDGE_STAT_BLOCK,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "allowlisted under lock-down", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .allow = { "198.18.1.0/24" }, .flags_on = EDGE_F_LOCKDOWN, .action = PASS,
	  .stat = EDGE_STAT_PASS_ALLOW, .dscp = -1 },

	/* edges and lock-down */
	{ "edge IP under its bucket", V4S, V4D, IPPROTO_TCP, 443, SYN, .edge = "198.18.1.0/24",
	  .action = PASS, .stat = EDGE_STAT_PASS_EDGE, .dscp = -1 },
	{ "edge IP ignores an exhausted source bucket", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .edge = "198.18.1.0/24", .src_empty = 1, .action = PASS, .stat = EDGE_STAT_PASS_EDGE,
	  .dscp = -1 },
	{ "edge IP over its bucket", V4S, V4D, IPPROTO_TCP, 443, SYN, .edge = "198.18.1.0/24",
	  .edge_empty = 1, .action = DROP, .stat = EDGE_STAT_EDGE_LIMIT,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "ipv6 edge IP over its bucket, edge in mark mode", V6S, V6D, IPPROTO_TCP, 443, SYN,
	  .edge = "2001:2:0:1::/64", .edge_empty = 1, .edge_mode = F_MARK, .action = PASS,
	  .stat = EDGE_STAT_EDGE_LIMIT, .outcome = EDGE_STAT_MARKED, .dscp = EDGE_DSCP_DEFAULT,
	  .marked = 1 },
	{ "edge IP passes lock-down", V4S, V4D, IPPROTO_TCP, 443, SYN, .edge = "198.18.1.0/24",
	  .flags_on = EDGE_F_LOCKDOWN, .action = PASS, .stat = EDGE_STAT_PASS_EDGE, .dscp = -1 },
	{ "lock-down drops a non-edge source", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .flags_on = EDGE_F_LOCKDOWN, .action = DROP, .stat = EDGE_STAT_LOCKDOWN,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "lock-down drops non-SYN too", V6S, V6D, IPPROTO_TCP, 443, FG_TH_ACK,
	  .flags_on = EDGE_F_LOCKDOWN | EDGE_F_SYN_ONLY, .action = DROP, .stat = EDGE_STAT_LOCKDOWN,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "lock-down leaves unprotected ports alone", V4S, V4D, IPPROTO_TCP, 22, SYN,
	  .flags_on = EDGE_F_LOCKDOWN, .action = PASS, .stat = EDGE_STAT_PASS_OTHER, .dscp = -1 },

	/* the source limit in each mode */
	{ "over the limit, drop mode", V4S, V4D, IPPROTO_TCP, 443, SYN, .src_empty = 1,
	  .action = DROP, .stat = EDGE_STAT_SOURCE_LIMIT, .outcome = EDGE_STAT_DROPPED,
	  .dscp = -1 },
	{ "over the limit, mark mode (IPv4, checksum fixed)", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .src_empty = 1, .mode = F_MARK, .action = PASS, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_MARKED, .dscp = EDGE_DSCP_DEFAULT, .marked = 1 },
	{ "over the limit, mark mode (IPv6)", V6S, V6D, IPPROTO_UDP, 53, .src_empty = 1,
	  .mode = F_MARK, .action = PASS, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_MARKED, .dscp = EDGE_DSCP_DEFAULT, .marked = 1 },
	{ "over the limit, monitor mode", V4S, V4D, IPPROTO_TCP, 443, SYN, .src_empty = 1,
	  .mode = F_MONITOR, .action = PASS, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_MONITORED, .dscp = -1 },
	{ "under the limit, mark mode: untouched", V4S, V4D, IPPROTO_TCP, 443, SYN, .mode = F_MARK,
	  .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "under the limit, monitor mode", V6S, V6D, IPPROTO_TCP, 443, SYN, .mode = F_MONITOR,
	  .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "IPv6 sources share their /64's bucket", "2001:2:0:1::99", V6D, IPPROTO_TCP, 443, SYN,
	  .src_empty = 1, .action = DROP, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "SYN-only: an ACK is not counted", V4S, V4D, IPPROTO_TCP, 443, FG_TH_ACK, .src_empty = 1,
	  .flags_on = EDGE_F_SYN_ONLY, .action = PASS, .stat = EDGE_STAT_PASS_OTHER, .dscp = -1 },
	{ "SYN-only: a SYN-ACK is not a new connection", V4S, V4D, IPPROTO_TCP, 443,
	  FG_TH_SYN | FG_TH_ACK, .src_empty = 1, .flags_on = EDGE_F_SYN_ONLY, .action = PASS,
	  .stat = EDGE_STAT_PASS_OTHER, .dscp = -1 },
	{ "SYN-only: a SYN over the limit", V4S, V4D, IPPROTO_TCP, 443, SYN, .src_empty = 1,
	  .flags_on = EDGE_F_SYN_ONLY, .action = DROP, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "all ports protected", V4S, V4D, IPPROTO_TCP, 9999, SYN, .src_empty = 1,
	  .flags_on = EDGE_F_ALL_PORTS, .action = DROP, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "new source under the new-source limit", V4S, V4D, IPPROTO_TCP, 443, SYN, .newsrc = 1,
	  .action = PASS, .stat = EDGE_STAT_PASS_SOURCE, .dscp = -1 },
	{ "new source over the new-source limit", V4S, V4D, IPPROTO_TCP, 443, SYN, .newsrc = 2,
	  .action = DROP, .stat = EDGE_STAT_NEW_SOURCE, .outcome = EDGE_STAT_DROPPED, .dscp = -1 },
	{ "new IPv6 source over the new-source limit, monitor", V6S, V6D, IPPROTO_UDP, 53,
	  .newsrc = 2, .mode = F_MONITOR, .action = PASS, .stat = EDGE_STAT_NEW_SOURCE,
	  .outcome = EDGE_STAT_MONITORED, .dscp = -1 },
	{ "tracked source ignores an exhausted new-source limit", V4S, V4D, IPPROTO_TCP, 443, SYN,
	  .newsrc = 2, .src_tracked = 1, .action = PASS, .stat = EDGE_STAT_PASS_SOURCE,
	  .dscp = -1 },
	{ "edge IP ignores the new-source limit", V4S, V4D, IPPROTO_TCP, 443, SYN, .newsrc = 2,
	  .edge = "198.18.1.0/24", .action = PASS, .stat = EDGE_STAT_PASS_EDGE, .dscp = -1 },
	{ "VLAN-tagged over the limit, marked", V4S, V4D, IPPROTO_TCP, 443, SYN, .vlans = 1,
	  .src_empty = 1, .mode = F_MARK, .action = PASS, .stat = EDGE_STAT_SOURCE_LIMIT,
	  .outcome = EDGE_STAT_MARKED, .dscp = EDGE_DSCP_DEFAULT, .marked = 1 },
};

/* clang-format on */

static struct edge_bpf *skel;

/* "CIDR[,expired][,monitor|,mark|,drop]" */
static void preload_rule(int allow, const char *spec)
{
	char buf[80], *opt;
	__u64 expires = 0;
	__u32 mode = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	opt = strchr(buf, ',');
	if (opt)
		*opt++ = '\0';
	while (opt && *opt) {
		char *next = strchr(opt, ',');

		if (next)
			*next++ = '\0';
		if (!strcmp(opt, "expired"))
			expires = hx_now() - TB_NS_PER_S; /* well past: expiries are tick-precise */
		else if (!strcmp(opt, "monitor"))
			mode = EDGE_MODE_MONITOR;
		else if (!strcmp(opt, "mark"))
			mode = EDGE_MODE_MARK;
		else if (!strcmp(opt, "drop"))
			mode = EDGE_MODE_DROP;
		else
			fail_msg("bad preload option %s", opt);
		opt = next;
	}
	assert_int_equal(hx_rule(skel, allow, buf, expires, mode), 0);
}

static void preload(const struct fixture *f, const struct fg_cidr *src)
{
	struct edge_config c;

	hx_config_default(&c);
	if (f->mode)
		c.mode = f->mode;
	c.flags = (c.flags | f->flags_on) & ~f->flags_off;
	c.lists &= ~f->lists_off;
	if (f->newsrc)
		tb_limit_set(&c.newsrc, 100, 5);
	assert_int_equal(hx_config_write(skel, &c), 0);
	if (f->newsrc == 2) {
		__u32 zero = 0;

		assert_int_equal(hx_bucket_empty(skel->maps.fg_newsrc, &zero), 0);
	}
	if (f->src_tracked) {
		int ncpu = libbpf_num_possible_cpus();
		struct edge_bucket full[ncpu];

		for (int i = 0; i < ncpu; i++)
			full[i] = (struct edge_bucket){ 1000 * TB_NS_PER_S, i ? 0 : hx_now() };
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(src->family == AF_INET
									 ? skel->maps.fg_src4
									 : skel->maps.fg_src6),
						     src->addr, full, BPF_ANY),
				 0);
	}
	for (int i = 0; i < 3; i++) {
		if (f->block[i])
			preload_rule(0, f->block[i]);
		if (f->allow[i])
			preload_rule(1, f->allow[i]);
	}
	if (f->edge)
		assert_int_equal(hx_edge(skel, f->edge, 100, 10, f->edge_mode), 0);
	if (f->edge_empty) {
		struct edge_in6 k;

		fg_cidr_to_in6(src, &k);
		assert_int_equal(hx_bucket_empty(skel->maps.fg_edgebkt, &k), 0);
	}
	if (f->src_empty) {
		if (src->family == AF_INET) {
			assert_int_equal(hx_bucket_empty(skel->maps.fg_src4, src->addr), 0);
		} else {
			struct fg_cidr net = *src;

			net.prefixlen = EDGE_V6_PREFIX_DEFAULT;
			fg_cidr_mask(&net);
			assert_int_equal(hx_bucket_empty(skel->maps.fg_src6, net.addr), 0);
		}
	}
}

static void run_fixture(void **state)
{
	const struct fixture *f = *state;
	struct fg_pkt_spec spec = { .proto = f->proto,
				    .sport = 40000,
				    .dport = f->dport,
				    .tcp_flags = f->tcp_flags,
				    .vlans = f->vlans,
				    .frag = f->frag,
				    .v6_ext = f->v6_ext,
				    .payload = 32,
				    .dst_mac = { 2, 0, 0, 0, 0, 2 },
				    .src_mac = { 2, 0, 0, 0, 0, 1 } };
	uint8_t frame[512], out[512];
	struct fg_pkt_layout l;
	int action;

	hx_reset(skel);
	assert_int_equal(hx_cidr(f->src, &spec.src), 0);
	assert_int_equal(hx_cidr(f->dst, &spec.dst), 0);
	assert_int_equal(fg_pkt_build(&spec, frame, sizeof(frame), &l), 0);
	if (f->corrupt)
		f->corrupt(frame, &l);
	preload(f, &spec.src);

	action = hx_run(skel, frame, l.len, out, sizeof(out));
	assert_int_equal(action, f->action);

	/* Exactly one verdict counter moved, and the outcome counter of a violation. */
	for (__u32 id = 0; id < EDGE_STAT_MAX; id++) {
		__u64 want = id == f->stat || (f->outcome && id == f->outcome) ||
			     (id == EDGE_STAT_FRAGMENT && f->fragment);
		__u64 got = hx_stat(skel, id);

		if (got != want)
			fail_msg("stat %u moved by %llu, expected %llu", id,
				 (unsigned long long)got, (unsigned long long)want);
	}
	if (action == XDP_PASS && !f->corrupt) {
		int want = f->dscp < 0 ? 0 : f->dscp;

		assert_int_equal(fg_pkt_dscp(out, &l), want);
		assert_true(fg_pkt_ipv4_csum_ok(out, &l));
		/* Nothing but the DSCP changed. */
		if (f->dscp < 0)
			assert_memory_equal(out, frame, l.len);
	}
	{
		struct edge_marked m;
		struct edge_in6 k;
		int found;

		fg_cidr_to_in6(&spec.src, &k);
		found = !bpf_map_lookup_elem(bpf_map__fd(skel->maps.fg_marked), &k, &m);
		assert_int_equal(found, f->marked);
		if (found) {
			assert_int_equal(m.count, 1);
			assert_int_equal(m.reason, f->stat);
		}
	}
}

/* The rule that matched counts its hits; a miss counts nothing. */
static void rule_hits_counted(void **state)
{
	struct fg_pkt_spec spec = { .proto = IPPROTO_TCP, .dport = 443, .tcp_flags = SYN };
	uint8_t frame[256];
	struct fg_pkt_layout l;
	struct edge_rule r;
	struct edge_lpm4 k = { .prefixlen = 24 };

	hx_reset(skel);
	hx_cidr(V4S, &spec.src);
	hx_cidr(V4D, &spec.dst);
	fg_pkt_build(&spec, frame, sizeof(frame), &l);
	assert_int_equal(hx_rule(skel, 0, "198.18.1.0/24", 0, 0), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hx_run(skel, frame, l.len, NULL, 0), XDP_DROP);
	k.addr[0] = 198, k.addr[1] = 18, k.addr[2] = 1;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.fg_blocknet4), &k, &r), 0);
	assert_int_equal(r.hits, 5);
}

/* An entry with a TTL matches until its expiry and stops within a tick (4 ms at HZ=250;
 * 50 ms allowed here for a loaded machine) after it. */
static void ttl_expires_on_time(void **state)
{
	struct fg_pkt_spec spec = { .proto = IPPROTO_TCP, .dport = 443, .tcp_flags = SYN };
	struct timespec pause = { 0, 150 * 1000000 };
	uint8_t frame[256];
	struct fg_pkt_layout l;
	__u64 expires;

	hx_reset(skel);
	hx_cidr(V4S, &spec.src);
	hx_cidr(V4D, &spec.dst);
	fg_pkt_build(&spec, frame, sizeof(frame), &l);
	expires = hx_now() + 100 * 1000000ULL;
	assert_int_equal(hx_rule(skel, 0, V4S, expires, 0), 0);
	assert_int_equal(hx_run(skel, frame, l.len, NULL, 0), XDP_DROP);
	nanosleep(&pause, NULL); /* 150 ms: 50 ms past the expiry */
	assert_int_equal(hx_run(skel, frame, l.len, NULL, 0), XDP_PASS);
}

/* The source bucket admits burst packets, then rejects until time refills it. */
static void bucket_burst_then_reject(void **state)
{
	struct fg_pkt_spec spec = { .proto = IPPROTO_TCP, .dport = 443, .tcp_flags = SYN };
	uint8_t frame[256];
	struct fg_pkt_layout l;
	struct edge_config c;

	hx_reset(skel);
	hx_config_default(&c);
	tb_limit_set(&c.src, 1, 3); /* 1 pps, burst 3: no refill within the test */
	hx_config_write(skel, &c);
	hx_cidr("198.18.7.7", &spec.src);
	hx_cidr(V4D, &spec.dst);
	fg_pkt_build(&spec, frame, sizeof(frame), &l);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hx_run(skel, frame, l.len, NULL, 0), XDP_PASS);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hx_run(skel, frame, l.len, NULL, 0), XDP_DROP);
	assert_int_equal(hx_stat(skel, EDGE_STAT_PASS_SOURCE), 3);
	assert_int_equal(hx_stat(skel, EDGE_STAT_SOURCE_LIMIT), 5);
}

/* Random sources against a new-source limit of burst 5 at 1/s: the first 5 new sources
 * are tracked, the rest rejected as new; the tracked ones keep passing. */
static void new_sources_burst_then_reject(void **state)
{
	struct fg_pkt_spec spec = { .proto = IPPROTO_TCP, .dport = 443, .tcp_flags = SYN };
	struct fg_pkt_layout l[12];
	uint8_t frame[12][256];
	struct edge_config c;
	char src[32];

	hx_reset(skel);
	hx_config_default(&c);
	tb_limit_set(&c.src, 1000, 100);
	tb_limit_set(&c.newsrc, 1, 5);
	hx_config_write(skel, &c);
	hx_cidr(V4D, &spec.dst);
	for (int i = 0; i < 12; i++) {
		snprintf(src, sizeof(src), "198.18.20.%d", i + 1);
		hx_cidr(src, &spec.src);
		fg_pkt_build(&spec, frame[i], sizeof(frame[i]), &l[i]);
		assert_int_equal(hx_run(skel, frame[i], l[i].len, NULL, 0),
				 i < 5 ? XDP_PASS : XDP_DROP);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(hx_run(skel, frame[i], l[i].len, NULL, 0), XDP_PASS);
	assert_int_equal(hx_stat(skel, EDGE_STAT_PASS_SOURCE), 10);
	assert_int_equal(hx_stat(skel, EDGE_STAT_NEW_SOURCE), 7);
}

/* Every EDGE_MAP_* name of the ABI exists in the object (they are the pin names). */
static void map_names_match_abi(void **state)
{
	const char *names[] = {
		EDGE_MAP_CONFIG,    EDGE_MAP_STATS,	EDGE_MAP_ALLOW4,  EDGE_MAP_ALLOW6,
		EDGE_MAP_ALLOWNET4, EDGE_MAP_ALLOWNET6, EDGE_MAP_BLOCK4,  EDGE_MAP_BLOCK6,
		EDGE_MAP_BLOCKNET4, EDGE_MAP_BLOCKNET6, EDGE_MAP_EDGES4,  EDGE_MAP_EDGES6,
		EDGE_MAP_SRC4,	    EDGE_MAP_SRC6,	EDGE_MAP_EDGEBKT, EDGE_MAP_MARKED,
		EDGE_MAP_NEWSRC,
	};
	struct bpf_map *m;
	int n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!bpf_object__find_map_by_name(skel->obj, names[i]))
			fail_msg("map %s missing from the object", names[i]);
	}
	bpf_object__for_each_map(m, skel->obj) if (strncmp(bpf_map__name(m), "fg_", 3) == 0) n++;
	assert_int_equal(n, sizeof(names) / sizeof(names[0]));
	assert_string_equal(bpf_program__name(skel->progs.xdp_edge), EDGE_PROG_NAME);
}

/* Random bytes must never crash or confuse the program: every frame gets some verdict
 * and exactly one verdict counter moves. */
static void random_frames_are_judged(void **state)
{
	uint8_t frame[128];
	unsigned seed = 7;
	__u64 total = 0;

	hx_reset(skel);
	for (int i = 0; i < 20000; i++) {
		__u32 len = 14 + (__u32)(rand_r(&seed) % (sizeof(frame) - 14));
		int a;

		for (__u32 j = 0; j < len; j++)
			frame[j] = (uint8_t)rand_r(&seed);
		/* Make about half of them claim IPv4 or IPv6 so the deeper parsers run. */
		if (i % 4 == 1)
			frame[12] = 0x08, frame[13] = 0x00,
			frame[14] = (uint8_t)(0x40 | (frame[14] & 0x0f));
		else if (i % 4 == 2)
			frame[12] = 0x86, frame[13] = 0xdd,
			frame[14] = (uint8_t)(0x60 | (frame[14] & 0x0f));
		a = hx_run(skel, frame, len, NULL, 0);
		assert_true(a == XDP_PASS || a == XDP_DROP);
	}
	for (__u32 id = 0; id < EDGE_STAT_VERDICT_END; id++)
		total += hx_stat(skel, id);
	assert_int_equal(total, 20000);
}

static int group_setup(void **state)
{
	hx_pin_cpu(0);
	skel = hx_load();
	return skel ? 0 : -1;
}

static int group_teardown(void **state)
{
	edge_bpf__destroy(skel);
	return 0;
}

int main(void)
{
	enum { N = sizeof(fixtures) / sizeof(fixtures[0]) };
	struct CMUnitTest tests[N + 6];

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for BPF_PROG_TEST_RUN\n");
		return 0;
	}
	for (int i = 0; i < N; i++) {
		tests[i] = (struct CMUnitTest){ .name = fixtures[i].name,
						.test_func = run_fixture,
						.initial_state = (void *)&fixtures[i] };
	}
	tests[N] = (struct CMUnitTest)cmocka_unit_test(rule_hits_counted);
	tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(bucket_burst_then_reject);
	tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(map_names_match_abi);
	tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(random_frames_are_judged);
	tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(new_sources_burst_then_reject);
	tests[N + 5] = (struct CMUnitTest)cmocka_unit_test(ttl_expires_on_time);
	return _cmocka_run_group_tests("edge", tests, N + 6, group_setup, group_teardown);
}

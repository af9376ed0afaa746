/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flood.h - the ABI between the flood generator's XDP program (bpf/flood.bpf.c) and
 * fgflood (tools/fgflood/), and the per-packet maths both of them run.
 *
 * fgflood builds one template frame (Ethernet, IPv4 or IPv6, TCP SYN or UDP) with the
 * fields that change per packet set to zero, and sums the rest of each checksum once.
 * Per packet only the source address, the source port and (TCP) the sequence number are
 * written, and the checksums are finished from those sums: no per-packet pass over the
 * header. The same functions run in the XDP program (the live-frames engine, where the
 * kernel recycles a frame with whatever the previous run left in it, so every varying
 * field is written in full, never updated) and in user space (the AF_PACKET engine and the
 * unit tests), so both engines put the same packets on the wire for the same seed.
 *
 * The functions read the config through a volatile pointer: in the program it is
 * `const volatile` read-only data that fgflood fills in before load, and the compiler must
 * not fold its all-zero initial value (the verifier still sees the loaded constants).
 *
 * Only UAPI types: the header builds for the BPF target and on the host.
 * Packet offsets assume an untagged Ethernet header and no IP options.
 */
#ifndef FLOODGATE_FLOOD_H
#define FLOODGATE_FLOOD_H

#include <linux/types.h>
#include <bpf/bpf_endian.h>

/* Slots of per-CPU state in the program's .bss; CPU ids are masked into this range. */
#define FLOOD_MAX_CPUS 256

#define FLOOD_ETH_LEN  14
#define FLOOD_IP4_LEN  20
#define FLOOD_IP6_LEN  40
#define FLOOD_TCP_LEN  20
#define FLOOD_UDP_LEN  8
#define FLOOD_SPORT_LO 1024 /* random source ports are 1024..65535 */

/* Byte offsets of the varying fields, from the start of the L3 or L4 header. */
#define FLOOD_IP4_CSUM	10
#define FLOOD_IP4_SADDR 12
#define FLOOD_IP6_SADDR 8
#define FLOOD_TCP_SEQ	4
#define FLOOD_TCP_CSUM	16
#define FLOOD_UDP_CSUM	6

/*
 * What varies and how, fixed for a run (the program's read-only data). Addresses and
 * masks in network order; the checksum bases are one's complement sums of 16-bit words
 * as they lie in memory (byte-order neutral), not yet folded.
 */
struct flood_cfg {
	__u8 family;   /* 4 or 6 */
	__u8 proto;    /* IPPROTO_TCP (a SYN) or IPPROTO_UDP */
	__u8 vary_src; /* 1: source = src_net | (random & src_host) */
	__u8 pad;
	__u32 seed;   /* stream seed (--seed) */
	__u16 l4_off; /* offset of the TCP/UDP header in the frame */
	__u16 frame_len;
	__u32 ip_base;	   /* IPv4 header sum without saddr and csum; unused for IPv6 */
	__u32 l4_base;	   /* pseudo-header + L4 header + payload without saddr, sport, seq */
	__u32 src_net[4];  /* IPv4 in word 0 */
	__u32 src_host[4]; /* bits a random source may set */
};
_Static_assert(sizeof(struct flood_cfg) == 52, "flood_cfg ABI");

/*
 * One CPU's state, one cache line: the packet counter that seeds the stream, and what the
 * xdp_devmap_xmit tracepoint reported for frames this process transmitted on this CPU.
 */
struct flood_slot {
	__u64 next;    /* packets built on this CPU */
	__u64 sent;    /* frames the device accepted */
	__u64 dropped; /* frames it refused (full ring): not on the wire, to be sent again */
	__u64 errors;  /* flushes that failed as a whole (err < 0) */
	__s32 last_err;
	__u32 pad[7];
};
_Static_assert(sizeof(struct flood_slot) == 64, "flood_slot ABI");

/* The per-packet values, as 16-bit words in network order. */
struct flood_vary {
	__u16 src[8]; /* IPv4 uses src[0..1] */
	__u16 sport;
	__u16 seq[2];
};

/* A 32-bit integer hash with good avalanche (xor-shift-multiply, two rounds). */
static inline __u32 flood_mix32(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/* Sum of n 16-bit words as they lie in memory. */
static inline __u32 flood_sum16(const __u16 *w, int n)
{
	__u32 s = 0;

	for (int i = 0; i < n; i++)
		s += w[i];
	return s;
}

/* Fold a 32-bit one's complement sum and complement it: the checksum field's value. */
static inline __u16 flood_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * The varying fields of packet n of stream `stream` (a CPU or thread number): a pure
 * function of (seed, stream, n), so a run is reproducible and streams never repeat each
 * other's sequence.
 */
static inline void flood_pick(const volatile struct flood_cfg *c, __u32 stream, __u64 n,
			      struct flood_vary *v)
{
	__u32 k = flood_mix32(c->seed ^ flood_mix32(stream * 0x9e3779b9U ^ (__u32)(n >> 32)));
	__u32 h = flood_mix32(k ^ (__u32)n);
	__u32 p = flood_mix32(h + 0x632be5abU);
	int words = c->family == 4 ? 1 : 4;

	for (int i = 0; i < 4; i++) {
		__u32 w;

		if (i >= words)
			break;
		w = c->src_net[i];
		if (c->vary_src)
			w |= flood_mix32(h + (__u32)i * 0x85ebca6bU) & c->src_host[i];
		__builtin_memcpy(&v->src[i * 2], &w, 4);
	}
	v->sport = bpf_htons((__u16)(FLOOD_SPORT_LO + (p >> 16) % (65536 - FLOOD_SPORT_LO)));
	v->seq[0] = (__u16)(p ^ h);
	v->seq[1] = (__u16)((p ^ h) >> 16);
}

/* The IPv4 header checksum for this source. */
static inline __u16 flood_ip4_csum(const volatile struct flood_cfg *c, const struct flood_vary *v)
{
	return flood_csum_fold(c->ip_base + v->src[0] + v->src[1]);
}

/* The TCP or UDP checksum for these values (UDP never sends 0, which means "none"). */
static inline __u16 flood_l4_csum(const volatile struct flood_cfg *c, const struct flood_vary *v)
{
	__u32 s = c->l4_base + v->sport;
	__u16 r;

	s += flood_sum16(v->src, c->family == 4 ? 2 : 8);
	if (c->proto == 6 /* IPPROTO_TCP */)
		s += v->seq[0] + v->seq[1];
	r = flood_csum_fold(s);
	if (c->proto == 17 /* IPPROTO_UDP */ && r == 0)
		r = 0xffff;
	return r;
}

/*
 * Write packet v's fields into a frame laid out by cfg: l3 and l4 point at the IP and the
 * TCP/UDP header, 2-byte aligned, and the caller has checked the frame holds both.
 */
static inline void flood_write(const volatile struct flood_cfg *c, const struct flood_vary *v,
			       __u16 *l3, __u16 *l4)
{
	if (c->family == 4) {
		l3[FLOOD_IP4_SADDR / 2] = v->src[0];
		l3[FLOOD_IP4_SADDR / 2 + 1] = v->src[1];
		l3[FLOOD_IP4_CSUM / 2] = flood_ip4_csum(c, v);
	} else {
		for (int i = 0; i < 8; i++)
			l3[FLOOD_IP6_SADDR / 2 + i] = v->src[i];
	}
	l4[0] = v->sport;
	if (c->proto == 6 /* IPPROTO_TCP */) {
		l4[FLOOD_TCP_SEQ / 2] = v->seq[0];
		l4[FLOOD_TCP_SEQ / 2 + 1] = v->seq[1];
		l4[FLOOD_TCP_CSUM / 2] = flood_l4_csum(c, v);
	} else {
		l4[FLOOD_UDP_CSUM / 2] = flood_l4_csum(c, v);
	}
}

#endif /* FLOODGATE_FLOOD_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fgflood.h - the flood generator's parts: options (args.c), the packet template
 * (pkt.c), the interface and its neighbour (netinfo.c), the two engines that put packets
 * on the wire (live.c: BPF_PROG_RUN live frames; packet.c: AF_PACKET TX ring), the
 * threads that drive them within the run's bounds (run.c), and main.c, which resolves a
 * run and reports it.
 *
 * args.c and pkt.c are pure (no I/O, no globals) and unit-tested on the host.
 */
#ifndef FG_FGFLOOD_H
#define FG_FGFLOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flood.h"

#define FLOOD_FRAME_MIN	    60		  /* Ethernet's minimum frame, without FCS */
#define FLOOD_FRAME_MAX	    1514	  /* 1500-byte MTU plus the Ethernet header */
#define FLOOD_SECONDS_MAX   86400	  /* one day: a flood longer than that is a mistake */
#define FLOOD_COUNT_MAX	    (1ULL << 48)  /* a bound that still means something */
#define FLOOD_PPS_MAX	    1000000000ULL /* --pps: far above what one machine sends */
#define FLOOD_BATCH_MAX	    256		  /* frames per kernel batch (the kernel's own limit) */
#define FLOOD_BATCH_DEFAULT 64		  /* the kernel's default, one NAPI budget */
#define FLOOD_DPORT_DEFAULT 80		  /* --dport: HTTP, what floodgate protects */
#define FLOOD_STALL_S	    5		  /* no frame accepted for this long: give up */

enum flood_engine {
	FLOOD_ENGINE_AUTO = 0, /* live frames when the interface takes them, else packet */
	FLOOD_ENGINE_LIVE,     /* BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX */
	FLOOD_ENGINE_PACKET,   /* AF_PACKET socket with a PACKET_TX_RING */
};

/* Everything the command line says, validated; addresses are not resolved yet. */
struct flood_opts {
	const char *ifname;
	struct fg_cidr dst; /* a host */
	struct fg_cidr src; /* a host or a network; family 0: the interface's address */
	bool src_random;    /* --src-random: src is the family's benchmarking range */
	uint16_t dport;
	uint8_t proto;	/* IPPROTO_TCP (SYN) or IPPROTO_UDP */
	uint64_t pps;	/* 0: as fast as possible (--max) */
	uint64_t count; /* 0: bounded by time only */
	double seconds; /* 0: bounded by count only */
	unsigned threads;
	unsigned size; /* frame length; 0: FLOOD_FRAME_MIN or the headers */
	unsigned batch;
	uint32_t seed;
	bool have_src_mac, have_dst_mac;
	uint8_t src_mac[6], dst_mac[6];
	enum flood_engine engine;
	bool qdisc_bypass; /* AF_PACKET: skip the qdisc layer (default on) */
	bool drop_refused; /* a refused frame is lost, not sent again (live engine only) */
	bool json;
	bool verbose;
	bool help;
};

/*
 * Parse argv (argv[0] is the program name) into *o. Returns 0, or -EINVAL with a one-line
 * reason in err. Checks everything that does not need the system: families agree, the run
 * is bounded, numbers are in range, the size fits the headers.
 */
int flood_parse_args(int argc, char **argv, struct flood_opts *o, char *err, size_t errlen);

/* The --help text. */
extern const char flood_usage[];

/* Header length of the frames o describes: Ethernet + IP + TCP/UDP. */
unsigned flood_headers_len(int family, uint8_t proto);

/* The frame length a run uses: --size, or the Ethernet minimum / header length. */
unsigned flood_frame_len(const struct flood_opts *o);

/* A template frame and the run's per-packet parameters (bpf/flood.h). */
struct flood_tmpl {
	uint8_t frame[FLOOD_FRAME_MAX];
	unsigned len;
	struct flood_cfg cfg;
};

/* Everything resolved: what pkt.c needs to build the template. */
struct flood_spec {
	int family; /* AF_INET or AF_INET6 */
	uint8_t proto;
	uint8_t src_mac[6], dst_mac[6];
	struct fg_cidr src; /* host: fixed source; network: random inside it */
	struct fg_cidr dst;
	uint16_t dport;
	unsigned frame_len;
	uint32_t seed;
};

/* Build the template and its checksum bases. Returns 0 or -EINVAL (size too small). */
int flood_tmpl_build(const struct flood_spec *s, struct flood_tmpl *t);

/* Write packet n of stream `stream` into frame (a copy of t->frame): what xdp_flood does. */
void flood_tmpl_apply(const struct flood_tmpl *t, uint32_t stream, uint64_t n, uint8_t *frame);

/* Full (not incremental) checksums of a frame, for tests: IPv4 header, TCP/UDP. */
uint16_t flood_csum_ip4_full(const uint8_t *frame);
uint16_t flood_csum_l4_full(const uint8_t *frame, unsigned len);

/* The interface a flood goes out of. */
struct flood_iface {
	int ifindex;
	unsigned mtu;
	uint8_t mac[6];
	bool is_veth;
};

/* Look the interface up. Returns 0, -ENODEV (no such interface) or another -errno. */
int flood_iface_get(const char *ifname, struct flood_iface *ifc);

/* The interface's first global address of the family (a host), or -EADDRNOTAVAIL. */
int flood_iface_addr(const char *ifname, int family, struct fg_cidr *out);

/*
 * The MAC of dst's next hop on ifindex, from the route and the neighbour table; when the
 * neighbour is unknown: a veth's peer, else ask the kernel to resolve it (ARP/ND, no data
 * packet) and wait up to wait_ms. Returns 0, -EHOSTUNREACH (no answer) or another -errno.
 */
int flood_resolve_mac(int ifindex, bool is_veth, const struct fg_cidr *dst, unsigned wait_ms,
		      uint8_t mac[6]);

/* Per-thread result. */
struct flood_result {
	uint64_t sent;	  /* packets the interface accepted */
	uint64_t refused; /* attempts the interface refused (full ring): sent again */
	uint64_t dropped; /* --drop-refused: refused frames counted as offered and lost */
	uint64_t waits;	  /* pauses for backpressure */
	int err;	  /* 0 or -errno: why the thread stopped early */
};

/* A run: what main.c sets up, and what flood_run() reports back. */
struct flood_run {
	const struct flood_engine_ops *ops;	 /* the engine */
	const struct flood_engine_ops *fallback; /* used by a thread whose engine fails at once */
	void *state, *fallback_state;
	unsigned threads;
	const unsigned *cpus; /* the CPU of each thread */
	uint64_t count;	      /* 0: bounded by seconds only */
	uint64_t pps;	      /* 0: unpaced */
	double seconds;	      /* 0: bounded by count only */
	bool drop_refused;    /* refused frames are lost: no resend, no pause */
	/* results */
	uint64_t t0;	/* CLOCK_MONOTONIC ns at the start */
	double elapsed; /* seconds from the start to the last thread's end */
	struct flood_result total;
	const char *engine_used;
};

/* Start the threads, wait for them, sum their results. Returns 0 or -errno. */
int flood_run(struct flood_run *run);

/* Ask a run to end soon (async-signal-safe). */
void flood_stop(void);

/* One sender thread's view of the run; engines drive it with the calls below. */
struct flood_thread;

/* False once the run must end: interrupted, past --seconds, or stalled (sets the error). */
bool flood_running(struct flood_thread *th);

/* True once this thread's share of --count has been sent. */
bool flood_done(const struct flood_thread *th);

/*
 * How many more packets the thread may start now, at most max, counting `inflight` ones
 * already started but not yet accepted or refused: its share of --count, and --pps (it
 * sleeps until the next packets are due). 0: none now (done, or woken to stop).
 */
uint64_t flood_budget(struct flood_thread *th, uint64_t inflight, uint64_t max);

/*
 * Report an attempt: `sent` packets accepted, `refused` refused by a full ring. A refusal
 * pauses the thread (growing backoff, reset by progress) so the receiver can drain.
 */
void flood_account(struct flood_thread *th, uint64_t sent, uint64_t refused);

/* The CPU the thread is pinned to: also its stream number (bpf/flood.h). */
unsigned flood_thread_cpu(const struct flood_thread *th);

/*
 * Engines. prepare() runs once in the main thread, run() in each sender thread (pinned),
 * cleanup() once at the end. run() returns 0 or -errno; the live engine fails with
 * -EOPNOTSUPP or -ENXIO when the interface takes no XDP frames (a veth whose peer has
 * neither an XDP program nor GRO), and --engine auto then falls back to AF_PACKET.
 */
struct flood_engine_ops {
	const char *name;
	int (*prepare)(const struct flood_opts *o, const struct flood_iface *ifc,
		       const struct flood_tmpl *t, void **state);
	int (*run)(void *state, struct flood_thread *th);
	void (*cleanup)(void *state);
};

extern const struct flood_engine_ops flood_engine_live;
extern const struct flood_engine_ops flood_engine_packet;

#endif /* FG_FGFLOOD_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edge.h - THE ABI between floodgate's XDP edge filter and everything in user space.
 *
 * Every map name, key, value, enum and limit shared by bpf/edge.bpf.c, fgctl, the daemon
 * and the tests lives here and nowhere else. The header uses only UAPI types so it builds
 * for the BPF target and on the host. Byte order is stated per field; padding is explicit
 * and every struct's size is asserted, so a change that moves a field cannot go unnoticed.
 *
 * Time: every timestamp and expiry is CLOCK_MONOTONIC in nanoseconds (clock_gettime() in
 * user space; bpf_ktime_get_ns() and its coarse, tick-resolution twin
 * bpf_ktime_get_coarse_ns() in the program). One domain for both matters: the precise clock
 * costs ~26 ns per read on a VM's kvm-clock, the coarse one ~3 ns, and the program uses
 * the coarse one wherever an underestimate of the time is safe (expiries, early rejects).
 */
#ifndef FLOODGATE_EDGE_H
#define FLOODGATE_EDGE_H

#include <linux/types.h>

/* Layout version of everything in this header. Every config write stamps it into
 * edge_config.abi, and user space refuses pinned maps that carry another: a change that
 * keeps every size but moves a field must still bump it. */
#define EDGE_ABI_VERSION 1

/* Where fgctl and the daemon pin the maps unless told otherwise (fgctl --pin-dir). */
#define EDGE_PIN_DIR_DEFAULT "/sys/fs/bpf/floodgate"
/* The XDP entry point's name: the kernel program name, the name libxdp and bpftool show. */
#define EDGE_PROG_NAME	     "xdp_edge"
/* libxdp run priority: before most other programs, since dropping early is the point. */
#define EDGE_RUN_PRIO	     10

/*
 * Map names. They are also the pin file names under the pin directory and must match the
 * variable names in bpf/maps.h (tests/bpf checks each against the loaded object).
 * The kernel keeps at most 15 characters of a map name.
 */
#define EDGE_MAP_CONFIG	   "fg_config"	  /* ARRAY[1] of struct edge_config */
#define EDGE_MAP_STATS	   "fg_stats"	  /* PERCPU_ARRAY[EDGE_STAT_MAX] of struct edge_stat */
#define EDGE_MAP_ALLOW4	   "fg_allow4"	  /* HASH __be32 -> struct edge_rule (exact /32) */
#define EDGE_MAP_ALLOW6	   "fg_allow6"	  /* HASH struct edge_in6 -> struct edge_rule (/128) */
#define EDGE_MAP_ALLOWNET4 "fg_allownet4" /* LPM struct edge_lpm4 -> struct edge_rule */
#define EDGE_MAP_ALLOWNET6 "fg_allownet6" /* LPM struct edge_lpm6 -> struct edge_rule */
#define EDGE_MAP_BLOCK4	   "fg_block4"	  /* HASH __be32 -> struct edge_rule (exact /32) */
#define EDGE_MAP_BLOCK6	   "fg_block6"	  /* HASH struct edge_in6 -> struct edge_rule (/128) */
#define EDGE_MAP_BLOCKNET4 "fg_blocknet4" /* LPM struct edge_lpm4 -> struct edge_rule */
#define EDGE_MAP_BLOCKNET6 "fg_blocknet6" /* LPM struct edge_lpm6 -> struct edge_rule */
#define EDGE_MAP_EDGES4	   "fg_edges4"	  /* LPM struct edge_lpm4 -> struct edge_net */
#define EDGE_MAP_EDGES6	   "fg_edges6"	  /* LPM struct edge_lpm6 -> struct edge_net */
#define EDGE_MAP_SRC4	   "fg_src4"	  /* LRU_PERCPU_HASH __be32 -> struct edge_bucket */
#define EDGE_MAP_SRC6	   "fg_src6"	  /* LRU_PERCPU_HASH struct edge_in6 (masked) -> bucket */
#define EDGE_MAP_EDGEBKT   "fg_edgebkt" /* LRU_PERCPU_HASH struct edge_in6 -> struct edge_bucket */
#define EDGE_MAP_MARKED	   "fg_marked"	/* LRU_HASH struct edge_in6 -> struct edge_marked */
#define EDGE_MAP_NEWSRC	   "fg_newsrc"	/* PERCPU_ARRAY[1] of struct edge_bucket */

/* Capacity of each map (user space may raise the LRU ones at load, see fgctl attach). */
#define EDGE_RULES_MAX	 65536	/* entries per allow/block exact map */
#define EDGE_NETS_MAX	 16384	/* prefixes per allow/block LPM trie */
#define EDGE_EDGES_MAX	 4096	/* edge CIDRs per family */
#define EDGE_SRC_MAX	 524288 /* tracked sources per family (LRU, per CPU values) */
#define EDGE_EDGEBKT_MAX 65536	/* tracked edge IPs (LRU, per CPU values) */
#define EDGE_MARKED_MAX	 65536	/* marked sources remembered for the daemon (LRU) */

/* Parser bounds: the verifier needs them, and a packet beyond them is malformed. */
#define EDGE_VLAN_MAX	2 /* 802.1Q and 802.1ad (QinQ) tags */
#define EDGE_V6_EXT_MAX 6 /* IPv6 extension headers skipped before the transport header */
#define EDGE_LPM_RETRY	4 /* shorter prefixes tried when the longest LPM match has expired */

#define EDGE_TTL_MAX_S	       315360000ULL /* 10 years: longest TTL fgctl and the daemon accept */
#define EDGE_RATE_MAX	       1000000000ULL /* packets per second: one per ns is the clock's limit */
#define EDGE_BURST_MAX	       1000000000ULL /* bucket size in packets */
#define EDGE_DSCP_MAX	       63
#define EDGE_DSCP_DEFAULT      8  /* CS1, "lower effort": what mark writes unless configured */
#define EDGE_V6_PREFIX_DEFAULT 64 /* one IPv6 host usually owns a whole /64 */

/* The verdict policy of a rule, of an edge, or of the config (where INHERIT is invalid). */
enum edge_mode {
	EDGE_MODE_INHERIT = 0, /* rules and edges: use the config's mode */
	EDGE_MODE_DROP = 1,    /* XDP_DROP */
	EDGE_MODE_MARK = 2,    /* pass, rewrite DSCP, remember the source in fg_marked */
	EDGE_MODE_MONITOR = 3, /* pass, count what would have been dropped */
	EDGE_MODE_MAX,
};

/* struct edge_config.flags */
enum edge_config_flags {
	EDGE_F_SYN_ONLY = 1u << 0,	 /* buckets count only TCP SYNs (new connections) */
	EDGE_F_LOCKDOWN = 1u << 1,	 /* protected ports accept only edges and allowlisted */
	EDGE_F_MALFORMED_DROP = 1u << 2, /* malformed packets are dropped (else passed) */
	EDGE_F_ALL_PORTS = 1u << 3,	 /* every TCP/UDP port is protected; ports[] unused */
};

/*
 * struct edge_config.lists: the allow/block maps that may hold entries. The program looks
 * only in those (an empty hash map still costs a hash, ~5 ns a packet). User space sets a
 * map's bit, under the pin directory's lock, before it writes the map's first entry, and
 * clears it only after finding the map empty under the same lock, so an entry is never
 * written where the program does not look. (Entries written around that protocol, e.g.
 * with bpftool, are ignored until `fgctl sweep` recomputes the bits; fgctl status warns.)
 */
enum edge_list_bits {
	EDGE_L_ALLOW4 = 1u << 0,
	EDGE_L_ALLOW6 = 1u << 1,
	EDGE_L_ALLOWNET4 = 1u << 2,
	EDGE_L_ALLOWNET6 = 1u << 3,
	EDGE_L_BLOCK4 = 1u << 4,
	EDGE_L_BLOCK6 = 1u << 5,
	EDGE_L_BLOCKNET4 = 1u << 6,
	EDGE_L_BLOCKNET6 = 1u << 7,
	EDGE_L_ALL = 0xff,
};

/* Who wrote an entry: shown by fgctl, used by the daemon to tell its entries from others. */
enum edge_origin {
	EDGE_ORIGIN_MANUAL = 0, /* fgctl by hand */
	EDGE_ORIGIN_CONFIG = 1, /* the daemon, from its config file */
	EDGE_ORIGIN_BAN = 2,	/* the daemon, an abuse ban */
	EDGE_ORIGIN_MAX,
};

/*
 * Statistics, one slot per id. Every packet increments exactly one id below
 * EDGE_STAT_VERDICT_END (so those sum to all packets seen); a violation also increments
 * one outcome id (DROPPED, MARKED or MONITORED). FRAGMENT counts non-first fragments
 * on top of their verdict.
 */
enum edge_stat_id {
	EDGE_STAT_PASS_NOT_IP = 0, /* not IPv4/IPv6 (ARP, LLDP, ...): always passed */
	EDGE_STAT_PASS_OTHER,	   /* IP, not a protected port, or not counted in SYN-only mode */
	EDGE_STAT_PASS_ALLOW,	   /* allowlisted source */
	EDGE_STAT_PASS_EDGE,	   /* from an edge IP, under the edge's bucket */
	EDGE_STAT_PASS_SOURCE,	   /* under the source bucket (or no source limit set) */
	EDGE_STAT_BLOCK,	   /* violation: blocklisted source */
	EDGE_STAT_LOCKDOWN,	   /* violation: neither edge nor allowlisted, lock-down on */
	EDGE_STAT_SOURCE_LIMIT,	   /* violation: over the source bucket */
	EDGE_STAT_EDGE_LIMIT,	   /* violation: over the edge IP's bucket */
	EDGE_STAT_NEW_SOURCE,	   /* violation: an untracked source, over the new-source rate */
	EDGE_STAT_MALFORMED,	   /* malformed or truncated; verdict per EDGE_F_MALFORMED_DROP */
	EDGE_STAT_VERDICT_END,
	EDGE_STAT_DROPPED = EDGE_STAT_VERDICT_END, /* outcome: XDP_DROP */
	EDGE_STAT_MARKED,			   /* outcome: passed with DSCP rewritten */
	EDGE_STAT_MONITORED,			   /* outcome: passed, would have been dropped */
	EDGE_STAT_FRAGMENT,			   /* non-first IP fragment (no L4 header) */
	EDGE_STAT_MAX,
};

/* Names for user space (fgctl, /metrics, docs), as initialisers so nothing is emitted in
 * the BPF object: `static const char *const names[] = EDGE_STAT_NAMES;` */
#define EDGE_STAT_NAMES                                                                            \
	{                                                                                          \
		[EDGE_STAT_PASS_NOT_IP] = "pass_not_ip", [EDGE_STAT_PASS_OTHER] = "pass_other",    \
		[EDGE_STAT_PASS_ALLOW] = "pass_allow", [EDGE_STAT_PASS_EDGE] = "pass_edge",        \
		[EDGE_STAT_PASS_SOURCE] = "pass_source", [EDGE_STAT_BLOCK] = "block",              \
		[EDGE_STAT_LOCKDOWN] = "lockdown", [EDGE_STAT_SOURCE_LIMIT] = "source_limit",      \
		[EDGE_STAT_EDGE_LIMIT] = "edge_limit", [EDGE_STAT_NEW_SOURCE] = "new_source",      \
		[EDGE_STAT_MALFORMED] = "malformed", [EDGE_STAT_DROPPED] = "dropped",              \
		[EDGE_STAT_MARKED] = "marked", [EDGE_STAT_MONITORED] = "monitored",                \
		[EDGE_STAT_FRAGMENT] = "fragment",                                                 \
	}
#define EDGE_MODE_NAMES                                                                            \
	{                                                                                          \
		[EDGE_MODE_INHERIT] = "inherit", [EDGE_MODE_DROP] = "drop",                        \
		[EDGE_MODE_MARK] = "mark", [EDGE_MODE_MONITOR] = "monitor",                        \
	}
#define EDGE_ORIGIN_NAMES                                                                          \
	{                                                                                          \
		[EDGE_ORIGIN_MANUAL] = "manual", [EDGE_ORIGIN_CONFIG] = "config",                  \
		[EDGE_ORIGIN_BAN] = "ban",                                                         \
	}

/* IPv6 address, or IPv4 mapped as ::ffff:a.b.c.d where one map holds both families.
 * Network byte order. */
struct edge_in6 {
	__u8 addr[16];
};
_Static_assert(sizeof(struct edge_in6) == 16, "edge_in6 ABI");

/* LPM trie keys; prefixlen counts bits of addr, addr in network byte order. */
struct edge_lpm4 {
	__u32 prefixlen; /* host order, 0..32 */
	__u8 addr[4];
};
_Static_assert(sizeof(struct edge_lpm4) == 8, "edge_lpm4 ABI");

struct edge_lpm6 {
	__u32 prefixlen; /* host order, 0..128 */
	__u8 addr[16];
};
_Static_assert(sizeof(struct edge_lpm6) == 20, "edge_lpm6 ABI");

/*
 * A token bucket slot, one per CPU (see bpf/tb.h for the maths and for how CPUs share one
 * rate). credit_ns is the bucket's content expressed in time: one token = interval_ns.
 * stamp_ns is, in CPU 0's slot, the cursor up to which time has been minted into credit
 * for this key (shared by all CPUs); in other CPUs' slots, the earliest time at which a
 * mint could give this CPU a whole token (so an empty bucket is rejected without a look at
 * CPU 0's slot).
 */
struct edge_bucket {
	__u64 credit_ns;
	__u64 stamp_ns;
};
_Static_assert(sizeof(struct edge_bucket) == 16, "edge_bucket ABI");

/* A limit as operators write it (rate, burst) and as the program uses it (interval, cap),
 * derived by tb_limit_set() so both always agree. */
struct edge_limit {
	__u64 rate;	   /* packets per second; 0 = unlimited */
	__u64 burst;	   /* bucket size in packets (>= 1 when rate > 0) */
	__u64 interval_ns; /* ns per packet: 1e9 / rate */
	__u64 cap_ns;	   /* bucket size in ns: burst * interval_ns */
};
_Static_assert(sizeof(struct edge_limit) == 32, "edge_limit ABI");

/* Value of every allow and block entry, exact or CIDR. */
struct edge_rule {
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0 = never. An expired entry no longer matches. */
	__u64 hits;	  /* packets that matched (atomic add) */
	__u64 created_ns; /* CLOCK_MONOTONIC when written */
	__u32 mode;	  /* block: enum edge_mode for this entry (INHERIT = config's) */
	__u8 prefixlen;	  /* prefix length of the entry (lets LPM lookups retry shorter) */
	__u8 origin;	  /* enum edge_origin */
	__u16 pad;
};
_Static_assert(sizeof(struct edge_rule) == 32, "edge_rule ABI");

/* Value of an edge CIDR: a CDN/proxy tier whose IPs are each bucketed with this limit. */
struct edge_net {
	struct edge_limit limit; /* per edge IP */
	__u64 hits;		 /* packets from this CIDR (atomic add) */
	__u32 mode;		 /* enum edge_mode when over the limit (INHERIT = config's) */
	__u8 prefixlen;
	__u8 origin; /* enum edge_origin */
	__u16 pad;
};
_Static_assert(sizeof(struct edge_net) == 48, "edge_net ABI");

/* Value of fg_marked: what the daemon reads on accept to apply its suspect limits. */
struct edge_marked {
	__u64 last_ns; /* CLOCK_MONOTONIC (coarse) of the last marked packet */
	__u64 count;   /* packets marked */
	__u32 reason;  /* enum edge_stat_id of the last violation */
	__u32 pad;
};
_Static_assert(sizeof(struct edge_marked) == 24, "edge_marked ABI");

/* Value of fg_stats (per CPU; readers sum the CPUs). */
struct edge_stat {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct edge_stat) == 16, "edge_stat ABI");

#define EDGE_PORT_WORDS (65536 / 64)

/* The single entry of fg_config (key 0). Writers replace it whole. */
struct edge_config {
	__u32 mode;		  /* enum edge_mode for source-limit and lock-down violations */
	__u32 flags;		  /* enum edge_config_flags */
	struct edge_limit src;	  /* per source IP (IPv6: per /v6_prefix) */
	struct edge_limit newsrc; /* sources starting to be tracked, all together: a spoofed
				   * random-source flood gives every packet a new source whose
				   * bucket starts full, so only this limit stops it (and keeps it
				   * from churning the LRU buckets of real clients) */
	__u8 dscp;		  /* DSCP written by mark, 0..63 */
	__u8 v6_prefix;		  /* IPv6 sources are bucketed per this prefix, 1..128 */
	__u8 origin;		  /* enum edge_origin of the last writer */
	__u8 abi;		  /* EDGE_ABI_VERSION of the last writer */
	__u32 generation;	  /* incremented by every policy write, for drift detection */
	__u32 lists;		  /* enum edge_list_bits: lists that may hold entries */
	__u32 pad1;
	__u64 ports[EDGE_PORT_WORDS]; /* protected TCP/UDP destination ports: bit p%64 of word
				       * p/64 for host-order port p; unused with ALL_PORTS */
};
_Static_assert(sizeof(struct edge_config) == 88 + 8 * EDGE_PORT_WORDS, "edge_config ABI");

#endif /* FLOODGATE_EDGE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: the map definitions of bpf/edge.bpf.c. Names, keys and values: bpf/edge.h. */
/*
 * maps.h - every map of the edge filter, one line each on what it holds.
 *
 * Map variable names are the pin names of edge.h's EDGE_MAP_* (tests/bpf checks they
 * match). Capacities of the LRU maps are defaults; fgctl may resize them before load.
 * Rule and LPM maps are not preallocated: user space writes them rarely, and an empty
 * blocklist should cost no memory.
 */
#ifndef FLOODGATE_MAPS_H
#define FLOODGATE_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "edge.h"

/* The one config entry (key 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edge_config);
} fg_config SEC(".maps");

/* Per-CPU packet and byte counters per enum edge_stat_id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EDGE_STAT_MAX);
	__type(key, __u32);
	__type(value, struct edge_stat);
} fg_stats SEC(".maps");

/* Allowlist and blocklist, exact addresses. */
#define RULE_HASH(name, keytype)                                                                   \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, EDGE_RULES_MAX);                                               \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, keytype);                                                              \
		__type(value, struct edge_rule);                                                   \
	} name SEC(".maps")

/* Allowlist and blocklist, CIDRs (LPM tries require BPF_F_NO_PREALLOC). */
#define RULE_LPM(name, keytype, valtype, max)                                                      \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                                               \
		__uint(max_entries, max);                                                          \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, keytype);                                                              \
		__type(value, valtype);                                                            \
	} name SEC(".maps")

/* Token buckets: one 16-byte slot per CPU per key, least recently used evicted first. */
#define BUCKETS(name, keytype, max)                                                                \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);                                        \
		__uint(max_entries, max);                                                          \
		__type(key, keytype);                                                              \
		__type(value, struct edge_bucket);                                                 \
	} name SEC(".maps")

RULE_HASH(fg_allow4, __be32);	       /* allowlisted IPv4 hosts */
RULE_HASH(fg_allow6, struct edge_in6); /* allowlisted IPv6 hosts */
RULE_HASH(fg_block4, __be32);	       /* blocklisted IPv4 hosts (manual blocks and bans) */
RULE_HASH(fg_block6, struct edge_in6); /* blocklisted IPv6 hosts */
RULE_LPM(fg_allownet4, struct edge_lpm4, struct edge_rule, EDGE_NETS_MAX); /* allowed nets */
RULE_LPM(fg_allownet6, struct edge_lpm6, struct edge_rule, EDGE_NETS_MAX);
RULE_LPM(fg_blocknet4, struct edge_lpm4, struct edge_rule, EDGE_NETS_MAX); /* blocked nets */
RULE_LPM(fg_blocknet6, struct edge_lpm6, struct edge_rule, EDGE_NETS_MAX);
RULE_LPM(fg_edges4, struct edge_lpm4, struct edge_net, EDGE_EDGES_MAX); /* CDN/proxy tiers */
RULE_LPM(fg_edges6, struct edge_lpm6, struct edge_net, EDGE_EDGES_MAX);

BUCKETS(fg_src4, __be32, EDGE_SRC_MAX);			/* per IPv4 source */
BUCKETS(fg_src6, struct edge_in6, EDGE_SRC_MAX);	/* per IPv6 source prefix */
BUCKETS(fg_edgebkt, struct edge_in6, EDGE_EDGEBKT_MAX); /* per edge IP (v4 mapped) */

/* The new-source bucket: one per CPU, CPU 0's slot holding the shared mint cursor. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edge_bucket);
} fg_newsrc SEC(".maps");

/* Sources the program marked, for the daemon's stricter "suspect" limits. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EDGE_MARKED_MAX);
	__type(key, struct edge_in6);
	__type(value, struct edge_marked);
} fg_marked SEC(".maps");

#endif /* FLOODGATE_MAPS_H */

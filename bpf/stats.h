/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: per-CPU verdict counters of bpf/edge.bpf.c. */
/*
 * stats.h - count a packet under an enum edge_stat_id. Per-CPU slots: no atomics; readers
 * (fgctl stats, the daemon's /metrics) sum the CPUs.
 */
#ifndef FLOODGATE_STATS_H
#define FLOODGATE_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "edge.h"
#include "maps.h"

static __always_inline void stat_add(__u32 id, __u64 bytes)
{
	struct edge_stat *s = bpf_map_lookup_elem(&fg_stats, &id);

	if (s) {
		s->packets++;
		s->bytes += bytes;
	}
}

#endif /* FLOODGATE_STATS_H */

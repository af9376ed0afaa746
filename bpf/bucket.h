/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: per-CPU token buckets in LRU maps, on the maths of bpf/tb.h. */
/*
 * bucket.h - admit or reject one packet against a key's bucket.
 *
 * The bucket is a per-CPU map value: the fast path touches only this CPU's slot. When the
 * slot's wallet is empty, the key's shared mint cursor in CPU 0's slot is read through
 * bpf_map_lookup_percpu_elem() and advanced with one compare-and-swap; tb.h explains why
 * this holds the configured rate across CPUs instead of multiplying it by their number.
 * A new key starts with a full bucket. A map that cannot give us a slot fails open: the
 * buckets are data, and losing one must not drop legitimate traffic.
 *
 * The clock is read only when a decision needs it (a new key, an empty wallet): reading it
 * costs more than the rest of the bucket (~26 ns with this VM's kvm-clock against ~7 ns
 * for the LRU lookup), and a source under its limit pays from its wallet without it,
 * minting once per up to `burst` packets. A source over its limit is first judged on the
 * coarse clock (~3 ns, tb_percpu_early_reject()): under a flood from one source, most
 * packets are rejected without a precise read.
 */
#ifndef FLOODGATE_BUCKET_H
#define FLOODGATE_BUCKET_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "edge.h"
#include "lists.h"
#include "tb.h"

enum bucket_verdict {
	BUCKET_OVER = 0, /* over the key's limit */
	BUCKET_ADMIT = 1,
	BUCKET_NEW_OVER = 2, /* a key not yet tracked, over the new-key limit */
};

/* One token from a single shared bucket kept in a 1-entry per-CPU array (the new-source
 * bucket). Returns 1 to admit. Like bucket_admit(), it pays from the wallet without the
 * clock, and rejects on the coarse clock when it can: under a spoofed flood, this is the
 * verdict of every packet. */
static __always_inline int bucket_admit_global(void *map, const struct edge_limit *l,
					       struct clock *clk)
{
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct edge_bucket *mine, *home;
	__u64 now;
	int r;

	if (!l->interval_ns || l->cap_ns < l->interval_ns)
		return 1;
	mine = bpf_map_lookup_elem(map, &zero);
	if (!mine)
		return 1;
	if (tb_wallet_take(mine, l->interval_ns))
		return 1;
	if (mine->stamp_ns &&
	    tb_percpu_early_reject(mine, cpu == 0, clock_coarse(clk), l->interval_ns, l->cap_ns))
		return 0;
	now = clock_now(clk);
	r = tb_percpu_fast(mine, cpu == 0, now, l->interval_ns);
	if (r != TB_MINT)
		return r;
	home = cpu == 0 ? mine : bpf_map_lookup_percpu_elem(map, &zero, 0);
	if (!home)
		return 1;
	/* An array slot exists from the start, zeroed: the first user starts the cursor one
	 * full bucket in the past, so the bucket starts full like every other. */
	if (!home->stamp_ns)
		tb_percpu_home_init(home, now > l->cap_ns ? now - l->cap_ns : 1);
	return tb_percpu_mint(mine, home, cpu == 0, now, l->interval_ns, l->cap_ns);
}

/*
 * Admit one packet for `key`. A key seen for the first time must also get a token from
 * `newkeys` (NULL: no such limit) before it is tracked. Returns enum bucket_verdict.
 * A limit of 0 (interval 0) admits all.
 */
static __always_inline int bucket_admit(void *map, const void *key, const struct edge_limit *l,
					void *newkeys, const struct edge_limit *nl,
					struct clock *clk)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct edge_bucket *mine, *home, fresh;
	__u64 interval = l->interval_ns, cap = l->cap_ns, now;
	int r;

	if (!interval || cap < interval)
		return BUCKET_ADMIT;
	mine = bpf_map_lookup_elem(map, key);
	if (mine) {
		if (tb_wallet_take(mine, interval))
			return BUCKET_ADMIT;
		if (tb_percpu_early_reject(mine, cpu == 0, clock_coarse(clk), interval, cap))
			return BUCKET_OVER;
	}
	if (!mine && newkeys && !bucket_admit_global(newkeys, nl, clk))
		return BUCKET_NEW_OVER;
	now = clock_now(clk);
	if (!mine) {
		tb_percpu_init(&fresh, now, cap, cpu == 0);
		tb_wallet_take(&fresh, interval);
		if (!bpf_map_update_elem(map, key, &fresh, BPF_NOEXIST)) {
			if (cpu != 0) {
				home = bpf_map_lookup_percpu_elem(map, key, 0);
				if (home)
					tb_percpu_home_init(home, now);
			}
			return BUCKET_ADMIT;
		}
		/* Another CPU created it a moment ago: use the slot it made for us. */
		mine = bpf_map_lookup_elem(map, key);
		if (!mine)
			return BUCKET_ADMIT;
	}
	r = tb_percpu_fast(mine, cpu == 0, now, interval);
	if (r != TB_MINT)
		return r;
	home = cpu == 0 ? mine : bpf_map_lookup_percpu_elem(map, key, 0);
	if (!home)
		return BUCKET_ADMIT;
	return tb_percpu_mint(mine, home, cpu == 0, now, interval, cap);
}

#endif /* FLOODGATE_BUCKET_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: BPF program source, not part of the ABI. */
/*
 * floor.bpf.c - the benchmarks' floors: programs that do nothing but return a verdict.
 *
 * bench-xdp reports floodgate's cost as the difference to these, measured in the same run:
 * BPF_PROG_TEST_RUN of xdp_floor_pass is the fixed cost of running any XDP program, and
 * a flood into xdp_floor_drop on a veth is the cheapest possible way to discard it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_floor_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_floor_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";

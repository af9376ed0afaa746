/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: BPF program source, not part of the ABI. */
/*
 * floor.bpf.c - the benchmarks' floors: programs that do nothing but return a verdict.
 *
 * bench-xdp reports floodgate's cost as the difference to these, measured in the same run:
 * BPF_PROG_TEST_RUN of xdp_floor_pass is the fixed cost of running any XDP program, and
 * a flood into xdp_floor_drop on a veth is the cheapest possible way to discard it.
 * bench-ban's goodput under flood puts xdp_floor_keep_one on the defender's interface
 * in floodgate's place: the least any filter must do there (drop every IPv4 packet but
 * the legitimate client's), so the goodput it leaves is what the machine allows.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* The one IPv4 source xdp_floor_keep_one passes (network order); written by the bench
 * through the object's .bss map after loading. */
__u32 floor_keep_saddr;

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

SEC("xdp")
int xdp_floor_keep_one(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	/* ARP, IPv6 and runts pass: only IPv4 carries the flood */
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	return ip->saddr == floor_keep_saddr ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";

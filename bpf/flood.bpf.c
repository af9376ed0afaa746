/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel-only: BPF program source, not part of the ABI. */
/*
 * flood.bpf.c - fgflood's live-frames engine: packets built in the kernel, sent by XDP_TX.
 *
 * fgflood runs xdp_flood with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: the kernel
 * copies the template frame into page-pool pages, runs the program on each, and transmits
 * what it returns XDP_TX through the interface named in the context (the sending veth,
 * whose ndo_xdp_xmit puts the frame straight into its peer's receive ring). No socket and
 * no skb on the sending side: the sender's cost per packet is the program plus a share of
 * a bulk transmit.
 *
 * The kernel does not tell BPF_PROG_RUN's caller how many frames the device accepted: a
 * full ring (a receiver slower than us) drops the rest of a bulk silently. flood_xmit, on
 * the xdp_devmap_xmit tracepoint that every bulk transmit fires, counts accepted and
 * refused frames per CPU for this process and interface, so fgflood counts only what was
 * really sent and sends the refused ones again after a pause.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "flood.h"

/* Set by fgflood before load. */
const volatile struct flood_cfg flood_cfg;
const volatile __u32 flood_tgid;    /* only frames this process sent are counted */
const volatile __u32 flood_ifindex; /* ... through this device */

struct flood_slot flood_slots[FLOOD_MAX_CPUS];

/* The kernel's struct, reduced to the field we read; CO-RE finds its real offset. */
struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

SEC("xdp")
int xdp_flood(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const volatile struct flood_cfg *c = &flood_cfg;
	__u32 cpu = bpf_get_smp_processor_id() & (FLOOD_MAX_CPUS - 1);
	struct flood_slot *slot = &flood_slots[cpu];
	struct flood_vary v;
	__u16 *l3, *l4;

	flood_pick(c, cpu, slot->next++, &v);

	l3 = data + FLOOD_ETH_LEN;
	l4 = data + FLOOD_ETH_LEN + (c->family == 4 ? FLOOD_IP4_LEN : FLOOD_IP6_LEN);
	/* The bound of the L4 header covers the L3 header before it. */
	if ((void *)l4 + (c->proto == 6 ? FLOOD_TCP_LEN : FLOOD_UDP_LEN) > end)
		return XDP_ABORTED;
	flood_write(c, &v, l3, l4);
	return XDP_TX;
}

SEC("tp_btf/xdp_devmap_xmit")
int BPF_PROG(flood_xmit, const struct net_device *from_dev, const struct net_device *to_dev,
	     int sent, int drops, int err)
{
	struct flood_slot *slot;

	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != flood_tgid)
		return 0;
	if ((__u32)to_dev->ifindex != flood_ifindex)
		return 0;
	slot = &flood_slots[bpf_get_smp_processor_id() & (FLOOD_MAX_CPUS - 1)];
	slot->sent += sent;
	slot->dropped += drops;
	if (err) {
		slot->errors++;
		slot->last_err = err;
	}
	return 0;
}

/* A frame the kernel could not even queue for the device (it takes no XDP frames). */
SEC("tp_btf/xdp_redirect_err")
int BPF_PROG(flood_redirect_err, const struct net_device *dev, const void *xdp_prog,
	     const void *tgt, int err)
{
	struct flood_slot *slot;

	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != flood_tgid)
		return 0;
	if ((__u32)dev->ifindex != flood_ifindex)
		return 0;
	slot = &flood_slots[bpf_get_smp_processor_id() & (FLOOD_MAX_CPUS - 1)];
	slot->errors++;
	slot->last_err = err;
	return 0;
}

char _license[] SEC("license") = "GPL";

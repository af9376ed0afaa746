/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * live.c - the live-frames engine: BPF_PROG_RUN of xdp_flood with
 * BPF_F_TEST_XDP_LIVE_FRAMES, so the kernel builds and transmits the packets (see
 * bpf/flood.bpf.c for why this is cheap and how sent frames are counted).
 *
 * Each run asks for `repeat` frames; afterwards this CPU's slot says how many the device
 * accepted and how many it refused. Refused frames are simply asked for again in the next
 * run, after flood_account() has paused for the receiver to drain its ring.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fgflood.h"
#include "log.h"
#include "flood.skel.h"

/* Frames per BPF_PROG_RUN call: ~10 ms at 1.5 Mpps, so --seconds and Ctrl-C act soon. */
#define LIVE_CHUNK 16384

struct live {
	struct flood_bpf *skel;
	const struct flood_tmpl *t;
	int ifindex;
	unsigned batch;
};

static int live_prepare(const struct flood_opts *o, const struct flood_iface *ifc,
			const struct flood_tmpl *t, void **state)
{
	struct live *l;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->t = t;
	l->ifindex = ifc->ifindex;
	l->batch = o->batch;
	l->skel = flood_bpf__open();
	if (!l->skel) {
		err = -errno;
		pr_debug("Couldn't open the flood program: %s", strerror(-err));
		goto fail;
	}
	l->skel->rodata->flood_cfg = t->cfg;
	l->skel->rodata->flood_tgid = (__u32)getpid();
	l->skel->rodata->flood_ifindex = (__u32)ifc->ifindex;
	err = flood_bpf__load(l->skel);
	if (err) {
		pr_debug("Couldn't load the flood program: %s", strerror(-err));
		goto fail;
	}
	err = flood_bpf__attach(l->skel);
	if (err) {
		pr_debug("Couldn't attach to the xdp_devmap_xmit tracepoint: %s", strerror(-err));
		goto fail;
	}
	*state = l;
	return 0;
fail:
	flood_bpf__destroy(l->skel);
	free(l);
	return err;
}

static int live_run(void *state, struct flood_thread *th)
{
	struct live *l = state;
	volatile struct flood_slot *slot =
		&l->skel->bss->flood_slots[flood_thread_cpu(th) & (FLOOD_MAX_CPUS - 1)];
	struct xdp_md ctx = { .data_end = l->t->len, .ingress_ifindex = (__u32)l->ifindex };
	int fd = bpf_program__fd(l->skel->progs.xdp_flood);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = l->t->frame, .data_size_in = l->t->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .batch_size = l->batch);

	while (flood_running(th)) {
		uint64_t n = flood_budget(th, 0, LIVE_CHUNK), sent, refused, errors;
		uint64_t s0 = slot->sent, d0 = slot->dropped, e0 = slot->errors;

		if (!n) {
			if (flood_done(th))
				break;
			continue;
		}
		opts.repeat = (__u32)n;
		if (bpf_prog_test_run_opts(fd, &opts) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent = slot->sent - s0;
		refused = slot->dropped - d0;
		errors = slot->errors - e0;
		/* A device that takes no XDP frames at all (a veth whose peer has neither an
		 * XDP program nor GRO, hence no NAPI ring) fails every bulk with an error. */
		if (errors && !sent)
			return slot->last_err < 0 ? slot->last_err : -EIO;
		if (sent + refused < n) {
			pr_debug("%llu of %llu frames neither sent nor refused",
				 (unsigned long long)(n - sent - refused), (unsigned long long)n);
			if (!sent && !refused)
				return -EIO;
		}
		flood_account(th, sent, refused);
	}
	return 0;
}

static void live_cleanup(void *state)
{
	struct live *l = state;

	if (!l)
		return;
	flood_bpf__destroy(l->skel);
	free(l);
}

const struct flood_engine_ops flood_engine_live = {
	.name = "live",
	.prepare = live_prepare,
	.run = live_run,
	.cleanup = live_cleanup,
};

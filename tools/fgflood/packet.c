/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * packet.c - the AF_PACKET engine: one socket per thread with a PACKET_TX_RING
 * (TPACKET_V2), frames written in place, one sendto() per batch, the qdisc layer
 * bypassed (a veth has none worth passing through).
 *
 * Backpressure. A frame the driver refuses (a full ring on the receiving veth, or a
 * stopped queue) makes sendto() fail with ENOBUFS and is handed back to us still marked
 * SEND_REQUEST at the kernel's position in the ring; the frames behind it are untouched.
 * So a frame whose status is no longer SEND_REQUEST after sendto() has been accepted
 * (SENDING while the receiver still holds it, then AVAILABLE), and one that still is will
 * go with the next sendto(): count the first kind, wait, and call sendto() again.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fgflood.h"
#include "log.h"

#define RING_FRAME_SIZE 2048
#define RING_BLOCK_SIZE (1 << 16)
#define RING_BLOCKS	16 /* 512 frames, 1 MiB per thread */
#define RING_FRAMES	(RING_BLOCK_SIZE / RING_FRAME_SIZE * RING_BLOCKS)
#define DATA_OFF	(TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

struct packet {
	const struct flood_tmpl *t;
	int ifindex;
	bool bypass;
	unsigned batch;
};

struct ring {
	int fd;
	uint8_t *map;
	size_t len;
};

static int packet_prepare(const struct flood_opts *o, const struct flood_iface *ifc,
			  const struct flood_tmpl *t, void **state)
{
	struct packet *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->t = t;
	p->ifindex = ifc->ifindex;
	p->bypass = o->qdisc_bypass;
	p->batch = o->batch;
	*state = p;
	return 0;
}

static struct tpacket2_hdr *frame_at(const struct ring *r, unsigned i)
{
	return (struct tpacket2_hdr *)(r->map + (size_t)(i % RING_FRAMES) * RING_FRAME_SIZE);
}

static unsigned status_of(const struct tpacket2_hdr *h)
{
	return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
}

static int ring_open(const struct packet *p, struct ring *r)
{
	struct tpacket_req req = {
		.tp_block_size = RING_BLOCK_SIZE,
		.tp_block_nr = RING_BLOCKS,
		.tp_frame_size = RING_FRAME_SIZE,
		.tp_frame_nr = RING_FRAMES,
	};
	/* Protocol 0: the socket receives nothing, it only sends. */
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = p->ifindex };
	int v = TPACKET_V2, one = 1, err;

	r->map = MAP_FAILED;
	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0)
		goto fail;
	if (p->bypass && setsockopt(r->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		goto fail;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0)
		goto fail;
	r->len = (size_t)RING_BLOCK_SIZE * RING_BLOCKS;
	r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, 0);
	if (r->map == MAP_FAILED)
		goto fail;
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	pr_err("Couldn't set up the AF_PACKET TX ring: %s", strerror(-err));
	if (r->map != MAP_FAILED)
		munmap(r->map, r->len);
	close(r->fd);
	return err;
}

static int packet_run(void *state, struct flood_thread *th)
{
	const struct packet *p = state;
	const struct flood_tmpl *t = p->t;
	uint32_t stream = flood_thread_cpu(th);
	uint64_t n = 0;	       /* packets built: the stream position */
	unsigned head = 0;     /* next frame to fill */
	unsigned kpos = 0;     /* oldest frame submitted and not yet seen accepted */
	unsigned inflight = 0; /* frames between kpos and head */
	struct ring r;
	int err = 0;

	err = ring_open(p, &r);
	if (err)
		return err;

	while (flood_running(th)) {
		uint64_t budget, sent = 0, refused = 0;
		unsigned room = 0;

		/* Free frames at the fill position, up to one batch. */
		while (room < p->batch && inflight + room < RING_FRAMES &&
		       status_of(frame_at(&r, head + room)) == TP_STATUS_AVAILABLE)
			room++;
		budget = flood_budget(th, inflight, room);
		for (uint64_t i = 0; i < budget; i++) {
			struct tpacket2_hdr *h = frame_at(&r, head);
			uint8_t *data = (uint8_t *)h + DATA_OFF;

			memcpy(data, t->frame, t->len);
			flood_tmpl_apply(t, stream, n++, data);
			h->tp_len = t->len;
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
			head = (head + 1) % RING_FRAMES;
			inflight++;
		}
		if (!inflight) {
			if (flood_done(th))
				break;
			if (!room) /* every frame still held by the receiver */
				poll(&(struct pollfd){ .fd = r.fd, .events = POLLOUT }, 1, 10);
			continue;
		}

		if (sendto(r.fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EBUSY)
				refused = 1;
			else if (errno != EINTR) {
				err = -errno;
				break;
			}
		}
		while (inflight) {
			unsigned st = status_of(frame_at(&r, kpos));

			if (st & TP_STATUS_SEND_REQUEST)
				break;
			if (st & TP_STATUS_WRONG_FORMAT) {
				err = -EINVAL;
				break;
			}
			kpos = (kpos + 1) % RING_FRAMES;
			inflight--;
			sent++;
		}
		flood_account(th, sent, refused);
		if (err)
			break;
	}
	/* Frames still waiting are discarded with the ring: they were never sent. */
	munmap(r.map, r.len);
	close(r.fd);
	return err;
}

static void packet_cleanup(void *state)
{
	free(state);
}

const struct flood_engine_ops flood_engine_packet = {
	.name = "packet",
	.prepare = packet_prepare,
	.run = packet_run,
	.cleanup = packet_cleanup,
};

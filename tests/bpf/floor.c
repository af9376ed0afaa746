// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * floor.c - BPF_PROG_TEST_RUN fixtures of the benchmarks' floors (bpf/floor.bpf.c): the
 * bare verdicts, and xdp_floor_keep_one, bench-ban's cheapest filter, which must keep the
 * legitimate client (or its goodput would be nothing) and drop every other IPv4 packet
 * (or the floor would be the kernel's SYN path, not a filter's).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include "floor.skel.h"
#include "pkt.h"
#include "unit.h"

static struct floor_bpf *skel;

static int run(struct bpf_program *prog, const void *frame, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);

	return err ? -errno : (int)o.retval;
}

/* A TCP SYN from src to 198.18.0.2:8443 (or its IPv6 twin). */
static unsigned syn(const char *src, uint8_t *frame, size_t size)
{
	struct fg_pkt_spec s = {
		.proto = IPPROTO_TCP, .sport = 40000, .dport = 8443, .tcp_flags = FG_TH_SYN
	};
	struct fg_pkt_layout l;
	const char *why = "?";

	assert_int_equal(fg_cidr_parse(src, &s.src, &why), 0);
	assert_int_equal(fg_cidr_parse(strchr(src, ':') ? "2001:2::2" : "198.18.0.2", &s.dst, &why),
			 0);
	assert_int_equal(fg_pkt_build(&s, frame, size, &l), 0);
	return l.len;
}

static void bare_verdicts(void **state)
{
	uint8_t f[128];
	unsigned n = syn("198.18.9.9", f, sizeof(f));

	(void)state;
	assert_int_equal(run(skel->progs.xdp_floor_pass, f, n), XDP_PASS);
	assert_int_equal(run(skel->progs.xdp_floor_drop, f, n), XDP_DROP);
}

static void keep_one(void **state)
{
	static const struct {
		const char *src;
		int verdict;
	} table[] = {
		{ "198.18.7.1", XDP_PASS }, /* the kept client */
		{ "198.18.7.2", XDP_DROP }, /* its neighbour */
		{ "1.7.18.198", XDP_DROP }, /* its bytes reversed: the compare is in network order */
		{ "198.19.255.255", XDP_DROP },
		{ "2001:2::7", XDP_PASS }, /* IPv6 is not the flood's */
	};
	uint8_t f[128];

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		unsigned n = syn(table[i].src, f, sizeof(f));

		assert_int_equal(run(skel->progs.xdp_floor_keep_one, f, n), table[i].verdict);
	}
	/* ARP (not IP) and a frame too short for an IPv4 header pass */
	memset(f, 0, sizeof(f));
	f[12] = 0x08, f[13] = 0x06;
	assert_int_equal(run(skel->progs.xdp_floor_keep_one, f, 60), XDP_PASS);
	f[13] = 0x00; /* IPv4, cut after 14 + 12 bytes */
	assert_int_equal(run(skel->progs.xdp_floor_keep_one, f, 26), XDP_PASS);
}

static int setup(void **state)
{
	(void)state;
	skel = floor_bpf__open();
	if (!skel)
		return -1;
	skel->bss->floor_keep_saddr = htonl(0xc6120701); /* 198.18.7.1 */
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "# Couldn't load the floor programs: %s\n", strerror(errno));
		floor_bpf__destroy(skel);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	floor_bpf__destroy(skel);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bare_verdicts),
		cmocka_unit_test(keep_one),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for BPF_PROG_TEST_RUN\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

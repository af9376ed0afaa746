/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One source, several CPUs, one rate: BPF_PROG_TEST_RUN runs the program on the calling
 * CPU, so threads pinned to different CPUs put the same source's packets through
 * different per-CPU bucket slots, at far more than the rate, for about a second of real
 * time. The admitted count must be burst + rate * T within +-10% (the bound; the
 * mint cursor of bpf/tb.h makes it exact but for scheduling noise at the edges of T),
 * and not CPUs * rate * T as independent per-CPU buckets would give.
 */
#include "unit.h"
#include "harness.h"

#include <pthread.h>
#include <netinet/in.h>

#define RATE 20000ULL
/* Two bursts: 200 (10 ms of tokens: the precise clock judges every rejection) and 2000
 * (100 ms: most rejections are judged on the coarse clock, tb_percpu_early_reject()). */
static __u64 burst = 200;
#define RUN_NS (1200ULL * 1000000ULL)

static struct edge_bpf *skel;
static uint8_t frame[128];
static struct fg_pkt_layout layout;
static pthread_barrier_t barrier;

struct worker {
	int cpu;
	__u64 start, end, runs;
	int err;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	/* One packet per call: with repeat > 1 the kernel swaps the program into the XDP
	 * dispatcher and out again around every call (bpf_prog_change_xdp), which on Linux
	 * 6.18 here waits about 16 ms for RCU each time: a lone thread then offered less than
	 * the rate, and the bucket filled up in the gaps. */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = layout.len,
		    .repeat = 1);
	int fd = bpf_program__fd(skel->progs.xdp_edge);

	w->err = hx_pin_cpu(w->cpu);
	pthread_barrier_wait(&barrier);
	w->start = hx_now();
	do {
		if (bpf_prog_test_run_opts(fd, &o)) {
			w->err = -errno;
			break;
		}
		w->runs += o.repeat;
		w->end = hx_now();
	} while (w->end - w->start < RUN_NS);
	return NULL;
}

/* Run the flood on `ncpu` CPUs; returns admitted and sets *secs to the flood's span. */
static __u64 flood(int ncpu, double *secs, __u64 *offered, __u64 per_cpu_admitted[])
{
	struct worker w[2] = { { .cpu = 0 }, { .cpu = 1 } };
	pthread_t t[2];
	__u64 start = ~0ULL, end = 0;
	int n = libbpf_num_possible_cpus();
	struct edge_stat v[n];
	__u32 id = EDGE_STAT_PASS_SOURCE;

	hx_reset(skel);
	{
		struct edge_config c;

		hx_config_default(&c);
		tb_limit_set(&c.src, RATE, burst);
		hx_config_write(skel, &c);
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)ncpu);
	for (int i = 0; i < ncpu; i++)
		pthread_create(&t[i], NULL, work, &w[i]);
	*offered = 0;
	for (int i = 0; i < ncpu; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].err, 0);
		start = w[i].start < start ? w[i].start : start;
		end = w[i].end > end ? w[i].end : end;
		*offered += w[i].runs;
	}
	pthread_barrier_destroy(&barrier);
	*secs = (double)(end - start) / 1e9;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.fg_stats), &id, v), 0);
	for (int i = 0; i < n && i < 2; i++)
		per_cpu_admitted[i] = v[i].packets;
	return hx_stat(skel, EDGE_STAT_PASS_SOURCE);
}

static void check(int ncpu)
{
	__u64 per_cpu[2] = { 0 }, offered, admitted;
	double secs, expect;

	admitted = flood(ncpu, &secs, &offered, per_cpu);
	expect = (double)burst + (double)RATE * secs;
	print_message(
		"# burst %llu, %d CPU(s): %.3f s, offered %llu (%.1fx the rate), admitted %llu, "
		"expected %.0f (%+.2f%%); per CPU %llu + %llu\n",
		(unsigned long long)burst, ncpu, secs, (unsigned long long)offered,
		offered / expect, (unsigned long long)admitted, expect,
		100.0 * ((double)admitted - expect) / expect, (unsigned long long)per_cpu[0],
		(unsigned long long)per_cpu[1]);
	/* The flood must really be an overload for the bound to mean anything. */
	assert_true((double)offered > 2.0 * expect);
	assert_true((double)admitted >= 0.9 * expect);
	assert_true((double)admitted <= 1.1 * expect);
	if (ncpu == 2) {
		/* Both CPUs really carried the source and both were admitted some of it. */
		assert_true(per_cpu[0] > 0);
		assert_true(per_cpu[1] > 0);
	}
}

static void one_cpu_gets_the_rate(void **state)
{
	check(1);
}

static void two_cpus_share_one_rate(void **state)
{
	check(2);
}

static void coarse_clock_one_cpu(void **state)
{
	burst = 2000;
	check(1);
}

static void coarse_clock_two_cpus(void **state)
{
	burst = 2000;
	check(2);
}

static int setup(void **state)
{
	struct fg_pkt_spec spec = { .proto = IPPROTO_TCP, .dport = 443, .tcp_flags = FG_TH_SYN };

	skel = hx_load();
	if (!skel)
		return -1;
	hx_cidr("198.18.9.9", &spec.src);
	hx_cidr("198.18.0.2", &spec.dst);
	return fg_pkt_build(&spec, frame, sizeof(frame), &layout);
}

static int teardown(void **state)
{
	edge_bpf__destroy(skel);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_cpu_gets_the_rate),
		cmocka_unit_test(two_cpus_share_one_rate),
		cmocka_unit_test(coarse_clock_one_cpu),
		cmocka_unit_test(coarse_clock_two_cpus),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for BPF_PROG_TEST_RUN\n");
		return 0;
	}
	if (libbpf_num_possible_cpus() < 2) {
		printf("1..0 # SKIP needs 2 CPUs\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

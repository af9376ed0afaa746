/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * harness.h - shared by the BPF_PROG_TEST_RUN tests: load the edge program from its
 * skeleton (maps unpinned, private to the test), reset every map to a known state, write
 * config and list entries directly (the tests check the program, not fgctl), run frames.
 */
#ifndef FG_TESTS_BPF_HARNESS_H
#define FG_TESTS_BPF_HARNESS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "edge.h"
#include "edge.skel.h"
#include "tb.h"
#include "addr.h"
#include "pkt.h"

static inline __u64 hx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static inline int hx_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static inline struct edge_bpf *hx_load(void)
{
	struct edge_bpf *skel = edge_bpf__open_and_load();

	if (!skel)
		fprintf(stderr, "# Couldn't load the edge program: %s\n", strerror(errno));
	return skel;
}

/* The config the fixtures start from: drop mode, ports 443 and 53, 10 pps burst 2,
 * malformed dropped. */
static inline void hx_config_default(struct edge_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = EDGE_MODE_DROP;
	c->flags = EDGE_F_MALFORMED_DROP;
	tb_limit_set(&c->src, 10, 2);
	c->dscp = EDGE_DSCP_DEFAULT;
	c->v6_prefix = EDGE_V6_PREFIX_DEFAULT;
	c->ports[443 / 64] |= 1ULL << (443 % 64);
	c->ports[53 / 64] |= 1ULL << (53 % 64);
	c->lists = EDGE_L_ALL; /* hx_rule() writes entries without the protocol */
}

static inline int hx_config_write(struct edge_bpf *s, const struct edge_config *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(s->maps.fg_config), &zero, c, BPF_ANY);
}

static inline void hx_clear_map(struct bpf_map *m)
{
	char key[64], next[64];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, sizeof(key));
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/* Every map empty, stats zero, default config. */
static inline void hx_reset(struct edge_bpf *s)
{
	struct bpf_map *maps[] = {
		s->maps.fg_allow4,    s->maps.fg_allow6,    s->maps.fg_block4,
		s->maps.fg_block6,    s->maps.fg_allownet4, s->maps.fg_allownet6,
		s->maps.fg_blocknet4, s->maps.fg_blocknet6, s->maps.fg_edges4,
		s->maps.fg_edges6,    s->maps.fg_src4,	    s->maps.fg_src6,
		s->maps.fg_edgebkt,   s->maps.fg_marked,
	};
	struct edge_bucket *fresh = calloc((size_t)libbpf_num_possible_cpus(), sizeof(*fresh));
	__u32 key0 = 0;
	int ncpu = libbpf_num_possible_cpus();
	struct edge_stat *zero = calloc((size_t)ncpu, sizeof(*zero));
	struct edge_config c;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		hx_clear_map(maps[i]);
	for (__u32 id = 0; id < EDGE_STAT_MAX; id++)
		bpf_map_update_elem(bpf_map__fd(s->maps.fg_stats), &id, zero, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(s->maps.fg_newsrc), &key0, fresh, BPF_ANY);
	free(zero);
	free(fresh);
	hx_config_default(&c);
	hx_config_write(s, &c);
}

/* Packets counted under a stat id, summed over CPUs. */
static inline __u64 hx_stat(struct edge_bpf *s, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct edge_stat v[ncpu];
	__u64 sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->maps.fg_stats), &id, v))
		return ~0ULL;
	for (int i = 0; i < ncpu; i++)
		sum += v[i].packets;
	return sum;
}

static inline int hx_cidr(const char *text, struct fg_cidr *c)
{
	const char *why = "?";

	if (fg_cidr_parse(text, c, &why)) {
		fprintf(stderr, "# bad CIDR in a fixture: %s: %s\n", text, why);
		return -EINVAL;
	}
	return 0;
}

/* Write an allow (allow=1) or block entry. expires: 0 never, else absolute boot ns. */
static inline int hx_rule(struct edge_bpf *s, int allow, const char *cidr, __u64 expires,
			  __u32 mode)
{
	struct edge_rule r = { .expires_ns = expires, .created_ns = hx_now(), .mode = mode };
	struct fg_cidr c;
	struct bpf_map *m;
	union {
		struct edge_lpm4 l4;
		struct edge_lpm6 l6;
	} k;

	if (hx_cidr(cidr, &c))
		return -EINVAL;
	r.prefixlen = (__u8)c.prefixlen;
	if (fg_cidr_is_host(&c)) {
		if (c.family == AF_INET)
			m = allow ? s->maps.fg_allow4 : s->maps.fg_block4;
		else
			m = allow ? s->maps.fg_allow6 : s->maps.fg_block6;
		return bpf_map_update_elem(bpf_map__fd(m), c.addr, &r, BPF_ANY);
	}
	if (c.family == AF_INET) {
		fg_cidr_to_lpm4(&c, &k.l4);
		m = allow ? s->maps.fg_allownet4 : s->maps.fg_blocknet4;
	} else {
		fg_cidr_to_lpm6(&c, &k.l6);
		m = allow ? s->maps.fg_allownet6 : s->maps.fg_blocknet6;
	}
	return bpf_map_update_elem(bpf_map__fd(m), &k, &r, BPF_ANY);
}

static inline int hx_edge(struct edge_bpf *s, const char *cidr, __u64 rate, __u64 burst, __u32 mode)
{
	struct edge_net e = { .mode = mode };
	struct fg_cidr c;
	union {
		struct edge_lpm4 l4;
		struct edge_lpm6 l6;
	} k;

	if (hx_cidr(cidr, &c) || tb_limit_set(&e.limit, rate, burst))
		return -EINVAL;
	e.prefixlen = (__u8)c.prefixlen;
	if (c.family == AF_INET) {
		fg_cidr_to_lpm4(&c, &k.l4);
		return bpf_map_update_elem(bpf_map__fd(s->maps.fg_edges4), &k, &e, BPF_ANY);
	}
	fg_cidr_to_lpm6(&c, &k.l6);
	return bpf_map_update_elem(bpf_map__fd(s->maps.fg_edges6), &k, &e, BPF_ANY);
}

/* An exhausted bucket on every CPU: no credit, cursor (and hints) an hour ahead. */
static inline int hx_bucket_empty(struct bpf_map *m, const void *key)
{
	int ncpu = libbpf_num_possible_cpus();
	struct edge_bucket v[ncpu];

	for (int i = 0; i < ncpu; i++) {
		v[i].credit_ns = 0;
		v[i].stamp_ns = hx_now() + 3600ULL * TB_NS_PER_S;
	}
	return bpf_map_update_elem(bpf_map__fd(m), key, v, BPF_ANY);
}

/* Run one frame; returns the XDP action or -errno. out (may be NULL) gets the frame after. */
static inline int hx_run(struct edge_bpf *s, const void *frame, __u32 len, void *out,
			 __u32 out_size)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = out ? out_size : 0, .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(s->progs.xdp_edge), &o);

	return err ? -errno : (int)o.retval;
}

#endif /* FG_TESTS_BPF_HARNESS_H */

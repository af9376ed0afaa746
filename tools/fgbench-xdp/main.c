/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fgbench-xdp - the in-kernel half of `make bench-xdp` (../shared/BENCH.md, part 1).
 *
 * Loads the edge program (maps private to this process), preloads its maps to a given
 * number of tracked sources (1, 100k, 1M) and 10k blocked prefixes, and times each packet
 * class with BPF_PROG_TEST_RUN (repeat >= 1e6, several runs, median), next to the trivial
 * `return XDP_PASS` floor measured in the same run. Also measures the kernel memory of a
 * tracked source. Prints a table; with --json FILE writes the figures.
 *
 *   fgbench-xdp [--repeat N] [--runs N] [--sources LIST] [--json FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "edge.h"
#include "edge.skel.h"
#include "floor.skel.h"
#include "tb.h"
#include "addr.h"
#include "log.h"
#include "pkt.h"

#define PREFIXES 10000

struct pclass {
	const char *name;
	const char *src;
	uint8_t proto;
	uint16_t dport;
	int vlans;
	int malformed;
	int expect;  /* XDP action */
	int spoofed; /* a new-source limit is on, with its bucket exhausted, while timed */
};

/* Sources: 198.18.1.1 is blocked (/32), 198.18.1.2 allowlisted, 198.19.128.0/17 is under
 * one of the 10k blocked prefixes, 198.18.3.0/24 is an edge, 198.18.4.4 is over its limit,
 * everything else is a tracked source under a limit too large to reach. */
static const struct pclass classes[] = {
	{ "not protected port -> pass", "198.18.2.2", IPPROTO_TCP, 8080, 0, 0, XDP_PASS },
	{ "allowlisted", "198.18.1.2", IPPROTO_TCP, 443, 0, 0, XDP_PASS },
	{ "/32 blocked (hash)", "198.18.1.1", IPPROTO_TCP, 443, 0, 0, XDP_DROP },
	{ "CIDR blocked (LPM, 10k prefixes)", "198.19.200.7", IPPROTO_TCP, 443, 0, 0, XDP_DROP },
	{ "under limit (full path)", "198.18.2.2", IPPROTO_TCP, 443, 0, 0, XDP_PASS },
	{ "over limit (drop)", "198.18.4.4", IPPROTO_TCP, 443, 0, 0, XDP_DROP },
	{ "edge bucket", "198.18.3.3", IPPROTO_TCP, 443, 0, 0, XDP_PASS },
	{ "IPv6 under limit", "2001:2:0:2::2", IPPROTO_TCP, 443, 0, 0, XDP_PASS },
	{ "VLAN (QinQ) under limit", "198.18.2.2", IPPROTO_TCP, 443, 2, 0, XDP_PASS },
	{ "malformed (IHL 4)", "198.18.2.2", IPPROTO_TCP, 443, 0, 1, XDP_DROP },
	{ "spoofed (new source, over new-source limit)", "198.18.1.5", IPPROTO_TCP, 443, 0, 0,
	  XDP_DROP, 1 },
};
#define NCLASS (sizeof(classes) / sizeof(classes[0]))

struct opts {
	__u32 repeat;
	int runs;
	unsigned long sources[4];
	int nsources;
	const char *json;
};

static __u64 now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * TB_NS_PER_S + (__u64)ts.tv_nsec;
}

static int build(const struct pclass *c, uint8_t *buf, size_t size, __u32 *len)
{
	struct fg_pkt_spec s = { .proto = c->proto,
				 .sport = 40000,
				 .dport = c->dport,
				 .tcp_flags = FG_TH_SYN,
				 .vlans = c->vlans,
				 .payload = 18 };
	struct fg_pkt_layout l;
	int err;

	err = fg_cidr_parse(c->src, &s.src, NULL);
	if (!err)
		err = fg_cidr_parse(s.src.family == AF_INET ? "198.18.0.1" : "2001:2::1", &s.dst,
				    NULL);
	if (!err)
		err = fg_pkt_build(&s, buf, size, &l);
	if (err)
		return err;
	if (c->malformed)
		buf[l.l3] = 0x44;
	*len = l.len;
	return 0;
}

/* Median ns/packet of `runs` test runs of `repeat` packets; 0 and *action on success. */
static int time_prog(int prog_fd, const uint8_t *frame, __u32 len, const struct opts *o,
		     double *median, int *action)
{
	double v[32];
	int n = o->runs < 32 ? o->runs : 32;

	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = len,
			    .repeat = o->repeat);
		if (bpf_prog_test_run_opts(prog_fd, &t))
			return -errno;
		/* duration is the mean per repetition in ns, truncated: recompute finer. */
		v[i] = (double)t.duration;
		*action = (int)t.retval;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	*median = v[n / 2];
	return 0;
}

static int map_update(struct bpf_map *m, const void *k, const void *v)
{
	int err = bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY);

	if (err) {
		err = -errno;
		pr_err("Couldn't update map %s: %s", bpf_map__name(m), strerror(-err));
	}
	return err;
}

static int preload_static(struct edge_bpf *s)
{
	struct edge_rule r = { .created_ns = now_mono() };
	struct edge_net e = { 0 };
	struct edge_config c = { 0 };
	struct edge_lpm4 k = { 0 };
	__u32 zero = 0, a;
	struct fg_cidr x;
	int err;

	c.mode = EDGE_MODE_DROP;
	c.flags = EDGE_F_MALFORMED_DROP;
	c.dscp = EDGE_DSCP_DEFAULT;
	c.v6_prefix = EDGE_V6_PREFIX_DEFAULT;
	tb_limit_set(&c.src, EDGE_RATE_MAX, EDGE_BURST_MAX);
	c.ports[443 / 64] |= 1ULL << (443 % 64);
	/* The lists this preload fills: the program consults them on every packet. */
	c.lists = EDGE_L_ALLOW4 | EDGE_L_BLOCK4 | EDGE_L_BLOCKNET4;
	c.abi = EDGE_ABI_VERSION;
	err = map_update(s->maps.fg_config, &zero, &c);

	r.prefixlen = 32;
	fg_cidr_parse("198.18.1.1", &x, NULL);
	err = err ?: map_update(s->maps.fg_block4, x.addr, &r);
	fg_cidr_parse("198.18.1.2", &x, NULL);
	err = err ?: map_update(s->maps.fg_allow4, x.addr, &r);

	/* 10k blocked /30s filling 198.19.0.0/16 from the bottom, and the tested source's
	 * 198.19.200.0/24 above them: a deep trie. */
	for (a = 0; a < PREFIXES && !err; a++) {
		__u32 host = (198u << 24) | (19u << 16) | (a * 4);

		k.prefixlen = 30;
		k.addr[0] = host >> 24, k.addr[1] = host >> 16, k.addr[2] = host >> 8,
		k.addr[3] = host;
		r.prefixlen = 30;
		err = map_update(s->maps.fg_blocknet4, &k, &r);
	}
	k.prefixlen = 24;
	k.addr[0] = 198, k.addr[1] = 19, k.addr[2] = 200, k.addr[3] = 0;
	r.prefixlen = 24;
	err = err ?: map_update(s->maps.fg_blocknet4, &k, &r);

	tb_limit_set(&e.limit, EDGE_RATE_MAX, EDGE_BURST_MAX);
	e.prefixlen = 24;
	k.addr[0] = 198, k.addr[1] = 18, k.addr[2] = 3, k.addr[3] = 0;
	err = err ?: map_update(s->maps.fg_edges4, &k, &e);
	return err;
}

/* Turn the new-source limit on with an exhausted bucket (on = 1), or off again. */
static int spoof_setup(struct edge_bpf *s, int on)
{
	int ncpu = libbpf_num_possible_cpus();
	struct edge_bucket empty[ncpu];
	struct edge_config c;
	__u32 zero = 0;
	int fd = bpf_map__fd(s->maps.fg_config);

	if (bpf_map_lookup_elem(fd, &zero, &c))
		return -errno;
	memset(&c.newsrc, 0, sizeof(c.newsrc));
	if (on)
		tb_limit_set(&c.newsrc, 1, 1000);
	for (int i = 0; i < ncpu; i++)
		empty[i] = (struct edge_bucket){ 0, now_mono() + 3600 * TB_NS_PER_S };
	return map_update(s->maps.fg_newsrc, &zero, empty)
		       ?: map_update(s->maps.fg_config, &zero, &c);
}

/* Fill fg_src4 with n sources (batch updates), plus the over-limit source empty. */
static int preload_sources(struct edge_bpf *s, unsigned long n)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(s->maps.fg_src4);
	enum { BATCH = 4096 };
	__u32 *keys = calloc(BATCH, sizeof(*keys));
	struct edge_bucket *vals = calloc((size_t)BATCH * (size_t)ncpu, sizeof(*vals));
	__u64 now = now_mono();
	unsigned long done = 0;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < BATCH * ncpu; i++)
		vals[i] = (struct edge_bucket){ .credit_ns = ~0ULL / 2, .stamp_ns = now };
	while (done < n && !err) {
		__u32 cnt = (__u32)(n - done < BATCH ? n - done : BATCH);
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		/* Synthetic keys counting up from the tested source 198.18.2.2: map entries
		 * only, never sent anywhere. */
		for (__u32 i = 0; i < cnt; i++)
			keys[i] = htonl((198u << 24) + (18u << 16) + 0x202u + (__u32)(done + i));
		if (bpf_map_update_batch(fd, keys, vals, &cnt, &bo))
			err = -errno;
		done += cnt;
	}
	if (!err) {
		struct edge_bucket empty[ncpu];
		struct fg_cidr x;

		for (int i = 0; i < ncpu; i++)
			empty[i] = (struct edge_bucket){ 0, now + 3600 * TB_NS_PER_S };
		fg_cidr_parse("198.18.4.4", &x, NULL);
		err = map_update(s->maps.fg_src4, x.addr, empty);
	}
out:
	if (err)
		pr_err("Couldn't preload %lu sources: %s", n, strerror(-err));
	free(keys);
	free(vals);
	return err;
}

/* Kernel memory charged to a map (fdinfo "memlock", the map's own usage estimate). */
static long long map_memlock(struct bpf_map *m)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(m));
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Memory of an LRU per-CPU hash like fg_src4 with `entries` slots (prealloc'ed: all of it
 * is charged at creation), or -1. */
static long long lru_map_memlock(__u32 entries)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_LRU_PERCPU_HASH, "fgbench_mem", sizeof(__be32),
			    sizeof(struct edge_bucket), entries, NULL);
	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "memlock: %lld", &v) == 1)
				break;
		fclose(f);
	}
	close(fd);
	return v;
}

/*
 * Bytes per tracked source: two maps whose sizes round to the same hash-table size
 * (2^19 + 1 and 2^20 slots both get 2^20 buckets) differ only by their elements and
 * per-CPU values, so the difference over the slot difference is the cost of one source.
 * The bucket array (one pointer-and-lock per power-of-two slot) is reported apart.
 */
static int source_memory(double *per_source, double *table_per_slot)
{
	const __u32 lo = (1u << 19) + 1, hi = 1u << 20;
	long long a = lru_map_memlock(lo), b = lru_map_memlock(hi);

	if (a < 0 || b < 0)
		return -EIO;
	*per_source = (double)(b - a) / (double)(hi - lo);
	*table_per_slot = ((double)b - *per_source * hi) / hi;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'n' },
		{ "sources", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end, *tok, *save = NULL;
	int c;

	*o = (struct opts){
		.repeat = 1000000, .runs = 5, .nsources = 3, .sources = { 1, 100000, 1000000 }
	};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->repeat = (__u32)strtoul(optarg, &end, 10);
			if (*end || !o->repeat)
				goto bad;
			break;
		case 'n':
			o->runs = (int)strtol(optarg, &end, 10);
			if (*end || o->runs < 1 || o->runs > 31)
				goto bad;
			break;
		case 's':
			o->nsources = 0;
			for (tok = strtok_r(optarg, ",", &save); tok && o->nsources < 4;
			     tok = strtok_r(NULL, ",", &save)) {
				o->sources[o->nsources++] = strtoul(tok, &end, 10);
				if (*end || !o->sources[o->nsources - 1] ||
				    o->sources[o->nsources - 1] > 4000000)
					goto bad;
			}
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'h':
			printf("usage: fgbench-xdp [--repeat N] [--runs N (1-31)] "
			       "[--sources N,N,N (1-4e6)] [--json FILE]\n");
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return 0;
bad:
	pr_err("bad value for --%s: '%s'", lo[c == 'r' ? 0 : c == 'n' ? 1 : 2].name, optarg);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	json_t *jroot = json_object(), *jsets = json_array();
	int ncpu = libbpf_num_possible_cpus();
	struct floor_bpf *fl = NULL;
	struct opts o;
	cpu_set_t set;
	int err = 0;

	fg_log_set_ident("fgbench-xdp");
	fg_log_hook_libbpf();
	if (parse_opts(argc, argv, &o))
		return 2;
	/* One CPU for the whole measurement: the other one absorbs the machine's noise. */
	CPU_ZERO(&set);
	CPU_SET(1 % ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);

	fl = floor_bpf__open_and_load();
	if (!fl) {
		pr_err("Couldn't load the floor program: %s", strerror(errno));
		return 1;
	}
	printf("BPF_PROG_TEST_RUN, %u packets per run, median of %d runs, CPU %d\n", o.repeat,
	       o.runs, 1 % ncpu);
	for (int si = 0; si < o.nsources && !err; si++) {
		struct edge_bpf *s = edge_bpf__open();
		json_t *jset = json_object(), *jcls = json_array();
		double floor_ns = 0;
		int act;

		if (!s) {
			pr_err("Couldn't open the edge program: %s", strerror(errno));
			err = -errno;
			break;
		}
		/* Room for the preload plus the fixed sources. */
		bpf_map__set_max_entries(s->maps.fg_src4, (__u32)(o.sources[si] + 1024));
		err = edge_bpf__load(s);
		if (err) {
			pr_err("Couldn't load the edge program: %s", strerror(-err));
			edge_bpf__destroy(s);
			break;
		}
		err = preload_static(s) ?: preload_sources(s, o.sources[si]);
		if (!err) {
			uint8_t frame[256];
			__u32 len;

			build(&classes[0], frame, sizeof(frame), &len);
			err = time_prog(bpf_program__fd(fl->progs.xdp_floor_pass), frame, len, &o,
					&floor_ns, &act);
		}
		printf("\n%lu tracked sources; floor (return XDP_PASS): %.1f ns\n", o.sources[si],
		       floor_ns);
		printf("  %-44s %10s %10s  %s\n", "packet class", "ns/packet", "- floor",
		       "verdict");
		for (size_t i = 0; i < NCLASS && !err; i++) {
			uint8_t frame[256];
			__u32 len;
			double ns;
			json_t *jc;

			err = build(&classes[i], frame, sizeof(frame), &len);
			if (!err && classes[i].spoofed)
				err = spoof_setup(s, 1);
			if (!err)
				err = time_prog(bpf_program__fd(s->progs.xdp_edge), frame, len, &o,
						&ns, &act);
			if (!err && classes[i].spoofed)
				err = spoof_setup(s, 0);
			if (err) {
				pr_err("Couldn't time class '%s': %s", classes[i].name,
				       strerror(-err));
				break;
			}
			printf("  %-44s %10.1f %10.1f  %s%s\n", classes[i].name, ns, ns - floor_ns,
			       act == XDP_DROP	 ? "drop"
			       : act == XDP_PASS ? "pass"
						 : "other",
			       act == classes[i].expect ? "" : "  (UNEXPECTED VERDICT)");
			jc = json_pack("{s:s, s:f, s:f, s:s, s:b}", "class", classes[i].name, "ns",
				       ns, "above_floor_ns", ns - floor_ns, "verdict",
				       act == XDP_DROP ? "drop" : "pass", "verdict_expected",
				       act == classes[i].expect);
			json_array_append_new(jcls, jc);
		}
		json_object_set_new(jset, "tracked_sources",
				    json_integer((json_int_t)o.sources[si]));
		json_object_set_new(jset, "floor_ns", json_real(floor_ns));
		json_object_set_new(jset, "classes", jcls);
		if (!err) {
			long long mem = map_memlock(s->maps.fg_src4);

			printf("  fg_src4: %lld bytes of kernel memory for %u slots\n", mem,
			       bpf_map__max_entries(s->maps.fg_src4));
			json_object_set_new(jset, "src_map_bytes", json_integer(mem));
			json_object_set_new(jset, "src_map_slots",
					    json_integer(bpf_map__max_entries(s->maps.fg_src4)));
		}
		json_array_append_new(jsets, jset);
		edge_bpf__destroy(s);
	}
	floor_bpf__destroy(fl);
	if (!err) {
		double per, table;

		if (source_memory(&per, &table)) {
			pr_err("Couldn't measure map memory");
		} else {
			printf("\nmemory per tracked source: %.1f B (elements + per-CPU values; "
			       "target <= 64 + 16 x %d CPUs = %d B)\n"
			       "  + %.1f B per slot of the kernel's hash-bucket array (fixed by the"
			       " map size, not by the sources)\n",
			       per, ncpu, 64 + 16 * ncpu, table);
			json_object_set_new(jroot, "bytes_per_source", json_real(per));
			json_object_set_new(jroot, "bytes_per_source_target",
					    json_integer(64 + 16 * ncpu));
			json_object_set_new(jroot, "table_bytes_per_slot", json_real(table));
		}
	}
	json_object_set_new(jroot, "repeat", json_integer(o.repeat));
	json_object_set_new(jroot, "runs", json_integer(o.runs));
	json_object_set_new(jroot, "cpus", json_integer(ncpu));
	json_object_set_new(jroot, "sets", jsets);
	if (!err && o.json && json_dump_file(jroot, o.json, JSON_INDENT(2))) {
		pr_err("Couldn't write %s", o.json);
		err = -EIO;
	}
	json_decref(jroot);
	return err ? 1 : 0;
}

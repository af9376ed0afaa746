/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * args.c - fgflood's command line: one table of options, one strict parser, no globals.
 *
 * Strict because a flood tool with a typo is dangerous: every value is checked whole
 * ("10k" is not a count), an option may appear once, and a run must be bounded by a
 * count or a time - there is no "until interrupted".
 */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fgflood.h"

const char flood_usage[] =
	"usage: fgflood IFACE --dst ADDR [options]\n"
	"\n"
	"Send a bounded flood of TCP SYN or UDP packets (IPv4 or IPv6) out of IFACE.\n"
	"\n"
	"  --dst ADDR           destination address (its family picks IPv4 or IPv6)\n"
	"  --dport PORT         destination port (default 80)\n"
	"  --syn | --udp        TCP SYNs (default) or UDP datagrams\n"
	"  --src CIDR           random source addresses inside CIDR (a host: one source)\n"
	"  --src-random         random sources in 198.18.0.0/15 or 2001:2::/48\n"
	"                       (default: the interface's own address)\n"
	"  --pps N | --max      packets per second in all, or as fast as possible (default)\n"
	"  --count N            stop after N packets sent\n"
	"  --seconds S          stop after S seconds (at least one of --count, --seconds)\n"
	"  --threads N          N senders, one per CPU, pinned (default 1)\n"
	"  --size BYTES         frame length without FCS, 60..1514 (default 60 or the headers)\n"
	"  --src-mac MAC        source MAC (default: the interface's)\n"
	"  --dst-mac MAC        destination MAC (default: from the neighbour table)\n"
	"  --seed N             seed of the random sources and ports (default 1)\n"
	"  --engine E           auto (default), live (BPF_PROG_RUN live frames) or packet\n"
	"                       (AF_PACKET TX ring)\n"
	"  --batch N            frames per kernel batch, 1..256 (default 64)\n"
	"  --drop-refused       a frame the receiver's full ring refuses is lost, not sent\n"
	"                       again, and the pace goes on (an attacker at a fixed offered\n"
	"                       rate); needs --engine live and --pps\n"
	"  --no-bypass          AF_PACKET: go through the qdisc layer\n"
	"  --json               print the result as one JSON object\n"
	"  -v, --verbose        say more on stderr\n"
	"  -h, --help           this text\n"
	"\n"
	"Backpressure (a receiver slower than the sender: a full ring) is waited out and\n"
	"retried; only packets the interface accepted are counted. Exit status: 0 done,\n"
	"1 failed, 2 bad arguments.\n";

enum opt_id {
	O_DST,
	O_DPORT,
	O_SYN,
	O_UDP,
	O_SRC,
	O_SRC_RANDOM,
	O_PPS,
	O_MAX,
	O_COUNT,
	O_SECONDS,
	O_THREADS,
	O_SIZE,
	O_SRC_MAC,
	O_DST_MAC,
	O_SEED,
	O_ENGINE,
	O_BATCH,
	O_NO_BYPASS,
	O_DROP_REFUSED,
	O_JSON,
	O_VERBOSE,
	O_HELP,
	O_COUNT_OF_IDS,
};

struct opt_def {
	const char *name;
	char short_name;
	bool has_value;
};

static const struct opt_def opts_table[O_COUNT_OF_IDS] = {
	[O_DST] = { "dst", 0, true },	      [O_DPORT] = { "dport", 0, true },
	[O_SYN] = { "syn", 0, false },	      [O_UDP] = { "udp", 0, false },
	[O_SRC] = { "src", 0, true },	      [O_SRC_RANDOM] = { "src-random", 0, false },
	[O_PPS] = { "pps", 0, true },	      [O_MAX] = { "max", 0, false },
	[O_COUNT] = { "count", 0, true },     [O_SECONDS] = { "seconds", 0, true },
	[O_THREADS] = { "threads", 0, true }, [O_SIZE] = { "size", 0, true },
	[O_SRC_MAC] = { "src-mac", 0, true }, [O_DST_MAC] = { "dst-mac", 0, true },
	[O_SEED] = { "seed", 0, true },	      [O_ENGINE] = { "engine", 0, true },
	[O_BATCH] = { "batch", 0, true },     [O_NO_BYPASS] = { "no-bypass", 0, false },
	[O_JSON] = { "json", 0, false },      [O_VERBOSE] = { "verbose", 'v', false },
	[O_HELP] = { "help", 'h', false },    [O_DROP_REFUSED] = { "drop-refused", 0, false },
};

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A whole unsigned decimal number in [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3] == ' ' || s[i * 3] == '+' || s[i * 3] == '-')
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

unsigned flood_headers_len(int family, uint8_t proto)
{
	return FLOOD_ETH_LEN + (family == AF_INET ? FLOOD_IP4_LEN : FLOOD_IP6_LEN) +
	       (proto == IPPROTO_TCP ? FLOOD_TCP_LEN : FLOOD_UDP_LEN);
}

unsigned flood_frame_len(const struct flood_opts *o)
{
	unsigned h = flood_headers_len(o->dst.family, o->proto);

	if (o->size)
		return o->size;
	return h > FLOOD_FRAME_MIN ? h : FLOOD_FRAME_MIN;
}

/* Find an option by "--name", "--name=value" or "-x"; *inline_value gets "value". */
static int lookup(const char *arg, const char **inline_value)
{
	*inline_value = NULL;
	if (arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
		for (int i = 0; i < O_COUNT_OF_IDS; i++)
			if (opts_table[i].short_name == arg[1])
				return i;
		return -1;
	}
	if (strncmp(arg, "--", 2))
		return -1;
	arg += 2;
	for (int i = 0; i < O_COUNT_OF_IDS; i++) {
		size_t n = strlen(opts_table[i].name);

		if (strncmp(arg, opts_table[i].name, n))
			continue;
		if (arg[n] == '\0')
			return i;
		if (arg[n] == '=') {
			*inline_value = arg + n + 1;
			return i;
		}
	}
	return -1;
}

static int take(struct flood_opts *o, int id, const char *name, const char *v, char *err,
		size_t errlen)
{
	const char *why = NULL;
	uint64_t u;
	int r;

	switch (id) {
	case O_DST:
		if (fg_addr_parse(v, &o->dst, &why))
			return fail(err, errlen, "--dst: '%s' is not an address: %s", v, why);
		return 0;
	case O_SRC:
		if (fg_cidr_parse(v, &o->src, &why))
			return fail(err, errlen, "--src: '%s' is not a CIDR: %s", v, why);
		return 0;
	case O_DPORT:
		if (parse_u64(v, 1, 65535, &u))
			return fail(err, errlen, "--dport: '%s' is not a port (1..65535)", v);
		o->dport = (uint16_t)u;
		return 0;
	case O_PPS:
		if (parse_u64(v, 1, FLOOD_PPS_MAX, &u))
			return fail(err, errlen, "--pps: '%s' is not a rate (1..%llu packets/s)", v,
				    (unsigned long long)FLOOD_PPS_MAX);
		o->pps = u;
		return 0;
	case O_COUNT:
		if (parse_u64(v, 1, FLOOD_COUNT_MAX, &u))
			return fail(err, errlen, "--count: '%s' is not a count (1..%llu)", v,
				    (unsigned long long)FLOOD_COUNT_MAX);
		o->count = u;
		return 0;
	case O_SECONDS: {
		char *end;
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (!*v || *end || errno || !isfinite(d) || d <= 0 || d > FLOOD_SECONDS_MAX ||
		    strpbrk(v, "xXpPnNiI"))
			return fail(err, errlen, "--seconds: '%s' is not a duration (0 < S <= %d)",
				    v, FLOOD_SECONDS_MAX);
		o->seconds = d;
		return 0;
	}
	case O_THREADS:
		if (parse_u64(v, 1, FLOOD_MAX_CPUS, &u))
			return fail(err, errlen, "--threads: '%s' is not a thread count (1..%d)", v,
				    FLOOD_MAX_CPUS);
		o->threads = (unsigned)u;
		return 0;
	case O_SIZE:
		if (parse_u64(v, FLOOD_FRAME_MIN, FLOOD_FRAME_MAX, &u))
			return fail(err, errlen, "--size: '%s' is not a frame length (%d..%d)", v,
				    FLOOD_FRAME_MIN, FLOOD_FRAME_MAX);
		o->size = (unsigned)u;
		return 0;
	case O_SRC_MAC:
	case O_DST_MAC:
		if (parse_mac(v, id == O_SRC_MAC ? o->src_mac : o->dst_mac))
			return fail(err, errlen,
				    "%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", name, v);
		if (id == O_SRC_MAC)
			o->have_src_mac = true;
		else
			o->have_dst_mac = true;
		return 0;
	case O_SEED:
		if (parse_u64(v, 0, UINT32_MAX, &u))
			return fail(err, errlen, "--seed: '%s' is not a seed (0..%u)", v,
				    UINT32_MAX);
		o->seed = (uint32_t)u;
		return 0;
	case O_ENGINE:
		if (!strcmp(v, "auto"))
			o->engine = FLOOD_ENGINE_AUTO;
		else if (!strcmp(v, "live"))
			o->engine = FLOOD_ENGINE_LIVE;
		else if (!strcmp(v, "packet"))
			o->engine = FLOOD_ENGINE_PACKET;
		else
			return fail(err, errlen, "--engine: '%s' is not auto, live or packet", v);
		return 0;
	case O_BATCH:
		r = parse_u64(v, 1, FLOOD_BATCH_MAX, &u);
		if (r)
			return fail(err, errlen, "--batch: '%s' is not a batch size (1..%d)", v,
				    FLOOD_BATCH_MAX);
		o->batch = (unsigned)u;
		return 0;
	case O_SYN:
		o->proto = IPPROTO_TCP;
		return 0;
	case O_UDP:
		o->proto = IPPROTO_UDP;
		return 0;
	case O_SRC_RANDOM:
		o->src_random = true;
		return 0;
	case O_MAX:
		return 0;
	case O_NO_BYPASS:
		o->qdisc_bypass = false;
		return 0;
	case O_DROP_REFUSED:
		o->drop_refused = true;
		return 0;
	case O_JSON:
		o->json = true;
		return 0;
	case O_VERBOSE:
		o->verbose = true;
		return 0;
	case O_HELP:
		o->help = true;
		return 0;
	}
	return fail(err, errlen, "internal error: option %d", id);
}

/* Pairs of options that exclude each other. */
static const int exclusive[][2] = {
	{ O_SYN, O_UDP },
	{ O_SRC, O_SRC_RANDOM },
	{ O_PPS, O_MAX },
};

int flood_parse_args(int argc, char **argv, struct flood_opts *o, char *err, size_t errlen)
{
	bool seen[O_COUNT_OF_IDS] = { false };
	const char *names[O_COUNT_OF_IDS] = { NULL };
	unsigned hlen;

	memset(o, 0, sizeof(*o));
	o->dport = FLOOD_DPORT_DEFAULT;
	o->proto = IPPROTO_TCP;
	o->threads = 1;
	o->batch = FLOOD_BATCH_DEFAULT;
	o->seed = 1;
	o->qdisc_bypass = true;
	snprintf(err, errlen, "no error");

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		int id, r;

		if (arg[0] != '-' || !arg[1]) {
			if (o->ifname)
				return fail(err, errlen, "unexpected argument '%s' (IFACE is '%s')",
					    arg, o->ifname);
			if (strlen(arg) >= IF_NAMESIZE)
				return fail(err, errlen, "'%s' is too long for an interface name",
					    arg);
			o->ifname = arg;
			continue;
		}
		id = lookup(arg, &v);
		if (id < 0)
			return fail(err, errlen, "unknown option '%s'", arg);
		if (seen[id])
			return fail(err, errlen, "option '%s' given twice", arg);
		seen[id] = true;
		names[id] = arg;
		if (opts_table[id].has_value && !v) {
			if (i + 1 >= argc)
				return fail(err, errlen, "option '%s' needs a value", arg);
			v = argv[++i];
		} else if (!opts_table[id].has_value && v) {
			return fail(err, errlen, "option '--%s' takes no value",
				    opts_table[id].name);
		}
		r = take(o, id, arg, v, err, errlen);
		if (r)
			return r;
		if (o->help)
			return 0;
	}

	for (size_t i = 0; i < sizeof(exclusive) / sizeof(exclusive[0]); i++)
		if (seen[exclusive[i][0]] && seen[exclusive[i][1]])
			return fail(err, errlen, "'%s' and '%s' exclude each other",
				    names[exclusive[i][0]], names[exclusive[i][1]]);
	if (!o->ifname)
		return fail(err, errlen, "missing IFACE (fgflood IFACE --dst ADDR ...)");
	if (!o->dst.family)
		return fail(err, errlen, "missing --dst ADDR");
	if (o->src.family && o->src.family != o->dst.family)
		return fail(err, errlen, "--src and --dst are of different address families");
	if (!o->count && !o->seconds)
		return fail(err, errlen,
			    "refusing to run unbounded: give --count N or --seconds S");
	if (o->pps && o->pps < o->threads)
		return fail(err, errlen, "--pps %llu is less than one packet/s per thread",
			    (unsigned long long)o->pps);
	/* Losing refused frames models a fixed offered rate: only the live engine sees
	 * refusals frame by frame, and without --pps there is no rate to keep. */
	if (o->drop_refused && (o->engine != FLOOD_ENGINE_LIVE || !o->pps))
		return fail(err, errlen, "--drop-refused needs --engine live and --pps N");
	hlen = flood_headers_len(o->dst.family, o->proto);
	if (o->size && o->size < hlen)
		return fail(err, errlen, "--size %u is shorter than the headers (%u bytes)",
			    o->size, hlen);
	if (o->src_random) {
		const char *range = o->dst.family == AF_INET ? "198.18.0.0/15" : "2001:2::/48";

		fg_cidr_parse(range, &o->src, NULL);
	}
	return 0;
}

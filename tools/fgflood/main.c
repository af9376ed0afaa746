/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * main.c - fgflood: parse, resolve the interface, addresses and MACs, build the template,
 * pick the engine, run (run.c), report what was really sent.
 *
 * Exit status: 0 the run ended as asked (count sent, or time up, or interrupted);
 * 1 it failed (nothing accepted for FLOOD_STALL_S, an engine error); 2 bad arguments,
 * including an unknown interface or one without an address of the family.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fgflood.h"
#include "log.h"

#define RESOLVE_WAIT 2000 /* ms to wait for ARP/ND */

static void on_signal(int sig)
{
	flood_stop();
}

/* The CPUs this process may run on, in order; returns how many. */
static unsigned allowed_cpus(unsigned *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (unsigned c = 0; c < CPU_SETSIZE && c < FLOOD_MAX_CPUS && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

static void report(const struct flood_opts *o, const struct flood_run *run, const char *src,
		   const char *dst)
{
	const struct flood_result *tot = &run->total;
	double secs = run->elapsed, pps = secs > 0 ? (double)tot->sent / secs : 0.0, cpu;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	if (o->json) {
		printf("{\"iface\":\"%s\",\"engine\":\"%s\",\"family\":\"%s\",\"proto\":\"%s\","
		       "\"src\":\"%s\",\"dst\":\"%s\",\"dport\":%u,\"size\":%u,\"threads\":%u,"
		       "\"count\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"refused\":%" PRIu64
		       ",\"dropped\":%" PRIu64 ",\"waits\":%" PRIu64
		       ",\"seconds\":%.6f,\"pps\":%.0f,"
		       "\"process_cpu_seconds\":%.6f,\"error\":%s%s%s}\n",
		       o->ifname, run->engine_used, family_name(o->dst.family),
		       o->proto == IPPROTO_TCP ? "syn" : "udp", src, dst, o->dport,
		       flood_frame_len(o), run->threads, o->count, tot->sent, tot->refused,
		       tot->dropped, tot->waits, secs, pps, cpu, tot->err ? "\"" : "",
		       tot->err ? strerror(-tot->err) : "null", tot->err ? "\"" : "");
	} else {
		printf("sent %" PRIu64
		       " packets in %.3f s: %.0f pps, %.3f Mpps (%s %s to %s port %u, "
		       "engine %s, %u thread%s; backpressure: %" PRIu64 " refused and sent again, "
		       "%" PRIu64 " waits)\n",
		       tot->sent, secs, pps, pps / 1e6, family_name(o->dst.family),
		       o->proto == IPPROTO_TCP ? "SYN" : "UDP", dst, o->dport, run->engine_used,
		       run->threads, run->threads == 1 ? "" : "s", tot->refused, tot->waits);
	}
	fflush(stdout);
}

/*
 * Everything the run needs from the system: the interface, the source, the MACs, the CPUs.
 * Returns 0, or the exit status of a failure it has reported.
 */
static int resolve(const struct flood_opts *o, struct flood_iface *ifc, struct flood_spec *spec,
		   unsigned *cpus)
{
	char buf[FG_CIDR_STRLEN];
	unsigned ncpu;
	int r;

	r = flood_iface_get(o->ifname, ifc);
	if (r) {
		pr_err("Couldn't find interface %s: %s", o->ifname, strerror(-r));
		return 2;
	}
	spec->frame_len = flood_frame_len(o);
	if (spec->frame_len - FLOOD_ETH_LEN > ifc->mtu) {
		pr_err("--size %u exceeds the MTU of %s (%u)", spec->frame_len, o->ifname,
		       ifc->mtu);
		return 2;
	}
	ncpu = allowed_cpus(cpus, FLOOD_MAX_CPUS);
	if (o->threads > ncpu) {
		pr_err("--threads %u: this process may use only %u CPU%s", o->threads, ncpu,
		       ncpu == 1 ? "" : "s");
		return 2;
	}

	spec->family = o->dst.family;
	spec->proto = o->proto;
	spec->dst = o->dst;
	spec->dport = o->dport;
	spec->seed = o->seed;
	spec->src = o->src;
	if (!spec->src.family && flood_iface_addr(o->ifname, o->dst.family, &spec->src)) {
		pr_err("%s has no %s address to send from: give --src or --src-random", o->ifname,
		       o->dst.family == AF_INET ? "IPv4" : "IPv6");
		return 2;
	}
	memcpy(spec->src_mac, o->have_src_mac ? o->src_mac : ifc->mac, 6);
	if (o->have_dst_mac) {
		memcpy(spec->dst_mac, o->dst_mac, 6);
		return 0;
	}
	r = flood_resolve_mac(ifc->ifindex, ifc->is_veth, &o->dst, RESOLVE_WAIT, spec->dst_mac);
	if (r) {
		pr_err("Couldn't resolve the MAC address of %s on %s: %s (give --dst-mac)",
		       fg_cidr_format(&o->dst, buf, sizeof(buf)), o->ifname, strerror(-r));
		return 1;
	}
	return 0;
}

/*
 * The engine, and for --engine auto the AF_PACKET fallback for a thread whose live frames
 * the interface refuses. Returns 0, or the exit status of a failure it has reported.
 */
static int pick_engines(const struct flood_opts *o, const struct flood_iface *ifc,
			const struct flood_tmpl *t, struct flood_run *run)
{
	void **st;
	int r;

	if (o->engine != FLOOD_ENGINE_PACKET) {
		r = flood_engine_live.prepare(o, ifc, t, &run->state);
		if (r == 0) {
			run->ops = &flood_engine_live;
			if (o->engine == FLOOD_ENGINE_LIVE)
				return 0;
		} else if (o->engine == FLOOD_ENGINE_LIVE) {
			pr_err("Couldn't prepare the live-frames engine: %s", strerror(-r));
			return 1;
		} else {
			pr_info("live-frames engine unavailable (%s): using AF_PACKET",
				strerror(-r));
		}
	}
	st = run->ops ? &run->fallback_state : &run->state;
	r = flood_engine_packet.prepare(o, ifc, t, st);
	if (r) {
		pr_err("Couldn't prepare the AF_PACKET engine: %s", strerror(-r));
		return 1;
	}
	if (run->ops)
		run->fallback = &flood_engine_packet;
	else
		run->ops = &flood_engine_packet;
	return 0;
}

int main(int argc, char **argv)
{
	struct flood_opts o;
	struct flood_iface ifc;
	struct flood_spec spec = { 0 };
	static struct flood_tmpl tmpl;
	struct flood_run run = { 0 };
	unsigned cpus[FLOOD_MAX_CPUS];
	char err[256], srcbuf[FG_CIDR_STRLEN], dstbuf[FG_CIDR_STRLEN];
	struct sigaction sa = { .sa_handler = on_signal };
	int r, rc;

	fg_log_set_ident("fgflood");
	if (flood_parse_args(argc, argv, &o, err, sizeof(err))) {
		pr_err("%s (fgflood --help)", err);
		return 2;
	}
	if (o.help) {
		fputs(flood_usage, stdout);
		return 0;
	}
	if (o.verbose)
		fg_log_level = FG_LOG_DEBUG;
	fg_log_hook_libbpf();

	rc = resolve(&o, &ifc, &spec, cpus);
	if (rc)
		return rc;
	r = flood_tmpl_build(&spec, &tmpl);
	if (r) {
		pr_err("Couldn't build the packet template: %s", strerror(-r));
		return 2;
	}
	fg_cidr_format(&spec.src, srcbuf, sizeof(srcbuf));
	fg_cidr_format(&o.dst, dstbuf, sizeof(dstbuf));
	pr_debug("%s -> %s, %02x:%02x:%02x:%02x:%02x:%02x, %u-byte frames", srcbuf, dstbuf,
		 spec.dst_mac[0], spec.dst_mac[1], spec.dst_mac[2], spec.dst_mac[3],
		 spec.dst_mac[4], spec.dst_mac[5], tmpl.len);

	run.threads = o.threads;
	run.cpus = cpus;
	run.count = o.count;
	run.pps = o.pps;
	run.seconds = o.seconds;
	run.drop_refused = o.drop_refused;
	rc = pick_engines(&o, &ifc, &tmpl, &run);
	if (rc)
		goto out;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = flood_run(&run);
	if (r) {
		pr_err("Couldn't run: %s", strerror(-r));
		rc = 1;
		goto out;
	}
	report(&o, &run, srcbuf, dstbuf);
	r = run.total.err;
	if (r == -ETIMEDOUT) {
		pr_err("Couldn't send: %s accepted no packet for %d s", o.ifname, FLOOD_STALL_S);
		rc = 1;
	} else if ((r == -EOPNOTSUPP || r == -ENXIO) && !strcmp(run.engine_used, "live")) {
		pr_err("Couldn't send through %s: it takes no XDP frames (a veth does when its "
		       "peer has an XDP program or GRO on); use --engine packet",
		       o.ifname);
		rc = 1;
	} else if (r) {
		pr_err("Couldn't send through %s: %s", o.ifname, strerror(-r));
		rc = 1;
	}
out:
	if (run.fallback)
		run.fallback->cleanup(run.fallback_state);
	if (run.ops)
		run.ops->cleanup(run.state);
	return rc;
}

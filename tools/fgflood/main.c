/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * main.c - fgflood: resolve the run, start one pinned sender per thread, pace and bound
 * them, report what was really sent.
 *
 * The engines (live.c, packet.c) only move packets; everything a run promises - the
 * exact --count, the --seconds bound, the --pps rate, waiting out backpressure, giving up
 * when nothing moves - is decided here, through flood_running/budget/account.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fgflood.h"
#include "log.h"

#define NS_PER_S     1000000000ULL
#define BACKOFF_MIN  (20 * 1000ULL)    /* first pause after a refusal: 20 us */
#define BACKOFF_MAX  (2 * 1000000ULL)  /* longest pause: 2 ms */
#define SLEEP_SLICE  (50 * 1000000ULL) /* pacing sleeps wake this often to check the bounds */
#define RESOLVE_WAIT 2000	       /* ms to wait for ARP/ND */

struct flood_thread {
	unsigned index, cpu;
	uint64_t quota;	       /* packets to send; UINT64_MAX: bounded by time only */
	uint64_t pps;	       /* this thread's share of --pps; 0: unpaced */
	uint64_t t0, deadline; /* CLOCK_MONOTONIC ns; deadline 0: none */
	uint64_t t_end;
	uint64_t last_progress;
	uint64_t backoff;
	struct flood_result res;
	const struct flood_engine_ops *ops;
	const char *engine_used;
	pthread_t tid;
};

static atomic_bool stop_requested;
static pthread_barrier_t start_barrier;
static uint64_t run_t0;

/* The run's shared, read-only context for the threads. */
static struct {
	const struct flood_opts *o;
	const struct flood_engine_ops *ops, *fallback;
	void *state, *fallback_state;
	double seconds;
} run;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S) };

	nanosleep(&ts, NULL);
}

bool flood_running(struct flood_thread *th)
{
	uint64_t now;

	if (atomic_load_explicit(&stop_requested, memory_order_relaxed) || th->res.err)
		return false;
	now = now_ns();
	if (th->deadline && now >= th->deadline)
		return false;
	if (now - th->last_progress > FLOOD_STALL_S * NS_PER_S) {
		th->res.err = -ETIMEDOUT;
		return false;
	}
	return true;
}

bool flood_done(const struct flood_thread *th)
{
	return th->res.sent >= th->quota;
}

/* When packet number `n` of this thread is due, in CLOCK_MONOTONIC ns. */
static uint64_t due_at(const struct flood_thread *th, uint64_t n)
{
	return th->t0 + (uint64_t)((unsigned __int128)n * NS_PER_S / th->pps);
}

uint64_t flood_budget(struct flood_thread *th, uint64_t inflight, uint64_t max)
{
	uint64_t started = th->res.sent + inflight, n, now, due, want;

	if (started >= th->quota)
		return 0;
	n = th->quota - started;
	if (n > max)
		n = max;
	if (!th->pps || !n)
		return n;

	/* Release packets in chunks of about half a millisecond's worth, each when its
	 * last packet is due; a sender that fell behind catches up at once. */
	want = th->pps / 2000;
	if (want < 1)
		want = 1;
	if (want > n)
		want = n;
	now = now_ns();
	due = (uint64_t)((unsigned __int128)(now - th->t0) * th->pps / NS_PER_S);
	if (due >= started + want)
		return due - started < n ? due - started : n;
	for (;;) {
		uint64_t at = due_at(th, started + want);

		now = now_ns();
		if (now >= at)
			return want;
		if (!flood_running(th))
			return 0;
		if (th->deadline && at > th->deadline && now + SLEEP_SLICE >= th->deadline) {
			sleep_ns(th->deadline > now ? th->deadline - now : 0);
			return 0;
		}
		sleep_ns(at - now < SLEEP_SLICE ? at - now : SLEEP_SLICE);
	}
}

void flood_account(struct flood_thread *th, uint64_t sent, uint64_t refused)
{
	th->res.sent += sent;
	th->res.refused += refused;
	if (sent)
		th->last_progress = now_ns();
	if (!refused) {
		th->backoff = 0;
		return;
	}
	/* A full ring: the receiver needs the CPU (often this one, in softirq or
	 * ksoftirqd) to drain it. Pause, longer while nothing gets through. */
	th->res.waits++;
	if (!th->backoff)
		th->backoff = BACKOFF_MIN;
	else if (!sent && th->backoff < BACKOFF_MAX)
		th->backoff *= 2;
	sleep_ns(th->backoff);
}

unsigned flood_thread_cpu(const struct flood_thread *th)
{
	return th->cpu;
}

static void *thread_main(void *arg)
{
	struct flood_thread *th = arg;
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(th->cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(&start_barrier);
	if (err) {
		th->res.err = -err;
		return NULL;
	}
	th->t0 = run_t0;
	th->last_progress = th->t0;
	if (run.seconds > 0)
		th->deadline = th->t0 + (uint64_t)(run.seconds * (double)NS_PER_S);

	th->engine_used = run.ops->name;
	err = run.ops->run(run.state, th);
	if (err && run.fallback && th->res.sent == 0) {
		pr_info("thread %u: the %s engine failed (%s), using %s", th->index, run.ops->name,
			strerror(-err), run.fallback->name);
		th->res.refused = 0;
		th->engine_used = run.fallback->name;
		th->last_progress = now_ns();
		err = run.fallback->run(run.fallback_state, th);
	}
	if (err && !th->res.err)
		th->res.err = err;
	th->t_end = now_ns();
	return NULL;
}

static void on_signal(int sig)
{
	atomic_store(&stop_requested, true);
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

static void report(const struct flood_opts *o, const struct flood_thread *ths, unsigned n,
		   const char *engine, const char *src, const char *dst, int err)
{
	struct flood_result tot = { 0 };
	uint64_t t_end = run_t0;
	struct rusage ru;
	double secs, cpu;

	for (unsigned i = 0; i < n; i++) {
		tot.sent += ths[i].res.sent;
		tot.refused += ths[i].res.refused;
		tot.waits += ths[i].res.waits;
		if (ths[i].t_end > t_end)
			t_end = ths[i].t_end;
	}
	secs = (double)(t_end - run_t0) / (double)NS_PER_S;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	if (o->json) {
		printf("{\"iface\":\"%s\",\"engine\":\"%s\",\"family\":\"%s\",\"proto\":\"%s\","
		       "\"src\":\"%s\",\"dst\":\"%s\",\"dport\":%u,\"size\":%u,\"threads\":%u,"
		       "\"count\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"refused\":%" PRIu64
		       ",\"waits\":%" PRIu64 ",\"seconds\":%.6f,\"pps\":%.0f,"
		       "\"process_cpu_seconds\":%.6f,\"error\":%s%s%s}\n",
		       o->ifname, engine, family_name(o->dst.family),
		       o->proto == IPPROTO_TCP ? "syn" : "udp", src, dst, o->dport,
		       flood_frame_len(o), n, o->count, tot.sent, tot.refused, tot.waits, secs,
		       secs > 0 ? (double)tot.sent / secs : 0.0, cpu, err ? "\"" : "",
		       err ? strerror(-err) : "null", err ? "\"" : "");
	} else {
		printf("sent %" PRIu64 " packets in %.3f s: %.3f Mpps (%s %s to %s port %u, "
		       "engine %s, %u thread%s; backpressure: %" PRIu64 " refused and sent again, "
		       "%" PRIu64 " waits)\n",
		       tot.sent, secs, secs > 0 ? (double)tot.sent / secs / 1e6 : 0.0,
		       family_name(o->dst.family), o->proto == IPPROTO_TCP ? "SYN" : "UDP", dst,
		       o->dport, engine, n, n == 1 ? "" : "s", tot.refused, tot.waits);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct flood_opts o;
	struct flood_iface ifc;
	struct flood_spec spec = { 0 };
	static struct flood_tmpl tmpl;
	struct flood_thread *ths = NULL;
	unsigned cpus[FLOOD_MAX_CPUS], ncpu;
	char err[256], srcbuf[FG_CIDR_STRLEN], dstbuf[FG_CIDR_STRLEN];
	const char *engine;
	struct sigaction sa = { .sa_handler = on_signal };
	int r, rc = 0;

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

	r = flood_iface_get(o.ifname, &ifc);
	if (r) {
		pr_err("Couldn't find interface %s: %s", o.ifname, strerror(-r));
		return 2;
	}
	spec.frame_len = flood_frame_len(&o);
	if (spec.frame_len - FLOOD_ETH_LEN > ifc.mtu) {
		pr_err("--size %u exceeds the MTU of %s (%u)", spec.frame_len, o.ifname, ifc.mtu);
		return 2;
	}
	ncpu = allowed_cpus(cpus, FLOOD_MAX_CPUS);
	if (o.threads > ncpu) {
		pr_err("--threads %u: this process may use only %u CPU%s", o.threads, ncpu,
		       ncpu == 1 ? "" : "s");
		return 2;
	}

	spec.family = o.dst.family;
	spec.proto = o.proto;
	spec.dst = o.dst;
	spec.dport = o.dport;
	spec.seed = o.seed;
	spec.src = o.src;
	if (!spec.src.family) {
		r = flood_iface_addr(o.ifname, o.dst.family, &spec.src);
		if (r) {
			pr_err("%s has no %s address to send from: give --src or --src-random",
			       o.ifname, o.dst.family == AF_INET ? "IPv4" : "IPv6");
			return 2;
		}
	}
	memcpy(spec.src_mac, o.have_src_mac ? o.src_mac : ifc.mac, 6);
	if (o.have_dst_mac) {
		memcpy(spec.dst_mac, o.dst_mac, 6);
	} else {
		r = flood_resolve_mac(ifc.ifindex, ifc.is_veth, &o.dst, RESOLVE_WAIT, spec.dst_mac);
		if (r) {
			pr_err("Couldn't resolve the MAC address of %s on %s: %s (give --dst-mac)",
			       fg_cidr_format(&o.dst, dstbuf, sizeof(dstbuf)), o.ifname,
			       strerror(-r));
			return 1;
		}
	}
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

	run.o = &o;
	run.seconds = o.seconds;
	if (o.engine != FLOOD_ENGINE_PACKET) {
		r = flood_engine_live.prepare(&o, &ifc, &tmpl, &run.state);
		if (r == 0) {
			run.ops = &flood_engine_live;
		} else if (o.engine == FLOOD_ENGINE_LIVE) {
			pr_err("Couldn't prepare the live-frames engine: %s", strerror(-r));
			return 1;
		} else {
			pr_info("live-frames engine unavailable (%s): using AF_PACKET",
				strerror(-r));
		}
	}
	if (!run.ops || o.engine == FLOOD_ENGINE_AUTO) {
		void **st = run.ops ? &run.fallback_state : &run.state;

		r = flood_engine_packet.prepare(&o, &ifc, &tmpl, st);
		if (r) {
			pr_err("Couldn't prepare the AF_PACKET engine: %s", strerror(-r));
			rc = 1;
			goto out;
		}
		if (run.ops)
			run.fallback = &flood_engine_packet;
		else
			run.ops = &flood_engine_packet;
	}

	ths = calloc(o.threads, sizeof(*ths));
	if (!ths) {
		pr_err("Couldn't allocate threads: %s", strerror(ENOMEM));
		rc = 1;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_barrier_init(&start_barrier, NULL, o.threads + 1);
	for (unsigned i = 0; i < o.threads; i++) {
		struct flood_thread *th = &ths[i];

		th->index = i;
		th->cpu = cpus[i];
		th->quota = o.count ? o.count / o.threads + (i < o.count % o.threads) : UINT64_MAX;
		th->pps = o.pps ? o.pps / o.threads + (i < o.pps % o.threads) : 0;
		r = pthread_create(&th->tid, NULL, thread_main, th);
		if (r) {
			pr_err("Couldn't start thread %u: %s", i, strerror(r));
			exit(1); /* the others wait at the barrier; nothing was sent */
		}
	}
	run_t0 = now_ns();
	pthread_barrier_wait(&start_barrier);
	for (unsigned i = 0; i < o.threads; i++)
		pthread_join(ths[i].tid, NULL);

	engine = ths[0].engine_used ? ths[0].engine_used : run.ops->name;
	r = 0;
	for (unsigned i = 0; i < o.threads; i++)
		if (ths[i].res.err && !r)
			r = ths[i].res.err;
	report(&o, ths, o.threads, engine, srcbuf, dstbuf, r);
	if (r == -ETIMEDOUT) {
		pr_err("Couldn't send: %s accepted no packet for %d s", o.ifname, FLOOD_STALL_S);
		rc = 1;
	} else if ((r == -EOPNOTSUPP || r == -ENXIO) && !strcmp(engine, "live")) {
		pr_err("Couldn't send through %s: it takes no XDP frames (a veth does when its "
		       "peer "
		       "has an XDP program or GRO: ethtool -K PEER gro on); or use --engine packet",
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
	free(ths);
	return rc;
}

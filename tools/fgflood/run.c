/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * run.c - the senders: one thread per CPU, pinned, started together, each with its share
 * of the count and the rate.
 *
 * The engines (live.c, packet.c) only move packets; everything a run promises - the exact
 * --count, the --seconds bound, the --pps rate, waiting out backpressure, giving up when
 * nothing moves - is decided here, through flood_running/budget/account.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fgflood.h"
#include "log.h"

#define NS_PER_S    1000000000ULL
#define BACKOFF_MIN (20 * 1000ULL)    /* first pause after a refusal: 20 us */
#define BACKOFF_MAX (2 * 1000000ULL)  /* longest pause: 2 ms */
#define SLEEP_SLICE (50 * 1000000ULL) /* pacing sleeps wake this often to check the bounds */

struct flood_thread {
	struct flood_run *run;
	unsigned index, cpu;
	uint64_t quota;	       /* packets to send; UINT64_MAX: bounded by time only */
	uint64_t pps;	       /* this thread's share of --pps; 0: unpaced */
	uint64_t t0, deadline; /* CLOCK_MONOTONIC ns; deadline 0: none */
	uint64_t t_end;
	uint64_t last_progress;
	uint64_t backoff;
	struct flood_result res;
	const char *engine_used;
	pthread_t tid;
};

static atomic_bool stop_requested;

/* The start gate: every thread pinned and waiting, then all go at once. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;

void flood_stop(void)
{
	atomic_store(&stop_requested, true);
}

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
	return th->res.sent + th->res.dropped >= th->quota;
}

/* When packet number `n` of this thread is due, in CLOCK_MONOTONIC ns. */
static uint64_t due_at(const struct flood_thread *th, uint64_t n)
{
	return th->t0 + (uint64_t)((unsigned __int128)n * NS_PER_S / th->pps);
}

uint64_t flood_budget(struct flood_thread *th, uint64_t inflight, uint64_t max)
{
	/* --drop-refused: a lost frame was offered all the same; the pace counts it */
	uint64_t started = th->res.sent + th->res.dropped + inflight, n, now, due, want;

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
	if (sent)
		th->last_progress = now_ns();
	if (th->run->drop_refused) {
		/* lost at the receiver's ring, as a line-rate attacker's excess is: no pause */
		th->res.dropped += refused;
		return;
	}
	th->res.refused += refused;
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
	struct flood_run *run = th->run;
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(th->cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	if (err) {
		th->res.err = -err;
		return NULL;
	}
	th->t0 = run->t0;
	th->last_progress = th->t0;
	if (run->seconds > 0)
		th->deadline = th->t0 + (uint64_t)(run->seconds * (double)NS_PER_S);

	th->engine_used = run->ops->name;
	err = run->ops->run(run->state, th);
	if (err && run->fallback && th->res.sent == 0 && !th->res.err) {
		pr_info("thread %u: the %s engine failed (%s), using %s", th->index, run->ops->name,
			strerror(-err), run->fallback->name);
		th->res.refused = 0;
		th->engine_used = run->fallback->name;
		th->last_progress = now_ns();
		err = run->fallback->run(run->fallback_state, th);
	}
	if (err && !th->res.err)
		th->res.err = err;
	th->t_end = now_ns();
	return NULL;
}

int flood_run(struct flood_run *run)
{
	struct flood_thread *ths;
	uint64_t t_end;
	unsigned started = 0;
	int err = 0;

	ths = calloc(run->threads, sizeof(*ths));
	if (!ths)
		return -ENOMEM;
	for (unsigned i = 0; i < run->threads; i++) {
		struct flood_thread *th = &ths[i];

		th->run = run;
		th->index = i;
		th->cpu = run->cpus[i];
		th->quota = run->count ? run->count / run->threads + (i < run->count % run->threads)
				       : UINT64_MAX;
		th->pps = run->pps ? run->pps / run->threads + (i < run->pps % run->threads) : 0;
		err = pthread_create(&th->tid, NULL, thread_main, th);
		if (err) {
			pr_err("Couldn't start thread %u: %s", i, strerror(err));
			flood_stop(); /* the started ones go through the gate to nothing */
			err = -err;
			break;
		}
		started++;
	}
	pthread_mutex_lock(&gate_lock);
	run->t0 = now_ns();
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(ths[i].tid, NULL);
	for (unsigned i = started; i < run->threads; i++)
		ths[i].t_end = run->t0;

	memset(&run->total, 0, sizeof(run->total));
	t_end = run->t0;
	run->engine_used = started ? ths[0].engine_used : run->ops->name;
	for (unsigned i = 0; i < run->threads; i++) {
		run->total.sent += ths[i].res.sent;
		run->total.refused += ths[i].res.refused;
		run->total.dropped += ths[i].res.dropped;
		run->total.waits += ths[i].res.waits;
		if (ths[i].res.err && !run->total.err)
			run->total.err = ths[i].res.err;
		if (ths[i].t_end > t_end)
			t_end = ths[i].t_end;
	}
	if (err && !run->total.err)
		run->total.err = err;
	run->elapsed = (double)(t_end - run->t0) / (double)NS_PER_S;
	free(ths);
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * worker.c - worker threads (see worker.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "gw/cache.h"
#include "gw/cluster_req.h"
#include "gw/handler.h"
#include "gw/looptimeout.h"
#include "gw/server.h"
#include "gw/worker.h"

/* Connections accepted per wake-up of a listener before other work gets a turn. */
#define ACCEPTS_PER_WAKEUP 16
/* Access log buffer per worker. */
#define LOG_BUFFER	   (256u << 10)
/* How often buffered access log lines are written even when few. */
#define LOG_FLUSH_MS	   500
/* Poll interval while draining at stop. */
#define DRAIN_POLL_MS	   10

static __thread gw_worker_t *self;

gw_worker_t *gw_worker_self(void)
{
	return self;
}

uint64_t gw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void tconf_dispose(h2o_timeout_entry_t *entry)
{
	gw_tconf_t *tc = H2O_STRUCT_FROM_MEMBER(gw_tconf_t, dispose_entry, entry);

	for (size_t i = 0; i < tc->config->nupstreams; i++)
		gw_upstream_pool_dispose(&tc->ups[i]);
	free(tc->ups);
	gw_config_unref(tc->config);
	free(tc);
}

/* A view of cfg for worker w (takes over the caller's reference to cfg). */
static gw_tconf_t *tconf_new(gw_worker_t *w, gw_config_t *cfg)
{
	gw_tconf_t *tc = calloc(1, sizeof(*tc));

	if (!tc || !(tc->ups = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(*tc->ups)))) {
		free(tc);
		return NULL;
	}
	tc->config = cfg;
	tc->worker = w;
	tc->refs = 1;
	tc->dispose_entry.cb = tconf_dispose;
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		tc->ups[i].conf = &cfg->upstreams[i];
		if (gw_upstream_pool_init(&tc->ups[i], w->loop)) {
			/* the pools so far, then the view */
			while (i--)
				gw_upstream_pool_dispose(&tc->ups[i]);
			free(tc->ups);
			free(tc);
			return NULL;
		}
	}
	return tc;
}

void gw_worker_release(gw_tconf_t *tc)
{
	/* Disposal waits for the next turn of the loop: the last reference may go away inside
	 * a callback of one of the timeouts being disposed. */
	if (--tc->refs == 0)
		h2o_timeout_link(tc->worker->loop, &tc->worker->ctx.zero_timeout,
				 &tc->dispose_entry);
}

static void flush_log(gw_worker_t *w)
{
	if (w->log.len)
		gw_accesslog_flush(&w->log, w->cur ? w->cur->config->access_log_fd : -1);
}

static void adopt(gw_worker_t *w)
{
	uint64_t gen;
	gw_config_t *cfg = gw_server_config(&gen);
	gw_tconf_t *tc, *old = w->cur;

	if (!cfg)
		return;
	if (!(tc = tconf_new(w, cfg))) {
		pr_err("worker %u: Couldn't adopt config generation %llu: out of memory", w->index,
		       (unsigned long long)gen);
		gw_config_unref(cfg);
		return;
	}
	flush_log(w); /* lines so far belong to the old generation's log file */
	gw_route_scratch_forget(w->scratch); /* answers of the old config (route.h) */
	w->cur = tc;
	w->gen = gen;
	for (size_t i = 0; i < w->nlisteners && i < cfg->nlisteners; i++)
		w->listeners[i].accept.ssl_ctx = cfg->listeners[i].ssl_ctx;
	if (old)
		gw_worker_release(old);
}

gw_tconf_t *gw_worker_acquire(gw_worker_t *w)
{
	if (__builtin_expect(__atomic_load_n(&gw_server.generation, __ATOMIC_ACQUIRE) != w->gen, 0))
		adopt(w);
	w->cur->refs++;
	return w->cur;
}

static void on_conn_close(void *data)
{
	gw_worker_t *w = data;

	w->connections--;
	gw_metrics_gauge_add(&w->metrics->connections, -1);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	gw_worker_t *w = self;
	size_t i = (size_t)(uintptr_t)listener->data;

	if (err)
		return;
	for (int n = 0; n < ACCEPTS_PER_WAKEUP; n++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);

		if (!sock)
			break;
		w->connections++;
		gw_metrics_gauge_add(&w->metrics->connections, 1);
		sock->on_close.cb = on_conn_close;
		sock->on_close.data = w;
		h2o_accept(&w->listeners[i].accept, sock);
	}
}

static void on_flush_timer(h2o_timeout_entry_t *entry)
{
	gw_worker_t *w = H2O_STRUCT_FROM_MEMBER(gw_worker_t, flush_entry, entry);

	flush_log(w);
	h2o_timeout_link(w->loop, &w->ctx.one_sec_timeout, &w->flush_entry);
}

static void on_notify(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	/* Messages are never sent, only wake-ups; the loop re-reads the flags itself. */
	while (!h2o_linklist_is_empty(messages))
		h2o_linklist_unlink(messages->next);
}

static void drain(gw_worker_t *w)
{
	uint64_t deadline = gw_now_ns() + w->cur->config->limits.shutdown_timeout_ms * 1000000ULL;

	for (size_t i = 0; i < w->nlisteners; i++) {
		h2o_socket_read_stop(w->listeners[i].sock);
		h2o_socket_close(w->listeners[i].sock);
		w->listeners[i].sock = NULL;
	}
	h2o_context_request_shutdown(&w->ctx);
	while (w->in_flight && gw_now_ns() < deadline)
		h2o_evloop_run(w->loop, DRAIN_POLL_MS);
	if (w->in_flight)
		pr_warn("worker %u: %zu request(s) still in flight at the shutdown deadline",
			w->index, w->in_flight);
	gw_cache_stop(w->cache);
	gw_cluster_worker_stop(w);
	flush_log(w);
}

static void *run(void *arg)
{
	gw_worker_t *w = arg;

	self = w;
	adopt(w);
	if (!w->cur) {
		pr_err("worker %u: no config to run", w->index);
		return NULL;
	}
	if (gw_cluster_worker_start(w))
		pr_err("worker %u: Couldn't start the Redis client: out of memory", w->index);
	gw_cache_worker_start(w->cache, w->index);
	for (size_t i = 0; i < w->nlisteners; i++)
		h2o_socket_read_start(w->listeners[i].sock, on_accept);
	h2o_timeout_link(w->loop, &w->ctx.one_sec_timeout, &w->flush_entry);
	while (!__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&gw_server.generation, __ATOMIC_ACQUIRE) != w->gen)
			adopt(w);
		h2o_evloop_run(w->loop, INT32_MAX);
	}
	drain(w);
	gw_ptimers_dispose(&w->ptimers);
	gw_handler_thread_done();
	gw_looptimeout_thread_done();
	return NULL;
}

gw_worker_t *gw_worker_new(unsigned index, h2o_globalconf_t *gconf, const int *fds, size_t nfds)
{
	gw_worker_t *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->index = index;
	w->loop = h2o_evloop_create();
	h2o_context_init(&w->ctx, w->loop, gconf);
	h2o_multithread_register_receiver(w->ctx.queue, &w->notify, on_notify);
	w->scratch = gw_route_scratch_new();
	w->keycache = gw_keycache_new();
	w->metrics = gw_metrics_new();
	w->cache = gw_cache_new(&w->ctx);
	w->flush_entry.cb = on_flush_timer;
	{
		char err[160];

		if (gw_ptimers_init(&w->ptimers, w->loop, err, sizeof(err))) {
			pr_err("worker %u: %s", index, err);
			return NULL;
		}
	}
	if (!w->scratch || !w->keycache || !w->metrics || !w->cache ||
	    gw_accesslog_init(&w->log, LOG_BUFFER)) {
		pr_err("worker %u: out of memory", index);
		return NULL;
	}
	for (size_t i = 0; i < nfds && i < GW_CONFIG_LISTENERS_MAX; i++) {
		w->listeners[i].sock =
			h2o_evloop_socket_create(w->loop, fds[i], H2O_SOCKET_FLAG_DONT_READ);
		w->listeners[i].sock->data = (void *)(uintptr_t)i;
		w->listeners[i].accept.ctx = &w->ctx;
		w->listeners[i].accept.hosts = gconf->hosts;
		w->nlisteners++;
	}
	return w;
}

int gw_worker_start(gw_worker_t *w)
{
	int rc = pthread_create(&w->tid, NULL, run, w);

	if (rc) {
		pr_err("Couldn't start worker %u: %s", w->index, strerror(rc));
		return -rc;
	}
	{
		char name[16]; /* what top -H and /proc/PID/task/TID/comm show */

		snprintf(name, sizeof(name), "fg-worker-%u", w->index % 10000);
		pthread_setname_np(w->tid, name);
	}
	return 0;
}

void gw_worker_notify(gw_worker_t *w)
{
	h2o_multithread_send_message(&w->notify, NULL);
}

void gw_worker_stop(gw_worker_t *w)
{
	__atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
	gw_worker_notify(w);
}

void gw_worker_join(gw_worker_t *w)
{
	pthread_join(w->tid, NULL);
}

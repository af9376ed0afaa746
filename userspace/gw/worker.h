/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * worker.h - one worker thread: an h2o event loop, its listening sockets (SO_REUSEPORT),
 * and its view of the running config.
 *
 * A worker adopts a new config at the start of the next request after a reload (one
 * relaxed load of the server's generation counter per request). What a config needs per
 * thread - upstream connection pools and their timeouts - lives in a gw_tconf_t that is
 * reference-counted by the requests using it, without atomics since only its worker
 * touches it: in-flight requests finish on the config they started with, and the old
 * view (pools, timers, the config reference) is disposed once the last of them is done.
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw/evloop.h"
#include "gw/accesslog.h"
#include "gw/clientip.h"
#include "gw/config.h"
#include "gw/keycache.h"
#include "gw/metrics.h"
#include "gw/ptimer.h"
#include "gw/route.h"
#include "gw/upstream.h"

typedef struct st_gw_worker_t gw_worker_t;

/* A worker's view of one config. */
typedef struct st_gw_tconf_t {
	gw_config_t *config;
	gw_worker_t *worker;
	size_t refs;	       /* requests using it, + 1 while it is the worker's current view */
	gw_upstream_rt_t *ups; /* [config->nupstreams] */
	h2o_timeout_entry_t dispose_entry;
} gw_tconf_t;

struct st_gw_worker_t {
	unsigned index;
	pthread_t tid;
	h2o_evloop_t *loop;
	h2o_context_t ctx;
	struct {
		h2o_socket_t *sock;
		h2o_accept_ctx_t accept;
	} listeners[GW_CONFIG_LISTENERS_MAX];
	size_t nlisteners;
	gw_tconf_t *cur;
	uint64_t gen;
	h2o_multithread_receiver_t notify;
	gw_route_scratch_t *scratch;
	gw_keycache_t *keycache;
	gw_metrics_t *metrics;
	struct st_gw_cache_t *cache; /* the response cache (cache.h) */
	gw_accesslog_t log;
	h2o_timeout_entry_t flush_entry;
	gw_ptimers_t ptimers; /* timers that fire on time (upstream connects) */
	size_t in_flight;
	size_t connections;
	bool stopping;
	struct st_gw_cluster_t *cluster; /* cluster mode: this thread's Redis client, else NULL */
};

/* What the request path keeps about one request (from req->pool). */
typedef struct st_gw_reqctx_t {
	gw_tconf_t *tc;
	uint64_t start_ns; /* 0 until read: gw_handler_now() */
	const gw_route_t *route;
	uint16_t plan_id;
	enum gw_problem problem;
	char key_id[17];
	gw_clientip_t ip;
	bool have_ip;
	bool ip_resolved;    /* ip and have_ip are set: resolved on demand (gw_handler_client()) */
	h2o_iovec_t uri;     /* what went (or would go) upstream; see norm */
	const char *norm;    /* once a route matched: the normalised path uri is built from, */
	size_t norm_len;     /* on demand (gw_handler_uri()); NULL when uri is final */
	int64_t upstream_ns; /* time to the response head, -1 = not proxied */
	bool from_cache;     /* answered from the response cache: an upstream's answer, kept */
	void *quota;	     /* gw_credits_debit_t of an admitted key (credits.h), or NULL */
} gw_reqctx_t;

/* The worker of the calling thread (NULL outside workers). */
gw_worker_t *gw_worker_self(void);

/* The current view for a new request, adopting a newer config first; takes a reference
 * that gw_worker_release() gives back when the request is done. */
gw_tconf_t *gw_worker_acquire(gw_worker_t *w);
void gw_worker_release(gw_tconf_t *tc);

/*
 * Create worker `index` with listening sockets fds[0..nfds) (one per configured listener,
 * in config order). The thread starts with gw_worker_start().
 */
gw_worker_t *gw_worker_new(unsigned index, h2o_globalconf_t *gconf, const int *fds, size_t nfds);
int gw_worker_start(gw_worker_t *w);
/* Ask the worker to adopt the current config now (after a reload), from any thread. */
void gw_worker_notify(gw_worker_t *w);
/* Ask the worker to stop accepting, drain and exit its thread; then join it. */
void gw_worker_stop(gw_worker_t *w);
void gw_worker_join(gw_worker_t *w);

/* CLOCK_MONOTONIC in ns (the request path's clock for buckets and durations). */
uint64_t gw_now_ns(void);

#endif /* GW_WORKER_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * server.c - process start, signals, reload and stop (see server.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "gw/admin.h"
#include "gw/ban.h"
#include "gw/banpub.h"
#include "gw/edge.h"
#include "gw/cluster_req.h"
#include "gw/evloop.h"
#include "gw/handler.h"
#include "gw/health.h"
#include "gw/server.h"
#include "gw/usageflush.h"
#include "gw/worker.h"

/* listen(2) backlog of every listener. */
#define LISTEN_BACKLOG 4096
/* How much longer than the drain deadline the main thread waits for workers. */
#define JOIN_GRACE_MS  2000

gw_server_t gw_server = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.store_lock = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static h2o_globalconf_t gconf;
/* gconf's server_name: a copy, as the config it came from is freed by the next reload
 * (which cannot change it: start only). */
static char server_header[GW_SERVER_HEADER_MAX + 1];

gw_config_t *gw_server_config(uint64_t *generation)
{
	gw_config_t *c;

	pthread_mutex_lock(&gw_server.lock);
	c = gw_server.config ? gw_config_ref(gw_server.config) : NULL;
	if (generation)
		*generation = __atomic_load_n(&gw_server.generation, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&gw_server.lock);
	return c;
}

static const char *addr_text(const gw_listener_conf_t *l)
{
	return l->address;
}

/* A listening socket; SO_REUSEPORT lets each worker have its own. */
static int bind_socket(const gw_listener_conf_t *l, bool reuseport, char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    (l->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) || listen(fd, LISTEN_BACKLOG))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "Couldn't listen on %s: %s", addr_text(l), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Sockets for nworkers workers on one address. A first bind without SO_REUSEPORT proves
 * the port is free: another process holding it with SO_REUSEPORT would otherwise silently
 * share our traffic.
 */
static int bind_listener(const gw_listener_conf_t *l, unsigned nworkers, int *fds, char *err,
			 size_t errlen)
{
	int probe = bind_socket(l, false, err, errlen);

	if (probe < 0)
		return -1;
	close(probe);
	for (unsigned i = 0; i < nworkers; i++) {
		if ((fds[i] = bind_socket(l, true, err, errlen)) < 0) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

static int open_access_log(gw_config_t *cfg, char *err, size_t errlen)
{
	if (!cfg->access_log)
		return 0;
	cfg->access_log_fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (cfg->access_log_fd < 0) {
		snprintf(err, errlen, "Couldn't open access log %s: %s", cfg->access_log,
			 strerror(errno));
		return -1;
	}
	return 0;
}

struct load_ctx {
	gw_keys_batch_t *batch;
	size_t n;
	int failed;
};

static int load_one(void *arg, const gw_key_record_t *r)
{
	struct load_ctx *lc = arg;
	uint16_t plan = gw_intern(r->plan);
	uint32_t expires = r->expires <= 0	     ? 0
			   : r->expires > UINT32_MAX ? UINT32_MAX
						     : (uint32_t)r->expires;

	if (gw_keys_batch_add(lc->batch, r->digest, plan, r->status, expires)) {
		lc->failed = 1;
		return 1;
	}
	lc->n++;
	return 0;
}

int gw_server_load_keys(char *err, size_t errlen)
{
	struct load_ctx lc = { .batch = gw_keys_batch_new() };
	int ret;

	if (!lc.batch) {
		snprintf(err, errlen, "Couldn't load keys: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&gw_server.store_lock);
	ret = gw_store_load(gw_server.store, load_one, &lc);
	if (ret || lc.failed) {
		pthread_mutex_unlock(&gw_server.store_lock);
		snprintf(err, errlen, "Couldn't load keys: %s",
			 lc.failed ? "out of memory" : gw_server.store->errmsg);
		gw_keys_batch_free(lc.batch);
		return -EIO;
	}
	gw_keys_replace(gw_server.keys, lc.batch);
	pthread_mutex_unlock(&gw_server.store_lock);
	/* The old entries are free now; give their pages back rather than keep the peak of
	 * two full tables resident after every reload. */
	malloc_trim(0);
	pr_debug("loaded %zu keys", lc.n);
	return 0;
}

static void notify_workers(void)
{
	for (unsigned i = 0; i < gw_server.nworkers; i++)
		gw_worker_notify(gw_server.workers[i]);
}

static int reload_now(char *err, size_t errlen)
{
	gw_config_t *new, *old, *prev;
	uint64_t gen;

	pthread_mutex_lock(&reload_lock);
	if (!(new = gw_config_load(gw_server.config_path, err, errlen)))
		goto fail;
	old = gw_server_config(NULL);
	if (gw_config_reloadable(old, new, err, errlen) || open_access_log(new, err, errlen) ||
	    gw_server_load_keys(err, errlen) || gw_edge_apply(new, err, errlen)) {
		gw_config_unref(old);
		gw_config_unref(new);
		goto fail;
	}
	pthread_mutex_lock(&gw_server.lock);
	prev = gw_server.config;
	gw_server.config = new;
	gen = __atomic_add_fetch(&gw_server.generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gw_server.lock);
	gw_config_unref(prev);
	gw_config_unref(old);
	notify_workers();
	gw_health_kick(); /* the new config's checks start now */
	__atomic_add_fetch(&gw_server.reloads_ok, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&reload_lock);
	pr_info("reloaded %s: config generation %llu, %zu keys", gw_server.config_path,
		(unsigned long long)gen, gw_keys_count(gw_server.keys));
	return 0;
fail:
	__atomic_add_fetch(&gw_server.reloads_failed, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&reload_lock);
	return -EINVAL;
}

/* How much less CPU share a reload gets than a worker: nice +10 weighs about a tenth. */
#define RELOAD_NICE 10

struct reload_job {
	char *err;
	size_t errlen;
	int ret;
};

static void *reload_thread(void *arg)
{
	struct reload_job *j = arg;
	id_t tid = (id_t)gettid();
	int cur;

	pthread_setname_np(pthread_self(), "fg-reload");
	errno = 0;
	cur = getpriority(PRIO_PROCESS, tid);
	/* Raising one's own nice value needs no privilege; should it fail, the reload is as
	 * before, only not yielding. */
	if (!errno &&
	    setpriority(PRIO_PROCESS, tid, cur + RELOAD_NICE > 19 ? 19 : cur + RELOAD_NICE))
		pr_debug("reload: Couldn't lower its priority: %s", strerror(errno));
	j->ret = reload_now(j->err, j->errlen);
	return NULL;
}

/*
 * A reload parses the config, compiles its regexes and rebuilds the key table: over a
 * second of CPU with a million keys, on the CPUs the workers serve from. A request gains
 * nothing from waiting for it, so it runs on a thread of its own at a lower priority
 * (RELOAD_NICE): a worker with work to do runs first and the reload takes the time they
 * leave (it takes longer under load, never at the requests' cost). The caller waits for
 * it, as before; the thread inherits its blocked signals and CPU affinity.
 */
int gw_server_reload(char *err, size_t errlen)
{
	struct reload_job j = { err, errlen, 0 };
	pthread_t t;

	if (pthread_create(&t, NULL, reload_thread, &j))
		return reload_now(err, errlen);
	pthread_join(t, NULL);
	return j.ret;
}

static void setup_h2o(const gw_config_t *cfg)
{
	h2o_hostconf_t *host;

	h2o_config_init(&gconf);
	/* No Server header unless the config names one (h2o sends server_name when it is
	 * not empty; its own default names h2o and its version). */
	snprintf(server_header, sizeof(server_header), "%s",
		 cfg->server_header ? cfg->server_header : "");
	gconf.server_name = h2o_iovec_init(server_header, strlen(server_header));
	gconf.max_request_entity_size = cfg->limits.max_request_body;
	gconf.http1.req_timeout = cfg->limits.client_timeout_ms;
	gconf.http2.idle_timeout = cfg->limits.client_timeout_ms;
	gconf.http2.graceful_shutdown_timeout = cfg->limits.shutdown_timeout_ms;
	gconf.handshake_timeout = cfg->limits.handshake_timeout_ms;
	host = h2o_config_register_host(&gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	gw_handler_register(h2o_config_register_path(host, "/", 0));
	/* Requests h2o routes nowhere ("*", absolute-form) meet the same path and errors. */
	gw_handler_register(&host->fallback_path);
}

static void stop_workers(void)
{
	for (unsigned i = 0; i < gw_server.nworkers; i++)
		gw_worker_stop(gw_server.workers[i]);
	for (unsigned i = 0; i < gw_server.nworkers; i++)
		gw_worker_join(gw_server.workers[i]);
}

/* Wait for signals until told to stop. */
static void signal_loop(const sigset_t *set)
{
	for (;;) {
		char err[GW_CONFIG_ERRLEN];
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			pr_err("Couldn't wait for signals: %s", strerror(errno));
			return;
		}
		if (sig == SIGHUP) {
			if (gw_server_reload(err, sizeof(err)))
				pr_err("reload refused, the running config stays: %s", err);
			continue;
		}
		pr_info("received %s, stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
		return;
	}
}

int gw_server_run(const char *config_path, gw_config_t *cfg)
{
	char err[GW_CONFIG_ERRLEN];
	int *fds = NULL, admin_fd = -1, ret = 1;
	sigset_t set;
	unsigned n = cfg->threads;

	gw_server.config_path = config_path;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any thread starts, so only sigwaitinfo() here ever sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	gw_server.store = cfg->store.type == GW_STORE_REDIS
				  ? gw_store_redis_open(&cfg->store.redis, err, sizeof(err))
				  : gw_store_sqlite_open(cfg->store.path, err, sizeof(err));
	if (!gw_server.store) {
		pr_err("%s", err);
		goto out;
	}
	gw_server.keys = gw_keys_new(gw_store_count(gw_server.store));
	gw_server.ip_table = gw_ratelimit_table_new(cfg->clients.table_size);
	gw_server.edge_table = gw_ratelimit_table_new(cfg->clients.table_size / 8);
	gw_server.usage = gw_usage_new();
	if (!gw_server.keys || !gw_server.ip_table || !gw_server.edge_table || !gw_server.usage) {
		pr_err("Couldn't allocate the key and address tables: out of memory");
		goto out;
	}
	if (gw_server_load_keys(err, sizeof(err)) || gw_usageflush_restore(err, sizeof(err)) ||
	    open_access_log(cfg, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	/* The edge policy and the stored bans are in the maps before the first request. */
	if (gw_edge_start(cfg, err, sizeof(err)) || gw_ban_start(cfg, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	if (cfg->store.type == GW_STORE_REDIS && gw_cluster_watch_keys())
		goto out;
	/* Redis mode: the cluster's bans are in the maps before the first request too. */
	if (cfg->store.type == GW_STORE_REDIS && gw_banpub_start(cfg, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	gw_server.config = cfg;
	gw_server.generation = 1;
	cfg = NULL;
	setup_h2o(gw_server.config);

	fds = calloc((size_t)n * gw_server.config->nlisteners, sizeof(*fds));
	gw_server.workers = calloc(n, sizeof(*gw_server.workers));
	if (!fds || !gw_server.workers) {
		pr_err("out of memory");
		goto out;
	}
	for (size_t l = 0; l < gw_server.config->nlisteners; l++) {
		int *per = malloc(n * sizeof(int));

		if (!per ||
		    bind_listener(&gw_server.config->listeners[l], n, per, err, sizeof(err))) {
			free(per);
			pr_err("%s", err);
			goto out;
		}
		for (unsigned w = 0; w < n; w++)
			fds[w * gw_server.config->nlisteners + l] = per[w];
		free(per);
	}
	if ((admin_fd = bind_socket(&gw_server.config->admin.listen, false, err, sizeof(err))) <
	    0) {
		pr_err("admin API: %s", err);
		goto out;
	}
	if (!(gw_server.admin = gw_admin_new(admin_fd, gw_server.config->admin.listen.ssl_ctx)) ||
	    gw_admin_start(gw_server.admin) || gw_usageflush_start())
		goto out;
	if (gw_health_start()) /* upstream health checks (health.h) */
		goto stop;
	for (unsigned w = 0; w < n; w++) {
		gw_server.workers[w] =
			gw_worker_new(w, &gconf, fds + (size_t)w * gw_server.config->nlisteners,
				      gw_server.config->nlisteners);
		if (!gw_server.workers[w] || gw_worker_start(gw_server.workers[w])) {
			gw_server.nworkers = w;
			goto stop;
		}
		gw_server.nworkers = w + 1;
	}
	for (size_t l = 0; l < gw_server.config->nlisteners; l++)
		pr_info("listening on %s (%s)", gw_server.config->listeners[l].address,
			gw_server.config->listeners[l].ssl_ctx ? "https, h2 + http/1.1" : "http");
	pr_info("admin API on %s; %u worker threads; %zu keys",
		gw_server.config->admin.listen.address, n, gw_keys_count(gw_server.keys));

	signal_loop(&set);
	ret = 0;
stop:
	__atomic_store_n(&gw_server.stopping, 1, __ATOMIC_RELEASE);
	stop_workers();
	gw_health_stop();
	gw_admin_stop(gw_server.admin);
	/* After the workers: every admitted request's debit is in the last flush. */
	gw_usageflush_stop();
	for (unsigned i = 0; i < gw_server.nworkers; i++)
		gw_cluster_worker_free(gw_server.workers[i]);
	pr_info("stopped");
out:
	gw_banpub_stop();
	gw_ban_stop();
	gw_edge_stop();
	free(fds);
	gw_config_unref(cfg);
	gw_store_close(gw_server.store);
	return ret;
}

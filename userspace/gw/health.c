/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * health.c - the active health checker (see health.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "gw/health.h"
#include "gw/server.h"
#include "gw/upgroup.h"

/* The longest sleep with no check due: how soon a reload's new checks start. The thread
 * otherwise sleeps until the next check is due, so a daemon without health checks wakes
 * once a second, not 40 times (each wake-up preempts a worker on its CPU). */
#define IDLE_MS 1000

static struct {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, stop;
} hc = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wait for fd to be ready for `events` until the deadline; true when it is. */
static bool wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ns();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (now >= deadline)
			return false;
		r = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (r > 0)
			return !(p.revents & (POLLERR | POLLNVAL)) || (p.revents & POLLIN);
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* One probe of server sv: true when it answered 2xx or 3xx in time. */
static bool probe(const gw_upstream_t *u, const gw_upserver_t *sv)
{
	uint64_t deadline = mono_ns() + u->health.timeout_ms * 1000000ULL;
	char req[1024], buf[64];
	size_t got = 0;
	int fd, n, err = 0;
	socklen_t el = sizeof(err);
	bool ok = false;

	fd = socket(sv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)&sv->addr, sv->addrlen) && errno != EINPROGRESS)
		goto out;
	if (!wait_fd(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) ||
	    err)
		goto out;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: floodgate-health\r\n"
		     "Connection: close\r\n\r\n",
		     u->health.path, sv->host);
	if (n <= 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (got < 12) {
		ssize_t r;

		if (!wait_fd(fd, POLLIN, deadline))
			goto out;
		r = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (r <= 0) {
			if (r < 0 && errno == EAGAIN)
				continue;
			goto out;
		}
		got += (size_t)r;
	}
	ok = !memcmp(buf, "HTTP/1.", 7) && buf[8] == ' ' && (buf[9] == '2' || buf[9] == '3');
out:
	close(fd);
	return ok;
}

/* Runs the checks that are due; returns when the next one is (CLOCK_MONOTONIC ns), or
 * UINT64_MAX when the config has none. */
static uint64_t check_due(gw_config_t *cfg)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < cfg->nupstreams; i++) {
		const gw_upstream_t *u = &cfg->upstreams[i];

		if (!u->health.path)
			continue;
		for (size_t j = 0; j < u->nservers; j++) {
			gw_upstate_t *st = u->servers[j].st;
			uint64_t now = mono_ns(),
				 due = __atomic_load_n(&st->next_check_ns, __ATOMIC_RELAXED);
			bool ok;

			if (now < due) {
				next = due < next ? due : next;
				continue;
			}
			ok = probe(u, &u->servers[j]);
			if (!ok)
				pr_debug("health: upstream %s: server %s failed its check", u->name,
					 u->servers[j].url);
			gw_upgroup_checked(u, j, ok, mono_ns());
			due = now + u->health.interval_ms * 1000000ULL;
			__atomic_store_n(&st->next_check_ns, due, __ATOMIC_RELAXED);
			next = due < next ? due : next;
		}
	}
	return next;
}

static void *run(void *arg)
{
	for (;;) {
		gw_config_t *cfg = gw_server_config(NULL);
		uint64_t next = UINT64_MAX, now, wait_ns = IDLE_MS * 1000000ULL;
		struct timespec ts;

		if (cfg) {
			next = check_due(cfg);
			gw_config_unref(cfg);
		}
		now = mono_ns();
		if (next != UINT64_MAX)
			wait_ns = next > now ? (next - now < wait_ns ? next - now : wait_ns) : 0;
		pthread_mutex_lock(&hc.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait_ns / 1000000000ULL);
		ts.tv_nsec += (long)(wait_ns % 1000000000ULL);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!hc.stop)
			pthread_cond_timedwait(&hc.cond, &hc.lock, &ts);
		if (hc.stop) {
			pthread_mutex_unlock(&hc.lock);
			return NULL;
		}
		pthread_mutex_unlock(&hc.lock);
	}
}

int gw_health_start(void)
{
	int rc = pthread_create(&hc.tid, NULL, run, NULL);

	if (rc) {
		pr_err("Couldn't start the health checker: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(hc.tid, "fg-health");
	hc.started = true;
	return 0;
}

void gw_health_kick(void)
{
	if (!hc.started)
		return;
	pthread_mutex_lock(&hc.lock);
	pthread_cond_signal(&hc.cond);
	pthread_mutex_unlock(&hc.lock);
}

void gw_health_stop(void)
{
	if (!hc.started)
		return;
	pthread_mutex_lock(&hc.lock);
	hc.stop = true;
	pthread_cond_signal(&hc.cond);
	pthread_mutex_unlock(&hc.lock);
	pthread_join(hc.tid, NULL);
	hc.started = false;
}

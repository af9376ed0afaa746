/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upgroup.c - server selection, breakers, retry budgets and all-down notifications of
 * upstream groups (see upgroup.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "gw/upgroup.h"

extern char **environ;

/* Retry tokens a worker may hoard: a burst of retries after a quiet spell. */
#define BUDGET_CAP	   10.0
/* Weight of a new latency sample in the moving average, as 1/EWMA_DIV. */
#define EWMA_DIV	   8
/* A webhook gets this long to answer. */
#define WEBHOOK_TIMEOUT_MS 3000

static const char *const strategy_names[GW_UPS_MAX] = {
	"round-robin", "weighted", "least-connections", "hash-key", "hash-ip", "first-success",
};

int gw_upgroup_strategy_of(const char *s)
{
	for (int i = 0; i < GW_UPS_MAX; i++)
		if (!strcmp(s, strategy_names[i]))
			return i;
	return -1;
}

const char *gw_upgroup_strategy_name(int s)
{
	return s >= 0 && s < GW_UPS_MAX ? strategy_names[s] : "?";
}

#define LOAD(p)	    __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD(p, v)   __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

bool gw_upgroup_eligible(const gw_upstream_t *u, size_t i, uint64_t now)
{
	gw_upstate_t *st = u->servers[i].st;
	uint32_t b = LOAD(&st->breaker);

	if (LOAD(&st->down))
		return false;
	return b == GW_BREAKER_CLOSED || (b == GW_BREAKER_OPEN && now >= LOAD(&st->open_until_ns));
}

/* Take server i for this attempt: a closed breaker lets anyone through; an open one whose
 * time is up lets exactly one probe through (the thread that flips it to half-open). */
static bool take(const gw_upstream_t *u, size_t i, uint64_t now, bool *probe)
{
	gw_upstate_t *st = u->servers[i].st;
	uint32_t open = GW_BREAKER_OPEN;

	*probe = false;
	if (!gw_upgroup_eligible(u, i, now))
		return false;
	if (LOAD(&st->breaker) == GW_BREAKER_CLOSED)
		return true;
	if (__atomic_compare_exchange_n(&st->breaker, &open, GW_BREAKER_HALF_OPEN, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		*probe = true;
		return true;
	}
	return false;
}

/* splitmix64: the rendezvous weight of (request hash, server). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int gw_upgroup_pick(const gw_upstream_t *u, gw_upsel_t *sel, uint64_t tried, uint64_t hash,
		    uint64_t now, bool *probe)
{
	size_t n = u->nservers;
	uint64_t ok = 0;
	int best = -1;

	*probe = false;
	for (size_t i = 0; i < n; i++)
		if (!(tried >> i & 1) && gw_upgroup_eligible(u, i, now))
			ok |= 1ULL << i;
	if (!ok)
		return -1;
	switch (u->strategy) {
	case GW_UPS_ROUND_ROBIN:
		for (size_t k = 0; k < n; k++) {
			size_t i = (size_t)((sel->rr + k) % n);

			if (ok >> i & 1) {
				/* A retry does not turn the rotation: with a dead server in
				 * the group, each request's retry would otherwise step over
				 * the next server's turn, and (two servers) every request
				 * would try the dead one first. */
				if (!tried)
					sel->rr = i + 1;
				best = (int)i;
				break;
			}
		}
		break;
	case GW_UPS_WEIGHTED: {
		/* smooth weighted round-robin: each turn every eligible server gains its
		 * weight, the richest is chosen and pays the total */
		int64_t total = 0;

		for (size_t i = 0; i < n; i++) {
			if (!(ok >> i & 1))
				continue;
			sel->cur[i] += u->servers[i].weight;
			total += u->servers[i].weight;
			if (best < 0 || sel->cur[i] > sel->cur[best])
				best = (int)i;
		}
		sel->cur[best] -= total;
		break;
	}
	case GW_UPS_LEAST_CONN: {
		/* fewest in progress per unit of weight; ties in turn */
		for (size_t k = 0; k < n; k++) {
			size_t i = (size_t)((sel->rr + k) % n);
			int64_t a, b;

			if (!(ok >> i & 1))
				continue;
			if (best < 0) {
				best = (int)i;
				continue;
			}
			a = LOAD(&u->servers[i].st->active) * u->servers[best].weight;
			b = LOAD(&u->servers[best].st->active) * u->servers[i].weight;
			if (a < b)
				best = (int)i;
		}
		sel->rr++;
		break;
	}
	case GW_UPS_HASH_KEY:
	case GW_UPS_HASH_IP: {
		uint64_t top = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t w;

			if (!(ok >> i & 1))
				continue;
			w = mix(hash ^ mix(i + 1));
			if (best < 0 || w > top) {
				top = w;
				best = (int)i;
			}
		}
		break;
	}
	default: { /* first-success: healthiest (no recent failure), then fastest, then order */
		for (size_t i = 0; i < n; i++) {
			const gw_upstate_t *a, *b;

			if (!(ok >> i & 1))
				continue;
			if (best < 0) {
				best = (int)i;
				continue;
			}
			a = u->servers[i].st;
			b = u->servers[best].st;
			if ((LOAD(&a->fails) == 0) != (LOAD(&b->fails) == 0)) {
				if (LOAD(&a->fails) == 0)
					best = (int)i;
			} else if (LOAD(&a->ewma_us) < LOAD(&b->ewma_us)) {
				best = (int)i;
			}
		}
		break;
	}
	}
	if (best >= 0 && take(u, (size_t)best, now, probe))
		return best;
	/* lost a race for a probe slot: any other eligible server, in order */
	for (size_t i = 0; i < n; i++)
		if ((ok >> i & 1) && (int)i != best && take(u, i, now, probe))
			return (int)i;
	return -1;
}

void gw_upgroup_result(const gw_upstream_t *u, size_t i, bool ok, bool probe, uint64_t latency_ns,
		       uint64_t now)
{
	gw_upstate_t *st = u->servers[i].st;

	if (ok) {
		uint64_t us = latency_ns / 1000, e = LOAD(&st->ewma_us);

		STORE(&st->ewma_us, e ? e + ((int64_t)us - (int64_t)e) / EWMA_DIV : us);
		STORE(&st->fails, 0);
		if (probe || LOAD(&st->breaker) != GW_BREAKER_CLOSED) {
			if (LOAD(&st->breaker) != GW_BREAKER_CLOSED)
				pr_info("upstream %s: server %s answers again: breaker closed",
					u->name, u->servers[i].url);
			STORE(&st->breaker, GW_BREAKER_CLOSED);
		}
		return;
	}
	ADD(&st->errors, 1);
	if (probe) {
		/* the half-open probe failed: open again */
		STORE(&st->open_until_ns, now + u->open_ms * 1000000ULL);
		STORE(&st->breaker, GW_BREAKER_OPEN);
		return;
	}
	if (u->fail_threshold && ADD(&st->fails, 1) + 1 >= u->fail_threshold &&
	    LOAD(&st->breaker) == GW_BREAKER_CLOSED) {
		uint32_t closed = GW_BREAKER_CLOSED;

		STORE(&st->open_until_ns, now + u->open_ms * 1000000ULL);
		if (__atomic_compare_exchange_n(&st->breaker, &closed, GW_BREAKER_OPEN, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			ADD(&st->ejections, 1);
			pr_warn("upstream %s: server %s failed %u times in a row: ejected for %llu "
				"ms",
				u->name, u->servers[i].url, LOAD(&st->fails),
				(unsigned long long)u->open_ms);
		}
	}
}

void gw_upgroup_request(const gw_upstream_t *u, gw_upsel_t *sel)
{
	/* A worker starts with a full budget: the first failures after a start or a reload
	 * are retried too. */
	if (!sel->primed) {
		sel->primed = true;
		sel->budget = BUDGET_CAP;
	}
	sel->budget += u->retry_budget;
	if (sel->budget > BUDGET_CAP)
		sel->budget = BUDGET_CAP;
}

bool gw_upgroup_may_retry(gw_upsel_t *sel)
{
	if (sel->budget < 1.0)
		return false;
	sel->budget -= 1.0;
	return true;
}

void gw_upgroup_active(const gw_upstream_t *u, size_t i, int delta)
{
	ADD(&u->servers[i].st->active, delta);
}

void gw_upgroup_checked(const gw_upstream_t *u, size_t i, bool ok, uint64_t now)
{
	gw_upstate_t *st = u->servers[i].st;

	ADD(&st->checks, 1);
	if (ok) {
		STORE(&st->hc_fail, 0);
		if (LOAD(&st->down) && ADD(&st->hc_ok, 1) + 1 >= u->health.rise) {
			STORE(&st->down, 0);
			STORE(&st->fails, 0);
			STORE(&st->breaker, GW_BREAKER_CLOSED);
			pr_info("upstream %s: server %s passed %u checks: up", u->name,
				u->servers[i].url, u->health.rise);
		}
		return;
	}
	ADD(&st->checks_failed, 1);
	STORE(&st->hc_ok, 0);
	if (!LOAD(&st->down) && ADD(&st->hc_fail, 1) + 1 >= u->health.fall) {
		STORE(&st->down, 1);
		ADD(&st->ejections, 1);
		pr_warn("upstream %s: server %s failed %u checks: down", u->name, u->servers[i].url,
			u->health.fall);
	}
	(void)now;
}

/* ---- all down ---- */

struct notice {
	char *webhook, *command;
	char upstream[GW_NAME_MAX + 1];
	char body[512];
};

/* POST the event to an http:// URL, bounded in time; errors are logged, nothing more. */
static void post_webhook(const char *url, const char *body)
{
	char host[256], port[8] = "80", req[1024];
	const char *h = url + 7, *slash = strchr(h, '/'), *path = slash ? slash : "/";
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	const char *colon;
	int fd = -1, n;

	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		snprintf(port, sizeof(port), "%s", colon + 1);
		host[colon - host] = '\0';
	}
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (getaddrinfo(host, port, &hints, &res) || !res)
		goto bad;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto bad;
	{
		struct timeval tv = { WEBHOOK_TIMEOUT_MS / 1000,
				      (WEBHOOK_TIMEOUT_MS % 1000) * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen))
		goto bad;
	n = snprintf(req, sizeof(req),
		     "POST %s HTTP/1.1\r\nHost: %.*s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     path, (int)hl, h, strlen(body), body);
	if (n <= 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
		goto bad;
	{
		char buf[64];

		if (read(fd, buf, sizeof(buf)) <= 0)
			goto bad;
	}
	close(fd);
	freeaddrinfo(res);
	return;
bad:
	pr_warn("Couldn't notify the webhook %s: %s", url, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
}

static void *notify_thread(void *arg)
{
	struct notice *n = arg;

	if (n->webhook)
		post_webhook(n->webhook, n->body);
	if (n->command) {
		char env_up[GW_NAME_MAX + 32],
			*envp[] = { env_up, "FLOODGATE_EVENT=all-down",
				    "PATH=/usr/local/bin:/usr/bin:/bin", NULL };
		char *argv[] = { "/bin/sh", "-c", n->command, NULL };
		pid_t pid;
		int status;

		snprintf(env_up, sizeof(env_up), "FLOODGATE_UPSTREAM=%s", n->upstream);
		if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, envp)) {
			pr_warn("Couldn't run the notify command: %s", strerror(errno));
		} else {
			waitpid(pid, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				pr_warn("the notify command failed (status %d)", status);
		}
	}
	free(n->webhook);
	free(n->command);
	free(n);
	return NULL;
}

void gw_upgroup_all_down(const gw_config_t *cfg, const gw_upstream_t *u)
{
	uint64_t *last = &cfg->notify.last_ns[u->index];
	uint64_t now, prev = LOAD(last);
	struct timespec ts;
	struct notice *n;
	pthread_attr_t attr;
	pthread_t tid;

	ADD(&cfg->notify.all_down[u->index], 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (prev && now - prev < cfg->notify.min_interval_s * 1000000000ULL)
		return;
	/* one thread wins the right to notify */
	if (!__atomic_compare_exchange_n(last, &prev, now, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	pr_err("upstream %s: every server is down", u->name);
	if (!cfg->notify.webhook && !cfg->notify.command)
		return;
	if (!(n = calloc(1, sizeof(*n))))
		return;
	n->webhook = cfg->notify.webhook ? strdup(cfg->notify.webhook) : NULL;
	n->command = cfg->notify.command ? strdup(cfg->notify.command) : NULL;
	snprintf(n->upstream, sizeof(n->upstream), "%s", u->name);
	snprintf(n->body, sizeof(n->body),
		 "{\"event\":\"all-down\",\"upstream\":\"%s\",\"servers\":%zu,\"time\":%lld}",
		 u->name, u->nservers, (long long)time(NULL));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, notify_thread, n)) {
		free(n->webhook);
		free(n->command);
		free(n);
	}
	pthread_attr_destroy(&attr);
}

/* ---- reporting ---- */

static const char *state_name(const gw_upstate_t *st, uint64_t now)
{
	uint32_t b = LOAD(&st->breaker);

	if (LOAD(&st->down))
		return "down";
	if (b == GW_BREAKER_HALF_OPEN)
		return "half-open";
	if (b == GW_BREAKER_OPEN)
		return now >= LOAD(&st->open_until_ns) ? "half-open" : "open";
	return "up";
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int gw_upgroup_render(const gw_config_t *cfg, char **buf, size_t *len)
{
	static const char *const fams[][3] = {
		{ "floodgate_upstream_server_up", "gauge",
		  "1 when the server takes requests (checks pass, breaker not open)." },
		{ "floodgate_upstream_server_active", "gauge", "Exchanges in progress." },
		{ "floodgate_upstream_server_requests_total", "counter", "Attempts sent." },
		{ "floodgate_upstream_server_errors_total", "counter",
		  "Failed attempts (connect, timeout, broken answer, 5xx)." },
		{ "floodgate_upstream_server_ejections_total", "counter",
		  "Times the breaker opened or checks marked the server down." },
		{ "floodgate_upstream_server_latency_seconds", "gauge",
		  "Moving average of the time to the response head." },
	};
	uint64_t now = mono_ns();
	size_t cap = *len + 4096, o = *len;
	char *out = realloc(*buf, cap);

	if (!out)
		return -ENOMEM;
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		for (size_t i = 0; i <= cfg->nupstreams; i++) {
			const gw_upstream_t *u = i ? &cfg->upstreams[i - 1] : NULL;

			for (size_t j = 0; u ? j < u->nservers : j < 1; j++) {
				const gw_upstate_t *st = u ? u->servers[j].st : NULL;
				char line[512];
				int n;

				if (!u)
					n = snprintf(line, sizeof(line),
						     "# HELP %s %s\n# TYPE %s %s\n", fams[f][0],
						     fams[f][2], fams[f][0], fams[f][1]);
				else if (f == 5)
					n = snprintf(line, sizeof(line),
						     "%s{upstream=\"%s\",server=\"%s\"} %.6f\n",
						     fams[f][0], u->name, u->servers[j].host,
						     (double)LOAD(&st->ewma_us) / 1e6);
				else
					n = snprintf(line, sizeof(line),
						     "%s{upstream=\"%s\",server=\"%s\"} %lld\n",
						     fams[f][0], u->name, u->servers[j].host,
						     f == 0 ? (long long)!strcmp(
								      state_name(st, now), "up")
						     : f == 1 ? (long long)LOAD(&st->active)
						     : f == 2 ? (long long)LOAD(&st->requests)
						     : f == 3 ? (long long)LOAD(&st->errors)
							      : (long long)LOAD(&st->ejections));
				if (n <= 0 || (size_t)n >= sizeof(line))
					continue;
				if (o + (size_t)n + 1 > cap) {
					char *nb = realloc(out, cap * 2);

					if (!nb) {
						*buf = out;
						return -ENOMEM;
					}
					out = nb;
					cap *= 2;
				}
				memcpy(out + o, line, (size_t)n);
				o += (size_t)n;
			}
		}
	}
	for (size_t i = 0; i <= cfg->nupstreams; i++) {
		char line[512];
		int n = i ? snprintf(line, sizeof(line),
				     "floodgate_upstream_all_down_total{upstream=\"%s\"} %llu\n",
				     cfg->upstreams[i - 1].name,
				     (unsigned long long)LOAD(&cfg->notify.all_down[i - 1]))
			  : snprintf(line, sizeof(line),
				     "# HELP floodgate_upstream_all_down_total Requests refused "
				     "because every server was out.\n"
				     "# TYPE floodgate_upstream_all_down_total counter\n");

		if (n <= 0 || (size_t)n >= sizeof(line))
			continue;
		if (o + (size_t)n + 1 > cap) {
			char *nb = realloc(out, cap * 2);

			if (!nb) {
				*buf = out;
				return -ENOMEM;
			}
			out = nb;
			cap *= 2;
		}
		memcpy(out + o, line, (size_t)n);
		o += (size_t)n;
	}
	*buf = out;
	*len = o;
	return 0;
}

char *gw_upgroup_json(const gw_config_t *cfg)
{
	json_t *arr = json_array();
	uint64_t now = mono_ns();
	char *s;

	for (size_t i = 0; i < cfg->nupstreams; i++) {
		const gw_upstream_t *u = &cfg->upstreams[i];
		json_t *servers = json_array();

		for (size_t j = 0; j < u->nservers; j++) {
			const gw_upstate_t *st = u->servers[j].st;

			json_array_append_new(
				servers,
				json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:f, s:I, s:I}",
					  "url", u->servers[j].url, "state", state_name(st, now),
					  "weight", (int)u->servers[j].weight, "active",
					  (json_int_t)LOAD(&st->active), "requests",
					  (json_int_t)LOAD(&st->requests), "errors",
					  (json_int_t)LOAD(&st->errors), "ejections",
					  (json_int_t)LOAD(&st->ejections), "latency_ms",
					  (double)LOAD(&st->ewma_us) / 1000.0, "checks",
					  (json_int_t)LOAD(&st->checks), "checks_failed",
					  (json_int_t)LOAD(&st->checks_failed)));
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", u->name, "strategy",
						     gw_upgroup_strategy_name(u->strategy),
						     "servers", servers));
	}
	{
		json_t *root = json_pack("{s:o}", "upstreams", arr);

		s = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(root);
	}
	return s;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upgroup.h - upstream groups: which server of an upstream takes a request, and what the
 * gateway knows about each server's health.
 *
 * An upstream is a group of one or more servers (a plain `url` is a group of one). Each
 * server has a health record shared by every worker thread (atomics, no locks), living as
 * long as the config that declared it:
 *   - passive ejection / circuit breaker: consecutive failures (connect error, timeout,
 *     broken answer, 5xx) reaching passive.failures open the breaker for passive.open_ms;
 *     then one request at a time is let through as a probe (half-open): its success
 *     closes the breaker, its failure opens it again;
 *   - active health checks (health.c): a server failing `fall` checks in a row is down
 *     until it passes `rise` in a row; coming back also closes its breaker.
 * A server is eligible when it is not down and its breaker is closed (or it is the
 * half-open probe).
 *
 * Strategies, among eligible servers not tried yet for this request:
 *   round-robin        in turn (per worker thread)
 *   weighted           smooth weighted round-robin (per worker thread)
 *   least-connections  fewest exchanges in progress (all threads) relative to weight
 *   hash-key, hash-ip  rendezvous hashing of the API key's digest or the client address:
 *                      stable, and a server's departure moves only its own share
 *   first-success      the healthiest first, then the lowest recent latency; on failure,
 *                      the next (the seed gateway's behaviour)
 *
 * Retries: an idempotent request whose attempt failed before any response byte goes to
 * another server, at most `retries` times, and only while the worker's retry budget holds
 * a token: it starts with 10, gains retry_budget per request and never holds more than
 * 10 - so retries cannot multiply the load of an outage.
 */
#ifndef GW_UPGROUP_H
#define GW_UPGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/config.h"

/* Servers one upstream may have (a request's tried set is a 64-bit mask). */
#define GW_UPGROUP_SERVERS_MAX 64

enum gw_breaker {
	GW_BREAKER_CLOSED = 0,
	GW_BREAKER_OPEN,
	GW_BREAKER_HALF_OPEN, /* one probe request in flight */
};

/* A server's shared health record; every field is accessed atomically. */
typedef struct st_gw_upstate_t {
	uint32_t breaker; /* enum gw_breaker */
	uint32_t fails;	  /* consecutive passive failures */
	uint64_t open_until_ns;
	uint32_t down; /* active checks: 1 = down */
	uint32_t hc_ok, hc_fail;
	uint64_t next_check_ns;
	int64_t active;	   /* exchanges in progress, all threads */
	uint64_t ewma_us;  /* recent time to response head */
	uint64_t requests; /* attempts sent */
	uint64_t errors;   /* failed attempts (passive failures) */
	uint64_t ejections;
	uint64_t checks, checks_failed;
} gw_upstate_t;

/* A worker's selection state for one upstream. */
typedef struct st_gw_upsel_t {
	uint64_t rr;
	int64_t cur[GW_UPGROUP_SERVERS_MAX]; /* smooth weighted round-robin */
	double budget;			     /* retry tokens */
	bool primed;			     /* budget filled once */
} gw_upsel_t;

/* Server-selection strategies (gw_upstream_t.strategy); their config names are in
 * upgroup.c, gw_upgroup_strategy_of() maps a name to one. */
enum {
	GW_UPS_ROUND_ROBIN = 0,
	GW_UPS_WEIGHTED,
	GW_UPS_LEAST_CONN,
	GW_UPS_HASH_KEY,
	GW_UPS_HASH_IP,
	GW_UPS_FIRST_SUCCESS,
	GW_UPS_MAX,
};

/* The strategy named s, or -1. */
int gw_upgroup_strategy_of(const char *s);
const char *gw_upgroup_strategy_name(int s);

/*
 * The server (index) for an attempt, among u's servers not in `tried` (bit i = server i),
 * or -1 when none is eligible. hash: the request's affinity value for the hash
 * strategies. May take the half-open probe slot of a server (then *probe is set; report
 * its outcome with gw_upgroup_result()).
 */
int gw_upgroup_pick(const gw_upstream_t *u, gw_upsel_t *sel, uint64_t tried, uint64_t hash,
		    uint64_t now_ns, bool *probe);

/* The outcome of an attempt on server i: ok, or a failure counting towards ejection.
 * latency_ns is the time to the response head (ok only). */
void gw_upgroup_result(const gw_upstream_t *u, size_t i, bool ok, bool probe, uint64_t latency_ns,
		       uint64_t now_ns);

/* A request starts (adds retry_budget tokens); whether one retry may be spent now. */
void gw_upgroup_request(const gw_upstream_t *u, gw_upsel_t *sel);
bool gw_upgroup_may_retry(gw_upsel_t *sel);

/* Exchanges in progress on server i (least-connections). */
void gw_upgroup_active(const gw_upstream_t *u, size_t i, int delta);

/* An active check of server i passed or failed (health.c). */
void gw_upgroup_checked(const gw_upstream_t *u, size_t i, bool ok, uint64_t now_ns);

/* Whether server i is eligible now (without taking a probe slot). */
bool gw_upgroup_eligible(const gw_upstream_t *u, size_t i, uint64_t now_ns);

/*
 * Every server of u is out: count it and, at most once per notify.min_interval_s, tell the
 * operator (notify.webhook POST and/or notify.command, from a detached thread).
 */
void gw_upgroup_all_down(const gw_config_t *cfg, const gw_upstream_t *u);

/* Append per-server metrics of cfg's upstreams to the malloc'd text (*buf, *len). */
int gw_upgroup_render(const gw_config_t *cfg, char **buf, size_t *len);

/* A JSON text of cfg's upstreams and their servers' state (malloc'd), or NULL. */
char *gw_upgroup_json(const gw_config_t *cfg);

#endif /* GW_UPGROUP_H */

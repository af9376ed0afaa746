/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster.h - admission decided in Redis, shared by every node: one Lua script call per
 * request.
 *
 * The script (loaded once per connection with SCRIPT LOAD, called by EVALSHA; on NOSCRIPT
 * the call is sent again once as EVAL) takes a key's plan token bucket and a list of up
 * to GW_CLUSTER_COUNTERS_MAX counters (quotas, credits, usage) and, atomically in Redis:
 * refills the bucket to Redis's clock (TIME: nodes' clocks do not matter), and admits
 * only when a token is there AND no hard counter would pass its limit - then it takes the
 * token and adds every counter's cost; otherwise it changes nothing at all. The bucket is
 * tb.h's, kept as time (credit in ns, one token = interval_ns, full = cap_ns, starts
 * full), so a plan admits exactly what it admits in embedded mode. Keys share the hash tag
 * of the API key id ("PREFIX{ID}:tb", "PREFIX{ID}:SUFFIX") so a Redis Cluster keeps them in
 * one slot.
 *
 * Redis unreachable, slow or gone: gw_cluster_admit() refuses at once (-ENOTCONN) or calls
 * back with GW_CLUSTER_UNAVAILABLE within the configured timeout. The caller then applies
 * the policy: fail-open decides on the node's own buckets and counts with
 * gw_cluster_local_counters(), whose deltas are added to Redis when the connection is
 * back; fail-closed answers 503. gw_cluster_request() is that whole path for the plan
 * bucket of a request in the handler.
 *
 * One gw_cluster_t per worker thread, on its event loop (its own Redis connection).
 */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "gw/config.h"
#include "gw/evloop.h"
#include "gw/redis.h"

/* Counters one admission may carry. */
#define GW_CLUSTER_COUNTERS_MAX 8
/* Longest counter key suffix. */
#define GW_CLUSTER_SUFFIX_MAX	96
/* Arguments of one script call: command, sha, numkeys, keys, 4 + 4 per counter. */
#define GW_CLUSTER_ARGS_MAX	(3 + 1 + GW_CLUSTER_COUNTERS_MAX + 4 + 4 * GW_CLUSTER_COUNTERS_MAX)

/* A counter to debit with the bucket's token, all or nothing. */
typedef struct st_gw_cluster_counter_t {
	const char *suffix; /* the key is PREFIX{KEY_ID}:SUFFIX ("q:day:20261122") */
	uint64_t limit;	    /* 0 = no limit */
	uint64_t cost;	    /* added when admitted */
	int64_t expire_at;  /* unix seconds (EXPIREAT), 0 = never expires */
	bool hard;	    /* refuse rather than pass the limit; soft ones just count */
} gw_cluster_counter_t;

enum gw_cluster_verdict {
	GW_CLUSTER_ADMIT = 0,	/* token taken, every counter debited */
	GW_CLUSTER_BUCKET,	/* no token; nothing changed */
	GW_CLUSTER_COUNTER,	/* a hard counter would pass its limit; nothing changed */
	GW_CLUSTER_UNAVAILABLE, /* Redis did not decide (down, timeout, error) */
};

typedef struct st_gw_cluster_result_t {
	enum gw_cluster_verdict verdict;
	size_t counter;	    /* GW_CLUSTER_COUNTER: index of the refusing counter */
	uint64_t credit_ns; /* bucket content after the decision */
	size_t nvalues;	    /* counters' values returned (0 when the bucket refused) */
	uint64_t values[GW_CLUSTER_COUNTERS_MAX]; /* after debit when admitted, else as they are */
	const char *err;			  /* GW_CLUSTER_UNAVAILABLE: why */
} gw_cluster_result_t;

typedef void (*gw_cluster_cb)(void *data, const gw_cluster_result_t *res);

/* The script call's argument vector (argv[0] and argv[1] are the command and the sha or
 * script, set by the sender). */
typedef struct st_gw_cluster_args_t {
	int argc;
	const char *argv[GW_CLUSTER_ARGS_MAX];
	size_t len[GW_CLUSTER_ARGS_MAX];
	char buf[GW_CLUSTER_COUNTERS_MAX * (GW_REDIS_PREFIX_MAX + GW_CLUSTER_SUFFIX_MAX + 128) +
		 512];
} gw_cluster_args_t;

/* The script's text and its SHA-1 (hex), as EVALSHA wants it. */
extern const char gw_cluster_script[];
const char *gw_cluster_script_sha(void);

/*
 * Build the arguments of one admission (pure; unit-tested). Returns 0, or -EINVAL for
 * more than GW_CLUSTER_COUNTERS_MAX counters, a missing or too long suffix, or a suffix
 * with a byte outside [A-Za-z0-9:._-].
 */
int gw_cluster_build_args(gw_cluster_args_t *a, const char *prefix, const char *key_id,
			  const gw_limit_t *l, const gw_cluster_counter_t *ctrs, size_t n);

/* Longest RESP form of a script call's arguments (the sha, not the script, in argv[1]). */
#define GW_CLUSTER_RESP_MAX                                                                        \
	(sizeof(((gw_cluster_args_t *)0)->buf) + 41 + 25 * GW_CLUSTER_ARGS_MAX + 24)

/* a as one RESP command into out (pure; unit-tested): its length, 0 when cap is short. */
size_t gw_cluster_format_resp(const gw_cluster_args_t *a, char *out, size_t cap);

/* Read the script's reply for n counters into res (pure; unit-tested). 0 or -EPROTO. */
int gw_cluster_parse_reply(const redisReply *reply, size_t n, gw_cluster_result_t *res);

typedef struct st_gw_cluster_t gw_cluster_t;

/* Counters of one worker's cluster client (relaxed reads from other threads). */
typedef struct st_gw_cluster_stats_t {
	uint64_t calls;	       /* script calls sent (each one round trip) */
	uint64_t admitted;     /* decided in Redis: admitted */
	uint64_t refused;      /* decided in Redis: refused (bucket or counter) */
	uint64_t unavailable;  /* Redis did not decide */
	uint64_t script_loads; /* SCRIPT LOAD on (re)connect, and EVAL after NOSCRIPT */
	uint64_t fail_open;    /* requests decided locally under fail-open */
	uint64_t fail_closed;  /* requests refused with 503 under fail-closed */
	uint64_t reconciled;   /* local counter deltas added to Redis after an outage */
	uint64_t pending_lost; /* local deltas dropped (table full) */
} gw_cluster_stats_t;

gw_cluster_t *gw_cluster_new(h2o_evloop_t *loop, const gw_redis_conf_t *conf);
/* Close the connection (admissions in flight are called back UNAVAILABLE); the counters
 * stay readable until gw_cluster_free(). */
void gw_cluster_close(gw_cluster_t *c);
void gw_cluster_free(gw_cluster_t *c);

/*
 * Decide one admission in Redis: key_id's bucket under limit l and the n counters.
 * Returns 0 and calls cb exactly once (from the loop, never from inside this call), or
 * -ENOTCONN / -ENOMEM / -EINVAL at once without calling cb.
 */
int gw_cluster_admit(gw_cluster_t *c, const char *key_id, const gw_limit_t *l,
		     const gw_cluster_counter_t *ctrs, size_t n, gw_cluster_cb cb, void *data);

/*
 * Fail-open accounting of the n counters on this node alone: refuse (GW_CLUSTER_COUNTER)
 * when a hard counter's last value seen from Redis plus what this node counted since
 * would pass its limit, else count them for reconciliation and admit. Fills res.
 */
void gw_cluster_local_counters(gw_cluster_t *c, const char *key_id,
			       const gw_cluster_counter_t *ctrs, size_t n,
			       gw_cluster_result_t *res);

/*
 * The read-only twin of the admission script (same keys and arguments, costs ignored):
 * the bucket refilled to Redis's clock and the counters' values, written nowhere. Its
 * reply parses as an admission (verdict ADMIT, every value).
 */
extern const char gw_cluster_read_script[];

/* Read key_id's bucket and n counters without changing them; cb as gw_cluster_admit's. */
int gw_cluster_read(gw_cluster_t *c, const char *key_id, const gw_limit_t *l,
		    const gw_cluster_counter_t *ctrs, size_t n, gw_cluster_cb cb, void *data);

/*
 * Give back what an admission added to the n counters (a refunded request): one script
 * call, sent and not waited for (counters never go below 0, absent ones stay absent);
 * without a connection the refund is lost (gw_redis_command refuses it). local: the
 * admission was counted by gw_cluster_local_counters(); what this node has not yet
 * reconciled is then reduced instead.
 */
void gw_cluster_refund(gw_cluster_t *c, const char *key_id, const gw_cluster_counter_t *ctrs,
		       size_t n, bool local);

/* Whether the connection to Redis is up, the policy, and the counters. */
bool gw_cluster_ready(const gw_cluster_t *c);
enum gw_redis_policy gw_cluster_policy(const gw_cluster_t *c);
const gw_cluster_stats_t *gw_cluster_stats(const gw_cluster_t *c);
const gw_redis_t *gw_cluster_redis(const gw_cluster_t *c);
/* The same client, to send commands on (the response cache's shared layer, cacheshared.h). */
gw_redis_t *gw_cluster_redis_rw(gw_cluster_t *c);

#endif /* GW_CLUSTER_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banpub.h - bans shared by the nodes of a Redis cluster (store type "redis").
 *
 * Redis holds the cluster's bans and tells every node about each change:
 *
 *   PREFIXbans         hash     CIDR -> the ban record (JSON, below); lifted and expired
 *                               bans stay until the forgiveness period is over, so the
 *                               repeat rule counts offences across the cluster
 *   PREFIXbans:expiry  zset     CIDR at its expiry: what to prune
 *   PREFIXbans         channel  every record written, by any node
 *
 * A record / message: {"node", "op": "ban"|"lift", "cidr", "reason", "score", "created",
 * "expires", "offences", "edge", "decided_ns", "origin"} - node is the writer's random id
 * (its own messages are ignored), decided_ns the verdict in CLOCK_REALTIME ns (how late the
 * other nodes installed it is measured against it), origin the deciding node's
 * "HOST@LISTENER" (banorigin.h; absent in records written before it existed).
 *
 * A ban decided on this node (ban.h's publisher) is written and PUBLISHed by one Lua
 * script, from a thread of this module's own (synchronous hiredis), so the deciding
 * thread never waits on Redis. The same thread is subscribed: a record from another node
 * goes into this node's maps with gw_ban_install()/gw_ban_lift(cidr, false), never
 * published again. At start, and after a lost subscription, the whole hash is read and
 * the local bans made equal to it (a full resync).
 */
#ifndef GW_BANPUB_H
#define GW_BANPUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/ban.h"
#include "gw/config.h"

#define GW_BANPUB_NODE_LEN 16 /* hex digits of a node id */

/* Subscribe, load the cluster's bans into the maps, then start the thread. Call after
 * gw_ban_start(), before serving. 0, or -errno with err set (Redis unreachable). */
int gw_banpub_start(const gw_config_t *cfg, char *err, size_t errlen);
void gw_banpub_stop(void);

typedef struct st_gw_banpub_stats_t {
	uint64_t published;	 /* local decisions written to Redis */
	uint64_t publish_errors; /* attempts that failed (retried) */
	uint64_t dropped;	 /* local decisions never written (queue full) */
	uint64_t received;	 /* records from other nodes applied */
	uint64_t resyncs;	 /* full reads of the hash */
	uint64_t last_lag_ns;	 /* the last received ban: its verdict -> installed here */
} gw_banpub_stats_t;
void gw_banpub_stats(gw_banpub_stats_t *out);
/* The counters in Prometheus text appended to *buf (nothing unless started). 0 or -ENOMEM. */
int gw_banpub_metrics_append(char **buf, size_t *len);

/* ---- pure helpers (unit-tested) ---- */

typedef struct st_gw_banpub_msg_t {
	char node[GW_BANPUB_NODE_LEN + 1];
	bool lifted;
	int64_t decided_rt_ns; /* CLOCK_REALTIME */
	gw_ban_t ban;	       /* decided_ns, installed_ns and hits unset */
} gw_banpub_msg_t;

/* The JSON of m into out (NUL-terminated). Its length, or -ENOSPC. */
int gw_banpub_encode(const gw_banpub_msg_t *m, char *out, size_t len);
/* Parse a record; 0, or -EINVAL with *why set (a record not trusted is skipped). */
int gw_banpub_decode(const char *json, size_t len, gw_banpub_msg_t *m, const char **why);
/* CLOCK_MONOTONIC of a remote verdict: now_mono less how long ago (realtime) it was; a
 * verdict "in the future" (clock skew) counts as now. */
uint64_t gw_banpub_local_mono(int64_t decided_rt_ns, int64_t now_rt_ns, uint64_t now_mono_ns);

#endif /* GW_BANPUB_H */

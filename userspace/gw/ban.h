/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ban.h - abuse scoring per client IP and the bans it leads to.
 *
 * Scoring: every auth failure, 429, route probe (404/405) and malformed request (400/431)
 * adds its configured weight to the score of the client (after trusted-edge resolution)
 * over a sliding window (abuse.window_s, two fixed windows interpolated). Past
 * abuse.threshold the client is banned.
 *
 * A ban is a blocklist entry with a TTL in the XDP maps (origin "ban"), so the client's
 * packets drop at the NIC, plus an L7 refusal (429, Retry-After = the ban's remaining
 * time) for requests that still arrive (through a trusted edge, or with the edge layer
 * off). IPv6 bans cover abuse.ipv6_prefix (/64 by default). The Nth ban of the same
 * network lasts ban_ttl_s x multiplier^(N-1), at most ban_max_ttl_s. Never banned:
 * loopback, allowlisted sources (config or XDP allowlist) and edges: an edge IP (config edge, XDP
 * edge or trusted edge) gets its XDP edge bucket tightened to edge_tighten_percent of its
 * rate for the ban's TTL instead; a client behind an edge is refused at L7 by its resolved
 * IP and the edge it came through is tightened the same way.
 *
 * Sources XDP marked (fg_marked, within suspect_window_s) get the stricter abuse.suspect
 * bucket at L7.
 *
 * Bans go to the store (banstore.h) from a thread of their own, so the request path never
 * waits on a disk; the daemon restores them at start.
 *
 * Cluster entry points, used by the Redis pub/sub adapter (banpub.h):
 *   gw_ban_decide()  a ban decided HERE (scoring, admin API): install, persist, publish
 *   gw_ban_install() a ban decided ELSEWHERE (another node, the store): install, persist,
 *                    never publish (so a ban does not echo round the cluster)
 *   gw_ban_lift()    unban, publishing or not in the same way
 * and gw_ban_set_publisher() is how the adapter hears about local decisions.
 */
#ifndef GW_BAN_H
#define GW_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "gw/clientip.h"
#include "gw/config.h"
#include "gw/problem.h"

#define GW_BAN_REASON_MAX 32
#define GW_BAN_MAX	  65536 /* ban records kept in memory */
#define GW_BAN_ORIGIN_MAX 64	/* "HOST@LISTENER" of the deciding node (banorigin.h) */

typedef struct st_gw_ban_t {
	struct fg_cidr cidr;		   /* the banned network (a host, or an IPv6 prefix) */
	char reason[GW_BAN_REASON_MAX];	   /* what tipped the score, or "admin", ... */
	uint64_t score;			   /* the score when banned */
	int64_t created, expires;	   /* unix seconds */
	uint32_t offences;		   /* this is the Nth ban of this network */
	bool edge;			   /* an edge: its bucket tightened, nothing blocked */
	uint64_t decided_ns, installed_ns; /* CLOCK_MONOTONIC: verdict, XDP entry written */
	uint64_t hits;			   /* packets the XDP entry dropped (lists only) */
	char origin[GW_BAN_ORIGIN_MAX];	   /* the node that decided it; "" unknown (older) */
} gw_ban_t;

/* Restore the stored bans into the maps and start the ban thread. */
int gw_ban_start(const gw_config_t *cfg, char *err, size_t errlen);
void gw_ban_stop(void);

/* The request path, after a response: score the client (a no-op unless abuse is on and
 * p is a scored problem). */
void gw_ban_note(const gw_config_t *cfg, const gw_clientip_t *ip, enum gw_problem p);

/* The request path, before anything else: GW_PROBLEM_NONE, or the problem to answer
 * (banned or suspect over its bucket) with *retry_s for Retry-After. */
/* Whether a request's client address is needed by this module: a ban is active, the
 * suspect bucket or abuse scoring is on (the request path resolves it only then). */
bool gw_ban_wants_ip(const gw_config_t *cfg);
enum gw_problem gw_ban_check(const gw_config_t *cfg, const gw_clientip_t *ip, uint64_t conn_id,
			     uint64_t now_ns, uint64_t *retry_s);

/*
 * A ban decided here. ttl_s 0 = by the repeat rule. Returns 0 with *out (may be NULL)
 * filled; -EPERM for an allowlisted source, -EINVAL for a bad CIDR; an edge is not an
 * error (out->edge is set). The publisher (if any) is told.
 */
int gw_ban_decide(const gw_config_t *cfg, const struct fg_cidr *c, const char *reason,
		  uint64_t score, uint64_t ttl_s, gw_ban_t *out);

/* A ban decided elsewhere (b->expires in the future): maps, memory, store; no publish. */
int gw_ban_install(const gw_ban_t *b);

/* Unban exactly c (an IPv6 host: also its banned prefix). 0 or -ENOENT. publish: tell the
 * publisher (a local decision). */
int gw_ban_lift(const struct fg_cidr *c, bool publish);

/* An expired ban decided elsewhere: remembered for the repeat rule only (nothing in the
 * maps). 0 or -ENOSPC. */
int gw_ban_remember(const gw_ban_t *b);

/* Remove the ban entries (origin "ban") of the XDP maps that no active ban accounts for:
 * left pinned by an earlier run, lifted elsewhere meanwhile. Only while nothing decides
 * bans (start). Returns how many. */
size_t gw_ban_sweep_orphans(void);

typedef void (*gw_ban_publish_fn)(void *arg, const gw_ban_t *b, bool lifted);
void gw_ban_set_publisher(gw_ban_publish_fn fn, void *arg);

/* The active bans, most XDP hits first (malloc'd array). 0 or -ENOMEM. */
int gw_ban_list(gw_ban_t **out, size_t *n);

/* Counters for /metrics and /status. */
typedef struct st_gw_ban_stats_t {
	uint64_t decided, installed, lifted, expired, refused_allow, tightened, l7_refused,
		suspect_refused, active;
} gw_ban_stats_t;
void gw_ban_stats(gw_ban_stats_t *out);

/* Pure helpers (unit-tested). */
/* TTL of the Nth offence: base x mult^(n-1), capped at max. */
uint64_t gw_ban_ttl(uint64_t base, uint64_t mult, uint64_t max, uint32_t offence);
/* The kind a problem scores as, or -1 when it is not scored. */
int gw_ban_kind_of(enum gw_problem p);
/* The banned network of a client: a host, IPv6 masked to v6prefix. */
void gw_ban_net_of(const struct fg_cidr *client, unsigned v6prefix, struct fg_cidr *out);
/* Sliding-window score: cur in the window that started at cur_start_ms, prev in the one
 * before; the estimate at now_ms (prev weighted by how much of it still overlaps). */
uint64_t gw_ban_window_score(uint64_t cur, uint64_t prev, uint64_t cur_start_ms, uint64_t now_ms,
			     uint64_t window_ms);

#endif /* GW_BAN_H */

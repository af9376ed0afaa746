/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edgemap.h - read and change the edge filter's pinned maps: the one implementation of
 * "block this CIDR", "what is the config", "how many packets were dropped", shared by
 * fgctl and the daemon (which pushes its bans through it).
 *
 * A struct fg_edgemap is an open pin directory: one fd per map of bpf/edge.h, checked on
 * open against the ABI's key and value sizes, so a stale pin from another build is an
 * error rather than garbage. Everything else is keyed by struct fg_cidr (addr.h): the
 * library picks the exact hash map for a /32 or /128 and the LPM trie for a shorter
 * prefix, and converts keys both ways. Times are CLOCK_MONOTONIC ns (fg_mono_ns()).
 *
 * Functions return 0 or -errno and never print above debug level: the caller knows what
 * the operation meant and says so. Writes validate their whole input before the first
 * map update, so an error never leaves a half-written entry.
 *
 * Concurrency: rule and edge writes are single map updates. The config entry is replaced
 * whole; fg_edgemap_config_edit() serialises read-modify-write cycles between processes
 * with flock() on the pin directory, bumps the generation and records the writer.
 */
#ifndef FG_EDGEMAP_H
#define FG_EDGEMAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge.h"
#include "addr.h"
#include "pin.h"

struct fg_edgemap {
	char pin_dir[PATH_MAX];
	int fd[FG_MAP_COUNT];
	uint32_t id[FG_MAP_COUNT];	    /* kernel map ids */
	uint32_t max_entries[FG_MAP_COUNT]; /* as created (fgctl attach may resize the LRUs) */
	int dir_fd;			    /* the pin directory, for flock() */
	int ncpu;			    /* possible CPUs: per-CPU values have this many slots */
	const char *failed;		    /* after a failed open: the map that failed, or NULL */
};

/* The two rule lists. */
enum fg_list {
	FG_LIST_ALLOW = 0,
	FG_LIST_BLOCK = 1,
};

/* CLOCK_MONOTONIC now, in ns: the clock of every expiry and timestamp in the maps. */
uint64_t fg_mono_ns(void);

/*
 * Open every map pinned in pin_dir. Returns 0; -ENOENT when the directory or its config
 * map is missing (nothing was attached with this pin directory); -EPROTO when another map
 * is missing or a pinned map's type, key or value size is not what bpf/edge.h says
 * (pins left by another version); other -errno from bpf().
 * em->failed names the map on error. fg_edgemap_close() is safe after a failed open.
 */
int fg_edgemap_open(struct fg_edgemap *em, const char *pin_dir);
void fg_edgemap_close(struct fg_edgemap *em);

/* Ids of the loaded BPF programs that use these maps: fg_map_users() (pin.h). */
int fg_edgemap_users(const struct fg_edgemap *em, uint32_t *ids, size_t max, size_t *n);

/* ---- Names shared by every reader (fgctl output, the daemon's metrics and logs) ---- */

const char *fg_mode_name(uint32_t mode);     /* "inherit", "drop", "mark", "monitor", "?" */
int fg_mode_parse(const char *s);	     /* enum edge_mode, or -EINVAL ("inherit" too) */
const char *fg_origin_name(uint32_t origin); /* "manual", "config", "ban", "?" */
const char *fg_stat_name(uint32_t id);	     /* "pass_not_ip" ... "fragment", "?" */
const char *fg_list_name(enum fg_list list); /* "allowlist", "blocklist" */

/* ---- Rules (allowlist, blocklist) ---- */

struct fg_rule_entry {
	struct fg_cidr cidr;
	struct edge_rule rule;
};

/*
 * Build a rule value: ttl_s 0 = never expires, else expires ttl_s seconds after now (ns).
 * Returns -ERANGE for a TTL over EDGE_TTL_MAX_S, -EINVAL for a bad mode or origin, or
 * for a mode other than INHERIT on the allowlist (an allowed source is always passed).
 */
int fg_rule_make(struct edge_rule *r, enum fg_list list, const struct fg_cidr *c, uint64_t ttl_s,
		 uint32_t mode, uint32_t origin, uint64_t now);

/* Add or replace the entry for exactly this CIDR (a replaced entry keeps its hits). */
int fg_edgemap_rule_put(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *c,
			uint64_t ttl_s, uint32_t mode, uint32_t origin);

/* The entry for exactly this CIDR (not the longest match): 0 or -ENOENT. */
int fg_edgemap_rule_get(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *c,
			struct edge_rule *out);

/* Delete the entry for exactly this CIDR: 0 or -ENOENT. */
int fg_edgemap_rule_del(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *c);

/*
 * edge_config.lists (bpf/edge.h) says which allow/block maps the program consults.
 * rule_put sets a map's bit before writing its first entry, rule_del and sweep clear it
 * when the map is empty, all under the pin directory's lock. refresh recomputes every bit
 * from the maps (adopting entries written without this library); unseen reports the maps
 * that hold entries the program does not consult (their bits, 0 when none).
 */
int fg_edgemap_lists_refresh(struct fg_edgemap *em);
__u32 fg_edgemap_list_bit(enum fg_map_id id); /* EDGE_L_* of a list map, 0 for others */
int fg_edgemap_lists_unseen(struct fg_edgemap *em, __u32 *unseen);

/*
 * The live rule the program would match for a host address at time now, as the program
 * looks it up (exact entry, then longest live prefix): 0 with *out filled, or -ENOENT.
 */
int fg_edgemap_rule_match(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *host,
			  uint64_t now, struct fg_rule_entry *out);

/* Callback of the foreach functions: return 0 to go on, anything else stops and is
 * returned by the foreach. */
typedef int (*fg_rule_fn)(const struct fg_rule_entry *e, void *arg);

/* Every entry of a list, expired or not: exact IPv4, exact IPv6, IPv4 CIDRs, IPv6 CIDRs. */
int fg_edgemap_rule_foreach(struct fg_edgemap *em, enum fg_list list, fg_rule_fn fn, void *arg);

/* True when a rule has expired at time now. */
static inline bool fg_rule_expired(const struct edge_rule *r, uint64_t now)
{
	return r->expires_ns && r->expires_ns <= now;
}

/* Delete every expired rule of both lists; *removed (may be NULL) gets how many. An
 * entry is re-read just before its delete, so one renewed meanwhile is kept. */
int fg_edgemap_sweep(struct fg_edgemap *em, uint64_t now, unsigned *removed);

/* ---- Edges (CDN/proxy CIDRs with their own per-IP limit) ---- */

struct fg_edge_entry {
	struct fg_cidr cidr;
	struct edge_net net;
};

/* Build an edge value. -EINVAL for a zero or too large rate or burst, bad mode or origin. */
int fg_edge_make(struct edge_net *e, const struct fg_cidr *c, uint64_t rate, uint64_t burst,
		 uint32_t mode, uint32_t origin);

/* Add or replace an edge CIDR (a replaced edge keeps its hits). */
int fg_edgemap_edge_put(struct fg_edgemap *em, const struct fg_cidr *c, uint64_t rate,
			uint64_t burst, uint32_t mode, uint32_t origin);
int fg_edgemap_edge_get(struct fg_edgemap *em, const struct fg_cidr *c, struct edge_net *out);
int fg_edgemap_edge_del(struct fg_edgemap *em, const struct fg_cidr *c);

/* The edge CIDR a host address belongs to (longest prefix): 0 or -ENOENT. */
int fg_edgemap_edge_match(struct fg_edgemap *em, const struct fg_cidr *host,
			  struct fg_edge_entry *out);

typedef int (*fg_edge_fn)(const struct fg_edge_entry *e, void *arg);
int fg_edgemap_edge_foreach(struct fg_edgemap *em, fg_edge_fn fn, void *arg);

/* ---- The config entry ---- */

/*
 * What the first attach writes: mode drop, every port protected, only TCP SYNs counted,
 * a source limit of 100 SYN/s with a burst of 200, at most 10000 new sources a second
 * (burst 20000: generous for real clients, while a spoofed flood of 1 Mpps is 99 % dropped),
 * malformed packets dropped, DSCP EDGE_DSCP_DEFAULT for mark, IPv6 sources bucketed per
 * /EDGE_V6_PREFIX_DEFAULT.
 */
#define FG_DEFAULT_SRC_RATE	100
#define FG_DEFAULT_SRC_BURST	200
#define FG_DEFAULT_NEWSRC_RATE	10000
#define FG_DEFAULT_NEWSRC_BURST 20000
void fg_config_default(struct edge_config *c);

/* 0 when every field is in range and the limits are consistent (see tb_limit_set()),
 * else -EINVAL. A limit of all zeros means "no limit". */
int fg_config_check(const struct edge_config *c);

/* Protected-port bitmap accessors (host-order port). */
bool fg_config_port(const struct edge_config *c, unsigned port);
void fg_config_port_set(struct edge_config *c, unsigned port, bool on);

int fg_edgemap_config_read(struct fg_edgemap *em, struct edge_config *out);

/*
 * Read-modify-write under the pin directory's lock: fn edits the current config (and may
 * refuse with -errno, then nothing is written); the result is checked, its generation
 * incremented and its origin set before the write. *out (may be NULL) gets what was
 * written.
 */
typedef int (*fg_config_edit_fn)(struct edge_config *c, void *arg);
int fg_edgemap_config_edit(struct fg_edgemap *em, uint32_t origin, fg_config_edit_fn fn, void *arg,
			   struct edge_config *out);

/* Replace the config whole (the daemon, from its file), with the same generation and
 * origin bookkeeping as fg_edgemap_config_edit(). Both keep edge_config.lists as it is. */
int fg_edgemap_config_write(struct fg_edgemap *em, uint32_t origin, const struct edge_config *c);

/* ---- Counters and the marked list ---- */

/* Every counter summed over the CPUs. */
int fg_edgemap_stats_read(struct fg_edgemap *em, struct edge_stat out[EDGE_STAT_MAX]);

/* One counter as each CPU counted it: out has em->ncpu slots. */
int fg_edgemap_stat_percpu(struct fg_edgemap *em, uint32_t id, struct edge_stat *out);

struct fg_marked_entry {
	struct fg_cidr src; /* a host */
	struct edge_marked marked;
};

typedef int (*fg_marked_fn)(const struct fg_marked_entry *e, void *arg);
int fg_edgemap_marked_foreach(struct fg_edgemap *em, fg_marked_fn fn, void *arg);

/* What the daemon asks on accept: 0 with *out filled when the host was marked, -ENOENT. */
int fg_edgemap_marked_get(struct fg_edgemap *em, const struct fg_cidr *host,
			  struct edge_marked *out);

/* Number of entries in a map (walks the keys). */
int fg_edgemap_count(struct fg_edgemap *em, enum fg_map_id id, size_t *n);

#endif /* FG_EDGEMAP_H */

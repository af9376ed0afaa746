/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edgecfg.h - the config sections of the edge layer: "edge" (the XDP policy the daemon
 * writes into the pinned maps) and "abuse" (scoring and bans). Reference: docs/config.md.
 *
 * Parsed with the rest of the config (config.c calls gw_edgecfg_parse()), strictly, with
 * file:line:col errors; the result hangs off gw_config_t.edge and is as immutable as the
 * config: a reload builds a new one, and only a config that parsed is ever applied to the
 * maps, so a bad reload changes nothing there.
 */
#ifndef GW_EDGECFG_H
#define GW_EDGECFG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "edge.h"
#include "addr.h"
#include "gw/config.h"
#include "gw/jsonpos.h"

#define GW_EDGECFG_ALLOW_MAX 4096 /* allowlist entries in the config */

/* The kinds of abuse scored per client IP. */
enum gw_abuse_kind {
	GW_ABUSE_AUTH = 0,     /* 401: missing, invalid, expired or revoked key */
	GW_ABUSE_RATE_LIMITED, /* 429 of any bucket */
	GW_ABUSE_NOT_FOUND,    /* 404 / 405: a route probe */
	GW_ABUSE_MALFORMED,    /* 400 / 431: malformed request */
	GW_ABUSE_KIND_MAX,
};

typedef struct st_gw_edgecfg_edge_t {
	struct fg_cidr cidr;
	uint64_t rate, burst; /* packets per second per edge IP, bucket size */
	uint32_t mode;	      /* enum edge_mode (INHERIT = the config's) */
} gw_edgecfg_edge_t;

typedef struct st_gw_edgecfg_t {
	/* "edge": present = the daemon manages the XDP maps */
	bool edge_on;
	char pin_dir[PATH_MAX];
	char attach[IF_NAMESIZE]; /* "" = do not attach, open the pins fgctl made */
	int attach_mode;	  /* enum xdp_attach_mode */
	uint64_t max_sources;	  /* LRU source maps' size when made; 0: pinned or default */
	struct edge_config xdp;	  /* what goes into fg_config (generation, lists unused) */
	struct fg_cidr *allow;
	size_t nallow;
	gw_edgecfg_edge_t *edges;
	size_t nedges;

	/* "abuse": present = scoring and bans on */
	bool abuse_on;
	uint64_t window_ms;		     /* sliding window of the score */
	uint64_t threshold;		     /* score at which the client is banned */
	uint64_t weights[GW_ABUSE_KIND_MAX]; /* points per event */
	uint64_t ban_ttl_s, ban_max_ttl_s;
	uint64_t ban_multiplier;       /* TTL x multiplier^(offence-1), capped at max */
	unsigned ipv6_prefix;	       /* IPv6 bans cover this prefix */
	uint64_t edge_tighten_percent; /* an abusive edge's rate becomes this % of it */
	bool suspect_on;
	gw_limit_t suspect;	   /* L7 limit of sources XDP marked */
	uint64_t suspect_window_s; /* a mark older than this no longer counts */
	size_t table_size;	   /* scored addresses tracked */
} gw_edgecfg_t;

/*
 * Parse the "edge" and "abuse" members of the config's root object (either may be
 * absent). Returns a new gw_edgecfg_t (never NULL on success), or NULL with err set to
 * "FILE:LINE:COL: PATH: what".
 */
gw_edgecfg_t *gw_edgecfg_parse(const json_t *root, const gw_jsonpos_t *pos, const char *file,
			       char *err, size_t errlen);
void gw_edgecfg_free(gw_edgecfg_t *e);

/* Settings only a restart changes (pin dir, attach, table size): 0, or -EINVAL naming it. */
int gw_edgecfg_reloadable(const gw_edgecfg_t *old, const gw_edgecfg_t *new, const char **what);

#endif /* GW_EDGECFG_H */

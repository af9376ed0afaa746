/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edge.h - the daemon's side of the XDP edge filter: one open pin directory, the config's
 * policy written into it, and what the request path and /metrics read back from it.
 *
 * At start (config "edge" present) the daemon attaches the program itself when the
 * config says edge.attach: IFACE (xdpattach.h, the code fgctl attach runs), else opens
 * the maps fgctl pinned; then it writes the policy: fg_config (mode, ports, limits,
 * flags), the allowlist and the edges, every entry with origin "config". A reload writes
 * the new config's policy the same way, removing config entries it no longer lists;
 * entries of other origins (bans, fgctl by hand) are left alone. Anything written by hand
 * afterwards is drift: `fgctl status` reports it, and /metrics says so.
 *
 * Map writes from the daemon's threads are serialised by one mutex (the pin directory's
 * flock does not separate threads of one process).
 */
#ifndef GW_EDGE_H
#define GW_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgemap.h"
#include "gw/config.h"

/* Attach and/or open the maps and write cfg's policy. 0 when the config has no "edge"
 * section (nothing to do) or on success; -errno with err set. */
int gw_edge_start(const gw_config_t *cfg, char *err, size_t errlen);

/* Write cfg's policy into the open maps (a reload). 0 when the edge layer is off. */
int gw_edge_apply(const gw_config_t *cfg, char *err, size_t errlen);

/* Close the maps (the program stays attached: packets are filtered while the daemon
 * restarts). */
void gw_edge_stop(void);

/* The open maps with the write lock held, or NULL (edge layer off: lock not taken). */
struct fg_edgemap *gw_edge_lock(void);
void gw_edge_unlock(void);

/* Whether host was marked by XDP within window_s (the suspect test). Lock-free read. */
bool gw_edge_marked(const struct fg_cidr *host, uint64_t window_s);

/* Append the XDP figures as Prometheus text to *buf (malloc'd, length *len). */
int gw_edge_metrics_append(char **buf, size_t *len);

/* Summed XDP counters; -ENODEV when the edge layer is off. */
int gw_edge_stats(struct edge_stat out[EDGE_STAT_MAX]);

#endif /* GW_EDGE_H */

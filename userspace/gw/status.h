/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * status.h - the built-in status page of the admin listener, and the figures behind it.
 *
 *   GET /status        one HTML page, no external assets: its script polls /status.json
 *                      every second and shows per-second rates computed from two samples
 *   GET /status.json   counters of both layers at one instant: requests and rejections by
 *                      reason (L7), XDP packets by verdict, bans (top by XDP hits), keys
 *                      (top by use, approximate: topkeys.h)
 */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include <stddef.h>

/* The page (static text). */
const char *gw_status_page(size_t *len);

/* The figures as JSON, malloc'd; NULL on allocation failure. */
char *gw_status_json(size_t *len);

/* Append the edge layer's figures (XDP counters, bans) to Prometheus text in *buf. */
int gw_status_metrics_append(char **buf, size_t *len);

#endif /* GW_STATUS_H */

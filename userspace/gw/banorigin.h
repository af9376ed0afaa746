/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banorigin.h - which node decided a ban: "HOST@LISTENER", this machine's hostname and
 * the daemon's first listener address as configured ("gw1@198.18.0.2:8080"): two daemons
 * on one host differ by their listener (their port, or their address in another network
 * namespace).
 *
 * The id is carried with the ban everywhere it goes (SQLite row, Redis record and
 * pub/sub message, GET /v1/bans, fgctl bans list), so an operator of a cluster can tell
 * which node banned a source. Records written before the field existed have none ("").
 */
#ifndef GW_BANORIGIN_H
#define GW_BANORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "gw/config.h"

/* Whether s is a usable origin: 1..GW_BAN_ORIGIN_MAX-1 characters of [A-Za-z0-9._:@[]-]
 * (nothing that needs quoting in JSON, SQL or a terminal). */
bool gw_banorigin_valid(const char *s);

/* "HOST@LISTENER" into out (at most GW_BAN_ORIGIN_MAX with its NUL): any character that
 * is not an origin character (in the host also ':', '@', '[', ']') replaced by '-'; the
 * host shortened so the listener address always fits whole; listen_address NULL, or too
 * long to fit beside one character of host: HOST alone. An empty host is "localhost".
 * 0, or -EINVAL (len too small for anything). */
int gw_banorigin_make(const char *host, const char *listen_address, char *out, size_t len);

/* This node's id from gethostname() and cfg's first listener. 0 or -errno. */
int gw_banorigin_local(const gw_config_t *cfg, char *out, size_t len);

#endif /* GW_BANORIGIN_H */

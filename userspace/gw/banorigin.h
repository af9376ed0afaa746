/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banorigin.h - which node decided a ban: "HOST:PORT", this machine's hostname and the
 * port of the daemon's first listener (two daemons on one host differ by their port).
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

/* Whether s is a usable origin: 1..GW_BAN_ORIGIN_MAX-1 characters of [A-Za-z0-9._:-]
 * (nothing that needs quoting in JSON, SQL or a terminal). */
bool gw_banorigin_valid(const char *s);

/* "HOST:PORT" into out: host with any other character replaced by '-' and shortened so
 * the port always fits; port = what follows the last ':' of listen_address
 * ("198.18.0.1:8080", "[2001:2::1]:8080"); listen_address NULL or without a port: HOST
 * alone. An empty host is "localhost". 0, or -EINVAL (len too small for anything). */
int gw_banorigin_make(const char *host, const char *listen_address, char *out, size_t len);

/* This node's id from gethostname() and cfg's first listener. 0 or -errno. */
int gw_banorigin_local(const gw_config_t *cfg, char *out, size_t len);

#endif /* GW_BANORIGIN_H */

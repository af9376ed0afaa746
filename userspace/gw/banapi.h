/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banapi.h - the admin API's /v1/bans, as a pure request -> (status, JSON) function the
 * admin server calls (it owns the HTTP side):
 *
 *   GET    /v1/bans                  {"bans": [{cidr, reason, score, created, expires,
 *                                     ttl_left_s, offences, hits, edge}, ...]} most hits first
 *   POST   /v1/bans                  {"cidr", "ttl_s"?, "reason"?} -> 201 the ban; 409 for an
 *                                     allowlisted source
 *   DELETE /v1/bans?cidr=CIDR        200 {"lifted": CIDR}; 404 when not banned
 */
#ifndef GW_BANAPI_H
#define GW_BANAPI_H

#include <stddef.h>

#include <jansson.h>

/* Returns the HTTP status; *out is the JSON to send (a problem detail string goes into
 * detail for 4xx/5xx, *out NULL then). */
int gw_banapi(const char *method, const char *cidr_param, const char *body, size_t body_len,
	      json_t **out, char *detail, size_t dlen);

/* The JSON object of one ban (also used by the status page). */
struct st_gw_ban_t;
json_t *gw_banapi_json(const struct st_gw_ban_t *b);

#endif /* GW_BANAPI_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * audit.h - the audit log of admin actions.
 *
 * Every change made through the admin API (key created, revoked, blocked, unblocked,
 * moved to another plan; config reloaded, whether or not the reload was accepted; ban added
 * or lifted; cache purged) is
 * appended to the store's audit table before the API answers: when, which admin token
 * (named by a prefix of its SHA-256, never the token), what, on what, and the target's
 * state before and after as JSON. GET /v1/audit and `fgctl audit` list it.
 */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gw/store.h"

/* "token:" and the first 8 hex digits of the token's SHA-256 into out (>= 16 bytes). */
void gw_audit_actor(const uint8_t token_sha256[32], char *out, size_t len);

/*
 * Append an entry to s (the caller holds the store lock). before/after may be NULL and
 * are not consumed. Returns 0, -ENOMEM or the store's error (-EIO, s->errmsg set).
 */
int gw_audit_record(gw_store_t *s, int64_t time, const char *actor, const char *action,
		    const char *target, const json_t *before, const json_t *after);

/* An entry as a JSON object (before/after parsed back; kept as text if they do not parse). */
json_t *gw_audit_entry_json(const gw_audit_entry_t *e);

#endif /* GW_AUDIT_H */

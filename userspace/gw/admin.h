/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * admin.h - the admin API: its own listener, thread and event loop.
 *
 * Plain HTTP is accepted only on a loopback address (the config loader enforces TLS
 * elsewhere). Every /v1 endpoint needs "Authorization: Bearer TOKEN" where sha256(TOKEN)
 * is admin.token_sha256 of the running config; /healthz and /metrics are open.
 *
 *   GET  /healthz                      200 {"status":"ok",...}, 503 while stopping
 *   GET  /metrics                      Prometheus text (metrics.h)
 *   POST /v1/keys                      {"plan", "label"?, "expires"?} -> 201, the key once
 *   GET  /v1/keys[?limit=N&after=ID&plan=P&status=S]   {"keys": [...], "next": ID | null}
 *   GET  /v1/keys/ID                   one key (never the key itself: id, plan, status...)
 *   GET  /v1/keys/ID/usage             rate, tokens left, quota counters (credits.h)
 *   POST /v1/keys/ID/revoke|block|unblock
 *   POST /v1/keys/ID/plan              {"plan": "premium"}; used quotas stay the key's
 *   POST /v1/reload                    what SIGHUP does; 400 with the error if refused
 *   GET  /v1/audit[?since=T&limit=N]   the audit log (audit.h), oldest first
 *
 * Key changes go to the store first and then to the in-memory table, where the next
 * request on any worker sees them; every change is in the audit log before the answer. The admin thread is the only one writing the store
 * while the daemon runs, so the hot path never waits for a disk.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

typedef struct st_gw_admin_t gw_admin_t;

/* An admin server on a bound listening socket (TLS when ssl is not NULL). */
gw_admin_t *gw_admin_new(int fd, SSL_CTX *ssl);
int gw_admin_start(gw_admin_t *a);
/* Stop and join the admin thread; a is freed. NULL is fine. */
void gw_admin_stop(gw_admin_t *a);

/* The latest expiry: 9999-12-31T23:59:59Z, the last time the API can write back as it reads. */
#define GW_ADMIN_TIME_MAX 253402300799LL

/*
 * Parse an expiry: "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDTHH:MM:SSZ" or a decimal
 * Unix time, at most GW_ADMIN_TIME_MAX. A date or time that does not exist (02-30, 24:00,
 * a leap second) is refused. Returns 0 with *out set, or -EINVAL.
 */
int gw_admin_parse_time(const char *s, int64_t *out);

/* "YYYY-MM-DDTHH:MM:SSZ" of a Unix time into buf (21 bytes). Returns buf. */
const char *gw_admin_format_time(int64_t t, char *buf, size_t len);

#endif /* GW_ADMIN_H */

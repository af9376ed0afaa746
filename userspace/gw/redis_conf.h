/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redis_conf.h - where the cluster's Redis is and how long anyone waits for it.
 *
 * Kept apart from redis.h (the event-loop client) so the config loader can hold a
 * gw_redis_conf_t without pulling in h2o or hiredis. The URL form is the usual one:
 *
 *   redis://[[user]:password@]host[:port][/db]     host: name, IPv4 or [IPv6]
 *
 * A user name needs Redis 6 ACLs (AUTH user password); without one, AUTH password.
 */
#ifndef GW_REDIS_CONF_H
#define GW_REDIS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest host name, password, user name and key prefix accepted. */
#define GW_REDIS_HOST_MAX   255
#define GW_REDIS_SECRET_MAX 255
#define GW_REDIS_PREFIX_MAX 64
/* Highest database number (Redis's default is 16 databases; the server decides). */
#define GW_REDIS_DB_MAX	    1000000

/* What the gateway does while Redis cannot decide: serve on local buckets, or refuse. */
enum gw_redis_policy {
	GW_REDIS_FAIL_OPEN = 0,
	GW_REDIS_FAIL_CLOSED,
};

typedef struct st_gw_redis_conf_t {
	char host[GW_REDIS_HOST_MAX + 1];
	uint16_t port;
	uint32_t db;
	char user[GW_REDIS_SECRET_MAX + 1];	/* "" = none */
	char password[GW_REDIS_SECRET_MAX + 1]; /* "" = no AUTH */
	uint64_t timeout_ms;			/* bound on every command, reply included */
	uint64_t connect_timeout_ms;
	enum gw_redis_policy policy;
	char prefix[GW_REDIS_PREFIX_MAX + 1]; /* every key and channel starts with it */
} gw_redis_conf_t;

/*
 * Parse a redis:// URL into c's host, port, db, user and password (other fields are left
 * alone). Returns 0, or -EINVAL with *why set to a static message.
 */
int gw_redis_parse_url(const char *url, gw_redis_conf_t *c, const char **why);

/* Whether s may be a key prefix: 0 to GW_REDIS_PREFIX_MAX of [A-Za-z0-9:._-]. */
bool gw_redis_valid_prefix(const char *s);

/* Reconnection delay after `failures` consecutive failed attempts (0 = first retry):
 * 50 ms doubling up to 2 s. */
uint64_t gw_redis_backoff_ms(unsigned failures);

#endif /* GW_REDIS_CONF_H */

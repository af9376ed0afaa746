/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redis_conf.c - the redis:// URL and the reconnection schedule (see redis_conf.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/port.h"
#include "gw/redis_conf.h"

/* First reconnection delay and the cap of the doubling. */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

/* Percent-decode src[0..len) into dst (cap bytes with the NUL); -1 when invalid. */
static int decode(const char *src, size_t len, char *dst, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			char hex[3];

			if (i + 2 >= len || !isxdigit((unsigned char)src[i + 1]) ||
			    !isxdigit((unsigned char)src[i + 2]))
				return -1;
			hex[0] = src[i + 1];
			hex[1] = src[i + 2];
			hex[2] = '\0';
			c = (int)strtol(hex, NULL, 16);
			i += 2;
		}
		if (!c || o + 1 >= cap)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

int gw_redis_parse_url(const char *url, gw_redis_conf_t *c, const char **why)
{
	const char *p, *at, *end, *host, *hend, *port = NULL;
	char user[GW_REDIS_SECRET_MAX + 1] = "", pass[GW_REDIS_SECRET_MAX + 1] = "";
	unsigned long v;
	uint32_t db = 0;
	uint16_t portnum = 6379;

	if (strncmp(url, "redis://", 8)) {
		*why = "expected a URL redis://[[user]:password@]host[:port][/db]";
		return -EINVAL;
	}
	p = url + 8;
	end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#') {
		*why = "query and fragment are not supported in the Redis URL";
		return -EINVAL;
	}
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (!colon) {
			*why = "credentials must be user:password@ or :password@";
			return -EINVAL;
		}
		if (decode(p, (size_t)(colon - p), user, sizeof(user)) ||
		    decode(colon + 1, (size_t)(at - colon - 1), pass, sizeof(pass))) {
			*why = "bad percent-encoding or credentials too long in the Redis URL";
			return -EINVAL;
		}
		if (!pass[0]) {
			*why = "an empty password in the Redis URL";
			return -EINVAL;
		}
		p = at + 1;
	}
	if (*p == '[') {
		host = p + 1;
		hend = memchr(host, ']', (size_t)(end - host));
		if (!hend) {
			*why = "unterminated [IPv6] host in the Redis URL";
			return -EINVAL;
		}
		if (hend + 1 < end) {
			if (hend[1] != ':') {
				*why = "expected :port after ]";
				return -EINVAL;
			}
			port = hend + 2;
		}
	} else {
		host = p;
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend)
			port = hend + 1;
		else
			hend = end;
	}
	if (hend == host || (size_t)(hend - host) > GW_REDIS_HOST_MAX) {
		*why = "the Redis URL needs a host (at most 255 bytes)";
		return -EINVAL;
	}
	for (const char *h = host; h < hend; h++) {
		if (!isalnum((unsigned char)*h) && !strchr(".-_:", *h)) {
			*why = "the Redis host must be a name, an IPv4 address or [IPv6]";
			return -EINVAL;
		}
	}
	if (port && gw_port_parse(port, (size_t)(end - port), &portnum)) {
		*why = "the Redis port must be 1 to 65535";
		return -EINVAL;
	}
	if (*end == '/' && end[1]) {
		const char *d = end + 1;
		size_t n = strlen(d);

		v = 0;
		if (n > 7) {
			*why = "the Redis database must be a number from 0 to 1000000";
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)d[i])) {
				*why = "the Redis database must be a number from 0 to 1000000";
				return -EINVAL;
			}
			v = v * 10 + (unsigned long)(d[i] - '0');
		}
		if (v > GW_REDIS_DB_MAX) {
			*why = "the Redis database must be a number from 0 to 1000000";
			return -EINVAL;
		}
		db = (uint32_t)v;
	}
	snprintf(c->host, sizeof(c->host), "%.*s", (int)(hend - host), host);
	c->port = portnum;
	c->db = db;
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->password, sizeof(c->password), "%s", pass);
	return 0;
}

bool gw_redis_valid_prefix(const char *s)
{
	size_t n = strlen(s);

	if (n > GW_REDIS_PREFIX_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(":._-", s[i]))
			return false;
	return true;
}

uint64_t gw_redis_backoff_ms(unsigned failures)
{
	uint64_t ms = BACKOFF_MIN_MS;

	for (unsigned i = 0; i < failures && ms < BACKOFF_MAX_MS; i++)
		ms <<= 1;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

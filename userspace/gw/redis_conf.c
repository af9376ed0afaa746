/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redis_conf.c - the redis:// URL and the reconnection schedule (see redis_conf.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
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

/* Whether the n bytes at h are an IPv6 address (the inside of "[...]"). */
static bool ipv6_ok(const char *h, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (!n || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Whether the n bytes at h are a host name (RFC 1123 labels, '_' allowed as resolvers do)
 * or, when they are all digits and dots, an IPv4 address in dotted-quad form. */
static bool hostname_ok(const char *h, size_t n)
{
	char buf[GW_REDIS_HOST_MAX + 1];
	struct in_addr a;
	size_t label = 0;

	if (!n || n > GW_REDIS_HOST_MAX)
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (strspn(buf, "0123456789.") == n)
		return inet_pton(AF_INET, buf, &a) == 1;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || buf[i] == '.') {
			/* a trailing dot (the root) is fine; an empty label elsewhere is not */
			if (!label && !(i == n && i > 0 && buf[i - 1] == '.'))
				return false;
			if (label && (buf[i - 1] == '-' || buf[i - label] == '-'))
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)buf[i]) && buf[i] != '-' && buf[i] != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
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
	if (*p == '[' ? !ipv6_ok(host, (size_t)(hend - host))
		      : !hostname_ok(host, (size_t)(hend - host))) {
		*why = *p == '['
			       ? "the Redis host in [brackets] must be an IPv6 address"
			       : "the Redis host must be a name (labels of A-Z a-z 0-9 - _, "
				 "1 to 63 bytes, no '-' at either end), an IPv4 address or [IPv6]";
		return -EINVAL;
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

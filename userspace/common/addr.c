/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * addr.c - CIDR parsing, formatting and matching (see addr.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

unsigned fg_cidr_maxlen(const struct fg_cidr *c)
{
	return c->family == AF_INET ? 32 : 128;
}

bool fg_cidr_is_host(const struct fg_cidr *c)
{
	return c->prefixlen == fg_cidr_maxlen(c);
}

/* Does the address have any bit set below the prefix? */
static bool has_host_bits(const uint8_t *addr, unsigned bytes, unsigned prefixlen)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned first = i * 8;
		uint8_t keep;

		if (first + 8 <= prefixlen)
			continue;
		keep = first >= prefixlen ? 0 : (uint8_t)(0xff << (8 - (prefixlen - first)));
		if (addr[i] & (uint8_t)~keep)
			return true;
	}
	return false;
}

static void mask_bits(uint8_t *addr, unsigned bytes, unsigned prefixlen)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned first = i * 8;

		if (first + 8 <= prefixlen)
			continue;
		addr[i] &= first >= prefixlen ? 0 : (uint8_t)(0xff << (8 - (prefixlen - first)));
	}
}

void fg_cidr_mask(struct fg_cidr *c)
{
	mask_bits(c->addr, c->family == AF_INET ? 4 : 16, c->prefixlen);
}

/* A decimal prefix length: 1 to 3 digits, nothing else (no sign, no spaces, no hex). */
static int parse_prefixlen(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int fg_cidr_parse(const char *s, struct fg_cidr *out, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *dummy;
	struct fg_cidr c = { 0 };
	char *slash;
	bool has_len;
	unsigned len = 0;

	if (!why)
		why = &dummy;
	if (!s || !*s) {
		*why = "empty address";
		return -EINVAL;
	}
	if (strlen(s) >= sizeof(buf)) {
		*why = "too long to be an address";
		return -EINVAL;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	has_len = slash != NULL;
	if (slash) {
		*slash = '\0';
		if (parse_prefixlen(slash + 1, &len)) {
			*why = "prefix length is not a number";
			return -EINVAL;
		}
	}
	if (inet_pton(AF_INET, buf, c.addr) == 1) {
		c.family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
		c.family = AF_INET6;
	} else {
		*why = strchr(buf, ':') ? "not an IPv6 address" : "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	if (!has_len)
		len = fg_cidr_maxlen(&c);
	if (len > fg_cidr_maxlen(&c)) {
		*why = c.family == AF_INET ? "prefix length is over 32"
					   : "prefix length is over 128";
		return -EINVAL;
	}
	c.prefixlen = len;
	if (has_host_bits(c.addr, c.family == AF_INET ? 4 : 16, len)) {
		*why = "address has bits set beyond the prefix length";
		return -EINVAL;
	}
	/* ::ffff:a.b.c.d/96+n is the IPv4 network a.b.c.d/n: IPv4 packets carry it as such. */
	if (c.family == AF_INET6 && len >= 96 && !memcmp(c.addr, v4mapped_prefix, 12)) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = AF_INET;
		c.prefixlen = len - 96;
	}
	*out = c;
	return 0;
}

int fg_addr_parse(const char *s, struct fg_cidr *out, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	if (s && strchr(s, '/')) {
		*why = "expected an address, not a CIDR";
		return -EINVAL;
	}
	return fg_cidr_parse(s, out, why);
}

const char *fg_cidr_format_full(const struct fg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefixlen);
	return buf;
}

const char *fg_cidr_format(const struct fg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!fg_cidr_is_host(c))
		return fg_cidr_format_full(c, buf, len);
	if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s", a);
	return buf;
}

bool fg_cidr_contains(const struct fg_cidr *net, const struct fg_cidr *addr)
{
	uint8_t a[16];

	if (net->family != addr->family)
		return false;
	memcpy(a, addr->addr, sizeof(a));
	mask_bits(a, net->family == AF_INET ? 4 : 16, net->prefixlen);
	return !memcmp(a, net->addr, net->family == AF_INET ? 4 : 16);
}

int fg_cidr_from_sockaddr(const struct sockaddr *sa, struct fg_cidr *c)
{
	memset(c, 0, sizeof(*c));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		c->family = AF_INET;
		c->prefixlen = 32;
		memcpy(c->addr, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (!memcmp(&in6->sin6_addr, v4mapped_prefix, 12)) {
			c->family = AF_INET;
			c->prefixlen = 32;
			memcpy(c->addr, (const uint8_t *)&in6->sin6_addr + 12, 4);
			return 0;
		}
		c->family = AF_INET6;
		c->prefixlen = 128;
		memcpy(c->addr, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void fg_cidr_to_in6(const struct fg_cidr *c, struct edge_in6 *out)
{
	if (c->family == AF_INET) {
		memcpy(out->addr, v4mapped_prefix, 12);
		memcpy(out->addr + 12, c->addr, 4);
	} else {
		memcpy(out->addr, c->addr, 16);
	}
}

void fg_cidr_from_in6(const struct edge_in6 *in, struct fg_cidr *c)
{
	memset(c, 0, sizeof(*c));
	if (!memcmp(in->addr, v4mapped_prefix, 12)) {
		c->family = AF_INET;
		c->prefixlen = 32;
		memcpy(c->addr, in->addr + 12, 4);
	} else {
		c->family = AF_INET6;
		c->prefixlen = 128;
		memcpy(c->addr, in->addr, 16);
	}
}

void fg_cidr_to_lpm4(const struct fg_cidr *c, struct edge_lpm4 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = c->prefixlen;
	memcpy(k->addr, c->addr, 4);
}

void fg_cidr_to_lpm6(const struct fg_cidr *c, struct edge_lpm6 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = c->prefixlen;
	memcpy(k->addr, c->addr, 16);
}

void fg_cidr_from_lpm4(const struct edge_lpm4 *k, struct fg_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = AF_INET;
	c->prefixlen = k->prefixlen > 32 ? 32 : k->prefixlen;
	memcpy(c->addr, k->addr, 4);
}

void fg_cidr_from_lpm6(const struct edge_lpm6 *k, struct fg_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = AF_INET6;
	c->prefixlen = k->prefixlen > 128 ? 128 : k->prefixlen;
	memcpy(c->addr, k->addr, 16);
}

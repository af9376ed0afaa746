/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * clientip.c - client address resolution (see clientip.h).
 */
#include <errno.h>
#include <string.h>

#include "gw/clientip.h"

bool gw_clientip_is_edge(const gw_config_t *cfg, const struct fg_cidr *addr)
{
	for (size_t i = 0; i < cfg->clients.ntrusted_edges; i++)
		if (cfg->clients.trusted_edges[i].family == addr->family &&
		    fg_cidr_contains(&cfg->clients.trusted_edges[i], addr))
			return true;
	return false;
}

/* One address from a header item: "198.18.0.1", "198.18.0.1:443", "[2001:2::1]:443",
 * "2001:2::1", surrounded by optional spaces. */
static bool parse_item(const char *s, size_t len, struct fg_cidr *out)
{
	char buf[64];
	const char *colon;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!len || len >= sizeof(buf))
		return false;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return false;
		len = (size_t)(close - s - 1);
		s++;
	} else if ((colon = memchr(s, ':', len)) &&
		   !memchr(colon + 1, ':', len - (size_t)(colon - s) - 1)) {
		len = (size_t)(colon - s); /* IPv4 with a port */
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return fg_addr_parse(buf, out, NULL) == 0;
}

int gw_clientip_resolve(const gw_config_t *cfg, const struct sockaddr *peer,
			const char *const *vals, const size_t *lens, size_t n, gw_clientip_t *out)
{
	memset(out, 0, sizeof(*out));
	if (fg_cidr_from_sockaddr(peer, &out->peer))
		return -EAFNOSUPPORT;
	out->client = out->peer;
	out->via_edge = cfg->clients.ntrusted_edges && gw_clientip_is_edge(cfg, &out->peer);
	if (!out->via_edge || cfg->clients.header == GW_CLIENT_IP_NONE || !n)
		return 0;
	if (cfg->clients.header == GW_CLIENT_IP_CF) {
		struct fg_cidr c;

		/* A repeated CF-Connecting-IP is not something an edge sends: ignore it. */
		if (n == 1 && parse_item(vals[0], lens[0], &c))
			out->client = c;
		return 0;
	}
	/* X-Forwarded-For: walk items right to left across all occurrences. */
	for (size_t i = n; i-- > 0;) {
		const char *v = vals[i];
		size_t end = lens[i];

		while (end > 0) {
			size_t start = end;
			struct fg_cidr c;

			while (start > 0 && v[start - 1] != ',')
				start--;
			if (!parse_item(v + start, end - start, &c))
				return 0; /* garbage where an edge should have written: use the peer */
			if (!gw_clientip_is_edge(cfg, &c)) {
				out->client = c;
				return 0;
			}
			end = start ? start - 1 : 0;
		}
	}
	return 0;
}

size_t gw_clientip_format(const struct fg_cidr *a, char *buf)
{
	size_t o = 0;

	if (a->family != AF_INET || a->prefixlen != 32) {
		fg_cidr_format(a, buf, FG_CIDR_STRLEN);
		return strlen(buf);
	}
	for (int i = 0; i < 4; i++) {
		unsigned v = a->addr[i];

		if (i)
			buf[o++] = '.';
		if (v >= 100)
			buf[o++] = (char)('0' + v / 100);
		if (v >= 10)
			buf[o++] = (char)('0' + v / 10 % 10);
		buf[o++] = (char)('0' + v % 10);
	}
	buf[o] = '\0';
	return o;
}

void gw_clientip_bucket_key(const struct fg_cidr *a, unsigned v6prefix, uint8_t key[16])
{
	struct fg_cidr m = *a;
	struct edge_in6 in6;

	if (m.family == AF_INET6 && v6prefix < 128) {
		m.prefixlen = v6prefix;
		fg_cidr_mask(&m);
	}
	fg_cidr_to_in6(&m, &in6);
	memcpy(key, in6.addr, 16);
}

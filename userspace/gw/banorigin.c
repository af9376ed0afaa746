/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banorigin.c - the id of the node that decided a ban (see banorigin.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gw/ban.h"
#include "gw/banorigin.h"

static bool origin_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

bool gw_banorigin_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (n >= GW_BAN_ORIGIN_MAX - 1 || !origin_char(s[n]))
			return false;
	return n > 0;
}

int gw_banorigin_make(const char *host, const char *listen_address, char *out, size_t len)
{
	const char *port = listen_address ? strrchr(listen_address, ':') : NULL;
	size_t plen = 0, hlen, room, i;

	if (len > GW_BAN_ORIGIN_MAX)
		len = GW_BAN_ORIGIN_MAX;
	if (len < 2)
		return -EINVAL;
	if (!host || !*host)
		host = "localhost";
	if (port) {
		port++;
		plen = strspn(port, "0123456789");
		if (!plen || port[plen] || plen > 5)
			plen = 0; /* not a port: the host alone */
	}
	/* The port always fits; the host gives way (at least one character of it). */
	if (plen && len - 1 < plen + 2)
		plen = 0; /* not even one character of host beside it: the host alone */
	room = len - 1 - (plen ? plen + 1 : 0);
	hlen = strlen(host);
	if (hlen > room)
		hlen = room;
	for (i = 0; i < hlen; i++)
		out[i] = origin_char(host[i]) && host[i] != ':' ? host[i] : '-';
	if (plen) {
		out[i++] = ':';
		memcpy(out + i, port, plen);
		i += plen;
	}
	out[i] = '\0';
	return 0;
}

int gw_banorigin_local(const gw_config_t *cfg, char *out, size_t len)
{
	char host[HOST_NAME_MAX + 1];

	if (gethostname(host, sizeof(host)))
		return -errno;
	host[sizeof(host) - 1] = '\0';
	return gw_banorigin_make(host, cfg && cfg->nlisteners ? cfg->listeners[0].address : NULL,
				 out, len);
}

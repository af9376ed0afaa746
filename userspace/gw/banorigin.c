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
	       strchr("._:-@[]", c);
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

/* n characters of s into out, any that is not an origin character (or is one of `also`)
 * as '-'. */
static void copy_clean(char *out, const char *s, size_t n, const char *also)
{
	for (size_t i = 0; i < n; i++)
		out[i] = origin_char(s[i]) && !strchr(also, s[i]) ? s[i] : '-';
}

int gw_banorigin_make(const char *host, const char *listen_address, char *out, size_t len)
{
	size_t alen = listen_address ? strlen(listen_address) : 0, hlen, room;

	if (len > GW_BAN_ORIGIN_MAX)
		len = GW_BAN_ORIGIN_MAX;
	if (len < 2)
		return -EINVAL;
	if (!host || !*host)
		host = "localhost";
	if (alen && len - 1 < alen + 2)
		alen = 0; /* not even one character of host beside it: the host alone */
	/* The address always fits whole; the host gives way. */
	room = len - 1 - (alen ? alen + 1 : 0);
	hlen = strlen(host);
	if (hlen > room)
		hlen = room;
	/* '@' only as the separator, so the host part is never ambiguous */
	copy_clean(out, host, hlen, "@[]:");
	if (alen) {
		out[hlen] = '@';
		copy_clean(out + hlen + 1, listen_address, alen, "@");
		hlen += alen + 1;
	}
	out[hlen] = '\0';
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

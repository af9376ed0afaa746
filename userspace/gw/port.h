/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * port.h - a TCP port written in a config or URL: decimal digits only, 1..65535.
 *
 * Why one parser: getaddrinfo() takes "99999" as 34463 and strtoul() takes "+80" and
 * " 80"; every place that reads a port (listeners, upstream and Redis URLs, webhooks)
 * must refuse the same inputs.
 */
#ifndef GW_PORT_H
#define GW_PORT_H

#include <stddef.h>
#include <stdint.h>

/* The `n` bytes at `s` as a port: 0, or -1 when they are not 1 to 5 digits of 1..65535. */
static inline int gw_port_parse(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (!n || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

#endif /* GW_PORT_H */

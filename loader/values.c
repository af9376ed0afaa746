/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * values.c - fgctl's value syntax: numbers, TTLs, port lists, and the text forms of
 * durations, TTLs and port sets. Pure functions (tests/unit/loader/values.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fgctl.h"
#include "tb.h"

int fgctl_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	*out = v;
	return 0;
}

int fgctl_parse_ttl(const char *s, uint64_t *out, const char **why)
{
	static const struct {
		char suffix;
		uint64_t mult;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char digits[32];
	uint64_t v, mult = 1;
	size_t n = s ? strlen(s) : 0;
	int err;

	if (n && n < sizeof(digits)) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (s[n - 1] == units[i].suffix) {
				mult = units[i].mult;
				n--;
				break;
			}
	}
	if (!n || n >= sizeof(digits)) {
		*why = n ? "over the maximum of 315360000 seconds (10 years)"
			 : "not a number of seconds (N, Ns, Nm, Nh or Nd)";
		return n ? -ERANGE : -EINVAL;
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	err = fgctl_parse_u64(digits, &v);
	if (err == -EINVAL) {
		*why = "not a number of seconds (N, Ns, Nm, Nh or Nd)";
		return err;
	}
	if (err || tb_mul_sat(v, mult) > EDGE_TTL_MAX_S) {
		*why = "over the maximum of 315360000 seconds (10 years)";
		return -ERANGE;
	}
	if (!v) {
		*why = "must be at least 1 second (leave --ttl out for a permanent entry)";
		return -EINVAL;
	}
	*out = v * mult;
	return 0;
}

int fgctl_parse_port(const char *s, size_t n, unsigned *port, char *why, size_t len)
{
	char buf[16];
	uint64_t v;

	if (!n) {
		snprintf(why, len, "empty item in the port list");
		return -EINVAL;
	}
	if (n < sizeof(buf)) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	if (n >= sizeof(buf) || fgctl_parse_u64(buf, &v)) {
		snprintf(why, len, "'%.*s' is not a port number", (int)(n < 20 ? n : 20), s);
		return -EINVAL;
	}
	if (v < 1 || v > 65535) {
		snprintf(why, len, "port %.*s is out of range 1..65535", (int)n, s);
		return -EINVAL;
	}
	*port = (unsigned)v;
	return 0;
}

int fgctl_parse_ports(const char *s, struct fgctl_ports *p, char *why, size_t len)
{
	struct fgctl_ports r = { 0 };
	const char *item = s, *end, *dash;
	unsigned lo, hi;

	if (!s || !*s) {
		snprintf(why, len, "empty port list");
		return -EINVAL;
	}
	if (!strcmp(s, "all")) {
		r.all = true;
		*p = r;
		return 0;
	}
	for (;;) {
		end = strchr(item, ',');
		if (!end)
			end = item + strlen(item);
		dash = memchr(item, '-', (size_t)(end - item));
		if (fgctl_parse_port(item, (size_t)((dash ? dash : end) - item), &lo, why, len))
			return -EINVAL;
		hi = lo;
		if (dash && fgctl_parse_port(dash + 1, (size_t)(end - dash - 1), &hi, why, len))
			return -EINVAL;
		if (hi < lo) {
			snprintf(why, len, "port range %u-%u is reversed", lo, hi);
			return -EINVAL;
		}
		for (unsigned port = lo; port <= hi; port++) {
			if (!((r.bits[port / 64] >> (port % 64)) & 1))
				r.count++;
			r.bits[port / 64] |= 1ULL << (port % 64);
		}
		if (!*end)
			break;
		item = end + 1;
	}
	*p = r;
	return 0;
}

const char *fgctl_format_ports(const __u64 bits[EDGE_PORT_WORDS], bool all, char *buf, size_t len)
{
	size_t used = 0;
	unsigned port = 0;
	int n;

	if (all) {
		snprintf(buf, len, "all");
		return buf;
	}
	buf[0] = '\0';
	while (port < 65536) {
		unsigned lo, hi;

		if (!((bits[port / 64] >> (port % 64)) & 1)) {
			port++;
			continue;
		}
		lo = hi = port;
		while (hi + 1 < 65536 && ((bits[(hi + 1) / 64] >> ((hi + 1) % 64)) & 1))
			hi++;
		if (lo == hi)
			n = snprintf(buf + used, len - used, "%s%u", used ? "," : "", lo);
		else
			n = snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "", lo, hi);
		if (n < 0 || (size_t)n >= len - used) {
			if (len >= 4)
				snprintf(buf + (len - 4 > used ? used : len - 4),
					 len - (len - 4 > used ? used : len - 4), "...");
			return buf;
		}
		used += (size_t)n;
		port = hi + 1;
	}
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

const char *fgctl_format_duration(uint64_t s, char *buf, size_t len)
{
	static const struct {
		char name;
		uint64_t secs;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t big = s / units[i].secs, rest;

		if (!big && units[i].secs > 1)
			continue;
		if (i + 1 == sizeof(units) / sizeof(units[0])) {
			snprintf(buf, len, "%llus", (unsigned long long)s);
			return buf;
		}
		rest = (s % units[i].secs) / units[i + 1].secs;
		if (rest)
			snprintf(buf, len, "%llu%c%llu%c", (unsigned long long)big, units[i].name,
				 (unsigned long long)rest, units[i + 1].name);
		else
			snprintf(buf, len, "%llu%c", (unsigned long long)big, units[i].name);
		return buf;
	}
	snprintf(buf, len, "0s");
	return buf;
}

const char *fgctl_format_ttl(uint64_t expires_ns, uint64_t now, char *buf, size_t len)
{
	if (!expires_ns)
		snprintf(buf, len, "never");
	else if (expires_ns <= now)
		snprintf(buf, len, "expired");
	else
		fgctl_format_duration((expires_ns - now + TB_NS_PER_S - 1) / TB_NS_PER_S, buf, len);
	return buf;
}

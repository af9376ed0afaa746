/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * addr.h - IPv4/IPv6 addresses and CIDRs as floodgate parses, prints and matches them.
 *
 * Pure functions, no allocation: used by fgctl for every CIDR argument, by the daemon for
 * trusted edges and client IPs, and by the tools. Parsing is strict, because a typo in a
 * blocklist entry must not silently block a different range: host bits set under the
 * prefix are an error (with the network the user probably meant), and an IPv4-mapped IPv6
 * form (::ffff:198.18.0.1) is folded to IPv4, the family the packet will carry.
 */
#ifndef FG_ADDR_H
#define FG_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "edge.h"

/* Longest text fg_cidr_format() writes, with its NUL: an IPv6 address and "/128". */
#define FG_CIDR_STRLEN 50

struct fg_cidr {
	int family;	    /* AF_INET or AF_INET6 */
	unsigned prefixlen; /* 0..32 or 0..128 */
	uint8_t addr[16];   /* network order; IPv4 in addr[0..3], the rest zero */
};

/*
 * Parse "ADDR" or "ADDR/LEN" (IPv4 dotted quad or any IPv6 text form). A bare address is
 * a host (/32, /128). Returns 0, or -EINVAL with *why set to a static phrase saying what
 * is wrong (why may be NULL). On error *c is left untouched.
 */
int fg_cidr_parse(const char *s, struct fg_cidr *c, const char **why);

/* Parse a single address: like fg_cidr_parse() but a prefix is an error. */
int fg_addr_parse(const char *s, struct fg_cidr *c, const char **why);

/* "198.18.0.0/15", "2001:2::/48"; hosts without the suffix ("198.18.0.1"). Returns buf. */
const char *fg_cidr_format(const struct fg_cidr *c, char *buf, size_t len);

/* Always with the suffix ("198.18.0.1/32"). Returns buf. */
const char *fg_cidr_format_full(const struct fg_cidr *c, char *buf, size_t len);

/* Highest prefix length of the family: 32 or 128. */
unsigned fg_cidr_maxlen(const struct fg_cidr *c);

/* True when c is a single address (/32 or /128). */
bool fg_cidr_is_host(const struct fg_cidr *c);

/* True when addr (a host of any family) lies inside net. Families must match. */
bool fg_cidr_contains(const struct fg_cidr *net, const struct fg_cidr *addr);

/* Zero the bits of c->addr below the prefix. */
void fg_cidr_mask(struct fg_cidr *c);

/* Build from a socket address (AF_INET, AF_INET6; v4-mapped IPv6 folds to IPv4) as a host.
 * Returns 0 or -EAFNOSUPPORT. */
int fg_cidr_from_sockaddr(const struct sockaddr *sa, struct fg_cidr *c);

/* The 16-byte form one map holds both families in: IPv6 as is, IPv4 as ::ffff:a.b.c.d. */
void fg_cidr_to_in6(const struct fg_cidr *c, struct edge_in6 *out);

/* Inverse of fg_cidr_to_in6() for a host: v4-mapped becomes IPv4 /32, else IPv6 /128. */
void fg_cidr_from_in6(const struct edge_in6 *in, struct fg_cidr *c);

/* LPM keys of the edge maps; the caller picks by c->family. */
void fg_cidr_to_lpm4(const struct fg_cidr *c, struct edge_lpm4 *k);
void fg_cidr_to_lpm6(const struct fg_cidr *c, struct edge_lpm6 *k);
void fg_cidr_from_lpm4(const struct edge_lpm4 *k, struct fg_cidr *c);
void fg_cidr_from_lpm6(const struct edge_lpm6 *k, struct fg_cidr *c);

#endif /* FG_ADDR_H */

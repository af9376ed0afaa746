/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * clientip.h - who the client is: the TCP peer, or what a trusted edge says.
 *
 * A client-IP header (CF-Connecting-IP, X-Forwarded-For) is believed only when the TCP
 * peer lies inside one of the configured trusted-edge CIDRs; from anyone else it is a
 * claim the client made about itself and is ignored. For X-Forwarded-For the client is
 * the rightmost address that is not itself an edge (each edge appends who it talked to).
 * When the header is absent or unusable the peer stands for the client.
 */
#ifndef GW_CLIENTIP_H
#define GW_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"
#include "gw/config.h"

typedef struct st_gw_clientip_t {
	struct fg_cidr peer;   /* the TCP peer */
	struct fg_cidr client; /* who the request is from */
	bool via_edge;	       /* peer is a trusted edge */
} gw_clientip_t;

/* Whether addr (a host) lies in one of the trusted edges. */
bool gw_clientip_is_edge(const gw_config_t *cfg, const struct fg_cidr *addr);

/*
 * Resolve the client of a request from its peer and the values of the configured header
 * (all occurrences, in order; n may be 0). Returns 0, or -EAFNOSUPPORT for a peer that is
 * neither IPv4 nor IPv6 (then out->client is zeroed).
 */
int gw_clientip_resolve(const gw_config_t *cfg, const struct sockaddr *peer,
			const char *const *vals, const size_t *lens, size_t n, gw_clientip_t *out);

/*
 * The text of a host address, exactly as fg_cidr_format() writes it, into buf
 * (FG_CIDR_STRLEN bytes); returns its length. IPv4 is formatted by hand: this runs for
 * every proxied request (X-Forwarded-For), where inet_ntop and snprintf cost more than
 * the rest of the request head.
 */
size_t gw_clientip_format(const struct fg_cidr *a, char *buf);

/* The 16-byte bucket key of an address: IPv4 as v4-mapped, IPv6 masked to `v6prefix`. */
void gw_clientip_bucket_key(const struct fg_cidr *a, unsigned v6prefix, uint8_t key[16]);

#endif /* GW_CLIENTIP_H */

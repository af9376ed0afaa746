/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * route.h - the route whitelist: path normalisation and regex matching.
 *
 * A request reaches a route only through its *normalised* path: percent-decoded once,
 * dot-segments resolved, empty segments collapsed. Matching happens on that form and the
 * same form (re-encoded) is what the upstream receives, so "/v1/../admin", "/v1/%2e%2e/admin"
 * or "//admin" cannot reach a route the whitelist does not name, and the upstream never
 * sees a path that means something else than what was matched. Anything ambiguous is
 * refused instead of guessed: bad percent-encoding, NUL, control characters, an encoded
 * slash (%2F) and ".." above the root.
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/config.h"

/* Why a path was refused (gw_route_normalize's negative returns). */
enum gw_path_error {
	GW_PATH_OK = 0,
	GW_PATH_NOT_ABSOLUTE = -1,  /* does not start with '/' */
	GW_PATH_BAD_ESCAPE = -2,    /* '%' not followed by two hex digits */
	GW_PATH_NUL = -3,	    /* %00 */
	GW_PATH_CONTROL = -4,	    /* raw or decoded control character */
	GW_PATH_ENCODED_SLASH = -5, /* %2F or %5C: would change the segment structure */
	GW_PATH_ESCAPES_ROOT = -6,  /* ".." above "/" */
	GW_PATH_TOO_LONG = -7,	    /* over GW_PATH_MAX */
	GW_PATH_BACKSLASH = -8,	    /* a raw backslash: a separator to some upstreams */
};

/* Longest path accepted (bytes, before decoding). */
#define GW_PATH_MAX 8192

/* A phrase for an enum gw_path_error. */
const char *gw_path_strerror(int err);

/*
 * Normalise the path part (no query) in[0..len) into out, which must hold len + 1 bytes
 * (normalising never lengthens). Returns the normalised length (out is NUL-terminated)
 * or a negative enum gw_path_error.
 */
int gw_route_normalize(const char *in, size_t len, char *out);

/*
 * Whether in[0..len) is already its own normal form, so that gw_route_normalize() would
 * return it unchanged: absolute, not too long, and without '%', control bytes, "//" or a
 * segment starting with '.'. A cheap scan that lets the common path skip normalising;
 * false says nothing (normalise to find out).
 */
bool gw_route_is_normal(const char *in, size_t len);

/*
 * Percent-encode a normalised path for the upstream: bytes outside RFC 3986 pchar and '/'
 * become %XX. out must hold 3 * len + 1 bytes. Returns the encoded length.
 */
size_t gw_route_encode(const char *in, size_t len, char *out);

/* Per-thread matching state (PCRE2 match data, the memo below); one per worker thread. */
typedef struct st_gw_route_scratch_t gw_route_scratch_t;
gw_route_scratch_t *gw_route_scratch_new(void);
void gw_route_scratch_free(gw_route_scratch_t *s);

typedef struct st_gw_route_result_t {
	const gw_route_t *route; /* the first route matching path and method, or NULL */
	uint32_t allowed;	 /* when route is NULL: methods of the routes matching the path
				    (0: no route matches the path -> 404, else 405) */
} gw_route_result_t;

/* Match a normalised path and a method against the config's routes, in order. */
void gw_route_match(const gw_config_t *cfg, gw_route_scratch_t *s, enum gw_method method,
		    const char *path, size_t len, gw_route_result_t *res);

/*
 * The memo: a thread's memory of recent answers of gw_route_match(), direct-mapped, for
 * paths up to 48 bytes. An answer depends on the config, the method and the path only (a
 * regex over its match limit fails the same way each time), so a path asked for again -
 * an endpoint polled, a client's retries, an HTTP/2 connection's streams - needs no regex.
 * The request path puts only paths that are their own normal form (gw_route_is_normal()),
 * so that a hit also says the raw path needs no normalising; *as_is tells whether
 * gw_route_encode() would copy it unchanged too.
 *
 * Answers are kept per config, by address: a thread must forget them (forget()) when it
 * moves to another config, before the old one may be freed and its address reused
 * (worker.c does when it adopts a config).
 */
bool gw_route_memo_get(gw_route_scratch_t *s, const gw_config_t *cfg, enum gw_method method,
		       const char *path, size_t len, gw_route_result_t *res, bool *as_is);
void gw_route_memo_put(gw_route_scratch_t *s, const gw_config_t *cfg, enum gw_method method,
		       const char *path, size_t len, const gw_route_result_t *res);
void gw_route_scratch_forget(gw_route_scratch_t *s);

/* "GET, HEAD, POST" for a method mask; returns the length written (buf NUL-terminated). */
size_t gw_route_allow_header(uint32_t methods, char *buf, size_t len);

#endif /* GW_ROUTE_H */

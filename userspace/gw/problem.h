/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * problem.h - every error the gateway answers, as RFC 9457 problem details.
 *
 * One enum value per reason, each with a stable `type` (the config's errors.type_base
 * followed by the slug below, e.g. "urn:floodgate:problem:rate-limited"), an HTTP status,
 * a title and a detail. Bodies are rendered once per config, so a rejection on the hot
 * path sends a prebuilt buffer. The same enum labels the rejection counters in /metrics
 * and the "reason" field of the access log.
 */
#ifndef GW_PROBLEM_H
#define GW_PROBLEM_H

#include <stddef.h>

enum gw_problem {
	GW_PROBLEM_NONE = 0,
	GW_PROBLEM_BAD_REQUEST,		 /* 400 malformed request (path, percent-encoding, ...) */
	GW_PROBLEM_NOT_FOUND,		 /* 404 no route matches the normalised path */
	GW_PROBLEM_METHOD_NOT_ALLOWED,	 /* 405 a route matches the path, not the method */
	GW_PROBLEM_MISSING_KEY,		 /* 401 no API key in any accepted place */
	GW_PROBLEM_INVALID_KEY,		 /* 401 unknown (or malformed) key */
	GW_PROBLEM_EXPIRED_KEY,		 /* 401 key past its expiry */
	GW_PROBLEM_REVOKED_KEY,		 /* 401 key revoked */
	GW_PROBLEM_BLOCKED_KEY,		 /* 403 key blocked by an operator */
	GW_PROBLEM_ROUTE_NOT_IN_PLAN,	 /* 403 the key's plan does not include this route */
	GW_PROBLEM_PLAN_UNAVAILABLE,	 /* 403 the key's plan is not in the running config */
	GW_PROBLEM_RATE_LIMITED,	 /* 429 the plan's token bucket is empty */
	GW_PROBLEM_QUOTA_EXCEEDED,	 /* 429 a hard quota (requests or credits) is used up */
	GW_PROBLEM_CLIENT_RATE_LIMITED,	 /* 429 the client IP's bucket is empty */
	GW_PROBLEM_EDGE_RATE_LIMITED,	 /* 429 the trusted edge's bucket is empty */
	GW_PROBLEM_PAYLOAD_TOO_LARGE,	 /* 413 request body over limits.max_request_body */
	GW_PROBLEM_HEADERS_TOO_LARGE,	 /* 431 request head over limits.max_header_bytes */
	GW_PROBLEM_UPSTREAM_UNAVAILABLE, /* 502 connection to the upstream refused or failed */
	GW_PROBLEM_UPSTREAM_ERROR,	 /* 502 the upstream broke the exchange */
	GW_PROBLEM_UPSTREAM_TIMEOUT,	 /* 504 connect / first byte / total timeout */
	GW_PROBLEM_UNAVAILABLE,		 /* 503 shutting down */
	GW_PROBLEM_INTERNAL,		 /* 500 */
	GW_PROBLEM_LIMITS_UNAVAILABLE,	 /* 503 cluster mode, fail-closed: Redis cannot decide */
	GW_PROBLEM_MAX,
};

typedef struct st_gw_problem_info_t {
	const char *slug; /* the stable part of `type`, also the metrics label */
	int status;
	const char *title;
	const char *detail;
} gw_problem_info_t;

/* A rendered body. */
typedef struct st_gw_problem_body_t {
	char *body;
	size_t len;
} gw_problem_body_t;

const gw_problem_info_t *gw_problem_info(enum gw_problem p);

/* The problem of an HTTP status h2o produced by itself (400, 413, ...), for rewriting. */
enum gw_problem gw_problem_of_status(int status);

/*
 * Render the body of p with `type` = type_base + slug into a malloc'd string.
 * Returns 0 or -ENOMEM.
 */
int gw_problem_render(const char *type_base, enum gw_problem p, gw_problem_body_t *out);

#define GW_PROBLEM_CONTENT_TYPE "application/problem+json"

#endif /* GW_PROBLEM_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * problem.c - the table of problem types and their JSON bodies (see problem.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/problem.h"

static const gw_problem_info_t infos[GW_PROBLEM_MAX] = {
	[GW_PROBLEM_NONE] = { "none", 200, "OK", "" },
	[GW_PROBLEM_BAD_REQUEST] = { "bad-request", 400, "Bad Request",
				     "The request is malformed: its path or query is not valid." },
	[GW_PROBLEM_NOT_FOUND] = { "not-found", 404, "Not Found",
				   "No API route matches this path." },
	[GW_PROBLEM_METHOD_NOT_ALLOWED] = { "method-not-allowed", 405, "Method Not Allowed",
					    "This route does not accept this method; see the "
					    "Allow header." },
	[GW_PROBLEM_MISSING_KEY] = { "missing-key", 401, "Unauthorized",
				     "This API requires an API key." },
	[GW_PROBLEM_INVALID_KEY] = { "invalid-key", 401, "Unauthorized",
				     "The API key is not valid." },
	[GW_PROBLEM_EXPIRED_KEY] = { "expired-key", 401, "Unauthorized",
				     "The API key has expired." },
	[GW_PROBLEM_REVOKED_KEY] = { "revoked-key", 401, "Unauthorized",
				     "The API key has been revoked." },
	[GW_PROBLEM_BLOCKED_KEY] = { "blocked-key", 403, "Forbidden", "The API key is blocked." },
	[GW_PROBLEM_ROUTE_NOT_IN_PLAN] = { "route-not-in-plan", 403, "Forbidden",
					   "The API key's plan does not include this route." },
	[GW_PROBLEM_PLAN_UNAVAILABLE] = { "plan-unavailable", 403, "Forbidden",
					  "The API key's plan is not available." },
	[GW_PROBLEM_RATE_LIMITED] = { "rate-limited", 429, "Too Many Requests",
				      "The plan's request rate is exceeded; retry after the "
				      "Retry-After delay." },
	[GW_PROBLEM_QUOTA_EXCEEDED] = { "quota-exceeded", 429, "Too Many Requests",
					"The plan's quota for this period is used up; retry after "
					"the Retry-After delay, when the period resets." },
	[GW_PROBLEM_CLIENT_RATE_LIMITED] = { "client-rate-limited", 429, "Too Many Requests",
					     "Too many requests from this client address; retry "
					     "after the Retry-After delay." },
	[GW_PROBLEM_EDGE_RATE_LIMITED] = { "edge-rate-limited", 429, "Too Many Requests",
					   "Too many requests through this edge; retry after the "
					   "Retry-After delay." },
	[GW_PROBLEM_PAYLOAD_TOO_LARGE] = { "payload-too-large", 413, "Payload Too Large",
					   "The request body is larger than this API accepts." },
	[GW_PROBLEM_HEADERS_TOO_LARGE] = { "headers-too-large", 431,
					   "Request Header Fields Too Large",
					   "The request's header fields are larger than this API "
					   "accepts." },
	[GW_PROBLEM_UPSTREAM_UNAVAILABLE] = { "upstream-unavailable", 502, "Bad Gateway",
					      "The upstream service could not be reached." },
	[GW_PROBLEM_UPSTREAM_ERROR] = { "upstream-error", 502, "Bad Gateway",
					"The upstream service sent an invalid or incomplete "
					"response." },
	[GW_PROBLEM_UPSTREAM_TIMEOUT] = { "upstream-timeout", 504, "Gateway Timeout",
					  "The upstream service did not answer in time." },
	[GW_PROBLEM_UNAVAILABLE] = { "unavailable", 503, "Service Unavailable",
				     "The gateway is shutting down; retry shortly." },
	[GW_PROBLEM_INTERNAL] = { "internal", 500, "Internal Server Error",
				  "The gateway failed to process the request." },
	[GW_PROBLEM_LIMITS_UNAVAILABLE] = { "limits-unavailable", 503, "Service Unavailable",
					    "The gateway cannot check this key's limits right "
					    "now; retry shortly." },
};

const gw_problem_info_t *gw_problem_info(enum gw_problem p)
{
	if ((unsigned)p >= GW_PROBLEM_MAX)
		p = GW_PROBLEM_INTERNAL;
	return &infos[p];
}

enum gw_problem gw_problem_of_status(int status)
{
	switch (status) {
	case 404:
		return GW_PROBLEM_NOT_FOUND;
	case 405:
		return GW_PROBLEM_METHOD_NOT_ALLOWED;
	case 413:
		return GW_PROBLEM_PAYLOAD_TOO_LARGE;
	case 431:
		return GW_PROBLEM_HEADERS_TOO_LARGE;
	case 502:
		return GW_PROBLEM_UPSTREAM_ERROR;
	case 503:
		return GW_PROBLEM_UNAVAILABLE;
	case 504:
		return GW_PROBLEM_UPSTREAM_TIMEOUT;
	default:
		return status >= 500 ? GW_PROBLEM_INTERNAL : GW_PROBLEM_BAD_REQUEST;
	}
}

int gw_problem_render(const char *type_base, enum gw_problem p, gw_problem_body_t *out)
{
	const gw_problem_info_t *i = gw_problem_info(p);
	size_t blen = strlen(type_base), slen = strlen(i->slug);
	char *type = malloc(blen + slen + 1);
	json_t *o;
	char *s;

	if (!type)
		return -ENOMEM;
	memcpy(type, type_base, blen);
	memcpy(type + blen, i->slug, slen + 1);
	o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", i->title, "status", i->status,
		      "detail", i->detail);
	free(type);
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	out->body = s;
	out->len = strlen(s);
	return 0;
}

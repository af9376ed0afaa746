/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * upstreams.c - fgctl upstreams: the daemon's upstream groups and what it knows of each
 * server (state, exchanges in progress, attempts, errors, ejections, latency), through
 * its admin API (GET /v1/upstreams).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fgctl.h"

struct upstreams_opts {
	struct fgctl_admin_opts a;
	bool json;
};

static int run_upstreams(struct fgctl_ctx *ctx, const void *opts)
{
	static const char *const heads[] = { "UPSTREAM", "STRATEGY",  "SERVER",	  "STATE",
					     "WEIGHT",	 "ACTIVE",    "REQUESTS", "ERRORS",
					     "EJECTED",	 "LATENCY_MS" };
	const struct upstreams_opts *o = opts;
	struct fgctl_table t;
	json_t *ans = NULL, *u, *sv;
	size_t i, j;
	int status, ret;

	ret = fgctl_admin_request(ctx, &o->a, "GET", "/v1/upstreams", NULL, &status, &ans);
	if (ret)
		return ret;
	if (o->json)
		return fgctl_json_print(ctx->out, ans, false);
	fgctl_table_init(&t, 10, heads, 0x3f0);
	json_array_foreach(json_object_get(ans, "upstreams"), i, u)
	{
		json_array_foreach(json_object_get(u, "servers"), j, sv)
		{
			char w[24], a[24], r[24], e[24], x[24], l[32];

			snprintf(w, sizeof(w), "%lld",
				 (long long)json_integer_value(json_object_get(sv, "weight")));
			snprintf(a, sizeof(a), "%lld",
				 (long long)json_integer_value(json_object_get(sv, "active")));
			snprintf(r, sizeof(r), "%lld",
				 (long long)json_integer_value(json_object_get(sv, "requests")));
			snprintf(e, sizeof(e), "%lld",
				 (long long)json_integer_value(json_object_get(sv, "errors")));
			snprintf(x, sizeof(x), "%lld",
				 (long long)json_integer_value(json_object_get(sv, "ejections")));
			snprintf(l, sizeof(l), "%.3f",
				 json_number_value(json_object_get(sv, "latency_ms")));
			if (fgctl_table_add(
				    &t, j ? "" : json_string_value(json_object_get(u, "name")),
				    j ? "" : json_string_value(json_object_get(u, "strategy")),
				    json_string_value(json_object_get(sv, "url")),
				    json_string_value(json_object_get(sv, "state")), w, a, r, e, x,
				    l)) {
				ret = -ENOMEM;
				break;
			}
		}
	}
	if (!ret)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
	json_decref(ans);
	return ret;
}

static const struct fgctl_arg upstreams_args[] = {
	{ "--admin", "URL", FGCTL_ARG_STRING, 0, offsetof(struct upstreams_opts, a.admin),
	  .help = "the admin API (default $FLOODGATE_ADMIN, else http://127.0.0.1:9090)" },
	{ "--token-file", "FILE", FGCTL_ARG_PATH, 0, offsetof(struct upstreams_opts, a.token_file),
	  .help = "file holding the admin token (default $FLOODGATE_ADMIN_TOKEN)" },
	{ "--cacert", "FILE", FGCTL_ARG_PATH, 0, offsetof(struct upstreams_opts, a.cacert),
	  .help = "CA certificate(s) to verify an https admin API with" },
	{ "--insecure", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct upstreams_opts, a.insecure),
	  .help = "https: do not verify the admin API's certificate" },
	{ "--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct upstreams_opts, json),
	  .help = "print the admin API's JSON" },
	{ NULL },
};

const struct fgctl_cmd fgctl_cmds_upstreams[] = {
	{ "upstreams", "the daemon's upstream servers: state, load, errors, latency",
	  "Asks the running daemon's admin API. STATE is up, down (active checks failing), "
	  "open (breaker open after consecutive failures) or half-open (a probe may pass).",
	  upstreams_args, sizeof(struct upstreams_opts), NULL, NULL, run_upstreams, 0 },
	{ NULL },
};

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.c - fgctl cache: the daemon's response cache, through its admin API.
 *
 *   fgctl cache purge --route NAME      every entry of a route
 *   fgctl cache purge --pattern GLOB    entries whose path and query match (`*`, `?`)
 *   fgctl cache purge --all
 *
 * --route and --pattern combine (entries of that route matching the pattern). Every
 * worker drops the entries before its next lookup.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fgctl.h"

struct cache_opts {
	struct fgctl_admin_opts a;
	bool json, all;
	const char *route, *pattern;
};

static int purge_check(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	const struct cache_opts *o = opts;

	if (o->all && (o->route || o->pattern)) {
		snprintf(err, len, "--all purges everything: without --route or --pattern");
		return -EINVAL;
	}
	if (!o->all && !o->route && !o->pattern) {
		snprintf(err, len, "say what to purge: --route NAME, --pattern GLOB or --all");
		return -EINVAL;
	}
	if (o->pattern && (!o->pattern[0] || strlen(o->pattern) > 255)) {
		snprintf(err, len, "--pattern: 1 to 255 bytes");
		return -EINVAL;
	}
	return 0;
}

static int run_purge(struct fgctl_ctx *ctx, const void *opts)
{
	const struct cache_opts *o = opts;
	json_t *body = json_object(), *ans = NULL;
	int status, ret;

	if (o->all)
		json_object_set_new(body, "all", json_true());
	if (o->route)
		json_object_set_new(body, "route", json_string(o->route));
	if (o->pattern)
		json_object_set_new(body, "pattern", json_string(o->pattern));
	ret = fgctl_admin_request(ctx, &o->a, "POST", "/v1/cache/purge", body, &status, &ans);
	json_decref(body);
	if (ret)
		return ret;
	if (o->json)
		return fgctl_json_print(ctx->out, ans, false);
	fprintf(ctx->out, "purge %lld: route %s, pattern %s\n",
		(long long)json_integer_value(json_object_get(ans, "purge")),
		json_string_value(json_object_get(ans, "route")) ?: "*",
		json_string_value(json_object_get(ans, "pattern")) ?: "*");
	json_decref(ans);
	return 0;
}

#define ADMIN_ARGS(T)                                                                              \
	{ "--admin",                                                                               \
	  "URL",                                                                                   \
	  FGCTL_ARG_STRING,                                                                        \
	  0,                                                                                       \
	  offsetof(T, a.admin),                                                                    \
	  .help = "the admin API (default $FLOODGATE_ADMIN, else http://127.0.0.1:9090)" },        \
		{ "--token-file",                                                                  \
		  "FILE",                                                                          \
		  FGCTL_ARG_PATH,                                                                  \
		  0,                                                                               \
		  offsetof(T, a.token_file),                                                       \
		  .help = "file holding the admin token (default $FLOODGATE_ADMIN_TOKEN)" },       \
		{ "--cacert",                                                                      \
		  "FILE",                                                                          \
		  FGCTL_ARG_PATH,                                                                  \
		  0,                                                                               \
		  offsetof(T, a.cacert),                                                           \
		  .help = "CA certificate(s) to verify an https admin API with" },                 \
		{ "--insecure",                                                                    \
		  NULL,                                                                            \
		  FGCTL_ARG_FLAG,                                                                  \
		  0,                                                                               \
		  offsetof(T, a.insecure),                                                         \
		  .help = "https: do not verify the admin API's certificate" },                    \
	{                                                                                          \
		"--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(T, json),                              \
			.help = "print the admin API's JSON"                                       \
	}

static const struct fgctl_arg purge_args[] = {
	{ "--route", "NAME", FGCTL_ARG_STRING, 0, offsetof(struct cache_opts, route),
	  .help = "entries of this route" },
	{ "--pattern", "GLOB", FGCTL_ARG_STRING, 0, offsetof(struct cache_opts, pattern),
	  .help = "entries whose path and query match (* any run, ? one byte)" },
	{ "--all", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct cache_opts, all),
	  .help = "every entry" },
	ADMIN_ARGS(struct cache_opts),
	{ NULL },
};

const struct fgctl_cmd fgctl_cmds_cache[] = {
	{ "cache purge", "drop response-cache entries (by route, key pattern, or all)",
	  "Asks the running daemon's admin API to purge its response cache. --route and "
	  "--pattern combine; the pattern is matched against the cache key's path and "
	  "sorted query (e.g. '/v1/items*').",
	  purge_args, sizeof(struct cache_opts), NULL, purge_check, run_purge, 0 },
	{ NULL },
};

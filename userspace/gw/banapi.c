/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banapi.c - /v1/bans of the admin API (see banapi.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/admin.h"
#include "gw/ban.h"
#include "gw/banapi.h"
#include "gw/server.h"

json_t *gw_banapi_json(const gw_ban_t *b)
{
	char c[FG_CIDR_STRLEN], cr[32], ex[32];
	int64_t left = b->expires - (int64_t)time(NULL);

	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:i, s:I, s:b, s:I, s:s?}", "cidr",
			 fg_cidr_format_full(&b->cidr, c, sizeof(c)), "reason", b->reason, "score",
			 (json_int_t)b->score, "created",
			 gw_admin_format_time(b->created, cr, sizeof(cr)), "expires",
			 gw_admin_format_time(b->expires, ex, sizeof(ex)), "ttl_left_s",
			 (json_int_t)(left > 0 ? left : 0), "offences", (int)b->offences, "hits",
			 (json_int_t)b->hits, "edge", b->edge, "install_ns",
			 (json_int_t)(b->installed_ns > b->decided_ns && b->decided_ns
					      ? b->installed_ns - b->decided_ns
					      : 0),
			 /* null: a ban stored before origins were recorded */
			 "origin", b->origin[0] ? b->origin : NULL);
}

static int list(json_t **out)
{
	json_t *a = json_array();
	gw_ban_t *v;
	size_t n;

	if (!a || gw_ban_list(&v, &n)) {
		json_decref(a);
		return 500;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, gw_banapi_json(&v[i]));
	free(v);
	*out = json_pack("{s:o}", "bans", a);
	return 200;
}

static int add(const char *body, size_t len, json_t **out, char *detail, size_t dlen)
{
	json_error_t je;
	json_t *o = json_loadb(body ? body : "{}", body ? len : 2, JSON_REJECT_DUPLICATES, &je);
	json_t *v;
	const char *k, *why, *reason = "admin";
	struct fg_cidr c;
	json_int_t ttl = 0;
	gw_config_t *cfg;
	gw_ban_t b;
	int ret, status = 400;

	if (!o || !json_is_object(o)) {
		snprintf(detail, dlen,
			 "the body must be a JSON object {\"cidr\", \"ttl_s\"?, "
			 "\"reason\"?}");
		goto out;
	}
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "cidr") && strcmp(k, "ttl_s") && strcmp(k, "reason")) {
			snprintf(detail, dlen,
				 "unknown field \"%.32s\" (expected cidr, ttl_s, reason)", k);
			goto out;
		}
	}
	v = json_object_get(o, "cidr");
	if (!json_is_string(v) || fg_cidr_parse(json_string_value(v), &c, &why)) {
		snprintf(detail, dlen, "\"cidr\" must be an address or CIDR: %s",
			 json_is_string(v) ? why : "missing");
		goto out;
	}
	v = json_object_get(o, "ttl_s");
	if (v && (!json_is_integer(v) || (ttl = json_integer_value(v)) < 1 ||
		  (uint64_t)ttl > EDGE_TTL_MAX_S)) {
		snprintf(detail, dlen, "\"ttl_s\" must be 1 to %llu seconds",
			 (unsigned long long)EDGE_TTL_MAX_S);
		goto out;
	}
	v = json_object_get(o, "reason");
	if (v) {
		reason = json_string_value(v);
		if (!reason || !*reason || strlen(reason) >= GW_BAN_REASON_MAX ||
		    strpbrk(reason, "\"\\\r\n\t")) {
			snprintf(detail, dlen, "\"reason\" must be 1 to %d plain characters",
				 GW_BAN_REASON_MAX - 1);
			goto out;
		}
	}
	cfg = gw_server_config(NULL);
	ret = gw_ban_decide(cfg, &c, reason, 0, (uint64_t)ttl, &b);
	gw_config_unref(cfg);
	if (ret == -EPERM) {
		snprintf(detail, dlen, "%s is allowlisted: it is never banned",
			 json_string_value(json_object_get(o, "cidr")));
		status = 409;
	} else if (ret) {
		snprintf(detail, dlen, "the ban could not be installed: %s", strerror(-ret));
		status = 500;
	} else {
		*out = gw_banapi_json(&b);
		status = 201;
	}
out:
	json_decref(o);
	return status;
}

int gw_banapi(const char *method, const char *cidr_param, const char *body, size_t body_len,
	      json_t **out, char *detail, size_t dlen)
{
	struct fg_cidr c;
	const char *why;

	*out = NULL;
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		return list(out);
	if (!strcmp(method, "POST"))
		return add(body, body_len, out, detail, dlen);
	if (!strcmp(method, "DELETE")) {
		if (!cidr_param || !*cidr_param || fg_cidr_parse(cidr_param, &c, &why)) {
			snprintf(detail, dlen, "?cidr= must be the banned address or CIDR%s%s",
				 cidr_param && *cidr_param ? ": " : "",
				 cidr_param && *cidr_param ? why : "");
			return 400;
		}
		if (gw_ban_lift(&c, true)) {
			snprintf(detail, dlen, "%s is not banned", cidr_param);
			return 404;
		}
		*out = json_pack("{s:s}", "lifted", cidr_param);
		return 200;
	}
	snprintf(detail, dlen, "this endpoint accepts GET, POST and DELETE");
	return 405;
}

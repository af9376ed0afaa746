/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * audit.c - audit entries to and from the store (see audit.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/admin.h"
#include "gw/audit.h"

void gw_audit_actor(const uint8_t token_sha256[32], char *out, size_t len)
{
	snprintf(out, len, "token:%02x%02x%02x%02x", token_sha256[0], token_sha256[1],
		 token_sha256[2], token_sha256[3]);
}

int gw_audit_record(gw_store_t *s, int64_t time, const char *actor, const char *action,
		    const char *target, const json_t *before, const json_t *after)
{
	gw_audit_entry_t e = { .time = time };
	char *b = NULL, *a = NULL;
	int ret;

	snprintf(e.actor, sizeof(e.actor), "%s", actor);
	snprintf(e.action, sizeof(e.action), "%s", action);
	snprintf(e.target, sizeof(e.target), "%s", target);
	if ((before && !(b = json_dumps(before, JSON_COMPACT | JSON_PRESERVE_ORDER))) ||
	    (after && !(a = json_dumps(after, JSON_COMPACT | JSON_PRESERVE_ORDER)))) {
		free(b);
		return -ENOMEM;
	}
	e.before = b;
	e.after = a;
	ret = gw_store_audit_append(s, &e);
	free(b);
	free(a);
	return ret;
}

static json_t *parse_or_text(const char *s)
{
	json_t *v;

	if (!s)
		return json_null();
	v = json_loads(s, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(s);
}

json_t *gw_audit_entry_json(const gw_audit_entry_t *e)
{
	char when[32];

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "seq", (json_int_t)e->seq, "time",
			 gw_admin_format_time(e->time, when, sizeof(when)), "actor", e->actor,
			 "action", e->action, "target", e->target, "before",
			 parse_or_text(e->before), "after", parse_or_text(e->after));
}

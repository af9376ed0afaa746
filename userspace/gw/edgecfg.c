/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edgecfg.c - the "edge" and "abuse" config sections (see edgecfg.h, docs/config.md).
 *
 * Errors carry the file position of the offending key or value, like the rest of the
 * config (config.c): each helper gets the value's parent and its index there, which is
 * what the position index (jsonpos.h) is keyed by.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xdp/libxdp.h>

#include "edgemap.h"
#include "tb.h"
#include "xdpattach.h"
#include "gw/cfgtext.h"
#include "gw/edgecfg.h"

/* Defaults (docs/config.md lists the same). */
#define DEF_WINDOW_S	     60
#define DEF_THRESHOLD	     20
#define DEF_BAN_TTL_S	     600
#define DEF_BAN_MAX_TTL_S    86400
#define DEF_BAN_MULTIPLIER   2
#define DEF_TIGHTEN_PERCENT  50
#define DEF_SUSPECT_WINDOW_S 60
#define DEF_ABUSE_TABLE	     65536

struct ep {
	const char *file;
	const gw_jsonpos_t *pos;
	char *err;
	size_t errlen;
	bool failed;
};

/* A value: member `index` of `parent`, named `path` in messages. */
struct val {
	const json_t *v, *parent;
	size_t index;
	char path[128];
};

static int fail(struct ep *p, const struct val *n, bool at_key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct ep *p, const struct val *n, bool at_key, const char *fmt, ...)
{
	gw_textpos_t kp, vp, at;
	char msg[512];
	va_list ap;

	if (p->failed)
		return -EINVAL;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gw_jsonpos_find(p->pos, n->parent, n->index, &kp, &vp);
	at = at_key && kp.line ? kp : vp;
	if (at.line)
		snprintf(p->err, p->errlen, "%s:%d:%d: %s: %s", p->file, at.line, at.col, n->path,
			 msg);
	else
		snprintf(p->err, p->errlen, "%s: %s: %s", p->file, n->path, msg);
	return -EINVAL;
}

/* Member key of object o as a val; false when absent. */
static bool member(const struct val *o, const char *key, struct val *out)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	json_object_foreach((json_t *)o->v, k, v)
	{
		if (!strcmp(k, key)) {
			*out = (struct val){ v, o->v, i, "" };
			snprintf(out->path, sizeof(out->path), "%.80s%s%.40s", o->path,
				 o->path[0] ? "." : "", key);
			return true;
		}
		i++;
	}
	return false;
}

static struct val element(const struct val *a, size_t i)
{
	struct val e = { json_array_get(a->v, i), a->v, i, "" };

	snprintf(e.path, sizeof(e.path), "%.80s[%zu]", a->path, i);
	return e;
}

static int check_keys(struct ep *p, const struct val *o, const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	if (!json_is_object(o->v))
		return fail(p, o, false, "expected an object");
	json_object_foreach((json_t *)o->v, k, v)
	{
		size_t j;

		for (j = 0; allowed[j] && strcmp(k, allowed[j]); j++)
			;
		if (!allowed[j]) {
			struct val n = { v, o->v, i, "" };
			char list[512] = "";

			snprintf(n.path, sizeof(n.path), "%.80s%s%.40s", o->path,
				 o->path[0] ? "." : "", k);
			for (j = 0; allowed[j]; j++) {
				strncat(list, j ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, allowed[j], sizeof(list) - strlen(list) - 1);
			}
			return fail(p, &n, true, "unknown key (expected one of: %s)", list);
		}
		i++;
	}
	return 0;
}

static int get_u64(struct ep *p, const struct val *o, const char *key, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	struct val n;

	if (!member(o, key, &n))
		return 0;
	if (!json_is_integer(n.v))
		return fail(p, &n, false, "expected an integer");
	if (json_integer_value(n.v) < 0 || (uint64_t)json_integer_value(n.v) < min ||
	    (uint64_t)json_integer_value(n.v) > max)
		return fail(p, &n, false, "%lld is out of range (%llu to %llu)",
			    (long long)json_integer_value(n.v), (unsigned long long)min,
			    (unsigned long long)max);
	*out = (uint64_t)json_integer_value(n.v);
	return 0;
}

static int get_bool(struct ep *p, const struct val *o, const char *key, bool *out)
{
	struct val n;

	if (!member(o, key, &n))
		return 0;
	if (!json_is_boolean(n.v))
		return fail(p, &n, false, "expected a boolean");
	*out = json_is_true(n.v);
	return 0;
}

/* {"rate": N, "burst": N} packets, or null (no limit), into an edge_limit. */
static int get_xdp_limit(struct ep *p, const struct val *o, const char *key, struct edge_limit *l)
{
	static const char *const keys[] = { "rate", "burst", NULL };
	uint64_t rate = 0, burst = 0;
	struct val n, r;

	if (!member(o, key, &n))
		return 0;
	if (json_is_null(n.v)) {
		memset(l, 0, sizeof(*l));
		return 0;
	}
	if (check_keys(p, &n, keys))
		return -EINVAL;
	if (!member(&n, "rate", &r) || !member(&n, "burst", &r))
		return fail(p, &n, false, "expected {\"rate\": N, \"burst\": N}");
	if (get_u64(p, &n, "rate", 1, EDGE_RATE_MAX, &rate) ||
	    get_u64(p, &n, "burst", 1, EDGE_BURST_MAX, &burst))
		return -EINVAL;
	if (tb_limit_set(l, rate, burst))
		return fail(p, &n, false, "rate %llu with burst %llu is out of range",
			    (unsigned long long)rate, (unsigned long long)burst);
	return 0;
}

static int get_mode(struct ep *p, const struct val *n, uint32_t *mode)
{
	int m = json_is_string(n->v) ? fg_mode_parse(json_string_value(n->v)) : -EINVAL;

	if (m <= 0)
		return fail(p, n, false, "expected \"drop\", \"mark\" or \"monitor\"");
	*mode = (uint32_t)m;
	return 0;
}

static int get_cidr(struct ep *p, const struct val *n, struct fg_cidr *c)
{
	const char *why;

	if (!json_is_string(n->v))
		return fail(p, n, false, "expected a CIDR string");
	if (fg_cidr_parse(json_string_value(n->v), c, &why))
		return fail(p, n, false, "bad CIDR \"%s\": %s", json_string_value(n->v), why);
	return 0;
}

static int parse_ports(struct ep *p, const struct val *n, struct edge_config *x)
{
	memset(x->ports, 0, sizeof(x->ports));
	x->flags &= ~(__u32)EDGE_F_ALL_PORTS;
	if (json_is_string(n->v) && !strcmp(json_string_value(n->v), "all")) {
		x->flags |= EDGE_F_ALL_PORTS;
		return 0;
	}
	if (!json_is_array(n->v) || !json_array_size(n->v))
		return fail(p, n, false, "expected \"all\" or a non-empty array of ports");
	for (size_t i = 0; i < json_array_size(n->v); i++) {
		struct val e = element(n, i);
		json_int_t port = json_integer_value(e.v);

		if (!json_is_integer(e.v) || port < 1 || port > 65535)
			return fail(p, &e, false, "expected a port 1..65535");
		fg_config_port_set(x, (unsigned)port, true);
	}
	return 0;
}

static int parse_edges(struct ep *p, const struct val *n, gw_edgecfg_t *e)
{
	static const char *const keys[] = { "cidr", "rate", "burst", "mode", NULL };

	if (!json_is_array(n->v))
		return fail(p, n, false, "expected an array of {\"cidr\", \"rate\", \"burst\"}");
	if (json_array_size(n->v) > EDGE_EDGES_MAX)
		return fail(p, n, false, "at most %d edges", EDGE_EDGES_MAX);
	e->edges = calloc(json_array_size(n->v) + 1, sizeof(*e->edges));
	if (!e->edges)
		return fail(p, n, false, "out of memory");
	for (size_t i = 0; i < json_array_size(n->v); i++) {
		struct val o = element(n, i), m;
		gw_edgecfg_edge_t *g = &e->edges[i];
		struct edge_net probe;

		if (check_keys(p, &o, keys))
			return -EINVAL;
		if (!member(&o, "cidr", &m) || !member(&o, "rate", &m) || !member(&o, "burst", &m))
			return fail(p, &o, false, "\"cidr\", \"rate\" and \"burst\" are required");
		member(&o, "cidr", &m);
		if (get_cidr(p, &m, &g->cidr) ||
		    get_u64(p, &o, "rate", 1, EDGE_RATE_MAX, &g->rate) ||
		    get_u64(p, &o, "burst", 1, EDGE_BURST_MAX, &g->burst))
			return -EINVAL;
		if (member(&o, "mode", &m) && get_mode(p, &m, &g->mode))
			return -EINVAL;
		if (fg_edge_make(&probe, &g->cidr, g->rate, g->burst, g->mode, EDGE_ORIGIN_CONFIG))
			return fail(p, &o, false, "rate %llu with burst %llu is out of range",
				    (unsigned long long)g->rate, (unsigned long long)g->burst);
		for (size_t k = 0; k < i; k++)
			if (!memcmp(&e->edges[k].cidr, &g->cidr, sizeof(g->cidr))) {
				member(&o, "cidr", &m);
				return fail(p, &o, false, "edge %s is listed twice (edges[%zu])",
					    json_string_value(m.v), k);
			}
		e->nedges++;
	}
	return 0;
}

/* The kernel's rules for a device name (dev_valid_name()), and printable ASCII: the name
 * goes into messages and fgctl's arguments. */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '/' ||
		    s[i] == ':')
			return false;
	return true;
}

static int parse_edge(struct ep *p, const struct val *root, gw_edgecfg_t *e)
{
	static const char *const keys[] = { "pin_dir",	 "attach",    "attach_mode", "mode",
					    "ports",	 "source",    "syn_only",    "new_sources",
					    "lockdown",	 "allowlist", "edges",	     "v6_prefix",
					    "malformed", "dscp",      "max_sources", NULL };
	struct edge_config *x = &e->xdp;
	struct val o, n;
	bool b;
	uint64_t u;

	fg_config_default(x);
	snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", EDGE_PIN_DIR_DEFAULT);
	e->attach_mode = XDP_MODE_NATIVE;
	if (!member(root, "edge", &o) || json_is_null(o.v))
		return 0;
	e->edge_on = true;
	if (check_keys(p, &o, keys))
		return -EINVAL;
	if (member(&o, "pin_dir", &n)) {
		const char *s = json_string_value(n.v);

		if (!s || s[0] != '/' || strlen(s) >= sizeof(e->pin_dir) - 32 ||
		    strlen(s) != json_string_length(n.v) || gw_cfgtext_has_control(s))
			return fail(p, &n, false,
				    "expected an absolute path on bpffs (at most %zu bytes, no "
				    "control characters)",
				    sizeof(e->pin_dir) - 33);
		snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", s);
	}
	if (member(&o, "attach", &n) && !json_is_null(n.v)) {
		const char *s = json_string_value(n.v);

		if (!s || !ifname_ok(s) || strlen(s) != json_string_length(n.v))
			return fail(p, &n, false,
				    "expected an interface name (1 to %d bytes, not \".\" or "
				    "\"..\", no '/', ':', space or control character) or null",
				    IF_NAMESIZE - 1);
		snprintf(e->attach, sizeof(e->attach), "%s", s);
	}
	if (member(&o, "attach_mode", &n)) {
		int m = json_is_string(n.v) ? fg_xdp_mode_parse(json_string_value(n.v)) : -EINVAL;

		if (m < 0)
			return fail(p, &n, false, "expected \"native\" or \"skb\"");
		e->attach_mode = m;
	}
	/* the tracked-source tables' size (fgctl attach --max-sources): when attach makes them */
	if (get_u64(p, &o, "max_sources", 1024, 1u << 26, &e->max_sources))
		return -EINVAL;
	if (member(&o, "mode", &n) && get_mode(p, &n, &x->mode))
		return -EINVAL;
	if (member(&o, "ports", &n) && parse_ports(p, &n, x))
		return -EINVAL;
	if (get_xdp_limit(p, &o, "source", &x->src) ||
	    get_xdp_limit(p, &o, "new_sources", &x->newsrc))
		return -EINVAL;
	b = x->flags & EDGE_F_SYN_ONLY;
	if (get_bool(p, &o, "syn_only", &b))
		return -EINVAL;
	x->flags = b ? x->flags | EDGE_F_SYN_ONLY : x->flags & ~(__u32)EDGE_F_SYN_ONLY;
	b = false;
	if (get_bool(p, &o, "lockdown", &b))
		return -EINVAL;
	x->flags = b ? x->flags | EDGE_F_LOCKDOWN : x->flags & ~(__u32)EDGE_F_LOCKDOWN;
	if (member(&o, "malformed", &n)) {
		const char *s = json_string_value(n.v);

		if (!s || (strcmp(s, "drop") && strcmp(s, "pass")))
			return fail(p, &n, false, "expected \"drop\" or \"pass\"");
		x->flags = !strcmp(s, "drop") ? x->flags | EDGE_F_MALFORMED_DROP
					      : x->flags & ~(__u32)EDGE_F_MALFORMED_DROP;
	}
	u = x->v6_prefix;
	if (get_u64(p, &o, "v6_prefix", 1, 128, &u))
		return -EINVAL;
	x->v6_prefix = (__u8)u;
	u = x->dscp;
	if (get_u64(p, &o, "dscp", 0, EDGE_DSCP_MAX, &u))
		return -EINVAL;
	x->dscp = (__u8)u;
	if (member(&o, "allowlist", &n)) {
		if (!json_is_array(n.v) || json_array_size(n.v) > GW_EDGECFG_ALLOW_MAX)
			return fail(p, &n, false, "expected an array of at most %d CIDRs",
				    GW_EDGECFG_ALLOW_MAX);
		e->allow = calloc(json_array_size(n.v) + 1, sizeof(*e->allow));
		if (!e->allow)
			return fail(p, &n, false, "out of memory");
		for (size_t i = 0; i < json_array_size(n.v); i++) {
			struct val a = element(&n, i);

			if (get_cidr(p, &a, &e->allow[i]))
				return -EINVAL;
			e->nallow++;
		}
	}
	if (member(&o, "edges", &n) && parse_edges(p, &n, e))
		return -EINVAL;
	if (fg_config_check(x))
		return fail(p, &o, false, "the XDP policy is inconsistent");
	return 0;
}

static int parse_abuse(struct ep *p, const struct val *root, gw_edgecfg_t *e)
{
	static const char *const keys[] = {
		"window_s",	 "threshold",	     "weights",	    "ban_ttl_s",
		"ban_max_ttl_s", "ban_multiplier",   "ipv6_prefix", "edge_tighten_percent",
		"suspect",	 "suspect_window_s", "table_size",  NULL
	};
	static const char *const wkeys[] = { "auth_failure", "rate_limited", "not_found",
					     "malformed", NULL };
	uint64_t window = DEF_WINDOW_S, v6 = EDGE_V6_PREFIX_DEFAULT, table = DEF_ABUSE_TABLE;
	struct val o, n;

	e->threshold = DEF_THRESHOLD;
	e->ban_ttl_s = DEF_BAN_TTL_S;
	e->ban_max_ttl_s = DEF_BAN_MAX_TTL_S;
	e->ban_multiplier = DEF_BAN_MULTIPLIER;
	e->edge_tighten_percent = DEF_TIGHTEN_PERCENT;
	e->suspect_window_s = DEF_SUSPECT_WINDOW_S;
	for (int k = 0; k < GW_ABUSE_KIND_MAX; k++)
		e->weights[k] = 1;
	e->weights[GW_ABUSE_MALFORMED] = 2;
	e->window_ms = window * 1000;
	e->ipv6_prefix = (unsigned)v6;
	e->table_size = table;
	if (!member(root, "abuse", &o) || json_is_null(o.v))
		return 0;
	e->abuse_on = true;
	if (check_keys(p, &o, keys) || get_u64(p, &o, "window_s", 1, 86400, &window) ||
	    get_u64(p, &o, "threshold", 1, 1000000, &e->threshold) ||
	    get_u64(p, &o, "ban_ttl_s", 1, EDGE_TTL_MAX_S, &e->ban_ttl_s) ||
	    get_u64(p, &o, "ban_max_ttl_s", 1, EDGE_TTL_MAX_S, &e->ban_max_ttl_s) ||
	    get_u64(p, &o, "ban_multiplier", 1, 1000, &e->ban_multiplier) ||
	    get_u64(p, &o, "ipv6_prefix", 32, 128, &v6) ||
	    get_u64(p, &o, "edge_tighten_percent", 1, 100, &e->edge_tighten_percent) ||
	    get_u64(p, &o, "suspect_window_s", 1, 86400, &e->suspect_window_s) ||
	    get_u64(p, &o, "table_size", 1024, 1u << 24, &table))
		return -EINVAL;
	e->window_ms = window * 1000;
	e->ipv6_prefix = (unsigned)v6;
	e->table_size = (size_t)table;
	if (e->ban_max_ttl_s < e->ban_ttl_s) {
		member(&o, "ban_max_ttl_s", &n);
		return fail(p, member(&o, "ban_max_ttl_s", &n) ? &n : &o, false,
			    "ban_max_ttl_s is below ban_ttl_s");
	}
	if (member(&o, "weights", &n)) {
		if (check_keys(p, &n, wkeys) ||
		    get_u64(p, &n, "auth_failure", 0, 1000000, &e->weights[GW_ABUSE_AUTH]) ||
		    get_u64(p, &n, "rate_limited", 0, 1000000,
			    &e->weights[GW_ABUSE_RATE_LIMITED]) ||
		    get_u64(p, &n, "not_found", 0, 1000000, &e->weights[GW_ABUSE_NOT_FOUND]) ||
		    get_u64(p, &n, "malformed", 0, 1000000, &e->weights[GW_ABUSE_MALFORMED]))
			return -EINVAL;
	}
	if (member(&o, "suspect", &n) && !json_is_null(n.v)) {
		static const char *const lkeys[] = { "rate", "burst", NULL };
		uint64_t burst = 0;
		struct val r;
		const char *why = NULL;
		int ret;

		if (check_keys(p, &n, lkeys))
			return -EINVAL;
		if (!member(&n, "burst", &r) || !member(&n, "rate", &r))
			return fail(p, &n, false, "expected {\"rate\": ..., \"burst\": N}");
		if (get_u64(p, &n, "burst", 1, EDGE_BURST_MAX, &burst))
			return -EINVAL;
		if (json_is_string(r.v))
			ret = gw_limit_parse_rate(json_string_value(r.v), 0, true, burst,
						  &e->suspect, &why);
		else if (json_is_number(r.v))
			ret = gw_limit_parse_rate(NULL, json_number_value(r.v), false, burst,
						  &e->suspect, &why);
		else
			ret = -EINVAL;
		if (ret)
			return fail(p, &r, false, "%s",
				    why ? why : "expected a number or a string like \"5/min\"");
		e->suspect_on = true;
	}
	return 0;
}

gw_edgecfg_t *gw_edgecfg_parse(const json_t *root, const gw_jsonpos_t *pos, const char *file,
			       char *err, size_t errlen)
{
	struct ep p = { .file = file, .pos = pos, .err = err, .errlen = errlen };
	struct val r = { root, NULL, 0, "" };
	gw_edgecfg_t *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "%s: out of memory", file);
		return NULL;
	}
	if (parse_edge(&p, &r, e) || parse_abuse(&p, &r, e)) {
		gw_edgecfg_free(e);
		return NULL;
	}
	return e;
}

void gw_edgecfg_free(gw_edgecfg_t *e)
{
	if (!e)
		return;
	free(e->allow);
	free(e->edges);
	free(e);
}

int gw_edgecfg_reloadable(const gw_edgecfg_t *old, const gw_edgecfg_t *new, const char **what)
{
	*what = NULL;
	if (old->edge_on != new->edge_on)
		*what = "edge (on/off)";
	else if (strcmp(old->pin_dir, new->pin_dir))
		*what = "edge.pin_dir";
	else if (strcmp(old->attach, new->attach) || old->attach_mode != new->attach_mode)
		*what = "edge.attach / edge.attach_mode";
	else if (old->max_sources != new->max_sources)
		*what = "edge.max_sources";
	else if (old->table_size != new->table_size)
		*what = "abuse.table_size";
	return *what ? -EINVAL : 0;
}

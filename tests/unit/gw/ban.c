/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the pure parts of userspace/gw/ban.c and the "edge" / "abuse" config
 * sections (edgecfg.c): the repeat-offence TTL, which problems score, the banned network
 * of a client, the sliding-window score, and strict parsing with positions.
 */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/ban.h"
#include "gw/config.h"
#include "gw/edgecfg.h"

static void ttl_multiplies_and_caps(void **state)
{
	assert_int_equal(gw_ban_ttl(600, 2, 86400, 1), 600);
	assert_int_equal(gw_ban_ttl(600, 2, 86400, 2), 1200);
	assert_int_equal(gw_ban_ttl(600, 2, 86400, 3), 2400);
	assert_int_equal(gw_ban_ttl(600, 2, 86400, 20), 86400);
	assert_int_equal(gw_ban_ttl(3, 2, 60, 2), 6);
	assert_int_equal(gw_ban_ttl(600, 1, 86400, 9), 600);
	assert_int_equal(gw_ban_ttl(100, 1000, 1000, 3), 1000);
	assert_int_equal(gw_ban_ttl(UINT64_MAX / 2, 1000, UINT64_MAX, 3), UINT64_MAX);
}

static void kinds(void **state)
{
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_INVALID_KEY), GW_ABUSE_AUTH);
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_MISSING_KEY), GW_ABUSE_AUTH);
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_RATE_LIMITED), GW_ABUSE_RATE_LIMITED);
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_NOT_FOUND), GW_ABUSE_NOT_FOUND);
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_BAD_REQUEST), GW_ABUSE_MALFORMED);
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_UPSTREAM_TIMEOUT), -1);
	assert_int_equal(gw_ban_kind_of(GW_PROBLEM_NONE), -1);
}

static void nets(void **state)
{
	struct fg_cidr c, n;
	char buf[FG_CIDR_STRLEN];

	assert_int_equal(fg_cidr_parse("2001:2:0:7::55", &c, NULL), 0);
	gw_ban_net_of(&c, 64, &n);
	assert_string_equal(fg_cidr_format_full(&n, buf, sizeof(buf)), "2001:2:0:7::/64");
	gw_ban_net_of(&c, 48, &n);
	assert_string_equal(fg_cidr_format_full(&n, buf, sizeof(buf)), "2001:2::/48");
	assert_int_equal(fg_cidr_parse("198.18.3.4", &c, NULL), 0);
	gw_ban_net_of(&c, 64, &n);
	assert_string_equal(fg_cidr_format_full(&n, buf, sizeof(buf)), "198.18.3.4/32");
}

static void window(void **state)
{
	/* 10 in the previous minute, 2 in this one, 15 s in: 2 + 10 * 45/60 */
	assert_int_equal(gw_ban_window_score(2, 10, 1000, 16000, 60000), 9);
	assert_int_equal(gw_ban_window_score(2, 10, 1000, 1000, 60000), 12);
	assert_int_equal(gw_ban_window_score(5, 0, 1000, 59000, 60000), 5);
	assert_int_equal(gw_ban_window_score(5, 9, 1000, 61000, 60000), 0); /* stale */
}

static gw_edgecfg_t *parse(const char *sections, char *err)
{
	char text[4096];
	gw_config_t *cfg;
	gw_edgecfg_t *e = NULL;

	snprintf(text, sizeof(text),
		 "{\"listen\": [\"127.0.0.1:18999\"],\n\"admin\": {\"token_sha256\": "
		 "\"%064d\"},\n\"store\": {\"path\": \"/tmp/x.db\"},\n\"upstreams\": {\"a\": "
		 "{\"url\": \"http://127.0.0.1:1\"}},\n\"routes\": [{\"name\": \"r\", \"methods\": "
		 "\"*\", \"path\": \"/\", \"upstream\": \"a\"}],\n\"plans\": {}%s}",
		 0, sections);
	cfg = gw_config_parse("t.json", text, strlen(text), err, 1024);
	if (cfg) {
		e = cfg->edge;
		cfg->edge = NULL;
		gw_config_unref(cfg);
	}
	return e;
}

static void config_sections(void **state)
{
	char err[1024];
	gw_edgecfg_t *e = parse("", err);

	assert_non_null(e);
	assert_false(e->edge_on);
	assert_false(e->abuse_on);
	gw_edgecfg_free(e);

	e = parse(",\n\"edge\": {\"attach\": \"lo\", \"attach_mode\": \"skb\", \"ports\": [8443], "
		  "\"source\": {\"rate\": 500, \"burst\": 1000}, \"allowlist\": [\"198.18.0.1\"], "
		  "\"edges\": [{\"cidr\": \"198.19.0.0/24\", \"rate\": 100, \"burst\": 200}]},\n"
		  "\"abuse\": {\"threshold\": 7, \"ban_multiplier\": 3, \"suspect\": {\"rate\": "
		  "\"10/min\", \"burst\": 5}}",
		  err);
	assert_non_null(e);
	assert_true(e->edge_on);
	assert_string_equal(e->attach, "lo");
	assert_true(fg_config_port(&e->xdp, 8443));
	assert_false(fg_config_port(&e->xdp, 443));
	assert_int_equal(e->xdp.src.rate, 500);
	assert_int_equal(e->nallow, 1);
	assert_int_equal(e->nedges, 1);
	assert_int_equal(e->edges[0].rate, 100);
	assert_true(e->abuse_on);
	assert_int_equal(e->threshold, 7);
	assert_int_equal(e->ban_multiplier, 3);
	assert_int_equal(e->ipv6_prefix, 64);
	assert_true(e->suspect_on);
	assert_int_equal(e->suspect.burst, 5);
	gw_edgecfg_free(e);
	e = parse(",\n\"edge\": {\"max_sources\": 65536}", err);
	assert_non_null(e);
	assert_int_equal(e->max_sources, 65536);
	{
		gw_edgecfg_t *d = parse(",\n\"edge\": {}", err);
		const char *what;

		assert_non_null(d);
		assert_int_equal(d->max_sources, 0); /* the pinned maps' size, or the default */
		assert_int_equal(gw_edgecfg_reloadable(d, e, &what), -EINVAL);
		assert_string_equal(what, "edge.max_sources");
		gw_edgecfg_free(d);
	}
	gw_edgecfg_free(e);
	assert_null(parse(",\n\"edge\": {\"max_sources\": 1000}", err));
	assert_non_null(strstr(err, "edge.max_sources: 1000 is out of range (1024 to 67108864)"));

	assert_null(parse(",\n\"edge\": {\"ports\": [0]}", err));
	assert_string_equal(err, "t.json:7:20: edge.ports[0]: expected a port 1..65535");
	assert_null(parse(",\n\"edge\": {\"bogus\": 1}", err));
	assert_non_null(strstr(err, "edge.bogus: unknown key"));
	assert_null(parse(",\n\"edge\": {\"allowlist\": [\"198.18.0.1/8\"]}", err));
	assert_non_null(strstr(err, "edge.allowlist[0]: bad CIDR"));
	assert_null(parse(",\n\"abuse\": {\"ban_ttl_s\": 100, \"ban_max_ttl_s\": 10}", err));
	assert_non_null(strstr(err, "abuse.ban_max_ttl_s: ban_max_ttl_s is below ban_ttl_s"));
	assert_null(parse(",\n\"edge\": {\"mode\": \"inherit\"}", err));
	assert_non_null(strstr(err, "edge.mode: expected"));
	assert_null(parse(",\n\"edge\": {\"source\": {\"rate\": 0, \"burst\": 1}}", err));
	assert_non_null(strstr(err, "edge.source.rate"));
}

/* Bans installed from elsewhere (the cluster entry point) refuse requests at L7 for every
 * host inside them, and stop when lifted; edge bans refuse nothing. */
static void install_check_lift(void **state)
{
	char err[1024];
	gw_config_t *cfg;
	gw_clientip_t ip = { 0 };
	gw_ban_t b = { .created = time(NULL), .expires = time(NULL) + 100, .offences = 1 };
	uint64_t retry = 0;
	gw_ban_t *list;
	size_t n;
	const char *text =
		"{\"listen\": [\"127.0.0.1:18999\"], \"admin\": {\"token_sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"},"
		"\"store\": {\"path\": \"/tmp/x.db\"}, \"upstreams\": {\"a\": {\"url\": "
		"\"http://127.0.0.1:1\"}}, \"routes\": [{\"name\": \"r\", \"methods\": \"*\", "
		"\"path\": \"/\", \"upstream\": \"a\"}], \"plans\": {}, \"abuse\": {}}";

	cfg = gw_config_parse("t.json", text, strlen(text), err, sizeof(err));
	assert_non_null(cfg);
	snprintf(b.reason, sizeof(b.reason), "remote");
	assert_int_equal(fg_cidr_parse("198.18.5.0/24", &b.cidr, NULL), 0);
	assert_int_equal(gw_ban_install(&b), 0);
	assert_int_equal(fg_cidr_parse("2001:2:0:5::/64", &b.cidr, NULL), 0);
	assert_int_equal(gw_ban_install(&b), 0);
	assert_int_equal(fg_cidr_parse("198.19.0.1/32", &b.cidr, NULL), 0);
	b.edge = true;
	assert_int_equal(gw_ban_install(&b), 0);

	assert_int_equal(fg_cidr_parse("198.18.5.77", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_CLIENT_RATE_LIMITED);
	assert_true(retry >= 99 && retry <= 100);
	assert_int_equal(fg_cidr_parse("198.18.6.1", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_NONE);
	assert_int_equal(fg_cidr_parse("2001:2:0:5::abcd", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_CLIENT_RATE_LIMITED);
	assert_int_equal(fg_cidr_parse("2001:2:0:6::1", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_NONE);
	assert_int_equal(fg_cidr_parse("198.19.0.1", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_NONE); /* an edge */

	assert_int_equal(gw_ban_list(&list, &n), 0);
	assert_int_equal(n, 3);
	free(list);
	assert_int_equal(fg_cidr_parse("198.18.5.0/24", &b.cidr, NULL), 0);
	assert_int_equal(gw_ban_lift(&b.cidr, false), 0);
	assert_int_equal(gw_ban_lift(&b.cidr, false), -ENOENT);
	assert_int_equal(fg_cidr_parse("198.18.5.77", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_NONE);
	/* an IPv6 host names the /64 it was banned under (the default prefix: no server) */
	assert_int_equal(fg_cidr_parse("2001:2:0:5::abcd", &b.cidr, NULL), 0);
	assert_int_equal(gw_ban_lift(&b.cidr, false), 0);
	assert_int_equal(fg_cidr_parse("2001:2:0:5::1", &ip.client, NULL), 0);
	assert_int_equal(gw_ban_check(cfg, &ip, 1, 0, &retry), GW_PROBLEM_NONE);
	b.expires = time(NULL) - 1;
	assert_int_equal(gw_ban_install(&b), -ETIME); /* already over */
	gw_config_unref(cfg);
}

/* A record from elsewhere that is over only feeds the repeat rule; a local decision on the
 * same network counts it; an active ban is never overwritten by an old record. */
static void remember_counts_offences(void **state)
{
	char err[1024];
	const char *text =
		"{\"listen\": [\"127.0.0.1:18999\"], \"admin\": {\"token_sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"},"
		"\"store\": {\"path\": \"/tmp/x.db\"}, \"upstreams\": {\"a\": {\"url\": "
		"\"http://127.0.0.1:1\"}}, \"routes\": [{\"name\": \"r\", \"methods\": \"*\", "
		"\"path\": \"/\", \"upstream\": \"a\"}], \"plans\": {}, "
		"\"abuse\": {\"ban_ttl_s\": 10, \"ban_multiplier\": 3, \"ban_max_ttl_s\": 1000}}";
	gw_config_t *cfg = gw_config_parse("t.json", text, strlen(text), err, sizeof(err));
	gw_ban_t old = { .created = time(NULL) - 100, .expires = time(NULL) - 50, .offences = 2 };
	gw_ban_t out, *list;
	size_t n, before;

	assert_non_null(cfg);
	assert_int_equal(gw_ban_list(&list, &n), 0);
	free(list);
	before = n;
	assert_int_equal(fg_cidr_parse("198.18.44.1/32", &old.cidr, NULL), 0);
	assert_int_equal(gw_ban_remember(&old), 0);
	assert_int_equal(gw_ban_list(&list, &n), 0);
	free(list);
	assert_int_equal(n, before); /* remembered, not in force */
	assert_int_equal(gw_ban_decide(cfg, &old.cidr, "test", 1, 0, &out), 0);
	assert_int_equal(out.offences, 3);
	assert_int_equal(out.expires - out.created, 90); /* 10 x 3^2 */
	old.offences = 1;
	assert_int_equal(gw_ban_remember(&old), 0); /* active: untouched */
	assert_int_equal(gw_ban_decide(cfg, &old.cidr, "test", 1, 0, &out), 0);
	assert_int_equal(out.offences, 4);
	assert_int_equal(gw_ban_lift(&old.cidr, false), 0);
	gw_config_unref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ttl_multiplies_and_caps),
		cmocka_unit_test(kinds),
		cmocka_unit_test(nets),
		cmocka_unit_test(window),
		cmocka_unit_test(config_sections),
		cmocka_unit_test(install_check_lift),
		cmocka_unit_test(remember_counts_offences),
	};

	return FG_RUN_TESTS(tests);
}

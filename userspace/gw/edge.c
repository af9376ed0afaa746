/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edge.c - the XDP maps from the daemon's side (see edge.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "log.h"
#include "xdpattach.h"
#include "gw/edge.h"
#include "gw/edgecfg.h"
#include "gw/textbuf.h"

static struct {
	pthread_mutex_t lock;
	struct fg_edgemap em;
	bool open;
	uint32_t written_gen; /* generation of our last policy write (drift when it moves) */
	uint64_t applies, apply_errors;
} E = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct fg_edgemap *gw_edge_lock(void)
{
	if (!__atomic_load_n(&E.open, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&E.lock);
	return &E.em;
}

void gw_edge_unlock(void)
{
	pthread_mutex_unlock(&E.lock);
}

/* ---- policy ---- */

struct stale {
	struct fg_cidr *c;
	size_t n, cap;
	const gw_edgecfg_t *ec;
	int err;
};

static int push_stale(struct stale *s, const struct fg_cidr *c)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct fg_cidr *p = realloc(s->c, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->c = p;
		s->cap = cap;
	}
	s->c[s->n++] = *c;
	return 0;
}

static bool same_cidr(const struct fg_cidr *a, const struct fg_cidr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int stale_allow(const struct fg_rule_entry *e, void *arg)
{
	struct stale *s = arg;

	if (e->rule.origin != EDGE_ORIGIN_CONFIG)
		return 0;
	for (size_t i = 0; i < s->ec->nallow; i++)
		if (same_cidr(&s->ec->allow[i], &e->cidr))
			return 0;
	return push_stale(s, &e->cidr);
}

static int stale_edge(const struct fg_edge_entry *e, void *arg)
{
	struct stale *s = arg;

	if (e->net.origin != EDGE_ORIGIN_CONFIG)
		return 0;
	for (size_t i = 0; i < s->ec->nedges; i++)
		if (same_cidr(&s->ec->edges[i].cidr, &e->cidr))
			return 0;
	return push_stale(s, &e->cidr);
}

/* Write the policy of ec into em (lock held). Everything was validated at parse time. */
static int write_policy(struct fg_edgemap *em, const gw_edgecfg_t *ec, char *err, size_t errlen)
{
	struct stale s = { .ec = ec };
	struct edge_config now;
	const char *what = "the config entry";
	int ret;

	ret = fg_edgemap_config_write(em, EDGE_ORIGIN_CONFIG, &ec->xdp);
	if (ret)
		goto fail;
	what = "the allowlist";
	ret = fg_edgemap_rule_foreach(em, FG_LIST_ALLOW, stale_allow, &s);
	for (size_t i = 0; !ret && i < s.n; i++)
		ret = fg_edgemap_rule_del(em, FG_LIST_ALLOW, &s.c[i]);
	for (size_t i = 0; !ret && i < ec->nallow; i++) {
		struct edge_rule r;

		if (!fg_edgemap_rule_get(em, FG_LIST_ALLOW, &ec->allow[i], &r) &&
		    r.origin == EDGE_ORIGIN_CONFIG && !r.expires_ns)
			continue; /* unchanged: keep its hit count and creation time */
		ret = fg_edgemap_rule_put(em, FG_LIST_ALLOW, &ec->allow[i], 0, EDGE_MODE_INHERIT,
					  EDGE_ORIGIN_CONFIG);
	}
	if (ret)
		goto fail;
	what = "the edges";
	s.n = 0;
	ret = fg_edgemap_edge_foreach(em, stale_edge, &s);
	for (size_t i = 0; !ret && i < s.n; i++)
		ret = fg_edgemap_edge_del(em, &s.c[i]);
	for (size_t i = 0; !ret && i < ec->nedges; i++) {
		const gw_edgecfg_edge_t *g = &ec->edges[i];

		ret = fg_edgemap_edge_put(em, &g->cidr, g->rate, g->burst, g->mode,
					  EDGE_ORIGIN_CONFIG);
	}
	if (ret)
		goto fail;
	free(s.c);
	if (!fg_edgemap_config_read(em, &now))
		E.written_gen = now.generation;
	E.applies++;
	return 0;
fail:
	free(s.c);
	E.apply_errors++;
	snprintf(err, errlen, "Couldn't write %s into the maps in %s: %s", what, em->pin_dir,
		 strerror(-ret));
	return ret;
}

int gw_edge_start(const gw_config_t *cfg, char *err, size_t errlen)
{
	const gw_edgecfg_t *ec = cfg->edge;
	int ret;

	if (!ec->edge_on)
		return 0;
	fg_log_hook_libbpf(); /* libbpf's and libxdp's chatter one level down, like fgctl */
	if (ec->attach[0]) {
		struct fg_xdp_attach_opts o = {
			.pin_dir = ec->pin_dir,
			.iface = ec->attach,
			.mode = ec->attach_mode,
			.max_sources = ec->max_sources,
		};
		struct fg_xdp_attach_result r;

		ret = fg_xdp_attach(&o, &r, err, errlen);
		if (ret)
			return ret;
		pr_info("edge: %s (id %u) %s %s in %s mode, maps in %s", EDGE_PROG_NAME,
			r.after.edge_id, r.before.edge_id ? "replaced on" : "attached to",
			ec->attach, fg_xdp_mode_name(r.after.mode), ec->pin_dir);
	}
	ret = fg_edgemap_open(&E.em, ec->pin_dir);
	if (ret) {
		snprintf(err, errlen,
			 ret == -ENOENT ? "Couldn't open the XDP maps in %s: nothing is attached "
					  "with that pin dir (fgctl attach IFACE, or edge.attach)"
					: "Couldn't open the XDP maps in %s: %s",
			 ec->pin_dir, strerror(-ret));
		return ret;
	}
	pthread_mutex_lock(&E.lock);
	ret = write_policy(&E.em, ec, err, errlen);
	pthread_mutex_unlock(&E.lock);
	if (ret) {
		fg_edgemap_close(&E.em);
		return ret;
	}
	__atomic_store_n(&E.open, true, __ATOMIC_RELEASE);
	pr_info("edge: policy written to %s (generation %u, %zu allowlisted, %zu edges)",
		ec->pin_dir, E.written_gen, ec->nallow, ec->nedges);
	return 0;
}

int gw_edge_apply(const gw_config_t *cfg, char *err, size_t errlen)
{
	struct fg_edgemap *em = gw_edge_lock();
	int ret;

	if (!em)
		return 0;
	ret = write_policy(em, cfg->edge, err, errlen);
	gw_edge_unlock();
	if (!ret)
		pr_info("edge: policy rewritten (generation %u)", E.written_gen);
	return ret;
}

void gw_edge_stop(void)
{
	if (!__atomic_load_n(&E.open, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&E.lock);
	__atomic_store_n(&E.open, false, __ATOMIC_RELEASE);
	fg_edgemap_close(&E.em);
	pthread_mutex_unlock(&E.lock);
}

/* ---- reads ---- */

bool gw_edge_marked(const struct fg_cidr *host, uint64_t window_s)
{
	struct edge_marked m;

	/* A map lookup needs only the fd, which stays valid while open: no lock. */
	if (!__atomic_load_n(&E.open, __ATOMIC_ACQUIRE) || fg_edgemap_marked_get(&E.em, host, &m))
		return false;
	return m.last_ns + window_s * 1000000000ull > fg_mono_ns();
}

int gw_edge_stats(struct edge_stat out[EDGE_STAT_MAX])
{
	if (!__atomic_load_n(&E.open, __ATOMIC_ACQUIRE))
		return -ENODEV;
	return fg_edgemap_stats_read(&E.em, out);
}

int gw_edge_metrics_append(char **buf, size_t *len)
{
	gw_textbuf_t o = { .buf = *buf, .len = *len, .cap = *len };
	struct edge_stat st[EDGE_STAT_MAX];
	struct edge_config c;
	size_t src4 = 0, src6 = 0;
	struct fg_edgemap *em;
	int ret;

	if (!(em = gw_edge_lock()))
		return 0;
	ret = fg_edgemap_stats_read(em, st);
	if (!ret)
		ret = fg_edgemap_config_read(em, &c);
	if (!ret)
		ret = fg_edgemap_count(em, FG_MAP_SRC4, &src4);
	if (!ret)
		ret = fg_edgemap_count(em, FG_MAP_SRC6, &src6);
	gw_edge_unlock();
	if (ret)
		return ret;
	gw_textbuf_put(
		&o,
		"# HELP floodgate_xdp_packets_total Packets the XDP edge filter saw, by verdict "
		"(summed over CPUs).\n# TYPE floodgate_xdp_packets_total counter\n");
	for (int id = 0; id < EDGE_STAT_VERDICT_END; id++)
		gw_textbuf_put(&o, "floodgate_xdp_packets_total{verdict=\"%s\"} %llu\n",
			       fg_stat_name(id), (unsigned long long)st[id].packets);
	gw_textbuf_put(&o,
		       "# HELP floodgate_xdp_violations_total Packets over a limit or listed, by "
		       "outcome and reason.\n# TYPE floodgate_xdp_violations_total counter\n");
	gw_textbuf_put(&o,
		       "floodgate_xdp_violations_total{outcome=\"dropped\"} %llu\n"
		       "floodgate_xdp_violations_total{outcome=\"marked\"} %llu\n"
		       "floodgate_xdp_violations_total{outcome=\"monitored\"} %llu\n",
		       (unsigned long long)st[EDGE_STAT_DROPPED].packets,
		       (unsigned long long)st[EDGE_STAT_MARKED].packets,
		       (unsigned long long)st[EDGE_STAT_MONITORED].packets);
	gw_textbuf_put(
		&o,
		"# HELP floodgate_xdp_block_hits_total Packets that matched the blocklist (bans "
		"included).\n# TYPE floodgate_xdp_block_hits_total counter\n"
		"floodgate_xdp_block_hits_total %llu\n",
		(unsigned long long)st[EDGE_STAT_BLOCK].packets);
	gw_textbuf_put(&o,
		       "# HELP floodgate_xdp_fragments_total Non-first IP fragments.\n"
		       "# TYPE floodgate_xdp_fragments_total "
		       "counter\nfloodgate_xdp_fragments_total %llu\n",
		       (unsigned long long)st[EDGE_STAT_FRAGMENT].packets);
	gw_textbuf_put(
		&o,
		"# HELP floodgate_xdp_tracked_sources Sources with a bucket in the XDP maps.\n"
		"# TYPE floodgate_xdp_tracked_sources gauge\n"
		"floodgate_xdp_tracked_sources{family=\"ipv4\"} %zu\n"
		"floodgate_xdp_tracked_sources{family=\"ipv6\"} %zu\n",
		src4, src6);
	gw_textbuf_put(
		&o,
		"# HELP floodgate_xdp_policy_drift 1 when the XDP config entry was rewritten since "
		"the daemon wrote its policy (fgctl by hand).\n"
		"# TYPE floodgate_xdp_policy_drift gauge\nfloodgate_xdp_policy_drift %d\n",
		c.generation != E.written_gen);
	if (o.failed)
		return -ENOMEM;
	*buf = o.buf;
	*len = o.len;
	return 0;
}

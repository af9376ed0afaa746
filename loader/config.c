/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * config.c - the commands that change the config entry: limit, mode, ports, lockdown,
 * malformed, dscp, v6-prefix. Each is one read-modify-write of fg_config under the pin
 * directory's lock (fg_edgemap_config_edit), which bumps the generation and records
 * the writer as manual.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fgctl.h"
#include "log.h"
#include "tb.h"

struct config_opts {
	int choice; /* mode, lockdown, malformed, limit off */
	uint64_t value;
	uint64_t rate, burst;
	bool syn_only, all_packets;
	struct fgctl_ports ports;
};

static int edit(struct fgctl_ctx *ctx, const char *what, fg_config_edit_fn fn, const void *opts)
{
	int err = fg_edgemap_config_edit(ctx->em, EDGE_ORIGIN_MANUAL, fn, (void *)opts, NULL);

	if (err)
		pr_err("Couldn't set %s: %s", what, strerror(-err));
	return err;
}

/* ---- limit ---- */

static const struct fgctl_choice off_choice[] = { { "off", 1 }, { NULL } };

static const struct fgctl_arg limit_args[] = {
	{ "off", "off", FGCTL_ARG_CHOICE, FGCTL_POSITIONAL, offsetof(struct config_opts, choice),
	  .choices = off_choice, .help = "remove the source limit (sources are not limited)" },
	{ "--rate", "PPS", FGCTL_ARG_U64, 0, offsetof(struct config_opts, rate), 0, EDGE_RATE_MAX,
	  .help = "packets (or SYNs) per second per source" },
	{ "--burst", "N", FGCTL_ARG_U64, 0, offsetof(struct config_opts, burst), 0, EDGE_BURST_MAX,
	  .help = "bucket size: packets a source may send at once" },
	{ "--syn-only", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct config_opts, syn_only),
	  .help = "count only TCP SYNs, i.e. new connections (the default)" },
	{ "--all-packets", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct config_opts, all_packets),
	  .help = "count every packet to a protected port" },
	{ NULL },
};

static int limit_check(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	const struct config_opts *o = opts;
	bool rate = fgctl_given(p, "--rate"), burst = fgctl_given(p, "--burst");

	if (o->syn_only && o->all_packets)
		snprintf(err, len, "--syn-only and --all-packets exclude each other");
	else if (o->choice && (rate || burst))
		snprintf(err, len, "'limit off' takes no --rate or --burst");
	else if (rate != burst)
		snprintf(err, len, "--rate and --burst go together (a limit needs both)");
	else if (rate && !o->rate && !o->burst)
		snprintf(err, len,
			 "Couldn't use rate 0 with burst 0: that is no limit "
			 "(say 'fgctl limit off')");
	else if (rate && !o->rate)
		snprintf(err, len,
			 "Couldn't use --rate 0: a source would never be admitted "
			 "(say 'fgctl limit off' for no limit)");
	else if (burst && !o->burst)
		snprintf(err, len, "Couldn't use --burst 0: a bucket holds at least 1 packet");
	else if (!rate && !o->choice && !o->syn_only && !o->all_packets)
		snprintf(err, len,
			 "'limit' needs --rate and --burst, --syn-only, --all-packets "
			 "or off (see fgctl limit --help)");
	else
		return 0;
	return -EINVAL;
}

static int limit_edit(struct edge_config *c, void *arg)
{
	const struct config_opts *o = arg;

	if (o->choice)
		memset(&c->src, 0, sizeof(c->src));
	else if (o->rate && tb_limit_set(&c->src, o->rate, o->burst))
		return -EINVAL;
	if (o->syn_only)
		c->flags |= EDGE_F_SYN_ONLY;
	if (o->all_packets)
		c->flags &= ~EDGE_F_SYN_ONLY;
	return 0;
}

static int run_limit(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the source limit", limit_edit, opts);
}

/* ---- new-sources ---- */

static const struct fgctl_arg newsrc_args[] = {
	{ "off", "off", FGCTL_ARG_CHOICE, FGCTL_POSITIONAL, offsetof(struct config_opts, choice),
	  .choices = off_choice, .help = "remove the new-source limit" },
	{ "--rate", "PPS", FGCTL_ARG_U64, 0, offsetof(struct config_opts, rate), 0, EDGE_RATE_MAX,
	  .help = "sources per second that may start being tracked, all together" },
	{ "--burst", "N", FGCTL_ARG_U64, 0, offsetof(struct config_opts, burst), 0, EDGE_BURST_MAX,
	  .help = "new sources admitted at once" },
	{ NULL },
};

static int newsrc_check(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	const struct config_opts *o = opts;
	bool rate = fgctl_given(p, "--rate"), burst = fgctl_given(p, "--burst");

	if (o->choice && (rate || burst))
		snprintf(err, len, "'new-sources off' takes no --rate or --burst");
	else if (!o->choice && (!rate || !burst))
		snprintf(err, len, "'new-sources' needs --rate and --burst, or off");
	else if (rate && !o->rate && !o->burst)
		snprintf(err, len,
			 "Couldn't use rate 0 with burst 0: that is no limit "
			 "(say 'fgctl new-sources off')");
	else if (rate && !o->rate)
		snprintf(err, len,
			 "Couldn't use --rate 0: no new source would ever be admitted "
			 "(say 'fgctl new-sources off' for no limit)");
	else if (burst && !o->burst)
		snprintf(err, len, "Couldn't use --burst 0: a bucket holds at least 1 packet");
	else
		return 0;
	return -EINVAL;
}

static int newsrc_edit(struct edge_config *c, void *arg)
{
	const struct config_opts *o = arg;

	if (o->choice) {
		memset(&c->newsrc, 0, sizeof(c->newsrc));
		return 0;
	}
	return tb_limit_set(&c->newsrc, o->rate, o->burst);
}

static int run_newsrc(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the new-source limit", newsrc_edit, opts);
}

/* ---- mode ---- */

static const struct fgctl_choice modes[] = {
	{ "drop", EDGE_MODE_DROP },
	{ "mark", EDGE_MODE_MARK },
	{ "monitor", EDGE_MODE_MONITOR },
	{ NULL },
};

static const struct fgctl_arg mode_args[] = {
	{ "mode", NULL, FGCTL_ARG_CHOICE, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct config_opts, choice), .choices = modes,
	  .help = "drop: XDP_DROP; mark: pass with the DSCP set and remember the source; "
		  "monitor: pass and count" },
	{ NULL },
};

static int mode_edit(struct edge_config *c, void *arg)
{
	c->mode = (__u32)((const struct config_opts *)arg)->choice;
	return 0;
}

static int run_mode(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the mode", mode_edit, opts);
}

/* ---- ports ---- */

static const struct fgctl_arg ports_args[] = {
	{ "ports", "PORT[,PORT...]|all", FGCTL_ARG_PORTS, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct config_opts, ports),
	  .help = "protected TCP/UDP destination ports: a list of ports and ranges "
		  "(80,443,8000-8010), or all" },
	{ NULL },
};

static int ports_edit(struct edge_config *c, void *arg)
{
	const struct fgctl_ports *p = &((const struct config_opts *)arg)->ports;

	if (p->all) {
		c->flags |= EDGE_F_ALL_PORTS;
		memset(c->ports, 0, sizeof(c->ports));
	} else {
		c->flags &= ~EDGE_F_ALL_PORTS;
		memcpy(c->ports, p->bits, sizeof(c->ports));
	}
	return 0;
}

static int run_ports(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the protected ports", ports_edit, opts);
}

/* ---- lockdown ---- */

static const struct fgctl_choice on_off[] = { { "on", 1 }, { "off", 0 }, { NULL } };

static const struct fgctl_arg lockdown_args[] = {
	{ "lockdown", NULL, FGCTL_ARG_CHOICE, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct config_opts, choice), .choices = on_off,
	  .help = "on: protected ports accept only edges and allowlisted sources" },
	{ NULL },
};

static int lockdown_edit(struct edge_config *c, void *arg)
{
	if (((const struct config_opts *)arg)->choice)
		c->flags |= EDGE_F_LOCKDOWN;
	else
		c->flags &= ~EDGE_F_LOCKDOWN;
	return 0;
}

static int run_lockdown(struct fgctl_ctx *ctx, const void *opts)
{
	size_t edges4 = 0, edges6 = 0;
	int err = edit(ctx, "lock-down", lockdown_edit, opts);

	if (err || !((const struct config_opts *)opts)->choice)
		return err;
	if (!fg_edgemap_count(ctx->em, FG_MAP_EDGES4, &edges4) &&
	    !fg_edgemap_count(ctx->em, FG_MAP_EDGES6, &edges6) && !edges4 && !edges6)
		pr_warn("Lock-down is on and there is no edge: only allowlisted sources reach "
			"the protected ports");
	return 0;
}

/* ---- malformed ---- */

static const struct fgctl_choice drop_pass[] = { { "drop", 1 }, { "pass", 0 }, { NULL } };

static const struct fgctl_arg malformed_args[] = {
	{ "verdict", NULL, FGCTL_ARG_CHOICE, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct config_opts, choice), .choices = drop_pass,
	  .help = "what happens to malformed or truncated packets (counted either way)" },
	{ NULL },
};

static int malformed_edit(struct edge_config *c, void *arg)
{
	if (((const struct config_opts *)arg)->choice)
		c->flags |= EDGE_F_MALFORMED_DROP;
	else
		c->flags &= ~EDGE_F_MALFORMED_DROP;
	return 0;
}

static int run_malformed(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the malformed verdict", malformed_edit, opts);
}

/* ---- dscp, v6-prefix ---- */

static const struct fgctl_arg dscp_args[] = {
	{ "DSCP", "N", FGCTL_ARG_U64, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct config_opts, value), 0, EDGE_DSCP_MAX,
	  .help = "DSCP (0..63) that mode mark writes into passed packets" },
	{ NULL },
};

static int dscp_edit(struct edge_config *c, void *arg)
{
	c->dscp = (__u8)((const struct config_opts *)arg)->value;
	return 0;
}

static int run_dscp(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the DSCP", dscp_edit, opts);
}

static const struct fgctl_arg v6_args[] = {
	{ "PREFIX", "N", FGCTL_ARG_U64, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct config_opts, value), 1, 128,
	  .help = "IPv6 sources share one bucket per /N (1..128)" },
	{ NULL },
};

static int v6_edit(struct edge_config *c, void *arg)
{
	c->v6_prefix = (__u8)((const struct config_opts *)arg)->value;
	return 0;
}

static int run_v6(struct fgctl_ctx *ctx, const void *opts)
{
	return edit(ctx, "the IPv6 source prefix", v6_edit, opts);
}

const struct fgctl_cmd fgctl_cmds_config[] = {
	{ "limit", "Set the per-source limit, or what it counts",
	  "Every source IP (IPv6: every /v6-prefix) gets a token bucket of --burst packets "
	  "refilled\nat --rate per second, shared by all CPUs. --syn-only counts only TCP "
	  "SYNs (new\nconnections); --all-packets counts every packet to a protected port. "
	  "First attach:\n100/s, burst 200, SYN only.",
	  limit_args, sizeof(struct config_opts), NULL, limit_check, run_limit, FGCTL_F_MAPS },
	{ "new-sources", "Limit how many new sources per second start being tracked",
	  "One bucket shared by all sources not yet tracked: a spoofed random-source flood "
	  "makes\nevery packet a new source with a full bucket, and only this limit stops it "
	  "(and keeps it\nfrom evicting real clients' buckets). Tracked sources and edges are "
	  "not affected.\nFirst attach: off.",
	  newsrc_args, sizeof(struct config_opts), NULL, newsrc_check, run_newsrc, FGCTL_F_MAPS },
	{ "mode", "Set the verdict for violations: drop, mark or monitor",
	  "Applies to source-limit and lock-down violations, and to blocks and edges that "
	  "have no\nmode of their own.",
	  mode_args, sizeof(struct config_opts), NULL, NULL, run_mode, FGCTL_F_MAPS },
	{ "ports", "Set the protected destination ports (or all)",
	  "Only TCP and UDP packets to protected ports are limited and locked down; the "
	  "allowlist\nand blocklist apply to every packet.",
	  ports_args, sizeof(struct config_opts), NULL, NULL, run_ports, FGCTL_F_MAPS },
	{ "lockdown", "Turn origin lock-down on or off", NULL, lockdown_args,
	  sizeof(struct config_opts), NULL, NULL, run_lockdown, FGCTL_F_MAPS },
	{ "malformed", "Drop or pass malformed packets", NULL, malformed_args,
	  sizeof(struct config_opts), NULL, NULL, run_malformed, FGCTL_F_MAPS },
	{ "dscp", "Set the DSCP that mode mark writes", NULL, dscp_args, sizeof(struct config_opts),
	  NULL, NULL, run_dscp, FGCTL_F_MAPS },
	{ "v6-prefix", "Set the prefix length IPv6 sources are bucketed by", NULL, v6_args,
	  sizeof(struct config_opts), NULL, NULL, run_v6, FGCTL_F_MAPS },
	{ NULL },
};

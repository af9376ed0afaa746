/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * attach.c - fgctl attach and detach: the edge program onto an interface and off it.
 *
 * Attach opens the skeleton, points every map at <pin-dir>/<map name> before load (so
 * libbpf reuses maps that are already pinned: a second interface, or a re-attach after
 * detach --keep-maps, shares the bans and buckets already there) and hands the object
 * to libxdp, which runs it under its dispatcher when the kernel can, or attaches it
 * directly. On a kernel that refuses BPF_PROG_TYPE_EXT programs the dispatcher cannot
 * load and the attach is direct; fgctl status tells which.
 *
 * The first attach (no pinned config) creates the maps in a separate load and writes the
 * default config before the program is attached, so the program never runs on an empty
 * config. A program attached directly by someone else is never replaced: attach refuses.
 * Our own program attached directly is replaced atomically (XDP_FLAGS_REPLACE), so a
 * re-attach upgrades the program without a gap.
 */
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "fgctl.h"
#include "log.h"
#include "pin.h"
#include "xdpattach.h"

struct attach_opts {
	const char *iface;
	int mode;
	uint64_t max_sources;
	bool keep_maps;
};

static const struct attach_opts attach_defaults = { .mode = XDP_MODE_NATIVE };

static const struct fgctl_choice xdp_modes[] = {
	{ "native", XDP_MODE_NATIVE },
	{ "skb", XDP_MODE_SKB },
	{ NULL },
};

static int iface_index(struct fgctl_ctx *ctx, const char *iface)
{
	unsigned idx = if_nametoindex(iface);

	if (!idx)
		return fgctl_bad(ctx, -ENODEV, "Couldn't find interface '%s': %s", iface,
				 strerror(errno));
	return (int)idx;
}

static int run_attach(struct fgctl_ctx *ctx, const void *opts)
{
	const struct attach_opts *o = opts;
	struct fg_xdp_attach_opts xo = {
		.pin_dir = ctx->pin_dir,
		.iface = o->iface,
		.mode = o->mode,
		.max_sources = o->max_sources,
	};
	struct fg_xdp_attach_result r;
	char err[FGCTL_ERR_LEN];
	int ret;

	ret = fg_xdp_attach(&xo, &r, err, sizeof(err));
	if (ret == -ENODEV || ret == -EEXIST || ret == -ENOTSUP || ret == -EPROTO)
		return fgctl_bad(ctx, ret, "%s", err);
	if (ret) {
		pr_err("%s", err);
		return ret;
	}
	if (r.before.edge_id)
		fprintf(ctx->out, "%s (id %u) replaced id %u on %s", EDGE_PROG_NAME,
			r.after.edge_id, r.before.edge_id, o->iface);
	else
		fprintf(ctx->out, "%s (id %u) attached to %s", EDGE_PROG_NAME, r.after.edge_id,
			o->iface);
	fprintf(ctx->out, ": %s mode, %s; maps %s %s\n", fg_xdp_mode_name(r.after.mode),
		r.after.dispatcher ? "under libxdp's dispatcher"
				   : "attached directly (libxdp's dispatcher is not available)",
		r.fresh ? "created in" : "reused from", ctx->pin_dir);
	return 0;
}

/*
 * Whether a program other than `gone` (the one just detached, which runs nowhere now even
 * if a reference to it lingers) still uses the maps. The kernel frees a detached program
 * when its last reference goes; give in-flight references a moment.
 */
static int wait_unused(const char *pin_dir, uint32_t gone, size_t *users)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint32_t ids[16];
	size_t n;
	int err = 0;

	for (int i = 0; i < 10; i++) {
		err = fg_pin_dir_users(pin_dir, ids, 16, &n);
		if (err)
			break;
		*users = n;
		for (size_t k = 0; k < n && k < 16; k++)
			*users -= ids[k] == gone;
		if (!*users)
			break;
		nanosleep(&ts, NULL);
	}
	return err;
}

/* libxdp 1.3.1's xdp_program__from_id() keeps the fd it opens: open it ourselves. */
static struct xdp_program *program_from_id(uint32_t id)
{
	struct xdp_program *p;
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return NULL; /* libxdp_get_error() reads errno */
	p = xdp_program__from_fd(fd);
	close(fd);
	return p;
}

static int run_detach(struct fgctl_ctx *ctx, const void *opts)
{
	const struct attach_opts *o = opts;
	struct fg_xdp_state st;
	struct xdp_program *prog;
	size_t users = 0;
	int ifindex, err;

	ifindex = iface_index(ctx, o->iface);
	if (ifindex < 0)
		return ifindex;
	err = fg_xdp_inspect(ifindex, &st);
	if (err) {
		pr_err("Couldn't query the XDP programs of %s: %s", o->iface, strerror(-err));
		return err;
	}
	if (!st.edge_id)
		return fgctl_bad(ctx, -ENOENT, "Couldn't detach from %s: %s is not attached to it",
				 o->iface, EDGE_PROG_NAME);
	prog = program_from_id(st.edge_id);
	err = (int)libxdp_get_error(prog);
	if (!err) {
		err = xdp_program__detach(prog, ifindex, (enum xdp_attach_mode)st.mode, 0);
		xdp_program__close(prog);
	}
	if (err) {
		pr_err("Couldn't detach %s (id %u) from %s: %s", EDGE_PROG_NAME, st.edge_id,
		       o->iface, strerror(-err));
		return err;
	}
	fprintf(ctx->out, "%s (id %u) detached from %s\n", EDGE_PROG_NAME, st.edge_id, o->iface);
	if (o->keep_maps || !fg_pin_dir_populated(ctx->pin_dir))
		return 0;

	err = wait_unused(ctx->pin_dir, st.edge_id, &users);
	if (err) {
		pr_err("Couldn't tell whether the maps in %s are still used: %s", ctx->pin_dir,
		       strerror(-err));
		return err;
	}
	if (users) {
		fprintf(ctx->out, "maps kept in %s: %zu other program%s still use%s them\n",
			ctx->pin_dir, users, users == 1 ? "" : "s", users == 1 ? "s" : "");
		return 0;
	}
	err = fg_pin_dir_remove(ctx->pin_dir);
	if (err) {
		pr_err("Couldn't remove the pins in %s: %s", ctx->pin_dir, strerror(-err));
		return err;
	}
	fprintf(ctx->out, "maps unpinned from %s\n", ctx->pin_dir);
	return 0;
}

static int run_unpin(struct fgctl_ctx *ctx, const void *opts)
{
	uint32_t ids[8];
	size_t users = 0;
	int err;

	if (!fg_pin_dir_populated(ctx->pin_dir))
		return fgctl_bad(ctx, -ENOENT, "Couldn't unpin: no floodgate maps pinned in %s",
				 ctx->pin_dir);
	err = fg_pin_dir_users(ctx->pin_dir, ids, 8, &users);
	if (err) {
		pr_err("Couldn't tell whether the maps in %s are used: %s", ctx->pin_dir,
		       strerror(-err));
		return err;
	}
	if (users)
		return fgctl_bad(
			ctx, -EBUSY,
			"Couldn't unpin the maps in %s: %zu program%s use%s them (id %u%s); "
			"detach first",
			ctx->pin_dir, users, users == 1 ? "" : "s", users == 1 ? "s" : "", ids[0],
			users > 1 ? ", ..." : "");
	err = fg_pin_dir_remove(ctx->pin_dir);
	if (err) {
		pr_err("Couldn't remove the pins in %s: %s", ctx->pin_dir, strerror(-err));
		return err;
	}
	fprintf(ctx->out, "maps unpinned from %s\n", ctx->pin_dir);
	return 0;
}

static const struct fgctl_arg attach_args[] = {
	{ "IFACE", "IFACE", FGCTL_ARG_IFACE, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct attach_opts, iface), .help = "network interface to protect" },
	{ "--mode", NULL, FGCTL_ARG_CHOICE, 0, offsetof(struct attach_opts, mode),
	  .choices = xdp_modes,
	  .help = "native: in the driver (default); skb: generic XDP, any device, slower" },
	{ "--max-sources", "N", FGCTL_ARG_U64, 0, offsetof(struct attach_opts, max_sources), 1024,
	  1ULL << 26,
	  .help = "sources tracked per family (LRU; default 524288); only when the maps are "
		  "created" },
	{ NULL },
};

static const struct fgctl_arg detach_args[] = {
	{ "IFACE", "IFACE", FGCTL_ARG_IFACE, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct attach_opts, iface), .help = "interface to remove the program from" },
	{ "--keep-maps", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct attach_opts, keep_maps),
	  .help = "keep the pinned maps (rules, buckets, counters) for a later attach" },
	{ NULL },
};

const struct fgctl_cmd fgctl_cmds_attach[] = {
	{ "attach", "Attach the edge filter to an interface, pinning its maps",
	  "The maps are pinned in the pin dir (bpffs is mounted at /sys/fs/bpf when "
	  "missing); an\nattach that finds them pinned reuses them, so interfaces share "
	  "rules, buckets and\ncounters. The first attach writes the default config: mode "
	  "drop, all ports protected,\nSYN only, 100 SYN/s per source with a burst of 200, "
	  "malformed packets dropped, DSCP 8,\nIPv6 sources bucketed per /64. A program "
	  "another tool attached directly is never\nreplaced; attaching again where "
	  "xdp_edge runs replaces it in place.",
	  attach_args, sizeof(struct attach_opts), &attach_defaults, NULL, run_attach,
	  FGCTL_F_PIN_MKDIR },
	{ "detach", "Detach the edge filter from an interface",
	  "When no program uses the maps any more (on any interface, in any network "
	  "namespace),\nthey are unpinned and the pin dir removed, unless --keep-maps.",
	  detach_args, sizeof(struct attach_opts), NULL, NULL, run_detach, FGCTL_F_PIN_DIR },
	{ "unpin", "Remove the pinned maps when no program uses them",
	  "For maps kept with detach --keep-maps, or left by another version of floodgate "
	  "(whose\nlayout this fgctl refuses to reuse). Rules, buckets and counters are lost.",
	  NULL, 0, NULL, NULL, run_unpin, FGCTL_F_PIN_DIR },
	{ NULL },
};

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

#include "edge.skel.h"
#include "fgctl.h"
#include "log.h"
#include "pin.h"

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

const char *fgctl_xdp_mode_name(int mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "none";
	}
}

int fgctl_xdp_inspect(int ifindex, struct fgctl_xdp_state *st)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err;

	memset(st, 0, sizeof(*st));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = (int)libxdp_get_error(mp);
	if (err == -ENOENT || (!err && !mp))
		return 0;
	if (err)
		return err;
	st->mode = xdp_multiprog__attach_mode(mp);
	p = xdp_multiprog__main_prog(mp);
	if (!p) { /* only a hardware program: not ours to judge */
		xdp_multiprog__close(mp);
		return 0;
	}
	if (xdp_multiprog__is_legacy(mp)) {
		st->nprogs = 1;
		if (!strcmp(xdp_program__name(p), EDGE_PROG_NAME)) {
			st->edge_id = xdp_program__id(p);
		} else {
			st->foreign_id = xdp_program__id(p);
			snprintf(st->foreign_name, sizeof(st->foreign_name), "%s",
				 xdp_program__name(p));
		}
	} else {
		st->dispatcher = true;
		for (p = xdp_multiprog__next_prog(NULL, mp); p;
		     p = xdp_multiprog__next_prog(p, mp)) {
			st->nprogs++;
			if (!strcmp(xdp_program__name(p), EDGE_PROG_NAME))
				st->edge_id = xdp_program__id(p);
		}
	}
	xdp_multiprog__close(mp);
	return 0;
}

static int iface_index(struct fgctl_ctx *ctx, const char *iface)
{
	unsigned idx = if_nametoindex(iface);

	if (!idx)
		return fgctl_bad(ctx, -ENODEV, "Couldn't find interface '%s': %s", iface,
				 strerror(errno));
	return (int)idx;
}

/* Point every map at its pin and size it: as pinned when the pin exists (libbpf only
 * reuses a pin whose definition matches), else the LRU source maps to max_sources. */
static int prepare_maps(struct edge_bpf *skel, const char *pin_dir, uint64_t max_sources)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_map(map, skel->obj)
	{
		const char *name = bpf_map__name(map);
		int fd;

		if (fg_map_id_of(name) < 0)
			continue; /* not a pinned map (none today) */
		err = fg_pin_path(path, sizeof(path), pin_dir, name);
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			struct bpf_map_info info = { 0 };
			__u32 len = sizeof(info);

			err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
			close(fd);
			if (!err)
				err = bpf_map__set_max_entries(map, info.max_entries);
		} else if (max_sources &&
			   (map == skel->maps.fg_src4 || map == skel->maps.fg_src6)) {
			err = bpf_map__set_max_entries(map, (__u32)max_sources);
		}
		if (err)
			return err;
	}
	return 0;
}

/* First attach: create and pin every map, and write the default config. */
static int create_maps(const char *pin_dir, uint64_t max_sources)
{
	struct edge_config cfg;
	struct edge_bpf *skel;
	__u32 zero = 0;
	int err;

	skel = edge_bpf__open();
	if (!skel)
		return -errno;
	err = prepare_maps(skel, pin_dir, max_sources);
	if (!err)
		err = edge_bpf__load(skel);
	if (!err) {
		fg_config_default(&cfg);
		cfg.generation = 1;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.fg_config), &zero, &cfg, BPF_ANY))
			err = -errno;
	}
	edge_bpf__destroy(skel);
	return err;
}

static __u32 xdp_flags(int mode)
{
	return mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* Load the program on the pinned maps and attach it (replacing old_id atomically when
 * it is ours and attached directly). */
static int load_and_attach(struct fgctl_ctx *ctx, const struct attach_opts *o, int ifindex,
			   __u32 old_id)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, 0);
	struct xdp_program *prog = NULL;
	struct edge_bpf *skel;
	int err, old_fd;

	skel = edge_bpf__open();
	if (!skel) {
		err = -errno;
		pr_err("Couldn't open the edge program: %s", strerror(-err));
		return err;
	}
	err = prepare_maps(skel, ctx->pin_dir, o->max_sources);
	if (err) {
		pr_err("Couldn't set the pin paths under %s: %s", ctx->pin_dir, strerror(-err));
		goto out;
	}
	if (old_id) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);

		err = edge_bpf__load(skel);
		if (err) {
			pr_err("Couldn't load the edge program: %s", strerror(-err));
			goto out;
		}
		old_fd = bpf_prog_get_fd_by_id(old_id);
		if (old_fd < 0) {
			err = -errno;
			pr_err("Couldn't open the attached program (id %u): %s", old_id,
			       strerror(-err));
			goto out;
		}
		aopts.old_prog_fd = old_fd;
		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xdp_edge),
				     xdp_flags(o->mode) | XDP_FLAGS_REPLACE, &aopts);
		close(old_fd);
		if (err)
			pr_err("Couldn't replace the program on %s: %s", o->iface, strerror(-err));
		goto out;
	}
	xopts.obj = skel->obj;
	xopts.prog_name = EDGE_PROG_NAME;
	prog = xdp_program__create(&xopts);
	err = (int)libxdp_get_error(prog);
	if (err) {
		prog = NULL;
		pr_err("Couldn't create the XDP program: %s", strerror(-err));
		goto out;
	}
	err = xdp_program__attach(prog, ifindex, (enum xdp_attach_mode)o->mode, 0);
	if (err) {
		char msg[128];

		libxdp_strerror(err, msg, sizeof(msg));
		if (err == -EOPNOTSUPP && o->mode == XDP_MODE_NATIVE)
			pr_err("Couldn't attach to %s in native mode: the driver has no native XDP "
			       "(try --mode skb)",
			       o->iface);
		else
			pr_err("Couldn't attach to %s: %s", o->iface, msg);
	}
out:
	xdp_program__close(prog);
	edge_bpf__destroy(skel);
	return err;
}

static int run_attach(struct fgctl_ctx *ctx, const void *opts)
{
	const struct attach_opts *o = opts;
	struct fgctl_xdp_state st, now;
	struct fg_edgemap em;
	bool fresh;
	int ifindex, err;

	ifindex = iface_index(ctx, o->iface);
	if (ifindex < 0)
		return ifindex;
	err = fgctl_xdp_inspect(ifindex, &st);
	if (err) {
		pr_err("Couldn't query the XDP programs of %s: %s", o->iface, strerror(-err));
		return err;
	}
	if (st.foreign_id)
		return fgctl_bad(
			ctx, -EEXIST,
			"Couldn't attach to %s: XDP program '%s' (id %u) is attached to it "
			"directly, not through libxdp's dispatcher; fgctl does not replace "
			"it (remove it first)",
			o->iface, st.foreign_name, st.foreign_id);
	if (st.edge_id && st.dispatcher)
		return fgctl_bad(ctx, -EEXIST,
				 "Couldn't attach to %s: %s (id %u) already runs there under "
				 "libxdp's dispatcher (fgctl detach %s first)",
				 o->iface, EDGE_PROG_NAME, st.edge_id, o->iface);
	if (st.edge_id && st.mode != o->mode)
		return fgctl_bad(ctx, -EEXIST,
				 "Couldn't attach to %s in %s mode: %s is attached in %s mode "
				 "(fgctl detach %s first)",
				 o->iface, fgctl_xdp_mode_name(o->mode), EDGE_PROG_NAME,
				 fgctl_xdp_mode_name(st.mode), o->iface);

	err = fg_pin_dir_prepare(ctx->pin_dir);
	if (err == -ENOTSUP)
		return fgctl_bad(ctx, err, "Couldn't use pin dir %s: not on a BPF filesystem",
				 ctx->pin_dir);
	if (err) {
		pr_err("Couldn't prepare pin dir %s: %s", ctx->pin_dir, strerror(-err));
		return err;
	}
	fresh = !fg_pin_dir_populated(ctx->pin_dir);
	if (!fresh) {
		err = fg_edgemap_open(&em, ctx->pin_dir);
		if (err == -EPROTO)
			return fgctl_bad(
				ctx, err,
				"Couldn't reuse map %s pinned in %s: its layout is not this "
				"program's (pinned by another version: detach, fgctl unpin, "
				"attach)",
				em.failed, ctx->pin_dir);
		if (err) {
			pr_err("Couldn't open map %s pinned in %s: %s", em.failed ? em.failed : "?",
			       ctx->pin_dir, strerror(-err));
			return err;
		}
		uint32_t pinned = em.max_entries[FG_MAP_SRC4];

		fg_edgemap_close(&em);
		if (o->max_sources && o->max_sources != pinned)
			return fgctl_bad(ctx, -EEXIST,
					 "Couldn't use --max-sources %llu: the maps pinned in %s "
					 "track %u sources (detach without --keep-maps to resize)",
					 (unsigned long long)o->max_sources, ctx->pin_dir, pinned);
	} else {
		err = create_maps(ctx->pin_dir, o->max_sources);
		if (err) {
			pr_err("Couldn't create the maps in %s: %s", ctx->pin_dir, strerror(-err));
			fg_pin_dir_remove(ctx->pin_dir);
			return err;
		}
	}

	err = load_and_attach(ctx, o, ifindex, st.edge_id);
	if (err) {
		if (fresh)
			fg_pin_dir_remove(ctx->pin_dir);
		return err;
	}
	if (fgctl_xdp_inspect(ifindex, &now) || !now.edge_id) {
		pr_err("Couldn't find %s on %s after attaching it", EDGE_PROG_NAME, o->iface);
		return -ENOENT;
	}
	if (st.edge_id)
		fprintf(ctx->out, "%s (id %u) replaced id %u on %s", EDGE_PROG_NAME, now.edge_id,
			st.edge_id, o->iface);
	else
		fprintf(ctx->out, "%s (id %u) attached to %s", EDGE_PROG_NAME, now.edge_id,
			o->iface);
	fprintf(ctx->out, ": %s mode, %s; maps %s %s\n", fgctl_xdp_mode_name(now.mode),
		now.dispatcher ? "under libxdp's dispatcher"
			       : "attached directly (libxdp's dispatcher is not available)",
		fresh ? "created in" : "reused from", ctx->pin_dir);
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
	struct fgctl_xdp_state st;
	struct xdp_program *prog;
	size_t users = 0;
	int ifindex, err;

	ifindex = iface_index(ctx, o->iface);
	if (ifindex < 0)
		return ifindex;
	err = fgctl_xdp_inspect(ifindex, &st);
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
	  attach_args, sizeof(struct attach_opts), &attach_defaults, NULL, run_attach, 0 },
	{ "detach", "Detach the edge filter from an interface",
	  "When no program uses the maps any more (on any interface, in any network "
	  "namespace),\nthey are unpinned and the pin dir removed, unless --keep-maps.",
	  detach_args, sizeof(struct attach_opts), NULL, NULL, run_detach, 0 },
	{ "unpin", "Remove the pinned maps when no program uses them",
	  "For maps kept with detach --keep-maps, or left by another version of floodgate "
	  "(whose\nlayout this fgctl refuses to reuse). Rules, buckets and counters are lost.",
	  NULL, 0, NULL, NULL, run_unpin, 0 },
	{ NULL },
};

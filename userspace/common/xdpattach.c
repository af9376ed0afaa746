/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpattach.c - attach the edge program to an interface (see xdpattach.h).
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

#include "edge.skel.h"
#include "edgemap.h"
#include "pin.h"
#include "xdpattach.h"

const char *fg_xdp_mode_name(int mode)
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

int fg_xdp_mode_parse(const char *s)
{
	if (!strcmp(s, "native"))
		return XDP_MODE_NATIVE;
	if (!strcmp(s, "skb"))
		return XDP_MODE_SKB;
	return -EINVAL;
}

int fg_xdp_inspect(int ifindex, struct fg_xdp_state *st)
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
static int load_and_attach(const struct fg_xdp_attach_opts *o, int ifindex, __u32 old_id,
			   char *err_buf, size_t errlen)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, 0);
	struct xdp_program *prog = NULL;
	struct edge_bpf *skel;
	int err, old_fd;

	skel = edge_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(err_buf, errlen, "Couldn't open the edge program: %s", strerror(-err));
		return err;
	}
	err = prepare_maps(skel, o->pin_dir, o->max_sources);
	if (err) {
		snprintf(err_buf, errlen, "Couldn't set the pin paths under %s: %s", o->pin_dir,
			 strerror(-err));
		goto out;
	}
	if (old_id) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);

		err = edge_bpf__load(skel);
		if (err) {
			snprintf(err_buf, errlen, "Couldn't load the edge program: %s",
				 strerror(-err));
			goto out;
		}
		old_fd = bpf_prog_get_fd_by_id(old_id);
		if (old_fd < 0) {
			err = -errno;
			snprintf(err_buf, errlen, "Couldn't open the attached program (id %u): %s",
				 old_id, strerror(-err));
			goto out;
		}
		aopts.old_prog_fd = old_fd;
		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xdp_edge),
				     xdp_flags(o->mode) | XDP_FLAGS_REPLACE, &aopts);
		close(old_fd);
		if (err)
			snprintf(err_buf, errlen, "Couldn't replace the program on %s: %s",
				 o->iface, strerror(-err));
		goto out;
	}
	xopts.obj = skel->obj;
	xopts.prog_name = EDGE_PROG_NAME;
	prog = xdp_program__create(&xopts);
	err = (int)libxdp_get_error(prog);
	if (err) {
		prog = NULL;
		snprintf(err_buf, errlen, "Couldn't create the XDP program: %s", strerror(-err));
		goto out;
	}
	/*
	 * libxdp tries its dispatcher first and falls back to a direct attach by itself; where
	 * the dispatcher cannot load (BPF_PROG_TYPE_EXT refused, as on this kernel) libbpf warns
	 * about the failed load although nothing failed. Those lines go to the debug level; a
	 * real failure is reported below, and status says how the program is attached.
	 */
	fg_log_libbpf_quiet(true);
	err = xdp_program__attach(prog, ifindex, (enum xdp_attach_mode)o->mode, 0);
	fg_log_libbpf_quiet(false);
	if (err) {
		char msg[128];

		libxdp_strerror(err, msg, sizeof(msg));
		if (err == -EOPNOTSUPP && o->mode == XDP_MODE_NATIVE)
			snprintf(err_buf, errlen,
				 "Couldn't attach to %s in native mode: the driver has no native "
				 "XDP (try skb mode)",
				 o->iface);
		else
			snprintf(err_buf, errlen, "Couldn't attach to %s: %s", o->iface, msg);
	}
out:
	xdp_program__close(prog);
	edge_bpf__destroy(skel);
	return err;
}

int fg_xdp_attach(const struct fg_xdp_attach_opts *o, struct fg_xdp_attach_result *r, char *err,
		  size_t errlen)
{
	const struct fg_xdp_state *st = &r->before;
	struct fg_edgemap em;
	int ifindex, ret;

	memset(r, 0, sizeof(*r));
	ifindex = (int)if_nametoindex(o->iface);
	if (!ifindex) {
		snprintf(err, errlen, "Couldn't find interface '%s': %s", o->iface,
			 strerror(errno));
		return -ENODEV;
	}
	ret = fg_xdp_inspect(ifindex, &r->before);
	if (ret) {
		snprintf(err, errlen, "Couldn't query the XDP programs of %s: %s", o->iface,
			 strerror(-ret));
		return ret;
	}
	if (st->foreign_id) {
		snprintf(err, errlen,
			 "Couldn't attach to %s: XDP program '%s' (id %u) is attached to it "
			 "directly, not through libxdp's dispatcher; floodgate does not replace "
			 "it (remove it first)",
			 o->iface, st->foreign_name, st->foreign_id);
		return -EEXIST;
	}
	if (st->edge_id && st->dispatcher) {
		snprintf(err, errlen,
			 "Couldn't attach to %s: %s (id %u) already runs there under libxdp's "
			 "dispatcher (fgctl detach %s first)",
			 o->iface, EDGE_PROG_NAME, st->edge_id, o->iface);
		return -EEXIST;
	}
	if (st->edge_id && st->mode != o->mode) {
		snprintf(err, errlen,
			 "Couldn't attach to %s in %s mode: %s is attached in %s mode (fgctl "
			 "detach %s first)",
			 o->iface, fg_xdp_mode_name(o->mode), EDGE_PROG_NAME,
			 fg_xdp_mode_name(st->mode), o->iface);
		return -EEXIST;
	}

	ret = fg_pin_dir_prepare(o->pin_dir);
	if (ret == -ENOTSUP) {
		snprintf(err, errlen, "Couldn't use pin dir %s: not on a BPF filesystem",
			 o->pin_dir);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "Couldn't prepare pin dir %s: %s", o->pin_dir,
			 strerror(-ret));
		return ret;
	}
	r->fresh = !fg_pin_dir_populated(o->pin_dir);
	if (!r->fresh) {
		uint32_t pinned;

		ret = fg_edgemap_open(&em, o->pin_dir);
		if (ret == -EPROTO) {
			snprintf(err, errlen,
				 "Couldn't reuse map %s pinned in %s: its layout is not this "
				 "program's (pinned by another version: detach, fgctl unpin, "
				 "attach)",
				 em.failed, o->pin_dir);
			return ret;
		}
		if (ret) {
			snprintf(err, errlen, "Couldn't open map %s pinned in %s: %s",
				 em.failed ? em.failed : "?", o->pin_dir, strerror(-ret));
			return ret;
		}
		pinned = em.max_entries[FG_MAP_SRC4];
		fg_edgemap_close(&em);
		if (o->max_sources && o->max_sources != pinned) {
			snprintf(err, errlen,
				 "Couldn't use --max-sources %llu: the maps pinned in %s track %u "
				 "sources (detach without --keep-maps to resize)",
				 (unsigned long long)o->max_sources, o->pin_dir, pinned);
			return -EEXIST;
		}
	} else {
		ret = create_maps(o->pin_dir, o->max_sources);
		if (ret) {
			snprintf(err, errlen, "Couldn't create the maps in %s: %s", o->pin_dir,
				 strerror(-ret));
			fg_pin_dir_remove(o->pin_dir);
			return ret;
		}
	}

	ret = load_and_attach(o, ifindex, st->edge_id, err, errlen);
	if (ret) {
		/* -EEXIST/-EPROTO from the kernel here are runtime failures, not the operator's */
		if (r->fresh)
			fg_pin_dir_remove(o->pin_dir);
		return ret == -EEXIST || ret == -EPROTO || ret == -ENODEV || ret == -ENOTSUP ? -EIO
											     : ret;
	}
	if (fg_xdp_inspect(ifindex, &r->after) || !r->after.edge_id) {
		snprintf(err, errlen, "Couldn't find %s on %s after attaching it", EDGE_PROG_NAME,
			 o->iface);
		return -ENOENT;
	}
	return 0;
}

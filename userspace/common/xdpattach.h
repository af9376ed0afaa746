/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpattach.h - put the edge program on an interface, on maps pinned in a pin directory.
 *
 * The one implementation of "attach", shared by `fgctl attach` and the daemon (config
 * `edge.attach`). The skeleton is opened with every map pointed at <pin-dir>/<map name>
 * before load, so maps already pinned are reused (interfaces share bans and buckets); the
 * first attach creates the maps in a separate load and writes the default config before
 * the program runs anywhere. libxdp runs the program under its dispatcher when the kernel
 * can, else attaches it directly; our own program attached directly is replaced in place
 * (XDP_FLAGS_REPLACE). A program someone else attached directly is never replaced.
 */
#ifndef FG_XDPATTACH_H
#define FG_XDPATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What runs on an interface. */
struct fg_xdp_state {
	int mode;	     /* enum xdp_attach_mode of what is attached; 0 = nothing */
	bool dispatcher;     /* under libxdp's dispatcher (else attached directly) */
	uint32_t edge_id;    /* our program's id on it, 0 = not there */
	uint32_t foreign_id; /* another program attached directly, 0 = none */
	char foreign_name[32];
	int nprogs; /* programs on the interface (in the dispatcher, or 1) */
};

/* Inspect an interface of the current network namespace. 0 or -errno. */
int fg_xdp_inspect(int ifindex, struct fg_xdp_state *st);

/* "native", "skb", "hw" or "none" for an enum xdp_attach_mode. */
const char *fg_xdp_mode_name(int mode);

/* "native" or "skb" -> enum xdp_attach_mode; -EINVAL otherwise. */
int fg_xdp_mode_parse(const char *s);

struct fg_xdp_attach_opts {
	const char *pin_dir;
	const char *iface;
	int mode;	      /* XDP_MODE_NATIVE or XDP_MODE_SKB */
	uint64_t max_sources; /* 0 = the default; only when the maps are created */
};

struct fg_xdp_attach_result {
	struct fg_xdp_state before, after;
	bool fresh; /* the maps were created (else reused) */
};

/*
 * Attach (or re-attach in place). Returns 0, or -errno with err set to one line. The
 * operator's errors, with nothing changed: -ENODEV (no such interface), -EEXIST (another
 * program there, our program in another mode or under the dispatcher, --max-sources
 * differs from the pinned maps), -ENOTSUP (pin dir not on bpffs), -EPROTO (maps pinned by
 * another version). Anything else is a runtime failure.
 */
int fg_xdp_attach(const struct fg_xdp_attach_opts *o, struct fg_xdp_attach_result *r, char *err,
		  size_t errlen);

#endif /* FG_XDPATTACH_H */

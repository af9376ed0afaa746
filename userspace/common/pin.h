/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pin.h - where the edge filter's maps live on the BPF filesystem.
 *
 * A pin directory holds one file per map, named after the map (bpf/edge.h EDGE_MAP_*).
 * fgctl attach creates it (mounting bpffs at /sys/fs/bpf first when the machine has not),
 * the daemon and every other fgctl command only open it, and fgctl detach removes it when
 * the last program using the maps is gone. Nothing here touches a map's contents.
 */
#ifndef FG_PIN_H
#define FG_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where bpffs is mounted when it is missing. */
#define FG_BPFFS_ROOT "/sys/fs/bpf"

/* Every map the edge filter pins (bpf/maps.h), as an index into fg_map_names[]. */
enum fg_map_id {
	FG_MAP_CONFIG = 0,
	FG_MAP_STATS,
	FG_MAP_ALLOW4,
	FG_MAP_ALLOW6,
	FG_MAP_ALLOWNET4,
	FG_MAP_ALLOWNET6,
	FG_MAP_BLOCK4,
	FG_MAP_BLOCK6,
	FG_MAP_BLOCKNET4,
	FG_MAP_BLOCKNET6,
	FG_MAP_EDGES4,
	FG_MAP_EDGES6,
	FG_MAP_SRC4,
	FG_MAP_SRC6,
	FG_MAP_EDGEBKT,
	FG_MAP_MARKED,
	FG_MAP_NEWSRC,
	FG_MAP_COUNT,
};

/* EDGE_MAP_* by enum fg_map_id: the map names and their pin file names. */
extern const char *const fg_map_names[FG_MAP_COUNT];

/* The id of a map name, or -ENOENT for a name that is not one of ours. */
int fg_map_id_of(const char *name);

/* "<dir>/<name>" into buf. Returns 0, or -ENAMETOOLONG. */
int fg_pin_path(char *buf, size_t len, const char *dir, const char *name);

/* True when path is on a BPF filesystem. */
bool fg_pin_is_bpffs(const char *path);

/*
 * Make dir usable as a pin directory: mount bpffs at FG_BPFFS_ROOT when nothing is
 * mounted there, then create dir (mode 0700) if needed. Returns 0; -ENOTSUP when dir's
 * parent is not on bpffs; -errno from mount or mkdir.
 */
int fg_pin_dir_prepare(const char *dir);

/* True when dir holds the config map's pin (the maps were created by an attach). */
bool fg_pin_dir_populated(const char *dir);

/*
 * Ids of the loaded BPF programs using the map with id map_id, or the config map pinned
 * in dir (whatever interface or network namespace they are attached in, or none). Fills
 * at most max ids; *n gets the total. -ENOENT when dir has no config pin.
 */
int fg_map_users(uint32_t map_id, uint32_t *ids, size_t max, size_t *n);
int fg_pin_dir_users(const char *dir, uint32_t *ids, size_t max, size_t *n);

/*
 * Unpin every map of the edge filter from dir and remove dir when it is then empty.
 * Missing pins are fine. Returns 0 or the first -errno met (after trying everything).
 */
int fg_pin_dir_remove(const char *dir);

#endif /* FG_PIN_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pin.c - the pin directory on bpffs (see pin.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/magic.h>
#include <bpf/bpf.h>

#include "edge.h"
#include "log.h"
#include "pin.h"

const char *const fg_map_names[FG_MAP_COUNT] = {
	[FG_MAP_CONFIG] = EDGE_MAP_CONFIG,	 [FG_MAP_STATS] = EDGE_MAP_STATS,
	[FG_MAP_ALLOW4] = EDGE_MAP_ALLOW4,	 [FG_MAP_ALLOW6] = EDGE_MAP_ALLOW6,
	[FG_MAP_ALLOWNET4] = EDGE_MAP_ALLOWNET4, [FG_MAP_ALLOWNET6] = EDGE_MAP_ALLOWNET6,
	[FG_MAP_BLOCK4] = EDGE_MAP_BLOCK4,	 [FG_MAP_BLOCK6] = EDGE_MAP_BLOCK6,
	[FG_MAP_BLOCKNET4] = EDGE_MAP_BLOCKNET4, [FG_MAP_BLOCKNET6] = EDGE_MAP_BLOCKNET6,
	[FG_MAP_EDGES4] = EDGE_MAP_EDGES4,	 [FG_MAP_EDGES6] = EDGE_MAP_EDGES6,
	[FG_MAP_SRC4] = EDGE_MAP_SRC4,		 [FG_MAP_SRC6] = EDGE_MAP_SRC6,
	[FG_MAP_EDGEBKT] = EDGE_MAP_EDGEBKT,	 [FG_MAP_MARKED] = EDGE_MAP_MARKED,
	[FG_MAP_NEWSRC] = EDGE_MAP_NEWSRC,
};

int fg_map_id_of(const char *name)
{
	for (int i = 0; i < FG_MAP_COUNT; i++)
		if (!strcmp(fg_map_names[i], name))
			return i;
	return -ENOENT;
}

int fg_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool fg_pin_is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

static bool under_root(const char *dir)
{
	size_t n = strlen(FG_BPFFS_ROOT);

	return !strncmp(dir, FG_BPFFS_ROOT, n) && (dir[n] == '/' || dir[n] == '\0');
}

/* The deepest existing ancestor of path (or path itself) into buf. */
static void existing_ancestor(const char *path, char *buf, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(buf, len, "%s", path);
	while (stat(buf, &st)) {
		slash = strrchr(buf, '/');
		if (!slash || slash == buf) {
			snprintf(buf, len, "/");
			return;
		}
		*slash = '\0';
	}
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int fg_pin_dir_prepare(const char *dir)
{
	char anc[PATH_MAX];

	if (strlen(dir) >= PATH_MAX - 32)
		return -ENAMETOOLONG;
	if (under_root(dir) && !fg_pin_is_bpffs(FG_BPFFS_ROOT)) {
		if (mount("bpf", FG_BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			int err = -errno;

			pr_debug("Couldn't mount bpffs at %s: %s", FG_BPFFS_ROOT, strerror(-err));
			return err;
		}
		pr_info("Mounted bpffs at %s", FG_BPFFS_ROOT);
	}
	existing_ancestor(dir, anc, sizeof(anc));
	if (!fg_pin_is_bpffs(anc))
		return -ENOTSUP;
	return mkdir_p(dir);
}

bool fg_pin_dir_populated(const char *dir)
{
	char path[PATH_MAX];

	if (fg_pin_path(path, sizeof(path), dir, EDGE_MAP_CONFIG))
		return false;
	return !access(path, F_OK);
}

int fg_map_users(uint32_t map_id, uint32_t *ids, size_t max, size_t *n)
{
	__u32 id = 0;

	*n = 0;
	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info), nr, *maps;
		int fd = bpf_prog_get_fd_by_id(id);
		bool uses = false;

		if (fd < 0)
			continue; /* unloaded meanwhile */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.nr_map_ids) {
			close(fd);
			continue;
		}
		nr = info.nr_map_ids;
		maps = calloc(nr, sizeof(*maps));
		if (!maps) {
			close(fd);
			return -ENOMEM;
		}
		memset(&info, 0, sizeof(info));
		info.nr_map_ids = nr;
		info.map_ids = (__u64)(unsigned long)maps;
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			for (__u32 i = 0; i < nr && i < info.nr_map_ids; i++)
				uses |= maps[i] == map_id;
		}
		free(maps);
		close(fd);
		if (uses) {
			if (*n < max)
				ids[*n] = id;
			(*n)++;
		}
	}
	return errno == ENOENT ? 0 : -errno;
}

int fg_pin_dir_users(const char *dir, uint32_t *ids, size_t max, size_t *n)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	*n = 0;
	err = fg_pin_path(path, sizeof(path), dir, EDGE_MAP_CONFIG);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	return err ? err : fg_map_users(info.id, ids, max, n);
}

int fg_pin_dir_remove(const char *dir)
{
	char path[PATH_MAX];
	int err = 0, e;

	for (int i = 0; i < FG_MAP_COUNT; i++) {
		e = fg_pin_path(path, sizeof(path), dir, fg_map_names[i]);
		if (!e && unlink(path) && errno != ENOENT)
			e = -errno;
		if (e && !err)
			err = e;
	}
	if (rmdir(dir)) {
		e = -errno;
		if (e == -ENOTEMPTY || e == -EEXIST)
			pr_info("Kept %s: it holds files that are not floodgate's maps", dir);
		else if (e != -ENOENT && !err)
			err = e;
	}
	return err;
}

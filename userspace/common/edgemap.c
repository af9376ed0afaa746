/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * edgemap.c - operations on the edge filter's pinned maps (see edgemap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "edgemap.h"
#include "log.h"
#include "tb.h"

/* What bpf/maps.h declares, as the kernel reports it: checked on open. */
static const struct {
	__u32 type, key, value;
} map_shape[FG_MAP_COUNT] = {
	[FG_MAP_CONFIG] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct edge_config) },
	[FG_MAP_STATS] = { BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct edge_stat) },
	[FG_MAP_ALLOW4] = { BPF_MAP_TYPE_HASH, 4, sizeof(struct edge_rule) },
	[FG_MAP_ALLOW6] = { BPF_MAP_TYPE_HASH, 16, sizeof(struct edge_rule) },
	[FG_MAP_ALLOWNET4] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct edge_lpm4),
			       sizeof(struct edge_rule) },
	[FG_MAP_ALLOWNET6] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct edge_lpm6),
			       sizeof(struct edge_rule) },
	[FG_MAP_BLOCK4] = { BPF_MAP_TYPE_HASH, 4, sizeof(struct edge_rule) },
	[FG_MAP_BLOCK6] = { BPF_MAP_TYPE_HASH, 16, sizeof(struct edge_rule) },
	[FG_MAP_BLOCKNET4] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct edge_lpm4),
			       sizeof(struct edge_rule) },
	[FG_MAP_BLOCKNET6] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct edge_lpm6),
			       sizeof(struct edge_rule) },
	[FG_MAP_EDGES4] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct edge_lpm4),
			    sizeof(struct edge_net) },
	[FG_MAP_EDGES6] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct edge_lpm6),
			    sizeof(struct edge_net) },
	[FG_MAP_SRC4] = { BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, sizeof(struct edge_bucket) },
	[FG_MAP_SRC6] = { BPF_MAP_TYPE_LRU_PERCPU_HASH, 16, sizeof(struct edge_bucket) },
	[FG_MAP_EDGEBKT] = { BPF_MAP_TYPE_LRU_PERCPU_HASH, 16, sizeof(struct edge_bucket) },
	[FG_MAP_MARKED] = { BPF_MAP_TYPE_LRU_HASH, 16, sizeof(struct edge_marked) },
	[FG_MAP_NEWSRC] = { BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct edge_bucket) },
};

/* The rule maps' order in enum fg_map_id, which the walks and lookups below rely on. */
_Static_assert(FG_MAP_ALLOWNET4 == FG_MAP_ALLOW4 + 2 && FG_MAP_ALLOWNET6 == FG_MAP_ALLOW6 + 2 &&
		       FG_MAP_BLOCKNET4 == FG_MAP_BLOCK4 + 2 &&
		       FG_MAP_BLOCKNET6 == FG_MAP_BLOCK6 + 2 &&
		       FG_MAP_BLOCK4 == FG_MAP_ALLOWNET6 + 1,
	       "rule map order");

/* Any key of any of our maps. */
union anykey {
	__u8 raw[20];
	__u32 idx;
	__be32 in4;
	struct edge_in6 in6;
	struct edge_lpm4 lpm4;
	struct edge_lpm6 lpm6;
};

uint64_t fg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TB_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- open, close, users ---- */

void fg_edgemap_close(struct fg_edgemap *em)
{
	for (int i = 0; i < FG_MAP_COUNT; i++) {
		if (em->fd[i] >= 0)
			close(em->fd[i]);
		em->fd[i] = -1;
	}
	if (em->dir_fd >= 0)
		close(em->dir_fd);
	em->dir_fd = -1;
}

int fg_edgemap_open(struct fg_edgemap *em, const char *pin_dir)
{
	char path[PATH_MAX];
	int err;

	memset(em, 0, sizeof(*em));
	for (int i = 0; i < FG_MAP_COUNT; i++)
		em->fd[i] = -1;
	em->dir_fd = -1;
	if (snprintf(em->pin_dir, sizeof(em->pin_dir), "%s", pin_dir) >= (int)sizeof(em->pin_dir))
		return -ENAMETOOLONG;
	em->ncpu = libbpf_num_possible_cpus();
	if (em->ncpu <= 0)
		return em->ncpu ? em->ncpu : -EINVAL;

	em->dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (em->dir_fd < 0) {
		err = -errno;
		em->failed = fg_map_names[FG_MAP_CONFIG];
		goto fail;
	}
	for (int i = 0; i < FG_MAP_COUNT; i++) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		em->failed = fg_map_names[i];
		err = fg_pin_path(path, sizeof(path), pin_dir, fg_map_names[i]);
		if (err)
			goto fail;
		em->fd[i] = bpf_obj_get(path);
		if (em->fd[i] < 0) {
			err = -errno;
			/* The config pin is what an attach leaves; without it nothing is
			 * attached. Any other map missing means pins of another version. */
			if (err == -ENOENT && i != FG_MAP_CONFIG)
				err = -EPROTO;
			goto fail;
		}
		if (bpf_obj_get_info_by_fd(em->fd[i], &info, &len)) {
			err = -errno;
			goto fail;
		}
		if (info.type != map_shape[i].type || info.key_size != map_shape[i].key ||
		    info.value_size != map_shape[i].value) {
			pr_debug("Map %s: type %u key %u value %u, expected %u %u %u", path,
				 info.type, info.key_size, info.value_size, map_shape[i].type,
				 map_shape[i].key, map_shape[i].value);
			err = -EPROTO;
			goto fail;
		}
		em->id[i] = info.id;
		em->max_entries[i] = info.max_entries;
	}
	/* Same sizes can still mean another layout: the config says whose it is. A config
	 * never written yet (all zero, the instant between pinning and the first write)
	 * is this version's. */
	{
		struct edge_config c;
		__u32 zero = 0;

		em->failed = fg_map_names[FG_MAP_CONFIG];
		if (bpf_map_lookup_elem(em->fd[FG_MAP_CONFIG], &zero, &c)) {
			err = -errno;
			goto fail;
		}
		if (c.abi != EDGE_ABI_VERSION && (c.abi || c.generation)) {
			pr_debug("Map %s: written by ABI version %u, this is %u",
				 fg_map_names[FG_MAP_CONFIG], c.abi, EDGE_ABI_VERSION);
			err = -EPROTO;
			goto fail;
		}
	}
	em->failed = NULL;
	return 0;
fail:
	pr_debug("Couldn't open map %s in %s: %s", em->failed, pin_dir, strerror(-err));
	fg_edgemap_close(em);
	return err;
}

int fg_edgemap_users(const struct fg_edgemap *em, uint32_t *ids, size_t max, size_t *n)
{
	return fg_map_users(em->id[FG_MAP_CONFIG], ids, max, n);
}

/* ---- names ---- */

static const char *const mode_names[EDGE_MODE_MAX] = EDGE_MODE_NAMES;
static const char *const origin_names[EDGE_ORIGIN_MAX] = EDGE_ORIGIN_NAMES;
static const char *const stat_names[EDGE_STAT_MAX] = EDGE_STAT_NAMES;

const char *fg_mode_name(uint32_t mode)
{
	return mode < EDGE_MODE_MAX && mode_names[mode] ? mode_names[mode] : "?";
}

int fg_mode_parse(const char *s)
{
	for (int m = 0; m < EDGE_MODE_MAX; m++)
		if (mode_names[m] && !strcmp(s, mode_names[m]))
			return m;
	return -EINVAL;
}

const char *fg_origin_name(uint32_t origin)
{
	return origin < EDGE_ORIGIN_MAX && origin_names[origin] ? origin_names[origin] : "?";
}

const char *fg_stat_name(uint32_t id)
{
	return id < EDGE_STAT_MAX && stat_names[id] ? stat_names[id] : "?";
}

const char *fg_list_name(enum fg_list list)
{
	return list == FG_LIST_ALLOW ? "allowlist" : "blocklist";
}

/* ---- generic walks ---- */

/* Every key of a map, copied out first so that deletes during the walk are harmless. */
static int collect_keys(struct fg_edgemap *em, enum fg_map_id id, union anykey **out, size_t *n)
{
	size_t cap = 64, cnt = 0, ksz = map_shape[id].key;
	union anykey *keys = malloc(cap * sizeof(*keys)), *grown, cur;
	void *prev = NULL;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!keys)
		return -ENOMEM;
	/* A walk of a map being changed may see a key twice (a hash map restarts at a
	 * deleted key's bucket); bounding it by the capacity keeps it finite. */
	while (cnt <= em->max_entries[id]) {
		memset(&cur, 0, sizeof(cur));
		if (bpf_map_get_next_key(em->fd[id], prev, &cur)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		if (cnt == cap) {
			cap *= 2;
			grown = realloc(keys, cap * sizeof(*keys));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			keys = grown;
		}
		memcpy(&keys[cnt], &cur, ksz);
		prev = &keys[cnt++];
	}
	if (err) {
		free(keys);
		return err;
	}
	*out = keys;
	*n = cnt;
	return 0;
}

int fg_edgemap_count(struct fg_edgemap *em, enum fg_map_id id, size_t *n)
{
	union anykey *keys;
	int err = collect_keys(em, id, &keys, n);

	free(keys);
	return err;
}

/* ---- rules ---- */

static enum fg_map_id rule_map(enum fg_list list, const struct fg_cidr *c)
{
	bool host = fg_cidr_is_host(c), v4 = c->family == AF_INET;

	if (list == FG_LIST_ALLOW)
		return host ? (v4 ? FG_MAP_ALLOW4 : FG_MAP_ALLOW6)
			    : (v4 ? FG_MAP_ALLOWNET4 : FG_MAP_ALLOWNET6);
	return host ? (v4 ? FG_MAP_BLOCK4 : FG_MAP_BLOCK6)
		    : (v4 ? FG_MAP_BLOCKNET4 : FG_MAP_BLOCKNET6);
}

/* The key of c in the map rule_map()/edge_map() chose. */
static void cidr_key(enum fg_map_id id, const struct fg_cidr *c, union anykey *k)
{
	memset(k, 0, sizeof(*k));
	switch (map_shape[id].type) {
	case BPF_MAP_TYPE_LPM_TRIE:
		if (c->family == AF_INET)
			fg_cidr_to_lpm4(c, &k->lpm4);
		else
			fg_cidr_to_lpm6(c, &k->lpm6);
		break;
	default:
		memcpy(k->raw, c->addr, map_shape[id].key);
	}
}

/* Inverse of cidr_key() for the rule and edge maps. */
static void key_cidr(enum fg_map_id id, const union anykey *k, struct fg_cidr *c)
{
	memset(c, 0, sizeof(*c));
	switch (id) {
	case FG_MAP_ALLOW4:
	case FG_MAP_BLOCK4:
		c->family = AF_INET;
		c->prefixlen = 32;
		memcpy(c->addr, k->raw, 4);
		break;
	case FG_MAP_ALLOW6:
	case FG_MAP_BLOCK6:
		c->family = AF_INET6;
		c->prefixlen = 128;
		memcpy(c->addr, k->raw, 16);
		break;
	case FG_MAP_ALLOWNET4:
	case FG_MAP_BLOCKNET4:
	case FG_MAP_EDGES4:
		fg_cidr_from_lpm4(&k->lpm4, c);
		break;
	default:
		fg_cidr_from_lpm6(&k->lpm6, c);
	}
}

static int cidr_valid(const struct fg_cidr *c)
{
	if (c->family != AF_INET && c->family != AF_INET6)
		return -EAFNOSUPPORT;
	return c->prefixlen <= fg_cidr_maxlen(c) ? 0 : -EINVAL;
}

int fg_rule_make(struct edge_rule *r, enum fg_list list, const struct fg_cidr *c, uint64_t ttl_s,
		 uint32_t mode, uint32_t origin, uint64_t now)
{
	int err = cidr_valid(c);

	if (err)
		return err;
	if (ttl_s > EDGE_TTL_MAX_S)
		return -ERANGE;
	if (mode >= EDGE_MODE_MAX || origin >= EDGE_ORIGIN_MAX)
		return -EINVAL;
	if (list == FG_LIST_ALLOW && mode != EDGE_MODE_INHERIT)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->expires_ns = ttl_s ? now + ttl_s * TB_NS_PER_S : 0;
	r->created_ns = now;
	r->mode = mode;
	r->prefixlen = (__u8)c->prefixlen;
	r->origin = (__u8)origin;
	return 0;
}

/* Every writer of the config or of a list holds the pin directory's lock: fgctl and the
 * daemon may write at the same time. */
static int em_lock(struct fg_edgemap *em)
{
	return flock(em->dir_fd, LOCK_EX) ? -errno : 0;
}

static void em_unlock(struct fg_edgemap *em)
{
	flock(em->dir_fd, LOCK_UN);
}

/* The edge_config.lists bit of a list map (bpf/edge.h: enum edge_list_bits). */
__u32 fg_edgemap_list_bit(enum fg_map_id id)
{
	switch (id) {
	case FG_MAP_ALLOW4:
		return EDGE_L_ALLOW4;
	case FG_MAP_ALLOW6:
		return EDGE_L_ALLOW6;
	case FG_MAP_ALLOWNET4:
		return EDGE_L_ALLOWNET4;
	case FG_MAP_ALLOWNET6:
		return EDGE_L_ALLOWNET6;
	case FG_MAP_BLOCK4:
		return EDGE_L_BLOCK4;
	case FG_MAP_BLOCK6:
		return EDGE_L_BLOCK6;
	case FG_MAP_BLOCKNET4:
		return EDGE_L_BLOCKNET4;
	case FG_MAP_BLOCKNET6:
		return EDGE_L_BLOCKNET6;
	default:
		return 0;
	}
}

static bool map_empty(struct fg_edgemap *em, enum fg_map_id id)
{
	union anykey k;

	return bpf_map_get_next_key(em->fd[id], NULL, &k) && errno == ENOENT;
}

/* With the lock held: set then clear bits of edge_config.lists. Not a policy change, so
 * the generation and origin stay. */
static int lists_update(struct fg_edgemap *em, __u32 set, __u32 clear)
{
	struct edge_config *c = malloc(sizeof(*c));
	__u32 zero = 0, want;
	int err;

	if (!c)
		return -ENOMEM;
	err = fg_edgemap_config_read(em, c);
	if (!err) {
		want = (c->lists | set) & ~clear;
		if (want != c->lists) {
			c->lists = want;
			err = bpf_map_update_elem(em->fd[FG_MAP_CONFIG], &zero, c, BPF_ANY) ? -errno
											    : 0;
		}
	}
	free(c);
	return err;
}

int fg_edgemap_lists_refresh(struct fg_edgemap *em)
{
	__u32 set = 0, clear = 0;
	int err = em_lock(em);

	if (err)
		return err;
	for (int id = FG_MAP_ALLOW4; id <= FG_MAP_BLOCKNET6; id++) {
		if (map_empty(em, id))
			clear |= fg_edgemap_list_bit(id);
		else
			set |= fg_edgemap_list_bit(id);
	}
	err = lists_update(em, set, clear);
	em_unlock(em);
	return err;
}

int fg_edgemap_lists_unseen(struct fg_edgemap *em, __u32 *unseen)
{
	struct edge_config c;
	int err = fg_edgemap_config_read(em, &c);

	*unseen = 0;
	if (err)
		return err;
	for (int id = FG_MAP_ALLOW4; id <= FG_MAP_BLOCKNET6; id++)
		if (!(c.lists & fg_edgemap_list_bit(id)) && !map_empty(em, id))
			*unseen |= fg_edgemap_list_bit(id);
	return 0;
}

int fg_edgemap_rule_put(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *c,
			uint64_t ttl_s, uint32_t mode, uint32_t origin)
{
	struct edge_rule r, old;
	enum fg_map_id id;
	union anykey k;
	int err;

	err = fg_rule_make(&r, list, c, ttl_s, mode, origin, fg_mono_ns());
	if (err)
		return err;
	id = rule_map(list, c);
	cidr_key(id, c, &k);
	err = em_lock(em);
	if (err)
		return err;
	/* The program must look in this map before the entry lands in it. */
	err = lists_update(em, fg_edgemap_list_bit(id), 0);
	if (!err) {
		/* An LPM lookup returns the longest match: only this prefix's hits carry over. */
		if (!bpf_map_lookup_elem(em->fd[id], &k, &old) && old.prefixlen == c->prefixlen)
			r.hits = old.hits;
		err = bpf_map_update_elem(em->fd[id], &k, &r, BPF_ANY) ? -errno : 0;
	}
	em_unlock(em);
	return err;
}

int fg_edgemap_rule_get(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *c,
			struct edge_rule *out)
{
	struct edge_rule r;
	enum fg_map_id id;
	union anykey k;
	int err = cidr_valid(c);

	if (err)
		return err;
	id = rule_map(list, c);
	cidr_key(id, c, &k);
	if (bpf_map_lookup_elem(em->fd[id], &k, &r))
		return -errno;
	/* An LPM lookup returns the longest match; we want exactly this prefix. */
	if (r.prefixlen != c->prefixlen && map_shape[id].type == BPF_MAP_TYPE_LPM_TRIE)
		return -ENOENT;
	*out = r;
	return 0;
}

int fg_edgemap_rule_del(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *c)
{
	enum fg_map_id id;
	union anykey k;
	int err = cidr_valid(c);

	if (err)
		return err;
	id = rule_map(list, c);
	cidr_key(id, c, &k);
	err = em_lock(em);
	if (err)
		return err;
	err = bpf_map_delete_elem(em->fd[id], &k) ? -errno : 0;
	/* The last entry gone: the program can stop looking (the lock keeps writers out). */
	if (!err && map_empty(em, id))
		err = lists_update(em, 0, fg_edgemap_list_bit(id));
	em_unlock(em);
	return err;
}

int fg_edgemap_rule_match(struct fg_edgemap *em, enum fg_list list, const struct fg_cidr *host,
			  uint64_t now, struct fg_rule_entry *out)
{
	struct fg_cidr net = *host;
	enum fg_map_id id;
	struct edge_rule r;
	union anykey k;
	unsigned len;

	if (cidr_valid(host) || !fg_cidr_is_host(host))
		return -EINVAL;
	id = rule_map(list, host);
	cidr_key(id, host, &k);
	if (!bpf_map_lookup_elem(em->fd[id], &k, &r) && !fg_rule_expired(&r, now))
		goto hit;
	/* The net map of the family: exact id + 2 (see enum fg_map_id). */
	id += 2;
	len = fg_cidr_maxlen(host);
	for (int i = 0; i < EDGE_LPM_RETRY; i++) {
		net = *host;
		net.prefixlen = len;
		fg_cidr_mask(&net);
		cidr_key(id, &net, &k);
		if (bpf_map_lookup_elem(em->fd[id], &k, &r))
			return -ENOENT;
		if (!fg_rule_expired(&r, now))
			goto hit;
		if (!r.prefixlen || !len)
			return -ENOENT;
		len = (r.prefixlen < len ? r.prefixlen : len) - 1;
	}
	return -ENOENT;
hit:
	out->cidr = *host;
	out->cidr.prefixlen = r.prefixlen <= fg_cidr_maxlen(host) ? r.prefixlen : 0;
	fg_cidr_mask(&out->cidr);
	out->rule = r;
	return 0;
}

typedef int (*entry_fn)(enum fg_map_id id, const union anykey *k, const void *val, void *arg);

/* Look up every key of a map and call fn with each value still present. */
static int walk(struct fg_edgemap *em, enum fg_map_id id, entry_fn fn, void *arg)
{
	union anykey *keys;
	size_t n, vsz = map_shape[id].value;
	__u8 val[sizeof(struct edge_config)];
	int err;

	if (vsz > sizeof(val) || map_shape[id].type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    map_shape[id].type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		return -EINVAL; /* per-CPU values are read by their own functions */
	err = collect_keys(em, id, &keys, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_elem(em->fd[id], &keys[i], val)) {
			if (errno == ENOENT)
				continue;
			err = -errno;
			break;
		}
		err = fn(id, &keys[i], val, arg);
	}
	free(keys);
	return err;
}

struct rule_walk {
	fg_rule_fn fn;
	void *arg;
};

static int rule_cb(enum fg_map_id id, const union anykey *k, const void *val, void *arg)
{
	struct rule_walk *w = arg;
	struct fg_rule_entry e;

	key_cidr(id, k, &e.cidr);
	memcpy(&e.rule, val, sizeof(e.rule));
	return w->fn(&e, w->arg);
}

int fg_edgemap_rule_foreach(struct fg_edgemap *em, enum fg_list list, fg_rule_fn fn, void *arg)
{
	enum fg_map_id base = list == FG_LIST_ALLOW ? FG_MAP_ALLOW4 : FG_MAP_BLOCK4;
	struct rule_walk w = { fn, arg };
	int err = 0;

	/* ALLOW4, ALLOW6, ALLOWNET4, ALLOWNET6 are consecutive, and so are the BLOCK maps. */
	for (int i = 0; i < 4 && !err; i++)
		err = walk(em, base + i, rule_cb, &w);
	return err;
}

struct sweep {
	struct fg_edgemap *em;
	uint64_t now;
	unsigned removed;
};

static int sweep_cb(enum fg_map_id id, const union anykey *k, const void *val, void *arg)
{
	struct sweep *s = arg;
	struct edge_rule r;

	if (!fg_rule_expired(val, s->now))
		return 0;
	/* Renewed since the walk read it? Then it stays. */
	if (bpf_map_lookup_elem(s->em->fd[id], k, &r) || !fg_rule_expired(&r, s->now))
		return 0;
	if (bpf_map_delete_elem(s->em->fd[id], k))
		return errno == ENOENT ? 0 : -errno;
	s->removed++;
	return 0;
}

int fg_edgemap_sweep(struct fg_edgemap *em, uint64_t now, unsigned *removed)
{
	struct sweep s = { .em = em, .now = now };
	int err = em_lock(em);

	/* Under the lock, a renewal cannot land between the re-check and the delete. */
	for (int id = FG_MAP_ALLOW4; id <= FG_MAP_BLOCKNET6 && !err; id++)
		err = walk(em, id, sweep_cb, &s);
	em_unlock(em);
	if (err)
		return err;
	if (removed)
		*removed = s.removed;
	/* Recompute which lists the program consults (this also adopts entries written
	 * without fgctl, e.g. with bpftool). */
	return fg_edgemap_lists_refresh(em);
}

/* ---- edges ---- */

static enum fg_map_id edge_map(const struct fg_cidr *c)
{
	return c->family == AF_INET ? FG_MAP_EDGES4 : FG_MAP_EDGES6;
}

int fg_edge_make(struct edge_net *e, const struct fg_cidr *c, uint64_t rate, uint64_t burst,
		 uint32_t mode, uint32_t origin)
{
	int err = cidr_valid(c);

	if (err)
		return err;
	if (mode >= EDGE_MODE_MAX || origin >= EDGE_ORIGIN_MAX)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	err = tb_limit_set(&e->limit, rate, burst);
	if (err)
		return err;
	e->mode = mode;
	e->prefixlen = (__u8)c->prefixlen;
	e->origin = (__u8)origin;
	return 0;
}

int fg_edgemap_edge_put(struct fg_edgemap *em, const struct fg_cidr *c, uint64_t rate,
			uint64_t burst, uint32_t mode, uint32_t origin)
{
	struct edge_net e, old;
	enum fg_map_id id;
	union anykey k;
	int err;

	err = fg_edge_make(&e, c, rate, burst, mode, origin);
	if (err)
		return err;
	id = edge_map(c);
	cidr_key(id, c, &k);
	if (!bpf_map_lookup_elem(em->fd[id], &k, &old) && old.prefixlen == c->prefixlen)
		e.hits = old.hits;
	return bpf_map_update_elem(em->fd[id], &k, &e, BPF_ANY) ? -errno : 0;
}

int fg_edgemap_edge_get(struct fg_edgemap *em, const struct fg_cidr *c, struct edge_net *out)
{
	struct edge_net e;
	enum fg_map_id id;
	union anykey k;
	int err = cidr_valid(c);

	if (err)
		return err;
	id = edge_map(c);
	cidr_key(id, c, &k);
	if (bpf_map_lookup_elem(em->fd[id], &k, &e))
		return -errno;
	if (e.prefixlen != c->prefixlen)
		return -ENOENT;
	*out = e;
	return 0;
}

int fg_edgemap_edge_del(struct fg_edgemap *em, const struct fg_cidr *c)
{
	enum fg_map_id id;
	union anykey k;
	int err = cidr_valid(c);

	if (err)
		return err;
	id = edge_map(c);
	cidr_key(id, c, &k);
	return bpf_map_delete_elem(em->fd[id], &k) ? -errno : 0;
}

int fg_edgemap_edge_match(struct fg_edgemap *em, const struct fg_cidr *host,
			  struct fg_edge_entry *out)
{
	enum fg_map_id id;
	struct edge_net e;
	union anykey k;

	if (cidr_valid(host) || !fg_cidr_is_host(host))
		return -EINVAL;
	id = edge_map(host);
	cidr_key(id, host, &k);
	if (bpf_map_lookup_elem(em->fd[id], &k, &e))
		return -errno;
	out->cidr = *host;
	out->cidr.prefixlen = e.prefixlen <= fg_cidr_maxlen(host) ? e.prefixlen : 0;
	fg_cidr_mask(&out->cidr);
	out->net = e;
	return 0;
}

struct edge_walk {
	fg_edge_fn fn;
	void *arg;
};

static int edge_cb(enum fg_map_id id, const union anykey *k, const void *val, void *arg)
{
	struct edge_walk *w = arg;
	struct fg_edge_entry e;

	key_cidr(id, k, &e.cidr);
	memcpy(&e.net, val, sizeof(e.net));
	return w->fn(&e, w->arg);
}

int fg_edgemap_edge_foreach(struct fg_edgemap *em, fg_edge_fn fn, void *arg)
{
	struct edge_walk w = { fn, arg };
	int err = walk(em, FG_MAP_EDGES4, edge_cb, &w);

	return err ? err : walk(em, FG_MAP_EDGES6, edge_cb, &w);
}

/* ---- config ---- */

void fg_config_default(struct edge_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = EDGE_MODE_DROP;
	c->flags = EDGE_F_SYN_ONLY | EDGE_F_MALFORMED_DROP | EDGE_F_ALL_PORTS;
	tb_limit_set(&c->src, FG_DEFAULT_SRC_RATE, FG_DEFAULT_SRC_BURST);
	tb_limit_set(&c->newsrc, FG_DEFAULT_NEWSRC_RATE, FG_DEFAULT_NEWSRC_BURST);
	c->dscp = EDGE_DSCP_DEFAULT;
	c->v6_prefix = EDGE_V6_PREFIX_DEFAULT;
	c->origin = EDGE_ORIGIN_MANUAL;
	c->abi = EDGE_ABI_VERSION;
}

/* A limit is all zeros (none) or exactly what tb_limit_set() makes of its rate and burst. */
static int limit_check(const struct edge_limit *l)
{
	struct edge_limit x;

	if (!l->rate)
		return l->burst || l->interval_ns || l->cap_ns ? -EINVAL : 0;
	if (tb_limit_set(&x, l->rate, l->burst))
		return -EINVAL;
	return memcmp(&x, l, sizeof(x)) ? -EINVAL : 0;
}

int fg_config_check(const struct edge_config *c)
{
	const __u32 known =
		EDGE_F_SYN_ONLY | EDGE_F_LOCKDOWN | EDGE_F_MALFORMED_DROP | EDGE_F_ALL_PORTS;
	if (c->mode == EDGE_MODE_INHERIT || c->mode >= EDGE_MODE_MAX)
		return -EINVAL;
	if (c->flags & ~known)
		return -EINVAL;
	if (c->dscp > EDGE_DSCP_MAX || !c->v6_prefix || c->v6_prefix > 128)
		return -EINVAL;
	if (c->origin >= EDGE_ORIGIN_MAX || c->abi != EDGE_ABI_VERSION)
		return -EINVAL;
	return limit_check(&c->src) ? -EINVAL : limit_check(&c->newsrc);
}

bool fg_config_port(const struct edge_config *c, unsigned port)
{
	return port < 65536 && (c->ports[port / 64] >> (port % 64)) & 1;
}

void fg_config_port_set(struct edge_config *c, unsigned port, bool on)
{
	if (port >= 65536)
		return;
	if (on)
		c->ports[port / 64] |= 1ULL << (port % 64);
	else
		c->ports[port / 64] &= ~(1ULL << (port % 64));
}

int fg_edgemap_config_read(struct fg_edgemap *em, struct edge_config *out)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(em->fd[FG_MAP_CONFIG], &zero, out) ? -errno : 0;
}

static int config_locked_write(struct fg_edgemap *em, uint32_t origin, fg_config_edit_fn fn,
			       void *arg, const struct edge_config *whole, struct edge_config *out)
{
	struct edge_config *c = malloc(sizeof(*c));
	__u32 zero = 0, gen, lists;
	int err;

	if (!c)
		return -ENOMEM;
	if (origin >= EDGE_ORIGIN_MAX) {
		err = -EINVAL;
		goto out_free;
	}
	err = em_lock(em);
	if (err)
		goto out_free;
	err = fg_edgemap_config_read(em, c);
	if (err)
		goto out;
	gen = c->generation;
	lists = c->lists;
	if (whole)
		*c = *whole;
	else
		err = fn(c, arg);
	if (err)
		goto out;
	c->lists = lists; /* maintained by the list writers, never by a policy write */
	c->generation = gen + 1;
	c->origin = (__u8)origin;
	c->abi = EDGE_ABI_VERSION;
	err = fg_config_check(c);
	if (err)
		goto out;
	if (bpf_map_update_elem(em->fd[FG_MAP_CONFIG], &zero, c, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	if (out)
		*out = *c;
out:
	em_unlock(em);
out_free:
	free(c);
	return err;
}

int fg_edgemap_config_edit(struct fg_edgemap *em, uint32_t origin, fg_config_edit_fn fn, void *arg,
			   struct edge_config *out)
{
	return config_locked_write(em, origin, fn, arg, NULL, out);
}

int fg_edgemap_config_write(struct fg_edgemap *em, uint32_t origin, const struct edge_config *c)
{
	return config_locked_write(em, origin, NULL, NULL, c, NULL);
}

/* ---- stats, marked ---- */

int fg_edgemap_stats_read(struct fg_edgemap *em, struct edge_stat out[EDGE_STAT_MAX])
{
	struct edge_stat *v = calloc((size_t)em->ncpu, sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (__u32 id = 0; id < EDGE_STAT_MAX; id++) {
		out[id].packets = out[id].bytes = 0;
		if (bpf_map_lookup_elem(em->fd[FG_MAP_STATS], &id, v)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < em->ncpu; cpu++) {
			out[id].packets += v[cpu].packets;
			out[id].bytes += v[cpu].bytes;
		}
	}
	free(v);
	return err;
}

int fg_edgemap_stat_percpu(struct fg_edgemap *em, uint32_t id, struct edge_stat *out)
{
	if (id >= EDGE_STAT_MAX)
		return -EINVAL;
	return bpf_map_lookup_elem(em->fd[FG_MAP_STATS], &id, out) ? -errno : 0;
}

struct marked_walk {
	fg_marked_fn fn;
	void *arg;
};

static int marked_cb(enum fg_map_id id, const union anykey *k, const void *val, void *arg)
{
	struct marked_walk *w = arg;
	struct fg_marked_entry e;

	fg_cidr_from_in6(&k->in6, &e.src);
	memcpy(&e.marked, val, sizeof(e.marked));
	return w->fn(&e, w->arg);
}

int fg_edgemap_marked_foreach(struct fg_edgemap *em, fg_marked_fn fn, void *arg)
{
	struct marked_walk w = { fn, arg };

	return walk(em, FG_MAP_MARKED, marked_cb, &w);
}

int fg_edgemap_marked_get(struct fg_edgemap *em, const struct fg_cidr *host,
			  struct edge_marked *out)
{
	struct edge_in6 k;

	if (cidr_valid(host) || !fg_cidr_is_host(host))
		return -EINVAL;
	fg_cidr_to_in6(host, &k);
	return bpf_map_lookup_elem(em->fd[FG_MAP_MARKED], &k, out) ? -errno : 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * status.c - fgctl status: where the edge filter runs (interfaces of this network
 * namespace, attach mode, dispatcher or direct), which programs use the pinned maps,
 * the config, and how many entries each list holds.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "fgctl.h"
#include "log.h"

struct status_opts {
	bool json;
};

struct iface {
	char name[IF_NAMESIZE];
	int ifindex;
	struct fg_xdp_state st;
	bool ours; /* its program uses these maps */
};

#define MAX_USERS  64
#define MAX_IFACES 64

struct status {
	struct edge_config cfg;
	__u32 unseen; /* list maps holding entries the program does not consult */
	uint32_t users[MAX_USERS];
	size_t nusers;
	struct iface ifaces[MAX_IFACES];
	size_t nifaces;
	size_t blocks, allows, edges, marked;
	int daemon_pid;			    /* a floodgate daemon holding these maps, 0 = none */
	size_t manual_allows, manual_edges; /* entries written by hand (fgctl) */
};

/* The pid of a floodgate daemon holding map id `map_id` open (its fdinfo names the map),
 * or 0. Only processes named floodgate are looked at. */
static int daemon_holding(uint32_t map_id)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *f;
	int found = 0;

	while (proc && !found && (p = readdir(proc))) {
		char path[300], comm[32] = "", line[128];
		FILE *fp;

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
		if (!(fp = fopen(path, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), fp))
			comm[0] = '\0';
		fclose(fp);
		if (strncmp(comm, "floodgate", 9))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		if (!(fds = opendir(path)))
			continue;
		while (!found && (f = readdir(fds))) {
			char fpath[600];

			snprintf(fpath, sizeof(fpath), "%s/%s", path, f->d_name);
			if (f->d_name[0] == '.' || !(fp = fopen(fpath, "r")))
				continue;
			while (fgets(line, sizeof(line), fp)) {
				unsigned id;

				if (sscanf(line, "map_id: %u", &id) == 1 && id == map_id) {
					found = atoi(p->d_name);
					break;
				}
			}
			fclose(fp);
		}
		closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

static int count_manual_allow(const struct fg_rule_entry *e, void *arg)
{
	*(size_t *)arg += e->rule.origin == EDGE_ORIGIN_MANUAL;
	return 0;
}

static int count_manual_edge(const struct fg_edge_entry *e, void *arg)
{
	*(size_t *)arg += e->net.origin == EDGE_ORIGIN_MANUAL;
	return 0;
}

static bool is_user(const struct status *s, uint32_t id)
{
	for (size_t i = 0; i < s->nusers && i < MAX_USERS; i++)
		if (s->users[i] == id)
			return true;
	return false;
}

static int gather(struct fgctl_ctx *ctx, struct status *s)
{
	struct if_nameindex *ifs, *i;
	size_t n;
	int err;

	err = fg_edgemap_config_read(ctx->em, &s->cfg);
	if (err) {
		pr_err("Couldn't read the config: %s", strerror(-err));
		return err;
	}
	err = fg_edgemap_users(ctx->em, s->users, MAX_USERS, &s->nusers);
	if (err) {
		pr_err("Couldn't list the BPF programs: %s", strerror(-err));
		return err;
	}
	static const struct {
		enum fg_map_id id;
		size_t off;
	} counts[] = {
		{ FG_MAP_BLOCK4, offsetof(struct status, blocks) },
		{ FG_MAP_BLOCK6, offsetof(struct status, blocks) },
		{ FG_MAP_BLOCKNET4, offsetof(struct status, blocks) },
		{ FG_MAP_BLOCKNET6, offsetof(struct status, blocks) },
		{ FG_MAP_ALLOW4, offsetof(struct status, allows) },
		{ FG_MAP_ALLOW6, offsetof(struct status, allows) },
		{ FG_MAP_ALLOWNET4, offsetof(struct status, allows) },
		{ FG_MAP_ALLOWNET6, offsetof(struct status, allows) },
		{ FG_MAP_EDGES4, offsetof(struct status, edges) },
		{ FG_MAP_EDGES6, offsetof(struct status, edges) },
		{ FG_MAP_MARKED, offsetof(struct status, marked) },
	};
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		err = fg_edgemap_count(ctx->em, counts[k].id, &n);
		if (err) {
			pr_err("Couldn't count the entries of %s: %s", fg_map_names[counts[k].id],
			       strerror(-err));
			return err;
		}
		*(size_t *)((char *)s + counts[k].off) += n;
	}
	err = fg_edgemap_lists_unseen(ctx->em, &s->unseen);
	if (err) {
		pr_err("Couldn't check which lists the program consults: %s", strerror(-err));
		return err;
	}
	s->daemon_pid = daemon_holding(ctx->em->id[FG_MAP_CONFIG]);
	if (s->daemon_pid &&
	    (fg_edgemap_rule_foreach(ctx->em, FG_LIST_ALLOW, count_manual_allow,
				     &s->manual_allows) ||
	     fg_edgemap_edge_foreach(ctx->em, count_manual_edge, &s->manual_edges)))
		pr_warn("Couldn't read every allowlist and edge entry for the drift check");
	ifs = if_nameindex();
	if (!ifs) {
		err = -errno;
		pr_err("Couldn't list the interfaces: %s", strerror(-err));
		return err;
	}
	for (i = ifs; i->if_index && s->nifaces < MAX_IFACES; i++) {
		struct iface *f = &s->ifaces[s->nifaces];

		if (fg_xdp_inspect((int)i->if_index, &f->st) || !f->st.edge_id)
			continue;
		snprintf(f->name, sizeof(f->name), "%s", i->if_name);
		f->ifindex = (int)i->if_index;
		f->ours = is_user(s, f->st.edge_id);
		s->nifaces++;
	}
	if_freenameindex(ifs);
	return 0;
}

static json_t *limit_json(const struct edge_limit *l)
{
	if (!l->rate)
		return json_null();
	return json_pack("{s:o, s:o}", "rate", fgctl_json_u64(l->rate), "burst",
			 fgctl_json_u64(l->burst));
}

static json_t *config_json(const struct edge_config *c)
{
	char ports[4096];
	json_t *o;

	/* The CLI's own syntax ("all", "80,443,8000-8010"): a range stays short. */
	fgctl_format_ports(c->ports, c->flags & EDGE_F_ALL_PORTS, ports, sizeof(ports));
	o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:i, s:i, s:i, s:s}", "mode",
		      fg_mode_name(c->mode), "ports", ports, "syn_only",
		      !!(c->flags & EDGE_F_SYN_ONLY), "lockdown", !!(c->flags & EDGE_F_LOCKDOWN),
		      "malformed", c->flags & EDGE_F_MALFORMED_DROP ? "drop" : "pass", "dscp",
		      (int)c->dscp, "v6_prefix", (int)c->v6_prefix, "generation",
		      (json_int_t)c->generation, "origin", fg_origin_name(c->origin));
	if (!o)
		return NULL;
	json_object_set_new(o, "source_limit", limit_json(&c->src));
	json_object_set_new(o, "new_source_limit", limit_json(&c->newsrc));
	return o;
}

/* The names of the list maps in an edge_config.lists mask. */
static json_t *unseen_json(__u32 unseen)
{
	json_t *a = json_array();

	for (int id = FG_MAP_ALLOW4; id <= FG_MAP_BLOCKNET6; id++)
		if (unseen & fg_edgemap_list_bit(id))
			json_array_append_new(a, json_string(fg_map_names[id]));
	return a;
}

static int print_json(struct fgctl_ctx *ctx, const struct status *s)
{
	json_t *o, *ifs = json_array(), *users = json_array();

	for (size_t i = 0; i < s->nifaces; i++) {
		const struct iface *f = &s->ifaces[i];

		json_array_append_new(
			ifs, json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:b}", "name", f->name,
				       "ifindex", f->ifindex, "mode", fg_xdp_mode_name(f->st.mode),
				       "attach", f->st.dispatcher ? "dispatcher" : "direct",
				       "prog_id", (json_int_t)f->st.edge_id, "programs",
				       f->st.nprogs, "uses_these_maps", f->ours));
	}
	for (size_t i = 0; i < s->nusers && i < MAX_USERS; i++)
		json_array_append_new(users, json_integer(s->users[i]));
	o = json_pack("{s:s, s:b, s:o, s:o, s:o, s:{s:i, s:i, s:i, s:i}, s:o}", "pin_dir",
		      ctx->pin_dir, "attached", s->nusers > 0, "interfaces", ifs, "programs", users,
		      "config", config_json(&s->cfg), "entries", "blocks", (json_int_t)s->blocks,
		      "allows", (json_int_t)s->allows, "edges", (json_int_t)s->edges, "marked",
		      (json_int_t)s->marked, "max_sources",
		      fgctl_json_u64(ctx->em->max_entries[FG_MAP_SRC4]));
	json_object_set_new(o, "unseen_lists", unseen_json(s->unseen));
	json_object_set_new(o, "daemon_pid",
			    s->daemon_pid ? json_integer(s->daemon_pid) : json_null());
	json_object_set_new(o, "drift",
			    s->daemon_pid ? json_pack("{s:b, s:i, s:i}", "config",
						      s->cfg.origin != EDGE_ORIGIN_CONFIG,
						      "manual_allows", (int)s->manual_allows,
						      "manual_edges", (int)s->manual_edges)
					  : json_null());
	return fgctl_json_print(ctx->out, o, false);
}

static void print_text(struct fgctl_ctx *ctx, const struct status *s)
{
	const struct edge_config *c = &s->cfg;
	char buf[512];
	FILE *f = ctx->out;

	fprintf(f, "pin dir       %s\n", ctx->pin_dir);
	if (!s->nifaces)
		fprintf(f, "interfaces    none in this network namespace\n");
	for (size_t i = 0; i < s->nifaces; i++) {
		const struct iface *x = &s->ifaces[i];

		fprintf(f, "%s %s: %s mode, %s, prog id %u%s\n",
			i ? "             " : "interfaces   ", x->name,
			fg_xdp_mode_name(x->st.mode),
			x->st.dispatcher ? "under libxdp's dispatcher" : "attached directly",
			x->st.edge_id, x->ours ? "" : " (uses other maps)");
	}
	fprintf(f, "programs      ");
	if (!s->nusers)
		fprintf(f, "none uses these maps (nothing attached)");
	for (size_t i = 0; i < s->nusers && i < MAX_USERS; i++)
		fprintf(f, "%s%u", i ? ", " : "id ", s->users[i]);
	fprintf(f, "\n");
	fprintf(f, "mode          %s\n", fg_mode_name(c->mode));
	fprintf(f, "ports         %s\n",
		fgctl_format_ports(c->ports, c->flags & EDGE_F_ALL_PORTS, buf, sizeof(buf)));
	fprintf(f, "source limit  %s", fgctl_limit_text(&c->src, buf, sizeof(buf)));
	fprintf(f, ", counting %s\n",
		c->flags & EDGE_F_SYN_ONLY ? "TCP SYNs only" : "every packet");
	fprintf(f, "new sources   %s\n", fgctl_limit_text(&c->newsrc, buf, sizeof(buf)));
	fprintf(f, "lockdown      %s\n", c->flags & EDGE_F_LOCKDOWN ? "on" : "off");
	fprintf(f, "malformed     %s\n", c->flags & EDGE_F_MALFORMED_DROP ? "drop" : "pass");
	fprintf(f, "dscp          %u\n", c->dscp);
	fprintf(f, "v6 prefix     /%u\n", c->v6_prefix);
	fprintf(f, "generation    %u (last written by %s)\n", c->generation,
		fg_origin_name(c->origin));
	fprintf(f, "entries       blocks %zu, allows %zu, edges %zu, marked %zu\n", s->blocks,
		s->allows, s->edges, s->marked);
	fprintf(f, "max sources   %u per family\n", ctx->em->max_entries[FG_MAP_SRC4]);
	if (!s->daemon_pid)
		fprintf(f, "policy        not managed by a floodgate daemon\n");
	else if (c->origin == EDGE_ORIGIN_CONFIG && !s->manual_allows && !s->manual_edges)
		fprintf(f, "policy        as floodgate (pid %d) wrote it from its config\n",
			s->daemon_pid);
	else
		fprintf(f,
			"drift         changed by hand since floodgate (pid %d) wrote its "
			"config:%s "
			"%zu manual allowlist and %zu manual edge entries (a reload restores the "
			"config's policy)\n",
			s->daemon_pid,
			c->origin != EDGE_ORIGIN_CONFIG ? " the config entry (fgctl)," : "",
			s->manual_allows, s->manual_edges);
	for (int id = FG_MAP_ALLOW4; id <= FG_MAP_BLOCKNET6; id++)
		if (s->unseen & fg_edgemap_list_bit(id))
			fprintf(f,
				"warning       %s holds entries the program does not consult "
				"(written without fgctl): run fgctl sweep\n",
				fg_map_names[id]);
}

static int run_status(struct fgctl_ctx *ctx, const void *opts)
{
	struct status *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = gather(ctx, s);
	if (!err) {
		if (((const struct status_opts *)opts)->json)
			err = print_json(ctx, s);
		else
			print_text(ctx, s);
	}
	free(s);
	return err;
}

static const struct fgctl_arg status_args[] = {
	{ "--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct status_opts, json),
	  .help = "print a JSON object" },
	{ NULL },
};

const struct fgctl_cmd fgctl_cmds_status[] = {
	{ "status", "Show where the filter runs, its config and list sizes",
	  "Interfaces are those of the current network namespace (run it there with "
	  "nsenter --net);\nthe programs using the maps are counted in every namespace.",
	  status_args, sizeof(struct status_opts), NULL, NULL, run_status, FGCTL_F_MAPS },
	{ NULL },
};

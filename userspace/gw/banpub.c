/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * banpub.c - bans shared through Redis (see banpub.h).
 *
 * One thread, two synchronous hiredis connections: `cmd` writes (a Lua script: the hash,
 * the expiry index, the prune, the PUBLISH - one round trip, atomic) and reads the hash on
 * a resync; `sub` is subscribed to the channel. The deciding threads (workers, admin)
 * only queue a record and poke an eventfd. The thread polls the eventfd and the
 * subscription together, so a record from another node is installed as soon as Redis
 * pushes it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "edgemap.h"
#include "log.h"
#include "gw/redis.h"
#include "gw/edgecfg.h"
#include "gw/banorigin.h"
#include "gw/banpub.h"
#include "gw/redis_conf.h"

#define QUEUE_MAX	 4096  /* local decisions waiting for Redis */
#define POLL_MS		 200   /* how often the thread looks at its stop flag */
#define WRITE_TIMEOUT_MS 2000  /* bound on one write (the thread, never a request) */
#define READ_TIMEOUT_MS	 5000  /* bound on reading the whole hash */
#define FORGIVE_MIN_S	 86400 /* as ban.c: offences are remembered this long at least */
#define RECORD_MAX	 1024

struct op {
	struct op *next;
	gw_banpub_msg_t m;
};

static const char write_lua[] =
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
	"local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])\n"
	"for _, c in ipairs(old) do redis.call('HDEL', KEYS[1], c) end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
	"return redis.call('PUBLISH', KEYS[1], ARGV[2])\n";

static struct {
	gw_redis_conf_t conf;
	char hash[GW_REDIS_PREFIX_MAX + 8], zset[GW_REDIS_PREFIX_MAX + 16];
	char node[GW_BANPUB_NODE_LEN + 1];
	uint64_t forgive_s, key_ttl_s;
	redisContext *cmd, *sub;
	int efd;
	pthread_t tid;
	bool started;
	int stop; /* atomic */
	pthread_mutex_t lock;
	struct op *queue, **tail;
	size_t queued;
	gw_banpub_stats_t st;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

#define COUNT(f) __atomic_add_fetch(&P.st.f, 1, __ATOMIC_RELAXED)

static int64_t rt_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- pure helpers ---- */

uint64_t gw_banpub_local_mono(int64_t decided_rt_ns, int64_t now_rt_ns, uint64_t now_mono_ns)
{
	uint64_t ago = now_rt_ns > decided_rt_ns ? (uint64_t)(now_rt_ns - decided_rt_ns) : 0;

	return ago < now_mono_ns ? now_mono_ns - ago : 1;
}

int gw_banpub_encode(const gw_banpub_msg_t *m, char *out, size_t len)
{
	char c[FG_CIDR_STRLEN];
	const gw_ban_t *b = &m->ban;
	int n = snprintf(out, len,
			 "{\"node\":\"%s\",\"op\":\"%s\",\"cidr\":\"%s\",\"reason\":\"%s\","
			 "\"score\":%llu,\"created\":%lld,\"expires\":%lld,\"offences\":%u,"
			 "\"edge\":%s,\"decided_ns\":%lld%s%s%s}",
			 m->node, m->lifted ? "lift" : "ban",
			 fg_cidr_format_full(&b->cidr, c, sizeof(c)), b->reason,
			 (unsigned long long)b->score, (long long)b->created, (long long)b->expires,
			 b->offences, b->edge ? "true" : "false", (long long)m->decided_rt_ns,
			 /* origin: only gw_banorigin_valid() ids are kept (nothing to escape) */
			 b->origin[0] ? ",\"origin\":\"" : "", b->origin, b->origin[0] ? "\"" : "");

	/* reason is checked where it is made (plain characters, no quote or backslash) */
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

static bool plain(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n < max && !strpbrk(s, "\"\\\r\n\t");
}

int gw_banpub_decode(const char *json, size_t len, gw_banpub_msg_t *m, const char **why)
{
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	json_int_t score = -1, created = -1, expires = -1, offences = -1, decided = -1;
	const char *node = NULL, *op = NULL, *cidr = NULL, *reason = NULL, *origin = NULL;
	int edge = -1, ret = -EINVAL;

	memset(m, 0, sizeof(*m));
	*why = "not a JSON object";
	if (!o || !json_is_object(o))
		goto out;
	*why = "missing or mistyped fields";
	if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:I, s?s}", "node", &node,
			"op", &op, "cidr", &cidr, "reason", &reason, "score", &score, "created",
			&created, "expires", &expires, "offences", &offences, "edge", &edge,
			"decided_ns", &decided, "origin", &origin))
		goto out;
	*why = "bad node id";
	if (strlen(node) != GW_BANPUB_NODE_LEN)
		goto out;
	*why = "op is neither ban nor lift";
	if (strcmp(op, "ban") && strcmp(op, "lift"))
		goto out;
	*why = "bad CIDR";
	if (fg_cidr_parse(cidr, &m->ban.cidr, NULL))
		goto out;
	*why = "bad reason";
	if (!plain(reason, GW_BAN_REASON_MAX))
		goto out;
	*why = "bad origin"; /* absent: a record from a node before origins */
	if (origin && !gw_banorigin_valid(origin))
		goto out;
	*why = "negative or out-of-range numbers";
	if (score < 0 || created < 0 || expires < created || offences < 0 ||
	    offences > UINT32_MAX || decided < 0)
		goto out;
	snprintf(m->node, sizeof(m->node), "%s", node);
	m->lifted = !strcmp(op, "lift");
	m->decided_rt_ns = decided;
	snprintf(m->ban.reason, sizeof(m->ban.reason), "%s", reason);
	m->ban.score = (uint64_t)score;
	m->ban.created = created;
	m->ban.expires = expires;
	m->ban.offences = (uint32_t)offences;
	m->ban.edge = edge;
	if (origin)
		snprintf(m->ban.origin, sizeof(m->ban.origin), "%s", origin);
	*why = NULL;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* ---- Redis ---- */

static int subscribe(char *why, size_t len)
{
	redisContext *c = gw_redis_connect_sync(&P.conf, READ_TIMEOUT_MS, why, len);
	redisReply *r;

	if (!c)
		return -EIO;
	r = redisCommand(c, "SUBSCRIBE %s", P.hash);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		snprintf(why, len, "SUBSCRIBE %s: %.80s", P.hash,
			 r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply")
			   : c->errstr);
		if (r)
			freeReplyObject(r);
		redisFree(c);
		return -EIO;
	}
	freeReplyObject(r);
	P.sub = c;
	return 0;
}

/* Write one record: 0, -EIO (connection lost: retry later) or -EINVAL (refused: drop). */
static int write_record(const gw_banpub_msg_t *m)
{
	char rec[RECORD_MAX], c[FG_CIDR_STRLEN], exp[24], before[24], ttl[24];
	int64_t now = (int64_t)time(NULL);
	const char *argv[10] = { "EVAL", write_lua, "2", P.hash, P.zset, c, rec, exp, before, ttl };
	size_t alen[10];
	redisReply *r;
	int ret;

	if (gw_banpub_encode(m, rec, sizeof(rec)) < 0)
		return -EINVAL;
	fg_cidr_format_full(&m->ban.cidr, c, sizeof(c));
	snprintf(exp, sizeof(exp), "%lld", (long long)m->ban.expires);
	snprintf(before, sizeof(before), "%lld", (long long)(now - (int64_t)P.forgive_s));
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)P.key_ttl_s);
	for (int i = 0; i < 10; i++)
		alen[i] = strlen(argv[i]);
	if (!(r = redisCommandArgv(P.cmd, 10, argv, alen)))
		return -EIO;
	ret = r->type == REDIS_REPLY_ERROR ? -EINVAL : 0;
	if (ret)
		pr_err("ban cluster: Redis refused the record of %s: %s", c, r->str);
	freeReplyObject(r);
	return ret;
}

/* ---- applying records ---- */

static int cidr_cmp(const void *a, const void *b)
{
	const struct fg_cidr *x = &((const gw_ban_t *)a)->cidr, *y = &((const gw_ban_t *)b)->cidr;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static gw_ban_t *local_of(gw_ban_t *v, size_t n, const struct fg_cidr *c)
{
	gw_ban_t key = { .cidr = *c };

	return n ? bsearch(&key, v, n, sizeof(*v), cidr_cmp) : NULL;
}

/* A record from another node (or the hash): into this node's maps, never published. */
static void apply(const gw_banpub_msg_t *m, bool live)
{
	int64_t now = (int64_t)time(NULL);
	char t[FG_CIDR_STRLEN];
	gw_ban_t b = m->ban;

	fg_cidr_format_full(&b.cidr, t, sizeof(t));
	if (m->lifted) {
		if (!gw_ban_lift(&b.cidr, false))
			pr_info("ban cluster: %s lifted by node %s", t, m->node);
		gw_ban_remember(&b);
		return;
	}
	if (b.expires <= now) {
		gw_ban_remember(&b);
		return;
	}
	b.decided_ns = gw_banpub_local_mono(m->decided_rt_ns, rt_ns(), fg_mono_ns());
	if (gw_ban_install(&b))
		return; /* logged by ban.c */
	if (live) {
		/* ban.c stamped installed_ns a few instructions ago; this is within them */
		uint64_t lag = fg_mono_ns() - b.decided_ns;

		__atomic_store_n(&P.st.last_lag_ns, lag, __ATOMIC_RELAXED);
		pr_info("ban cluster: %s %s from node %s, installed %llu us after its verdict",
			b.edge ? "tightened edge" : "banned", t, m->node,
			(unsigned long long)(lag / 1000));
	}
}

/*
 * Make the local bans equal to the hash. since_ns: bans installed here after it are newer
 * than the read (queued, or published while it ran) and are kept.
 */
static int resync(uint64_t since_ns, char *why, size_t len)
{
	const char *argv[2] = { "HGETALL", P.hash };
	size_t alen[2] = { 7, strlen(P.hash) };
	redisReply *r = redisCommandArgv(P.cmd, 2, argv, alen);
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, applied = 0, records;
	gw_ban_t *v = NULL;
	bool *seen = NULL;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		snprintf(why, len, "HGETALL %s: %.80s", P.hash,
			 r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply")
			   : P.cmd->errstr);
		if (r)
			freeReplyObject(r);
		return -EIO;
	}
	if (gw_ban_list(&v, &n) || !(seen = calloc(n + 1, sizeof(*seen)))) {
		free(v);
		freeReplyObject(r);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	qsort(v, n, sizeof(*v), cidr_cmp);
	records = r->elements / 2;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *e = r->element[i + 1];
		gw_banpub_msg_t m;
		const char *bad;
		gw_ban_t *l;

		if (e->type != REDIS_REPLY_STRING || gw_banpub_decode(e->str, e->len, &m, &bad)) {
			pr_warn("ban cluster: skipping a record in %s: %s", P.hash,
				e->type == REDIS_REPLY_STRING ? bad : "not a string");
			continue;
		}
		l = local_of(v, n, &m.ban.cidr);
		if (l)
			seen[l - v] = true;
		if (!m.lifted && m.ban.expires > now) {
			/* Already in force here as written: nothing to do. */
			if (l && l->expires == m.ban.expires && l->edge == m.ban.edge)
				continue;
			apply(&m, false);
			applied++;
		} else if (l && l->installed_ns < since_ns) {
			m.lifted = true; /* lifted or over in the cluster, still here */
			apply(&m, false);
			applied++;
		} else if (!l) {
			gw_ban_remember(&m.ban); /* the repeat rule's history */
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!seen[i] && v[i].installed_ns < since_ns && !gw_ban_lift(&v[i].cidr, false))
			applied++;
	}
	free(seen);
	free(v);
	freeReplyObject(r);
	COUNT(resyncs);
	pr_info("ban cluster: %zu records read from %s, %zu applied", records, P.hash, applied);
	return 0;
}

/* Announcements waiting on the subscription. -EIO when it broke. */
static int drain_sub(void)
{
	redisReply *r = NULL;

	if (redisBufferRead(P.sub) != REDIS_OK)
		return -EIO;
	while (redisGetReplyFromReader(P.sub, (void **)&r) == REDIS_OK && r) {
		gw_banpub_msg_t m;
		const char *bad;

		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    !strcmp(r->element[0]->str, "message") &&
		    r->element[2]->type == REDIS_REPLY_STRING) {
			if (gw_banpub_decode(r->element[2]->str, r->element[2]->len, &m, &bad))
				pr_warn("ban cluster: ignoring a message: %s", bad);
			else if (strcmp(m.node, P.node)) { /* our own come back too */
				apply(&m, true);
				COUNT(received);
			}
		}
		freeReplyObject(r);
		r = NULL;
	}
	return P.sub->err ? -EIO : 0;
}

/* ---- local decisions ---- */

static void on_local(void *arg, const gw_ban_t *b, bool lifted)
{
	struct op *o = calloc(1, sizeof(*o));
	uint64_t one = 1, mono = fg_mono_ns();
	bool full;

	(void)arg;
	if (!o) {
		COUNT(dropped);
		pr_err("ban cluster: Couldn't queue a ban for Redis: out of memory");
		return;
	}
	snprintf(o->m.node, sizeof(o->m.node), "%s", P.node);
	o->m.lifted = lifted;
	o->m.ban = *b;
	o->m.decided_rt_ns = rt_ns();
	if (!lifted && b->decided_ns && b->decided_ns <= mono)
		o->m.decided_rt_ns -= (int64_t)(mono - b->decided_ns);
	pthread_mutex_lock(&P.lock);
	full = P.queued >= QUEUE_MAX;
	if (!full) {
		*P.tail = o;
		P.tail = &o->next;
		P.queued++;
	}
	pthread_mutex_unlock(&P.lock);
	if (full) {
		free(o);
		COUNT(dropped);
		pr_err("ban cluster: %d bans wait for Redis already; this one stays on this node",
		       QUEUE_MAX);
		return;
	}
	if (write(P.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("ban cluster: eventfd: %s", strerror(errno));
}

/* Write what is queued. 0 when all went, -EIO when the connection broke (kept). */
static int flush(void)
{
	for (;;) {
		struct op *o;
		int ret;

		pthread_mutex_lock(&P.lock);
		o = P.queue;
		pthread_mutex_unlock(&P.lock);
		if (!o)
			return 0;
		ret = write_record(&o->m);
		if (ret == -EIO) {
			COUNT(publish_errors);
			return -EIO;
		}
		if (ret)
			COUNT(dropped);
		else
			COUNT(published);
		pthread_mutex_lock(&P.lock);
		P.queue = o->next;
		if (!P.queue)
			P.tail = &P.queue;
		P.queued--;
		pthread_mutex_unlock(&P.lock);
		free(o);
	}
}

/* ---- the thread ---- */

static bool stopping(void)
{
	return __atomic_load_n(&P.stop, __ATOMIC_ACQUIRE);
}

static void drop(redisContext **c)
{
	if (*c)
		redisFree(*c);
	*c = NULL;
}

static void *run(void *arg)
{
	unsigned sub_fail = 0, cmd_fail = 0;
	uint64_t next_sub = 0, next_cmd = 0;
	bool resync_due = false;
	char why[256];

	(void)arg;
	while (!stopping()) {
		struct pollfd pfd[2] = { { .fd = P.efd, .events = POLLIN },
					 { .fd = P.sub ? P.sub->fd : -1, .events = POLLIN } };
		uint64_t now = fg_mono_ns(), junk;
		bool pending;

		if (!P.sub && now >= next_sub) {
			if (!subscribe(why, sizeof(why))) {
				pr_info("ban cluster: subscribed again; reading every ban");
				resync_due = true;
				sub_fail = 0;
			} else {
				if (sub_fail == 0)
					pr_warn("ban cluster: %s; retrying", why);
				next_sub = now + gw_redis_backoff_ms(sub_fail++) * 1000000;
			}
			pfd[1].fd = P.sub ? P.sub->fd : -1;
		}
		pthread_mutex_lock(&P.lock);
		pending = P.queue != NULL;
		pthread_mutex_unlock(&P.lock);
		if (!P.cmd && (pending || resync_due) && now >= next_cmd) {
			if (!(P.cmd = gw_redis_connect_sync(&P.conf, WRITE_TIMEOUT_MS, why,
							    sizeof(why)))) {
				if (cmd_fail == 0)
					pr_warn("ban cluster: %s; bans wait", why);
				next_cmd = now + gw_redis_backoff_ms(cmd_fail++) * 1000000;
			} else {
				cmd_fail = 0;
			}
		}
		if (P.cmd && flush())
			drop(&P.cmd);
		/* Published first, then read: the read has every local decision. */
		if (P.cmd && resync_due && !pending) {
			redisSetTimeout(P.cmd, (struct timeval){ READ_TIMEOUT_MS / 1000, 0 });
			if (!resync(fg_mono_ns(), why, sizeof(why)))
				resync_due = false;
			else {
				pr_warn("ban cluster: resync: %s", why);
				drop(&P.cmd);
			}
			if (P.cmd)
				redisSetTimeout(P.cmd,
						(struct timeval){ WRITE_TIMEOUT_MS / 1000, 0 });
		}
		if (poll(pfd, 2, POLL_MS) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			(void)!read(P.efd, &junk, sizeof(junk));
		if (P.sub && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)) && drain_sub()) {
			pr_warn("ban cluster: lost the subscription (%s); resubscribing",
				P.sub->errstr[0] ? P.sub->errstr : "closed");
			drop(&P.sub);
		}
	}
	return NULL;
}

int gw_banpub_start(const gw_config_t *cfg, char *err, size_t errlen)
{
	const gw_edgecfg_t *ec = cfg->edge;
	uint8_t id[GW_BANPUB_NODE_LEN / 2];
	char why[256];
	int rc;

	P.conf = cfg->store.redis;
	snprintf(P.hash, sizeof(P.hash), "%sbans", P.conf.prefix);
	snprintf(P.zset, sizeof(P.zset), "%sbans:expiry", P.conf.prefix);
	P.forgive_s = ec->ban_max_ttl_s > FORGIVE_MIN_S ? ec->ban_max_ttl_s : FORGIVE_MIN_S;
	P.key_ttl_s = P.forgive_s + ec->ban_max_ttl_s + 3600;
	if (getrandom(id, sizeof(id), 0) != sizeof(id)) {
		snprintf(err, errlen, "Couldn't make a node id: %s", strerror(errno));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(P.node + 2 * i, 3, "%02x", id[i]);
	P.tail = &P.queue;
	if ((P.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "Couldn't create the ban cluster's eventfd: %s",
			 strerror(errno));
		return -errno;
	}
	/* Subscribed before the read: nothing written meanwhile is missed. */
	if (subscribe(why, sizeof(why)) ||
	    !(P.cmd = gw_redis_connect_sync(&P.conf, READ_TIMEOUT_MS, why, sizeof(why))) ||
	    resync(fg_mono_ns(), why, sizeof(why))) {
		snprintf(err, errlen, "Couldn't read the cluster's bans: %s", why);
		gw_banpub_stop();
		return -EIO;
	}
	/* Pinned maps outlive a stop: a ban lifted in the cluster meanwhile is still there. */
	gw_ban_sweep_orphans();
	redisSetTimeout(P.cmd, (struct timeval){ WRITE_TIMEOUT_MS / 1000, 0 });
	gw_ban_set_publisher(on_local, NULL);
	if ((rc = pthread_create(&P.tid, NULL, run, NULL))) {
		gw_ban_set_publisher(NULL, NULL);
		snprintf(err, errlen, "Couldn't start the ban cluster thread: %s", strerror(rc));
		gw_banpub_stop();
		return -rc;
	}
	pthread_setname_np(P.tid, "fg-banpub");
	P.started = true;
	pr_info("ban cluster: node %s, bans in %s", P.node, P.hash);
	return 0;
}

void gw_banpub_stop(void)
{
	gw_ban_set_publisher(NULL, NULL);
	if (P.started) {
		__atomic_store_n(&P.stop, 1, __ATOMIC_RELEASE);
		pthread_join(P.tid, NULL);
		P.started = false;
		/* One last try for what is queued: a ban decided just before a stop. */
		if (P.cmd && flush())
			pr_warn("ban cluster: %zu bans not written to Redis at stop", P.queued);
	}
	drop(&P.cmd);
	drop(&P.sub);
	while (P.queue) {
		struct op *o = P.queue;

		P.queue = o->next;
		free(o);
	}
	P.tail = &P.queue;
	P.queued = 0;
	if (P.efd >= 0)
		close(P.efd);
	P.efd = -1;
}

void gw_banpub_stats(gw_banpub_stats_t *out)
{
	out->published = __atomic_load_n(&P.st.published, __ATOMIC_RELAXED);
	out->publish_errors = __atomic_load_n(&P.st.publish_errors, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&P.st.dropped, __ATOMIC_RELAXED);
	out->received = __atomic_load_n(&P.st.received, __ATOMIC_RELAXED);
	out->resyncs = __atomic_load_n(&P.st.resyncs, __ATOMIC_RELAXED);
	out->last_lag_ns = __atomic_load_n(&P.st.last_lag_ns, __ATOMIC_RELAXED);
}

int gw_banpub_metrics_append(char **buf, size_t *len)
{
	gw_banpub_stats_t st;
	char *more = NULL, *p;
	int n;

	if (!__atomic_load_n(&P.started, __ATOMIC_RELAXED))
		return 0;
	gw_banpub_stats(&st);
	n = asprintf(
		&more,
		"# HELP floodgate_ban_cluster_records_total Ban records exchanged through "
		"Redis, by what happened.\n"
		"# TYPE floodgate_ban_cluster_records_total counter\n"
		"floodgate_ban_cluster_records_total{event=\"published\"} %llu\n"
		"floodgate_ban_cluster_records_total{event=\"publish_error\"} %llu\n"
		"floodgate_ban_cluster_records_total{event=\"dropped\"} %llu\n"
		"floodgate_ban_cluster_records_total{event=\"received\"} %llu\n"
		"# HELP floodgate_ban_cluster_resyncs_total Full reads of the cluster's bans "
		"(start, lost subscription).\n"
		"# TYPE floodgate_ban_cluster_resyncs_total counter\n"
		"floodgate_ban_cluster_resyncs_total %llu\n"
		"# HELP floodgate_ban_cluster_last_lag_seconds The last ban from another node: "
		"its verdict there to its XDP entry here.\n"
		"# TYPE floodgate_ban_cluster_last_lag_seconds gauge\n"
		"floodgate_ban_cluster_last_lag_seconds %.6f\n",
		(unsigned long long)st.published, (unsigned long long)st.publish_errors,
		(unsigned long long)st.dropped, (unsigned long long)st.received,
		(unsigned long long)st.resyncs, (double)st.last_lag_ns / 1e9);
	if (n < 0)
		return -ENOMEM;
	p = realloc(*buf, *len + (size_t)n + 1);
	if (!p) {
		free(more);
		return -ENOMEM;
	}
	memcpy(p + *len, more, (size_t)n + 1);
	*buf = p;
	*len += (size_t)n;
	free(more);
	return 0;
}

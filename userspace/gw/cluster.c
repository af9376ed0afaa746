/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster.c - the admission script, its calls, and the fail-open accounting (see
 * cluster.h).
 *
 * Lua numbers are doubles: the bucket's content and the clock are integers below 2^53 ns
 * only when handled with care, so the stamp is kept as Redis's TIME pair (seconds,
 * microseconds), the elapsed time is computed from differences, and the credit is
 * written with %.0f (Lua's tostring would round to 14 digits). A plan whose full bucket
 * is more than 2^53 ns (104 days) of tokens would lose precision; config limits make
 * that a burst of millions at a rate of one a day, which no plan here comes near.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "log.h"
#include "tb.h"
#include "gw/apikey.h"
#include "gw/cluster.h"

/* Counters this node can hold for reconciliation (per worker). */
#define PENDING_SLOTS 4096
/* Longest full counter key. */
#define KEY_MAX	      (GW_REDIS_PREFIX_MAX + GW_APIKEY_ID_LEN + GW_CLUSTER_SUFFIX_MAX + 8)

#define LOAD(x)	    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define ADD(x, n)   STORE(x, LOAD(x) + (n))
#define INC(x)	    ADD(x, 1)

/*
 * KEYS[1] the bucket (hash c = credit ns, s/u = stamp as TIME), KEYS[1+i] counter i.
 * ARGV[1] interval_ns, [2] cap_ns, [3] bucket TTL in ms, [4] n, then per counter i
 * (1-based): [4i+1] limit (0 none), [4i+2] cost, [4i+3] expire-at (0 never), [4i+4] hard.
 * Returns {verdict, credit_ns, value_1 .. value_n}: verdict 0 admitted, 1 no token (no
 * values then), 1+i counter i refused. A counter's expiry is set when the script creates
 * it (its period, hence its expiry, never changes afterwards): the steady state costs no
 * EXPIREAT. The stamp is written back as the strings TIME (or the hash) gave: the same
 * digits, without converting numbers to text in Redis.
 */
const char gw_cluster_script[] =
	"local t = redis.call('TIME')\n"
	"local ns, nu = tonumber(t[1]), tonumber(t[2])\n"
	"local ts, tu = t[1], t[2]\n"
	"local iv, cap, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])\n"
	"local b = redis.call('HMGET', KEYS[1], 'c', 's', 'u')\n"
	"local credit = cap\n"
	"if b[1] then\n"
	"  local c, s, u = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])\n"
	"  if c > cap then c = cap end\n"
	"  local gap = (ns - s) * 1000000000 + (nu - u) * 1000\n"
	"  if gap <= 0 then credit = c; ts = b[2]; tu = b[3]\n"
	"  elseif gap >= cap - c then credit = cap\n"
	"  else credit = c + gap end\n"
	"end\n"
	"local out = {0, 0}\n"
	"if credit < iv then\n"
	"  out[1] = 1\n"
	"else\n"
	"  local fresh = {}\n"
	"  local got = n > 0 and redis.call('MGET', unpack(KEYS, 2, n + 1)) or {}\n"
	"  for i = 1, n do\n"
	"    local g = got[i]\n"
	"    local v = tonumber(g or '0')\n"
	"    fresh[i] = not g\n"
	"    out[i + 2] = v\n"
	"    if out[1] == 0 and ARGV[4 * i + 4] == '1' then\n"
	"      local lim = tonumber(ARGV[4 * i + 1])\n"
	"      if lim > 0 and v + tonumber(ARGV[4 * i + 2]) > lim then out[1] = 1 + i end\n"
	"    end\n"
	"  end\n"
	"  if out[1] == 0 then\n"
	"    credit = credit - iv\n"
	"    redis.call('HSET', KEYS[1], 'c', string.format('%.0f', credit), 's', ts, 'u', tu)\n"
	"    redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
	"    for i = 1, n do\n"
	"      out[i + 2] = redis.call('INCRBY', KEYS[i + 1], ARGV[4 * i + 2])\n"
	"      if fresh[i] then\n"
	"        local e = tonumber(ARGV[4 * i + 3])\n"
	"        if e > 0 then redis.call('EXPIREAT', KEYS[i + 1], e) end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"out[2] = credit\n"
	"return out\n";

/* The admission script's refill, then the counters read; nothing written. */
const char gw_cluster_read_script[] =
	"local t = redis.call('TIME')\n"
	"local ns, nu = tonumber(t[1]), tonumber(t[2])\n"
	"local cap, n = tonumber(ARGV[2]), tonumber(ARGV[4])\n"
	"local b = redis.call('HMGET', KEYS[1], 'c', 's', 'u')\n"
	"local credit = cap\n"
	"if b[1] then\n"
	"  local c, s, u = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])\n"
	"  if c > cap then c = cap end\n"
	"  local gap = (ns - s) * 1000000000 + (nu - u) * 1000\n"
	"  if gap <= 0 then credit = c\n"
	"  elseif gap >= cap - c then credit = cap\n"
	"  else credit = c + gap end\n"
	"end\n"
	"local out = {0, string.format('%.0f', credit)}\n"
	"local got = n > 0 and redis.call('MGET', unpack(KEYS, 2, n + 1)) or {}\n"
	"for i = 1, n do out[i + 2] = tonumber(got[i] or '0') end\n"
	"out[2] = tonumber(out[2])\n"
	"return out\n";

/* Refund: KEYS the counters, ARGV[i] what to take back from KEYS[i]. */
static const char refund_script[] = "for i = 1, #KEYS do\n"
				    "  if redis.call('EXISTS', KEYS[i]) == 1 then\n"
				    "    if redis.call('DECRBY', KEYS[i], ARGV[i]) < 0 then\n"
				    "      redis.call('SET', KEYS[i], 0, 'KEEPTTL')\n"
				    "    end\n"
				    "  end\n"
				    "end\n"
				    "return 1\n";

static char script_sha[41];
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void compute_sha(void)
{
	unsigned char d[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)gw_cluster_script, strlen(gw_cluster_script), d);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(script_sha + 2 * i, 3, "%02x", d[i]);
}

const char *gw_cluster_script_sha(void)
{
	pthread_once(&sha_once, compute_sha);
	return script_sha;
}

/* ---- arguments and reply (pure) ---- */

static bool valid_suffix(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > GW_CLUSTER_SUFFIX_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == ':' || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/*
 * The arguments are written by hand, not with printf: this runs once per request with
 * some thirty arguments, and vsnprintf was a visible share of the daemon's CPU.
 */

/* Decimal digits of v into d (no terminator); their count. */
static size_t u64_digits(uint64_t v, char d[20])
{
	char tmp[20];
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		d[i++] = tmp[--n];
	return i;
}

/* Open a new argument; NULL when the vector or the buffer is full. */
static char *arg_open(gw_cluster_args_t *a, size_t used, size_t need)
{
	if (a->argc >= GW_CLUSTER_ARGS_MAX || need + 1 > sizeof(a->buf) - used)
		return NULL;
	return a->buf + used;
}

/* Close the argument opened at p with len bytes. */
static void arg_close(gw_cluster_args_t *a, size_t *used, char *p, size_t len)
{
	p[len] = '\0';
	a->argv[a->argc] = p;
	a->len[a->argc++] = len;
	*used += len + 1;
}

static bool arg_u64(gw_cluster_args_t *a, size_t *used, uint64_t v)
{
	char *p = arg_open(a, *used, 20);

	if (!p)
		return false;
	arg_close(a, used, p, u64_digits(v, p));
	return true;
}

/* PREFIX{KEY_ID}:SUFFIX */
static bool arg_key(gw_cluster_args_t *a, size_t *used, const char *prefix, size_t plen,
		    const char *key_id, size_t klen, const char *suffix)
{
	size_t slen = strlen(suffix), len = plen + klen + 3 + slen;
	char *p = arg_open(a, *used, len);

	if (!p)
		return false;
	memcpy(p, prefix, plen);
	p[plen] = '{';
	memcpy(p + plen + 1, key_id, klen);
	p[plen + 1 + klen] = '}';
	p[plen + 2 + klen] = ':';
	memcpy(p + plen + klen + 3, suffix, slen);
	arg_close(a, used, p, len);
	return true;
}

int gw_cluster_build_args(gw_cluster_args_t *a, const char *prefix, const char *key_id,
			  const gw_limit_t *l, const gw_cluster_counter_t *ctrs, size_t n)
{
	size_t used = 0, plen = strlen(prefix), klen = strlen(key_id);
	bool ok;

	if (n > GW_CLUSTER_COUNTERS_MAX || (n && !ctrs))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!valid_suffix(ctrs[i].suffix))
			return -EINVAL;
	a->argc = 2; /* EVALSHA sha | EVAL script: the sender's */
	a->argv[0] = a->argv[1] = "";
	a->len[0] = a->len[1] = 0;
	ok = arg_u64(a, &used, n + 1) && arg_key(a, &used, prefix, plen, key_id, klen, "tb");
	for (size_t i = 0; ok && i < n; i++)
		ok = arg_key(a, &used, prefix, plen, key_id, klen, ctrs[i].suffix);
	ok = ok && arg_u64(a, &used, l->interval_ns) && arg_u64(a, &used, l->cap_ns) &&
	     /* an idle bucket is full again after cap_ns: keep it that long, and a second */
	     arg_u64(a, &used, l->cap_ns / 1000000 + 1000) && arg_u64(a, &used, n);
	for (size_t i = 0; ok && i < n; i++)
		ok = arg_u64(a, &used, ctrs[i].limit) && arg_u64(a, &used, ctrs[i].cost) &&
		     arg_u64(a, &used, ctrs[i].expire_at > 0 ? (uint64_t)ctrs[i].expire_at : 0) &&
		     arg_u64(a, &used, ctrs[i].hard ? 1 : 0);
	return ok ? 0 : -EINVAL;
}

size_t gw_cluster_format_resp(const gw_cluster_args_t *a, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < 24)
		return 0;
	out[o++] = '*';
	o += u64_digits((uint64_t)a->argc, out + o);
	out[o++] = '\r';
	out[o++] = '\n';
	for (int i = 0; i < a->argc; i++) {
		/* "$" + up to 20 digits + CRLF + the bytes + CRLF */
		if (cap - o < a->len[i] + 25)
			return 0;
		out[o++] = '$';
		o += u64_digits(a->len[i], out + o);
		out[o++] = '\r';
		out[o++] = '\n';
		memcpy(out + o, a->argv[i], a->len[i]);
		o += a->len[i];
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

static bool as_u64(const redisReply *r, uint64_t *v)
{
	if (r->type != REDIS_REPLY_INTEGER || r->integer < 0)
		return false;
	*v = (uint64_t)r->integer;
	return true;
}

int gw_cluster_parse_reply(const redisReply *reply, size_t n, gw_cluster_result_t *res)
{
	uint64_t verdict;

	memset(res, 0, sizeof(*res));
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    !as_u64(reply->element[0], &verdict) || !as_u64(reply->element[1], &res->credit_ns))
		return -EPROTO;
	if (verdict == 0)
		res->verdict = GW_CLUSTER_ADMIT;
	else if (verdict == 1)
		res->verdict = GW_CLUSTER_BUCKET;
	else if (verdict - 2 < n) {
		res->verdict = GW_CLUSTER_COUNTER;
		res->counter = (size_t)(verdict - 2);
	} else
		return -EPROTO;
	if (res->verdict != GW_CLUSTER_BUCKET) {
		if (reply->elements != n + 2)
			return -EPROTO;
		for (size_t i = 0; i < n; i++)
			if (!as_u64(reply->element[i + 2], &res->values[i]))
				return -EPROTO;
		res->nvalues = n;
	}
	return 0;
}

/* ---- the client ---- */

/* What this node counted while Redis could not, and the last value Redis reported. */
struct pending {
	char *key; /* NULL = free slot */
	uint64_t delta;
	uint64_t known;
	int64_t expire_at;
};

struct st_gw_cluster_t {
	gw_redis_t *redis;
	enum gw_redis_policy policy;
	char prefix[GW_REDIS_PREFIX_MAX + 1];
	struct pending *pending; /* [PENDING_SLOTS] */
	size_t npending;	 /* slots in use */
	gw_cluster_stats_t stats;
	struct admit *spare; /* finished admissions kept for reuse (a list through next) */
	size_t nspare;
	char resp[GW_CLUSTER_RESP_MAX]; /* the command being sent, in RESP */
};

/* Finished admissions kept for reuse: one is several kB, malloc'd per request it showed. */
#define SPARE_MAX 64

/* One admission in flight. */
struct admit {
	struct admit *next; /* in c->spare */
	gw_cluster_t *c;
	gw_cluster_cb cb;
	void *data;
	size_t n;
	bool retried; /* already sent again as EVAL after NOSCRIPT */
	bool read;    /* the read-only script (sent as EVAL, not counted as a call) */
	gw_cluster_args_t args;
};

static struct pending *pending_slot(gw_cluster_t *c, const char *key, bool create);

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Forget every counter with nothing to reconcile (the table is full of old keys). */
static void pending_compact(gw_cluster_t *c)
{
	struct pending *old = c->pending, *fresh = calloc(PENDING_SLOTS, sizeof(*fresh));

	if (!fresh)
		return;
	c->pending = fresh;
	c->npending = 0;
	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		struct pending *p;

		if (!old[i].key)
			continue;
		if (!old[i].delta || !(p = pending_slot(c, old[i].key, true))) {
			free(old[i].key);
			continue;
		}
		free(p->key);
		*p = old[i];
	}
	free(old);
}

/* The slot of key, created when create is set; NULL when absent (or the table is full). */
static struct pending *pending_slot(gw_cluster_t *c, const char *key, bool create)
{
	size_t i = (size_t)hash_str(key) & (PENDING_SLOTS - 1);

	if (create && c->npending >= PENDING_SLOTS / 4 * 3)
		pending_compact(c);
	for (size_t probe = 0; probe < PENDING_SLOTS; probe++, i = (i + 1) & (PENDING_SLOTS - 1)) {
		struct pending *p = &c->pending[i];

		if (p->key && !strcmp(p->key, key))
			return p;
		if (!p->key) {
			if (!create || !(p->key = strdup(key)))
				return NULL;
			c->npending++;
			return p;
		}
	}
	return NULL;
}

static void admit_free(struct admit *ad)
{
	gw_cluster_t *c = ad->c;

	if (c->nspare >= SPARE_MAX) {
		free(ad);
		return;
	}
	ad->next = c->spare;
	c->spare = ad;
	c->nspare++;
}

static void deliver(struct admit *ad, const gw_cluster_result_t *res)
{
	ad->cb(ad->data, res);
	admit_free(ad);
}

static void unavailable(struct admit *ad, const char *why)
{
	gw_cluster_result_t res = { .verdict = GW_CLUSTER_UNAVAILABLE, .err = why };

	INC(ad->c->stats.unavailable);
	deliver(ad, &res);
}

static int send_admit(struct admit *ad);

static void on_admit_reply(void *data, redisReply *reply, const char *err)
{
	struct admit *ad = data;
	gw_cluster_t *c = ad->c;
	gw_cluster_result_t res;

	if (!reply) {
		unavailable(ad, err);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (!ad->read && !ad->retried && !strncmp(reply->str, "NOSCRIPT", 8)) {
			/* The script cache was flushed: send the script itself, which reloads it. */
			ad->retried = true;
			INC(c->stats.script_loads);
			if (!send_admit(ad))
				return;
			unavailable(ad, "disconnected");
			return;
		}
		pr_warn("redis: admission script failed: %s", reply->str);
		unavailable(ad, "script error");
		return;
	}
	if (gw_cluster_parse_reply(reply, ad->n, &res)) {
		unavailable(ad, "unexpected script reply");
		return;
	}
	if (ad->read) {
		deliver(ad, &res);
		return;
	}
	if (res.verdict == GW_CLUSTER_ADMIT)
		INC(c->stats.admitted);
	else
		INC(c->stats.refused);
	/* Remember what Redis says the counters hold, for fail-open decisions later. */
	for (size_t i = 0; i < res.nvalues; i++) {
		struct pending *p = pending_slot(c, ad->args.argv[4 + i], true);

		if (p)
			p->known = res.values[i];
	}
	deliver(ad, &res);
}

static int send_admit(struct admit *ad)
{
	gw_cluster_t *c = ad->c;
	size_t len;

	if (ad->read) {
		ad->args.argv[0] = "EVAL";
		ad->args.len[0] = 4;
		ad->args.argv[1] = gw_cluster_read_script;
		ad->args.len[1] = strlen(gw_cluster_read_script);
		return gw_redis_command(c->redis, on_admit_reply, ad, ad->args.argc, ad->args.argv,
					ad->args.len);
	}
	INC(c->stats.calls);
	if (ad->retried) {
		ad->args.argv[0] = "EVAL";
		ad->args.len[0] = 4;
		ad->args.argv[1] = gw_cluster_script;
		ad->args.len[1] = strlen(gw_cluster_script);
		return gw_redis_command(c->redis, on_admit_reply, ad, ad->args.argc, ad->args.argv,
					ad->args.len);
	}
	/* The hot path: formatted here into one reused buffer, which hiredis copies once. */
	ad->args.argv[0] = "EVALSHA";
	ad->args.len[0] = 7;
	ad->args.argv[1] = gw_cluster_script_sha();
	ad->args.len[1] = 40;
	len = gw_cluster_format_resp(&ad->args, c->resp, sizeof(c->resp));
	if (!len)
		return -EINVAL;
	return gw_redis_command_resp(c->redis, on_admit_reply, ad, c->resp, len);
}

static int start(gw_cluster_t *c, bool read, const char *key_id, const gw_limit_t *l,
		 const gw_cluster_counter_t *ctrs, size_t n, gw_cluster_cb cb, void *data)
{
	struct admit *ad;
	int ret;

	if (!gw_redis_ready(c->redis))
		return -ENOTCONN;
	if ((ad = c->spare)) {
		c->spare = ad->next;
		c->nspare--;
	} else if (!(ad = malloc(sizeof(*ad)))) {
		return -ENOMEM;
	}
	ad->c = c;
	ad->cb = cb;
	ad->data = data;
	ad->n = n;
	ad->retried = false;
	ad->read = read;
	if ((ret = gw_cluster_build_args(&ad->args, c->prefix, key_id, l, ctrs, n)) ||
	    (ret = send_admit(ad))) {
		admit_free(ad);
		return ret;
	}
	return 0;
}

int gw_cluster_admit(gw_cluster_t *c, const char *key_id, const gw_limit_t *l,
		     const gw_cluster_counter_t *ctrs, size_t n, gw_cluster_cb cb, void *data)
{
	return start(c, false, key_id, l, ctrs, n, cb, data);
}

int gw_cluster_read(gw_cluster_t *c, const char *key_id, const gw_limit_t *l,
		    const gw_cluster_counter_t *ctrs, size_t n, gw_cluster_cb cb, void *data)
{
	return start(c, true, key_id, l, ctrs, n, cb, data);
}

void gw_cluster_refund(gw_cluster_t *c, const char *key_id, const gw_cluster_counter_t *ctrs,
		       size_t n, bool local)
{
	const char *argv[3 + 2 * GW_CLUSTER_COUNTERS_MAX];
	size_t len[3 + 2 * GW_CLUSTER_COUNTERS_MAX];
	char keys[GW_CLUSTER_COUNTERS_MAX][KEY_MAX], costs[GW_CLUSTER_COUNTERS_MAX][24], nk[24];
	size_t m = 0;

	if (n > GW_CLUSTER_COUNTERS_MAX)
		n = GW_CLUSTER_COUNTERS_MAX;
	for (size_t i = 0; i < n; i++) {
		if (!ctrs[i].cost || !valid_suffix(ctrs[i].suffix))
			continue;
		snprintf(keys[m], sizeof(keys[m]), "%s{%s}:%s", c->prefix, key_id, ctrs[i].suffix);
		snprintf(costs[m], sizeof(costs[m]), "%llu", (unsigned long long)ctrs[i].cost);
		m++;
	}
	if (!m)
		return;
	if (local) {
		/* Counted here during an outage: take it back before it is reconciled (what
		 * was reconciled meanwhile is refunded in Redis below). */
		size_t k = 0;

		for (size_t i = 0; i < m; i++) {
			struct pending *p = pending_slot(c, keys[i], false);
			uint64_t cost = strtoull(costs[i], NULL, 10);

			if (p && p->delta >= cost) {
				p->delta -= cost;
				continue;
			}
			if (k != i) {
				memcpy(keys[k], keys[i], sizeof(keys[k]));
				memcpy(costs[k], costs[i], sizeof(costs[k]));
			}
			k++;
		}
		if (!(m = k))
			return;
	}
	argv[0] = "EVAL";
	argv[1] = refund_script;
	snprintf(nk, sizeof(nk), "%zu", m);
	argv[2] = nk;
	for (size_t i = 0; i < m; i++) {
		argv[3 + i] = keys[i];
		argv[3 + m + i] = costs[i];
	}
	for (size_t i = 0; i < 3 + 2 * m; i++)
		len[i] = strlen(argv[i]);
	gw_redis_command(c->redis, NULL, NULL, (int)(3 + 2 * m), argv, len);
}

void gw_cluster_local_counters(gw_cluster_t *c, const char *key_id,
			       const gw_cluster_counter_t *ctrs, size_t n, gw_cluster_result_t *res)
{
	struct pending *slots[GW_CLUSTER_COUNTERS_MAX] = { NULL };
	char key[KEY_MAX];

	memset(res, 0, sizeof(*res));
	res->verdict = GW_CLUSTER_ADMIT;
	if (n > GW_CLUSTER_COUNTERS_MAX)
		n = GW_CLUSTER_COUNTERS_MAX;
	for (size_t i = 0; i < n; i++) {
		struct pending *p;
		uint64_t v;

		snprintf(key, sizeof(key), "%s{%s}:%s", c->prefix, key_id,
			 ctrs[i].suffix ? ctrs[i].suffix : "");
		p = slots[i] = pending_slot(c, key, true);
		v = p ? p->known + p->delta : 0;
		res->values[i] = v;
		if (res->verdict == GW_CLUSTER_ADMIT && ctrs[i].hard && ctrs[i].limit &&
		    v + ctrs[i].cost > ctrs[i].limit) {
			res->verdict = GW_CLUSTER_COUNTER;
			res->counter = i;
		}
	}
	res->nvalues = n;
	if (res->verdict != GW_CLUSTER_ADMIT)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!slots[i]) {
			INC(c->stats.pending_lost);
			continue;
		}
		slots[i]->delta += ctrs[i].cost;
		slots[i]->expire_at = ctrs[i].expire_at;
		res->values[i] += ctrs[i].cost;
	}
}

/* ---- (re)connection: script load and reconciliation ---- */

/* A delta on its way to Redis (the key is copied: the table may be compacted meanwhile). */
struct reconcile {
	gw_cluster_t *c;
	uint64_t delta;
	char key[];
};

static void on_reconciled(void *data, redisReply *reply, const char *err)
{
	struct reconcile *rc = data;
	struct pending *p = pending_slot(rc->c, rc->key, true);

	if (reply && reply->type == REDIS_REPLY_INTEGER) {
		ADD(rc->c->stats.reconciled, rc->delta);
		if (p)
			p->known = (uint64_t)(reply->integer > 0 ? reply->integer : 0);
	} else if (p) {
		p->delta += rc->delta; /* try again on the next connection */
	} else {
		ADD(rc->c->stats.pending_lost, rc->delta);
	}
	free(rc);
}

static void on_script_loaded(void *data, redisReply *reply, const char *err)
{
	if (reply && reply->type == REDIS_REPLY_STRING &&
	    strcmp(reply->str, gw_cluster_script_sha()))
		pr_err("redis: SCRIPT LOAD returned %s, expected %s", reply->str,
		       gw_cluster_script_sha());
	else if (reply && reply->type == REDIS_REPLY_ERROR)
		pr_err("redis: SCRIPT LOAD failed: %s", reply->str);
}

static void on_connect(gw_redis_t *r, void *data)
{
	gw_cluster_t *c = data;
	const char *argv[4] = { "SCRIPT", "LOAD", gw_cluster_script };
	size_t len[4] = { 6, 4, strlen(gw_cluster_script) };

	INC(c->stats.script_loads);
	gw_redis_command(r, on_script_loaded, c, 3, argv, len);
	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		struct pending *p = &c->pending[i];
		struct reconcile *rc;
		char num[24], exp[24];

		if (!p->key || !p->delta || !(rc = malloc(sizeof(*rc) + strlen(p->key) + 1)))
			continue;
		rc->c = c;
		rc->delta = p->delta;
		strcpy(rc->key, p->key);
		argv[0] = "INCRBY";
		argv[1] = p->key;
		argv[2] = num;
		len[0] = 6;
		len[1] = strlen(p->key);
		len[2] = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)p->delta);
		if (gw_redis_command(r, on_reconciled, rc, 3, argv, len)) {
			free(rc);
			return;
		}
		p->delta = 0;
		if (p->expire_at > 0) {
			argv[0] = "EXPIREAT";
			argv[2] = exp;
			len[0] = 8;
			len[2] =
				(size_t)snprintf(exp, sizeof(exp), "%lld", (long long)p->expire_at);
			gw_redis_command(r, NULL, NULL, 3, argv, len);
		}
	}
}

gw_cluster_t *gw_cluster_new(h2o_evloop_t *loop, const gw_redis_conf_t *conf)
{
	gw_cluster_t *c = calloc(1, sizeof(*c));
	gw_redis_hooks_t hooks = { .on_connect = on_connect };

	if (!c || !(c->pending = calloc(PENDING_SLOTS, sizeof(*c->pending)))) {
		free(c);
		return NULL;
	}
	c->policy = conf->policy;
	snprintf(c->prefix, sizeof(c->prefix), "%s", conf->prefix);
	hooks.data = c;
	gw_cluster_script_sha();
	if (!(c->redis = gw_redis_new(loop, conf, &hooks))) {
		free(c->pending);
		free(c);
		return NULL;
	}
	return c;
}

void gw_cluster_close(gw_cluster_t *c)
{
	if (c)
		gw_redis_close(c->redis);
}

void gw_cluster_free(gw_cluster_t *c)
{
	if (!c)
		return;
	gw_redis_free(c->redis);
	while (c->spare) {
		struct admit *ad = c->spare;

		c->spare = ad->next;
		free(ad);
	}
	for (size_t i = 0; i < PENDING_SLOTS; i++)
		free(c->pending[i].key);
	free(c->pending);
	free(c);
}

bool gw_cluster_ready(const gw_cluster_t *c)
{
	return gw_redis_ready(c->redis);
}

enum gw_redis_policy gw_cluster_policy(const gw_cluster_t *c)
{
	return c->policy;
}

const gw_cluster_stats_t *gw_cluster_stats(const gw_cluster_t *c)
{
	return &c->stats;
}

const gw_redis_t *gw_cluster_redis(const gw_cluster_t *c)
{
	return c->redis;
}

gw_redis_t *gw_cluster_redis_rw(gw_cluster_t *c)
{
	return c->redis;
}

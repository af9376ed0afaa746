/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cacheshared.c - the response cache's Redis layer (see cacheshared.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "log.h"
#include "gw/cachekey.h"
#include "gw/cacheshared.h"

/* Fields of an index one HSCAN step asks for. */
#define SCAN_COUNT     "512"
/* Steps of one route's purge at most (512 fields each): a bound, never reached in use. */
#define SCAN_STEPS_MAX 100000

/* The value and its remaining life in one round trip, atomically. */
static const char get_script[] = "local v = redis.call('GET', KEYS[1])\n"
				 "if not v then return false end\n"
				 "return {v, redis.call('PTTL', KEYS[1])}\n";

/* Announce a purge: the next sequence number, its line in the list, the list trimmed. */
static const char announce_script[] = "local n = redis.call('INCR', KEYS[1])\n"
				      "redis.call('RPUSH', KEYS[2], cjson.encode({seq = n, route = "
				      "ARGV[1], pattern = ARGV[2]}))\n"
				      "redis.call('LTRIM', KEYS[2], -256, -1)\n"
				      "return n\n";

/* The last purge's number and the announced purges, in one round trip. */
static const char poll_script[] =
	"local s = redis.call('GET', KEYS[1])\n"
	"return {tonumber(s or '0'), redis.call('LRANGE', KEYS[2], 0, -1)}\n";

size_t gw_cacheshared_key(const char *prefix, const char *key, size_t len,
			  char out[GW_CACHESHARED_KEY_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t n = (size_t)snprintf(out, GW_CACHESHARED_KEY_MAX, "%.*scache:", GW_REDIS_PREFIX_MAX,
				    prefix);

	SHA256((const unsigned char *)key, len, d);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[n++] = hex[d[i] >> 4];
		out[n++] = hex[d[i] & 15];
	}
	out[n] = '\0';
	return n;
}

int gw_cacheshared_get(gw_redis_t *r, const char *prefix, const char *key, size_t len,
		       gw_redis_cb cb, void *data)
{
	char k[GW_CACHESHARED_KEY_MAX];
	size_t kl = gw_cacheshared_key(prefix, key, len, k);
	const char *argv[] = { "EVAL", get_script, "1", k };
	size_t lens[] = { 4, sizeof(get_script) - 1, 1, kl };

	return gw_redis_command(r, cb, data, 4, argv, lens);
}

int gw_cacheshared_put(gw_redis_t *r, const char *prefix, const char *route, const char *key,
		       size_t len, const char *path, size_t plen, const char *rec, size_t rlen,
		       uint64_t ttl_ms, gw_redis_cb cb, void *data)
{
	char k[GW_CACHESHARED_KEY_MAX], idx[GW_REDIS_PREFIX_MAX + 16 + 256], px[24];
	size_t kl = gw_cacheshared_key(prefix, key, len, k);
	size_t prefix_len = strnlen(prefix, GW_REDIS_PREFIX_MAX);
	const char *field = k + prefix_len + 6; /* the hex name */
	size_t il = (size_t)snprintf(idx, sizeof(idx), "%scache-idx:%s", prefix, route);
	size_t pl = (size_t)snprintf(px, sizeof(px), "%" PRIu64, ttl_ms ? ttl_ms : 1);
	const char *set[] = { "SET", k, rec, "PX", px };
	size_t set_l[] = { 3, kl, rlen, 2, pl };
	const char *hset[] = { "HSET", idx, field, path };
	size_t hset_l[] = { 4, il, 64, plen };
	const char *nx[] = { "PEXPIRE", idx, px, "NX" };
	size_t nx_l[] = { 7, il, pl, 2 };
	const char *gt[] = { "PEXPIRE", idx, px, "GT" };
	size_t gt_l[] = { 7, il, pl, 2 };
	int err;

	if (il >= sizeof(idx))
		return -EINVAL;
	/* The entry first: an index field without its entry is harmless, the reverse would
	 * escape a purge. */
	if ((err = gw_redis_command(r, cb, data, 5, set, set_l)))
		return err;
	gw_redis_command(r, cb, data, 4, hset, hset_l);
	gw_redis_command(r, cb, data, 4, nx, nx_l);
	gw_redis_command(r, cb, data, 4, gt, gt_l);
	return 0;
}

/* ---- purges (blocking, admin thread) ---- */

/* Walk one route's index; delete what matches. The number deleted, or -EIO. */
static int64_t purge_route(redisContext *ctx, const char *prefix, const char *route,
			   const char *pattern)
{
	char idx[GW_REDIS_PREFIX_MAX + 16 + 256], cursor[32] = "0", k[GW_REDIS_PREFIX_MAX + 80];
	int64_t deleted = 0;

	snprintf(idx, sizeof(idx), "%scache-idx:%s", prefix, route);
	for (int step = 0; step < SCAN_STEPS_MAX; step++) {
		redisReply *rep = redisCommand(ctx, "HSCAN %s %s COUNT " SCAN_COUNT, idx, cursor);
		size_t sent = 0;

		if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			if (rep)
				freeReplyObject(rep);
			return -EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		for (size_t i = 0; i + 1 < rep->element[1]->elements; i += 2) {
			const redisReply *f = rep->element[1]->element[i];
			const redisReply *v = rep->element[1]->element[i + 1];

			if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
			    (pattern && !gw_cache_glob(pattern, v->str, v->len)))
				continue;
			snprintf(k, sizeof(k), "%scache:%.*s", prefix, (int)f->len, f->str);
			redisAppendCommand(ctx, "DEL %s", k);
			redisAppendCommand(ctx, "HDEL %s %b", idx, f->str, f->len);
			sent += 2;
		}
		freeReplyObject(rep);
		for (size_t i = 0; i < sent; i++) {
			redisReply *r = NULL;

			if (redisGetReply(ctx, (void **)&r) != REDIS_OK || !r)
				return -EIO;
			if (i % 2 == 0 && r->type == REDIS_REPLY_INTEGER)
				deleted += r->integer;
			freeReplyObject(r);
		}
		if (!strcmp(cursor, "0"))
			return deleted;
	}
	return deleted;
}

int64_t gw_cacheshared_purge(const gw_config_t *cfg, const char *route, const char *pattern)
{
	char why[256];
	redisContext *ctx;
	int64_t total = 0;

	if (!cfg->cache.shared_redis)
		return 0;
	if (!(ctx = gw_redis_connect_sync(&cfg->store.redis, cfg->store.redis.timeout_ms, why,
					  sizeof(why)))) {
		pr_warn("cache: shared layer purge: %s", why);
		return -EIO;
	}
	{
		char seq[GW_REDIS_PREFIX_MAX + 32], list[GW_REDIS_PREFIX_MAX + 32];
		redisReply *rep;

		snprintf(seq, sizeof(seq), "%scache-purge-seq", cfg->store.redis.prefix);
		snprintf(list, sizeof(list), "%scache-purges", cfg->store.redis.prefix);
		rep = redisCommand(ctx, "EVAL %s 2 %s %s %s %s", announce_script, seq, list,
				   route ? route : "", pattern ? pattern : "");
		if (!rep || rep->type != REDIS_REPLY_INTEGER)
			pr_warn("cache: shared layer purge: could not announce it to the other "
				"nodes: %s",
				rep && rep->type == REDIS_REPLY_ERROR ? rep->str
				: ctx->err			      ? ctx->errstr
								      : "unexpected reply");
		if (rep)
			freeReplyObject(rep);
	}
	for (size_t i = 0; i < cfg->nroutes; i++) {
		int64_t n;

		if (route && strcmp(route, cfg->routes[i].name))
			continue;
		if ((n = purge_route(ctx, cfg->store.redis.prefix, cfg->routes[i].name, pattern)) <
		    0) {
			pr_warn("cache: shared layer purge of route %s: %s", cfg->routes[i].name,
				ctx->err ? ctx->errstr : "unexpected reply");
			redisFree(ctx);
			return n;
		}
		total += n;
	}
	redisFree(ctx);
	return total;
}

int gw_cacheshared_poll(gw_redis_t *r, const char *prefix, gw_redis_cb cb, void *data)
{
	char seq[GW_REDIS_PREFIX_MAX + 32], list[GW_REDIS_PREFIX_MAX + 32];
	const char *argv[] = { "EVAL", poll_script, "2", seq, list };
	size_t lens[] = { 4, sizeof(poll_script) - 1, 1, 0, 0 };

	lens[3] = (size_t)snprintf(seq, sizeof(seq), "%scache-purge-seq", prefix);
	lens[4] = (size_t)snprintf(list, sizeof(list), "%scache-purges", prefix);
	return gw_redis_command(r, cb, data, 5, argv, lens);
}

static int copy_str(json_t *v, char out[256])
{
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) > 255 || strlen(s) != json_string_length(v))
		return -EINVAL;
	memcpy(out, s, json_string_length(v) + 1);
	return 0;
}

int gw_cacheshared_parse_purge(const char *s, size_t len, uint64_t *seq, char route[256],
			       char pattern[256])
{
	json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *n = json_object_get(o, "seq");
	int ret = -EINVAL;

	if (json_is_object(o) && json_is_integer(n) && json_integer_value(n) > 0 &&
	    !copy_str(json_object_get(o, "route"), route) &&
	    !copy_str(json_object_get(o, "pattern"), pattern)) {
		*seq = (uint64_t)json_integer_value(n);
		ret = 0;
	}
	json_decref(o);
	return ret;
}

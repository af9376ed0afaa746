/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cachekey.c - cache keys, Cache-Control and Vary parsing (see cachekey.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "gw/cachekey.h"

size_t gw_cachekey_size(size_t uri_len, const gw_cachekey_header_t *h, size_t nh)
{
	size_t n = 4 + uri_len + 1;

	for (size_t i = 0; i < nh; i++)
		n += h[i].name_len + 2 + h[i].value_len + 1;
	return n;
}

struct param {
	const char *p;
	size_t len;
};

static int cmp_param(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

ssize_t gw_cachekey_build(const char *uri, size_t uri_len, const gw_cachekey_header_t *h, size_t nh,
			  char *out)
{
	const char *q = memchr(uri, '?', uri_len);
	size_t plen = q ? (size_t)(q - uri) : uri_len, o = 0;
	struct param ps[GW_CACHEKEY_PARAMS_MAX];
	size_t np = 0;

	memcpy(out, "GET ", 4);
	o = 4;
	memcpy(out + o, uri, plen);
	o += plen;
	if (q) {
		const char *s = q + 1, *end = uri + uri_len;

		while (s < end) {
			const char *amp = memchr(s, '&', (size_t)(end - s));
			size_t len = amp ? (size_t)(amp - s) : (size_t)(end - s);

			if (len) { /* "a=1&&b=2" is "a=1&b=2" */
				if (np == GW_CACHEKEY_PARAMS_MAX)
					return -1;
				ps[np++] = (struct param){ s, len };
			}
			s += len + 1;
		}
		/* Order is what clients vary at will and upstreams ignore: sorted, one entry. */
		qsort(ps, np, sizeof(ps[0]), cmp_param);
		for (size_t i = 0; i < np; i++) {
			out[o++] = i ? '&' : '?';
			memcpy(out + o, ps[i].p, ps[i].len);
			o += ps[i].len;
		}
	}
	out[o++] = '\n';
	for (size_t i = 0; i < nh; i++) {
		memcpy(out + o, h[i].name, h[i].name_len);
		o += h[i].name_len;
		out[o++] = ':';
		out[o++] = ' ';
		if (h[i].value) {
			memcpy(out + o, h[i].value, h[i].value_len);
			o += h[i].value_len;
		}
		out[o++] = '\n';
	}
	return (ssize_t)o;
}

/* splitmix64's finaliser: every output bit depends on every input bit. */
static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

uint64_t gw_cachekey_hash(const char *key, size_t len, uint64_t seed)
{
	/* Eight bytes a step (byte-wise FNV was a multiply chain as long as the key: a
	 * visible share of a cache hit), each word folded in by a multiply and a rotate from
	 * a seeded state, the length folded into the last step, then the finaliser. */
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h = (h << 31) | (h >> 33);
	}
	w = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The rest as a zero-padded little-endian word, as the memcpy() below gives it: from
	 * the key's last 8 bytes when it has them, without a memcpy() call. */
	if (len - i && len >= 8) {
		memcpy(&w, key + len - 8, 8);
		w >>= 8 * (8 - (len - i));
	} else {
		memcpy(&w, key + i, len - i);
	}
#else
	memcpy(&w, key + i, len - i);
#endif
	h = (h ^ w ^ ((uint64_t)len << 56)) * 0xc4ceb9fe1a85ec53ULL;
	return mix64(h);
}

/* A delta-seconds value; false when malformed. Huge values saturate (RFC 9111 1.2.2). */
static bool delta_seconds(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') { /* tolerated: max-age="60" */
		s++;
		len -= 2;
	}
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > 2147483648ULL)
			v = 2147483648ULL;
	}
	*out = v;
	return true;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

void gw_cache_control_parse(const char *v, size_t len, gw_cache_control_t *cc)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end, eq;
		const char *val = NULL;
		size_t vlen = 0, nlen;
		const char *name;

		while (i < len && (is_ows(v[i]) || v[i] == ','))
			i++;
		start = i;
		/* a quoted value may hold commas */
		for (bool quoted = false; i < len && (quoted || v[i] != ','); i++)
			if (v[i] == '"')
				quoted = !quoted;
		end = i;
		while (end > start && is_ows(v[end - 1]))
			end--;
		if (end == start)
			continue;
		name = v + start;
		for (eq = start; eq < end && v[eq] != '='; eq++)
			;
		nlen = eq - start;
		while (nlen && is_ows(name[nlen - 1]))
			nlen--;
		if (eq < end) {
			val = v + eq + 1;
			vlen = end - eq - 1;
			while (vlen && is_ows(*val)) {
				val++;
				vlen--;
			}
		}
#define IS(s) (nlen == sizeof(s) - 1 && !strncasecmp(name, s, nlen))
		if (IS("no-store")) {
			cc->no_store = true;
		} else if (IS("private")) {
			cc->private_ = true;
		} else if (IS("no-cache")) {
			cc->no_cache = true;
		} else if (IS("max-age") || IS("s-maxage") || IS("stale-while-revalidate") ||
			   IS("stale-if-error")) {
			uint64_t n;

			if (!val || !delta_seconds(val, vlen, &n)) {
				cc->no_store = true;
			} else if (IS("max-age")) {
				/* two conflicting values: the smaller one (the safer) */
				cc->max_age = cc->has_max_age && cc->max_age < n ? cc->max_age : n;
				cc->has_max_age = true;
			} else if (IS("s-maxage")) {
				cc->s_maxage =
					cc->has_s_maxage && cc->s_maxage < n ? cc->s_maxage : n;
				cc->has_s_maxage = true;
			} else if (IS("stale-while-revalidate")) {
				cc->swr = n;
				cc->has_swr = true;
			} else {
				cc->sie = n;
				cc->has_sie = true;
			}
		}
#undef IS
	}
}

uint64_t gw_cache_control_ttl(const gw_cache_control_t *cc, uint64_t route_ttl)
{
	if (cc->no_store || cc->private_ || cc->no_cache)
		return 0;
	/* a shared cache: s-maxage first (RFC 9111 5.2.2.10) */
	if (cc->has_s_maxage)
		return cc->s_maxage;
	if (cc->has_max_age)
		return cc->max_age;
	return route_ttl;
}

int gw_cache_list_names(const char *v, size_t len, char (*names)[64], size_t max)
{
	size_t i = 0;
	int n = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (is_ows(v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && is_ows(v[end - 1]))
			end--;
		if (end == start)
			continue;
		if (end - start >= 64 || (size_t)n == max)
			return -1;
		for (size_t k = 0; k < end - start; k++) {
			char c = v[start + k];

			names[n][k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		names[n][end - start] = '\0';
		n++;
	}
	return n;
}

bool gw_cache_vary_star(const char *v, size_t len)
{
	char names[16][64];
	int n = gw_cache_list_names(v, len, names, 16);

	if (n < 0)
		return true; /* a list too long to honour: as good as `*` */
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], "*"))
			return true;
	return false;
}

bool gw_cache_glob(const char *pattern, const char *s, size_t len)
{
	const char *star = NULL;
	size_t i = 0, back = 0;

	/* Iterative with one backtrack point: linear-ish, never exponential. */
	while (i < len) {
		if (*pattern == '*') {
			star = ++pattern;
			back = i;
		} else if (*pattern && (*pattern == '?' || *pattern == s[i])) {
			pattern++;
			i++;
		} else if (star) {
			pattern = star;
			i = ++back;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return !*pattern;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * route.c - path normalisation and route matching (see route.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gw/route.h"

/* Backtracking budget per match: a pathological regex fails to match instead of stalling
 * the worker thread. Generous for any sane whitelist entry. */
#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 10000

/* The per-thread memory of recent answers (gw_route_match()): direct-mapped, for paths
 * up to MEMO_PATH_MAX bytes. */
#define MEMO_SLOTS    64
#define MEMO_PATH_MAX 48

struct memo {
	const gw_config_t *cfg; /* NULL: empty */
	const gw_route_t *route;
	uint32_t allowed;
	uint8_t method;
	uint8_t len;
	bool as_is; /* gw_route_encode() would copy the path unchanged */
	char path[MEMO_PATH_MAX];
};

struct st_gw_route_scratch_t {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct memo memo[MEMO_SLOTS];
};

const char *gw_path_strerror(int err)
{
	switch (err) {
	case GW_PATH_NOT_ABSOLUTE:
		return "path does not start with '/'";
	case GW_PATH_BAD_ESCAPE:
		return "bad percent-encoding";
	case GW_PATH_NUL:
		return "NUL byte in path";
	case GW_PATH_CONTROL:
		return "control character in path";
	case GW_PATH_ENCODED_SLASH:
		return "encoded slash in path";
	case GW_PATH_ESCAPES_ROOT:
		return "path goes above the root";
	case GW_PATH_TOO_LONG:
		return "path too long";
	case GW_PATH_BACKSLASH:
		return "backslash in path";
	default:
		return "ok";
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * One pass: decode each segment into out, then decide what the segment is. out holds the
 * result so far ("/a/b"), never with a trailing slash except for the root; a segment is
 * appended as "/seg" and removed again if it turns out to be "." or "..".
 */
int gw_route_normalize(const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;
	bool trailing = false;

	if (len > GW_PATH_MAX)
		return GW_PATH_TOO_LONG;
	if (!len || in[0] != '/')
		return GW_PATH_NOT_ABSOLUTE;
	while (i < len) {
		size_t seg_start;

		i++; /* the '/' */
		seg_start = o;
		out[o++] = '/';
		while (i < len && in[i] != '/') {
			unsigned char ch = (unsigned char)in[i];

			if (ch == '%') {
				int hi, lo;

				if (i + 2 >= len)
					return GW_PATH_BAD_ESCAPE;
				hi = hexval(in[i + 1]);
				lo = hexval(in[i + 2]);
				if (hi < 0 || lo < 0)
					return GW_PATH_BAD_ESCAPE;
				ch = (unsigned char)(hi << 4 | lo);
				if (!ch)
					return GW_PATH_NUL;
				if (ch == '/' || ch == '\\')
					return GW_PATH_ENCODED_SLASH;
				i += 3;
			} else if (ch == '\\') {
				/* Some upstreams (IIS, frameworks on Windows) split segments at a
				 * backslash as at '/': "/public/..<backslash>admin" would match
				 * "/public/.*" here and reach /admin there. Refused like its encoded
				 * form, not forwarded (it would go as %5C, which they decode too). */
				return GW_PATH_BACKSLASH;
			} else {
				i++;
			}
			if (ch < 0x20 || ch == 0x7f)
				return GW_PATH_CONTROL;
			out[o++] = (char)ch;
		}
		/* out[seg_start] = '/', the segment is out[seg_start + 1 .. o) */
		if (o - seg_start == 1) { /* empty: "//" or a trailing "/" */
			o = seg_start;
			trailing = true;
		} else if (o - seg_start == 2 && out[seg_start + 1] == '.') {
			o = seg_start;
			trailing = true;
		} else if (o - seg_start == 3 && out[seg_start + 1] == '.' &&
			   out[seg_start + 2] == '.') {
			if (seg_start == 0)
				return GW_PATH_ESCAPES_ROOT;
			o = seg_start;
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--; /* drop the '/' before the popped segment too */
			trailing = true;
		} else {
			trailing = false;
		}
	}
	if (o == 0 || trailing)
		out[o++] = '/';
	out[o] = '\0';
	return (int)o;
}

/* Bytes gw_route_is_normal() looks twice at: 1 for '/', 2 for those normalising changes. */
static const uint8_t path_class[256] = {
	[0x00 ... 0x1f] = 2, [0x7f] = 2, ['%'] = 2, ['\\'] = 2, ['/'] = 1,
};

bool gw_route_is_normal(const char *in, size_t len)
{
	if (!len || len > GW_PATH_MAX || in[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t k = path_class[(unsigned char)in[i]];

		if (!k)
			continue;
		if (k == 2)
			return false;
		/* "//", "/." and "/.." - and, to stay simple, any segment starting with '.' */
		if (i + 1 < len && (in[i + 1] == '/' || in[i + 1] == '.'))
			return false;
	}
	return true;
}

/* RFC 3986 pchar minus '%' (always re-encoded), plus '/': the bytes sent as they are. */
static const bool keep_raw[256] = {
	['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true, ['-'] = true,
	['.'] = true,	      ['_'] = true,	    ['~'] = true,	  ['!'] = true,
	['$'] = true,	      ['&'] = true,	    ['\''] = true,	  ['('] = true,
	[')'] = true,	      ['*'] = true,	    ['+'] = true,	  [','] = true,
	[';'] = true,	      ['='] = true,	    [':'] = true,	  ['@'] = true,
	['/'] = true,
};

size_t gw_route_encode(const char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (keep_raw[c]) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

gw_route_scratch_t *gw_route_scratch_new(void)
{
	gw_route_scratch_t *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->md = pcre2_match_data_create(1, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->md || !s->mctx) {
		gw_route_scratch_free(s);
		return NULL;
	}
	pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, DEPTH_LIMIT);
	return s;
}

void gw_route_scratch_free(gw_route_scratch_t *s)
{
	if (!s)
		return;
	if (s->md)
		pcre2_match_data_free(s->md);
	if (s->mctx)
		pcre2_match_context_free(s->mctx);
	free(s);
}

void gw_route_scratch_forget(gw_route_scratch_t *s)
{
	for (size_t i = 0; i < MEMO_SLOTS; i++)
		s->memo[i].cfg = NULL;
}

/* A slot for (method, path): path words mixed by multiplication (len <= MEMO_PATH_MAX). */
static struct memo *memo_slot(gw_route_scratch_t *s, enum gw_method method, const char *path,
			      size_t len)
{
	uint64_t h = ((uint64_t)len << 8 | (uint64_t)method) * 0x9e3779b97f4a7c15ULL, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, path + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	if (i < len) {
		/* the last 8 bytes again when there are that many, else byte by byte */
		if (len >= 8) {
			memcpy(&w, path + len - 8, 8);
		} else {
			w = 0;
			for (; i < len; i++)
				w = w << 8 | (unsigned char)path[i];
		}
		h = (h ^ w) * 0xc2b2ae3d27d4eb4fULL;
	}
	return &s->memo[h >> 58];
}

bool gw_route_memo_get(gw_route_scratch_t *s, const gw_config_t *cfg, enum gw_method method,
		       const char *path, size_t len, gw_route_result_t *res, bool *as_is)
{
	struct memo *m;

	if (len > MEMO_PATH_MAX)
		return false;
	m = memo_slot(s, method, path, len);
	if (m->cfg != cfg || m->method != (uint8_t)method || m->len != len ||
	    memcmp(m->path, path, len))
		return false;
	res->route = m->route;
	res->allowed = m->allowed;
	*as_is = m->as_is;
	return true;
}

void gw_route_memo_put(gw_route_scratch_t *s, const gw_config_t *cfg, enum gw_method method,
		       const char *path, size_t len, const gw_route_result_t *res)
{
	struct memo *m;

	if (len > MEMO_PATH_MAX)
		return;
	m = memo_slot(s, method, path, len);
	m->cfg = cfg;
	m->route = res->route;
	m->allowed = res->allowed;
	m->method = (uint8_t)method;
	m->len = (uint8_t)len;
	memcpy(m->path, path, len);
	m->as_is = true;
	for (size_t i = 0; i < len; i++)
		m->as_is &= keep_raw[(unsigned char)path[i]];
}

void gw_route_match(const gw_config_t *cfg, gw_route_scratch_t *s, enum gw_method method,
		    const char *path, size_t len, gw_route_result_t *res)
{
	uint32_t bit = method < GW_METHOD_MAX ? 1u << method : 0;

	res->route = NULL;
	res->allowed = 0;
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const gw_route_t *r = &cfg->routes[i];
		int rc;

		/* A route that could not change the answer is not worth a regex run. */
		if (!(r->methods & bit) && (res->allowed & r->methods) == r->methods)
			continue;
		/* JIT code straight away when there is some: pcre2_match() would run the same
		 * code after checks that cannot fail here. */
		if (r->jit)
			rc = pcre2_jit_match(r->re, (PCRE2_SPTR)path, len, 0, 0, s->md, s->mctx);
		else
			rc = pcre2_match(r->re, (PCRE2_SPTR)path, len, 0, 0, s->md, s->mctx);
		if (rc < 0)
			continue; /* no match, or over the match limit: not this route */
		if (r->methods & bit) {
			res->route = r;
			return;
		}
		res->allowed |= r->methods;
	}
}

size_t gw_route_allow_header(uint32_t methods, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int m = 0; m < GW_METHOD_MAX; m++) {
		if ((methods & (1u << m)) && off < len) {
			int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					 gw_method_name((enum gw_method)m));

			if (n < 0 || (size_t)n >= len - off) {
				buf[off] = '\0';
				break;
			}
			off += (size_t)n;
		}
	}
	return off;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * config.c - strict JSON config loading (see config.h and docs/config.md).
 *
 * The loader walks the jansson tree with a small context that knows the JSON path of the
 * value being read and, through the position index (jsonpos.h), where it sits in the
 * file. Each section has a table of the keys it accepts; anything else is an error at the
 * key's position. The first error wins and everything built so far is freed.
 */
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tb.h"
#include "gw/port.h"
#include "gw/cfgtext.h"
#include "gw/config.h"
#include "gw/edgecfg.h"
#include "gw/jsonpos.h"
#include "gw/tls.h"
#include "gw/upgroup.h"

/* Defaults (docs/config.md lists the same). */
#define DEF_ADMIN_LISTEN	 "127.0.0.1:9090"
#define DEF_MAX_REQUEST_BODY	 (1u << 20)
#define DEF_MAX_HEADER_BYTES	 16384
/* h2o 2.2.5 reads at most this much request head over HTTP/1 (H2O_MAX_REQLEN). */
#define MAX_HEADER_BYTES	 (8192 + 4096 * 100)
#define DEF_CLIENT_TIMEOUT_MS	 10000
#define DEF_HANDSHAKE_TIMEOUT_MS 10000
#define DEF_SHUTDOWN_TIMEOUT_MS	 10000
#define DEF_CONNECT_TIMEOUT_MS	 1000
#define DEF_FIRST_BYTE_MS	 10000
#define DEF_TOTAL_MS		 30000
#define DEF_KEEPALIVE_MAX	 128
#define DEF_KEEPALIVE_IDLE_MS	 2000
#define DEF_TABLE_SIZE		 65536
#define DEF_IPV6_PREFIX		 64
#define DEF_KEY_HEADER		 "X-API-Key"
#define DEF_QUERY_PARAM		 "api_key"
#define DEF_TYPE_BASE		 "urn:floodgate:problem:"
#define DEF_CACHE_MAX_BYTES	 (64u << 20)
#define DEF_CACHE_MAX_OBJECT	 (1u << 20)
#define DEF_CACHE_LOCK_MS	 5000
#define DEF_CACHE_MAX_WAITERS	 1024
#define DEF_REDIS_TIMEOUT_MS	 100
#define DEF_REDIS_CONNECT_MS	 1000
#define DEF_REDIS_PREFIX	 "fg:"

/* A value in the tree and how to find it in the file: member `index` of `parent`. */
struct node {
	json_t *v;
	const json_t *parent;
	size_t index;
};

struct pctx {
	const char *file;
	char dir[PATH_MAX]; /* directory of the file, for relative paths ("" = cwd) */
	gw_jsonpos_t *pos;
	char *err;
	size_t errlen;
	bool failed;
	char path[512];
	size_t pathlen;
	const gw_route_t **routes_by_name; /* sorted, while plans are parsed */
	size_t nroutes_by_name;
	size_t regex_bytes; /* of the routes parsed so far (GW_ROUTE_REGEX_TOTAL_MAX) */
};

static void path_push(struct pctx *c, size_t *saved, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void path_push(struct pctx *c, size_t *saved, const char *fmt, ...)
{
	va_list ap;
	int n;

	*saved = c->pathlen;
	va_start(ap, fmt);
	n = vsnprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->pathlen = c->pathlen + (size_t)n < sizeof(c->path) ? c->pathlen + (size_t)n
								      : sizeof(c->path) - 1;
}

static void path_pop(struct pctx *c, size_t saved)
{
	c->pathlen = saved;
	c->path[saved] = '\0';
}

/* Record the first error, at the key (at_key) or value position of n. */
static int fail(struct pctx *c, const struct node *n, bool at_key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct pctx *c, const struct node *n, bool at_key, const char *fmt, ...)
{
	gw_textpos_t kp, vp, p = { 0, 0 };
	char msg[GW_CONFIG_ERRLEN];
	va_list ap;

	if (c->failed)
		return -EINVAL;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n) {
		gw_jsonpos_find(c->pos, n->parent, n->index, &kp, &vp);
		p = at_key && kp.line ? kp : vp;
	}
	if (p.line)
		snprintf(c->err, c->errlen, "%s:%d:%d: %s%s%s", c->file, p.line, p.col, c->path,
			 c->pathlen ? ": " : "", msg);
	else
		snprintf(c->err, c->errlen, "%s: %s%s%s", c->file, c->path, c->pathlen ? ": " : "",
			 msg);
	return -EINVAL;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* The member `key` of object o, with its index for positions. false when absent. */
static bool member(const struct node *o, const char *key, struct node *out)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	json_object_foreach(o->v, k, v)
	{
		if (!strcmp(k, key)) {
			*out = (struct node){ v, o->v, i };
			return true;
		}
		i++;
	}
	return false;
}

/* Every key of o must be in allowed (NULL-terminated). */
static int check_keys(struct pctx *c, const struct node *o, const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	json_object_foreach(o->v, k, v)
	{
		size_t j;
		char list[512] = "";

		for (j = 0; allowed[j]; j++)
			if (!strcmp(k, allowed[j]))
				break;
		if (!allowed[j]) {
			struct node n = { v, o->v, i };
			size_t saved;

			for (j = 0; allowed[j]; j++) {
				strncat(list, j ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, allowed[j], sizeof(list) - strlen(list) - 1);
			}
			path_push(c, &saved, "%s%s", c->pathlen ? "." : "", k);
			fail(c, &n, true, "unknown key (expected one of: %s)", list);
			path_pop(c, saved);
			return -EINVAL;
		}
		i++;
	}
	return 0;
}

static int want_type(struct pctx *c, const struct node *n, json_type t, const char *what)
{
	if (json_typeof(n->v) != t)
		return fail(c, n, false, "expected %s, got %s", what, type_name(n->v));
	return 0;
}

/* Enter member `key` of o for error paths; returns its node through *n, or false. */
#define WITH_MEMBER(c, o, key, n, saved)                                                           \
	(member((o), (key), (n)) &&                                                                \
	 (path_push((c), &(saved), "%s%s", (c)->pathlen ? "." : "", (key)), 1))

static int get_uint(struct pctx *c, const struct node *o, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out)
{
	struct node n;
	size_t saved;
	int ret = 0;

	if (!WITH_MEMBER(c, o, key, &n, saved))
		return 0;
	if (!json_is_integer(n.v))
		ret = fail(c, &n, false, "expected an integer, got %s", type_name(n.v));
	else if (json_integer_value(n.v) < 0 || (uint64_t)json_integer_value(n.v) < min ||
		 (uint64_t)json_integer_value(n.v) > max)
		ret = fail(c, &n, false, "%lld is out of range (%llu to %llu)",
			   (long long)json_integer_value(n.v), (unsigned long long)min,
			   (unsigned long long)max);
	else
		*out = (uint64_t)json_integer_value(n.v);
	path_pop(c, saved);
	return ret;
}

static int get_bool(struct pctx *c, const struct node *o, const char *key, bool *out)
{
	struct node n;
	size_t saved;
	int ret = 0;

	if (!WITH_MEMBER(c, o, key, &n, saved))
		return 0;
	if (!json_is_boolean(n.v))
		ret = fail(c, &n, false, "expected a boolean, got %s", type_name(n.v));
	else
		*out = json_is_true(n.v);
	path_pop(c, saved);
	return ret;
}

/* A non-empty string without NUL; *out is strdup'd (and the old value freed). */
static int get_string(struct pctx *c, const struct node *o, const char *key, bool required,
		      char **out)
{
	struct node n;
	size_t saved;
	int ret = 0;

	if (!WITH_MEMBER(c, o, key, &n, saved)) {
		if (required)
			return fail(c, o, false, "missing required key \"%s\"", key);
		return 0;
	}
	if (!json_is_string(n.v))
		ret = fail(c, &n, false, "expected a string, got %s", type_name(n.v));
	else if (!json_string_length(n.v))
		ret = fail(c, &n, false, "must not be empty");
	else if (strlen(json_string_value(n.v)) != json_string_length(n.v))
		ret = fail(c, &n, false, "must not contain NUL");
	else if (gw_cfgtext_has_control(json_string_value(n.v)))
		/* every string setting ends up in a request, a path, a header, a command or a
		 * log line, where a control character is an injection or a mistake */
		ret = fail(c, &n, false, "must not contain control characters (\"%s\")",
			   json_string_value(n.v));
	else {
		free(*out);
		if (!(*out = strdup(json_string_value(n.v))))
			ret = fail(c, &n, false, "out of memory");
	}
	path_pop(c, saved);
	return ret;
}

/* A name: 1..GW_NAME_MAX of [A-Za-z0-9._-]. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > GW_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Resolve a path relative to the config file's directory. */
static char *resolve_path(const struct pctx *c, const char *p)
{
	char *out;

	if (p[0] == '/' || !c->dir[0])
		return strdup(p);
	if (asprintf(&out, "%s/%s", c->dir, p) < 0)
		return NULL;
	return out;
}

/* Whether path names an existing directory: a file setting that would fail only when the
 * daemon opens it, after `-t` said the config is valid. Nothing is created here. */
static bool is_directory(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* Why a file setting's file could not be created where it is: its directory (everything
 * before the last '/', or "/") is missing or is not a directory; NULL when it is one.
 * The daemon creates the database and the log, never the directories above them. */
static const char *parent_problem(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat st;
	size_t n;

	if (!slash)
		return NULL; /* resolve_path() made it absolute; a bare name is in "." */
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return "its directory's name is too long";
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (stat(dir, &st))
		return errno == ENOENT || errno == ENOTDIR ? "its directory does not exist"
							   : "its directory cannot be looked at";
	return S_ISDIR(st.st_mode) ? NULL : "its directory is not a directory";
}

/* ---- rates ---- */

int gw_limit_parse_rate(const char *text, double number, bool is_text, uint64_t burst,
			gw_limit_t *l, const char **why)
{
	gw_limit_t r = { 0 };

	if (!burst || burst > EDGE_BURST_MAX) {
		*why = "burst must be 1 to 1000000000";
		return -EINVAL;
	}
	if (is_text) {
		const char *slash = strchr(text, '/'), *unit;
		uint64_t count = 0, per;
		size_t digits = 0;

		if (!slash) {
			*why = "expected a rate like \"10/s\", \"5/min\", \"100/h\", \"1000/day\"";
			return -EINVAL;
		}
		for (const char *p = text; p < slash; p++, digits++) {
			if (*p < '0' || *p > '9' || digits >= 10) {
				*why = "the count before '/' must be a positive integer";
				return -EINVAL;
			}
			count = count * 10 + (uint64_t)(*p - '0');
		}
		unit = slash + 1;
		if (!strcmp(unit, "s") || !strcmp(unit, "sec") || !strcmp(unit, "second"))
			per = TB_NS_PER_S;
		else if (!strcmp(unit, "min") || !strcmp(unit, "minute"))
			per = 60 * TB_NS_PER_S;
		else if (!strcmp(unit, "h") || !strcmp(unit, "hour"))
			per = 3600 * TB_NS_PER_S;
		else if (!strcmp(unit, "day") || !strcmp(unit, "d"))
			per = 86400 * TB_NS_PER_S;
		else {
			*why = "the unit after '/' must be s, min, h or day";
			return -EINVAL;
		}
		if (!digits || !count || count > EDGE_RATE_MAX) {
			*why = "the count before '/' must be 1 to 1000000000";
			return -EINVAL;
		}
		r.interval_ns = tb_interval(count, per);
		snprintf(r.text, sizeof(r.text), "%s", text);
	} else {
		/* One token per day at the slowest: anything slower is a typo, not a plan. */
		if (!isfinite(number) || number < 1.0 / 86400 || number > (double)EDGE_RATE_MAX) {
			*why = "rate must be a number of requests per second from 1/86400 to "
			       "1000000000 (or a string like \"5/min\")";
			return -EINVAL;
		}
		r.interval_ns = (uint64_t)llround(1e9 / number);
		if (!r.interval_ns)
			r.interval_ns = 1;
		snprintf(r.text, sizeof(r.text), "%g/s", number);
	}
	r.burst = burst;
	r.cap_ns = tb_mul_sat(burst, r.interval_ns);
	if (r.cap_ns == ~0ULL) {
		*why = "burst times the token interval overflows; lower the burst";
		return -EINVAL;
	}
	r.window_s = (r.cap_ns + TB_NS_PER_S - 1) / TB_NS_PER_S;
	if (!r.window_s)
		r.window_s = 1;
	*l = r;
	return 0;
}

/* {"rate": N | "N/unit", "burst": N} */
static int parse_limit(struct pctx *c, const struct node *o, gw_limit_t *l)
{
	static const char *const keys[] = { "rate", "burst", NULL };
	struct node rn;
	uint64_t burst = 0;
	const char *why;
	size_t saved;
	int ret;

	if (want_type(c, o, JSON_OBJECT, "an object {\"rate\": ..., \"burst\": ...}") ||
	    check_keys(c, o, keys))
		return -EINVAL;
	if (!member(o, "burst", &rn))
		return fail(c, o, false, "missing required key \"burst\"");
	if (get_uint(c, o, "burst", 1, EDGE_BURST_MAX, &burst))
		return -EINVAL;
	if (!WITH_MEMBER(c, o, "rate", &rn, saved))
		return fail(c, o, false, "missing required key \"rate\"");
	if (json_is_string(rn.v))
		ret = gw_limit_parse_rate(json_string_value(rn.v), 0, true, burst, l, &why);
	else if (json_is_number(rn.v))
		ret = gw_limit_parse_rate(NULL, json_number_value(rn.v), false, burst, l, &why);
	else {
		ret = -EINVAL;
		why = "expected a number of requests per second or a string like \"5/min\"";
	}
	if (ret)
		fail(c, &rn, false, "%s", why);
	path_pop(c, saved);
	return ret;
}

/* ---- methods ---- */

static const char *const method_names[GW_METHOD_MAX] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};

/* Out of line: the loop's register saves stay off GET's path. */
static __attribute__((noinline)) enum gw_method method_of_table(const char *m, size_t len)
{
	for (int i = 0; i < GW_METHOD_MAX; i++)
		if (strlen(method_names[i]) == len && !memcmp(method_names[i], m, len))
			return (enum gw_method)i;
	return GW_METHOD_OTHER;
}

enum gw_method gw_method_of(const char *m, size_t len)
{
	/* the method of nearly every request, asked for once or twice per request */
	if (len == 3 && m[0] == 'G' && m[1] == 'E' && m[2] == 'T')
		return GW_METHOD_GET;
	return method_of_table(m, len);
}

const char *gw_method_name(enum gw_method m)
{
	return (unsigned)m < GW_METHOD_MAX ? method_names[m] : "OTHER";
}

/* ---- addresses ---- */

/* Whether two listening addresses would take the same port: same port, and the same
 * address or a wildcard on either side (IPv6's wildcard also takes IPv4 on Linux). */
static bool addr_overlaps(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	bool aany = a->ss_family == AF_INET ? a4->sin_addr.s_addr == htonl(INADDR_ANY)
					    : IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
	bool bany = b->ss_family == AF_INET ? b4->sin_addr.s_addr == htonl(INADDR_ANY)
					    : IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr);
	in_port_t ap = a->ss_family == AF_INET ? a4->sin_port : a6->sin6_port;
	in_port_t bp = b->ss_family == AF_INET ? b4->sin_port : b6->sin6_port;

	if (ap != bp)
		return false;
	if ((aany && (a->ss_family == AF_INET6 || b->ss_family == AF_INET)) ||
	    (bany && (b->ss_family == AF_INET6 || a->ss_family == AF_INET)))
		return true;
	if (a->ss_family != b->ss_family)
		return false;
	return a->ss_family == AF_INET ? a4->sin_addr.s_addr == b4->sin_addr.s_addr
				       : IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr);
}

/* "IPv4:PORT" or "[IPv6]:PORT", numeric only. */
static int parse_hostport(const char *s, bool numeric_host, struct sockaddr_storage *ss,
			  socklen_t *len, char **host_out, unsigned *port_out, const char **why)
{
	char host[256];
	const char *colon, *h = s;
	size_t hlen;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	uint16_t port;
	int rc;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			*why = "expected \"[IPv6]:PORT\"";
			return -EINVAL;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) {
			*why = "expected \"HOST:PORT\" (IPv6 as \"[ADDR]:PORT\")";
			return -EINVAL;
		}
		hlen = (size_t)(colon - s);
	}
	if (!hlen) {
		*why = "missing host";
		return -EINVAL;
	}
	if (hlen >= sizeof(host)) {
		*why = "host longer than 255 bytes";
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (numeric_host) {
		/* getaddrinfo() takes "*" for no host (loopback), and an IPv4 address in
		 * brackets: neither is what the operator meant. */
		unsigned char buf[sizeof(struct in6_addr)];

		if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, host, buf) != 1) {
			*why = s[0] == '['
				       ? "expected an IPv6 address in \"[ADDR]:PORT\""
				       : "host must be an IPv4 address (IPv6 as \"[ADDR]:PORT\")";
			return -EINVAL;
		}
	}
	if (gw_port_parse(colon + 1, strlen(colon + 1), &port)) {
		*why = "port must be 1 to 65535";
		return -EINVAL;
	}
	hints.ai_flags = AI_NUMERICSERV | (numeric_host ? AI_NUMERICHOST : 0);
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc || !res) {
		*why = numeric_host ? "host must be an IPv4 or IPv6 address"
				    : "host name does not resolve";
		if (res)
			freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (host_out)
		*host_out = strdup(host);
	if (port_out)
		*port_out = (unsigned)port;
	return 0;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

/* ---- TLS ---- */

static int parse_tls(struct pctx *c, const struct node *o, bool h2, SSL_CTX **out)
{
	static const char *const keys[] = { "certificates",  "min_version",  "session_tickets",
					    "session_cache", "fast_records", NULL };
	static const char *const ckeys[] = { "cert", "key", NULL };
	gw_tls_opts_t opts = { .min_version = TLS1_2_VERSION,
			       .tickets = true,
			       .session_cache = true,
			       .h2 = h2,
			       .fast_records = true };
	char *paths[2 * GW_TLS_CERTS_MAX] = { 0 };
	char *minv = NULL, err[GW_CONFIG_ERRLEN];
	struct node certs;
	size_t saved;
	int ret = -EINVAL;

	if (want_type(c, o, JSON_OBJECT, "an object") || check_keys(c, o, keys) ||
	    get_bool(c, o, "session_tickets", &opts.tickets) ||
	    get_bool(c, o, "session_cache", &opts.session_cache) ||
	    get_bool(c, o, "fast_records", &opts.fast_records) ||
	    get_string(c, o, "min_version", false, &minv))
		goto out;
	if (minv) {
		struct node n;

		if (!strcmp(minv, "1.2") || !strcmp(minv, "TLSv1.2")) {
			opts.min_version = TLS1_2_VERSION;
		} else if (!strcmp(minv, "1.3") || !strcmp(minv, "TLSv1.3")) {
			opts.min_version = TLS1_3_VERSION;
		} else {
			member(o, "min_version", &n);
			path_push(c, &saved, ".min_version");
			fail(c, &n, false,
			     "must be \"1.2\" or \"1.3\" (older versions are not "
			     "supported)");
			path_pop(c, saved);
			goto out;
		}
	}
	if (!WITH_MEMBER(c, o, "certificates", &certs, saved)) {
		fail(c, o, false, "missing required key \"certificates\"");
		goto out;
	}
	if (want_type(c, &certs, JSON_ARRAY, "an array of {\"cert\", \"key\"}"))
		goto pop;
	if (!json_array_size(certs.v) || json_array_size(certs.v) > GW_TLS_CERTS_MAX) {
		fail(c, &certs, false, "expected 1 to %d certificates", GW_TLS_CERTS_MAX);
		goto pop;
	}
	for (size_t i = 0; i < json_array_size(certs.v); i++) {
		struct node e = { json_array_get(certs.v, i), certs.v, i };
		char *cert = NULL, *key = NULL;
		size_t s2;

		path_push(c, &s2, "[%zu]", i);
		if (want_type(c, &e, JSON_OBJECT, "an object {\"cert\", \"key\"}") ||
		    check_keys(c, &e, ckeys) || get_string(c, &e, "cert", true, &cert) ||
		    get_string(c, &e, "key", true, &key)) {
			free(cert);
			free(key);
			path_pop(c, s2);
			goto pop;
		}
		paths[2 * i] = resolve_path(c, cert);
		paths[2 * i + 1] = resolve_path(c, key);
		free(cert);
		free(key);
		opts.cert[i] = paths[2 * i];
		opts.key[i] = paths[2 * i + 1];
		opts.ncerts++;
		path_pop(c, s2);
	}
	if (!(*out = gw_tls_ctx_new(&opts, err, sizeof(err)))) {
		fail(c, &certs, false, "%s", err);
		goto pop;
	}
	ret = 0;
pop:
	path_pop(c, saved);
out:
	for (size_t i = 0; i < 2 * GW_TLS_CERTS_MAX; i++)
		free(paths[i]);
	free(minv);
	return ret;
}

/* ---- sections ---- */

static int parse_listener(struct pctx *c, const struct node *o, gw_listener_conf_t *l, bool h2)
{
	static const char *const keys[] = { "address", "tls", NULL };
	struct node n;
	const char *why;
	size_t saved;

	if (json_is_string(o->v)) { /* shorthand: "127.0.0.1:8080" is plain HTTP */
		l->address = strdup(json_string_value(o->v));
	} else {
		if (want_type(c, o, JSON_OBJECT, "an object {\"address\", \"tls\"} or a string") ||
		    check_keys(c, o, keys) || get_string(c, o, "address", true, &l->address))
			return -EINVAL;
		if (WITH_MEMBER(c, o, "tls", &n, saved)) {
			int ret = json_is_null(n.v) ? 0 : parse_tls(c, &n, h2, &l->ssl_ctx);

			path_pop(c, saved);
			if (ret)
				return ret;
		}
	}
	if (!l->address)
		return fail(c, o, false, "out of memory");
	if (parse_hostport(l->address, true, &l->addr, &l->addrlen, NULL, NULL, &why)) {
		if (json_is_string(o->v) || !member(o, "address", &n))
			return fail(c, o, false, "%s: %s", l->address, why);
		path_push(c, &saved, ".address");
		fail(c, &n, false, "%s: %s", l->address, why);
		path_pop(c, saved);
		return -EINVAL;
	}
	return 0;
}

static int parse_listen(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	struct node n;
	size_t saved;
	int ret = 0;

	if (!WITH_MEMBER(c, root, "listen", &n, saved))
		return fail(c, root, false, "missing required key \"listen\"");
	if (want_type(c, &n, JSON_ARRAY, "an array of listeners"))
		goto out;
	if (!json_array_size(n.v) || json_array_size(n.v) > GW_CONFIG_LISTENERS_MAX) {
		ret = fail(c, &n, false, "expected 1 to %d listeners", GW_CONFIG_LISTENERS_MAX);
		goto out;
	}
	cfg->listeners = calloc(json_array_size(n.v), sizeof(*cfg->listeners));
	if (!cfg->listeners) {
		ret = fail(c, &n, false, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(n.v) && !ret; i++) {
		struct node e = { json_array_get(n.v, i), n.v, i };
		size_t s2;

		path_push(c, &s2, "[%zu]", i);
		ret = parse_listener(c, &e, &cfg->listeners[i], true);
		cfg->nlisteners++;
		for (size_t j = 0; j < i && !ret; j++) {
			if (cfg->listeners[j].addrlen == cfg->listeners[i].addrlen &&
			    !memcmp(&cfg->listeners[j].addr, &cfg->listeners[i].addr,
				    cfg->listeners[i].addrlen))
				ret = fail(c, &e, false, "address %s is listed twice",
					   cfg->listeners[i].address);
		}
		path_pop(c, s2);
	}
out:
	path_pop(c, saved);
	return c->failed ? -EINVAL : ret;
}

static int parse_hex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int parse_admin(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = { "listen", "tls", "token_sha256", NULL };
	struct node o, n;
	char *token = NULL;
	size_t saved, s2;
	int ret = -EINVAL;

	if (!WITH_MEMBER(c, root, "admin", &o, saved))
		return fail(c, root, false,
			    "missing required key \"admin\" (with "
			    "\"token_sha256\")");
	if (want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, keys) ||
	    get_string(c, &o, "token_sha256", true, &token))
		goto out;
	if (parse_hex32(token, cfg->admin.token_sha256)) {
		member(&o, "token_sha256", &n);
		path_push(c, &s2, ".token_sha256");
		fail(c, &n, false, "expected 64 hex digits (sha256sum of the token)");
		path_pop(c, s2);
		goto out;
	}
	if (member(&o, "listen", &n)) {
		const char *why;

		path_push(c, &s2, ".listen");
		if (!json_is_string(n.v)) {
			fail(c, &n, false, "expected a string \"ADDRESS:PORT\", got %s",
			     type_name(n.v));
		} else if (!(cfg->admin.listen.address = strdup(json_string_value(n.v)))) {
			fail(c, &n, false, "out of memory");
		} else if (parse_hostport(cfg->admin.listen.address, true, &cfg->admin.listen.addr,
					  &cfg->admin.listen.addrlen, NULL, NULL, &why)) {
			fail(c, &n, false, "%s: %s", cfg->admin.listen.address, why);
		}
		path_pop(c, s2);
		if (c->failed)
			goto out;
	} else {
		const char *why;

		cfg->admin.listen.address = strdup(DEF_ADMIN_LISTEN);
		parse_hostport(DEF_ADMIN_LISTEN, true, &cfg->admin.listen.addr,
			       &cfg->admin.listen.addrlen, NULL, NULL, &why);
	}
	if (member(&o, "tls", &n) && !json_is_null(n.v)) {
		path_push(c, &s2, ".tls");
		ret = parse_tls(c, &n, false, &cfg->admin.listen.ssl_ctx);
		path_pop(c, s2);
		if (ret)
			goto out;
	}
	if (!cfg->admin.listen.ssl_ctx && !is_loopback(&cfg->admin.listen.addr)) {
		if (!member(&o, "listen", &n))
			n = o;
		path_push(c, &s2, ".listen");
		fail(c, &n, false,
		     "%s is not a loopback address: the admin API needs \"tls\" "
		     "there",
		     cfg->admin.listen.address);
		path_pop(c, s2);
		goto out;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		if (!addr_overlaps(&cfg->admin.listen.addr, &cfg->listeners[i].addr))
			continue;
		if (!member(&o, "listen", &n))
			n = o;
		path_push(c, &s2, ".listen");
		fail(c, &n, false,
		     "%s overlaps listen[%zu] (%s): the admin API needs a port of its own",
		     cfg->admin.listen.address, i, cfg->listeners[i].address);
		path_pop(c, s2);
		goto out;
	}
	ret = 0;
out:
	free(token);
	path_pop(c, saved);
	return ret;
}

static int parse_limits(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = { "max_request_body",	   "max_header_bytes",
					    "client_timeout_ms",   "handshake_timeout_ms",
					    "shutdown_timeout_ms", NULL };
	uint64_t body = DEF_MAX_REQUEST_BODY, hdr = DEF_MAX_HEADER_BYTES;
	struct node o;
	size_t saved;
	int ret;

	cfg->limits.max_request_body = DEF_MAX_REQUEST_BODY;
	cfg->limits.max_header_bytes = DEF_MAX_HEADER_BYTES;
	cfg->limits.client_timeout_ms = DEF_CLIENT_TIMEOUT_MS;
	cfg->limits.handshake_timeout_ms = DEF_HANDSHAKE_TIMEOUT_MS;
	cfg->limits.shutdown_timeout_ms = DEF_SHUTDOWN_TIMEOUT_MS;
	if (!WITH_MEMBER(c, root, "limits", &o, saved))
		return 0;
	ret = want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, keys) ||
	      get_uint(c, &o, "max_request_body", 0, 1ull << 30, &body) ||
	      get_uint(c, &o, "max_header_bytes", 1024, MAX_HEADER_BYTES, &hdr) ||
	      get_uint(c, &o, "client_timeout_ms", 100, 3600000, &cfg->limits.client_timeout_ms) ||
	      get_uint(c, &o, "handshake_timeout_ms", 100, 600000,
		       &cfg->limits.handshake_timeout_ms) ||
	      get_uint(c, &o, "shutdown_timeout_ms", 0, 3600000, &cfg->limits.shutdown_timeout_ms);
	cfg->limits.max_request_body = (size_t)body;
	cfg->limits.max_header_bytes = (size_t)hdr;
	path_pop(c, saved);
	return ret ? -EINVAL : 0;
}

static int parse_clients(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = {
		"trusted_edges", "client_ip_header", "per_ip", "per_edge",
		"table_size",	 "ipv6_prefix",	     NULL
	};
	struct node o, n;
	uint64_t table = DEF_TABLE_SIZE, v6 = DEF_IPV6_PREFIX;
	char *hdr = NULL;
	size_t saved, s2;
	int ret = -EINVAL;

	cfg->clients.table_size = DEF_TABLE_SIZE;
	cfg->clients.ipv6_prefix = DEF_IPV6_PREFIX;
	if (!WITH_MEMBER(c, root, "clients", &o, saved))
		return 0;
	if (want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, keys) ||
	    get_uint(c, &o, "table_size", 1024, 1u << 26, &table) ||
	    get_uint(c, &o, "ipv6_prefix", 32, 128, &v6) ||
	    get_string(c, &o, "client_ip_header", false, &hdr))
		goto out;
	cfg->clients.table_size = (size_t)table;
	cfg->clients.ipv6_prefix = (unsigned)v6;
	if (hdr) {
		if (!strcasecmp(hdr, "cf-connecting-ip"))
			cfg->clients.header = GW_CLIENT_IP_CF;
		else if (!strcasecmp(hdr, "x-forwarded-for"))
			cfg->clients.header = GW_CLIENT_IP_XFF;
		else if (!strcasecmp(hdr, "none"))
			cfg->clients.header = GW_CLIENT_IP_NONE;
		else {
			member(&o, "client_ip_header", &n);
			path_push(c, &s2, ".client_ip_header");
			fail(c, &n, false,
			     "expected \"CF-Connecting-IP\", \"X-Forwarded-For\" or "
			     "\"none\"");
			path_pop(c, s2);
			goto out;
		}
	}
	if (WITH_MEMBER(c, &o, "trusted_edges", &n, s2)) {
		size_t cnt;

		if (want_type(c, &n, JSON_ARRAY, "an array of CIDRs")) {
			path_pop(c, s2);
			goto out;
		}
		cnt = json_array_size(n.v);
		if (cnt > GW_CONFIG_EDGES_MAX) {
			fail(c, &n, false, "at most %d trusted edges", GW_CONFIG_EDGES_MAX);
			path_pop(c, s2);
			goto out;
		}
		cfg->clients.trusted_edges = calloc(cnt ? cnt : 1, sizeof(struct fg_cidr));
		for (size_t i = 0; i < cnt; i++) {
			struct node e = { json_array_get(n.v, i), n.v, i };
			const char *why;
			size_t s3;

			path_push(c, &s3, "[%zu]", i);
			if (!json_is_string(e.v)) {
				fail(c, &e, false, "expected a CIDR string, got %s",
				     type_name(e.v));
			} else if (fg_cidr_parse(json_string_value(e.v),
						 &cfg->clients.trusted_edges[i], &why)) {
				fail(c, &e, false, "bad CIDR \"%s\": %s", json_string_value(e.v),
				     why);
			}
			path_pop(c, s3);
			if (c->failed) {
				path_pop(c, s2);
				goto out;
			}
			cfg->clients.ntrusted_edges++;
		}
		path_pop(c, s2);
	}
	if (WITH_MEMBER(c, &o, "per_ip", &n, s2)) {
		if (!json_is_null(n.v)) {
			cfg->clients.per_ip_on = true;
			if (parse_limit(c, &n, &cfg->clients.per_ip)) {
				path_pop(c, s2);
				goto out;
			}
		}
		path_pop(c, s2);
	}
	if (WITH_MEMBER(c, &o, "per_edge", &n, s2)) {
		if (!json_is_null(n.v)) {
			cfg->clients.per_edge_on = true;
			if (parse_limit(c, &n, &cfg->clients.per_edge)) {
				path_pop(c, s2);
				goto out;
			}
		}
		path_pop(c, s2);
	}
	if (cfg->clients.header != GW_CLIENT_IP_NONE && !cfg->clients.ntrusted_edges) {
		member(&o, "client_ip_header", &n);
		path_push(c, &s2, ".client_ip_header");
		fail(c, &n, false,
		     "a client IP header is only believed from trusted edges: set "
		     "\"trusted_edges\" too");
		path_pop(c, s2);
		goto out;
	}
	ret = 0;
out:
	free(hdr);
	path_pop(c, saved);
	return ret;
}

static int parse_keys(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = { "sources", "header", "query_param", NULL };
	struct node o, n;
	size_t saved, s2;
	int ret = -EINVAL;

	cfg->keys.header = strdup(DEF_KEY_HEADER);
	cfg->keys.query_param = strdup(DEF_QUERY_PARAM);
	cfg->keys.order[0] = GW_KEY_SRC_HEADER;
	cfg->keys.order[1] = GW_KEY_SRC_BEARER;
	cfg->keys.order[2] = GW_KEY_SRC_QUERY;
	cfg->keys.nsources = 3;
	if (WITH_MEMBER(c, root, "keys", &o, saved)) {
		if (want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, keys) ||
		    get_string(c, &o, "header", false, &cfg->keys.header) ||
		    get_string(c, &o, "query_param", false, &cfg->keys.query_param))
			goto out;
		if (WITH_MEMBER(c, &o, "sources", &n, s2)) {
			bool seen[GW_KEY_SRC_MAX] = { false };

			if (want_type(c, &n, JSON_ARRAY,
				      "an array of \"header\", \"bearer\", "
				      "\"query\"")) {
				path_pop(c, s2);
				goto out;
			}
			if (!json_array_size(n.v) || json_array_size(n.v) > GW_KEY_SRC_MAX) {
				fail(c, &n, false,
				     "expected 1 to 3 of \"header\", \"bearer\", "
				     "\"query\"");
				path_pop(c, s2);
				goto out;
			}
			cfg->keys.nsources = 0;
			for (size_t i = 0; i < json_array_size(n.v); i++) {
				struct node e = { json_array_get(n.v, i), n.v, i };
				const char *s = json_string_value(e.v);
				enum gw_key_source src;
				size_t s3;

				path_push(c, &s3, "[%zu]", i);
				if (s && !strcmp(s, "header"))
					src = GW_KEY_SRC_HEADER;
				else if (s && !strcmp(s, "bearer"))
					src = GW_KEY_SRC_BEARER;
				else if (s && !strcmp(s, "query"))
					src = GW_KEY_SRC_QUERY;
				else
					src = GW_KEY_SRC_MAX;
				if (src == GW_KEY_SRC_MAX)
					fail(c, &e, false,
					     "expected \"header\", \"bearer\" or "
					     "\"query\"");
				else if (seen[src])
					fail(c, &e, false, "\"%s\" is listed twice", s);
				path_pop(c, s3);
				if (c->failed) {
					path_pop(c, s2);
					goto out;
				}
				seen[src] = true;
				cfg->keys.order[cfg->keys.nsources++] = src;
			}
			path_pop(c, s2);
		}
		for (char *p = cfg->keys.header; p && *p; p++) {
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
				member(&o, "header", &n);
				path_push(c, &s2, ".header");
				fail(c, &n, false, "not a valid header name");
				path_pop(c, s2);
				goto out;
			}
			*p = (char)tolower((unsigned char)*p);
		}
		for (char *p = cfg->keys.query_param; p && *p; p++) {
			if (strchr("&=#?+% ", *p) || (unsigned char)*p < 0x21 ||
			    (unsigned char)*p > 0x7e) {
				member(&o, "query_param", &n);
				path_push(c, &s2, ".query_param");
				fail(c, &n, false, "not a valid query parameter name");
				path_pop(c, s2);
				goto out;
			}
		}
	} else {
		saved = c->pathlen;
	}
	if (!cfg->keys.header || !cfg->keys.query_param) {
		fail(c, root, false, "out of memory");
		goto out;
	}
	for (char *p = cfg->keys.header; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cfg->keys.header_len = strlen(cfg->keys.header);
	cfg->keys.query_param_len = strlen(cfg->keys.query_param);
	ret = 0;
out:
	path_pop(c, saved);
	return ret;
}

static int parse_headers_errors(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const hkeys[] = { "ratelimit", "legacy_x_ratelimit", NULL };
	static const char *const ekeys[] = { "type_base", NULL };
	struct node o;
	size_t saved;

	cfg->headers.ratelimit = true;
	if (WITH_MEMBER(c, root, "headers", &o, saved)) {
		int ret = want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, hkeys) ||
			  get_bool(c, &o, "ratelimit", &cfg->headers.ratelimit) ||
			  get_bool(c, &o, "legacy_x_ratelimit", &cfg->headers.legacy);

		path_pop(c, saved);
		if (ret)
			return -EINVAL;
	}
	cfg->problem_type_base = strdup(DEF_TYPE_BASE);
	if (WITH_MEMBER(c, root, "errors", &o, saved)) {
		int ret = want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, ekeys) ||
			  get_string(c, &o, "type_base", false, &cfg->problem_type_base);

		path_pop(c, saved);
		if (ret)
			return -EINVAL;
	}
	if (!cfg->problem_type_base)
		return fail(c, root, false, "out of memory");
	for (int p = 0; p < GW_PROBLEM_MAX; p++)
		if (gw_problem_render(cfg->problem_type_base, (enum gw_problem)p,
				      &cfg->problems[p]))
			return fail(c, root, false, "out of memory");
	return 0;
}

/* An upstream server URL (node n, a string) into sv: address and Host header. */
static int parse_server_url(struct pctx *c, const struct node *n, const char *url,
			    gw_upserver_t *sv)
{
	char *host = NULL;
	const char *why, *rest;
	unsigned port;
	char hp[300];
	size_t len;

	if (!(sv->url = strdup(url)))
		return fail(c, n, false, "out of memory");
	if (gw_cfgtext_has_control(url))
		return fail(c, n, false, "must not contain control characters (\"%s\")", url);
	if (strncmp(url, "http://", 7))
		return fail(c, n, false, "only http:// upstreams are supported");
	rest = strchr(url + 7, '/');
	len = rest ? (size_t)(rest - (url + 7)) : strlen(url + 7);
	if (rest && strcmp(rest, "/"))
		return fail(c, n, false,
			    "a path in the upstream URL is not supported (routes "
			    "forward the request path as is)");
	if (len >= sizeof(hp))
		return fail(c, n, false, "host too long");
	memcpy(hp, url + 7, len);
	hp[len] = '\0';
	if (!strchr(hp, ':') || (hp[0] == '[' && !strstr(hp, "]:"))) {
		/* no port: 80 */
		if (len + 3 >= sizeof(hp))
			return fail(c, n, false, "host too long");
		strcat(hp, ":80");
	}
	if (parse_hostport(hp, false, &sv->addr, &sv->addrlen, &host, &port, &why)) {
		fail(c, n, false, "%s: %s", url, why);
		free(host);
		return -EINVAL;
	}
	/* Host header: the URL's authority (IPv6 literal in brackets). */
	if (asprintf(&sv->host, "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
		     strchr(host, ':') ? "]" : "", port) < 0) {
		sv->host = NULL;
		free(host);
		return fail(c, n, false, "out of memory");
	}
	free(host);
	return 0;
}

/* Whether the Host header h ("host:port", "[v6]:port") names an address, not a host. */
static bool host_is_literal(const char *h)
{
	char buf[64];
	const char *colon = strrchr(h, ':');
	struct in_addr a;

	if (h[0] == '[')
		return true;
	if (!colon || (size_t)(colon - h) >= sizeof(buf))
		return false;
	memcpy(buf, h, (size_t)(colon - h));
	buf[colon - h] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1;
}

/* Whether two servers are one written twice ("http://H:08080/", "http://h:8080"): the
 * same address and port, and the same Host header but for case, or addresses on both
 * sides ("[::1]" and "[0::1]"). Comparing URLs as text would let either through. */
static bool same_server(const gw_upserver_t *a, const gw_upserver_t *b)
{
	if (a->addrlen != b->addrlen || memcmp(&a->addr, &b->addr, a->addrlen))
		return false;
	return !strcasecmp(a->host, b->host) ||
	       (host_is_literal(a->host) && host_is_literal(b->host));
}

/* "servers": [URL | {"url": URL, "weight": N}, ...] */
static int parse_servers(struct pctx *c, const struct node *n, gw_upstream_t *u)
{
	static const char *const keys[] = { "url", "weight", NULL };
	size_t cnt = json_is_array(n->v) ? json_array_size(n->v) : 0;

	if (!cnt || cnt > GW_UPGROUP_SERVERS_MAX)
		return fail(c, n, false, "expected an array of 1 to %d servers",
			    GW_UPGROUP_SERVERS_MAX);
	if (!(u->servers = calloc(cnt, sizeof(*u->servers))))
		return fail(c, n, false, "out of memory");
	for (size_t i = 0; i < cnt && !c->failed; i++) {
		struct node e = { json_array_get(n->v, i), n->v, i }, un;
		gw_upserver_t *sv = &u->servers[i];
		uint64_t w = 1;
		size_t s2, s3;

		u->nservers++;
		sv->weight = 1;
		path_push(c, &s2, "[%zu]", i);
		if (json_is_string(e.v)) {
			parse_server_url(c, &e, json_string_value(e.v), sv);
		} else if (!json_is_object(e.v)) {
			fail(c, &e, false, "expected a URL or {\"url\": URL, \"weight\": N}");
		} else if (!check_keys(c, &e, keys) && !get_uint(c, &e, "weight", 1, 1000, &w)) {
			sv->weight = (uint32_t)w;
			if (!WITH_MEMBER(c, &e, "url", &un, s3)) {
				fail(c, &e, false, "missing required key \"url\"");
			} else {
				if (want_type(c, &un, JSON_STRING, "a URL") == 0)
					parse_server_url(c, &un, json_string_value(un.v), sv);
				path_pop(c, s3);
			}
		}
		for (size_t j = 0; j < i && !c->failed; j++)
			if (sv->host && u->servers[j].host && same_server(sv, &u->servers[j]))
				fail(c, &e, false, "server %s is listed twice (servers[%zu]: %s)",
				     sv->url, j, u->servers[j].url);
		path_pop(c, s2);
	}
	return c->failed ? -EINVAL : 0;
}

/* Whether p may go into a request line as the path: "/...", 1..max bytes of 0x21..0x7e. */
static bool request_path_ok(const char *p, size_t max)
{
	size_t n = strlen(p);

	if (!n || n > max || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

/* "health_check": {"path", "interval_ms", "timeout_ms", "rise", "fall"} */
static int parse_health(struct pctx *c, const struct node *o, gw_upstream_t *u)
{
	static const char *const keys[] = { "path", "interval_ms", "timeout_ms",
					    "rise", "fall",	   NULL };
	uint64_t rise = 2, fall = 3;
	struct node n;
	size_t saved;

	if (!WITH_MEMBER(c, o, "health_check", &n, saved))
		return 0;
	u->health.interval_ms = 2000;
	u->health.timeout_ms = 1000;
	if (!want_type(c, &n, JSON_OBJECT, "an object") && !check_keys(c, &n, keys) &&
	    !get_string(c, &n, "path", true, &u->health.path) &&
	    !get_uint(c, &n, "interval_ms", 50, 3600000, &u->health.interval_ms) &&
	    !get_uint(c, &n, "timeout_ms", 10, 600000, &u->health.timeout_ms) &&
	    !get_uint(c, &n, "rise", 1, 100, &rise) && !get_uint(c, &n, "fall", 1, 100, &fall)) {
		u->health.rise = (uint32_t)rise;
		u->health.fall = (uint32_t)fall;
		/* A '#' would start a fragment, which no request target carries (RFC 9112
		 * 3.2): upstreams answer 400 and the checks would eject a healthy server. */
		bool bad = !request_path_ok(u->health.path, 1024),
		     frag = !bad && strchr(u->health.path, '#');

		if (bad || frag) {
			/* the member was just read; were it not there, the error stays at n */
			struct node pn = n;
			size_t s2 = c->pathlen;

			(void)WITH_MEMBER(c, &n, "path", &pn, s2);
			fail(c, &pn, false, "%s",
			     bad ? "expected an absolute path of at most 1024 printable ASCII "
				   "characters without spaces (\"/health\")"
				 : "a '#' (a fragment) cannot be sent in a request; a query ('?') "
				   "can");
			path_pop(c, s2);
		} else if (u->health.timeout_ms > u->health.interval_ms)
			fail(c, &n, false, "timeout_ms is longer than interval_ms");
	}
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

static int parse_upstream(struct pctx *c, const struct node *o, gw_upstream_t *u)
{
	static const char *const keys[] = { "url",
					    "connect_timeout_ms",
					    "first_byte_timeout_ms",
					    "total_timeout_ms",
					    "keepalive",
					    "keepalive_max",
					    "keepalive_idle_ms",
					    "preserve_host",
					    "servers",
					    "strategy",
					    "retries",
					    "retry_budget",
					    "passive",
					    "health_check",
					    NULL };
	static const char *const pkeys[] = { "failures", "open_ms", NULL };
	uint64_t kmax = DEF_KEEPALIVE_MAX, retries = UINT64_MAX, fails = 3;
	char *strategy = NULL;
	struct node n;
	size_t saved;
	bool has_url, has_servers;

	u->connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	u->first_byte_timeout_ms = DEF_FIRST_BYTE_MS;
	u->total_timeout_ms = DEF_TOTAL_MS;
	u->keepalive_idle_ms = DEF_KEEPALIVE_IDLE_MS;
	u->keepalive = true;
	u->retry_budget = 0.2;
	u->open_ms = 5000;
	if (want_type(c, o, JSON_OBJECT, "an object") || check_keys(c, o, keys) ||
	    get_uint(c, o, "connect_timeout_ms", 1, 600000, &u->connect_timeout_ms) ||
	    get_uint(c, o, "first_byte_timeout_ms", 1, 3600000, &u->first_byte_timeout_ms) ||
	    get_uint(c, o, "total_timeout_ms", 1, 3600000, &u->total_timeout_ms) ||
	    get_bool(c, o, "keepalive", &u->keepalive) ||
	    get_uint(c, o, "keepalive_max", 1, 65536, &kmax) ||
	    get_uint(c, o, "keepalive_idle_ms", 1, 3600000, &u->keepalive_idle_ms) ||
	    get_bool(c, o, "preserve_host", &u->preserve_host) ||
	    get_uint(c, o, "retries", 0, GW_UPGROUP_SERVERS_MAX - 1, &retries) ||
	    get_string(c, o, "strategy", false, &strategy) || parse_health(c, o, u))
		goto fail;
	u->keepalive_max = (size_t)kmax;
	if (strategy && (u->strategy = gw_upgroup_strategy_of(strategy)) < 0) {
		member(o, "strategy", &n);
		path_push(c, &saved, ".strategy");
		fail(c, &n, false,
		     "expected round-robin, weighted, least-connections, hash-key, hash-ip or "
		     "first-success");
		path_pop(c, saved);
		goto fail;
	}
	if (WITH_MEMBER(c, o, "retry_budget", &n, saved)) {
		if (!json_is_number(n.v) || json_number_value(n.v) < 0 ||
		    json_number_value(n.v) > 1)
			fail(c, &n, false, "expected a fraction of requests, 0 to 1");
		else
			u->retry_budget = json_number_value(n.v);
		path_pop(c, saved);
		if (c->failed)
			goto fail;
	}
	if (WITH_MEMBER(c, o, "passive", &n, saved)) {
		if (!want_type(c, &n, JSON_OBJECT, "an object") && !check_keys(c, &n, pkeys) &&
		    !get_uint(c, &n, "failures", 0, 1000, &fails))
			get_uint(c, &n, "open_ms", 1, 3600000, &u->open_ms);
		path_pop(c, saved);
		if (c->failed)
			goto fail;
	}
	u->fail_threshold = (uint32_t)fails;
	has_url = member(o, "url", &n);
	has_servers = member(o, "servers", &n);
	if (has_url == has_servers) {
		fail(c, o, false, "expected either \"url\" or \"servers\"");
		goto fail;
	}
	if (has_url) {
		if (!(u->servers = calloc(1, sizeof(*u->servers)))) {
			fail(c, o, false, "out of memory");
			goto fail;
		}
		u->nservers = 1;
		u->servers[0].weight = 1;
		(void)WITH_MEMBER(c, o, "url", &n, saved);
		if (!want_type(c, &n, JSON_STRING, "a URL"))
			parse_server_url(c, &n, json_string_value(n.v), &u->servers[0]);
		path_pop(c, saved);
	} else {
		(void)WITH_MEMBER(c, o, "servers", &n, saved);
		parse_servers(c, &n, u);
		path_pop(c, saved);
	}
	if (c->failed)
		goto fail;
	for (size_t i = 0; i < u->nservers; i++) {
		if (!(u->servers[i].st = calloc(1, sizeof(gw_upstate_t)))) {
			fail(c, o, false, "out of memory");
			goto fail;
		}
	}
	/* first-success tries every server by default; the others one more */
	if (retries == UINT64_MAX)
		retries = u->strategy == GW_UPS_FIRST_SUCCESS ? u->nservers - 1 : 1;
	u->retries = (uint32_t)retries;
	/* The first server's, where one address is wanted (messages, a group of one). */
	u->url = strdup(u->servers[0].url);
	u->host = strdup(u->servers[0].host);
	u->addr = u->servers[0].addr;
	u->addrlen = u->servers[0].addrlen;
	if (!u->url || !u->host) {
		fail(c, o, false, "out of memory");
		goto fail;
	}
	free(strategy);
	return 0;
fail:
	free(strategy);
	return -EINVAL;
}

/* The top-level "notify": who hears that every server of an upstream is down. */
/* Why a webhook URL is refused, or NULL: "http://HOST[:PORT][/PATH]", a host, a port of
 * 1..65535 in digits (getaddrinfo() would take 99999 as 34463, another service). */
static const char *webhook_bad(const char *u)
{
	const char *h = u + 7, *end, *colon;

	if (strncmp(u, "http://", 7))
		return "only http:// webhooks are supported";
	end = h + strcspn(h, "/?#");
	colon = h < end && *h == '[' ? memchr(h, ']', (size_t)(end - h)) : h;
	if (!colon)
		return "unterminated [IPv6] host";
	colon = memchr(colon, ':', (size_t)(end - colon));
	if ((colon ? colon : end) == h)
		return "the webhook URL has no host";
	if (colon) {
		uint16_t port;

		if (gw_port_parse(colon + 1, (size_t)(end - colon - 1), &port))
			return "the webhook's port must be a number from 1 to 65535";
	}
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "the webhook URL has a space or control character";
	return NULL;
}

static int parse_notify(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = { "webhook", "command", "min_interval_s", NULL };
	struct node n, w;
	size_t saved, s2;

	cfg->notify.min_interval_s = 300;
	if (!(cfg->notify.last_ns =
		      calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(uint64_t))) ||
	    !(cfg->notify.all_down =
		      calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(uint64_t))))
		return fail(c, root, false, "out of memory");
	if (!WITH_MEMBER(c, root, "notify", &n, saved))
		return 0;
	if (!want_type(c, &n, JSON_OBJECT, "an object") && !check_keys(c, &n, keys) &&
	    !get_string(c, &n, "webhook", false, &cfg->notify.webhook) &&
	    !get_string(c, &n, "command", false, &cfg->notify.command) &&
	    !get_uint(c, &n, "min_interval_s", 1, 86400 * 7, &cfg->notify.min_interval_s) &&
	    cfg->notify.webhook && webhook_bad(cfg->notify.webhook)) {
		w = n; /* the member was just read; were it not there, the error stays at n */
		s2 = c->pathlen;
		(void)WITH_MEMBER(c, &n, "webhook", &w, s2);
		fail(c, &w, false, "%s", webhook_bad(cfg->notify.webhook));
		path_pop(c, s2);
	}
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

static int parse_upstreams(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	struct node o;
	const char *k;
	json_t *v;
	size_t saved, i = 0;

	if (!WITH_MEMBER(c, root, "upstreams", &o, saved))
		return fail(c, root, false, "missing required key \"upstreams\"");
	if (want_type(c, &o, JSON_OBJECT, "an object of name: {\"url\": ...}"))
		goto out;
	if (!json_object_size(o.v) || json_object_size(o.v) > GW_CONFIG_UPSTREAMS_MAX) {
		fail(c, &o, false, "expected 1 to %d upstreams", GW_CONFIG_UPSTREAMS_MAX);
		goto out;
	}
	cfg->upstreams = calloc(json_object_size(o.v), sizeof(*cfg->upstreams));
	if (!cfg->upstreams) {
		fail(c, &o, false, "out of memory");
		goto out;
	}
	json_object_foreach(o.v, k, v)
	{
		struct node e = { v, o.v, i };
		gw_upstream_t *u = &cfg->upstreams[i];
		size_t s2;

		path_push(c, &s2, ".%s", k);
		cfg->nupstreams++;
		u->index = i;
		u->name = strdup(k);
		if (!valid_name(k))
			fail(c, &e, true, "upstream names are 1 to %d of A-Z a-z 0-9 . _ -",
			     GW_NAME_MAX);
		else if (!(u->id = gw_intern(k)))
			fail(c, &e, true, "too many distinct names");
		else
			parse_upstream(c, &e, u);
		path_pop(c, s2);
		if (c->failed)
			break;
		i++;
	}
out:
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

static gw_upstream_t *find_upstream(gw_config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nupstreams; i++)
		if (!strcmp(cfg->upstreams[i].name, name))
			return &cfg->upstreams[i];
	return NULL;
}

static int compile_regex(struct pctx *c, const struct node *n, gw_route_t *r)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re;

	/* Anchored at both ends: a whitelist entry must describe the whole path. */
	re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED,
			   PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY |
				   PCRE2_NEVER_BACKSLASH_C | PCRE2_NO_UTF_CHECK,
			   &errcode, &erroff, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return fail(c, n, false, "bad regex at offset %zu: %s", (size_t)erroff,
			    (const char *)msg);
	}
	/* Without JIT (unsupported CPU, or SELinux forbidding executable memory) the
	 * interpreter matches the same way, only slower. */
	r->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
	r->re = re;
	return 0;
}

/* A route's "cache" object (cache.h): ttl, key_headers, stale_while_revalidate,
 * stale_if_error. Its ttl wins over the older "cache_ttl" shorthand. */
static int parse_route_cache(struct pctx *c, const struct node *o, gw_config_t *cfg, gw_route_t *r)
{
	static const char *const keys[] = { "ttl", "key_headers", "stale_while_revalidate",
					    "stale_if_error", NULL };
	gw_route_cache_t *rc = &r->cache;
	struct node n, h;
	size_t saved, s2;

	if (!WITH_MEMBER(c, o, "cache", &n, saved))
		return 0;
	if (want_type(c, &n, JSON_OBJECT, "an object") || check_keys(c, &n, keys) ||
	    get_uint(c, &n, "ttl", 0, 31536000, &r->cache_ttl_s) ||
	    get_uint(c, &n, "stale_while_revalidate", 0, 31536000, &rc->swr_s) ||
	    get_uint(c, &n, "stale_if_error", 0, 31536000, &rc->sie_s))
		goto out;
	if (!WITH_MEMBER(c, &n, "key_headers", &h, s2))
		goto out;
	if (!json_is_array(h.v) || json_array_size(h.v) > GW_CACHE_KEY_HEADERS_MAX) {
		fail(c, &h, false, "expected an array of at most %d header names",
		     GW_CACHE_KEY_HEADERS_MAX);
		goto out2;
	}
	for (size_t i = 0; i < json_array_size(h.v) && !c->failed; i++) {
		struct node e = { json_array_get(h.v, i), h.v, i };
		const char *v = json_string_value(e.v);
		size_t s3, len = v ? strlen(v) : 0;
		char *lc;

		path_push(c, &s3, "[%zu]", i);
		if (!v || !len || len > 64 ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
			      "OPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") != len) {
			fail(c, &e, false, "expected a header name (1 to 64 token characters)");
		} else if (!(lc = strdup(v))) {
			fail(c, &e, false, "out of memory");
		} else {
			for (char *p = lc; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			rc->headers[rc->nheaders] = lc;
			rc->header_lens[rc->nheaders++] = len;
			/* The key never goes into a cache key, nor does any credential. */
			if (!strcmp(lc, "authorization") || !strcmp(lc, "cookie") ||
			    !strcmp(lc, "proxy-authorization") ||
			    (cfg->keys.header && !strcmp(lc, cfg->keys.header)))
				fail(c, &e, false,
				     "\"%s\" carries credentials and cannot be part of a cache key",
				     v);
			for (size_t j = 0; j + 1 < rc->nheaders && !c->failed; j++)
				if (!strcmp(rc->headers[j], lc))
					fail(c, &e, false, "\"%s\" is listed twice", v);
		}
		path_pop(c, s3);
	}
out2:
	path_pop(c, s2);
out:
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

/* The top-level "cache" object: the in-process cache's budget and coalescing bounds, and
 * the shared layer (cacheshared.h). */
static int parse_cache(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = {
		"max_bytes",   "max_object_bytes", "lock_timeout_ms",
		"max_waiters", "shared",	   "shared_max_object_bytes",
		NULL
	};
	uint64_t max = DEF_CACHE_MAX_BYTES, obj = DEF_CACHE_MAX_OBJECT,
		 waiters = DEF_CACHE_MAX_WAITERS, sobj = DEF_CACHE_MAX_OBJECT;
	char *shared = NULL;
	struct node n;
	size_t saved;

	cfg->cache.lock_timeout_ms = DEF_CACHE_LOCK_MS;
	if (WITH_MEMBER(c, root, "cache", &n, saved)) {
		if (!want_type(c, &n, JSON_OBJECT, "an object") && !check_keys(c, &n, keys) &&
		    !get_uint(c, &n, "max_bytes", 0, 1ULL << 40, &max) &&
		    !get_uint(c, &n, "max_object_bytes", 1, 1ULL << 30, &obj) &&
		    !get_uint(c, &n, "lock_timeout_ms", 1, 600000, &cfg->cache.lock_timeout_ms) &&
		    !get_uint(c, &n, "max_waiters", 0, 1000000, &waiters) && max &&
		    obj > max / GW_CACHE_STRIPES)
			fail(c, &n, false,
			     "max_object_bytes (%llu) is larger than max_bytes / %d (%llu): the "
			     "budget is split between %d stripes",
			     (unsigned long long)obj, GW_CACHE_STRIPES,
			     (unsigned long long)(max / GW_CACHE_STRIPES), GW_CACHE_STRIPES);
		/* the shared layer (cacheshared.h): Redis, the cluster's store */
		if (!c->failed && !get_string(c, &n, "shared", false, &shared) && shared) {
			struct node m = n;
			size_t saved2 = c->pathlen;

			(void)WITH_MEMBER(c, &n, "shared", &m, saved2);
			if (strcmp(shared, "none") && strcmp(shared, "redis"))
				fail(c, &m, false, "expected \"none\" or \"redis\", got \"%s\"",
				     shared);
			else if (!strcmp(shared, "redis") && cfg->store.type != GW_STORE_REDIS)
				fail(c, &m, false,
				     "\"redis\" needs the Redis store (store.type \"redis\", "
				     "cluster mode)");
			path_pop(c, saved2);
		}
		if (!c->failed)
			get_uint(c, &n, "shared_max_object_bytes", 1, 512ULL << 20, &sobj);
		cfg->cache.shared_redis = shared && !strcmp(shared, "redis");
		free(shared);
		path_pop(c, saved);
	}
	cfg->cache.shared_max_object_bytes = (size_t)sobj;
	cfg->cache.max_bytes = (size_t)max;
	cfg->cache.max_object_bytes = (size_t)obj;
	cfg->cache.max_waiters = (size_t)waiters;
	return c->failed ? -EINVAL : 0;
}

static int parse_route(struct pctx *c, const struct node *o, gw_config_t *cfg, gw_route_t *r)
{
	static const char *const keys[] = { "name",    "methods",   "path", "upstream",
					    "credits", "cache_ttl", "auth", "refund_on_failure",
					    "cache",   NULL };
	char *upstream = NULL;
	uint64_t credits = 1;
	struct node n;
	size_t saved;
	int ret = -EINVAL;

	r->auth = true;
	if (want_type(c, o, JSON_OBJECT, "an object") || check_keys(c, o, keys) ||
	    get_string(c, o, "name", true, &r->name) ||
	    get_string(c, o, "path", true, &r->pattern) ||
	    get_string(c, o, "upstream", true, &upstream) ||
	    get_uint(c, o, "credits", 0, 1000000, &credits) ||
	    get_uint(c, o, "cache_ttl", 0, 31536000, &r->cache_ttl_s) ||
	    get_bool(c, o, "auth", &r->auth) ||
	    get_bool(c, o, "refund_on_failure", &r->refund_on_failure) ||
	    parse_route_cache(c, o, cfg, r))
		goto out;
	r->credits = (uint32_t)credits;
	member(o, "name", &n);
	if (!valid_name(r->name)) {
		path_push(c, &saved, ".name");
		fail(c, &n, false, "route names are 1 to %d of A-Z a-z 0-9 . _ -", GW_NAME_MAX);
		path_pop(c, saved);
		goto out;
	}
	for (size_t i = 0; i < r->index; i++) {
		if (!strcmp(cfg->routes[i].name, r->name)) {
			path_push(c, &saved, ".name");
			fail(c, &n, false, "route \"%s\" is defined twice", r->name);
			path_pop(c, saved);
			goto out;
		}
	}
	if (!(r->id = gw_intern(r->name))) {
		fail(c, &n, false, "too many distinct names");
		goto out;
	}
	member(o, "path", &n);
	path_push(c, &saved, ".path");
	if (strlen(r->pattern) > GW_ROUTE_REGEX_MAX) {
		fail(c, &n, false, "the regex is %zu bytes, longer than %d", strlen(r->pattern),
		     GW_ROUTE_REGEX_MAX);
		path_pop(c, saved);
		goto out;
	}
	c->regex_bytes += strlen(r->pattern);
	if (c->regex_bytes > GW_ROUTE_REGEX_TOTAL_MAX) {
		fail(c, &n, false,
		     "the route regexes add up to more than %u bytes (%zu with this one)",
		     GW_ROUTE_REGEX_TOTAL_MAX, c->regex_bytes);
		path_pop(c, saved);
		goto out;
	}
	if (r->pattern[0] != '/' && (r->pattern[0] != '^' || r->pattern[1] != '/')) {
		fail(c, &n, false,
		     "a route regex matches the whole path, so it starts with '/' "
		     "(or '^/')");
		path_pop(c, saved);
		goto out;
	}
	ret = compile_regex(c, &n, r);
	path_pop(c, saved);
	if (ret)
		goto out;
	ret = -EINVAL;
	member(o, "upstream", &n);
	if (!(r->upstream = find_upstream(cfg, upstream))) {
		path_push(c, &saved, ".upstream");
		fail(c, &n, false, "no upstream named \"%s\"", upstream);
		path_pop(c, saved);
		goto out;
	}
	if (!member(o, "methods", &n)) {
		fail(c, o, false, "missing required key \"methods\"");
		goto out;
	}
	path_push(c, &saved, ".methods");
	if (json_is_string(n.v) && !strcmp(json_string_value(n.v), "*")) {
		r->methods = (1u << GW_METHOD_MAX) - 1;
	} else if (!json_is_array(n.v) || !json_array_size(n.v)) {
		fail(c, &n, false, "expected \"*\" or a non-empty array of methods");
	} else {
		for (size_t i = 0; i < json_array_size(n.v) && !c->failed; i++) {
			struct node e = { json_array_get(n.v, i), n.v, i };
			const char *m = json_string_value(e.v);
			enum gw_method mm = m ? gw_method_of(m, strlen(m)) : GW_METHOD_OTHER;
			size_t s2;

			path_push(c, &s2, "[%zu]", i);
			if (mm == GW_METHOD_OTHER)
				fail(c, &e, false,
				     "expected one of GET, HEAD, POST, PUT, PATCH, "
				     "DELETE, OPTIONS (upper case)");
			else if (r->methods & (1u << mm))
				fail(c, &e, false, "%s is listed twice", m);
			r->methods |= 1u << mm;
			path_pop(c, s2);
		}
	}
	path_pop(c, saved);
	if (c->failed)
		goto out;
	/* HEAD is GET without the body: wherever GET goes, HEAD may go. */
	if (r->methods & (1u << GW_METHOD_GET))
		r->methods |= 1u << GW_METHOD_HEAD;
	{
		size_t off = 0;

		for (int m = 0; m < GW_METHOD_MAX; m++) {
			if (r->methods & (1u << m))
				off += (size_t)snprintf(r->allow + off, sizeof(r->allow) - off,
							"%s%s", off ? ", " : "", method_names[m]);
		}
	}
	ret = 0;
out:
	free(upstream);
	return ret;
}

static int parse_routes(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	struct node o;
	size_t saved;

	if (!WITH_MEMBER(c, root, "routes", &o, saved))
		return fail(c, root, false, "missing required key \"routes\"");
	if (want_type(c, &o, JSON_ARRAY, "an array of routes"))
		goto out;
	if (!json_array_size(o.v) || json_array_size(o.v) > GW_CONFIG_ROUTES_MAX) {
		fail(c, &o, false, "expected 1 to %d routes", GW_CONFIG_ROUTES_MAX);
		goto out;
	}
	cfg->routes = calloc(json_array_size(o.v), sizeof(*cfg->routes));
	if (!cfg->routes) {
		fail(c, &o, false, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(o.v); i++) {
		struct node e = { json_array_get(o.v, i), o.v, i };
		size_t s2;

		path_push(c, &s2, "[%zu]", i);
		cfg->routes[i].index = i;
		cfg->nroutes++;
		parse_route(c, &e, cfg, &cfg->routes[i]);
		path_pop(c, s2);
		if (c->failed)
			break;
	}
out:
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

/* "hard" or "soft" at o[key] into *soft; absent leaves it. */
static int get_enforce(struct pctx *c, const struct node *o, bool *soft)
{
	struct node n;
	size_t saved;
	const char *v;
	int ret = 0;

	if (!WITH_MEMBER(c, o, "enforce", &n, saved))
		return 0;
	v = json_string_value(n.v);
	if (!v || (strcmp(v, "hard") && strcmp(v, "soft")))
		ret = fail(c, &n, false,
			   "expected \"hard\" (refuse past the limit) or \"soft\" (admit and "
			   "count the overage)");
	else
		*soft = !strcmp(v, "soft");
	path_pop(c, saved);
	return ret;
}

/*
 * A plan's quotas: {"day"|"week"|"month": N (requests) or {"requests": N, "credits": N,
 * "enforce": ...}, "enforce": "hard"|"soft" (the default of the periods)}.
 */
static int parse_quotas(struct pctx *c, const struct node *q, gw_plan_t *p)
{
	static const char *const pkeys[] = { "requests", "credits", "enforce", NULL };
	static const char *const names[GW_QUOTA_PERIODS] = { "day", "week", "month" };
	bool soft = false;

	if (get_enforce(c, q, &soft))
		return -EINVAL;
	p->quota_soft_default = soft;
	for (int per = 0; per < GW_QUOTA_PERIODS; per++) {
		gw_quota_limit_t *req = &p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, per)];
		gw_quota_limit_t *cred = &p->quota[gw_quota_kind(GW_QUOTA_CREDITS, per)];
		struct node n;
		size_t saved;
		bool psoft = soft;
		int ret = 0;

		if (!member(q, names[per], &n))
			continue;
		if (json_is_integer(n.v)) {
			if (get_uint(c, q, names[per], 0, UINT64_MAX >> 1, &req->limit))
				return -EINVAL;
			req->soft = soft;
			continue;
		}
		path_push(c, &saved, ".%s", names[per]);
		if (!json_is_object(n.v)) {
			ret = fail(c, &n, false,
				   "expected a number of requests or an object {\"requests\", "
				   "\"credits\", \"enforce\"}, got %s",
				   type_name(n.v));
		} else {
			ret = check_keys(c, &n, pkeys) || get_enforce(c, &n, &psoft) ||
			      get_uint(c, &n, "requests", 1, UINT64_MAX >> 1, &req->limit) ||
			      get_uint(c, &n, "credits", 1, UINT64_MAX >> 1, &cred->limit);
			if (!ret && !req->limit && !cred->limit)
				ret = fail(c, &n, false,
					   "expected \"requests\" or \"credits\" (or both)");
			req->soft = cred->soft = psoft;
		}
		path_pop(c, saved);
		if (ret)
			return -EINVAL;
	}
	p->quotas.day = p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_DAY)].limit;
	p->quotas.week = p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_WEEK)].limit;
	p->quotas.month = p->quota[gw_quota_kind(GW_QUOTA_REQUESTS, GW_QUOTA_MONTH)].limit;
	return 0;
}

static int cmp_route_name(const void *a, const void *b)
{
	return strcmp((*(const gw_route_t *const *)a)->name, (*(const gw_route_t *const *)b)->name);
}

/* The route named name, through c->routes_by_name: plans may list every route each, and a
 * scan per name would make a big config quadratic to validate. */
static const gw_route_t *find_route(const struct pctx *c, const char *name)
{
	gw_route_t key = { .name = (char *)name };
	const gw_route_t *kp = &key, *const * r;

	r = bsearch(&kp, c->routes_by_name, c->nroutes_by_name, sizeof(*c->routes_by_name),
		    cmp_route_name);
	return r ? *r : NULL;
}

static int parse_plan(struct pctx *c, const struct node *o, gw_config_t *cfg, gw_plan_t *p)
{
	static const char *const keys[] = { "rate",   "burst",		 "routes",
					    "quotas", "monthly_credits", NULL };
	static const char *const qkeys[] = { "day", "week", "month", "enforce", NULL };
	uint64_t burst = 0;
	const char *why;
	struct node n;
	size_t saved;
	int ret;

	if (want_type(c, o, JSON_OBJECT, "an object") || check_keys(c, o, keys) ||
	    get_uint(c, o, "monthly_credits", 0, UINT64_MAX >> 1, &p->monthly_credits))
		return -EINVAL;
	if (!member(o, "burst", &n))
		return fail(c, o, false, "missing required key \"burst\"");
	if (get_uint(c, o, "burst", 1, EDGE_BURST_MAX, &burst))
		return -EINVAL;
	if (!WITH_MEMBER(c, o, "rate", &n, saved))
		return fail(c, o, false, "missing required key \"rate\"");
	if (json_is_string(n.v))
		ret = gw_limit_parse_rate(json_string_value(n.v), 0, true, burst, &p->limit, &why);
	else if (json_is_number(n.v))
		ret = gw_limit_parse_rate(NULL, json_number_value(n.v), false, burst, &p->limit,
					  &why);
	else {
		ret = -EINVAL;
		why = "expected a number of requests per second or a string like \"5/min\"";
	}
	if (ret)
		fail(c, &n, false, "%s", why);
	path_pop(c, saved);
	if (ret)
		return -EINVAL;

	if (!member(o, "routes", &n))
		return fail(c, o, false,
			    "missing required key \"routes\" (\"*\" or a list of "
			    "route names)");
	path_push(c, &saved, ".routes");
	if (json_is_string(n.v) && !strcmp(json_string_value(n.v), "*")) {
		p->all_routes = true;
	} else if (!json_is_array(n.v)) {
		fail(c, &n, false, "expected \"*\" or an array of route names");
	} else if (json_array_size(n.v) > cfg->nroutes) {
		/* each route at most once: a longer list has a duplicate or a stranger */
		fail(c, &n, false, "%zu route names, but the config has %zu routes",
		     json_array_size(n.v), cfg->nroutes);
	} else if (!(p->routes = calloc((cfg->nroutes + 7) / 8 + 1, 1))) {
		fail(c, &n, false, "out of memory");
	} else {
		for (size_t i = 0; i < json_array_size(n.v) && !c->failed; i++) {
			struct node e = { json_array_get(n.v, i), n.v, i };
			const char *rn = json_string_value(e.v);
			const gw_route_t *r = rn ? find_route(c, rn) : NULL;
			size_t s2;

			path_push(c, &s2, "[%zu]", i);
			if (!rn)
				fail(c, &e, false, "expected a route name, got %s", type_name(e.v));
			else if (!r)
				fail(c, &e, false, "no route named \"%s\"", rn);
			else if (gw_plan_allows(p, r))
				fail(c, &e, false, "route \"%s\" is listed twice", rn);
			else
				p->routes[r->index >> 3] |= (uint8_t)(1u << (r->index & 7));
			path_pop(c, s2);
		}
	}
	path_pop(c, saved);
	if (c->failed)
		return -EINVAL;

	if (member(o, "quotas", &n)) {
		path_push(c, &saved, ".quotas");
		ret = want_type(c, &n, JSON_OBJECT,
				"an object {\"day\", \"week\", \"month\", \"enforce\"}") ||
		      check_keys(c, &n, qkeys) || parse_quotas(c, &n, p);
		path_pop(c, saved);
		if (ret)
			return -EINVAL;
	}
	if (p->monthly_credits) {
		gw_quota_limit_t *l = &p->quota[gw_quota_kind(GW_QUOTA_CREDITS, GW_QUOTA_MONTH)];

		member(o, "monthly_credits", &n);
		if (l->limit)
			return fail(c, &n, true,
				    "monthly credits are set twice (here and in "
				    "quotas.month.credits)");
		l->limit = p->monthly_credits;
		l->soft = p->quota_soft_default;
	}
	/* draft-ietf-httpapi-ratelimit-headers: "name";q=<burst>;w=<seconds to refill> */
	if (asprintf(&p->policy, "\"%s\";q=%llu;w=%llu", p->name,
		     (unsigned long long)p->limit.burst,
		     (unsigned long long)p->limit.window_s) < 0) {
		p->policy = NULL;
		return fail(c, o, false, "out of memory");
	}
	p->policy_len = strlen(p->policy);
	return 0;
}

static int parse_plans(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	struct node o;
	const char *k;
	json_t *v;
	size_t saved, i = 0;

	if (!WITH_MEMBER(c, root, "plans", &o, saved))
		return fail(c, root, false, "missing required key \"plans\"");
	if (want_type(c, &o, JSON_OBJECT,
		      "an object of name: {\"rate\", \"burst\", "
		      "\"routes\"}"))
		goto out;
	if (json_object_size(o.v) > GW_CONFIG_PLANS_MAX) {
		fail(c, &o, false, "at most %d plans", GW_CONFIG_PLANS_MAX);
		goto out;
	}
	cfg->plans = calloc(json_object_size(o.v) + 1, sizeof(*cfg->plans));
	c->routes_by_name = calloc(cfg->nroutes + 1, sizeof(*c->routes_by_name));
	if (!cfg->plans || !c->routes_by_name) {
		fail(c, &o, false, "out of memory");
		goto out;
	}
	for (i = 0; i < cfg->nroutes; i++)
		c->routes_by_name[i] = &cfg->routes[i];
	c->nroutes_by_name = cfg->nroutes;
	qsort(c->routes_by_name, cfg->nroutes, sizeof(*c->routes_by_name), cmp_route_name);
	i = 0;
	json_object_foreach(o.v, k, v)
	{
		struct node e = { v, o.v, i };
		gw_plan_t *p = &cfg->plans[i];
		size_t s2;

		path_push(c, &s2, ".%s", k);
		cfg->nplans++;
		p->name = strdup(k);
		if (!valid_name(k))
			fail(c, &e, true, "plan names are 1 to %d of A-Z a-z 0-9 . _ -",
			     GW_NAME_MAX);
		else if (!(p->id = gw_intern(k)))
			fail(c, &e, true, "too many distinct names");
		else
			parse_plan(c, &e, cfg, p);
		path_pop(c, s2);
		if (c->failed)
			break;
		i++;
	}
	if (!c->failed) {
		cfg->plan_by_id_len = gw_intern_count();
		cfg->plan_by_id = calloc(cfg->plan_by_id_len, sizeof(*cfg->plan_by_id));
		if (!cfg->plan_by_id)
			fail(c, &o, false, "out of memory");
		for (i = 0; cfg->plan_by_id && i < cfg->nplans; i++)
			cfg->plan_by_id[cfg->plans[i].id] = &cfg->plans[i];
	}
out:
	free(c->routes_by_name);
	c->routes_by_name = NULL;
	c->nroutes_by_name = 0;
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

/* "usage": {"utc_offset", "week_start", "flush_ms", "endpoint"} (quota.h, usage.h). */
static int parse_usage(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const keys[] = { "utc_offset", "week_start", "flush_ms", "endpoint",
					    NULL };
	struct node o, n;
	size_t saved, s2;

	cfg->usage.flush_ms = 1000;
	if (!(cfg->usage.endpoint = strdup("/v1/usage")))
		return fail(c, root, false, "out of memory");
	cfg->usage.endpoint_len = strlen(cfg->usage.endpoint);
	if (!WITH_MEMBER(c, root, "usage", &o, saved))
		return 0;
	if (want_type(c, &o, JSON_OBJECT, "an object") || check_keys(c, &o, keys) ||
	    get_uint(c, &o, "flush_ms", 10, 1000, &cfg->usage.flush_ms))
		goto out;
	if (WITH_MEMBER(c, &o, "utc_offset", &n, s2)) {
		if (gw_quota_parse_offset(json_string_value(n.v), &cfg->usage.clock.utc_offset_s))
			fail(c, &n, false, "expected \"+HH:MM\" or \"-HH:MM\" within 14:00 of UTC");
		path_pop(c, s2);
	}
	if (!c->failed && WITH_MEMBER(c, &o, "week_start", &n, s2)) {
		int wd = gw_quota_weekday_of(json_string_value(n.v));

		if (wd < 0)
			fail(c, &n, false, "expected a weekday, \"monday\" to \"sunday\"");
		else
			cfg->usage.clock.week_start = (uint8_t)wd;
		path_pop(c, s2);
	}
	if (!c->failed && WITH_MEMBER(c, &o, "endpoint", &n, s2)) {
		const char *v = json_string_value(n.v);

		free(cfg->usage.endpoint);
		cfg->usage.endpoint = NULL;
		cfg->usage.endpoint_len = 0;
		if (json_is_null(n.v) || json_is_false(n.v)) {
			/* off */
		} else if (!v || !request_path_ok(v, 256) || strpbrk(v, "?#%") ||
			   strlen(v) != json_string_length(n.v)) {
			fail(c, &n, false,
			     "expected a path (\"/v1/usage\"), or null / false for none");
		} else if (!(cfg->usage.endpoint = strdup(v))) {
			fail(c, &n, false, "out of memory");
		} else {
			cfg->usage.endpoint_len = strlen(v);
		}
		path_pop(c, s2);
	}
out:
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

/*
 * "store": {"path": FILE} (SQLite, the default type) or {"type": "redis", "url": URL,
 * "timeout_ms", "connect_timeout_ms", "policy": "fail-open" | "fail-closed", "prefix"}.
 */
static int parse_store(struct pctx *c, const struct node *root, gw_config_t *cfg)
{
	static const char *const sqlite_keys[] = { "type", "path", NULL };
	static const char *const redis_keys[] = {
		"type", "url", "timeout_ms", "connect_timeout_ms", "policy", "prefix", NULL
	};
	gw_redis_conf_t *rc = &cfg->store.redis;
	char *type = NULL, *p = NULL, *policy = NULL, *prefix = NULL;
	struct node n, v;
	size_t saved, s2;
	const char *why;

	if (!WITH_MEMBER(c, root, "store", &n, saved))
		return fail(c, root, false, "missing required key \"store\" ({\"path\": ...})");
	if (want_type(c, &n, JSON_OBJECT,
		      "an object {\"path\": ...} or {\"type\": \"redis\", \"url\": ...}") ||
	    get_string(c, &n, "type", false, &type))
		goto out;
	if (!type || !strcmp(type, "sqlite")) {
		cfg->store.type = GW_STORE_SQLITE;
		if (check_keys(c, &n, sqlite_keys) || get_string(c, &n, "path", true, &p))
			goto out;
		if (!(cfg->store.path = resolve_path(c, p))) {
			fail(c, &n, false, "out of memory");
		} else if (is_directory(cfg->store.path)) {
			member(&n, "path", &v);
			path_push(c, &s2, ".path");
			fail(c, &v, false, "%s is a directory (expected the database file)",
			     cfg->store.path);
			path_pop(c, s2);
		} else if ((why = parent_problem(cfg->store.path))) {
			member(&n, "path", &v);
			path_push(c, &s2, ".path");
			fail(c, &v, false,
			     "%s: %s (the daemon creates the file, not its directory)",
			     cfg->store.path, why);
			path_pop(c, s2);
		}
		goto out;
	}
	if (strcmp(type, "redis")) {
		member(&n, "type", &v);
		path_push(c, &s2, ".type");
		fail(c, &v, false, "unknown store type \"%s\" (expected \"sqlite\" or \"redis\")",
		     type);
		path_pop(c, s2);
		goto out;
	}
	cfg->store.type = GW_STORE_REDIS;
	rc->timeout_ms = DEF_REDIS_TIMEOUT_MS;
	rc->connect_timeout_ms = DEF_REDIS_CONNECT_MS;
	rc->policy = GW_REDIS_FAIL_OPEN;
	snprintf(rc->prefix, sizeof(rc->prefix), "%s", DEF_REDIS_PREFIX);
	if (check_keys(c, &n, redis_keys) || get_string(c, &n, "url", true, &cfg->store.url) ||
	    get_uint(c, &n, "timeout_ms", 1, 60000, &rc->timeout_ms) ||
	    get_uint(c, &n, "connect_timeout_ms", 1, 60000, &rc->connect_timeout_ms) ||
	    get_string(c, &n, "policy", false, &policy))
		goto out;
	member(&n, "url", &v);
	path_push(c, &s2, ".url");
	if (gw_redis_parse_url(cfg->store.url, rc, &why))
		fail(c, &v, false, "%s", why);
	path_pop(c, s2);
	if (c->failed)
		goto out;
	if (policy) {
		member(&n, "policy", &v);
		path_push(c, &s2, ".policy");
		if (!strcmp(policy, "fail-open"))
			rc->policy = GW_REDIS_FAIL_OPEN;
		else if (!strcmp(policy, "fail-closed"))
			rc->policy = GW_REDIS_FAIL_CLOSED;
		else
			fail(c, &v, false, "expected \"fail-open\" or \"fail-closed\"");
		path_pop(c, s2);
		if (c->failed)
			goto out;
	}
	if (member(&n, "prefix", &v)) {
		path_push(c, &s2, ".prefix");
		if (!json_is_string(v.v))
			fail(c, &v, false, "expected a string, got %s", type_name(v.v));
		else if (strlen(json_string_value(v.v)) != json_string_length(v.v) ||
			 !gw_redis_valid_prefix(json_string_value(v.v)))
			fail(c, &v, false, "a prefix is 0 to %d of A-Z a-z 0-9 : . _ -",
			     GW_REDIS_PREFIX_MAX);
		else
			snprintf(rc->prefix, sizeof(rc->prefix), "%s", json_string_value(v.v));
		path_pop(c, s2);
	}
out:
	free(type);
	free(p);
	free(policy);
	free(prefix);
	path_pop(c, saved);
	return c->failed ? -EINVAL : 0;
}

bool gw_config_server_header_ok(const char *v)
{
	size_t n = strlen(v);

	if (!n || n > GW_SERVER_HEADER_MAX || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

static int parse_root(struct pctx *c, json_t *root, gw_config_t *cfg)
{
	static const char *const keys[] = { "threads",	  "listen", "admin",	     "store",
					    "access_log", "limits", "clients",	     "keys",
					    "headers",	  "errors", "upstreams",     "routes",
					    "plans",	  "usage",  "cache",	     "notify",
					    "edge",	  "abuse",  "server_header", NULL };
	struct node r = { root, NULL, 0 }, n;
	uint64_t threads = 0;
	const char *why;
	size_t saved;

	if (want_type(c, &r, JSON_OBJECT, "an object at the top level") || check_keys(c, &r, keys))
		return -EINVAL;
	if (get_uint(c, &r, "threads", 0, GW_CONFIG_THREADS_MAX, &threads))
		return -EINVAL;
	if (!threads) {
		long n_cpu = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n_cpu > 0 ? (uint64_t)n_cpu : 1;
		if (threads > GW_CONFIG_THREADS_MAX)
			threads = GW_CONFIG_THREADS_MAX;
	}
	cfg->threads = (unsigned)threads;
	if (parse_listen(c, &r, cfg) || parse_admin(c, &r, cfg))
		return -EINVAL;
	if (parse_store(c, &r, cfg))
		return -EINVAL;
	if (WITH_MEMBER(c, &r, "access_log", &n, saved)) {
		if (json_is_string(n.v) && json_string_length(n.v) &&
		    (strlen(json_string_value(n.v)) != json_string_length(n.v) ||
		     gw_cfgtext_has_control(json_string_value(n.v)))) {
			fail(c, &n, false,
			     "a file path must not contain NUL or control characters");
		} else if (json_is_string(n.v) && json_string_length(n.v)) {
			if (!(cfg->access_log = resolve_path(c, json_string_value(n.v))))
				fail(c, &n, false, "out of memory");
			else if (is_directory(cfg->access_log))
				fail(c, &n, false, "%s is a directory (expected the log file)",
				     cfg->access_log);
			else if ((why = parent_problem(cfg->access_log)))
				fail(c, &n, false,
				     "%s: %s (the daemon creates the file, not its directory)",
				     cfg->access_log, why);
		} else if (!json_is_null(n.v) && !json_is_false(n.v)) {
			fail(c, &n, false,
			     "expected a file path, or null / false for no access log");
		}
		path_pop(c, saved);
		if (c->failed)
			return -EINVAL;
	}
	if (WITH_MEMBER(c, &r, "server_header", &n, saved)) {
		if (json_is_string(n.v) && gw_config_server_header_ok(json_string_value(n.v))) {
			if (!(cfg->server_header = strdup(json_string_value(n.v))))
				fail(c, &n, false, "out of memory");
		} else if (!json_is_null(n.v) && !json_is_false(n.v)) {
			fail(c, &n, false,
			     "expected the Server header's value (1 to %d printable ASCII "
			     "characters, no leading or trailing space), or null / false for none",
			     GW_SERVER_HEADER_MAX);
		}
		path_pop(c, saved);
		if (c->failed)
			return -EINVAL;
	}
	if (parse_limits(c, &r, cfg) || parse_clients(c, &r, cfg) || parse_keys(c, &r, cfg) ||
	    parse_headers_errors(c, &r, cfg) || parse_upstreams(c, &r, cfg) ||
	    parse_routes(c, &r, cfg) || parse_plans(c, &r, cfg) || parse_usage(c, &r, cfg) ||
	    parse_cache(c, &r, cfg) || parse_notify(c, &r, cfg))
		return -EINVAL;
	return 0;
}

static void free_listener(gw_listener_conf_t *l)
{
	free(l->address);
	if (l->ssl_ctx)
		SSL_CTX_free(l->ssl_ctx);
}

static void config_free(gw_config_t *cfg)
{
	if (!cfg)
		return;
	free(cfg->file);
	for (size_t i = 0; i < cfg->nlisteners; i++)
		free_listener(&cfg->listeners[i]);
	free(cfg->listeners);
	free_listener(&cfg->admin.listen);
	free(cfg->store.path);
	free(cfg->store.url);
	free(cfg->access_log);
	if (cfg->access_log_fd >= 0)
		close(cfg->access_log_fd);
	free(cfg->clients.trusted_edges);
	free(cfg->keys.header);
	free(cfg->keys.query_param);
	free(cfg->problem_type_base);
	free(cfg->server_header);
	free(cfg->usage.endpoint);
	for (int p = 0; p < GW_PROBLEM_MAX; p++)
		free(cfg->problems[p].body);
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		free(cfg->upstreams[i].name);
		free(cfg->upstreams[i].url);
		free(cfg->upstreams[i].host);
		for (size_t j = 0; j < cfg->upstreams[i].nservers; j++) {
			free(cfg->upstreams[i].servers[j].url);
			free(cfg->upstreams[i].servers[j].host);
			free(cfg->upstreams[i].servers[j].st);
		}
		free(cfg->upstreams[i].servers);
		free(cfg->upstreams[i].health.path);
	}
	free(cfg->notify.webhook);
	free(cfg->notify.command);
	free(cfg->notify.last_ns);
	free(cfg->notify.all_down);
	free(cfg->upstreams);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		free(cfg->routes[i].name);
		free(cfg->routes[i].pattern);
		for (size_t h = 0; h < cfg->routes[i].cache.nheaders; h++)
			free(cfg->routes[i].cache.headers[h]);
		if (cfg->routes[i].re)
			pcre2_code_free(cfg->routes[i].re);
	}
	free(cfg->routes);
	for (size_t i = 0; i < cfg->nplans; i++) {
		free(cfg->plans[i].name);
		free(cfg->plans[i].routes);
		free(cfg->plans[i].policy);
	}
	free(cfg->plans);
	free(cfg->plan_by_id);
	gw_edgecfg_free(cfg->edge);
	free(cfg);
}

static gw_config_t *open_and_parse(const char *file, char *err, size_t errlen);

/* Line and column (bytes, from 1) of offset off in text. */
static gw_textpos_t text_pos(const char *text, size_t off)
{
	gw_textpos_t p = { 1, 1 };

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			p.line++;
			p.col = 1;
		} else {
			p.col++;
		}
	}
	return p;
}

static gw_config_t *parse_text(const char *file, const char *text, size_t len, char *err,
			       size_t errlen)
{
	struct pctx c = { .file = file, .err = err, .errlen = errlen };
	gw_config_t *cfg;
	json_error_t je;
	json_t *root;
	const char *slash, *nul;

	err[0] = '\0';
	/* the directory must fit c.dir, or relative paths would follow the cwd instead */
	if (strlen(file) >= sizeof(c.dir)) {
		snprintf(err, errlen, "%.64s...: config path is longer than %zu bytes", file,
			 sizeof(c.dir) - 1);
		return NULL;
	}
	if (len > GW_CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: config is larger than %u bytes", file,
			 GW_CONFIG_FILE_MAX);
		return NULL;
	}
	/* jansson stops at a NUL byte and calls it "end of file expected", which sends
	 * the operator looking for a stray brace. */
	if ((nul = memchr(text, '\0', len))) {
		gw_textpos_t at = text_pos(text, (size_t)(nul - text));

		snprintf(err, errlen, "%s:%d:%d: NUL byte in config (JSON text has none)", file,
			 at.line, at.col);
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", file, je.line, je.column, je.text);
		else
			snprintf(err, errlen, "%s: %s", file, je.text);
		return NULL;
	}
	slash = strrchr(file, '/');
	if (slash && (size_t)(slash - file) < sizeof(c.dir))
		snprintf(c.dir, sizeof(c.dir), "%.*s", (int)(slash - file), file);
	if (slash == file)
		snprintf(c.dir, sizeof(c.dir), "/");
	c.pos = gw_jsonpos_build(text, len, root);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg)
		cfg->access_log_fd = -1;
	if (!cfg || !(cfg->file = strdup(file))) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto fail;
	}
	cfg->refcnt = 1;
	if (parse_root(&c, root, cfg))
		goto fail;
	if (!(cfg->edge = gw_edgecfg_parse(root, c.pos, file, err, errlen)))
		goto fail;
	json_decref(root);
	gw_jsonpos_free(c.pos);
	return cfg;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s: invalid configuration", file);
	config_free(cfg);
	json_decref(root);
	gw_jsonpos_free(c.pos);
	return NULL;
}

gw_config_t *gw_config_parse(const char *file, const char *text, size_t len, char *err,
			     size_t errlen)
{
	gw_config_t *cfg = parse_text(file, text, len, err, errlen);

	/* Messages quote keys, values and the text near a syntax error: one message, one
	 * line, whatever the file holds. */
	if (!cfg)
		gw_cfgtext_escape_inplace(err, errlen);
	return cfg;
}

static gw_config_t *load_file(const char *file, char *err, size_t errlen)
{
	if (strlen(file) >= PATH_MAX) {
		snprintf(err, errlen, "%.64s...: config path is longer than %d bytes", file,
			 PATH_MAX - 1);
		return NULL;
	}
	return open_and_parse(file, err, errlen);
}

static gw_config_t *open_and_parse(const char *file, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer for ever; the
	 * regular-file check below then refuses it. */
	int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	gw_config_t *cfg = NULL;
	struct stat st;
	char *text;
	size_t n;

	if (!f) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: Couldn't open config: %s", file, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: Couldn't read config: not a regular file", file);
		fclose(f);
		return NULL;
	}
	if ((size_t)st.st_size > GW_CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: config is larger than %u bytes", file,
			 GW_CONFIG_FILE_MAX);
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", file);
		fclose(f);
		return NULL;
	}
	n = fread(text, 1, (size_t)st.st_size, f);
	if (ferror(f))
		snprintf(err, errlen, "%s: Couldn't read config: %s", file, strerror(errno));
	else
		cfg = parse_text(file, text, n, err, errlen);
	free(text);
	fclose(f);
	return cfg;
}

gw_config_t *gw_config_load(const char *file, char *err, size_t errlen)
{
	gw_config_t *cfg = load_file(file, err, errlen);

	if (!cfg)
		gw_cfgtext_escape_inplace(err, errlen);
	return cfg;
}

gw_config_t *gw_config_ref(gw_config_t *c)
{
	__atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
	return c;
}

void gw_config_unref(gw_config_t *c)
{
	if (c && __atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(c);
}

static bool same_addr(const gw_listener_conf_t *a, const gw_listener_conf_t *b)
{
	return a->addrlen == b->addrlen && !memcmp(&a->addr, &b->addr, a->addrlen) &&
	       !a->ssl_ctx == !b->ssl_ctx;
}

int gw_config_reloadable(const gw_config_t *old, const gw_config_t *new, char *err, size_t errlen)
{
	const char *what = NULL;

	if (old->threads != new->threads)
		what = "threads";
	else if (old->nlisteners != new->nlisteners)
		what = "listen";
	else if (!same_addr(&old->admin.listen, &new->admin.listen))
		what = "admin.listen (or admin.tls on/off)";
	else if (old->store.type != new->store.type ||
		 (old->store.path && strcmp(old->store.path, new->store.path)) ||
		 (old->store.url && strcmp(old->store.url, new->store.url)) ||
		 memcmp(&old->store.redis, &new->store.redis, sizeof(old->store.redis)))
		what = "store";
	else if (old->limits.max_request_body != new->limits.max_request_body)
		what = "limits.max_request_body";
	else if (old->limits.client_timeout_ms != new->limits.client_timeout_ms)
		what = "limits.client_timeout_ms";
	else if (old->limits.handshake_timeout_ms != new->limits.handshake_timeout_ms)
		what = "limits.handshake_timeout_ms";
	else if (old->clients.table_size != new->clients.table_size)
		what = "clients.table_size";
	else if (!old->server_header != !new->server_header ||
		 (old->server_header && strcmp(old->server_header, new->server_header)))
		what = "server_header";
	else if (gw_edgecfg_reloadable(old->edge, new->edge, &what))
		(void)what;
	for (size_t i = 0; !what && i < old->nlisteners; i++)
		if (!same_addr(&old->listeners[i], &new->listeners[i]))
			what = "listen (addresses, order, or tls on/off)";
	if (what) {
		snprintf(err, errlen,
			 "%s: %s changed; it applies only at start, restart to "
			 "change it",
			 new->file, what);
		gw_cfgtext_escape_inplace(err, errlen);
		return -EINVAL;
	}
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * config.h - the daemon's configuration: parsed once, strictly, into an immutable struct.
 *
 * A JSON file (reference: docs/config.md) becomes a gw_config_t with everything the hot
 * path needs precomputed: compiled regexes (PCRE2, JIT), token-bucket intervals in ns, TLS
 * contexts with certificates loaded, pre-rendered problem bodies and RateLimit-Policy
 * values. Nothing in it changes after gw_config_load() returns; a reload builds a new one
 * and the server swaps pointers (see server.h). Lifetime is reference-counted because
 * worker threads finish in-flight requests on the config they started them with.
 *
 * Every error is reported as "FILE:LINE:COL: PATH: what is wrong", the position being the
 * offending key or value in the file, PATH its JSON path (routes[2].path).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "gw/intern.h"
#include "gw/problem.h"
#include "gw/quota.h"
#include "gw/redis_conf.h"

/* Exit status of `floodgate -t` and of a start that fails on the config. */
#define GW_CONFIG_EXIT_INVALID 2

/* Room for one error message: the longest config path (shorter than PATH_MAX, longer is
 * refused) and the message, so a message is never cut short of what it says. */
#define GW_CONFIG_ERRLEN (PATH_MAX + 1024)

/* Bounds of what the loader accepts (a config beyond them is an error, not a truncation). */
#define GW_CONFIG_ROUTES_MAX	 1024
#define GW_CONFIG_PLANS_MAX	 1024
#define GW_CONFIG_UPSTREAMS_MAX	 256
#define GW_CONFIG_LISTENERS_MAX	 16
#define GW_CONFIG_EDGES_MAX	 4096
#define GW_CONFIG_THREADS_MAX	 256
/* Longest `server_header` value. */
#define GW_SERVER_HEADER_MAX	 128
/* Bytes of config text: a reload parses it all while the old config serves; a real config
 * with every table full is well under a megabyte. */
#define GW_CONFIG_FILE_MAX	 (4u << 20)
/* Longest route regex, and all of them together: compiling and JIT-ing costs about 6 ms
 * per KiB, so the budget keeps a validation or reload under two seconds. */
#define GW_ROUTE_REGEX_MAX	 4096
#define GW_ROUTE_REGEX_TOTAL_MAX (256u << 10)

/* HTTP methods a route may allow; requests with any other method get 405 or 404. */
enum gw_method {
	GW_METHOD_GET = 0,
	GW_METHOD_HEAD,
	GW_METHOD_POST,
	GW_METHOD_PUT,
	GW_METHOD_PATCH,
	GW_METHOD_DELETE,
	GW_METHOD_OPTIONS,
	GW_METHOD_MAX,
	GW_METHOD_OTHER = GW_METHOD_MAX,
};

/* Where an API key may be taken from, in the order the config lists them. */
enum gw_key_source {
	GW_KEY_SRC_HEADER = 0, /* keys.header (default X-API-Key) */
	GW_KEY_SRC_BEARER,     /* Authorization: Bearer KEY */
	GW_KEY_SRC_QUERY,      /* keys.query_param (default api_key), stripped before forwarding */
	GW_KEY_SRC_MAX,
};

/* Which request header names the client, when the TCP peer is a trusted edge. */
enum gw_client_ip_header {
	GW_CLIENT_IP_NONE = 0, /* always the TCP peer */
	GW_CLIENT_IP_CF,       /* CF-Connecting-IP: one address */
	GW_CLIENT_IP_XFF,      /* X-Forwarded-For: rightmost address that is not an edge */
};

/* Where keys and shared limits live (docs/config.md, "store"). */
enum gw_store_type {
	GW_STORE_SQLITE = 0, /* embedded: one node, SQLite + in-memory buckets */
	GW_STORE_REDIS,	     /* cluster: Redis, shared by every node */
};

/* A token bucket: `burst` tokens refilled one every interval_ns (tb.h's units). */
typedef struct st_gw_limit_t {
	uint64_t interval_ns; /* ns per token */
	uint64_t cap_ns;      /* burst * interval_ns: a full bucket, as time */
	uint64_t burst;	      /* tokens in a full bucket (RateLimit-Policy q) */
	uint64_t window_s;    /* seconds to refill an empty bucket (RateLimit-Policy w), >= 1 */
	char text[48];	      /* the rate as written ("5/min", "10"), for messages */
} gw_limit_t;

struct st_gw_upstate_t;

/* One server of an upstream group (upgroup.h). */
typedef struct st_gw_upserver_t {
	char *url; /* as configured */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *host;		    /* Host header sent upstream: "host:port" from the URL */
	uint32_t weight;	    /* weighted and least-connections strategies */
	struct st_gw_upstate_t *st; /* shared health record (upgroup.h) */
} gw_upserver_t;

typedef struct st_gw_upstream_t {
	char *name;
	uint16_t id;  /* interned name */
	size_t index; /* in config->upstreams */
	char *url;    /* as configured */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *host; /* Host header sent upstream: "host:port" from the URL */
	uint64_t connect_timeout_ms;
	uint64_t first_byte_timeout_ms; /* also the idle timeout between body reads */
	uint64_t total_timeout_ms;
	uint64_t keepalive_idle_ms; /* pooled connections idle longer are closed */
	bool keepalive;		    /* reuse connections (a pool per worker thread) */
	size_t keepalive_max;	    /* idle connections kept per worker thread */
	bool preserve_host;	    /* send the client's Host instead of `host` */

	/* The group (upgroup.h); a plain `url` is a group of one, servers[0]. */
	gw_upserver_t *servers;
	size_t nservers;
	int strategy;		 /* enum in upgroup.c (gw_upgroup_strategy_of) */
	uint32_t retries;	 /* extra attempts on other servers (idempotent requests) */
	double retry_budget;	 /* retries per request, at most, over time */
	uint32_t fail_threshold; /* passive: consecutive failures that open the breaker */
	uint64_t open_ms;	 /* passive: how long the breaker stays open */
	struct {
		char *path; /* NULL: no active checks */
		uint64_t interval_ms, timeout_ms;
		uint32_t rise, fall;
	} health;
} gw_upstream_t;

/* Stripes of the response cache's store: each has its own lock, and max_bytes / 16 of the
 * budget (so no object over that is stored). */
#define GW_CACHE_STRIPES 16

/* Request headers a route's cache key may name (cache.key_headers). */
#define GW_CACHE_KEY_HEADERS_MAX 8

/* A route's response-cache settings (cache.h); ttl 0 = the route is not cached. */
typedef struct st_gw_route_cache_t {
	uint64_t swr_s; /* stale-while-revalidate: seconds past expiry served STALE */
	uint64_t sie_s; /* stale-if-error: seconds past expiry served when the upstream fails */
	char *headers[GW_CACHE_KEY_HEADERS_MAX]; /* lower-case request header names */
	size_t header_lens[GW_CACHE_KEY_HEADERS_MAX];
	size_t nheaders;
} gw_route_cache_t;

typedef struct st_gw_route_t {
	char *name;
	uint16_t id;	  /* interned name */
	size_t index;	  /* in config->routes */
	uint32_t methods; /* bit (1 << enum gw_method); all bits for "*" */
	char *pattern;	  /* the regex as configured */
	void *re;	  /* pcre2_code *, JIT-compiled when the platform allows */
	bool jit;	  /* it is */
	gw_upstream_t *upstream;
	bool auth;	      /* false: no key needed, no plan applies */
	uint32_t credits;     /* credit cost per request (enforced by the credits feature) */
	uint64_t cache_ttl_s; /* response cache TTL, 0 = do not cache (cache feature) */
	/* Give the quota debit back when the upstream fails (5xx). */
	bool refund_on_failure;
	char allow[96]; /* Allow header value for 405 */

	gw_route_cache_t cache; /* the rest of the cache settings */
} gw_route_t;

typedef struct st_gw_plan_t {
	char *name;
	uint16_t id;	  /* interned name */
	gw_limit_t limit; /* the plan's token bucket */
	bool all_routes;
	uint8_t *routes; /* bitmap by route index (when !all_routes) */
	struct {
		uint64_t day, week, month; /* requests; 0 = none (enforced by the quota feature) */
	} quotas;
	uint64_t monthly_credits; /* 0 = none (credits feature) */
	/* Limits by kind (quota.h), resolved from the above; quotas.enforce as the default. */
	gw_quota_limit_t quota[GW_QUOTA_KINDS];
	bool quota_soft_default;
	char *policy; /* RateLimit-Policy value */
	size_t policy_len;
} gw_plan_t;

typedef struct st_gw_tls_conf_t {
	SSL_CTX *ctx; /* certificates loaded, ALPN set when http is true */
} gw_tls_conf_t;

typedef struct st_gw_listener_conf_t {
	char *address; /* as configured: "127.0.0.1:8443", "[::1]:8443" */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	SSL_CTX *ssl_ctx; /* NULL: plain HTTP */
} gw_listener_conf_t;

typedef struct st_gw_config_t {
	int refcnt; /* atomic; see gw_config_ref() */
	char *file;

	unsigned threads; /* resolved: never 0 */
	gw_listener_conf_t *listeners;
	size_t nlisteners;

	struct {
		gw_listener_conf_t listen;
		uint8_t token_sha256[32];
	} admin;

	struct {
		char *path; /* SQLite database (type sqlite) */
		enum gw_store_type type;
		char *url;	       /* type redis: as configured (redis.host etc. parsed) */
		gw_redis_conf_t redis; /* type redis */
	} store;

	char *access_log;  /* NULL: off */
	int access_log_fd; /* opened by the server before the config is published; -1 */

	struct {
		size_t max_request_body;    /* bytes; larger requests get 413 */
		size_t max_header_bytes;    /* request line + header fields; larger get 431 */
		uint64_t client_timeout_ms; /* idle HTTP/1 and HTTP/2 connections */
		uint64_t handshake_timeout_ms;
		uint64_t shutdown_timeout_ms; /* SIGTERM: in-flight requests get this long */
	} limits;

	struct {
		struct fg_cidr *trusted_edges;
		size_t ntrusted_edges;
		enum gw_client_ip_header header;
		bool per_ip_on, per_edge_on;
		gw_limit_t per_ip;    /* per client IP, before key auth */
		gw_limit_t per_edge;  /* per trusted-edge peer IP, before key auth */
		size_t table_size;    /* tracked addresses (fixed at start) */
		unsigned ipv6_prefix; /* IPv6 clients are bucketed per this prefix */
	} clients;

	struct {
		enum gw_key_source order[GW_KEY_SRC_MAX];
		size_t nsources;
		char *header; /* lower case */
		size_t header_len;
		char *query_param;
		size_t query_param_len;
	} keys;

	struct {
		bool ratelimit; /* RateLimit-Policy + RateLimit (draft-ietf-httpapi-ratelimit-headers) */
		bool legacy; /* X-RateLimit-Limit / -Remaining / -Reset */
	} headers;

	char *problem_type_base;
	/* The Server header's value (h2o's server_name), NULL: none is sent. Start only:
	 * the workers read it on every response. */
	char *server_header;
	gw_problem_body_t problems[GW_PROBLEM_MAX];

	struct {
		gw_quota_clock_t clock; /* how quota periods are cut */
		uint64_t flush_ms;	/* counters to the store at least this often */
		char *endpoint;		/* the caller's own usage (GET), NULL = off */
		size_t endpoint_len;
	} usage;

	struct {
		size_t max_bytes;	  /* the store's budget (GW_CACHE_STRIPES shares) */
		size_t max_object_bytes;  /* larger responses are not stored */
		uint64_t lock_timeout_ms; /* coalesced requests wait at most this long */
		size_t max_waiters;	  /* per cache key; more go upstream on their own */
		bool shared_redis;	  /* "shared": "redis": the second layer (cacheshared.h) */
		size_t shared_max_object_bytes; /* larger entries stay in this node's layer */
	} cache;

	struct {
		char *webhook; /* http:// URL POSTed a JSON event, or NULL */
		char *command; /* run with /bin/sh -c, or NULL */
		uint64_t min_interval_s;
		uint64_t *last_ns;  /* atomic, per upstream: the last notification */
		uint64_t *all_down; /* atomic, per upstream: requests refused, all servers out */
	} notify;

	gw_upstream_t *upstreams;
	size_t nupstreams;
	gw_route_t *routes;
	size_t nroutes;
	gw_plan_t *plans;
	size_t nplans;
	gw_plan_t **plan_by_id; /* interned id -> plan, NULL when the config has no such plan */
	size_t plan_by_id_len;

	struct st_gw_edgecfg_t *edge; /* "edge" and "abuse" sections (edgecfg.h), never NULL */
} gw_config_t;

/*
 * Load and validate a config file. Returns a config with one reference, or NULL with
 * err holding "FILE:LINE:COL: PATH: message" (or "FILE: message" when there is no
 * position). Certificates and keys are loaded, so a missing file is an error here.
 */
gw_config_t *gw_config_load(const char *file, char *err, size_t errlen);

/* The same from text in memory; `file` only names it in messages and resolves nothing. */
gw_config_t *gw_config_parse(const char *file, const char *text, size_t len, char *err,
			     size_t errlen);

gw_config_t *gw_config_ref(gw_config_t *c);
void gw_config_unref(gw_config_t *c);

/* The plan named by an interned id, or NULL when this config has none by that name. */
static inline const gw_plan_t *gw_config_plan(const gw_config_t *c, uint16_t id)
{
	return id < c->plan_by_id_len ? c->plan_by_id[id] : NULL;
}

/* Whether plan p lets its keys use route r. */
static inline bool gw_plan_allows(const gw_plan_t *p, const gw_route_t *r)
{
	return p->all_routes || (p->routes[r->index >> 3] >> (r->index & 7)) & 1;
}

/*
 * Parse a rate: a JSON number of tokens per second (fractions allowed: 0.5) or a string
 * "N/s", "N/min", "N/h", "N/day" (N a positive integer), together with a burst, into l.
 * Returns 0 or -EINVAL with *why set.
 */
int gw_limit_parse_rate(const char *text, double number, bool is_text, uint64_t burst,
			gw_limit_t *l, const char **why);

/* The method enum of a request method (GW_METHOD_OTHER when not one of ours). */
enum gw_method gw_method_of(const char *m, size_t len);
const char *gw_method_name(enum gw_method m);

/* Whether v may be the Server header's value: 1 to GW_SERVER_HEADER_MAX printable ASCII
 * characters, no leading or trailing space. */
bool gw_config_server_header_ok(const char *v);

/* Compare the start-time-only settings of two configs; 0 when a reload may swap old for
 * new, else -EINVAL with a message in err naming the setting that changed. */
int gw_config_reloadable(const gw_config_t *old, const gw_config_t *new, char *err, size_t errlen);

#endif /* GW_CONFIG_H */

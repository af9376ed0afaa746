/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fg-h2o-floor - the floor of the gateway benchmark: a bare h2o handler that answers every
 * request with the same fixed 200, over TLS, on one event loop in one thread.
 *
 * It is built from the same libh2o (Debian's h2o 2.2.5, evloop flavour) and serves TLS the
 * way floodgate does (TLS 1.2 and 1.3, ECDHE AEAD suites for 1.2, session tickets and a
 * server-side session cache, ALPN h2 then http/1.1), so what a gateway spends above it per
 * request is the gateway's own work: no gateway can be cheaper than the library under it.
 *
 *   fg-h2o-floor -l ADDR:PORT -c CERT.pem -k KEY.pem [-s BYTES] [-r 200|401|429|hit]
 *
 * -r picks the answer: the fixed 200 (the default, the floor), or the answer floodgate
 * gives in a scenario of `make bench-gw`, header for header and byte for byte but for the
 * varying numbers (made to vary the same way: Retry-After and RateLimit's t= count down
 * each second, Age counts up): 401 for an unknown key, 429 for an empty bucket, the cache
 * hit (RateLimit headers, the stored Cache-Control and Content-Type, X-Cache, Age). What
 * floodgate spends above that "same-answer floor" is its own work; what the same-answer
 * floor spends above the fixed 200 is h2o's cost of the answer itself
 * (scripts/bench-gw/instructions.sh counts both).
 *
 * It prints "fg-h2o-floor: listening on ADDR:PORT" once ready; SIGTERM/SIGINT end it.
 */
#define H2O_USE_LIBUV 0
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <h2o.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* Largest body -s accepts. */
#define MAX_BODY	   (1u << 20)
/* Sessions kept by the server-side cache (floodgate keeps as many). */
#define SESSION_CACHE_SIZE 32768
/* TLS 1.2 suites, as floodgate's. */
#define TLS12_CIPHERS	   "ECDHE+AESGCM:ECDHE+CHACHA20"
/* Connections accepted per wake-up of the listener. */
#define ACCEPTS_PER_WAKEUP 16

static const unsigned char alpn[] = "\x02h2\x08http/1.1";

typedef struct st_floor_handler_t {
	h2o_handler_t super;
} floor_handler_t;

static h2o_globalconf_t gconf;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static h2o_iovec_t body;

enum answer { ANSWER_200, ANSWER_401, ANSWER_429, ANSWER_HIT };
static enum answer answer;
static time_t started;

static h2o_iovec_t name_ratelimit_policy = { H2O_STRLIT("ratelimit-policy") };
static h2o_iovec_t name_ratelimit = { H2O_STRLIT("ratelimit") };
static h2o_iovec_t name_x_cache = { H2O_STRLIT("x-cache") };

/* Append a header whose name and value outlive the request (as floodgate does). */
static void push(h2o_req_t *req, const h2o_iovec_t *name, const char *v, size_t len)
{
	h2o_headers_t *hs = &req->res.headers;

	h2o_vector_reserve(&req->pool, hs, hs->size + 1);
	hs->entries[hs->size++] = (h2o_header_t){ (h2o_iovec_t *)name, NULL, { (char *)v, len } };
}

/* Decimal digits of v into the pool. */
static h2o_iovec_t number(h2o_req_t *req, unsigned long v)
{
	char tmp[24], *p = tmp + sizeof(tmp), *out;
	size_t n;

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	n = (size_t)(tmp + sizeof(tmp) - p);
	out = h2o_mem_alloc_pool(&req->pool, n);
	memcpy(out, p, n);
	return h2o_iovec_init(out, n);
}

static h2o_iovec_t join(h2o_req_t *req, const char *a, size_t alen, h2o_iovec_t b)
{
	char *out = h2o_mem_alloc_pool(&req->pool, alen + b.len);

	memcpy(out, a, alen);
	memcpy(out + alen, b.base, b.len);
	return h2o_iovec_init(out, alen + b.len);
}

#define PROBLEM(slug, title, status, detail)                                                       \
	"{\"type\":\"urn:floodgate:problem:" slug "\",\"title\":\"" title "\",\"status\":" #status \
	",\"detail\":\"" detail "\"}"

static int on_answer(h2o_req_t *req)
{
	static h2o_generator_t generator = { NULL, NULL };
	static const char b401[] =
		PROBLEM("invalid-key", "Unauthorized", 401, "The API key is not valid.");
	static const char b429[] =
		PROBLEM("rate-limited", "Too Many Requests", 429,
			"The plan's request rate is exceeded; retry after the Retry-After delay.");
	h2o_iovec_t b = body, t, n;
	time_t now = time(NULL);

	switch (answer) {
	case ANSWER_401:
		req->res.status = 401;
		req->res.reason = "Unauthorized";
		b = h2o_iovec_init(b401, sizeof(b401) - 1);
		push(req, &H2O_TOKEN_WWW_AUTHENTICATE->buf,
		     H2O_STRLIT("Bearer realm=\"floodgate\", error=\"invalid_token\""));
		push(req, &H2O_TOKEN_CONTENT_TYPE->buf, H2O_STRLIT("application/problem+json"));
		break;
	case ANSWER_429:
		req->res.status = 429;
		req->res.reason = "Too Many Requests";
		b = h2o_iovec_init(b429, sizeof(b429) - 1);
		n = number(req, 86400 - (unsigned long)(now - started) % 86400);
		push(req, &name_ratelimit_policy, H2O_STRLIT("\"empty\";q=1;w=86400"));
		t = join(req, H2O_STRLIT("\"empty\";r=0;t="), n);
		push(req, &name_ratelimit, t.base, t.len);
		push(req, &H2O_TOKEN_RETRY_AFTER->buf, n.base, n.len);
		push(req, &H2O_TOKEN_CONTENT_TYPE->buf, H2O_STRLIT("application/problem+json"));
		break;
	default: /* ANSWER_HIT */
		req->res.status = 200;
		req->res.reason = "OK";
		push(req, &name_ratelimit_policy, H2O_STRLIT("\"bench\";q=1000000;w=1"));
		push(req, &name_ratelimit, H2O_STRLIT("\"bench\";r=999999;t=1"));
		push(req, &H2O_TOKEN_CACHE_CONTROL->buf, H2O_STRLIT("max-age=600"));
		push(req, &H2O_TOKEN_CONTENT_TYPE->buf, H2O_STRLIT("text/plain"));
		push(req, &name_x_cache, H2O_STRLIT("HIT"));
		n = number(req, (unsigned long)(now - started));
		push(req, &H2O_TOKEN_AGE->buf, n.base, n.len);
		break;
	}
	req->res.content_length = b.len;
	h2o_start_response(req, &generator);
	h2o_send(req, &b, 1, H2O_SEND_STATE_FINAL);
	return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	if (answer != ANSWER_200)
		return on_answer(req);
	static h2o_generator_t generator = { NULL, NULL };

	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = body.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("text/plain"));
	h2o_start_response(req, &generator);
	h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
	return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	if (SSL_select_next_proto((unsigned char **)out, outlen, alpn, sizeof(alpn) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_ctx(const char *cert, const char *key)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c)
		return NULL;
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				       SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (!SSL_CTX_set_cipher_list(c, TLS12_CIPHERS) ||
	    SSL_CTX_use_certificate_chain_file(c, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_session_id_context(c, (const unsigned char *)"fg-h2o-floor", 12);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(c, SESSION_CACHE_SIZE);
	SSL_CTX_set_alpn_select_cb(c, alpn_select, NULL);
	return c;
}

static int listen_on(const char *spec)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 4096)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (err)
		return;
	for (int n = 0; n < ACCEPTS_PER_WAKEUP; n++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);

		if (!sock)
			break;
		h2o_accept(&accept_ctx, sock);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fg-h2o-floor -l ADDR:PORT -c CERT.pem -k KEY.pem [-s BYTES] "
		   "[-r 200|401|429|hit]\n");
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *cert = NULL, *key = NULL;
	unsigned long size = 256;
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_socket_t *lsock;
	h2o_evloop_t *loop;
	floor_handler_t *h;
	char *e;
	int opt, fd;

	while ((opt = getopt(argc, argv, "l:c:k:s:r:h")) != -1) {
		switch (opt) {
		case 'l':
			addr = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 's':
			errno = 0;
			size = strtoul(optarg, &e, 10);
			if (errno || *e || !*optarg || size > MAX_BODY) {
				fprintf(stderr, "fg-h2o-floor: bad value for -s: %s\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (!strcmp(optarg, "200")) {
				answer = ANSWER_200;
			} else if (!strcmp(optarg, "401")) {
				answer = ANSWER_401;
			} else if (!strcmp(optarg, "429")) {
				answer = ANSWER_429;
			} else if (!strcmp(optarg, "hit")) {
				answer = ANSWER_HIT;
			} else {
				fprintf(stderr,
					"fg-h2o-floor: bad value for -r: %s (200, 401, 429 or "
					"hit)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!addr || !cert || !key || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	started = time(NULL);

	body.base = malloc(size ? size : 1);
	body.len = size;
	if (!body.base)
		return 1;
	for (size_t i = 0; i < size; i++)
		body.base[i] = i % 64 == 63 ? '\n' : 'x';

	h2o_config_init(&gconf);
	/* No Server header, as floodgate by default: the same response bytes. */
	gconf.server_name = h2o_iovec_init("", 0);
	host = h2o_config_register_host(&gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = (floor_handler_t *)h2o_create_handler(path, sizeof(*h));
	h->super.on_req = on_req;

	if (!(accept_ctx.ssl_ctx = tls_ctx(cert, key))) {
		fprintf(stderr, "fg-h2o-floor: Couldn't load %s / %s\n", cert, key);
		return 1;
	}
	if ((fd = listen_on(addr)) < 0) {
		fprintf(stderr, "fg-h2o-floor: Couldn't listen on %s: %s\n", addr, strerror(errno));
		return 1;
	}
	loop = h2o_evloop_create();
	h2o_context_init(&ctx, loop, &gconf);
	accept_ctx.ctx = &ctx;
	accept_ctx.hosts = gconf.hosts;
	lsock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_socket_read_start(lsock, on_accept);

	printf("fg-h2o-floor: listening on %s\n", addr);
	fflush(stdout);
	/* SIGTERM's default action ends the process: there is nothing to flush. */
	for (;;)
		h2o_evloop_run(loop, INT32_MAX);
	return 0;
}

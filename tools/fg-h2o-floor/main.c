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
 *   fg-h2o-floor -l ADDR:PORT -c CERT.pem -k KEY.pem [-s BYTES]
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

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
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
	fprintf(f, "usage: fg-h2o-floor -l ADDR:PORT -c CERT.pem -k KEY.pem [-s BYTES]\n");
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

	while ((opt = getopt(argc, argv, "l:c:k:s:h")) != -1) {
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

	body.base = malloc(size ? size : 1);
	body.len = size;
	if (!body.base)
		return 1;
	for (size_t i = 0; i < size; i++)
		body.base[i] = i % 64 == 63 ? '\n' : 'x';

	h2o_config_init(&gconf);
	gconf.server_name = h2o_iovec_init(H2O_STRLIT("fg-h2o-floor"));
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

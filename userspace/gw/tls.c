/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tls.c - server SSL_CTX construction (see tls.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "gw/tls.h"
#include "gw/tlsfast.h"

/* Session-ID context: resumption is only offered to sessions made by floodgate. */
#define SID_CTX		   "floodgate"
/* Sessions kept by each context's server-side cache. */
#define SESSION_CACHE_SIZE 32768
/* TLS 1.2 suites: forward secret AEAD only (1.3 suites are OpenSSL's, all AEAD). */
#define TLS12_CIPHERS	   "ECDHE+AESGCM:ECDHE+CHACHA20"

/* ALPN, in the server's order of preference (RFC 7301 wire format). */
static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_h1[] = "\x08http/1.1";

static unsigned char ticket_keys[80];
static int ticket_keys_ok;
static pthread_once_t ticket_once = PTHREAD_ONCE_INIT;

static void make_ticket_keys(void)
{
	ticket_keys_ok = RAND_bytes(ticket_keys, sizeof(ticket_keys)) == 1;
}

static void ssl_error(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "unknown error");
	ERR_clear_error();
	snprintf(err, errlen, "Couldn't %s %s: %s", what, file, buf);
}

/* Our own selection rather than h2o's, which offers only the h2 variants: a client that
 * asks for http/1.1 by name gets it acknowledged. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const unsigned char *srv = arg ? alpn_h2 : alpn_h1;
	unsigned int srvlen = arg ? sizeof(alpn_h2) - 1 : sizeof(alpn_h1) - 1;

	if (SSL_select_next_proto((unsigned char **)out, outlen, srv, srvlen, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static int check_file(const char *file, const char *what, char *err, size_t errlen)
{
	if (access(file, R_OK)) {
		snprintf(err, errlen, "Couldn't read %s %s: %s", what, file, strerror(errno));
		return -1;
	}
	return 0;
}

SSL_CTX *gw_tls_ctx_new(const gw_tls_opts_t *o, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (!o->ncerts) {
		snprintf(err, errlen, "no certificate configured");
		return NULL;
	}
	for (size_t i = 0; i < o->ncerts; i++) {
		if (check_file(o->cert[i], "certificate", err, errlen) ||
		    check_file(o->key[i], "private key", err, errlen))
			return NULL;
	}
	pthread_once(&ticket_once, make_ticket_keys);
	if (!(ctx = SSL_CTX_new(TLS_server_method()))) {
		ssl_error(err, errlen, "create", "a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, o->min_version ? o->min_version : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		ssl_error(err, errlen, "set", "the cipher list");
		goto fail;
	}
	for (size_t i = 0; i < o->ncerts; i++) {
		X509 *leaf;
		EVP_PKEY *key;

		/* Each pair becomes the context's certificate for its key type (EC, RSA). */
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert[i]) != 1) {
			ssl_error(err, errlen, "load certificate", o->cert[i]);
			goto fail;
		}
		leaf = SSL_CTX_get0_certificate(ctx); /* the one just loaded */
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key[i], SSL_FILETYPE_PEM) != 1) {
			ssl_error(err, errlen, "load private key", o->key[i]);
			goto fail;
		}
		/* The key went to the slot of its own type: check it against this pair's
		 * certificate, not against what the context holds for that type (an EC key
		 * given with an RSA certificate would pass against an EC pair loaded before,
		 * and the RSA certificate would never be served). */
		key = SSL_CTX_get0_privatekey(ctx);
		if (!leaf || !key || X509_check_private_key(leaf, key) != 1) {
			ERR_clear_error();
			snprintf(err, errlen,
				 "%s does not match %s: each certificate needs its own key",
				 o->key[i], o->cert[i]);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			ssl_error(err, errlen, "match private key", o->key[i]);
			goto fail;
		}
	}
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)SID_CTX, sizeof(SID_CTX) - 1);
	if (o->session_cache) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx, SESSION_CACHE_SIZE);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	if (o->tickets) {
		if (ticket_keys_ok &&
		    SSL_CTX_set_tlsext_ticket_keys(ctx, ticket_keys, sizeof(ticket_keys)) != 1) {
			ssl_error(err, errlen, "set", "the session ticket keys");
			goto fail;
		}
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, o->session_cache ? 1 : 0);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, o->h2 ? (void *)1 : NULL);
	/* -ENOSYS (not bound) leaves the context OpenSSL's; main() warns about it once */
	if (o->fast_records)
		gw_tlsfast_enable(ctx);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tls.h - server TLS contexts: TLS 1.2 and 1.3 only, ECDSA and/or RSA certificates,
 * ALPN h2 + http/1.1, session resumption by tickets and by a server-side session cache.
 *
 * Ticket keys are made once per process and shared by every context, so a ticket issued
 * by one worker thread, listener or config generation is accepted after a reload too.
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* Certificates one listener may carry (typically one ECDSA and one RSA). */
#define GW_TLS_CERTS_MAX 4

typedef struct st_gw_tls_opts_t {
	const char *cert[GW_TLS_CERTS_MAX]; /* PEM chain: leaf first */
	const char *key[GW_TLS_CERTS_MAX];  /* PEM private key */
	size_t ncerts;
	int min_version;    /* TLS1_2_VERSION or TLS1_3_VERSION */
	bool tickets;	    /* stateless session tickets */
	bool session_cache; /* server-side session cache */
	bool h2;	    /* offer h2 in ALPN (else http/1.1 only) */
	bool fast_records;  /* TLS 1.3 AES-GCM records by tlsfast.h, not OpenSSL */
} gw_tls_opts_t;

/* A new server context, or NULL with a message in err ("Couldn't load ...: why"). */
SSL_CTX *gw_tls_ctx_new(const gw_tls_opts_t *o, char *err, size_t errlen);

#endif /* GW_TLS_H */

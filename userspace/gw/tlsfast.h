/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tlsfast.h - floodgate's own TLS 1.3 record layer under libh2o's TLS sockets.
 *
 * libh2o 2.2.5 encrypts and decrypts through SSL_write and SSL_read over a BIO of its own.
 * The daemon defines SSL_read, SSL_write, SSL_pending, SSL_get_error and SSL_shutdown
 * itself; the dynamic linker binds libh2o's calls to them (as hpack.h does for the HTTP/2
 * encoder). For a server connection of a context passed to gw_tlsfast_enable() that
 * negotiated TLS 1.3 with an AES-GCM suite, the records after the handshake are protected
 * by tls13.h instead of OpenSSL's record layer; every other connection, and every other
 * SSL call, is OpenSSL's unchanged.
 *
 * How a connection is taken over, and why it is exact:
 *   - the traffic secrets come from OpenSSL's key log callback (the only interface to them
 *     in OpenSSL 3.0), kept in the connection's ex_data, never logged;
 *   - reading: at the first SSL_read after the handshake, when OpenSSL has read no record
 *     since the handshake ended (its message and info callbacks count them) and holds none
 *     (SSL_has_pending): the sequence number is 0. OpenSSL reads the handshake record by
 *     record (no read-ahead), so the client's first request, arriving with its Finished,
 *     is still in libh2o's buffer; otherwise reading stays OpenSSL's;
 *   - writing: at the first SSL_write. OpenSSL's message callback counts the records it
 *     wrote under the server's application key (the key log says when that key came into
 *     use), which are the session tickets: the count is the next sequence number. The
 *     callback also counts the tickets themselves, and when the two counts differ (the key
 *     log's moment and the records disagree, which OpenSSL 3.0 does not do) OpenSSL sends
 *     a KeyUpdate instead (SSL_key_update, RFC 8446 section 4.6.3) and the next server
 *     secret starts at sequence number 0;
 * After that OpenSSL never sees the connection's records again: a client's KeyUpdate is
 * handled here (and answered when it asks), close_notify is sent here, and the server's
 * own key is updated every 2^24 records (the AES-GCM limit of section 5.5).
 */
#ifndef GW_TLSFAST_H
#define GW_TLSFAST_H

#include <stdint.h>

#include <openssl/ssl.h>

/* Records sent under one key before the server updates it (RFC 8446 5.5: 2^24.5). */
#define GW_TLSFAST_KEY_RECORDS (1ull << 24)

typedef struct st_gw_tlsfast_stats_t {
	uint64_t rx_taken;	/* connections whose reading became floodgate's */
	uint64_t tx_taken;	/* ... whose writing */
	uint64_t declined;	/* TLS 1.3 connections left to OpenSSL (suite, state) */
	uint64_t failed;	/* connections closed on a bad record or an unexpected message */
	uint64_t key_updates;	/* KeyUpdates received from clients */
	uint64_t tx_key_update; /* writing taken over with a KeyUpdate (the records not counted) */
} gw_tlsfast_stats_t;

/* Let connections of ctx (a server context) use the fast path: installs the key log
 * callback. 0, or -ENOSYS when SSL_read and the others are not bound to this module (the
 * context then stays OpenSSL's throughout). */
int gw_tlsfast_enable(SSL_CTX *ctx);

/* 1 when libh2o's SSL_read, SSL_write, SSL_pending, SSL_get_error and SSL_shutdown are this
 * module's, and the module found OpenSSL's own. */
int gw_tlsfast_bound(void);

/* Process-wide counts since start. */
void gw_tlsfast_stats(gw_tlsfast_stats_t *out);

#endif /* GW_TLSFAST_H */

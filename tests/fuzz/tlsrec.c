// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tlsrec.c - libFuzzer target: what a TLS 1.3 client may send once the handshake is done,
 * read by floodgate's record layer (gw/tlsfast.h over gw/tls13.h), after a real handshake
 * with an OpenSSL client in memory.
 *
 * The first byte picks the read size and how the bytes arrive (in pieces of 1 to 256
 * bytes, SSL_read after each), the second the mode:
 *   - raw: the rest goes to the server as it is. Nothing can authenticate; the server must
 *     return no data and end in "want more" or in an error, never crash or overread;
 *   - records: the rest is a list of items (kind, 2-byte length, bytes) that become records
 *     sealed with the client's own key (from its key log): application data, alerts,
 *     handshake messages, well-formed KeyUpdates (the forger moves to its next key too),
 *     an unprotected record, a record with one bit changed (not in its length). A model says what the server must
 *     return: the application data, in order, up to the first item a client may not send;
 *     then an error (SSL_ERROR_SSL), or the end of the stream after close_notify.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gw/tls13.h"
#include "gw/tlsfast.h"

#include "fuzz/fuzz.h"

#define ITEM_MAX 3000 /* bytes of one item: several records' worth of input stays fast */

static SSL_CTX *sctx, *cctx;
static uint8_t csecret[48];
static size_t csecret_len;

static void client_keylog(const SSL *ssl, const char *line)
{
	static const char label[] = "CLIENT_TRAFFIC_SECRET_0 ";

	(void)ssl;
	if (strncmp(line, label, sizeof(label) - 1))
		return;
	line += sizeof(label) - 1 + 65;
	csecret_len = strlen(line) / 2;
	for (size_t i = 0; i < csecret_len && i < sizeof(csecret); i++) {
		unsigned v;

		MUST(sscanf(line + 2 * i, "%2x", &v) == 1);
		csecret[i] = (uint8_t)v;
	}
}

static void init(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	MUST(X509_sign(x, pk, EVP_sha256()) > 0);
	sctx = SSL_CTX_new(TLS_server_method());
	MUST(SSL_CTX_use_certificate(sctx, x) == 1 && SSL_CTX_use_PrivateKey(sctx, pk) == 1);
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	SSL_CTX_set_num_tickets(sctx, 0);
	MUST(gw_tlsfast_enable(sctx) == 0);
	cctx = SSL_CTX_new(TLS_client_method());
	MUST(SSL_CTX_set_ciphersuites(cctx, "TLS_AES_128_GCM_SHA256") == 1);
	SSL_CTX_set_keylog_callback(cctx, client_keylog);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static BIO *mem(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	BIO_set_mem_eof_return(b, -1);
	return b;
}

static void move(BIO *from, BIO *to)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
		BIO_write(to, buf, n);
}

/* the wire the items make, and what the server must answer */
struct model {
	uint8_t *wire, *want;
	size_t wire_len, want_len;
	bool stop; /* an item the client may not send, or close_notify: nothing after counts */
	bool eof;  /* ... it was close_notify */
};

static void put(struct model *m, const void *p, size_t n)
{
	memcpy(m->wire + m->wire_len, p, n);
	m->wire_len += n;
}

static void build(struct model *m, gw_tls13_dir_t *d, const uint8_t *in, size_t len)
{
	uint8_t rec[ITEM_MAX + GW_TLS13_OVERHEAD];

	while (len >= 3) {
		uint8_t kind = in[0] % 7;
		size_t n = ((size_t)in[1] << 8 | in[2]) % (ITEM_MAX + 1);
		const uint8_t *p = in + 3;
		bool ok_item;

		if (n > len - 3)
			n = len - 3;
		in += 3 + n;
		len -= 3 + n;
		switch (kind) {
		case 0: /* application data, maybe empty */
			put(m, rec, gw_tls13_seal(d, GW_TLS13_APP_DATA, p, n, rec));
			if (!m->stop) {
				memcpy(m->want + m->want_len, p, n);
				m->want_len += n;
			}
			break;
		case 1: /* an alert: close_notify and user_canceled are all a client may send */
			put(m, rec, gw_tls13_seal(d, GW_TLS13_ALERT, p, n, rec));
			ok_item = n == 2 && p[1] == 90;
			if (!m->stop && n == 2 && p[1] == 0)
				m->eof = true;
			if (!ok_item)
				m->stop = true;
			break;
		case 2: /* a handshake message: only a well-formed KeyUpdate is allowed */
			put(m, rec, gw_tls13_seal(d, GW_TLS13_HANDSHAKE, p, n, rec));
			if (n == 5 && p[0] == 24 && !p[1] && !p[2] && p[3] == 1 && p[4] <= 1)
				MUST(gw_tls13_dir_update(d) == 0);
			else
				m->stop = true;
			break;
		case 3: { /* a KeyUpdate, asked-for or not */
			uint8_t ku[5] = { 24, 0, 0, 1, n ? (uint8_t)(p[0] & 1) : 0 };

			put(m, rec, gw_tls13_seal(d, GW_TLS13_HANDSHAKE, ku, 5, rec));
			MUST(gw_tls13_dir_update(d) == 0);
			break;
		}
		case 4: { /* an unprotected record (a plaintext handshake message) */
			uint8_t h[5] = { GW_TLS13_HANDSHAKE, 3, 3, (uint8_t)(n >> 8), (uint8_t)n };

			put(m, h, sizeof(h));
			put(m, p, n);
			m->stop = true;
			break;
		}
		case 5: { /* a record with one bit changed */
			size_t rl = gw_tls13_seal(d, GW_TLS13_APP_DATA, p, n, rec);

			size_t at = (n ? p[0] : 0) % rl;

			/* not in the length: a longer record is only an incomplete one */
			if (at == 3 || at == 4)
				at = 5;
			rec[at] ^= (uint8_t)(1u << (n > 1 ? p[1] % 8 : 0));
			put(m, rec, rl);
			m->stop = true;
			break;
		}
		default: { /* another content type: change_cipher_spec, or unknown */
			uint8_t t = n ? p[0] : 20;

			if (!t || t == GW_TLS13_APP_DATA || t == GW_TLS13_ALERT ||
			    t == GW_TLS13_HANDSHAKE)
				t = 20;
			put(m, rec, gw_tls13_seal(d, t, p, n, rec));
			m->stop = true;
			break;
		}
		}
		if (m->stop)
			break; /* what follows cannot be read: nothing to check there */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint8_t out[1 << 20];
	SSL *c, *s;
	BIO *c_in, *c_out, *s_in, *s_out;
	struct model m = { 0 };
	gw_tls13_dir_t d;
	size_t got = 0, piece;
	int num, n, err = 0, cdone = 0, sdone = 0;
	bool raw;

	if (size < 2)
		return 0;
	if (!ready) {
		init();
		ready = true;
	}
	num = 1 + (data[0] & 0x3f) * 70;	 /* 1 to 4411 bytes per SSL_read */
	piece = 1 + (size_t)(data[0] >> 6) * 85; /* 1, 86, 171, 256 bytes at a time */
	raw = data[1] & 1;
	data += 2;
	size -= 2;

	c_in = mem();
	c_out = mem();
	s_in = mem();
	s_out = mem();
	c = SSL_new(cctx);
	s = SSL_new(sctx);
	SSL_set_bio(c, c_in, c_out);
	SSL_set_bio(s, s_in, s_out);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (int i = 0; i < 10 && !(cdone && sdone); i++) {
		cdone = cdone || SSL_do_handshake(c) == 1;
		sdone = sdone || SSL_do_handshake(s) == 1;
		move(c_out, s_in);
		move(s_out, c_in);
	}
	MUST(cdone && sdone && csecret_len == 32);
	MUST(gw_tls13_dir_init(&d, GW_TLS13_AES_128_GCM_SHA256, csecret, 32) == 0);

	m.wire = malloc(size / 3 * (5 + GW_TLS13_OVERHEAD) + size +
			64); /* a KeyUpdate item of 3 bytes makes 27 */
	m.want = malloc(size + 1);
	MUST(m.wire && m.want);
	if (raw)
		memcpy(m.wire, data, m.wire_len = size);
	else
		build(&m, &d, data, size);

	for (size_t off = 0; off < m.wire_len && !err; off += piece) {
		BIO_write(s_in, m.wire + off,
			  (int)(m.wire_len - off < piece ? m.wire_len - off : piece));
		while ((n = SSL_read(s, out + got, num)) > 0) {
			MUST(got + (size_t)n <= (raw ? 0 : m.want_len));
			got += (size_t)n;
		}
		err = SSL_get_error(s, n);
		MUST(err == SSL_ERROR_WANT_READ || err == SSL_ERROR_SSL ||
		     err == SSL_ERROR_ZERO_RETURN);
		if (err == SSL_ERROR_WANT_READ)
			err = 0;
	}
	if (raw) {
		MUST(got == 0);
	} else {
		MUST(got == m.want_len && !memcmp(out, m.want, got));
		if (m.eof)
			MUST(err == SSL_ERROR_ZERO_RETURN);
		else if (m.stop)
			MUST(err == SSL_ERROR_SSL);
		else
			MUST(err == 0);
	}
	gw_tls13_dir_free(&d);
	free(m.wire);
	free(m.want);
	SSL_free(c);
	SSL_free(s);
	ERR_clear_error();
	return 0;
}

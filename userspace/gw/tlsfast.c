/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tlsfast.c - floodgate's TLS 1.3 record layer under libh2o (see tlsfast.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "gw/tls13.h"
#include "gw/tlsfast.h"

enum mode { UNDECIDED = 0, FAST, OPENSSL };

struct fast {
	uint8_t csecret[GW_TLS13_SECRET_MAX], ssecret[GW_TLS13_SECRET_MAX];
	size_t csecret_len, ssecret_len;
	enum mode rx_mode, tx_mode;
	gw_tls13_dir_t rx, tx;
	uint8_t *part; /* a record read in part (GW_TLS13_HEADER + GW_TLS13_CIPHER_MAX) */
	size_t part_have, part_need;
	uint8_t *left; /* plaintext not yet returned */
	size_t left_off, left_len;
	int last_err;	     /* SSL_get_error's answer for our last call */
	bool ours;	     /* the last SSL_read/write/shutdown was handled here */
	bool eof;	     /* close_notify received */
	bool dead;	     /* a fatal error: every call fails */
	bool shut;	     /* close_notify sent: nothing may be written after it */
	bool update_due;     /* the client asked for our KeyUpdate */
	bool tx_counting;    /* the server's application secret is in use: count its records */
	uint32_t tx_records; /* records OpenSSL wrote under it */
	uint32_t tx_tickets; /* NewSessionTicket messages among them */
	bool rx_counting;    /* the handshake is done: count the records OpenSSL reads */
	uint32_t rx_records; /* ... which must be none when reading is taken over */
};

static int (*real_read)(SSL *, void *, int);
static int (*real_write)(SSL *, const void *, int);
static int (*real_pending)(const SSL *);
static int (*real_get_error)(const SSL *, int);
static int (*real_shutdown)(SSL *);
static int ex_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;
static gw_tlsfast_stats_t stats;

/* Records are read into and sealed in per-thread buffers: one record each. */
static __thread uint8_t rbuf[GW_TLS13_HEADER + GW_TLS13_CIPHER_MAX];
static __thread uint8_t wbuf[GW_TLS13_PLAIN_MAX + GW_TLS13_OVERHEAD];

/* Resolved before main(): the first SSL_read may come from any thread. */
__attribute__((constructor)) static void resolve(void)
{
	real_read = (int (*)(SSL *, void *, int))dlsym(RTLD_NEXT, "SSL_read");
	real_write = (int (*)(SSL *, const void *, int))dlsym(RTLD_NEXT, "SSL_write");
	real_pending = (int (*)(const SSL *))dlsym(RTLD_NEXT, "SSL_pending");
	real_get_error = (int (*)(const SSL *, int))dlsym(RTLD_NEXT, "SSL_get_error");
	real_shutdown = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_shutdown");
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static void free_fast(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct fast *f = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!f)
		return;
	gw_tls13_dir_free(&f->rx);
	gw_tls13_dir_free(&f->tx);
	if (f->part)
		OPENSSL_clear_free(f->part, GW_TLS13_HEADER + GW_TLS13_CIPHER_MAX);
	if (f->left)
		OPENSSL_clear_free(f->left, f->left_off + f->left_len);
	OPENSSL_cleanse(f, sizeof(*f));
	free(f);
}

static void make_index(void)
{
	ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_fast);
}

static struct fast *state(const SSL *ssl)
{
	return ex_idx < 0 ? NULL : SSL_get_ex_data(ssl, ex_idx);
}

static int unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char ch = s[2 * i + j];

			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v |= (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v |= (unsigned)(ch - 'A' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* "LABEL <client random, 64 hex> <secret, hex>": keep the two application secrets. */
static void keylog(const SSL *ssl, const char *line)
{
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ",
			  server[] = "SERVER_TRAFFIC_SECRET_0 ";
	bool is_client = !strncmp(line, client, sizeof(client) - 1);
	struct fast *f;
	const char *hex;
	size_t n;

	if (!is_client && strncmp(line, server, sizeof(server) - 1))
		return;
	hex = line + sizeof(client) - 1; /* both labels have the same length */
	if (strlen(hex) < 65 || hex[64] != ' ')
		return;
	hex += 65;
	n = strlen(hex) / 2;
	if (n != 32 && n != 48)
		return;
	if (!(f = state(ssl))) {
		if (!(f = calloc(1, sizeof(*f))))
			return; /* the connection stays OpenSSL's */
		if (!SSL_set_ex_data((SSL *)ssl, ex_idx, f)) {
			free(f);
			return;
		}
	}
	if (unhex(hex, n, is_client ? f->csecret : f->ssecret))
		return;
	if (is_client) {
		f->csecret_len = n;
	} else {
		f->ssecret_len = n;
		f->tx_counting = true;
	}
}

/* OpenSSL's message callback: the records and messages it writes once the server's
 * application key is in use, which before the takeover are its session tickets; the
 * records it reads once the handshake is done, which before the takeover are none. */
static void on_msg(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	struct fast *f;

	(void)version, (void)arg;
	if (!(f = state(ssl)))
		return;
	if (!write_p) {
		if (f->rx_counting && content_type == SSL3_RT_HEADER)
			f->rx_records++;
		return;
	}
	if (!f->tx_counting)
		return;
	if (content_type == SSL3_RT_HEADER)
		f->tx_records++;
	else if (content_type == SSL3_RT_HANDSHAKE && len &&
		 *(const uint8_t *)buf == SSL3_MT_NEWSESSION_TICKET)
		f->tx_tickets++;
}

/* OpenSSL's info callback: from the end of the handshake on, OpenSSL's reads count. */
static void on_info(const SSL *ssl, int where, int ret)
{
	struct fast *f;

	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_DONE) && (f = state(ssl)))
		f->rx_counting = true;
}

int gw_tlsfast_enable(SSL_CTX *ctx)
{
	if (!gw_tlsfast_bound())
		return -ENOSYS;
	pthread_once(&idx_once, make_index);
	if (ex_idx < 0)
		return -ENOMEM;
	SSL_CTX_set_keylog_callback(ctx, keylog);
	SSL_CTX_set_msg_callback(ctx, on_msg);
	SSL_CTX_set_info_callback(ctx, on_info);
	return 0;
}

int gw_tlsfast_bound(void)
{
	return real_read && real_write && real_pending && real_get_error && real_shutdown &&
	       dlsym(RTLD_DEFAULT, "SSL_read") == (void *)SSL_read &&
	       dlsym(RTLD_DEFAULT, "SSL_write") == (void *)SSL_write;
}

void gw_tlsfast_stats(gw_tlsfast_stats_t *out)
{
	out->rx_taken = __atomic_load_n(&stats.rx_taken, __ATOMIC_RELAXED);
	out->tx_taken = __atomic_load_n(&stats.tx_taken, __ATOMIC_RELAXED);
	out->declined = __atomic_load_n(&stats.declined, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&stats.failed, __ATOMIC_RELAXED);
	out->key_updates = __atomic_load_n(&stats.key_updates, __ATOMIC_RELAXED);
	out->tx_key_update = __atomic_load_n(&stats.tx_key_update, __ATOMIC_RELAXED);
}

/* The suite, when this connection can be ours: TLS 1.3, AES-GCM, handshake done. */
static uint16_t suite_of(SSL *ssl)
{
	const SSL_CIPHER *c;
	uint16_t id;

	if (SSL_version(ssl) != TLS1_3_VERSION || !SSL_is_init_finished(ssl) ||
	    !SSL_is_server(ssl) || !(c = SSL_get_current_cipher(ssl)))
		return 0;
	id = (uint16_t)SSL_CIPHER_get_id(c);
	return id == GW_TLS13_AES_128_GCM_SHA256 || id == GW_TLS13_AES_256_GCM_SHA384 ? id : 0;
}

static void decide_rx(SSL *ssl, struct fast *f)
{
	uint16_t suite = suite_of(ssl);

	f->rx_mode = OPENSSL;
	/* sequence number 0: OpenSSL has read no record since the handshake and holds none */
	if (suite && f->csecret_len && f->rx_counting && !f->rx_records && !SSL_has_pending(ssl) &&
	    !gw_tls13_dir_init(&f->rx, suite, f->csecret, f->csecret_len)) {
		f->rx_mode = FAST;
		count(&stats.rx_taken);
	} else {
		count(&stats.declined);
	}
	OPENSSL_cleanse(f->csecret, sizeof(f->csecret));
}

static void decide_tx(SSL *ssl, struct fast *f)
{
	uint16_t suite = suite_of(ssl);
	gw_tls13_dir_t d;

	f->tx_mode = OPENSSL;
	f->tx_counting = false;
	if (!suite || !f->ssecret_len || gw_tls13_dir_init(&d, suite, f->ssecret, f->ssecret_len)) {
		count(&stats.declined);
		goto out;
	}
	/* Every record OpenSSL wrote under this key was a session ticket, one per record:
	 * the count is the next sequence number. (Were the key log's moment and the records
	 * ever to disagree, the counts would too, and the KeyUpdate below is used.) */
	if (f->tx_records == f->tx_tickets) {
		d.seq = f->tx_records;
		goto taken;
	}
	/* OpenSSL sends a KeyUpdate under its own sequence number; the next secret starts at
	 * sequence number 0. If OpenSSL cannot, it keeps the connection: nothing was sent. */
	if (SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 || SSL_do_handshake(ssl) != 1 ||
	    SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE || gw_tls13_dir_update(&d)) {
		ERR_clear_error();
		gw_tls13_dir_free(&d);
		count(&stats.declined);
		goto out;
	}
	f->update_due = false; /* that KeyUpdate also answers one the client asked for */
	count(&stats.tx_key_update);
taken:
	f->tx = d;
	f->tx_mode = FAST;
	count(&stats.tx_taken);
out:
	OPENSSL_cleanse(f->ssecret, sizeof(f->ssecret));
}

static int fail(struct fast *f)
{
	if (!f->dead)
		count(&stats.failed);
	f->dead = true;
	f->last_err = SSL_ERROR_SSL;
	return -1;
}

/* One whole record: in f->part (completed) or read whole into rbuf. -EAGAIN when libh2o's
 * buffer ran dry first (what was read is kept in f->part), -EBADMSG on a bad header. */
static int next_record(SSL *ssl, struct fast *f, uint8_t **rec, size_t *len)
{
	BIO *b = SSL_get_rbio(ssl);
	uint8_t *buf = f->part ? f->part : rbuf;
	size_t have = f->part ? f->part_have : 0, need = f->part ? f->part_need : GW_TLS13_HEADER;

	for (;;) {
		while (have < need) {
			int r = BIO_read(b, buf + have, (int)(need - have));

			if (r <= 0)
				goto short_read;
			have += (size_t)r;
		}
		if (need > GW_TLS13_HEADER)
			break;
		int body = gw_tls13_body_len(buf);

		if (body < 0)
			return body;
		need = GW_TLS13_HEADER + (size_t)body;
	}
	*rec = buf;
	*len = need;
	return 0;
short_read:
	if (buf == rbuf && have) {
		if (!(f->part = OPENSSL_malloc(GW_TLS13_HEADER + GW_TLS13_CIPHER_MAX)))
			return -ENOMEM;
		memcpy(f->part, rbuf, have);
	}
	if (f->part) {
		f->part_have = have;
		f->part_need = need;
	}
	return -EAGAIN;
}

static void drop_part(struct fast *f)
{
	if (f->part) {
		OPENSSL_clear_free(f->part, GW_TLS13_HEADER + GW_TLS13_CIPHER_MAX);
		f->part = NULL;
	}
}

static int take_left(struct fast *f, void *buf, int num)
{
	size_t n = f->left_len < (size_t)num ? f->left_len : (size_t)num;

	memcpy(buf, f->left + f->left_off, n);
	f->left_off += n;
	f->left_len -= n;
	if (!f->left_len) {
		OPENSSL_clear_free(f->left, f->left_off);
		f->left = NULL;
		f->left_off = 0;
	}
	f->last_err = SSL_ERROR_NONE;
	return (int)n;
}

/* A record that is not application data, or an empty one: 0 to go on reading, 1 for the
 * client's close_notify, -EBADMSG for anything the client may not send. */
static int handle_other(struct fast *f, uint8_t type, const uint8_t *plain, size_t plen)
{
	if (type == GW_TLS13_APP_DATA)
		return 0; /* an empty record: allowed, and nothing to return */
	if (type == GW_TLS13_ALERT && plen == 2 && plain[1] == 0) { /* close_notify */
		f->eof = true;
		return 1;
	}
	if (type == GW_TLS13_ALERT && plen == 2 && plain[1] == 90)
		return 0; /* user_canceled: close_notify follows */
	/* KeyUpdate, alone in its record: the only handshake message a client may send once
	 * the handshake is done without being asked (section 4.6) */
	if (type == GW_TLS13_HANDSHAKE && plen == 5 && plain[0] == 24 && !plain[1] && !plain[2] &&
	    plain[3] == 1 && plain[4] <= 1) {
		count(&stats.key_updates);
		if (plain[4])
			f->update_due = true;
		return gw_tls13_dir_update(&f->rx) ? -ENOMEM : 0;
	}
	return -EBADMSG;
}

static int fast_read(SSL *ssl, struct fast *f, void *buf, int num)
{
	if (f->dead || num < 0)
		return fail(f);
	if (f->left_len)
		return take_left(f, buf, num);
	if (f->eof) {
		f->last_err = SSL_ERROR_ZERO_RETURN;
		return 0;
	}
	if (!num) {
		f->last_err = SSL_ERROR_NONE;
		return 0;
	}
	for (;;) {
		uint8_t *rec, *plain, type;
		size_t rlen, plen;
		int err = next_record(ssl, f, &rec, &rlen);

		if (err == -EAGAIN) {
			f->last_err = SSL_ERROR_WANT_READ;
			return -1;
		}
		if (err)
			return fail(f);
		/* straight into the caller's buffer when the whole inner plaintext fits */
		plain = rlen - GW_TLS13_HEADER - GW_TLS13_TAG <= (size_t)num
				? buf
				: rec + GW_TLS13_HEADER;
		err = gw_tls13_open(&f->rx, rec, rlen, plain, &plen, &type);
		if (err) {
			drop_part(f);
			return fail(f);
		}
		if (type == GW_TLS13_APP_DATA && plen) {
			int n = (int)plen;

			/* the inner plaintext (with its type byte and padding) did not fit, the
			 * data itself may */
			if (plain != buf && plen <= (size_t)num) {
				memcpy(buf, plain, plen);
			} else if (plain != buf) {
				n = num;
				memcpy(buf, plain, (size_t)num);
				if (!(f->left = OPENSSL_malloc(plen - (size_t)num))) {
					drop_part(f);
					return fail(f);
				}
				memcpy(f->left, plain + num, plen - (size_t)num);
				f->left_off = 0;
				f->left_len = plen - (size_t)num;
			}
			drop_part(f);
			f->last_err = SSL_ERROR_NONE;
			return n;
		}
		err = handle_other(f, type, plain, plen);
		drop_part(f);
		if (err < 0)
			return fail(f);
		if (err > 0) {
			f->last_err = SSL_ERROR_ZERO_RETURN;
			return 0;
		}
	}
}

static int put(SSL *ssl, const uint8_t *rec, size_t len)
{
	return BIO_write(SSL_get_wbio(ssl), rec, (int)len) == (int)len ? 0 : -EIO;
}

static int fast_write(SSL *ssl, struct fast *f, const void *buf, int num)
{
	static const uint8_t key_update[5] = { 24, 0, 0, 1, 0 }; /* update_not_requested */
	const uint8_t *p = buf;

	if (f->dead || num < 0)
		return fail(f);
	if (f->shut) {
		f->last_err = SSL_ERROR_SSL;
		return -1;
	}
	for (int off = 0; off < num;) {
		size_t n = (size_t)(num - off) < GW_TLS13_PLAIN_MAX ? (size_t)(num - off)
								    : GW_TLS13_PLAIN_MAX;

		if (f->update_due || f->tx.seq >= GW_TLSFAST_KEY_RECORDS) {
			if (put(ssl, wbuf,
				gw_tls13_seal(&f->tx, GW_TLS13_HANDSHAKE, key_update,
					      sizeof(key_update), wbuf)) ||
			    gw_tls13_dir_update(&f->tx))
				return fail(f);
			f->update_due = false;
		}
		if (put(ssl, wbuf, gw_tls13_seal(&f->tx, GW_TLS13_APP_DATA, p + off, n, wbuf)))
			return fail(f);
		off += (int)n;
	}
	f->last_err = SSL_ERROR_NONE;
	return num;
}

int SSL_read(SSL *ssl, void *buf, int num)
{
	struct fast *f = state(ssl);

	if (f && f->rx_mode == UNDECIDED)
		decide_rx(ssl, f);
	if (!f || f->rx_mode != FAST) {
		if (f)
			f->ours = false;
		return real_read(ssl, buf, num);
	}
	f->ours = true;
	return fast_read(ssl, f, buf, num);
}

int SSL_write(SSL *ssl, const void *buf, int num)
{
	struct fast *f = state(ssl);

	if (f && f->tx_mode == UNDECIDED)
		decide_tx(ssl, f);
	if (!f || f->tx_mode != FAST) {
		if (f)
			f->ours = false;
		return real_write(ssl, buf, num);
	}
	f->ours = true;
	return fast_write(ssl, f, buf, num);
}

int SSL_pending(const SSL *ssl)
{
	struct fast *f = state(ssl);

	if (!f || f->rx_mode != FAST)
		return real_pending(ssl);
	return (int)f->left_len;
}

int SSL_get_error(const SSL *ssl, int ret)
{
	struct fast *f = state(ssl);

	if (!f || !f->ours)
		return real_get_error(ssl, ret);
	return ret > 0 ? SSL_ERROR_NONE : f->last_err;
}

int SSL_shutdown(SSL *ssl)
{
	static const uint8_t close_notify[2] = { 1, 0 }; /* warning, close_notify */
	struct fast *f = state(ssl);

	if (!f || f->tx_mode != FAST) {
		if (f)
			f->ours = false;
		return real_shutdown(ssl);
	}
	f->ours = true;
	if (f->dead)
		return fail(f);
	f->last_err = SSL_ERROR_NONE;
	if (f->shut)
		return 1;
	/* ours to send; the peer's close_notify is not waited for (as libh2o, which closes
	 * once this is written) */
	if (put(ssl, wbuf,
		gw_tls13_seal(&f->tx, GW_TLS13_ALERT, close_notify, sizeof(close_notify), wbuf)))
		return fail(f);
	f->shut = true;
	return 1;
}

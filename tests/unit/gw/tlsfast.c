/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/tlsfast.c, floodgate's TLS 1.3 record layer, against an
 * OpenSSL client in the same process (memory BIOs; the server's read BIO answers "retry"
 * when empty, as libh2o's does). The server context is gw_tls_ctx_new()'s.
 *   - both suites: data both ways, sizes 1 byte to 40 KB (several records), the counters
 *     saying the connection was taken over; a resumed session too;
 *   - a record arriving a byte at a time; reads smaller than a record (SSL_pending);
 *     200 records in one flight;
 *   - the client's KeyUpdate, asked-for and not: the server follows it and answers;
 *   - the sending side taken over at the count of OpenSSL's records (its session tickets),
 *     and through a KeyUpdate when OpenSSL wrote something else first; the reading side
 *     left to OpenSSL when OpenSSL read a record first;
 *   - close_notify both ways; nothing written after the server's;
 *   - bad input: a changed byte, a plaintext record, an alert other than close_notify, a
 *     session ticket from the client, a KeyUpdate cut over two records: each closes the
 *     connection (SSL_ERROR_SSL) and nothing else; an empty record and user_canceled are
 *     allowed (records made here with the client's own keys, from its key log);
 *   - left to OpenSSL: TLS 1.2, ChaCha20-Poly1305, a context without fast_records.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "unit.h"

#include "gw/tls.h"
#include "gw/tls13.h"
#include "gw/tlsfast.h"

static char dir[] = "/tmp/fg-tlsfast-XXXXXX", crt[64], key[64];
static uint64_t rng = 0x853c49e6748fea9bull;

struct pair {
	SSL *c, *s;
	BIO *c_in, *c_out, *s_in, *s_out; /* c_out -> s_in, s_out -> c_in */
};

/* the client's application secret, for forging its records */
static uint8_t client_secret[48];
static size_t client_secret_len;

static void client_keylog(const SSL *ssl, const char *line)
{
	static const char label[] = "CLIENT_TRAFFIC_SECRET_0 ";
	unsigned v;

	(void)ssl;
	if (strncmp(line, label, sizeof(label) - 1))
		return;
	line += sizeof(label) - 1 + 65;
	client_secret_len = strlen(line) / 2;
	for (size_t i = 0; i < client_secret_len; i++) {
		sscanf(line + 2 * i, "%2x", &v);
		client_secret[i] = (uint8_t)v;
	}
}

/* The contexts most tests share: the server's with fast_records, a TLS 1.3 client's. */
static SSL_CTX *fast_sctx, *tls13_cctx;

static SSL_CTX *server_ctx(bool fast);
static SSL_CTX *client_ctx(int max_version, const char *suites);

static int setup(void **state)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(crt, sizeof(crt), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fg", -1, -1,
				   0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_non_null(f = fopen(crt, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	assert_non_null(f = fopen(key, "w"));
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
	fast_sctx = server_ctx(true);
	tls13_cctx = client_ctx(TLS1_3_VERSION, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	SSL_CTX_free(fast_sctx);
	SSL_CTX_free(tls13_cctx);
	unlink(crt);
	unlink(key);
	rmdir(dir);
	return 0;
}

static SSL_CTX *server_ctx(bool fast)
{
	gw_tls_opts_t o = { .cert = { crt },
			    .key = { key },
			    .ncerts = 1,
			    .min_version = TLS1_2_VERSION,
			    .tickets = true,
			    .session_cache = true,
			    .fast_records = fast };
	char err[256];
	SSL_CTX *ctx = gw_tls_ctx_new(&o, err, sizeof(err));

	if (!ctx)
		fail_msg("%s", err);
	return ctx;
}

static SSL_CTX *client_ctx(int max_version, const char *suites)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	SSL_CTX_set_max_proto_version(ctx, max_version);
	if (suites)
		assert_int_equal(SSL_CTX_set_ciphersuites(ctx, suites), 1);
	SSL_CTX_set_keylog_callback(ctx, client_keylog);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	return ctx;
}

static BIO *mem(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	BIO_set_mem_eof_return(b, -1); /* empty: retry, as libh2o's BIO */
	return b;
}

/* Move what each side wrote to the other; how many bytes moved. */
static size_t shuttle(struct pair *p)
{
	char buf[65536];
	size_t moved = 0;
	int n;

	while ((n = BIO_read(p->c_out, buf, sizeof(buf))) > 0) {
		BIO_write(p->s_in, buf, n);
		moved += (size_t)n;
	}
	while ((n = BIO_read(p->s_out, buf, sizeof(buf))) > 0) {
		BIO_write(p->c_in, buf, n);
		moved += (size_t)n;
	}
	return moved;
}

static void connect_pair(struct pair *p, SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *resume)
{
	int cdone = 0, sdone = 0;

	memset(p, 0, sizeof(*p));
	p->c = SSL_new(cctx);
	p->s = SSL_new(sctx);
	p->c_in = mem();
	p->c_out = mem();
	p->s_in = mem();
	p->s_out = mem();
	SSL_set_bio(p->c, p->c_in, p->c_out);
	SSL_set_bio(p->s, p->s_in, p->s_out);
	SSL_set_connect_state(p->c);
	SSL_set_accept_state(p->s);
	if (resume)
		SSL_set_session(p->c, resume);
	for (int i = 0; i < 20 && !(cdone && sdone); i++) {
		if (!cdone)
			cdone = SSL_do_handshake(p->c) == 1;
		if (!sdone)
			sdone = SSL_do_handshake(p->s) == 1;
		shuttle(p);
	}
	assert_true(cdone && sdone);
	/* the client takes in the session tickets */
	{
		char b[1];

		assert_int_equal(SSL_read(p->c, b, 1), -1);
		assert_int_equal(SSL_get_error(p->c, -1), SSL_ERROR_WANT_READ);
	}
}

static void free_pair(struct pair *p)
{
	SSL_free(p->c);
	SSL_free(p->s);
}

static void fill(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)fg_xorshift64(&rng);
}

/* Everything `from` has for us, read in pieces of at most `chunk`, into out. */
static size_t read_all(SSL *ssl, uint8_t *out, size_t cap, int chunk)
{
	size_t got = 0;
	int n;

	while (got < cap && (n = SSL_read(ssl, out + got, chunk)) > 0)
		got += (size_t)n;
	return got;
}

static void send_both_ways(struct pair *p, size_t len, int chunk)
{
	static uint8_t data[65536], got[65536];

	fill(data, len);
	assert_int_equal(SSL_write(p->c, data, (int)len), (int)len);
	shuttle(p);
	assert_int_equal(read_all(p->s, got, len, chunk), len);
	assert_memory_equal(got, data, len);
	assert_int_equal(SSL_read(p->s, got, 1), -1); /* all of it, nothing more */
	assert_int_equal(SSL_get_error(p->s, -1), SSL_ERROR_WANT_READ);
	fill(data, len);
	assert_int_equal(SSL_write(p->s, data, (int)len), (int)len);
	shuttle(p);
	assert_int_equal(read_all(p->c, got, len, 65536), len);
	assert_memory_equal(got, data, len);
}

static void bound(void **state)
{
	(void)state;
	assert_int_equal(gw_tlsfast_bound(), 1);
}

static void suites(void **state)
{
	(void)state;
	static const char *names[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384" };
	static const size_t lens[] = { 1, 100, 4000, 16383, 16384, 16385, 40000 };
	SSL_CTX *sctx = server_ctx(true);

	for (int s = 0; s < 2; s++) {
		SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, names[s]);
		gw_tlsfast_stats_t a, b;
		SSL_SESSION *sess;
		struct pair p;

		gw_tlsfast_stats(&a);
		connect_pair(&p, sctx, cctx, NULL);
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			send_both_ways(&p, lens[i], 65536);
		for (int i = 0; i < 50; i++)
			send_both_ways(&p, 1 + fg_xorshift64(&rng) % 3000, 65536);
		gw_tlsfast_stats(&b);
		assert_int_equal(b.rx_taken - a.rx_taken, 1);
		assert_int_equal(b.tx_taken - a.tx_taken, 1);
		assert_int_equal(b.tx_key_update, a.tx_key_update); /* the tickets counted */
		assert_int_equal(b.failed, a.failed);
		sess = SSL_get1_session(p.c);
		assert_int_equal(SSL_SESSION_is_resumable(sess), 1);
		SSL_shutdown(p.c); /* else OpenSSL forgets the session */
		free_pair(&p);
		/* resumed: the same */
		connect_pair(&p, sctx, cctx, sess);
		assert_int_equal(SSL_session_reused(p.c), 1);
		send_both_ways(&p, 2000, 65536);
		gw_tlsfast_stats(&a);
		assert_int_equal(a.rx_taken - b.rx_taken, 1);
		assert_int_equal(a.tx_taken - b.tx_taken, 1);
		assert_int_equal(a.tx_key_update, b.tx_key_update);
		SSL_SESSION_free(sess);
		free_pair(&p);
		SSL_CTX_free(cctx);
	}
	SSL_CTX_free(sctx);
}

static void pieces(void **state)
{
	(void)state;
	static uint8_t data[20000], wire[30000], got[20000];
	struct pair p;
	int n, wl;

	connect_pair(&p, fast_sctx, tls13_cctx, NULL);
	/* a byte at a time: nothing until the record is whole */
	fill(data, 3000);
	assert_int_equal(SSL_write(p.c, data, 3000), 3000);
	wl = BIO_read(p.c_out, wire, sizeof(wire));
	for (int i = 0; i < wl; i++) {
		BIO_write(p.s_in, wire + i, 1);
		n = SSL_read(p.s, got, sizeof(got));
		if (i < wl - 1) {
			assert_int_equal(n, -1);
			assert_int_equal(SSL_get_error(p.s, n), SSL_ERROR_WANT_READ);
		} else {
			assert_int_equal(n, 3000);
		}
	}
	assert_memory_equal(got, data, 3000);
	/* reads of 7 bytes out of a 16 KB record: the rest is pending */
	fill(data, 16384);
	assert_int_equal(SSL_write(p.c, data, 16384), 16384);
	shuttle(&p);
	assert_int_equal(SSL_read(p.s, got, 7), 7);
	assert_int_equal(SSL_pending(p.s), 16384 - 7);
	assert_int_equal(read_all(p.s, got + 7, 16384 - 7, 7), 16384 - 7);
	assert_int_equal(SSL_pending(p.s), 0);
	assert_memory_equal(got, data, 16384);
	/* a read of exactly the record's data: its type byte does not fit, the data does */
	fill(data, 100);
	assert_int_equal(SSL_write(p.c, data, 100), 100);
	shuttle(&p);
	assert_int_equal(SSL_read(p.s, got, 100), 100);
	assert_int_equal(SSL_pending(p.s), 0);
	assert_memory_equal(got, data, 100);
	assert_int_equal(SSL_write(p.c, data, 100), 100);
	shuttle(&p);
	assert_int_equal(SSL_read(p.s, got, 99), 99);
	assert_int_equal(SSL_pending(p.s), 1);
	assert_int_equal(SSL_read(p.s, got + 99, 100), 1);
	assert_memory_equal(got, data, 100);
	/* 60 kB (four records) arriving in pieces of 1000 bytes, read 4 kB at a time */
	{
		static uint8_t big[60000], in[60000];
		size_t got_n = 0;

		fill(big, sizeof(big));
		assert_int_equal(SSL_write(p.c, big, sizeof(big)), (int)sizeof(big));
		wl = 0;
		while ((n = BIO_read(p.c_out, wire + 0, 1000)) > 0) {
			BIO_write(p.s_in, wire, n);
			wl += n;
			while ((n = SSL_read(p.s, in + got_n, 4096)) > 0)
				got_n += (size_t)n;
			assert_int_equal(SSL_get_error(p.s, n), SSL_ERROR_WANT_READ);
		}
		assert_int_equal(got_n, sizeof(big));
		assert_memory_equal(in, big, sizeof(big));
	}
	/* 200 records in one flight */
	for (int i = 0; i < 200; i++)
		assert_int_equal(SSL_write(p.c, data + i, 50), 50);
	shuttle(&p);
	assert_int_equal(read_all(p.s, got, 10000, 4096), 10000);
	for (int i = 0; i < 200; i++)
		assert_memory_equal(got + 50 * i, data + i, 50);
	free_pair(&p);
}

static void key_updates(void **state)
{
	(void)state;
	gw_tlsfast_stats_t a, b;
	struct pair p;

	connect_pair(&p, fast_sctx, tls13_cctx, NULL);
	send_both_ways(&p, 500, 65536);
	gw_tlsfast_stats(&a);
	for (int round = 0; round < 4; round++) {
		assert_int_equal(SSL_key_update(p.c, round & 1 ? SSL_KEY_UPDATE_NOT_REQUESTED
							       : SSL_KEY_UPDATE_REQUESTED),
				 1);
		send_both_ways(&p, 300, 65536); /* the client's update goes first */
		send_both_ways(&p, 20000, 65536);
	}
	gw_tlsfast_stats(&b);
	assert_int_equal(b.key_updates - a.key_updates, 4);
	assert_int_equal(b.failed, a.failed);
	free_pair(&p);
}

/* A record OpenSSL wrote that is not a ticket (SSL_write_ex is not floodgate's): the counts
 * differ, and the takeover goes through a KeyUpdate. */
static void key_update_takeover(void **state)
{
	(void)state;
	gw_tlsfast_stats_t a, b;
	struct pair p;
	size_t w;
	char buf[16];

	connect_pair(&p, fast_sctx, tls13_cctx, NULL);
	gw_tlsfast_stats(&a);
	assert_int_equal(SSL_write_ex(p.s, "early", 5, &w), 1);
	shuttle(&p);
	assert_int_equal(SSL_read(p.c, buf, sizeof(buf)), 5);
	send_both_ways(&p, 3000, 65536);
	send_both_ways(&p, 20, 65536);
	gw_tlsfast_stats(&b);
	assert_int_equal(b.tx_key_update - a.tx_key_update, 1);
	assert_int_equal(b.tx_taken - a.tx_taken, 1);
	assert_int_equal(b.failed, a.failed);
	free_pair(&p);
}

/* A record OpenSSL read itself (SSL_read_ex is not floodgate's) before the first SSL_read:
 * the sequence number is no longer 0, and reading stays OpenSSL's. */
static void read_by_openssl_first(void **state)
{
	(void)state;
	gw_tlsfast_stats_t a, b;
	struct pair p;
	size_t r;
	char buf[16];

	connect_pair(&p, fast_sctx, tls13_cctx, NULL);
	gw_tlsfast_stats(&a);
	assert_int_equal(SSL_write(p.c, "first", 5), 5);
	shuttle(&p);
	assert_int_equal(SSL_read_ex(p.s, buf, sizeof(buf), &r), 1);
	assert_int_equal(r, 5);
	send_both_ways(&p, 3000, 100);
	gw_tlsfast_stats(&b);
	assert_int_equal(b.rx_taken, a.rx_taken);
	assert_int_equal(b.tx_taken - a.tx_taken, 1);
	assert_int_equal(b.declined - a.declined, 1);
	assert_int_equal(b.failed, a.failed);
	free_pair(&p);
}

static void close_notify(void **state)
{
	(void)state;
	struct pair p;
	char b[16];

	/* the client's */
	connect_pair(&p, fast_sctx, tls13_cctx, NULL);
	send_both_ways(&p, 10, 65536);
	SSL_shutdown(p.c);
	shuttle(&p);
	assert_int_equal(SSL_read(p.s, b, sizeof(b)), 0);
	assert_int_equal(SSL_get_error(p.s, 0), SSL_ERROR_ZERO_RETURN);
	free_pair(&p);
	/* the server's: the client sees a clean close, and nothing may follow */
	connect_pair(&p, fast_sctx, tls13_cctx, NULL);
	send_both_ways(&p, 10, 65536);
	assert_int_equal(SSL_shutdown(p.s), 1);
	assert_int_equal(SSL_shutdown(p.s), 1); /* once only on the wire */
	assert_int_equal(SSL_write(p.s, "x", 1), -1);
	shuttle(&p);
	assert_int_equal(SSL_read(p.c, b, sizeof(b)), 0);
	assert_int_equal(SSL_get_error(p.c, 0), SSL_ERROR_ZERO_RETURN);
	assert_int_equal(BIO_pending(p.c_in), 0);
	free_pair(&p);
}

/* A record sealed here under the client's key (its sequence numbers from 0: the client
 * itself has sent nothing yet), straight into the server's input. */
static void forge(struct pair *p, gw_tls13_dir_t *d, uint8_t type, const void *data, size_t len)
{
	uint8_t rec[GW_TLS13_PLAIN_MAX + GW_TLS13_OVERHEAD];

	BIO_write(p->s_in, rec, (int)gw_tls13_seal(d, type, data, len, rec));
}

static void forged_pair(struct pair *p, SSL_CTX *sctx, SSL_CTX *cctx, gw_tls13_dir_t *d)
{
	connect_pair(p, sctx, cctx, NULL);
	assert_int_equal(client_secret_len, 32);
	assert_int_equal(gw_tls13_dir_init(d, GW_TLS13_AES_128_GCM_SHA256, client_secret, 32), 0);
}

static void expect_closed(struct pair *p, uint64_t failed_before)
{
	gw_tlsfast_stats_t st;
	char b[64];

	assert_int_equal(SSL_read(p->s, b, sizeof(b)), -1);
	assert_int_equal(SSL_get_error(p->s, -1), SSL_ERROR_SSL);
	assert_int_equal(SSL_read(p->s, b, sizeof(b)), -1); /* and stays so */
	assert_int_equal(SSL_write(p->s, "x", 1), -1);
	gw_tlsfast_stats(&st);
	assert_int_equal(st.failed, failed_before + 1);
}

static void bad_records(void **state)
{
	(void)state;
	SSL_CTX *sctx = server_ctx(true),
		*cctx = client_ctx(TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
	static const uint8_t nst[] = { 4, 0, 0, 1, 0 }, half_ku[] = { 24, 0, 0 },
			     bad_alert[] = { 2, 40 }, canceled[] = { 1, 90 };
	gw_tls13_dir_t d;
	gw_tlsfast_stats_t st;
	struct pair p;
	uint8_t b[64];

	/* allowed: an empty record and user_canceled before data */
	forged_pair(&p, sctx, cctx, &d);
	forge(&p, &d, GW_TLS13_APP_DATA, "", 0);
	forge(&p, &d, GW_TLS13_ALERT, canceled, 2);
	forge(&p, &d, GW_TLS13_APP_DATA, "hello", 5);
	assert_int_equal(SSL_read(p.s, b, sizeof(b)), 5);
	assert_memory_equal(b, "hello", 5);
	gw_tls13_dir_free(&d);
	free_pair(&p);

	/* a changed byte */
	gw_tlsfast_stats(&st);
	forged_pair(&p, sctx, cctx, &d);
	{
		uint8_t rec[64];
		size_t n = gw_tls13_seal(&d, GW_TLS13_APP_DATA, "hello", 5, rec);

		rec[n - 3] ^= 1;
		BIO_write(p.s_in, rec, (int)n);
	}
	expect_closed(&p, st.failed);
	gw_tls13_dir_free(&d);
	free_pair(&p);

	/* a plaintext handshake record after the handshake */
	gw_tlsfast_stats(&st);
	connect_pair(&p, sctx, cctx, NULL);
	BIO_write(p.s_in, "\x16\x03\x03\x00\x05\x04\x00\x00\x01\x00", 10);
	expect_closed(&p, st.failed);
	free_pair(&p);

	/* a fatal alert, a session ticket from the client, a KeyUpdate cut in two */
	static const struct {
		uint8_t type;
		const uint8_t *data;
		size_t len;
	} bad[] = { { GW_TLS13_ALERT, bad_alert, 2 },
		    { GW_TLS13_HANDSHAKE, nst, 5 },
		    { GW_TLS13_HANDSHAKE, half_ku, 3 } };
	for (size_t i = 0; i < 3; i++) {
		gw_tlsfast_stats(&st);
		forged_pair(&p, sctx, cctx, &d);
		forge(&p, &d, bad[i].type, bad[i].data, bad[i].len);
		expect_closed(&p, st.failed);
		gw_tls13_dir_free(&d);
		free_pair(&p);
	}
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void left_to_openssl(void **state)
{
	(void)state;
	SSL_CTX *sctx = server_ctx(true), *plain = server_ctx(false);
	SSL_CTX *tls12 = client_ctx(TLS1_2_VERSION, NULL),
		*chacha = client_ctx(TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256"),
		*aes = client_ctx(TLS1_3_VERSION, NULL);
	gw_tlsfast_stats_t a, b;
	struct pair p;

	gw_tlsfast_stats(&a);
	connect_pair(&p, sctx, tls12, NULL);
	assert_int_equal(SSL_version(p.s), TLS1_2_VERSION);
	send_both_ways(&p, 20000, 100);
	free_pair(&p);
	gw_tlsfast_stats(&b);
	assert_memory_equal(&a, &b, sizeof(a)); /* TLS 1.2: not even considered */

	connect_pair(&p, sctx, chacha, NULL);
	send_both_ways(&p, 20000, 100);
	free_pair(&p);
	gw_tlsfast_stats(&a);
	assert_int_equal(a.declined - b.declined, 2); /* reading and writing */
	assert_int_equal(a.rx_taken, b.rx_taken);

	connect_pair(&p, plain, aes, NULL);
	send_both_ways(&p, 20000, 100);
	SSL_shutdown(p.s);
	free_pair(&p);
	gw_tlsfast_stats(&b);
	assert_memory_equal(&a, &b, sizeof(a));
	SSL_CTX_free(tls12);
	SSL_CTX_free(chacha);
	SSL_CTX_free(aes);
	SSL_CTX_free(plain);
	SSL_CTX_free(sctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bound),
		cmocka_unit_test(suites),
		cmocka_unit_test(pieces),
		cmocka_unit_test(key_updates),
		cmocka_unit_test(key_update_takeover),
		cmocka_unit_test(read_by_openssl_first),
		cmocka_unit_test(close_notify),
		cmocka_unit_test(bad_records),
		cmocka_unit_test(left_to_openssl),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * keys.c - fgctl keys: the daemon's API keys, through its admin API (docs/config.md).
 *
 *   fgctl keys create --plan P [--label L] [--expires DATE]   prints the new key, once
 *   fgctl keys list [--limit N] [--after ID] [--plan P] [--status S]
 *   fgctl keys show|revoke|block|unblock ID
 *   fgctl keys set-plan ID PLAN
 *   fgctl keys usage ID                 plan, rate, tokens left, every quota counter
 *   fgctl audit [--since TIME] [--limit N]   the admin actions, oldest first
 *   fgctl bans list | add CIDR [--ttl T] [--reason R] | del CIDR    (abuse bans, ban.h)
 *
 * The admin API is found at --admin URL (default $FLOODGATE_ADMIN, else
 * http://127.0.0.1:9090); its token is read from --token-file FILE or $FLOODGATE_ADMIN_TOKEN.
 * https:// URLs are verified against the system CAs (or --cacert FILE). The HTTP client
 * here is deliberately minimal: one request per connection, Connection: close.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fgctl.h"
#include "log.h"

#define ADMIN_DEFAULT	"http://127.0.0.1:9090"
#define ADMIN_TIMEOUT_S 10
#define RESPONSE_MAX	(16u << 20) /* a list page of 10000 keys fits */
#define KEY_ID_LEN	16
#define LIST_PAGE	1000

struct keys_opts {
	const char *admin, *token_file, *cacert;
	bool json, insecure;
	/* per command */
	const char *id, *plan, *label, *expires, *after, *status, *since;
	uint64_t limit;
	/* bans */
	struct fg_cidr cidr;
	uint64_t ttl;
	const char *reason;
};

#define COMMON_ARGS                                                                                \
	{ "--admin",                                                                               \
	  "URL",                                                                                   \
	  FGCTL_ARG_STRING,                                                                        \
	  0,                                                                                       \
	  offsetof(struct keys_opts, admin),                                                       \
	  .help = "the admin API (default $FLOODGATE_ADMIN, else " ADMIN_DEFAULT ")" },            \
		{ "--token-file",                                                                  \
		  "FILE",                                                                          \
		  FGCTL_ARG_PATH,                                                                  \
		  0,                                                                               \
		  offsetof(struct keys_opts, token_file),                                          \
		  .help = "file holding the admin token (default $FLOODGATE_ADMIN_TOKEN)" },       \
		{ "--cacert",                                                                      \
		  "FILE",                                                                          \
		  FGCTL_ARG_PATH,                                                                  \
		  0,                                                                               \
		  offsetof(struct keys_opts, cacert),                                              \
		  .help = "CA certificate(s) to verify an https admin API with" },                 \
		{ "--insecure",                                                                    \
		  NULL,                                                                            \
		  FGCTL_ARG_FLAG,                                                                  \
		  0,                                                                               \
		  offsetof(struct keys_opts, insecure),                                            \
		  .help = "https: do not verify the admin API's certificate" },                    \
	{                                                                                          \
		"--json", NULL, FGCTL_ARG_FLAG, 0, offsetof(struct keys_opts, json),               \
			.help = "print the admin API's JSON"                                       \
	}

#define ID_ARG                                                                                     \
	{                                                                                          \
		"ID", NULL, FGCTL_ARG_STRING, FGCTL_POSITIONAL | FGCTL_REQUIRED,                   \
			offsetof(struct keys_opts, id),                                            \
			.help = "key id (16 hex digits, see keys list)"                            \
	}

/* ---- a small HTTP/1.1 client ---- */

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

struct url {
	bool tls;
	char host[256];
	char port[8];
};

static int parse_url(const char *s, struct url *u, char *err, size_t len)
{
	const char *h, *end, *colon;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "http://", 7)) {
		h = s + 7;
		strcpy(u->port, "80");
	} else if (!strncmp(s, "https://", 8)) {
		h = s + 8;
		u->tls = true;
		strcpy(u->port, "443");
	} else {
		snprintf(err, len, "--admin '%s': expected http://HOST:PORT or https://HOST:PORT",
			 s);
		return -EINVAL;
	}
	end = h + strcspn(h, "/");
	if (*end && strcmp(end, "/")) {
		snprintf(err, len, "--admin '%s': no path expected after HOST:PORT", s);
		return -EINVAL;
	}
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (!close) {
			snprintf(err, len, "--admin '%s': unterminated [IPv6]", s);
			return -EINVAL;
		}
		hlen = (size_t)(close - h - 1);
		if (close + 1 < end && close[1] != ':') {
			snprintf(err, len, "--admin '%s': expected :PORT after [IPv6]", s);
			return -EINVAL;
		}
		colon = close + 1 < end ? close + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hlen = (size_t)((colon ? colon : end) - h);
	}
	if (hlen >= sizeof(u->host)) {
		snprintf(err, len, "--admin '%s': host name too long (%zu bytes, at most %zu)", s,
			 hlen, sizeof(u->host) - 1);
		return -EINVAL;
	}
	memcpy(u->host, h, hlen);
	if (colon) {
		/* Digits only, 1..65535: getaddrinfo() would take 85238 as 19702, another
		 * service, and send it the admin token. */
		unsigned port;
		char why[96];

		if (colon + 1 == end) {
			snprintf(err, len, "--admin '%s': missing port after ':'", s);
			return -EINVAL;
		}
		if (fgctl_parse_port(colon + 1, (size_t)(end - colon - 1), &port, why,
				     sizeof(why))) {
			snprintf(err, len, "--admin '%s': %s", s, why);
			return -EINVAL;
		}
		snprintf(u->port, sizeof(u->port), "%u", port);
	}
	if (!u->host[0]) {
		snprintf(err, len, "--admin '%s': missing host", s);
		return -EINVAL;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

static int conn_open(struct conn *c, const struct url *u, const struct keys_opts *o,
		     const char *url)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { .tv_sec = ADMIN_TIMEOUT_S };
	unsigned char buf4[16];
	int rc;

	c->fd = -1;
	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc) {
		pr_err("Couldn't resolve %s: %s", u->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (c->fd < 0)
			continue;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(c->fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		pr_err("Couldn't connect to the admin API at %s: %s (is floodgate running?)", url,
		       strerror(errno));
		return -ECONNREFUSED;
	}
	if (!u->tls)
		return 0;
	if (!(c->ctx = SSL_CTX_new(TLS_client_method())) || !(c->ssl = SSL_new(c->ctx)))
		goto tls_fail;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (!o->insecure) {
		if (o->cacert ? SSL_CTX_load_verify_locations(c->ctx, o->cacert, NULL) != 1
			      : SSL_CTX_set_default_verify_paths(c->ctx) != 1)
			goto tls_fail;
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		/* An address in the URL is checked against the certificate's IP SANs. */
		if (inet_pton(AF_INET, u->host, buf4) == 1 ||
		    inet_pton(AF_INET6, u->host, buf4) == 1)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
		else
			SSL_set1_host(c->ssl, u->host);
	}
	if (inet_pton(AF_INET, u->host, buf4) != 1 && inet_pton(AF_INET6, u->host, buf4) != 1)
		SSL_set_tlsext_host_name(c->ssl, u->host);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1)
		goto tls_fail;
	return 0;
tls_fail : {
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	pr_err("Couldn't set up TLS with the admin API at %s: %s", url, buf);
	return -EPROTO;
}
}

static int conn_write(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);

		if (w <= 0) {
			if (!c->ssl && w < 0 && errno == EINTR)
				continue;
			return -EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t conn_read(struct conn *c, char *p, size_t n)
{
	for (;;) {
		ssize_t r = c->ssl ? SSL_read(c->ssl, p, (int)n) : read(c->fd, p, n);

		if (r < 0 && !c->ssl && errno == EINTR)
			continue;
		if (r < 0 && c->ssl && SSL_get_error(c->ssl, (int)r) == SSL_ERROR_ZERO_RETURN)
			return 0;
		return r;
	}
}

struct response {
	int status;
	json_t *body; /* NULL when not JSON */
};

static int whyf(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int whyf(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

int fgctl_token_parse(const char *src, const char *buf, size_t n, char *tok, size_t len, char *why,
		      size_t wlen)
{
	/* Editors and echo end files with a newline (CR LF on some): not part of the token. */
	while (n && strchr(" \t\r\n", buf[n - 1]))
		n--;
	if (!n)
		return whyf(why, wlen, -EINVAL, "Couldn't use the admin token %s: it is empty",
			    src);
	if (n >= len)
		return whyf(why, wlen, -EINVAL,
			    "Couldn't use the admin token %s: longer than %zu bytes", src, len - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		/* A NUL would end the token early: another token, silently. */
		if (!c)
			return whyf(why, wlen, -EINVAL,
				    "Couldn't use the admin token %s: it has a NUL byte (byte %zu)",
				    src, i + 1);
		if (c == '\n' || c == '\r')
			return whyf(why, wlen, -EINVAL,
				    "Couldn't use the admin token %s: it has more than one line",
				    src);
		if (c < 0x21 || c > 0x7e)
			return whyf(why, wlen, -EINVAL,
				    "Couldn't use the admin token %s: byte %zu (0x%02x) cannot go "
				    "in an HTTP header",
				    src, i + 1, c);
	}
	memcpy(tok, buf, n);
	tok[n] = '\0';
	return 0;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "not a regular file";
}

/* The message of a failed call on the token file, errno saved before strerror(). */
static int token_file_errno(const char *path, char *why, size_t wlen)
{
	int err = -errno;

	return whyf(why, wlen, err, "Couldn't read admin token file %s: %s", path, strerror(-err));
}

static int token_file_kind(const char *path, mode_t m, char *why, size_t wlen)
{
	return whyf(why, wlen, -EINVAL,
		    "Couldn't read admin token file %s: not a regular file (%s)", path,
		    file_kind(m));
}

int fgctl_token_read(const char *path, char *tok, size_t len, char *why, size_t wlen)
{
	char buf[FGCTL_TOKEN_MAX + 1], src[FGCTL_ERR_LEN / 2];
	struct stat st;
	size_t n = 0;
	int fd, err;

	/* Looked at before it is opened: opening a FIFO waits for a writer, a tty can
	 * become the controlling terminal, a device may act on open. */
	if (stat(path, &st))
		return token_file_errno(path, why, wlen);
	if (!S_ISREG(st.st_mode))
		return token_file_kind(path, st.st_mode, why, wlen);
	/* Never blocks even if a FIFO took the file's place since the stat. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return token_file_errno(path, why, wlen);
	if (fstat(fd, &st)) {
		err = token_file_errno(path, why, wlen);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = token_file_kind(path, st.st_mode, why, wlen);
		goto out;
	}
	/* st_size is 0 for some files that have content (/proc): read up to one byte over. */
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = token_file_errno(path, why, wlen);
			goto out;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	if (n > FGCTL_TOKEN_MAX) {
		err = whyf(why, wlen, -EFBIG,
			   "Couldn't read admin token file %s: too large (over %d bytes)", path,
			   FGCTL_TOKEN_MAX);
		goto out;
	}
	snprintf(src, sizeof(src), "in file %s", path);
	err = fgctl_token_parse(src, buf, n, tok, len, why, wlen);
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return err;
}

/* The token: from --token-file, else the environment variable. */
static int read_token(struct fgctl_ctx *ctx, const struct keys_opts *o, char *tok, size_t len)
{
	const char *env = getenv("FLOODGATE_ADMIN_TOKEN");
	char why[FGCTL_ERR_LEN];
	int err;

	if (o->token_file)
		err = fgctl_token_read(o->token_file, tok, len, why, sizeof(why));
	else if (env)
		err = fgctl_token_parse("in $FLOODGATE_ADMIN_TOKEN", env, strlen(env), tok, len,
					why, sizeof(why));
	else
		return fgctl_bad(ctx, -EINVAL,
				 "no admin token: give --token-file FILE or set "
				 "FLOODGATE_ADMIN_TOKEN");
	/* A file or a variable the operator named: theirs to fix. */
	return err ? fgctl_bad(ctx, err, "%s", why) : 0;
}

/* Before connecting: OpenSSL would wait on a FIFO, and its error for a missing file comes
 * after the connection, as a TLS failure (exit 1). */
static int check_cacert(struct fgctl_ctx *ctx, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return fgctl_bad(ctx, -errno, "Couldn't read CA file %s: %s", path,
				 strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fgctl_bad(ctx, -EINVAL, "Couldn't read CA file %s: not a regular file (%s)",
				 path, file_kind(st.st_mode));
	return 0;
}

/* One request to the admin API. Returns 0 with *res filled (any status) or -errno. */
static int request(struct fgctl_ctx *ctx, const struct keys_opts *o, const char *method,
		   const char *path, json_t *body, struct response *res)
{
	const char *url = o->admin		      ? o->admin
			  : getenv("FLOODGATE_ADMIN") ? getenv("FLOODGATE_ADMIN")
						      : ADMIN_DEFAULT;
	char err[FGCTL_ERR_LEN], token[FGCTL_TOKEN_MAX + 1], *b = NULL, *head = NULL, *buf = NULL;
	struct conn c = { .fd = -1 };
	struct url u;
	size_t blen = 0, len = 0, cap = 65536;
	int ret, hlen;
	char *sep;

	memset(res, 0, sizeof(*res));
	if (parse_url(url, &u, err, sizeof(err)))
		return fgctl_bad(ctx, -EINVAL, "%s", err);
	/* TLS options on a plain-HTTP URL would be silently unused: the operator meant TLS */
	if (!u.tls && (o->cacert || o->insecure))
		return fgctl_bad(ctx, -EINVAL,
				 "%s applies to https:// admin URLs only; %s is plain HTTP",
				 o->cacert ? "--cacert" : "--insecure", url);
	if (u.tls && !o->insecure && o->cacert && (ret = check_cacert(ctx, o->cacert)))
		return ret;
	if ((ret = read_token(ctx, o, token, sizeof(token))))
		return ret;
	if (body) {
		b = json_dumps(body, JSON_COMPACT);
		blen = b ? strlen(b) : 0;
	}
	hlen = asprintf(&head,
			"%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nAuthorization: Bearer %s\r\n"
			"Connection: close\r\nAccept: application/json\r\n"
			"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			method, path, strchr(u.host, ':') ? "[" : "", u.host,
			strchr(u.host, ':') ? "]" : "", u.port, token, blen);
	if (hlen < 0 || (body && !b)) {
		ret = -ENOMEM;
		goto out;
	}
	if ((ret = conn_open(&c, &u, o, url)))
		goto out;
	if (conn_write(&c, head, (size_t)hlen) || (blen && conn_write(&c, b, blen))) {
		pr_err("Couldn't send the request to %s", url);
		ret = -EIO;
		goto out;
	}
	if (!(buf = malloc(cap))) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= RESPONSE_MAX || !(nb = realloc(buf, cap * 2))) {
				pr_err("The admin API's answer is too large");
				ret = -EIO;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = conn_read(&c, buf + len, cap - len - 1);
		if (r < 0) {
			pr_err("Couldn't read the answer of %s: %s", url,
			       errno == EAGAIN ? "timed out" : strerror(errno));
			ret = -EIO;
			goto out;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &res->status) != 1 || !(sep = strstr(buf, "\r\n\r\n"))) {
		pr_err("%s did not answer HTTP (is it floodgate's admin API?)", url);
		ret = -EPROTO;
		goto out;
	}
	res->body = json_loads(sep + 4, JSON_DECODE_ANY, NULL);
	ret = 0;
out:
	OPENSSL_cleanse(token, sizeof(token));
	conn_close(&c);
	free(buf);
	free(head);
	free(b);
	return ret;
}

/* Turn a non-2xx answer into the exit status: 4xx is the operator's (2), else 1. */
static int answer_error(struct fgctl_ctx *ctx, const struct response *r)
{
	const char *detail = json_string_value(json_object_get(r->body, "detail"));

	if (r->status >= 400 && r->status < 500)
		return fgctl_bad(ctx, -EINVAL, "%s (HTTP %d)", detail ? detail : "refused",
				 r->status);
	pr_err("the admin API failed: %s (HTTP %d)", detail ? detail : "no detail", r->status);
	return -EIO;
}

/* ---- output ---- */

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static int print_keys(struct fgctl_ctx *ctx, json_t *arr)
{
	static const char *const heads[] = {
		"ID", "PLAN", "STATUS", "CREATED", "EXPIRES", "LABEL"
	};
	struct fgctl_table t;
	size_t i;
	json_t *k;
	int err = 0;

	fgctl_table_init(&t, 6, heads, 0);
	json_array_foreach(arr, i, k)
	{
		if ((err = fgctl_table_add(&t, str(k, "id"), str(k, "plan"), str(k, "status"),
					   str(k, "created"), str(k, "expires"), str(k, "label"))))
			break;
	}
	if (!err)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
	return err;
}

/* ---- commands ---- */

static int keys_check_id(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	const struct keys_opts *o = opts;
	size_t n = o->id ? strlen(o->id) : 0;

	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)o->id[i]) || isupper((unsigned char)o->id[i])) {
			n = 0;
			break;
		}
	}
	if (n != KEY_ID_LEN) {
		snprintf(err, len,
			 "ID '%s': expected a key id, 16 lower-case hex digits (see "
			 "fgctl keys list)",
			 o->id ? o->id : "");
		return -EINVAL;
	}
	return 0;
}

static int run_create(struct fgctl_ctx *ctx, const void *opts)
{
	const struct keys_opts *o = opts;
	json_t *body = json_pack("{s:s}", "plan", o->plan);
	struct response r;
	int ret;

	if (o->label)
		json_object_set_new(body, "label", json_string(o->label));
	if (o->expires)
		json_object_set_new(body, "expires", json_string(o->expires));
	ret = request(ctx, o, "POST", "/v1/keys", body, &r);
	json_decref(body);
	if (ret)
		return ret;
	if (r.status != 201) {
		ret = answer_error(ctx, &r);
	} else if (o->json) {
		ret = fgctl_json_print(ctx->out, json_incref(r.body), false);
	} else {
		/* The key alone on stdout (K=$(fgctl keys create ...)); the rest on stderr. */
		fprintf(ctx->out, "%s\n", str(r.body, "key"));
		fprintf(stderr,
			"fgctl: created key %s on plan %s; the key is shown only this once\n",
			str(r.body, "id"), str(r.body, "plan"));
	}
	json_decref(r.body);
	return ret;
}

static int run_list(struct fgctl_ctx *ctx, const void *opts)
{
	const struct keys_opts *o = opts;
	json_t *all = json_array();
	char after[KEY_ID_LEN + 1] = "", path[128];
	int ret = 0;

	if (o->after)
		snprintf(after, sizeof(after), "%s", o->after);
	/* Without --limit, follow the pages to the end. */
	for (;;) {
		uint64_t page = o->limit ? o->limit : LIST_PAGE;
		struct response r;
		json_t *next;

		snprintf(path, sizeof(path), "/v1/keys?limit=%llu%s%s%s%s%s%s",
			 (unsigned long long)page, after[0] ? "&after=" : "", after,
			 o->plan ? "&plan=" : "", o->plan ? o->plan : "",
			 o->status ? "&status=" : "", o->status ? o->status : "");
		if ((ret = request(ctx, o, "GET", path, NULL, &r)))
			break;
		if (r.status != 200) {
			ret = answer_error(ctx, &r);
			json_decref(r.body);
			break;
		}
		json_array_extend(all, json_object_get(r.body, "keys"));
		next = json_object_get(r.body, "next");
		if (o->limit || !json_is_string(next)) {
			json_decref(r.body);
			break;
		}
		snprintf(after, sizeof(after), "%s", json_string_value(next));
		json_decref(r.body);
	}
	if (!ret)
		ret = o->json ? fgctl_json_print(ctx->out, json_incref(all), false)
			      : print_keys(ctx, all);
	json_decref(all);
	return ret;
}

static int one_key(struct fgctl_ctx *ctx, const struct keys_opts *o, const char *method,
		   const char *action, json_t *body)
{
	char path[128];
	struct response r;
	int ret;

	snprintf(path, sizeof(path), "/v1/keys/%s%s%s", o->id, action ? "/" : "",
		 action ? action : "");
	if ((ret = request(ctx, o, method, path, body, &r)))
		return ret;
	if (r.status != 200) {
		ret = answer_error(ctx, &r);
	} else if (o->json) {
		ret = fgctl_json_print(ctx->out, json_incref(r.body), false);
	} else {
		json_t *a = json_array();

		json_array_append(a, r.body);
		ret = print_keys(ctx, a);
		json_decref(a);
	}
	json_decref(r.body);
	return ret;
}

static int run_show(struct fgctl_ctx *ctx, const void *opts)
{
	return one_key(ctx, opts, "GET", NULL, NULL);
}

static int run_revoke(struct fgctl_ctx *ctx, const void *opts)
{
	return one_key(ctx, opts, "POST", "revoke", NULL);
}

static int run_block(struct fgctl_ctx *ctx, const void *opts)
{
	return one_key(ctx, opts, "POST", "block", NULL);
}

static int run_unblock(struct fgctl_ctx *ctx, const void *opts)
{
	return one_key(ctx, opts, "POST", "unblock", NULL);
}

/* A JSON number or null as text ("-" for null). */
static const char *num(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	return buf;
}

static int run_usage(struct fgctl_ctx *ctx, const void *opts)
{
	static const char *const heads[] = { "UNIT", "PERIOD", "LIMIT",	  "ENFORCE",
					     "USED", "LEFT",   "OVERAGE", "RESETS" };
	static const char *const units[] = { "requests", "credits" };
	static const char *const periods[] = { "day", "week", "month" };
	const struct keys_opts *o = opts;
	char path[128], a[32], b[32], c[32], d[32];
	struct fgctl_table t;
	struct response r;
	json_t *rate;
	int ret;

	snprintf(path, sizeof(path), "/v1/keys/%s/usage", o->id);
	if ((ret = request(ctx, o, "GET", path, NULL, &r)))
		return ret;
	if (r.status != 200) {
		ret = answer_error(ctx, &r);
		json_decref(r.body);
		return ret;
	}
	if (o->json) {
		ret = fgctl_json_print(ctx->out, json_incref(r.body), false);
		json_decref(r.body);
		return ret;
	}
	rate = json_object_get(r.body, "rate");
	fprintf(ctx->out, "key %s  plan %s  status %s\n", str(r.body, "id"), str(r.body, "plan"),
		str(r.body, "status"));
	if (json_is_object(rate))
		fprintf(ctx->out, "rate %s  burst %s  tokens left %s  full in %s s\n",
			str(rate, "limit"), num(rate, "burst", a, sizeof(a)),
			num(rate, "tokens_left", b, sizeof(b)),
			num(rate, "full_in_s", c, sizeof(c)));
	else
		fprintf(ctx->out, "rate -  (the plan is not in the running config)\n");
	fgctl_table_init(&t, 8, heads, 0x74);
	for (size_t u = 0; u < 2 && !ret; u++) {
		json_t *unit = json_object_get(json_object_get(r.body, "quotas"), units[u]);

		for (size_t p = 0; p < 3 && !ret; p++) {
			json_t *e = json_object_get(unit, periods[p]);

			ret = fgctl_table_add(&t, units[u], periods[p],
					      num(e, "limit", a, sizeof(a)), str(e, "enforce"),
					      num(e, "used", b, sizeof(b)),
					      num(e, "left", c, sizeof(c)),
					      num(e, "overage", d, sizeof(d)), str(e, "resets_at"));
		}
	}
	if (!ret)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
	json_decref(r.body);
	return ret;
}

/* "status: active -> blocked; plan: free -> pro" from two flat JSON objects. */
static void change_text(json_t *before, json_t *after, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t off = 0;

	buf[0] = '\0';
	if (!json_is_object(after)) {
		snprintf(buf, len, "-");
		return;
	}
	json_object_foreach(after, k, v)
	{
		json_t *w = json_object_get(before, k);
		char *x, *y;

		if (w && json_equal(v, w))
			continue;
		x = w ? json_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		y = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s: %s%s%s",
						off ? "; " : "", k, x ? x : "", x ? " -> " : "",
						y ? y : "?");
		free(x);
		free(y);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static int run_audit(struct fgctl_ctx *ctx, const void *opts)
{
	static const char *const heads[] = { "SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "CHANGE" };
	const struct keys_opts *o = opts;
	char path[160], seq[32], change[512];
	struct fgctl_table t;
	struct response r;
	json_t *e;
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "/v1/audit?limit=%llu%s%s",
		 (unsigned long long)(o->limit ? o->limit : 10000), o->since ? "&since=" : "",
		 o->since ? o->since : "");
	if ((ret = request(ctx, o, "GET", path, NULL, &r)))
		return ret;
	if (r.status != 200) {
		ret = answer_error(ctx, &r);
		json_decref(r.body);
		return ret;
	}
	if (o->json) {
		ret = fgctl_json_print(ctx->out, json_incref(json_object_get(r.body, "entries")),
				       false);
		json_decref(r.body);
		return ret;
	}
	fgctl_table_init(&t, 6, heads, 1);
	json_array_foreach(json_object_get(r.body, "entries"), i, e)
	{
		change_text(json_object_get(e, "before"), json_object_get(e, "after"), change,
			    sizeof(change));
		if ((ret = fgctl_table_add(&t, num(e, "seq", seq, sizeof(seq)), str(e, "time"),
					   str(e, "actor"), str(e, "action"), str(e, "target"),
					   change)))
			break;
	}
	if (!ret)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
	json_decref(r.body);
	return ret;
}

static int run_set_plan(struct fgctl_ctx *ctx, const void *opts)
{
	const struct keys_opts *o = opts;
	json_t *body = json_pack("{s:s}", "plan", o->plan);
	int ret = one_key(ctx, o, "POST", "plan", body);

	json_decref(body);
	return ret;
}

/* ---- the client for other command groups (fgctl.h) ---- */

int fgctl_admin_request(struct fgctl_ctx *ctx, const struct fgctl_admin_opts *a, const char *method,
			const char *path, json_t *body, int *status, json_t **answer)
{
	struct keys_opts o = { .admin = a->admin,
			       .token_file = a->token_file,
			       .cacert = a->cacert,
			       .insecure = a->insecure };
	struct response r;
	int ret = request(ctx, &o, method, path, body, &r);

	if (ret)
		return ret;
	*status = r.status;
	*answer = r.body;
	if (r.status < 200 || r.status > 299) {
		ret = answer_error(ctx, &r);
		json_decref(r.body);
		*answer = NULL;
	}
	return ret;
}

static const struct fgctl_arg create_args[] = {
	{ "--plan", "PLAN", FGCTL_ARG_STRING, FGCTL_REQUIRED, offsetof(struct keys_opts, plan),
	  .help = "a plan of the running config" },
	{ "--label", "TEXT", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, label),
	  .help = "a note kept with the key (up to 256 bytes)" },
	{ "--expires", "DATE", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, expires),
	  .help = "YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a Unix time; the key answers 401 after" },
	COMMON_ARGS,
	{ NULL },
};

static const struct fgctl_arg list_args[] = {
	{ "--limit", "N", FGCTL_ARG_U64, 0, offsetof(struct keys_opts, limit), 1, 10000,
	  .help = "one page of at most N keys (default: every key)" },
	{ "--after", "ID", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, after),
	  .help = "start after this key id (ids are listed in order)" },
	{ "--plan", "PLAN", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, plan),
	  .help = "only keys on this plan" },
	{ "--status", "STATUS", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, status),
	  .help = "only keys with this status: active, blocked or revoked" },
	COMMON_ARGS,
	{ NULL },
};

static const struct fgctl_arg audit_args[] = {
	{ "--since", "TIME", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, since),
	  .help = "entries at or after YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a Unix time" },
	{ "--limit", "N", FGCTL_ARG_U64, 0, offsetof(struct keys_opts, limit), 1, 10000,
	  .help = "at most N entries (default 10000)" },
	COMMON_ARGS,
	{ NULL },
};

static const struct fgctl_arg id_args[] = {
	ID_ARG,
	COMMON_ARGS,
	{ NULL },
};

static const struct fgctl_arg set_plan_args[] = {
	ID_ARG,
	{ "PLAN", NULL, FGCTL_ARG_STRING, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct keys_opts, plan), .help = "a plan of the running config" },
	COMMON_ARGS,
	{ NULL },
};

static int audit_check(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	const struct keys_opts *o = opts;

	/* An empty one (the loop's "valid") would go as "since=", which is not no --since. */
	for (const char *c = o->since; c && (!*o->since || *c); c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != ':') {
			snprintf(err, len,
				 "--since '%s': expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a "
				 "Unix time",
				 o->since);
			return -EINVAL;
		}
	}
	return 0;
}

static int list_check(void *opts, const struct fgctl_parsed *p, char *err, size_t len)
{
	struct keys_opts *o = opts;
	struct keys_opts probe = { .id = o->after };

	if (o->status && strcmp(o->status, "active") && strcmp(o->status, "blocked") &&
	    strcmp(o->status, "revoked")) {
		snprintf(err, len, "--status '%s': expected active, blocked or revoked", o->status);
		return -EINVAL;
	}
	if (o->plan) {
		for (const char *c = o->plan; !*o->plan || *c; c++) { /* "" is no name */
			if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') {
				snprintf(err, len, "--plan '%s': not a plan name", o->plan);
				return -EINVAL;
			}
		}
	}
	return o->after ? keys_check_id(&probe, p, err, len) : 0;
}

const struct fgctl_cmd fgctl_cmds_keys[] = {
	{ "keys create", "create an API key on a plan (prints the key, once)",
	  "Asks the running daemon's admin API for a new key. The key is printed alone on "
	  "stdout and cannot be shown again: only its SHA-256 digest is stored.",
	  create_args, sizeof(struct keys_opts), NULL, NULL, run_create, 0 },
	{ "keys list", "list API keys (id, plan, status, dates, label)", NULL, list_args,
	  sizeof(struct keys_opts), NULL, list_check, run_list, 0 },
	{ "keys show", "show one API key", NULL, id_args, sizeof(struct keys_opts), NULL,
	  keys_check_id, run_show, 0 },
	{ "keys revoke", "revoke an API key for good (401 from then on)", NULL, id_args,
	  sizeof(struct keys_opts), NULL, keys_check_id, run_revoke, 0 },
	{ "keys block", "block an API key (403 until unblocked)", NULL, id_args,
	  sizeof(struct keys_opts), NULL, keys_check_id, run_block, 0 },
	{ "keys unblock", "unblock an API key", NULL, id_args, sizeof(struct keys_opts), NULL,
	  keys_check_id, run_unblock, 0 },
	{ "keys set-plan", "move an API key to another plan (its used quota stays)", NULL,
	  set_plan_args, sizeof(struct keys_opts), NULL, keys_check_id, run_set_plan, 0 },
	{ "keys usage", "an API key's usage: rate, tokens left, quotas and credits", NULL, id_args,
	  sizeof(struct keys_opts), NULL, keys_check_id, run_usage, 0 },
	{ "audit", "the audit log of admin actions (time, token, action, target, change)",
	  "Lists what the admin API changed, oldest first: every key created, revoked, "
	  "blocked, unblocked or moved to another plan, and every reload, with the admin "
	  "token that did it (a prefix of its SHA-256) and the state before and after.",
	  audit_args, sizeof(struct keys_opts), NULL, audit_check, run_audit, 0 },
	{ NULL },
};

/* ---- bans: the daemon's abuse bans, through the same admin API ---- */

static int print_bans(struct fgctl_ctx *ctx, json_t *arr)
{
	static const char *const heads[] = { "SOURCE", "REASON", "SCORE", "OFFENCE", "EXPIRES",
					     "TTL",    "HITS",	 "KIND",  "ORIGIN" };
	struct fgctl_table t;
	size_t i;
	json_t *b;
	int err = 0;

	fgctl_table_init(&t, 9, heads, (1u << 2) | (1u << 3) | (1u << 6));
	json_array_foreach(arr, i, b)
	{
		char score[24], off[24], hits[24], ttl[32];

		snprintf(score, sizeof(score), "%lld",
			 (long long)json_integer_value(json_object_get(b, "score")));
		snprintf(off, sizeof(off), "%lld",
			 (long long)json_integer_value(json_object_get(b, "offences")));
		snprintf(hits, sizeof(hits), "%lld",
			 (long long)json_integer_value(json_object_get(b, "hits")));
		fgctl_format_duration(
			(uint64_t)json_integer_value(json_object_get(b, "ttl_left_s")), ttl,
			sizeof(ttl));
		if ((err = fgctl_table_add(&t, str(b, "cidr"), str(b, "reason"), score, off,
					   str(b, "expires"), ttl, hits,
					   json_is_true(json_object_get(b, "edge"))
						   ? "edge tightened"
						   : "blocked",
					   /* the deciding node; "-": a ban stored before */
					   str(b, "origin"))))
			break;
	}
	if (!err)
		fgctl_table_print(&t, ctx->out);
	fgctl_table_free(&t);
	return err;
}

static int bans_call(struct fgctl_ctx *ctx, const struct keys_opts *o, const char *method,
		     const char *path, json_t *body, int want)
{
	struct response r;
	int ret = request(ctx, o, method, path, body, &r);

	if (ret)
		return ret;
	if (r.status != want) {
		ret = answer_error(ctx, &r);
	} else if (o->json) {
		ret = fgctl_json_print(ctx->out, json_incref(r.body), false);
	} else if (want == 200 && json_is_array(json_object_get(r.body, "bans"))) {
		ret = print_bans(ctx, json_object_get(r.body, "bans"));
	} else if (want == 201) {
		json_t *a = json_array();

		json_array_append(a, r.body);
		ret = print_bans(ctx, a);
		json_decref(a);
	} else {
		fprintf(ctx->out, "lifted %s\n", str(r.body, "lifted"));
	}
	json_decref(r.body);
	return ret;
}

static int run_bans_list(struct fgctl_ctx *ctx, const void *opts)
{
	return bans_call(ctx, opts, "GET", "/v1/bans", NULL, 200);
}

static int run_bans_add(struct fgctl_ctx *ctx, const void *opts)
{
	const struct keys_opts *o = opts;
	char c[FG_CIDR_STRLEN];
	json_t *body = json_pack("{s:s}", "cidr", fg_cidr_format_full(&o->cidr, c, sizeof(c)));
	int ret;

	if (o->ttl)
		json_object_set_new(body, "ttl_s", fgctl_json_u64(o->ttl));
	if (o->reason)
		json_object_set_new(body, "reason", json_string(o->reason));
	ret = bans_call(ctx, o, "POST", "/v1/bans", body, 201);
	json_decref(body);
	return ret;
}

static int run_bans_del(struct fgctl_ctx *ctx, const void *opts)
{
	const struct keys_opts *o = opts;
	char c[FG_CIDR_STRLEN], path[128];

	snprintf(path, sizeof(path), "/v1/bans?cidr=%s",
		 fg_cidr_format_full(&o->cidr, c, sizeof(c)));
	return bans_call(ctx, o, "DELETE", path, NULL, 200);
}

static const struct fgctl_arg bans_list_args[] = {
	COMMON_ARGS,
	{ NULL },
};

static const struct fgctl_arg bans_add_args[] = {
	{ "CIDR", NULL, FGCTL_ARG_CIDR, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct keys_opts, cidr),
	  .help = "address or network to ban (an IPv6 address: its abuse.ipv6_prefix)" },
	{ "--ttl", "TTL", FGCTL_ARG_TTL, 0, offsetof(struct keys_opts, ttl),
	  .help = "N[s|m|h|d] (default: abuse.ban_ttl_s with the repeat multiplier)" },
	{ "--reason", "TEXT", FGCTL_ARG_STRING, 0, offsetof(struct keys_opts, reason),
	  .help = "why (default \"admin\")" },
	COMMON_ARGS,
	{ NULL },
};

static const struct fgctl_arg bans_del_args[] = {
	{ "CIDR", NULL, FGCTL_ARG_CIDR, FGCTL_POSITIONAL | FGCTL_REQUIRED,
	  offsetof(struct keys_opts, cidr), .help = "the banned network, as bans list shows it" },
	COMMON_ARGS,
	{ NULL },
};

const struct fgctl_cmd fgctl_cmds_bans[] = {
	{ "bans list", "list the daemon's abuse bans (reason, score, expiry, XDP hits)",
	  "Through the admin API: bans the daemon decided (abuse scoring), restored from its "
	  "store,\nor added with bans add. Most XDP hits first.",
	  bans_list_args, sizeof(struct keys_opts), NULL, NULL, run_bans_list, 0 },
	{ "bans add", "ban an address or network through the daemon (XDP + store)",
	  "The daemon installs the ban in its XDP maps and its store. Allowlisted sources are "
	  "refused;\nan edge gets its bucket tightened instead.",
	  bans_add_args, sizeof(struct keys_opts), NULL, NULL, run_bans_add, 0 },
	{ "bans del", "lift a ban through the daemon", NULL, bans_del_args,
	  sizeof(struct keys_opts), NULL, NULL, run_bans_del, 0 },
	{ NULL },
};

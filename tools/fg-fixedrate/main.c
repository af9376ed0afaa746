/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fg-fixedrate - latency at a fixed request rate, for the gateway benchmark (Debian has no
 * wrk2, and h2load --rps neither holds its rate on a busy CPU nor counts a stalled request
 * from when it was due).
 *
 * Open loop: request i is due at start + i / RATE whatever happened before it. A due request
 * goes out on an idle keep-alive connection (HTTP/1.1, over TLS for https URLs); when every
 * connection is busy it waits in line, and its latency is counted from when it was due, not
 * from when it was sent, so a server that stalls cannot hide the stall by slowing the client
 * down (coordinated omission). The service time (sent -> last byte) is reported beside it.
 * Whether the rate was really held is reported too: requests the client itself sent more
 * than 1 ms late although a connection was free (client_late_1ms: the client, not the server,
 * fell behind), requests that waited for a free connection (queued), achieved rate.
 *
 *   fg-fixedrate -r RATE -d SECONDS [-c CONNS] [-H 'Name: value']... [-g GRACE_MS]
 *                [-o LOG] URL
 *
 * URL is http://ADDR:PORT/path or https://ADDR:PORT/path (numeric IPv4 address). One JSON
 * object goes to stdout (start_unix_us: the start on the wall clock). LOG gets one line per
 * request: "due_us sent_us done_us status", microseconds since the start (done_us 0 and
 * status 0: no response).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_CONNS	 1024
#define MAX_HEADERS	 16
#define MAX_REQUESTS	 (50u * 1000 * 1000) /* rate x duration upper bound */
#define READ_CHUNK	 16384
#define RESP_MAX	 (4u << 20) /* a response larger than this is an error */
#define LATE_NS		 1000000ULL /* "sent late": more than 1 ms after it was due */
#define DEFAULT_GRACE_MS 2000

struct conn {
	int fd;
	SSL *ssl;
	bool busy;
	uint64_t idx;	     /* request in flight */
	uint64_t idle_since; /* relative to start: when it last became free */
	char *buf;
	size_t len, cap;
};

struct req_log {
	uint64_t sent_ns, done_ns; /* relative to start; done 0 = no response */
	uint16_t status;
};

static struct {
	const char *url;
	double rate, duration;
	unsigned conns;
	unsigned grace_ms;
	const char *log;
	const char *headers[MAX_HEADERS];
	unsigned nheaders;
} o = { .conns = 16, .grace_ms = DEFAULT_GRACE_MS };

static struct sockaddr_in addr;
static bool tls;
static SSL_CTX *ssl_ctx;
static char *request;
static size_t request_len;
static struct conn conns[MAX_CONNS];
/* Free connections, first freed first used: when even the head was freed after a request was
 * due, no connection was free for it (it was queued, not sent late by the client). */
static struct conn *idle[MAX_CONNS];
static unsigned nidle, idle_head;
static struct req_log *reqs;
static uint64_t start_ns, interval_ns;
static struct timespec start_real; /* the start on the wall clock, for other logs */
static uint64_t errors, reconnects;
static int ep;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t due_ns(uint64_t i)
{
	return i * interval_ns; /* relative to start */
}

static int parse_url(const char *url, char *host, size_t hostlen, const char **path)
{
	const char *p, *colon, *slash;
	char ip[64];

	if (!strncmp(url, "https://", 8)) {
		tls = true;
		p = url + 8;
	} else if (!strncmp(url, "http://", 7)) {
		p = url + 7;
	} else {
		return -1;
	}
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (!colon || (size_t)(colon - p) >= sizeof(ip) || (size_t)(slash - p) >= hostlen)
		return -1;
	memcpy(ip, p, (size_t)(colon - p));
	ip[colon - p] = '\0';
	memcpy(host, p, (size_t)(slash - p));
	host[slash - p] = '\0';
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1 || !addr.sin_port)
		return -1;
	*path = *slash ? slash : "/";
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	c->len = 0;
	c->busy = false;
}

/* A connection, blocking while it is set up (before the clock runs, or on a rare reconnect). */
static int conn_open(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)))
		goto fail;
	if (tls) {
		if (!(c->ssl = SSL_new(ssl_ctx)) || SSL_set_fd(c->ssl, c->fd) != 1 ||
		    SSL_connect(c->ssl) != 1)
			goto fail;
	}
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		goto fail;
	c->busy = false;
	c->len = 0;
	return 0;
fail:
	ERR_clear_error();
	conn_close(c);
	return -1;
}

static void make_idle(struct conn *c)
{
	c->busy = false;
	c->idle_since = start_ns ? now_ns() - start_ns : 0;
	idle[(idle_head + nidle++) % MAX_CONNS] = c;
}

/* Send request idx on c. The request is small: it goes out in one write or not at all. */
static int conn_send(struct conn *c, uint64_t idx, uint64_t t)
{
	ssize_t n;

	c->busy = true;
	c->idx = idx;
	reqs[idx].sent_ns = t - start_ns;
	if (c->ssl)
		n = SSL_write(c->ssl, request, (int)request_len);
	else
		n = write(c->fd, request, request_len);
	if (n != (ssize_t)request_len) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

static size_t find_head_end(const char *b, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* A header's value in head[0..len), or NULL; *vlen set. name is lower case with ':'. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = memchr(head, '\n', len), *end = head + len;

	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && !strncasecmp(p, name, nlen)) {
			const char *v = p + nlen;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(eol - v);
			if (*vlen && v[*vlen - 1] == '\r')
				(*vlen)--;
			return v;
		}
		p = eol;
	}
	return NULL;
}

/*
 * Length of the complete response at the start of b (head and body), 0 when incomplete,
 * -1 when it cannot be delimited. *status and *close are set.
 */
static ssize_t response_len(const char *b, size_t len, int *status, bool *close_after)
{
	size_t head = find_head_end(b, len), vlen;
	const char *v;

	if (!head)
		return len > RESP_MAX ? -1 : 0;
	if (len < 12 || strncmp(b, "HTTP/1.", 7))
		return -1;
	*status = atoi(b + 9);
	v = header(b, head, "connection:", &vlen);
	*close_after = v && vlen >= 5 && !strncasecmp(v, "close", 5);
	if (*status == 204 || *status == 304 || (*status >= 100 && *status < 200))
		return (ssize_t)head;
	if ((v = header(b, head, "content-length:", &vlen))) {
		size_t cl = strtoull(v, NULL, 10);

		return len >= head + cl ? (ssize_t)(head + cl) : 0;
	}
	if ((v = header(b, head, "transfer-encoding:", &vlen)) && vlen >= 7 &&
	    !strncasecmp(v + vlen - 7, "chunked", 7)) {
		size_t off = head;

		for (;;) {
			char *e;
			const char *eol = memchr(b + off, '\n', len - off);
			unsigned long long sz;

			if (!eol)
				return 0;
			sz = strtoull(b + off, &e, 16);
			off = (size_t)(eol - b) + 1;
			if (sz == 0) /* no trailers expected: the final CRLF */
				return len >= off + 2 ? (ssize_t)(off + 2) : 0;
			if (len < off + sz + 2)
				return 0;
			off += sz + 2;
		}
	}
	return -1; /* delimited by close: not for a keep-alive benchmark */
}

static void finish(struct conn *c, int status, uint64_t t)
{
	reqs[c->idx].done_ns = t - start_ns;
	reqs[c->idx].status = (uint16_t)status;
}

/* A dead connection: its request (if any) failed; a new one takes its place. */
static void conn_fail(struct conn *c)
{
	bool busy = c->busy;

	if (busy)
		errors++;
	conn_close(c);
	reconnects++;
	if (conn_open(c) == 0)
		make_idle(c);
}

static void on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;
		int status = 0;
		bool close_after = false;
		ssize_t rlen;

		if (c->cap - c->len < READ_CHUNK) {
			char *nb = realloc(c->buf, c->cap + READ_CHUNK * 2);

			if (!nb) {
				conn_fail(c);
				return;
			}
			c->buf = nb;
			c->cap += READ_CHUNK * 2;
		}
		if (c->ssl) {
			n = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));
			if (n <= 0) {
				int e = SSL_get_error(c->ssl, (int)n);

				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ)
					return;
				conn_fail(c);
				return;
			}
		} else {
			n = read(c->fd, c->buf + c->len, c->cap - c->len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				conn_fail(c);
				return;
			}
		}
		c->len += (size_t)n;
		if (!c->busy) { /* bytes nobody asked for */
			conn_fail(c);
			return;
		}
		rlen = response_len(c->buf, c->len, &status, &close_after);
		if (rlen < 0) {
			conn_fail(c);
			return;
		}
		if (rlen == 0)
			continue;
		finish(c, status, now_ns());
		if ((size_t)rlen != c->len || close_after) {
			/* Pipelining was not asked for; a close ends the connection. */
			c->busy = false;
			conn_close(c);
			reconnects++;
			if (conn_open(c) == 0)
				make_idle(c);
			return;
		}
		c->len = 0;
		make_idle(c);
		return;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)n);
	return v[i ? i - 1 : 0];
}

static void print_pcts(const char *name, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("\"%s\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}", name,
	       pct(v, n, 50) / 1e6, pct(v, n, 90) / 1e6, pct(v, n, 99) / 1e6, pct(v, n, 99.9) / 1e6,
	       n ? v[n - 1] / 1e6 : 0.0);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fg-fixedrate -r RATE -d SECONDS [-c CONNS] [-H 'Name: value']...\n"
		   "                    [-g GRACE_MS] [-o LOG] http[s]://ADDR:PORT/path\n");
}

static int parse_opts(int argc, char **argv)
{
	int opt;
	char *e;

	while ((opt = getopt(argc, argv, "r:d:c:H:g:o:h")) != -1) {
		switch (opt) {
		case 'r':
			o.rate = strtod(optarg, &e);
			if (*e || !(o.rate > 0))
				return -1;
			break;
		case 'd':
			o.duration = strtod(optarg, &e);
			if (*e || !(o.duration > 0))
				return -1;
			break;
		case 'c':
			o.conns = (unsigned)strtoul(optarg, &e, 10);
			if (*e || !o.conns || o.conns > MAX_CONNS)
				return -1;
			break;
		case 'g':
			o.grace_ms = (unsigned)strtoul(optarg, &e, 10);
			if (*e)
				return -1;
			break;
		case 'H':
			if (o.nheaders == MAX_HEADERS)
				return -1;
			o.headers[o.nheaders++] = optarg;
			break;
		case 'o':
			o.log = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || !o.rate || !o.duration ||
	    o.rate * o.duration > (double)MAX_REQUESTS)
		return -1;
	o.url = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	char host[128];
	const char *path;
	uint64_t total, due_idx = 0, sent_idx = 0, end_ns, late = 0, queued = 0, max_queue = 0;
	uint64_t *lat, *svc, first_sent = 0, last_done = 0;
	size_t nlat = 0, off;
	unsigned status_count[600] = { 0 };
	struct itimerspec its = { 0 };
	int tfd;
	bool first;

	if (parse_opts(argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (parse_url(o.url, host, sizeof(host), &path)) {
		fprintf(stderr, "fg-fixedrate: bad URL %s\n", o.url);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	request_len = strlen(path) + strlen(host) + 64;
	for (unsigned i = 0; i < o.nheaders; i++)
		request_len += strlen(o.headers[i]) + 2;
	request = malloc(request_len);
	off = (size_t)snprintf(request, request_len,
			       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fg-fixedrate\r\n", path,
			       host);
	for (unsigned i = 0; i < o.nheaders; i++)
		off += (size_t)snprintf(request + off, request_len - off, "%s\r\n", o.headers[i]);
	off += (size_t)snprintf(request + off, request_len - off, "\r\n");
	request_len = off;

	total = (uint64_t)llround(o.rate * o.duration);
	interval_ns = (uint64_t)llround(1e9 / o.rate);
	reqs = calloc(total ? total : 1, sizeof(*reqs));
	lat = calloc(total ? total : 1, sizeof(*lat));
	svc = calloc(total ? total : 1, sizeof(*svc));
	if (!reqs || !lat || !svc || !request)
		return 1;

	if (tls) {
		static const unsigned char alpn[] = "\x08http/1.1";

		ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (!ssl_ctx)
			return 1;
		SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_alpn_protos(ssl_ctx, alpn, sizeof(alpn) - 1);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0)
		return 1;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	}
	for (unsigned i = 0; i < o.conns; i++) {
		conns[i].fd = -1;
		if (conn_open(&conns[i])) {
			fprintf(stderr, "fg-fixedrate: Couldn't connect to %s: %s\n", o.url,
				strerror(errno));
			return 1;
		}
		make_idle(&conns[i]);
	}

	start_ns = now_ns();
	clock_gettime(CLOCK_REALTIME, &start_real);
	end_ns = (uint64_t)(o.duration * 1e9) + o.grace_ms * 1000000ULL;
	for (;;) {
		struct epoll_event evs[64];
		uint64_t t = now_ns() - start_ns, inflight;
		int n, timeout_ms;

		while (due_idx < total && due_ns(due_idx) <= t)
			due_idx++;
		if (due_idx - sent_idx > max_queue)
			max_queue = due_idx - sent_idx;
		while (sent_idx < due_idx && nidle) {
			struct conn *c = idle[idle_head];
			uint64_t now = now_ns();

			idle_head = (idle_head + 1) % MAX_CONNS;
			nidle--;

			if (c->idle_since > due_ns(sent_idx))
				queued++; /* no connection was free when it was due */
			else if (now - start_ns > due_ns(sent_idx) + LATE_NS)
				late++;
			if (conn_send(c, sent_idx, now)) {
				reqs[sent_idx].sent_ns = 0;
				conn_fail(c);
			}
			sent_idx++;
		}
		inflight = 0;
		for (unsigned i = 0; i < o.conns; i++)
			inflight += conns[i].busy;
		if ((sent_idx == total && !inflight) || t > end_ns)
			break;
		if (due_idx < total && sent_idx == due_idx) {
			its.it_value.tv_sec =
				(time_t)((start_ns + due_ns(due_idx)) / 1000000000ULL);
			its.it_value.tv_nsec = (long)((start_ns + due_ns(due_idx)) % 1000000000ULL);
			timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
		timeout_ms = (int)((end_ns - t) / 1000000ULL) + 1;
		n = epoll_wait(ep, evs, 64, timeout_ms);
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
					return 1;
				continue;
			}
			on_readable(evs[i].data.ptr);
		}
	}

	FILE *log = o.log ? fopen(o.log, "w") : NULL;

	for (uint64_t i = 0; i < sent_idx; i++) {
		struct req_log *r = &reqs[i];

		if (log)
			fprintf(log, "%llu %llu %llu %u\n", (unsigned long long)(due_ns(i) / 1000),
				(unsigned long long)(r->sent_ns / 1000),
				(unsigned long long)(r->done_ns / 1000), r->status);
		if (!r->done_ns)
			continue;
		lat[nlat] = r->done_ns - due_ns(i);
		svc[nlat] = r->done_ns - r->sent_ns;
		nlat++;
		if (r->status < 600)
			status_count[r->status]++;
		if (!first_sent || r->sent_ns < first_sent)
			first_sent = r->sent_ns;
		if (r->done_ns > last_done)
			last_done = r->done_ns;
	}
	if (log)
		fclose(log);

	printf("{\"url\":\"%s\",\"start_unix_us\":%llu,\"target_rate\":%.3f,\"duration_s\":%.3f,"
	       "\"connections\":%u,"
	       "\"scheduled\":%llu,\"sent\":%llu,\"completed\":%zu,\"errors\":%llu,"
	       "\"reconnects\":%llu,\"client_late_1ms\":%llu,\"queued\":%llu,\"max_queue\":%llu,"
	       "\"achieved_rate\":%.3f,\"status\":{",
	       o.url,
	       (unsigned long long)start_real.tv_sec * 1000000ULL +
		       (unsigned long long)start_real.tv_nsec / 1000,
	       o.rate, o.duration, o.conns, (unsigned long long)total, (unsigned long long)sent_idx,
	       nlat, (unsigned long long)errors, (unsigned long long)reconnects,
	       (unsigned long long)late, (unsigned long long)queued, (unsigned long long)max_queue,
	       last_done > first_sent ? (double)nlat * 1e9 / (double)(last_done - first_sent)
				      : 0.0);
	first = true;
	for (int s = 0; s < 600; s++) {
		if (!status_count[s])
			continue;
		printf("%s\"%d\":%u", first ? "" : ",", s, status_count[s]);
		first = false;
	}
	printf("},");
	print_pcts("latency_ms", lat, nlat);
	printf(",");
	print_pcts("service_ms", svc, nlat);
	printf("}\n");
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fg-upstream - the mock upstream API of the tests, the demo and the gateway benchmarks.
 *
 * A small epoll HTTP/1.1 server: keep-alive, pipelining, Content-Length request bodies.
 * Every response is the same precomputed bytes (status, a body of --size bytes), so the
 * upstream costs as little as possible and the same for every gateway measured against
 * it. Options bend it into what a test needs:
 *   --echo        answer a JSON description of the request received (method, target,
 *                 version, headers in order, body length): proves what the gateway sent
 *   --delay MS    answer each request MS milliseconds after it arrived (timeouts)
 *   --status N    answer with status N (502/504 pass-through, errors)
 *   --close       close the connection after each response
 *   --threads N   N threads, one SO_REUSEPORT listener each
 *   --framing F   how the body is delimited: "length" (Content-Length, the default),
 *                 "chunked" (Transfer-Encoding: chunked, 4 kB chunks) or "close" (neither:
 *                 the connection's end ends the body)
 *   --header H    add the header field H ("Name: value") to every response (repeatable;
 *                 Cache-Control, Vary and the like for the cache's tests)
 *   --bad MODE    misbehave, for the gateway's error paths: "garbage" (answer bytes that
 *                 are not HTTP), "truncate" (close half-way through the body), "close"
 *                 (close without answering)
 *
 *   fg-upstream [-l ADDR:PORT] [-s BYTES] [-S STATUS] [-d MS] [-e] [-c] [-t N]
 *
 * It prints "fg-upstream: listening on ADDR:PORT" once ready and exits 0 on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK	 16384
#define HEAD_MAX	 (64u << 10) /* request line + headers */
#define BODY_MAX	 (64u << 20) /* request body bytes accepted (and discarded) */
#define EVENTS		 256
#define MAX_SIZE	 (256u << 20) /* --size upper bound */
#define MAX_HEADERS_ECHO 128

struct conn {
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	size_t body_left; /* request body bytes still to skip */
	int pending;	  /* responses waiting for their delay */
	bool closing;	  /* close once the output is written */
	bool dead;	  /* closed; freed when pending reaches 0 */
	bool want_out;
};

struct delayed {
	struct delayed *next;
	struct conn *c;
	uint64_t due_ns;
	char *resp; /* malloc'd (echo) or NULL for the fixed response */
	size_t len;
	bool head, close;
};

struct opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_text[128];
	size_t size;
	int status;
	unsigned delay_ms;
	bool echo, close;
	unsigned threads;
	enum { BAD_NONE, BAD_GARBAGE, BAD_TRUNCATE, BAD_CLOSE } bad;
	enum { FRAME_LENGTH, FRAME_CHUNKED, FRAME_CLOSE } framing;
	char extra[1024]; /* --header fields, each with its CRLF */
};

static struct opts o = { .size = 100, .status = 200, .threads = 1 };
static char *fixed; /* the full fixed response */
static size_t fixed_len, fixed_head_len;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 413:
		return "Payload Too Large";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Status";
	}
}

/* Chunks of the "chunked" framing. */
#define CHUNK 4096

static int build_fixed(void)
{
	char head[256 + sizeof(o.extra)];
	size_t cap, n;
	int h;

	if (o.framing == FRAME_CHUNKED)
		h = snprintf(
			head, sizeof(head),
			"HTTP/1.1 %d %s\r\nServer: fg-upstream\r\n%sContent-Type: text/plain\r\n"
			"Transfer-Encoding: chunked\r\n%s\r\n",
			o.status, reason(o.status), o.extra,
			o.close ? "Connection: close\r\n" : "");
	else if (o.framing == FRAME_CLOSE)
		h = snprintf(
			head, sizeof(head),
			"HTTP/1.1 %d %s\r\nServer: fg-upstream\r\n%sContent-Type: text/plain\r\n"
			"Connection: close\r\n\r\n",
			o.status, reason(o.status), o.extra);
	else
		h = snprintf(
			head, sizeof(head),
			"HTTP/1.1 %d %s\r\nServer: fg-upstream\r\n%sContent-Type: text/plain\r\n"
			"Content-Length: %zu\r\n%s\r\n",
			o.status, reason(o.status), o.extra, o.size,
			o.close ? "Connection: close\r\n" : "");
	if (o.framing == FRAME_CLOSE)
		o.close = true;
	cap = (size_t)h + o.size + (o.size / CHUNK + 2) * 16;
	fixed = malloc(cap);
	if (!fixed)
		return -1;
	memcpy(fixed, head, (size_t)h);
	n = (size_t)h;
	for (size_t done = 0; done < o.size || (o.framing == FRAME_CHUNKED && done == o.size);) {
		size_t len = o.size - done < CHUNK ? o.size - done : CHUNK;

		if (o.framing == FRAME_CHUNKED)
			n += (size_t)sprintf(fixed + n, "%zx\r\n", len);
		for (size_t i = 0; i < len; i++)
			fixed[n + i] = (done + i) % 64 == 63 ? '\n' : 'x';
		n += len;
		if (o.framing == FRAME_CHUNKED) {
			memcpy(fixed + n, "\r\n", 2);
			n += 2;
		}
		if (!len)
			break; /* the last, empty chunk */
		done += len;
	}
	fixed_head_len = (size_t)h;
	fixed_len = n;
	return 0;
}

/* ---- JSON echo ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	sb_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			sb_put(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			sb_put(b, e, 6);
		} else {
			sb_put(b, (const char *)&c, 1);
		}
	}
	sb_put(b, "\"", 1);
}

struct hdr {
	const char *name, *value;
	size_t nlen, vlen;
};

static char *echo_response(const char *method, size_t mlen, const char *target, size_t tlen,
			   const char *version, size_t vlen, const struct hdr *h, size_t nh,
			   size_t body_len, bool close, size_t *len)
{
	struct sbuf body = { 0 }, resp = { 0 };
	char num[64];
	int n;

	sb_put(&body, "{\"method\":", 10);
	sb_str(&body, method, mlen);
	sb_put(&body, ",\"target\":", 10);
	sb_str(&body, target, tlen);
	sb_put(&body, ",\"version\":", 11);
	sb_str(&body, version, vlen);
	sb_put(&body, ",\"headers\":[", 12);
	for (size_t i = 0; i < nh; i++) {
		sb_put(&body, i ? ",[" : "[", i ? 2 : 1);
		sb_str(&body, h[i].name, h[i].nlen);
		sb_put(&body, ",", 1);
		sb_str(&body, h[i].value, h[i].vlen);
		sb_put(&body, "]", 1);
	}
	n = snprintf(num, sizeof(num), "],\"body_bytes\":%zu}\n", body_len);
	sb_put(&body, num, (size_t)n);
	n = snprintf(num, sizeof(num), "HTTP/1.1 %d %s\r\n", o.status, reason(o.status));
	sb_put(&resp, num, (size_t)n);
	n = snprintf(num, sizeof(num), "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		     body.len);
	sb_put(&resp, num, (size_t)n);
	sb_put(&resp, o.extra, strlen(o.extra));
	if (close)
		sb_put(&resp, "Connection: close\r\n", 19);
	sb_put(&resp, "\r\n", 2);
	sb_put(&resp, body.p, body.len);
	free(body.p);
	*len = resp.len;
	return resp.p;
}

/* ---- connections ---- */

struct worker {
	int ep, lfd;
	struct delayed *head, *tail;
};

static void conn_free(struct conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->dead)
		return;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->dead = true;
	if (!c->pending)
		conn_free(c);
}

static void want_out(struct worker *w, struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == on)
		return;
	c->want_out = on;
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Flush buffered output; false when the connection was closed. */
static bool flush_out(struct worker *w, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(w, c, true);
			return true;
		}
		if (n <= 0) {
			conn_close(w, c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	want_out(w, c, false);
	if (c->closing && !c->pending) {
		conn_close(w, c);
		return false;
	}
	return true;
}

static void queue_out(struct conn *c, const char *s, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = (c->out_len + n) * 2;
		char *p = realloc(c->out, cap);

		if (!p)
			abort();
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

static void respond(struct conn *c, const char *resp, size_t len, bool head, bool close)
{
	switch (o.bad) {
	case BAD_GARBAGE:
		queue_out(c, "THIS IS NOT HTTP\r\n\r\n", 20);
		c->closing = true;
		return;
	case BAD_TRUNCATE:
		queue_out(c, fixed, fixed_head_len + o.size / 2);
		c->closing = true;
		return;
	case BAD_CLOSE:
		c->closing = true;
		return;
	default:
		break;
	}
	if (resp)
		queue_out(c, resp, len);
	else
		queue_out(c, fixed, head ? fixed_head_len : fixed_len);
	if (close)
		c->closing = true;
}

static void fail_request(struct conn *c, int status)
{
	char r[160];
	int n = snprintf(r, sizeof(r),
			 "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status,
			 reason(status));

	queue_out(c, r, (size_t)n);
	c->closing = true;
}

static bool token_in(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= len; i++)
		if (!strncasecmp(v + i, tok, tl))
			return true;
	return false;
}

/* Parse and answer every complete request in c->in. */
static void process(struct worker *w, struct conn *c)
{
	size_t off = 0;

	while (!c->closing) {
		const char *buf = c->in + off, *end, *line_end, *sp1, *sp2, *p;
		size_t avail = c->in_len - off, content_length = 0, nh = 0;
		struct hdr h[MAX_HEADERS_ECHO];
		bool head, close = o.close, is10, chunked = false;

		if (c->body_left) {
			size_t skip = c->body_left < avail ? c->body_left : avail;

			c->body_left -= skip;
			off += skip;
			if (c->body_left)
				break;
			continue;
		}
		end = memmem(buf, avail, "\r\n\r\n", 4);
		if (!end) {
			if (avail > HEAD_MAX)
				fail_request(c, 431);
			break;
		}
		line_end = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
		sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
		if (!sp1 || !sp2) {
			fail_request(c, 400);
			break;
		}
		is10 = line_end - sp2 - 1 == 8 && !memcmp(sp2 + 1, "HTTP/1.0", 8);
		if (is10)
			close = true;
		head = sp1 - buf == 4 && !memcmp(buf, "HEAD", 4);
		for (p = line_end + 2; p < end + 2;) {
			const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
			const char *colon = memchr(p, ':', (size_t)(eol - p));
			const char *v;
			size_t nlen, vlen;

			if (!colon) {
				fail_request(c, 400);
				goto done;
			}
			nlen = (size_t)(colon - p);
			for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			vlen = (size_t)(eol - v);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (nlen == 14 && !strncasecmp(p, "content-length", 14)) {
				char num[24];

				if (vlen >= sizeof(num)) {
					fail_request(c, 400);
					goto done;
				}
				memcpy(num, v, vlen);
				num[vlen] = '\0';
				content_length = strtoull(num, NULL, 10);
			} else if (nlen == 17 && !strncasecmp(p, "transfer-encoding", 17)) {
				chunked = true;
			} else if (nlen == 10 && !strncasecmp(p, "connection", 10)) {
				if (token_in(v, vlen, "close"))
					close = true;
				else if (is10 && token_in(v, vlen, "keep-alive"))
					close = o.close;
			}
			if (nh < MAX_HEADERS_ECHO)
				h[nh++] = (struct hdr){ p, v, nlen, vlen };
			p = eol + 2;
		}
		if (chunked) {
			fail_request(c, 501);
			break;
		}
		if (content_length > BODY_MAX) {
			fail_request(c, 413);
			break;
		}
		{
			char *resp = NULL;
			size_t len = 0;

			if (o.echo)
				resp = echo_response(buf, (size_t)(sp1 - buf), sp1 + 1,
						     (size_t)(sp2 - sp1 - 1), sp2 + 1,
						     (size_t)(line_end - sp2 - 1), h, nh,
						     content_length, close, &len);
			if (o.delay_ms) {
				struct delayed *d = calloc(1, sizeof(*d));

				if (!d)
					abort();
				*d = (struct delayed){ .c = c,
						       .due_ns = now_ns() + o.delay_ms * 1000000ULL,
						       .resp = resp,
						       .len = len,
						       .head = head,
						       .close = close };
				if (w->tail)
					w->tail->next = d;
				else
					w->head = d;
				w->tail = d;
				c->pending++;
				if (close)
					c->closing = true; /* read no further requests */
			} else {
				respond(c, resp, len, head, close);
				free(resp);
			}
		}
		off += (size_t)(end + 4 - buf);
		c->body_left = content_length;
	}
done:
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

static void on_readable(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < READ_CHUNK) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 2 * READ_CHUNK;
			char *p;

			if (cap > HEAD_MAX * 4 + READ_CHUNK && c->in_len > HEAD_MAX) {
				conn_close(w, c);
				return;
			}
			if (!(p = realloc(c->in, cap)))
				abort();
			c->in = p;
			c->in_cap = cap;
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* The peer is done sending; answer what is pending, then close. */
			if (c->pending) {
				c->closing = true;
				epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
				return;
			}
			conn_close(w, c);
			return;
		}
		c->in_len += (size_t)n;
		if (c->closing)
			c->in_len = 0; /* discard what follows a "Connection: close" request */
	}
	process(w, c);
	flush_out(w, c);
}

static void run_delayed(struct worker *w)
{
	uint64_t now = now_ns();

	while (w->head && w->head->due_ns <= now) {
		struct delayed *d = w->head;
		struct conn *c = d->c;

		w->head = d->next;
		if (!w->head)
			w->tail = NULL;
		c->pending--;
		if (c->dead) {
			if (!c->pending)
				conn_free(c);
		} else {
			bool closing = c->closing;

			respond(c, d->resp, d->len, d->head, d->close);
			c->closing = closing || d->close;
			flush_out(w, c);
		}
		free(d->resp);
		free(d);
	}
}

static int listen_socket(void)
{
	int fd = socket(o.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&o.addr, o.addrlen) || listen(fd, 4096)) {
		fprintf(stderr, "fg-upstream: Couldn't listen on %s: %s\n", o.addr_text,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[EVENTS];

	epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev);
	while (!stop) {
		int timeout = 200, n;

		if (w->head) {
			uint64_t now = now_ns();

			timeout = w->head->due_ns <= now
					  ? 0
					  : (int)((w->head->due_ns - now + 999999) / 1000000);
			if (timeout > 200)
				timeout = 200;
		}
		n = epoll_wait(w->ep, evs, EVENTS, timeout);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(w->lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *nc = calloc(1, sizeof(*nc));
					struct epoll_event cev = { .events = EPOLLIN };

					if (!nc) {
						close(fd);
						continue;
					}
					nc->fd = fd;
					cev.data.ptr = nc;
					epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			if (c->dead)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
				conn_close(w, c);
				continue;
			}
			if (evs[i].events & EPOLLOUT && !flush_out(w, c))
				continue;
			if (evs[i].events & EPOLLIN)
				on_readable(w, c);
		}
		run_delayed(w);
	}
	return NULL;
}

static void on_signal(int sig)
{
	stop = 1;
}

static int parse_addr(const char *s)
{
	char host[100];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
			*res;

	if (!colon)
		return -1;
	hlen = (size_t)(colon - s);
	if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (!hlen || hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return -1;
	memcpy(&o.addr, res->ai_addr, res->ai_addrlen);
	o.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(o.addr_text, sizeof(o.addr_text), "%s", s);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fg-upstream [-l ADDR:PORT] [-s BYTES] [-S STATUS] [-d MS] [-e] [-c] "
		   "[-t N]\n"
		   "  -l, --listen ADDR:PORT  default 127.0.0.1:18081 ([::1]:PORT for IPv6)\n"
		   "  -s, --size BYTES        response body size (default 100)\n"
		   "  -S, --status CODE       response status (default 200)\n"
		   "  -d, --delay MS          answer each request MS ms after it arrived\n"
		   "  -e, --echo              answer a JSON description of the request\n"
		   "  -c, --close             close the connection after each response\n"
		   "  -t, --threads N         threads, each with its own SO_REUSEPORT listener\n"
		   "  -f, --framing F         length | chunked | close: how the body is delimited\n"
		   "  -b, --bad MODE          garbage | truncate | close: misbehave on purpose\n"
		   "  -H, --header 'N: V'     add this header field to every response "
		   "(repeatable)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "status", required_argument, NULL, 'S' },
		{ "delay", required_argument, NULL, 'd' },
		{ "echo", no_argument, NULL, 'e' },
		{ "close", no_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "bad", required_argument, NULL, 'b' },
		{ "framing", required_argument, NULL, 'f' },
		{ "header", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t *tids;
	struct worker *ws;
	int opt;
	char *e;

	parse_addr("127.0.0.1:18081");
	while ((opt = getopt_long(argc, argv, "l:s:S:d:ect:hb:f:H:", lopts, NULL)) != -1) {
		unsigned long v;

		switch (opt) {
		case 'l':
			if (parse_addr(optarg)) {
				fprintf(stderr, "fg-upstream: bad address %s (ADDR:PORT)\n",
					optarg);
				return 2;
			}
			break;
		case 's':
		case 'S':
		case 'd':
		case 't':
			errno = 0;
			v = strtoul(optarg, &e, 10);
			if (errno || *e || !*optarg || (opt == 's' && v > MAX_SIZE) ||
			    (opt == 'S' && (v < 100 || v > 599)) || (opt == 'd' && v > 3600000) ||
			    (opt == 't' && (v < 1 || v > 64))) {
				fprintf(stderr, "fg-upstream: bad value for -%c: %s\n", opt,
					optarg);
				return 2;
			}
			if (opt == 's')
				o.size = v;
			else if (opt == 'S')
				o.status = (int)v;
			else if (opt == 'd')
				o.delay_ms = (unsigned)v;
			else
				o.threads = (unsigned)v;
			break;
		case 'e':
			o.echo = true;
			break;
		case 'f':
			if (!strcmp(optarg, "length"))
				o.framing = FRAME_LENGTH;
			else if (!strcmp(optarg, "chunked"))
				o.framing = FRAME_CHUNKED;
			else if (!strcmp(optarg, "close"))
				o.framing = FRAME_CLOSE;
			else {
				fprintf(stderr,
					"fg-upstream: --framing is length, chunked or close\n");
				return 2;
			}
			break;
		case 'b':
			if (!strcmp(optarg, "garbage"))
				o.bad = BAD_GARBAGE;
			else if (!strcmp(optarg, "truncate"))
				o.bad = BAD_TRUNCATE;
			else if (!strcmp(optarg, "close"))
				o.bad = BAD_CLOSE;
			else {
				fprintf(stderr,
					"fg-upstream: --bad is garbage, truncate or close\n");
				return 2;
			}
			break;
		case 'c':
			o.close = true;
			break;
		case 'H': {
			const char *colon = strchr(optarg, ':');
			size_t used = strlen(o.extra);

			if (!colon || colon == optarg || strpbrk(optarg, "\r\n") ||
			    used + strlen(optarg) + 3 > sizeof(o.extra)) {
				fprintf(stderr, "fg-upstream: bad or too many headers: %s\n",
					optarg);
				return 2;
			}
			snprintf(o.extra + used, sizeof(o.extra) - used, "%s\r\n", optarg);
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (build_fixed())
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	tids = calloc(o.threads, sizeof(*tids));
	ws = calloc(o.threads, sizeof(*ws));
	if (!tids || !ws)
		return 1;
	for (unsigned i = 0; i < o.threads; i++) {
		ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if ((ws[i].lfd = listen_socket()) < 0 || ws[i].ep < 0)
			return 1;
	}
	printf("fg-upstream: listening on %s\n", o.addr_text);
	fflush(stdout);
	for (unsigned i = 1; i < o.threads; i++)
		pthread_create(&tids[i], NULL, worker_main, &ws[i]);
	worker_main(&ws[0]);
	for (unsigned i = 1; i < o.threads; i++)
		pthread_join(tids[i], NULL);
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * accesslog.c - JSON-lines access log buffers (see accesslog.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw/accesslog.h"

/* A URI longer than this is cut in the log (the request itself is not affected). */
#define URI_LOG_MAX 2048
/* Worst-case line: every field escaped at 6 bytes per input byte. */
#define LINE_MAX    (6 * URI_LOG_MAX + 1024)

int gw_accesslog_init(gw_accesslog_t *l, size_t cap)
{
	if (cap < 2 * LINE_MAX)
		cap = 2 * LINE_MAX;
	l->buf = malloc(cap);
	l->len = 0;
	l->cap = l->buf ? cap : 0;
	return l->buf ? 0 : -ENOMEM;
}

void gw_accesslog_dispose(gw_accesslog_t *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

size_t gw_accesslog_escape(const char *s, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 6 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'u';
			out[o++] = '0';
			out[o++] = '0';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

static void put_str(gw_accesslog_t *l, const char *name, const char *s, size_t len)
{
	l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len, ",\"%s\":\"", name);
	l->len += gw_accesslog_escape(s, len, l->buf + l->len, l->cap - l->len);
	l->buf[l->len++] = '"';
}

int gw_accesslog_append(gw_accesslog_t *l, const gw_accesslog_entry_t *e)
{
	struct tm tm;
	time_t sec = e->time.tv_sec;
	size_t uri_len = e->uri_len > URI_LOG_MAX ? URI_LOG_MAX : e->uri_len;

	if (!l->buf)
		return 0;
	if (l->cap - l->len < LINE_MAX)
		return 1; /* the caller flushes and the line is lost only if that fails */
	gmtime_r(&sec, &tm);
	l->len += strftime(l->buf + l->len, l->cap - l->len, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len, ".%03ldZ\"",
				   (long)(e->time.tv_usec / 1000));
	put_str(l, "client", e->client, strlen(e->client));
	put_str(l, "method", e->method, e->method_len);
	put_str(l, "uri", e->uri, uri_len);
	l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len,
				   ",\"proto\":\"%s\",\"status\":%d,\"bytes\":%llu,\"ms\":%.3f",
				   e->proto, e->status, (unsigned long long)e->bytes,
				   (double)e->duration_ns / 1e6);
	put_str(l, "route", e->route, strlen(e->route));
	put_str(l, "plan", e->plan, strlen(e->plan));
	put_str(l, "key", e->key_id, strlen(e->key_id));
	if (e->reason)
		put_str(l, "reason", e->reason, strlen(e->reason));
	else
		l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len, ",\"reason\":null");
	if (e->upstream_ns >= 0)
		l->len +=
			(size_t)snprintf(l->buf + l->len, l->cap - l->len,
					 ",\"upstream_ms\":%.3f}\n", (double)e->upstream_ns / 1e6);
	else
		l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len,
					   ",\"upstream_ms\":null}\n");
	return l->cap - l->len < LINE_MAX;
}

void gw_accesslog_flush(gw_accesslog_t *l, int fd)
{
	size_t off = 0;

	while (fd >= 0 && off < l->len) {
		ssize_t n = write(fd, l->buf + off, l->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a full disk loses log lines, never requests */
		off += (size_t)n;
	}
	l->len = 0;
}

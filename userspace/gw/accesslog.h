/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * accesslog.h - one JSON object per line per request, written by each worker thread.
 *
 * Each worker formats into its own buffer and appends whole lines to the log file
 * (O_APPEND) when the buffer is three quarters full, once a second, on reload and at
 * stop; lines from different threads never interleave within a line. The file is opened
 * per config generation, so SIGHUP also reopens it (log rotation: rename, then SIGHUP).
 *
 * {"time":"2025-01-31T12:00:00.123Z","client":"198.18.0.7","method":"GET",
 *  "uri":"/v1/items?x=1","proto":"HTTP/2","status":200,"bytes":123,"ms":1.234,
 *  "route":"items","plan":"free","key":"9f86d081884c7d65","reason":null,"upstream_ms":0.8}
 * "uri" is what went upstream: normalised, with the api_key parameter removed; the raw
 * path is logged only when the request was refused before routing. No key ever appears.
 */
#ifndef GW_ACCESSLOG_H
#define GW_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

typedef struct st_gw_accesslog_t {
	char *buf;
	size_t len, cap;
} gw_accesslog_t;

typedef struct st_gw_accesslog_entry_t {
	struct timeval time;
	const char *client; /* address text */
	const char *method;
	size_t method_len;
	const char *uri;
	size_t uri_len;
	const char *proto; /* "HTTP/1.1", "HTTP/2" */
	int status;
	uint64_t bytes;
	uint64_t duration_ns;
	const char *route; /* "" = none */
	const char *plan;
	const char *key_id;
	const char *reason;  /* problem slug, NULL = none */
	int64_t upstream_ns; /* -1 = not proxied */
} gw_accesslog_entry_t;

/* A buffer of cap bytes; -ENOMEM. */
int gw_accesslog_init(gw_accesslog_t *l, size_t cap);
void gw_accesslog_dispose(gw_accesslog_t *l);

/* Format one line; returns 1 when the buffer should be flushed now. */
int gw_accesslog_append(gw_accesslog_t *l, const gw_accesslog_entry_t *e);

/* Write the buffered lines to fd (if fd >= 0) and empty the buffer. */
void gw_accesslog_flush(gw_accesslog_t *l, int fd);

/* Append s[0..len) JSON-escaped (without quotes) to out (capacity cap, 6 * len suffices).
 * Bytes outside printable ASCII become \u00XX. Returns the escaped length. */
size_t gw_accesslog_escape(const char *s, size_t len, char *out, size_t cap);

#endif /* GW_ACCESSLOG_H */

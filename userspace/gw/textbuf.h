/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * textbuf.h - a growing text buffer for the Prometheus and JSON texts the admin listener
 * renders (metrics.c, edge.c, cluster_req.c).
 *
 * Formatting stops at the first failure (out of memory) and says so in `failed`, so a long
 * render checks once at the end instead of after every line.
 */
#ifndef GW_TEXTBUF_H
#define GW_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct st_gw_textbuf_t {
	char *buf;   /* malloc'd (or NULL with cap 0); NUL-terminated while not failed */
	size_t len;  /* bytes of text */
	size_t cap;  /* bytes allocated */
	bool failed; /* an allocation failed: the text is incomplete */
} gw_textbuf_t;

/* Append printf-formatted text, growing buf as needed. */
void gw_textbuf_put(gw_textbuf_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* GW_TEXTBUF_H */

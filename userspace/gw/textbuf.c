/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * textbuf.c - a growing text buffer (see textbuf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "gw/textbuf.h"

void gw_textbuf_put(gw_textbuf_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!t->failed) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt,
			      ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->buf && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		/* too small: grow to twice what is needed and format again */
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *b = realloc(t->buf, cap);

		if (!b) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

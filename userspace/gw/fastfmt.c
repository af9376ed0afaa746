/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fastfmt.c - __sprintf_chk with libh2o's per-response formats written directly (see
 * fastfmt.h for why). A format is recognised by its exact text; anything else, and any
 * NULL string argument (glibc prints "(null)"), goes to glibc.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>

#include "gw/fastfmt.h"

/* glibc's own entries (exported since 2.3.4): the fallback and the overflow abort. */
extern int __vsprintf_chk(char *s, int flag, size_t slen, const char *fmt, va_list ap);
extern void __chk_fail(void) __attribute__((noreturn));

/* The formats, as libh2o 2.2.5 spells them: "%d", an HTTP/2 status (lib/http2/hpack.c); the
 * length of a proxied request's body (lib/core/proxy.c); an HTTP/1.1 head (lib/http1.c). */
static const char fmt_cl[] = "content-length: %zu\r\n";
#define H1_HEAD "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n"
static const char fmt_h1[] = H1_HEAD;
static const char fmt_h1_cl[] = H1_HEAD "Content-Length: %zu\r\n";

size_t gw_fastfmt_size(char *dst, size_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);
	size_t n;

	/* Short numbers without the loop: most bodies and every status are under 1000. */
	if (v < 10) {
		dst[0] = (char)('0' + v);
		return 1;
	}
	if (v < 100) {
		dst[0] = (char)('0' + v / 10);
		dst[1] = (char)('0' + v % 10);
		return 2;
	}
	if (v < 1000) {
		dst[0] = (char)('0' + v / 100);
		dst[1] = (char)('0' + v / 10 % 10);
		dst[2] = (char)('0' + v % 10);
		return 3;
	}
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(dst, p, n);
	return n;
}

size_t gw_fastfmt_int(char *dst, int v)
{
	/* Negated in unsigned arithmetic, so INT_MIN has its digits too. */
	if (v < 0) {
		*dst = '-';
		return 1 + gw_fastfmt_size(dst + 1, -(size_t)(unsigned)v & 0xffffffffu);
	}
	return gw_fastfmt_size(dst, (size_t)v);
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put(p, lit, sizeof(lit) - 1)

/* The HTTP/1.1 head lines, and the Content-Length line when len is set, into out (large
 * enough: the caller checked the length) with a NUL. */
static size_t h1_head(char *out, const char *st, size_t sn, const char *reason, size_t rlen,
		      const char *date, size_t dlen, const char *conn, size_t clen, const char *len,
		      size_t ln)
{
	char *p = out;

	p = PUT_LIT(p, "HTTP/1.1 ");
	p = put(p, st, sn);
	*p++ = ' ';
	p = put(p, reason, rlen);
	p = PUT_LIT(p, "\r\nDate: ");
	p = put(p, date, dlen);
	p = PUT_LIT(p, "\r\nConnection: ");
	p = put(p, conn, clen);
	p = PUT_LIT(p, "\r\n");
	if (len) {
		p = PUT_LIT(p, "Content-Length: ");
		p = put(p, len, ln);
		p = PUT_LIT(p, "\r\n");
	}
	*p = '\0';
	return (size_t)(p - out);
}

/* A result of n bytes and its NUL must fit in the caller's object of slen bytes. */
static void check(size_t n, size_t slen)
{
	if (n >= slen)
		__chk_fail();
}

int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
	char num[24];
	va_list ap;
	size_t n;
	int ret;

	va_start(ap, fmt);
	if (fmt[0] == '%' && fmt[1] == 'd' && !fmt[2]) {
		int v = va_arg(ap, int);

		if (v >= 100 && v <= 999 && slen > 3) { /* an HTTP status: three digits */
			s[0] = (char)('0' + v / 100);
			s[1] = (char)('0' + v / 10 % 10);
			s[2] = (char)('0' + v % 10);
			s[3] = '\0';
			va_end(ap);
			return 3;
		}
		n = gw_fastfmt_int(num, v);
		check(n, slen);
		memcpy(s, num, n);
		s[n] = '\0';
		ret = (int)n;
	} else if (fmt[0] == '%' && fmt[1] == '0' && fmt[2] == '2' && fmt[3] == 'x' && !fmt[4]) {
		static const char hex[] = "0123456789abcdef";
		unsigned v = va_arg(ap, unsigned);

		if (v > 0xff) { /* more than two digits: glibc's */
			va_end(ap);
			va_start(ap, fmt);
			ret = __vsprintf_chk(s, flag, slen, fmt, ap);
			va_end(ap);
			return ret;
		}
		check(2, slen);
		s[0] = hex[v >> 4];
		s[1] = hex[v & 15];
		s[2] = '\0';
		ret = 2;
	} else if (fmt[0] == 'c' && !strcmp(fmt, fmt_cl)) {
		n = gw_fastfmt_size(num, va_arg(ap, size_t));
		check(sizeof("content-length: \r\n") - 1 + n, slen);
		memcpy(s, "content-length: ", 16);
		memcpy(s + 16, num, n);
		memcpy(s + 16 + n, "\r\n", 3);
		ret = (int)(16 + n + 2);
	} else if (fmt[0] == 'H' && (!strcmp(fmt, fmt_h1) || !strcmp(fmt, fmt_h1_cl))) {
		int cl = fmt[sizeof(fmt_h1) - 1] != '\0';
		const char *reason, *date, *conn;
		size_t sn, rlen, dlen, clen, cn = 0;
		char st[12];
		va_list copy;

		va_copy(copy, ap);
		sn = gw_fastfmt_int(st, va_arg(ap, int));
		reason = va_arg(ap, const char *);
		date = va_arg(ap, const char *);
		conn = va_arg(ap, const char *);
		if (cl)
			cn = gw_fastfmt_size(num, va_arg(ap, size_t));
		if (!reason || !date || !conn) {
			ret = __vsprintf_chk(s, flag, slen, fmt, copy);
			va_end(copy);
			va_end(ap);
			return ret;
		}
		va_end(copy);
		rlen = strlen(reason);
		dlen = strlen(date);
		clen = strlen(conn);
		n = sizeof("HTTP/1.1  \r\nDate: \r\nConnection: \r\n") - 1 + sn + rlen + dlen +
		    clen + (cl ? sizeof("Content-Length: \r\n") - 1 + cn : 0);
		check(n, slen);
		ret = (int)h1_head(s, st, sn, reason, rlen, date, dlen, conn, clen, cl ? num : NULL,
				   cn);
	} else {
		ret = __vsprintf_chk(s, flag, slen, fmt, ap);
	}
	va_end(ap);
	return ret;
}

int gw_fastfmt_bound(void)
{
	return dlsym(RTLD_DEFAULT, "__sprintf_chk") == (void *)__sprintf_chk;
}

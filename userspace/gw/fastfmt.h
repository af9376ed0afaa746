/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fastfmt.h - the per-response sprintf formats of libh2o 2.2.5, without vfprintf.
 *
 * Debian's libh2o is built with _FORTIFY_SOURCE, so its sprintf calls are calls to
 * glibc's __sprintf_chk through the PLT. Two of them run on every response:
 *   - HTTP/2: a :status outside HPACK's static table (401, 403, 429, 502, ...) is
 *     formatted with sprintf("%d");
 *   - HTTP/1.1: the head's first lines, "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n"
 *     (with "Content-Length: %zu\r\n" when the length is known);
 * and one on every proxied request with a body: "content-length: %zu\r\n".
 * One more runs on every TLS 1.3 handshake when tls.fast_records is on (tlsfast.h): OpenSSL
 * writes each byte of the key log's lines with sprintf("%02x"), about 550 calls, 330,000
 * instructions, a tenth of the handshake.
 * vfprintf costs about 600 instructions for the first and 1,700 for the second
 * (`make bench-gw-ir`), more than floodgate's own work on a 429.
 *
 * fastfmt.c defines __sprintf_chk in the floodgate executable. The dynamic linker binds
 * every library's reference to it there (the executable comes first in the lookup
 * scope): these formats are written directly, byte for byte what glibc writes, and every
 * other format goes to glibc's __vsprintf_chk unchanged. The overflow check is kept: an
 * output that does not fit in the caller's object aborts the process, as glibc's does.
 */
#ifndef GW_FASTFMT_H
#define GW_FASTFMT_H

#include <stddef.h>

/* glibc's fortified sprintf, as declared by <bits/stdio2-decl.h>; defined in fastfmt.c. */
int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...);

/* Whether the process's __sprintf_chk, as the dynamic linker resolves it for the shared
 * libraries, is fastfmt's (0 when, for instance, the executable does not export it). */
int gw_fastfmt_bound(void);

/* Decimal digits of v (a minus sign first when negative) at dst, no NUL; returns their
 * count, at most 11. */
size_t gw_fastfmt_int(char *dst, int v);

/* Decimal digits of v at dst, no NUL; returns their count, at most 20. */
size_t gw_fastfmt_size(char *dst, size_t v);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cfgtext.h - config text that reaches a terminal, a log line or a request.
 *
 * A config error quotes what the file says (a key, a value, jansson's "near '...'"), and
 * the operator reads it on a terminal or in a log where one line is one message. A value
 * holding a newline could print a second, forged "file:line:col:" line; an escape
 * sequence could rewrite the screen. So every message that leaves the loader goes through
 * gw_cfgtext_escape(), and string settings that end up in requests, paths or interface
 * names are checked with gw_cfgtext_has_control() first.
 */
#ifndef GW_CFGTEXT_H
#define GW_CFGTEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copy src into dst (cap bytes with the NUL), writing each control character as an
 * escape: \n \r \t, \xNN for the other C0 bytes, DEL and bytes that are not UTF-8, and
 * \uNNNN for C1 controls, U+2028/U+2029 (line breaks to some viewers) and the bidi
 * overrides. Everything else, backslash included, is copied as is. When the result does
 * not fit it ends in "..." (never a cut escape). Returns dst.
 */
char *gw_cfgtext_escape(char *dst, size_t cap, const char *src);

/* Escape s in place (cap: the size of its buffer). */
void gw_cfgtext_escape_inplace(char *s, size_t cap);

/* Whether s holds any character gw_cfgtext_escape() would escape. */
bool gw_cfgtext_has_control(const char *s);

#endif /* GW_CFGTEXT_H */

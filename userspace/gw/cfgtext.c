/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cfgtext.c - escaping config text for messages (see cfgtext.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/cfgtext.h"

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), its code point in *cp; 0 when the
 * bytes are not UTF-8 (overlong forms and surrogates included).
 */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points a terminal or log viewer acts on instead of showing. */
static bool is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The escape of the sequence at s into e (at least 7 bytes); its length in bytes of s. */
static size_t escape_one(const unsigned char *s, char e[8], bool *escaped)
{
	uint32_t cp;
	size_t n = utf8_seq(s, &cp);

	*escaped = true;
	if (!n) {
		snprintf(e, 8, "\\x%02x", s[0]);
		return 1;
	}
	if (!is_control(cp)) {
		*escaped = false;
		return n;
	}
	if (cp == '\n')
		snprintf(e, 8, "\\n");
	else if (cp == '\r')
		snprintf(e, 8, "\\r");
	else if (cp == '\t')
		snprintf(e, 8, "\\t");
	else if (cp < 0x80)
		snprintf(e, 8, "\\x%02x", (unsigned)cp);
	else
		snprintf(e, 8, "\\u%04x", (unsigned)cp);
	return n;
}

/* Bytes the escaped form of src takes, without the NUL. */
static size_t escaped_len(const unsigned char *s)
{
	size_t total = 0;

	while (*s) {
		char e[8];
		bool escaped;
		size_t n = escape_one(s, e, &escaped);

		total += escaped ? strlen(e) : n;
		s += n;
	}
	return total;
}

char *gw_cfgtext_escape(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	/* room for the text; when it does not all fit, "..." takes the last 3 bytes */
	size_t o = 0, room = escaped_len(s) < cap ? cap - 1 : cap > 3 ? cap - 4 : cap - 1;

	if (!cap)
		return dst;
	while (*s) {
		char e[8];
		bool escaped;
		size_t n = escape_one(s, e, &escaped);
		size_t len = escaped ? strlen(e) : n;

		if (o + len > room)
			break;
		memcpy(dst + o, escaped ? e : (const char *)s, len);
		o += len;
		s += n;
	}
	if (*s && cap > 3) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

void gw_cfgtext_escape_inplace(char *s, size_t cap)
{
	char *tmp;

	if (!gw_cfgtext_has_control(s))
		return;
	if (!(tmp = strdup(s))) {
		/* no memory for a copy: blank what would be escaped */
		for (unsigned char *p = (unsigned char *)s; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				*p = '?';
		return;
	}
	gw_cfgtext_escape(s, cap, tmp);
	free(tmp);
}

bool gw_cfgtext_has_control(const char *src)
{
	const unsigned char *s = (const unsigned char *)src;

	while (*s) {
		char e[8];
		bool escaped;

		s += escape_one(s, e, &escaped);
		if (escaped)
			return true;
	}
	return false;
}

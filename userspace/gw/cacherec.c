/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cacherec.c - the shared cache layer's record format (see cacherec.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "gw/cacherec.h"

static const char magic[4] = { 'F', 'G', 'C', GW_CACHEREC_VERSION };

/* ---- encoding ---- */

size_t gw_cacherec_size(const gw_cacherec_t *r)
{
	size_t n = sizeof(magic) + 2 + 5 * 8 + 4 + r->key_len + 2 + r->reason_len + 1 + 2 + 4 +
		   r->body_len;

	if (r->nvary > GW_CACHEREC_VARY_MAX || r->nheaders > GW_CACHEREC_HEADERS_MAX ||
	    r->key_len > UINT32_MAX || r->reason_len > UINT16_MAX || r->body_len > UINT32_MAX ||
	    r->status < 100 || r->status > 599)
		return 0;
	for (size_t i = 0; i < r->nvary; i++) {
		if (r->vary[i].name_len > UINT16_MAX || r->vary[i].value_len > UINT32_MAX)
			return 0;
		n += 2 + r->vary[i].name_len + 1 + 4 +
		     (r->vary[i].value ? r->vary[i].value_len : 0);
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		if (r->headers[i].name_len > UINT16_MAX || r->headers[i].value_len > UINT32_MAX)
			return 0;
		n += 2 + r->headers[i].name_len + 4 + r->headers[i].value_len;
	}
	return n;
}

static char *put_be(char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*p++ = (char)(v >> (8 * i));
	return p;
}

static char *put_bytes(char *p, const void *b, size_t len)
{
	if (len)
		memcpy(p, b, len);
	return p + len;
}

size_t gw_cacherec_encode(const gw_cacherec_t *r, char *out)
{
	size_t n = gw_cacherec_size(r);
	char *p = out;

	if (!n)
		return 0;
	p = put_bytes(p, magic, sizeof(magic));
	p = put_be(p, (uint64_t)r->status, 2);
	p = put_be(p, r->fresh_ms, 8);
	p = put_be(p, r->swr_ms, 8);
	p = put_be(p, r->sie_ms, 8);
	p = put_be(p, r->initial_age_s, 8);
	p = put_be(p, r->ttl_ms, 8);
	p = put_be(p, r->key_len, 4);
	p = put_bytes(p, r->key, r->key_len);
	p = put_be(p, r->reason_len, 2);
	p = put_bytes(p, r->reason, r->reason_len);
	p = put_be(p, r->nvary, 1);
	for (size_t i = 0; i < r->nvary; i++) {
		const gw_cacherec_field_t *f = &r->vary[i];

		p = put_be(p, f->name_len, 2);
		p = put_bytes(p, f->name, f->name_len);
		p = put_be(p, f->value != NULL, 1);
		p = put_be(p, f->value ? f->value_len : 0, 4);
		p = put_bytes(p, f->value, f->value ? f->value_len : 0);
	}
	p = put_be(p, r->nheaders, 2);
	for (size_t i = 0; i < r->nheaders; i++) {
		p = put_be(p, r->headers[i].name_len, 2);
		p = put_bytes(p, r->headers[i].name, r->headers[i].name_len);
		p = put_be(p, r->headers[i].value_len, 4);
		p = put_bytes(p, r->headers[i].value, r->headers[i].value_len);
	}
	p = put_be(p, r->body_len, 4);
	p = put_bytes(p, r->body, r->body_len);
	return (size_t)(p - out) == n ? n : 0;
}

/* ---- decoding ---- */

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t get_be(struct rd *d, int bytes)
{
	uint64_t v = 0;

	if (d->bad || d->end - d->p < bytes) {
		d->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v = v << 8 | *d->p++;
	return v;
}

static const char *get_bytes(struct rd *d, size_t len)
{
	const char *s = (const char *)d->p;

	if (d->bad || (size_t)(d->end - d->p) < len) {
		d->bad = true;
		return NULL;
	}
	d->p += len;
	return s;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool valid_name(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool valid_value(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return false;
	return true;
}

int gw_cacherec_decode(const char *buf, size_t len, gw_cacherec_t *r)
{
	struct rd d = { (const unsigned char *)buf, (const unsigned char *)buf + len, false };
	const char *m;

	memset(r, 0, sizeof(*r));
	if (!buf || !(m = get_bytes(&d, sizeof(magic))) || memcmp(m, magic, sizeof(magic)))
		return -EINVAL;
	r->status = (int)get_be(&d, 2);
	r->fresh_ms = get_be(&d, 8);
	r->swr_ms = get_be(&d, 8);
	r->sie_ms = get_be(&d, 8);
	r->initial_age_s = get_be(&d, 8);
	r->ttl_ms = get_be(&d, 8);
	r->key_len = get_be(&d, 4);
	r->key = get_bytes(&d, r->key_len);
	r->reason_len = get_be(&d, 2);
	r->reason = get_bytes(&d, r->reason_len);
	r->nvary = get_be(&d, 1);
	if (d.bad || r->status < 100 || r->status > 599 || r->nvary > GW_CACHEREC_VARY_MAX ||
	    !r->key_len || !valid_value(r->reason, r->reason_len))
		return -EINVAL;
	for (size_t i = 0; i < r->nvary; i++) {
		gw_cacherec_field_t *f = &r->vary[i];
		uint64_t present;

		f->name_len = get_be(&d, 2);
		f->name = get_bytes(&d, f->name_len);
		present = get_be(&d, 1);
		f->value_len = get_be(&d, 4);
		f->value = get_bytes(&d, f->value_len);
		if (d.bad || present > 1 || (!present && f->value_len) ||
		    !valid_name(f->name, f->name_len))
			return -EINVAL;
		if (!present)
			f->value = NULL;
	}
	r->nheaders = get_be(&d, 2);
	if (d.bad || r->nheaders > GW_CACHEREC_HEADERS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < r->nheaders; i++) {
		gw_cacherec_field_t *f = &r->headers[i];

		f->name_len = get_be(&d, 2);
		f->name = get_bytes(&d, f->name_len);
		f->value_len = get_be(&d, 4);
		f->value = get_bytes(&d, f->value_len);
		if (d.bad || !valid_name(f->name, f->name_len) ||
		    !valid_value(f->value, f->value_len))
			return -EINVAL;
	}
	r->body_len = get_be(&d, 4);
	r->body = get_bytes(&d, r->body_len);
	if (d.bad || d.p != d.end)
		return -EINVAL;
	return 0;
}

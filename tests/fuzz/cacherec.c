// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cacherec.c - libFuzzer target: any bytes as a shared-cache record read back from Redis
 * (gw/cacherec.h). Decoding must refuse or accept without reading past the buffer; what
 * it accepts must be a response floodgate may send (status 100..599, header names of
 * token characters, header values without CR, LF or NUL) and encode back to the same
 * bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/cacherec.h"

#include "fuzz/fuzz.h"

static int tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* sent: a response header (its value goes out); a Vary value is only compared with the
 * request's, never sent */
static void field_ok(const gw_cacherec_field_t *f, int sent)
{
	MUST(f->name_len > 0);
	for (size_t i = 0; i < f->name_len; i++)
		MUST(tchar((unsigned char)f->name[i]));
	for (size_t i = 0; sent && i < f->value_len; i++)
		MUST(f->value[i] != '\r' && f->value[i] != '\n' && f->value[i] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_cacherec_t r;
	char *copy, *out;
	size_t n;

	/* a copy of exactly size bytes: ASan sees any read past the record */
	copy = malloc(size ? size : 1);
	MUST(copy);
	memcpy(copy, data, size);
	if (gw_cacherec_decode(copy, size, &r)) {
		free(copy);
		return 0;
	}
	MUST(r.status >= 100 && r.status <= 599);
	MUST(r.nvary <= GW_CACHEREC_VARY_MAX && r.nheaders <= GW_CACHEREC_HEADERS_MAX);
	for (size_t i = 0; i < r.nvary; i++)
		field_ok(&r.vary[i], 0);
	for (size_t i = 0; i < r.nheaders; i++) {
		field_ok(&r.headers[i], 1);
		MUST(r.headers[i].value);
	}
	n = gw_cacherec_size(&r);
	MUST(n == size); /* nothing after the record */
	out = malloc(n);
	MUST(out);
	MUST(gw_cacherec_encode(&r, out) == n && !memcmp(out, copy, n));
	free(out);
	free(copy);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * upstream.c - libFuzzer target: what an upstream sends back, through floodgate's
 * response-head parser and chunked decoder (gw/upstream.h), against picohttpparser's
 * (h2o 2.2.5's own; fuzz.h).
 *   - Head: a head floodgate accepts is one pico accepts too, of the same length, status,
 *     version and fields (values without trailing whitespace, which this pico keeps); no
 *     accepted name or value holds CR, LF or NUL (it would split the response it is
 *     forwarded in), and no name is empty.
 *   - Chunked body (the rest of the input, after the head): fed in pieces cut where the
 *     input says, the decoder gives the same data and the same end as in one piece, and
 *     the same data as pico's decoder when both end the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "gw/upstream.h"

#include "fuzz/fuzz.h"

static void clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		MUST(s[i] != '\r' && s[i] != '\n' && s[i] != '\0');
}

static void head(const char *buf, size_t len)
{
	static gw_upstream_head_t h;
	struct phr_header ph[GW_UPSTREAM_HEADERS_MAX];
	size_t n = GW_UPSTREAM_HEADERS_MAX, rlen;
	int minor, status, pret;
	const char *reason;
	ssize_t ret = gw_upstream_parse_head(buf, len, &h);

	MUST(ret >= -1 && ret <= (ssize_t)len);
	if (ret <= 0)
		return;
	for (size_t i = 0; i < h.nheaders; i++) {
		MUST(h.headers[i].name_len > 0);
		clean(h.headers[i].name, h.headers[i].name_len);
		clean(h.headers[i].value, h.headers[i].value_len);
	}
	clean(h.reason, h.reason_len);
	pret = phr_parse_response(buf, len, &minor, &status, &reason, &rlen, ph, &n, 0);
	if (pret == -1) {
		/* the one leniency of floodgate's: "HTTP/1.1 200" with no SP before an empty
		 * reason (this pico wants it; RFC 9112 4 lets a client take it) */
		const char *nl = memchr(buf, '\n', len);
		size_t l1 = nl ? (size_t)(nl - buf) : 0;

		if (l1 && buf[l1 - 1] == '\r')
			l1--;
		MUST(l1 == 12);
		return;
	}
	MUST(pret == ret && minor == h.minor && status == h.status && n == h.nheaders);
	for (size_t i = 0; i < n; i++) {
		MUST(ph[i].name && ph[i].name_len == h.headers[i].name_len &&
		     !memcmp(ph[i].name, h.headers[i].name, ph[i].name_len));
		size_t vl = ph[i].value_len;

		/* this pico keeps trailing OWS in a value; floodgate drops it (RFC 9110 5.5) */
		while (vl && (ph[i].value[vl - 1] == ' ' || ph[i].value[vl - 1] == '\t'))
			vl--;
		MUST(vl == h.headers[i].value_len && !memcmp(ph[i].value, h.headers[i].value, vl));
	}
}

/* Decode body[0..len) in pieces ending at the offsets cuts[] (ascending), into out. */
static int chunked(const char *body, size_t len, const uint8_t *cuts, size_t ncuts, char *out,
		   size_t *olen)
{
	gw_chunked_t d = { 0 };
	char *work = malloc(len ? len : 1);
	size_t at = 0, o = 0;
	int r = 0;

	MUST(work);
	for (size_t c = 0; c <= ncuts && r == 0 && at < len; c++) {
		size_t end = c < ncuts ? at + cuts[c] % (len - at + 1) : len, n, extra = 0;

		n = end - at;
		memcpy(work, body + at, n);
		r = gw_chunked_decode(&d, work, &n, &extra);
		MUST(r >= -1 && r <= 1);
		if (r < 0)
			break; /* malformed: what was decoded no longer counts */
		MUST(n <= end - at);
		memcpy(out + o, work, n);
		o += n;
		at = end - (r == 1 ? extra : 0);
	}
	free(work);
	*olen = o;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *split = memmem(data, size, "\xff\xfe", 2);
	size_t hlen = split ? (size_t)(split - (const char *)data) : size;
	char *buf = malloc(hlen ? hlen : 1); /* exactly hlen bytes: ASan sees overreads */
	const char *body;
	size_t blen, ncuts, o1, o2;
	char *out1, *out2, *pico;
	int r1, r2;

	MUST(buf);
	memcpy(buf, data, hlen);
	head(buf, hlen);
	free(buf);
	if (!split)
		return 0;
	/* after the head: N cut offsets, then the body */
	body = split + 2;
	blen = size - hlen - 2;
	ncuts = blen ? (uint8_t)body[0] % 8 : 0;
	if (blen < 1 + ncuts)
		return 0;
	body += 1 + ncuts;
	blen -= 1 + ncuts;
	out1 = malloc(blen + 1);
	out2 = malloc(blen + 1);
	pico = malloc(blen + 1);
	MUST(out1 && out2 && pico);
	r1 = chunked(body, blen, NULL, 0, out1, &o1);
	r2 = chunked(body, blen, (const uint8_t *)split + 3, ncuts, out2, &o2);
	MUST(r1 == r2);
	MUST(r1 < 0 || (o1 == o2 && !memcmp(out1, out2, o1)));
	if (r1 == 1) {
		struct phr_chunked_decoder pd = { 0 };
		size_t plen = blen;
		ssize_t pr;

		pd.consume_trailer = 1;
		memcpy(pico, body, blen);
		pr = phr_decode_chunked(&pd, pico, &plen);
		if (pr >= 0) /* pico ended the body too */
			MUST(plen == o1 && !memcmp(pico, out1, o1));
	}
	free(out1);
	free(out2);
	free(pico);
	return 0;
}

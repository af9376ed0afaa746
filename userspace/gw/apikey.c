/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * apikey.c - key extraction, query stripping, digests and generation (see apikey.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gw/apikey.h"

/* Every byte of w within 0x21..0x7e. Bytes with the high bit clear are x, and x + 0x5f
 * sets the high bit when x >= 0x21, x + 0x01 when x >= 0x7f; no sum carries into the next
 * byte. */
static bool visible8(uint64_t w)
{
	const uint64_t hi = 0x8080808080808080ull, low7 = w & ~hi;

	return !(w & hi) && ((low7 + 0x5f5f5f5f5f5f5f5full) & hi) == hi &&
	       !((low7 + 0x0101010101010101ull) & hi);
}

bool gw_apikey_valid(const char *key, size_t len)
{
	size_t i = 0;

	if (!len || len > GW_APIKEY_MAX)
		return false;
	/* Eight bytes at a time: this runs on every request that carries a key. */
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, key + i, 8);
		if (!visible8(w))
			return false;
	}
	for (; i < len; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s into out (capacity cap); -EINVAL on a bad escape or overflow. */
static ssize_t pct_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o >= cap)
			return -EINVAL;
		out[o++] = ch;
	}
	return (ssize_t)o;
}

/* Whether a query parameter's name (raw, maybe percent-encoded) equals param. */
static bool name_is(const char *name, size_t len, const char *param, size_t plen)
{
	char buf[128];
	ssize_t n;

	if (len == plen && !memcmp(name, param, plen))
		return true;
	if (!memchr(name, '%', len) || len > 3 * sizeof(buf))
		return false;
	n = pct_decode(name, len, buf, sizeof(buf));
	return n == (ssize_t)plen && !memcmp(buf, param, plen);
}

/* The value of the first `param` in query, raw; false when absent. */
static bool query_find(const char *q, size_t len, const char *param, size_t plen, const char **val,
		       size_t *vlen)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;

		while (end < len && q[end] != '&')
			end++;
		for (eq = i; eq < end && q[eq] != '='; eq++)
			;
		if (name_is(q + i, eq - i, param, plen)) {
			*val = eq < end ? q + eq + 1 : q + end;
			*vlen = eq < end ? end - eq - 1 : 0;
			return true;
		}
		i = end + 1;
	}
	return false;
}

int gw_apikey_extract(const gw_config_t *cfg, const gw_apikey_input_t *in, char *buf,
		      gw_apikey_t *out)
{
	int ret = gw_apikey_locate(cfg, in, buf, out);

	if (ret > 0 && !gw_apikey_valid(out->key, out->len))
		return -EINVAL;
	return ret;
}

int gw_apikey_locate(const gw_config_t *cfg, const gw_apikey_input_t *in, char *buf,
		     gw_apikey_t *out)
{
	for (size_t i = 0; i < cfg->keys.nsources; i++) {
		const char *k = NULL;
		size_t len = 0;

		switch (cfg->keys.order[i]) {
		case GW_KEY_SRC_HEADER:
			if (!in->header)
				continue;
			k = in->header;
			len = in->header_len;
			gw_apikey_trim(&k, &len);
			break;
		case GW_KEY_SRC_BEARER:
			if (!in->authorization)
				continue;
			k = in->authorization;
			len = in->authorization_len;
			gw_apikey_trim(&k, &len);
			/* Another scheme (Basic, Digest) is not ours: keep looking elsewhere. */
			if (len < 7 || strncasecmp(k, "bearer", 6) || (k[6] != ' ' && k[6] != '\t'))
				continue;
			k += 7;
			len -= 7;
			gw_apikey_trim(&k, &len);
			break;
		case GW_KEY_SRC_QUERY: {
			const char *v;
			size_t vlen;
			ssize_t n;

			if (!in->query ||
			    !query_find(in->query, in->query_len, cfg->keys.query_param,
					cfg->keys.query_param_len, &v, &vlen))
				continue;
			if (vlen > 3 * GW_APIKEY_MAX)
				return -EINVAL;
			n = pct_decode(v, vlen, buf, GW_APIKEY_MAX);
			if (n < 0)
				return -EINVAL;
			k = buf;
			len = (size_t)n;
			break;
		}
		default:
			continue;
		}
		/* An empty value ("X-API-Key:", "Bearer ", "api_key=") carries no key: it
		 * must not hide a key given in a later source. */
		if (!len)
			continue;
		out->key = k;
		out->len = len;
		out->src = cfg->keys.order[i];
		return 1;
	}
	return 0;
}

/* Pieces are cut at ';' too: some upstreams split the query there as at '&' (Python's
 * parse_qs before 3.10, Go before 1.17; CVE-2021-23336), and to them "a=1;api_key=K"
 * carries the key. Keys are read at '&' only; this is the removal, which must leave the
 * parameter in no reading. A kept piece keeps the separator that preceded it. */
size_t gw_apikey_strip_query(const char *q, size_t len, const char *param, size_t plen, char *out,
			     size_t *removed)
{
	size_t i = 0, o = 0, n = 0;
	char sep = '&';

	while (i < len) {
		size_t end = i, eq;

		while (end < len && q[end] != '&' && q[end] != ';')
			end++;
		for (eq = i; eq < end && q[eq] != '='; eq++)
			;
		if (name_is(q + i, eq - i, param, plen)) {
			n++;
		} else if (end > i) { /* empty pieces ("a&&b") go too */
			if (o)
				out[o++] = sep;
			memcpy(out + o, q + i, end - i);
			o += end - i;
		}
		sep = end < len ? q[end] : '&';
		i = end + 1;
	}
	if (removed)
		*removed = n;
	return o;
}

/* This runs on every request with a key. OpenSSL 3's EVP interface, and its one-shot
 * SHA256() which now goes through EVP_Q_digest(), look the algorithm up in the provider
 * store (under a lock) on each call: that costs more than hashing a 35-byte key. The
 * deprecated low-level functions hash directly. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void gw_apikey_digest(const char *key, size_t len, uint8_t out[32])
{
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, key, len);
	SHA256_Final(out, &c);
}
#pragma GCC diagnostic pop

void gw_apikey_id(const uint8_t digest[32], char out[GW_APIKEY_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < GW_APIKEY_ID_LEN / 2; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[GW_APIKEY_ID_LEN] = '\0';
}

int gw_apikey_generate(char out[GW_APIKEY_GEN_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[24];
	size_t o = 3;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EIO;
	memcpy(out, "fg_", 3);
	for (size_t i = 0; i < sizeof(r); i += 3) {
		uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

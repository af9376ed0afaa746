// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apikey.c - libFuzzer target: what a client puts where floodgate looks for its API key
 * (gw/apikey.h). Input: the X-API-Key value, the Authorization value and the query
 * string, separated by 0xff bytes. Properties:
 *   - a key found is well-formed (gw_apikey_valid()) and lies in the request or in the
 *     decoding buffer;
 *   - the query the upstream gets (gw_apikey_strip_query()) holds no api_key parameter
 *     however it is spelled (escapes, case of the escapes, repeats, empty values): a key
 *     in a URL never travels further than the gateway. Stripping it again removes nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/apikey.h"

#include "fuzz/fuzz.h"

static const char cfg_text[] =
	"{\"listen\": [\"127.0.0.1:18080\"],"
	" \"admin\": {\"token_sha256\": \"9f86d081884c7d659a2feaa0c55ad015a3"
	"bf4f1b2b0b822cd15d6c15b0f00a08\"},"
	" \"store\": {\"path\": \"/tmp/fg-fuzz-keys.db\"},"
	" \"upstreams\": {\"api\": {\"url\": \"http://127.0.0.1:18081\"}},"
	" \"routes\": [{\"name\": \"r\", \"methods\": \"*\", \"path\": \"/.*\","
	" \"upstream\": \"api\"}], \"plans\": {},"
	" \"keys\": {\"sources\": [\"query\", \"header\", \"bearer\"]}}";

static gw_config_t *cfg;

/* the next piece of the input, up to a 0xff byte */
static const char *piece(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *s = *p, *e = memchr(s, 0xff, (size_t)(end - s));

	if (!e)
		e = end;
	*len = (size_t)(e - s);
	*p = e < end ? e + 1 : end;
	return (const char *)s;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Whether a parameter of q[0..len) has the name "api_key" once percent-decoded (with '+'
 * as itself: the stripper's own rule is checked, not a looser one). */
static int has_api_key(const char *q, size_t len)
{
	size_t i = 0;

	while (i <= len) {
		char name[16];
		size_t n = 0, j = i;

		for (; j < len && q[j] != '&' && q[j] != '=' && q[j] != ';'; j++) {
			int c = (unsigned char)q[j];

			if (c == '%' && j + 2 < len && hexval(q[j + 1]) >= 0 &&
			    hexval(q[j + 2]) >= 0) {
				c = hexval(q[j + 1]) << 4 | hexval(q[j + 2]);
				j += 2;
			}
			if (n < sizeof(name))
				name[n] = (char)c;
			n++;
		}
		if (n == 7 && !memcmp(name, "api_key", 7))
			return 1;
		while (j < len && q[j] != '&' && q[j] != ';')
			j++;
		i = j + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[GW_APIKEY_MAX], out[8192], again[8192];
	const uint8_t *p = data, *end = data + size;
	gw_apikey_input_t in = { 0 };
	gw_apikey_t key;
	size_t n, removed;
	int rc;

	if (!cfg) {
		char err[GW_CONFIG_ERRLEN];

		cfg = gw_config_parse("/tmp/fg-fuzz.json", cfg_text, strlen(cfg_text), err,
				      sizeof(err));
		MUST(cfg);
	}
	if (size > sizeof(out))
		return 0;
	in.header = piece(&p, end, &in.header_len);
	in.authorization = piece(&p, end, &in.authorization_len);
	in.query = piece(&p, end, &in.query_len);
	if (data[0] & 1)
		in.header = NULL, in.header_len = 0;
	rc = gw_apikey_extract(cfg, &in, buf, &key);
	MUST(rc == 1 || rc == 0 || rc == -EINVAL);
	if (rc == 1) {
		MUST(gw_apikey_valid(key.key, key.len));
		MUST((key.key >= buf && key.key + key.len <= buf + sizeof(buf)) ||
		     ((const uint8_t *)key.key >= data &&
		      (const uint8_t *)key.key + key.len <= end));
	}
	n = gw_apikey_strip_query(in.query, in.query_len, "api_key", 7, out, &removed);
	MUST(n <= in.query_len);
	MUST(!has_api_key(out, n));
	MUST(gw_apikey_strip_query(out, n, "api_key", 7, again, &removed) == n && !removed);
	MUST(!memcmp(again, out, n));
	return 0;
}

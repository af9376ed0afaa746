/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/gw/clientip.c: the client-IP header is believed only from a
 * trusted edge; X-Forwarded-For is read right to left past the edges; bucket keys.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <string.h>

#include "gw/clientip.h"

static gw_config_t *cfg_with(const char *clients)
{
	char text[2048], err[GW_CONFIG_ERRLEN];
	gw_config_t *c;

	snprintf(text, sizeof(text),
		 "{\"listen\": [\"127.0.0.1:18080\"], \"admin\": {\"token_sha256\": "
		 "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}, "
		 "\"store\": {\"path\": \"/tmp/k.db\"}, \"upstreams\": {\"a\": {\"url\": "
		 "\"http://127.0.0.1:1\"}}, \"routes\": [{\"name\": \"r\", \"methods\": \"*\", "
		 "\"path\": \"/.*\", \"upstream\": \"a\"}], \"plans\": {}, \"clients\": %s}",
		 clients);
	c = gw_config_parse("c.json", text, strlen(text), err, sizeof(err));
	if (!c)
		print_message("# %s\n", err);
	assert_non_null(c);
	return c;
}

static struct sockaddr_storage peer(const char *ip)
{
	struct sockaddr_storage ss = { 0 };

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return ss;
}

static void expect(gw_config_t *c, const char *from, const char *hdr, const char *client,
		   int via_edge)
{
	struct sockaddr_storage ss = peer(from);
	const char *vals[1] = { hdr };
	size_t lens[1] = { hdr ? strlen(hdr) : 0 };
	gw_clientip_t ip;
	char buf[FG_CIDR_STRLEN];

	assert_int_equal(
		gw_clientip_resolve(c, (struct sockaddr *)&ss, vals, lens, hdr ? 1 : 0, &ip), 0);
	assert_string_equal(fg_cidr_format(&ip.client, buf, sizeof(buf)), client);
	assert_int_equal(ip.via_edge, via_edge);
}

static void cf_connecting_ip(void **state)
{
	gw_config_t *c = cfg_with("{\"trusted_edges\": [\"198.18.0.0/24\", \"2001:2::/48\"], "
				  "\"client_ip_header\": \"CF-Connecting-IP\"}");

	expect(c, "198.18.0.7", "198.19.1.2", "198.19.1.2", 1);
	expect(c, "2001:2::9", "2001:2:1::5", "2001:2:1::5", 1);
	expect(c, "198.18.0.7", " 198.19.1.2 ", "198.19.1.2", 1);
	/* not from an edge: the header is a claim, ignored */
	expect(c, "198.18.1.7", "198.19.1.2", "198.18.1.7", 0);
	expect(c, "127.0.0.1", "198.19.1.2", "127.0.0.1", 0);
	/* from an edge but absent or garbage: the edge itself */
	expect(c, "198.18.0.7", NULL, "198.18.0.7", 1);
	expect(c, "198.18.0.7", "not-an-ip", "198.18.0.7", 1);
	/* v4-mapped peers are IPv4 */
	expect(c, "::ffff:198.18.0.7", "198.19.1.2", "198.19.1.2", 1);
	gw_config_unref(c);
}

static void x_forwarded_for(void **state)
{
	gw_config_t *c = cfg_with("{\"trusted_edges\": [\"198.18.0.0/24\"], "
				  "\"client_ip_header\": \"X-Forwarded-For\"}");

	expect(c, "198.18.0.7", "198.19.1.2", "198.19.1.2", 1);
	/* a client-supplied prefix is skipped: the rightmost non-edge is the client */
	expect(c, "198.18.0.7", "198.19.9.9, 198.19.1.2", "198.19.1.2", 1);
	/* an edge chain: edges on the right are skipped */
	expect(c, "198.18.0.7", "198.19.1.2, 198.18.0.9", "198.19.1.2", 1);
	expect(c, "198.18.0.7", "198.19.1.2:5555", "198.19.1.2", 1);
	expect(c, "198.18.0.7", "[2001:2::1]:443", "2001:2::1", 1);
	expect(c, "198.18.0.7", "198.18.0.9", "198.18.0.7", 1); /* all edges: the peer */
	expect(c, "198.18.0.7", "198.19.9.9, junk", "198.18.0.7", 1);
	expect(c, "198.19.0.7", "198.19.9.9", "198.19.0.7", 0);
	{
		/* several header lines read as one list */
		struct sockaddr_storage ss = peer("198.18.0.7");
		const char *vals[2] = { "198.19.0.1", "198.18.0.3" };
		size_t lens[2] = { 10, 10 };
		gw_clientip_t ip;
		char buf[FG_CIDR_STRLEN];

		assert_int_equal(gw_clientip_resolve(c, (struct sockaddr *)&ss, vals, lens, 2, &ip),
				 0);
		assert_string_equal(fg_cidr_format(&ip.client, buf, sizeof(buf)), "198.19.0.1");
	}
	gw_config_unref(c);
}

static void bucket_keys(void **state)
{
	struct fg_cidr a, b;
	uint8_t ka[16], kb[16];

	fg_addr_parse("2001:2::1", &a, NULL);
	fg_addr_parse("2001:2::ffff:1", &b, NULL);
	gw_clientip_bucket_key(&a, 64, ka);
	gw_clientip_bucket_key(&b, 64, kb);
	assert_memory_equal(ka, kb, 16); /* one /64, one bucket */
	gw_clientip_bucket_key(&a, 128, ka);
	gw_clientip_bucket_key(&b, 128, kb);
	assert_memory_not_equal(ka, kb, 16);
	fg_addr_parse("198.18.0.1", &a, NULL);
	gw_clientip_bucket_key(&a, 64, ka);
	assert_int_equal(ka[10], 0xff);
	assert_int_equal(ka[15], 1);
}

/* gw_clientip_format writes what fg_cidr_format writes, for every octet value. */
static void format_like_inet_ntop(void **state)
{
	static const char *const samples[] = {
		"0.0.0.0",	     "255.255.255.255",	    "127.0.0.1", "198.19.100.9",
		"198.18.0.255",	     "1.22.103.4",	    "::1",	 "2001:2::9",
		"::ffff:198.18.0.7", "2001:db8:0:0:1:0:0:1"
	};
	char want[FG_CIDR_STRLEN], got[FG_CIDR_STRLEN];
	struct fg_cidr a;

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		assert_int_equal(fg_addr_parse(samples[i], &a, NULL), 0);
		fg_cidr_format(&a, want, sizeof(want));
		assert_int_equal(gw_clientip_format(&a, got), strlen(want));
		assert_string_equal(got, want);
	}
	for (unsigned v = 0; v < 256; v++) {
		fg_addr_parse("0.0.0.0", &a, NULL);
		a.addr[0] = (uint8_t)v;
		a.addr[1] = (uint8_t)(255 - v);
		a.addr[2] = (uint8_t)(v * 7);
		a.addr[3] = (uint8_t)(v / 3);
		fg_cidr_format(&a, want, sizeof(want));
		assert_int_equal(gw_clientip_format(&a, got), strlen(want));
		assert_string_equal(got, want);
	}
	/* a network (never a peer, but the contract says: as fg_cidr_format) */
	fg_cidr_parse("198.18.0.0/15", &a, NULL);
	assert_int_equal(gw_clientip_format(&a, got), strlen("198.18.0.0/15"));
	assert_string_equal(got, "198.18.0.0/15");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cf_connecting_ip),
		cmocka_unit_test(x_forwarded_for),
		cmocka_unit_test(bucket_keys),
		cmocka_unit_test(format_like_inet_ntop),
	};
	return FG_RUN_TESTS(tests);
}

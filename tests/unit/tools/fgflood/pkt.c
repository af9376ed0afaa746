/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of fgflood's packets (tools/fgflood/pkt.c and bpf/flood.h, the half the XDP
 * program shares): for IPv4 and IPv6, TCP SYN and UDP, every packet of a stream carries
 * checksums that an independent RFC 1071 sum accepts, a source inside --src, the fixed
 * fields of the template; golden checksums computed elsewhere; streams are reproducible
 * and distinct.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "fgflood/fgflood.h"

static const uint8_t SRC_MAC[6] = { 0x02, 0, 0, 0, 0, 1 };
static const uint8_t DST_MAC[6] = { 0x02, 0, 0, 0, 0, 2 };

/* RFC 1071, big-endian words, written independently of pkt.c. */
static uint16_t rfc1071(const uint8_t *p, unsigned len, uint32_t sum)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

/* Does the frame's IP header (v4) and TCP/UDP checksum verify? (A valid sum is 0xffff.) */
static void assert_checksums_ok(const uint8_t *f, unsigned flen)
{
	const uint8_t *l3 = f + 14, *l4;
	unsigned l4len;
	uint32_t ph = 0;
	uint8_t proto;

	if (be16(f + 12) == 0x0800) {
		assert_int_equal(rfc1071(l3, 20, 0), 0xffff);
		l4 = l3 + 20;
		l4len = be16(l3 + 2) - 20;
		proto = l3[9];
		ph = rfc1071(l3 + 12, 8, 0);
	} else {
		assert_int_equal(be16(f + 12), 0x86dd);
		l4 = l3 + 40;
		l4len = be16(l3 + 4);
		proto = l3[6];
		ph = rfc1071(l3 + 8, 32, 0);
	}
	assert_true(l4 + l4len <= f + flen);
	ph += proto + l4len; /* IPv6 sums a 32-bit length: the same below 64 KiB */
	if (proto == IPPROTO_UDP)
		assert_int_not_equal(be16(l4 + 6), 0);
	assert_int_equal(rfc1071(l4, l4len, ph), 0xffff);
}

static void spec_init(struct flood_spec *s, int family, uint8_t proto, const char *src,
		      const char *dst, unsigned len)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->proto = proto;
	memcpy(s->src_mac, SRC_MAC, 6);
	memcpy(s->dst_mac, DST_MAC, 6);
	assert_int_equal(fg_cidr_parse(src, &s->src, NULL), 0);
	assert_int_equal(fg_addr_parse(dst, &s->dst, NULL), 0);
	s->dport = 8080;
	s->frame_len = len;
	s->seed = 7;
}

/* Build, then check many packets of a few streams. */
static void check_stream(int family, uint8_t proto, const char *src, const char *dst, unsigned len)
{
	static struct flood_tmpl t;
	struct flood_spec s;
	struct fg_cidr net, a;
	uint8_t f[FLOOD_FRAME_MAX];
	unsigned alen = family == AF_INET ? 4 : 16;
	unsigned soff = family == AF_INET ? 14 + 12 : 14 + 8;
	unsigned l4 = 14 + (family == AF_INET ? 20 : 40);

	spec_init(&s, family, proto, src, dst, len);
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	assert_int_equal(t.len, len);
	fg_cidr_parse(src, &net, NULL);
	for (uint32_t stream = 0; stream < 3; stream++) {
		for (uint64_t n = 0; n < 2000; n++) {
			memcpy(f, t.frame, t.len);
			flood_tmpl_apply(&t, stream, n, f);
			assert_checksums_ok(f, len);
			assert_memory_equal(f, DST_MAC, 6);
			assert_memory_equal(f + 6, SRC_MAC, 6);
			memset(&a, 0, sizeof(a));
			a.family = family;
			a.prefixlen = alen * 8;
			memcpy(a.addr, f + soff, alen);
			assert_true(fg_cidr_contains(&net, &a));
			assert_memory_equal(f + soff + alen, s.dst.addr, alen);
			assert_true(be16(f + l4) >= FLOOD_SPORT_LO);
			assert_int_equal(be16(f + l4 + 2), 8080);
			if (proto == IPPROTO_TCP) {
				assert_int_equal(f[l4 + 13], 0x02); /* SYN only */
				assert_int_equal(f[l4 + 12] >> 4, 5);
			}
		}
	}
}

static void ipv4_syn(void **state)
{
	check_stream(AF_INET, IPPROTO_TCP, "198.18.0.0/15", "198.18.40.2", 60);
	check_stream(AF_INET, IPPROTO_TCP, "198.18.40.1", "198.18.40.2", 60);
	check_stream(AF_INET, IPPROTO_TCP, "198.18.40.0/24", "198.18.40.2", 1514);
}

static void ipv4_udp(void **state)
{
	check_stream(AF_INET, IPPROTO_UDP, "198.18.0.0/15", "198.18.40.2", 60);
	check_stream(AF_INET, IPPROTO_UDP, "198.18.0.0/15", "198.18.40.2", 61); /* odd payload */
	check_stream(AF_INET, IPPROTO_UDP, "0.0.0.0/0", "198.18.40.2", 1514);
}

static void ipv6_syn(void **state)
{
	check_stream(AF_INET6, IPPROTO_TCP, "2001:2::/48", "2001:2:0:40::2", 74);
	check_stream(AF_INET6, IPPROTO_TCP, "2001:2:0:40::1", "2001:2:0:40::2", 74);
	check_stream(AF_INET6, IPPROTO_TCP, "2001:2:0:40::/121", "2001:2:0:40::2", 200);
}

static void ipv6_udp(void **state)
{
	check_stream(AF_INET6, IPPROTO_UDP, "2001:2::/48", "2001:2:0:40::2", 62);
	check_stream(AF_INET6, IPPROTO_UDP, "2001:2::/48", "2001:2:0:40::2", 63);
	check_stream(AF_INET6, IPPROTO_UDP, "::/0", "2001:2:0:40::2", 1514);
}

/* Lengths: a SYN carries no data (the rest is Ethernet padding); UDP fills the frame. */
static void lengths(void **state)
{
	static struct flood_tmpl t;
	struct flood_spec s;

	spec_init(&s, AF_INET, IPPROTO_TCP, "198.18.0.1", "198.18.0.2", 100);
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	assert_int_equal(be16(t.frame + 14 + 2), 40);
	spec_init(&s, AF_INET, IPPROTO_UDP, "198.18.0.1", "198.18.0.2", 100);
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	assert_int_equal(be16(t.frame + 14 + 2), 86);
	assert_int_equal(be16(t.frame + 34 + 4), 66);
	spec_init(&s, AF_INET6, IPPROTO_TCP, "2001:2::1", "2001:2::2", 100);
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	assert_int_equal(be16(t.frame + 14 + 4), 20);
	spec_init(&s, AF_INET6, IPPROTO_UDP, "2001:2::1", "2001:2::2", 100);
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	assert_int_equal(be16(t.frame + 14 + 4), 46);
	assert_int_equal(be16(t.frame + 54 + 4), 46);

	/* Too short for the headers, too long, families that disagree. */
	spec_init(&s, AF_INET6, IPPROTO_TCP, "2001:2::1", "2001:2::2", 73);
	assert_int_equal(flood_tmpl_build(&s, &t), -EINVAL);
	spec_init(&s, AF_INET, IPPROTO_UDP, "198.18.0.1", "198.18.0.2", FLOOD_FRAME_MAX + 1);
	assert_int_equal(flood_tmpl_build(&s, &t), -EINVAL);
	spec_init(&s, AF_INET, IPPROTO_UDP, "2001:2::1", "198.18.0.2", 60);
	assert_int_equal(flood_tmpl_build(&s, &t), -EINVAL);
	assert_int_equal(flood_headers_len(AF_INET, IPPROTO_UDP), 42);
	assert_int_equal(flood_headers_len(AF_INET6, IPPROTO_TCP), 74);
}

/* Checksums computed by an independent tool (Python, RFC 1071) for chosen field values. */
static void golden(void **state)
{
	static struct flood_tmpl t;
	struct flood_spec s;
	struct flood_vary v = { 0 };
	uint8_t f[FLOOD_FRAME_MAX];
	uint32_t a4 = htonl(0xc6120001); /* 198.18.0.1 */
	uint32_t seq = htonl(0x01020304);

	/* IPv4 UDP 198.18.0.1:4321 -> 198.18.0.2:9, 18 zero bytes of payload. */
	spec_init(&s, AF_INET, IPPROTO_UDP, "198.18.0.1", "198.18.0.2", 60);
	s.dport = 9;
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	memcpy(v.src, &a4, 4);
	v.sport = htons(4321);
	memcpy(f, t.frame, t.len);
	flood_write(&t.cfg, &v, (__u16 *)(f + 14), (__u16 *)(f + 34));
	assert_int_equal(be16(f + 14 + 10), 0xae97);
	assert_int_equal(be16(f + 34 + 6), 0x62a8);

	/* IPv6 SYN [2001:2::1]:1024 seq 0x01020304 -> [2001:2::2]:80, window 64240. */
	spec_init(&s, AF_INET6, IPPROTO_TCP, "2001:2::1", "2001:2::2", 74);
	s.dport = 80;
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	memcpy(v.src, s.src.addr, 16);
	v.sport = htons(1024);
	memcpy(v.seq, &seq, 4);
	memcpy(f, t.frame, t.len);
	flood_write(&t.cfg, &v, (__u16 *)(f + 14), (__u16 *)(f + 54));
	assert_int_equal(be16(f + 54 + 16), 0x6c93);
	assert_int_equal(flood_csum_l4_full(f, t.len), *(uint16_t *)(f + 54 + 16));
}

/* Same (seed, stream, n): same packet. Other stream or seed: another sequence. */
static void reproducible(void **state)
{
	static struct flood_tmpl t, t2;
	struct flood_spec s;
	uint8_t a[FLOOD_FRAME_MAX], b[FLOOD_FRAME_MAX];
	unsigned same_stream = 0, same_seed = 0, distinct = 0;
	static uint32_t seen[4096];

	spec_init(&s, AF_INET, IPPROTO_UDP, "198.18.0.0/15", "198.18.0.2", 60);
	assert_int_equal(flood_tmpl_build(&s, &t), 0);
	s.seed = 8;
	assert_int_equal(flood_tmpl_build(&s, &t2), 0);
	for (uint64_t n = 0; n < 4096; n++) {
		memcpy(a, t.frame, t.len);
		memcpy(b, t.frame, t.len);
		flood_tmpl_apply(&t, 1, n, a);
		flood_tmpl_apply(&t, 1, n, b);
		assert_memory_equal(a, b, t.len);
		flood_tmpl_apply(&t, 2, n, b);
		same_stream += !memcmp(a + 26, b + 26, 4);
		memcpy(b, t2.frame, t2.len);
		flood_tmpl_apply(&t2, 1, n, b);
		same_seed += !memcmp(a + 26, b + 26, 4);
		memcpy(&seen[n], a + 26, 4);
	}
	/* 4096 draws from 2^17 sources: a few collisions at most, most values distinct. */
	assert_true(same_stream < 16);
	assert_true(same_seed < 16);
	for (unsigned i = 0; i < 4096; i++) {
		unsigned j;

		for (j = 0; j < i && seen[j] != seen[i]; j++)
			;
		distinct += j == i;
	}
	assert_true(distinct > 3900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_syn),	cmocka_unit_test(ipv4_udp),
		cmocka_unit_test(ipv6_syn),	cmocka_unit_test(ipv6_udp),
		cmocka_unit_test(lengths),	cmocka_unit_test(golden),
		cmocka_unit_test(reproducible),
	};
	return FG_RUN_TESTS(tests);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * netinfo.c - the interface a flood leaves by and the MAC of the host it goes to.
 *
 * The destination MAC comes from the kernel's own tables, as the stack would pick it: the
 * route to the destination names the next hop (a gateway, or the destination itself on a
 * connected network) and the neighbour table its link-layer address. When the neighbour
 * is unknown and the interface is a veth, the next hop can only be the peer, whose address
 * RTM_GETLINK reads across namespaces (IFLA_TARGET_NETNSID): no packet at all, which
 * matters when the receiver runs an XDP program that drops ARP. Otherwise the kernel is
 * asked to "use" the entry (RTM_NEWNEIGH with NTF_USE): an ARP request or neighbour
 * solicitation and nothing else, so no data packet reaches the receiver before the flood.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fgflood.h"
#include "log.h"

int flood_iface_get(const char *ifname, struct flood_iface *ifc)
{
	struct ethtool_drvinfo drv = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int fd, err = 0;

	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = (int)if_nametoindex(ifname);
	if (!ifc->ifindex)
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IF_NAMESIZE - 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	memcpy(ifc->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	ifc->mtu = (unsigned)ifr.ifr_mtu;
	ifr.ifr_data = (void *)&drv;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		ifc->is_veth = !strcmp(drv.driver, "veth");
out:
	close(fd);
	return err;
}

int flood_iface_addr(const char *ifname, int family, struct fg_cidr *out)
{
	struct ifaddrs *list, *a;
	int err = -EADDRNOTAVAIL;

	if (getifaddrs(&list) < 0)
		return -errno;
	for (a = list; a; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != family || strcmp(a->ifa_name, ifname))
			continue;
		if (family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr))
			continue;
		if (fg_cidr_from_sockaddr(a->ifa_addr, out) == 0) {
			err = 0;
			break;
		}
	}
	freeifaddrs(list);
	return err;
}

/* One netlink request; cb sees every reply message until NLMSG_DONE or a non-dump reply. */
typedef int (*nl_cb)(const struct nlmsghdr *h, void *arg);

static int nl_talk(struct nlmsghdr *req, nl_cb cb, void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[32768];
	int fd, err = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	req->nlmsg_seq = 1;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			err = -errno;
			break;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error;
				done = true;
				break;
			}
			if (cb && !err)
				err = cb(h, arg);
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				done = true;
		}
	}
out:
	close(fd);
	return err;
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, unsigned len)
{
	struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

struct route_ans {
	unsigned alen;
	uint8_t gw[16];
	bool have_gw;
};

static int route_cb(const struct nlmsghdr *h, void *arg)
{
	struct route_ans *a = arg;
	const struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);

	if (h->nlmsg_type != RTM_NEWROUTE)
		return 0;
	for (const struct rtattr *r = RTM_RTA(rt); RTA_OK(r, len); r = RTA_NEXT(r, len))
		if (r->rta_type == RTA_GATEWAY && RTA_PAYLOAD(r) == a->alen) {
			memcpy(a->gw, RTA_DATA(r), a->alen);
			a->have_gw = true;
		}
	return 0;
}

struct neigh_ans {
	int ifindex;
	unsigned alen;
	const uint8_t *addr;
	uint8_t mac[6];
	bool found;
};

static int neigh_cb(const struct nlmsghdr *h, void *arg)
{
	struct neigh_ans *a = arg;
	const struct ndmsg *nd = NLMSG_DATA(h);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	const uint8_t *dst = NULL, *ll = NULL;

	if (h->nlmsg_type != RTM_NEWNEIGH || nd->ndm_ifindex != a->ifindex)
		return 0;
	if (!(nd->ndm_state &
	      (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)))
		return 0;
	for (const struct rtattr *r =
		     (const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	     RTA_OK(r, len); r = RTA_NEXT(r, len)) {
		if (r->rta_type == NDA_DST && RTA_PAYLOAD(r) == a->alen)
			dst = RTA_DATA(r);
		else if (r->rta_type == NDA_LLADDR && RTA_PAYLOAD(r) == 6)
			ll = RTA_DATA(r);
	}
	if (dst && ll && !memcmp(dst, a->addr, a->alen)) {
		memcpy(a->mac, ll, 6);
		a->found = true;
	}
	return 0;
}

static int neigh_find(int ifindex, int family, const uint8_t *addr, unsigned alen, uint8_t mac[6])
{
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
	} req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
		       .nlmsg_type = RTM_GETNEIGH,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.nd = { .ndm_family = (uint8_t)family },
	};
	struct neigh_ans a = { .ifindex = ifindex, .alen = alen, .addr = addr };
	int err;

	err = nl_talk(&req.h, neigh_cb, &a);
	if (err)
		return err;
	if (!a.found)
		return -ENOENT;
	memcpy(mac, a.mac, 6);
	return 0;
}

/* A netlink request with room for its attributes. */
union nl_req {
	struct nlmsghdr h;
	char raw[256];
};

static int neigh_use(int ifindex, int family, const uint8_t *addr, unsigned alen)
{
	union nl_req req;
	struct ndmsg *nd;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	req.h.nlmsg_type = RTM_NEWNEIGH;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
	nd = NLMSG_DATA(&req.h);
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_NONE;
	nd->ndm_flags = NTF_USE;
	add_attr(&req.h, NDA_DST, addr, alen);
	return nl_talk(&req.h, NULL, NULL);
}

struct link_ans {
	int link, netnsid;
	bool have_link, have_netnsid, have_addr;
	uint8_t addr[6];
};

static int link_cb(const struct nlmsghdr *h, void *arg)
{
	struct link_ans *a = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)IFLA_PAYLOAD(h);

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	for (const struct rtattr *r = IFLA_RTA(ifi); RTA_OK(r, len); r = RTA_NEXT(r, len)) {
		if (r->rta_type == IFLA_LINK && RTA_PAYLOAD(r) == 4) {
			memcpy(&a->link, RTA_DATA(r), 4);
			a->have_link = true;
		} else if (r->rta_type == IFLA_LINK_NETNSID && RTA_PAYLOAD(r) == 4) {
			memcpy(&a->netnsid, RTA_DATA(r), 4);
			a->have_netnsid = true;
		} else if (r->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(r) == 6) {
			memcpy(a->addr, RTA_DATA(r), 6);
			a->have_addr = true;
		}
	}
	return 0;
}

static int get_link(int ifindex, const int *netnsid, struct link_ans *a)
{
	union nl_req req;
	struct ifinfomsg *ifi;

	memset(&req, 0, sizeof(req));
	memset(a, 0, sizeof(*a));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.h.nlmsg_type = RTM_GETLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	ifi = NLMSG_DATA(&req.h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (netnsid)
		add_attr(&req.h, IFLA_TARGET_NETNSID, netnsid, sizeof(*netnsid));
	return nl_talk(&req.h, link_cb, a);
}

/* The MAC of a veth's peer, wherever it lives. */
static int veth_peer_mac(int ifindex, uint8_t mac[6])
{
	struct link_ans me, peer;
	int err;

	err = get_link(ifindex, NULL, &me);
	if (err)
		return err;
	if (!me.have_link)
		return -ENOENT;
	err = get_link(me.link, me.have_netnsid ? &me.netnsid : NULL, &peer);
	if (err)
		return err;
	if (!peer.have_addr)
		return -ENOENT;
	memcpy(mac, peer.addr, 6);
	return 0;
}

int flood_resolve_mac(int ifindex, bool is_veth, const struct fg_cidr *dst, unsigned wait_ms,
		      uint8_t mac[6])
{
	unsigned alen = dst->family == AF_INET ? 4 : 16;
	union nl_req req;
	struct rtmsg *rt;
	struct route_ans ra = { .alen = alen };
	const uint8_t *hop = dst->addr;
	int err;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.h.nlmsg_type = RTM_GETROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	rt = NLMSG_DATA(&req.h);
	rt->rtm_family = (uint8_t)dst->family;
	rt->rtm_dst_len = (uint8_t)(alen * 8);
	add_attr(&req.h, RTA_DST, dst->addr, alen);
	add_attr(&req.h, RTA_OIF, &ifindex, sizeof(ifindex));
	err = nl_talk(&req.h, route_cb, &ra);
	if (err)
		return err;
	if (ra.have_gw)
		hop = ra.gw;

	if (neigh_find(ifindex, dst->family, hop, alen, mac) == 0)
		return 0;
	if (is_veth && veth_peer_mac(ifindex, mac) == 0)
		return 0;
	err = neigh_use(ifindex, dst->family, hop, alen);
	if (err)
		pr_debug("Couldn't ask for neighbour resolution: %s", strerror(-err));
	for (unsigned waited = 0; waited < wait_ms; waited += 10) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (neigh_find(ifindex, dst->family, hop, alen, mac) == 0)
			return 0;
	}
	return -EHOSTUNREACH;
}

# scripts/netns.sh - network-namespace helpers for tests, the demo and benchmarks (sourced).
#
# Addresses come only from the benchmarking ranges: 198.18.0.0/15 (RFC 2544) and
# 2001:2::/48 (RFC 5180). Every namespace and link made here is deleted by fg_ns_del.
#
# Pins: `ip netns exec` remounts /sys, so a bpffs mounted there is a fresh instance and
# pins made inside it vanish for the next command. fg_ns_run uses nsenter --net, which
# keeps the root mount namespace and its /sys/fs/bpf.

# fg_ns_run NS CMD...: run a command in a namespace's network stack only.
fg_ns_run() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# fg_ns_pair NS_A NS_B IF_A IF_B IDX [QUEUES]
# Two namespaces joined by a veth pair: NS_A/IF_A = 198.18.IDX.1 and 2001:2:0:IDX::1,
# NS_B/IF_B = 198.18.IDX.2 and 2001:2:0:IDX::2. QUEUES (default 2) rx/tx queues per end,
# so traffic sent from two CPUs lands on two receive queues. IDX is 0..255.
fg_ns_pair() {
	local a=$1 b=$2 ia=$3 ib=$4 idx=$5 q=${6:-2}
	ip netns add "$a" || return 1
	ip netns add "$b" || return 1
	ip link add "$ia" netns "$a" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "$ib" netns "$b" numtxqueues "$q" numrxqueues "$q" || return 1
	fg_ns_run "$a" ip link set lo up
	fg_ns_run "$b" ip link set lo up
	fg_ns_run "$a" ip addr add "198.18.$idx.1/24" dev "$ia"
	fg_ns_run "$b" ip addr add "198.18.$idx.2/24" dev "$ib"
	fg_ns_run "$a" ip -6 addr add "2001:2:0:$idx::1/64" dev "$ia" nodad
	fg_ns_run "$b" ip -6 addr add "2001:2:0:$idx::2/64" dev "$ib" nodad
	fg_ns_run "$a" ip link set "$ia" up
	fg_ns_run "$b" ip link set "$ib" up
	return 0
}

# fg_ns_del NS...: delete namespaces (their veth ends go with them).
fg_ns_del() {
	local ns
	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

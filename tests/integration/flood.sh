#!/usr/bin/env bash
# tests/integration/flood.sh - fgflood on a veth pair between two namespaces.
#
# Exact counts for IPv4 and IPv6, SYN and UDP, with both engines, checked against nft
# counters on the receiver; the fallback from live frames to AF_PACKET when the receiver
# takes no XDP frames; backpressure from a native XDP program on the receiver (threaded
# NAPI, so the receiver drains on another schedule than the sender fills: the ring fills
# up and refuses frames) with every counted packet received; --seconds and --pps bounds;
# --src CIDR sources seen by tcpdump; bad arguments. Addresses: 198.18.40.0/24 and
# 2001:2:0:40::/64 only, in namespaces made and deleted here.
. "$(dirname "$0")/../lib.sh"
need_root

FLOOD=$FG_BUILD/fgflood
FLOOR=$FG_BUILD/bpf/floor.bpf.o
A=fgt-flood-a B=fgt-flood-b IA=fgflood0 IB=fgflood1 IDX=40
DST4=198.18.$IDX.2 DST6=2001:2:0:$IDX::2
TMP=$(mktemp -d /tmp/fgt-flood.XXXXXX)
defer rm -rf "$TMP"

inb() { fg_ns_run "$B" "$@"; }
ina() { fg_ns_run "$A" "$@"; }

# flood ARGS...: run fgflood in A with a hard time bound; JSON result in $TMP/out, stderr
# in $TMP/err, exit status in $rc.
flood() {
	bounded 60 nsenter --net="/run/netns/$A" "$FLOOD" "$IA" --json "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
field() { jq -r ".$1" "$TMP/out" 2>/dev/null; }

# An nft counter per family, protocol and destination port on the receiver's ingress.
# The port is read at a fixed offset from the network header (no IP options here), not
# with "th dport"/"meta l4proto": on this kernel the netdev ingress hook leaves the L4
# protocol unset for an occasional IPv6 skb sent by AF_PACKET (about one per run; tcpdump
# and "ip6 nexthdr" see it, "meta l4proto" does not), which would count one packet short.
counter_add() { # counter_add 4|6 tcp|udp PORT
	local match
	case $1 in
	4) match="ip protocol $2 @nh,176,16 $3" ;;
	6) match="ip6 nexthdr $2 @nh,336,16 $3" ;;
	esac
	inb nft add counter netdev fgt "p$3" &&
		inb nft add rule netdev fgt in $match counter name "p$3"
}
counter() { inb nft list counter netdev fgt "p$1" | awk '/packets/ { print $2 }'; }
# The receiver drains its ring after the sender is done (NAPI, maybe in a thread): give
# its counter a moment to reach what the sender reported before reading it.
settled_counter() { # settled_counter PORT EXPECTED
	wait_for 3 test "$(counter "$1")" -ge "$2"
	counter "$1"
}
settled_xdp_rx() { # settled_xdp_rx EXPECTED
	wait_for 3 test "$(xdp_rx)" -ge "$1"
	xdp_rx
}

# Packets the receiver's XDP program saw, all queues.
xdp_rx() { inb ethtool -S "$IB" | awk '/rx_queue_[0-9]+_xdp_packets/ { s += $2 } END { print s + 0 }'; }

[ -x "$FLOOD" ] || { echo "1..0 # SKIP $FLOOD not built"; exit 0; }

fg_ns_del "$A" "$B"
defer fg_ns_del "$A" "$B"
ok "namespaces $A and $B on a veth pair" fg_ns_pair "$A" "$B" "$IA" "$IB" "$IDX" || finish
inb nft add table netdev fgt
inb nft add chain netdev fgt in "{ type filter hook ingress device $IB priority 0; }"
# Live frames need NAPI on the receiving veth: an XDP program or GRO.
inb ethtool -K "$IB" gro on >/dev/null

# ---- exact counts: both engines, both families, both protocols ----
port=9000
for engine in live packet; do
	for dst in "$DST4" "$DST6"; do
		for proto in syn udp; do
			port=$((port + 1))
			l4=tcp fam=4
			[ $proto = udp ] && l4=udp
			[ "$dst" = "$DST6" ] && fam=6
			counter_add $fam $l4 $port
			flood --dst "$dst" --$proto --dport $port --count 20000 --engine $engine \
				--src-random
			desc="$engine: $dst $proto --count 20000"
			is "$desc: exit 0" "$rc" 0
			is "$desc: reports 20000 sent" "$(field sent)" 20000
			is "$desc: the receiver counted 20000" "$(settled_counter $port 20000)" 20000
			[ $rc -eq 0 ] || diag "$(cat "$TMP/err")"
		done
	done
done

# Two pinned threads share the count exactly.
if [ "$(nproc)" -ge 2 ]; then
	port=$((port + 1))
	counter_add 4 udp $port
	flood --dst "$DST4" --udp --dport $port --count 30001 --threads 2 --src-random
	is "2 threads: 30001 sent" "$(field sent)" 30001
	is "2 threads: the receiver counted 30001" "$(settled_counter $port 30001)" 30001
else
	pass "2 threads: one CPU only, nothing to share"
	pass "2 threads: (skipped half)"
fi

# ---- a receiver that takes no XDP frames (no XDP program, GRO off) ----
inb ethtool -K "$IB" gro off >/dev/null
port=$((port + 1))
counter_add 4 udp $port
flood --dst "$DST4" --udp --dport $port --count 5000 --src-random
is "no NAPI on the peer: auto falls back to AF_PACKET" "$(field engine)" packet
is "no NAPI on the peer: 5000 sent" "$(field sent)" 5000
is "no NAPI on the peer: the receiver counted 5000" "$(settled_counter $port 5000)" 5000
flood --dst "$DST4" --udp --dport $port --count 5000 --engine live --src-random
is "no NAPI on the peer: --engine live fails with exit 1" "$rc" 1
like "no NAPI on the peer: --engine live says why" "$(cat "$TMP/err")" "takes no XDP frames"
is "no NAPI on the peer: --engine live sent nothing" "$(counter $port)" 5000
inb ethtool -K "$IB" gro on >/dev/null

# ---- bounds ----
t0=$(date +%s%N)
flood --dst "$DST4" --udp --dport 9200 --seconds 1 --pps 2000 --src-random
t1=$(date +%s%N)
is "--seconds 1 --pps 2000: exit 0" "$rc" 0
cmp_ok "--seconds 1: over within 5 s" $(((t1 - t0) / 1000000)) -lt 5000
cmp_ok "--pps 2000 for 1 s: at most 2000 sent" "$(field sent)" -le 2000
cmp_ok "--pps 2000 for 1 s: some sent" "$(field sent)" -gt 0
t0=$(date +%s%N)
flood --dst "$DST4" --dport 9201 --seconds 1 --count 1000000000000 --src-random
t1=$(date +%s%N)
is "--seconds 1 with a huge --count: exit 0" "$rc" 0
cmp_ok "--seconds 1 with a huge --count: over within 5 s" $(((t1 - t0) / 1000000)) -lt 5000
cmp_ok "--seconds 1 with a huge --count: stopped by time" "$(field sent)" -lt 1000000000000

# ---- --src CIDR: the sources tcpdump sees stay inside it ----
check_sources() { # check_sources DST SRC_CIDR PREFIX_REGEX PORT
	local dst=$1 cidr=$2 re=$3 port=$4 n bad distinct
	rm -f "$TMP/dump"
	inb timeout 20 tcpdump -i "$IB" -n -l -c 300 "udp and dst port $port" >"$TMP/dump" 2>"$TMP/tcpdump.err" &
	local tp=$!
	wait_for 10 grep -q "listening on" "$TMP/tcpdump.err"
	flood --dst "$dst" --udp --dport "$port" --src "$cidr" --count 3000
	wait $tp
	n=$(grep -c " > " "$TMP/dump")
	bad=$(awk '{ print $3 }' "$TMP/dump" | sed -E 's/\.[0-9]+$//' | grep -Evc "$re")
	distinct=$(awk '{ print $3 }' "$TMP/dump" | sed -E 's/\.[0-9]+$//' | sort -u | wc -l)
	is "--src $cidr: tcpdump saw 300 packets" "$n" 300
	is "--src $cidr: every source inside $cidr" "$bad" 0
	cmp_ok "--src $cidr: random sources ($distinct distinct)" "$distinct" -gt 50
}
check_sources "$DST4" 198.18.128.0/20 '^198\.18\.(12[89]|13[0-9]|14[0-3])\.[0-9]+$' 9300
check_sources "$DST6" 2001:2:0:41::/64 '^2001:2:0:41:' 9301

# ---- backpressure: a native XDP program on the receiver, NAPI in its own thread ----
# From here on the sender's kernel must stay quiet, since the floor program counts every
# frame: no IPv6 housekeeping, a permanent neighbour (no ARP probes), and every flood
# from random sources the receiver has no reason to answer.
ina sysctl -qw "net.ipv6.conf.$IA.disable_ipv6=1"
peer_mac=$(inb cat "/sys/class/net/$IB/address" 2>/dev/null ||
	inb ip -br link show "$IB" | awk '{ print $3 }')
ina ip neigh replace "$DST4" lladdr "$peer_mac" dev "$IA" nud permanent
quiet0=$(xdp_rx)
ok "xdp_floor_drop attached in native mode" \
	inb ip link set dev "$IB" xdpdrv obj "$FLOOR" program xdp_floor_drop
defer "nsenter --net=/run/netns/$B ip link set dev $IB xdp off"
ip netns exec "$B" sh -c "echo 1 > /sys/class/net/$IB/threaded" 2>/dev/null ||
	diag "threaded NAPI unavailable: backpressure depends on timing"
sleep 1
quiet1=$(xdp_rx)
[ "$quiet1" = "$quiet0" ] || diag "the receiver saw $((quiet1 - quiet0)) frames with no flood"
for engine in live packet; do
	refused=0
	# A full ring is near certain with threaded NAPI; try a few times to see one.
	for _ in 1 2 3; do
		before=$(xdp_rx)
		flood --dst "$DST4" --dport 9400 --count 1000000 --engine $engine --src-random
		after=$(settled_xdp_rx $((before + 1000000)))
		[ "$(field sent)" = 1000000 ] && [ $((after - before)) = 1000000 ] || break
		refused=$(field refused)
		[ "$refused" -gt 0 ] && break
	done
	desc="native XDP drop on the receiver, $engine"
	is "$desc: exit 0" "$rc" 0
	is "$desc: all 1000000 sent" "$(field sent)" 1000000
	is "$desc: the receiver's XDP program saw 1000000" "$((after - before))" 1000000
	diag "$engine: $(field refused) refused and sent again after $(field waits) waits, $(field pps) pps"
	[ $engine = live ] && cmp_ok "$desc: met backpressure and retried" "$refused" -gt 0
done
# --drop-refused: what the full ring refuses is lost, not sent again; the receiver sees
# exactly the frames counted as sent, and sent + dropped is the count
before=$(xdp_rx)
flood --dst "$DST4" --dport 9402 --count 1000000 --pps 4000000 --engine live --drop-refused --src-random
after=$(settled_xdp_rx $((before + $(field sent))))
is "--drop-refused: exit 0" "$rc" 0
is "--drop-refused: sent + dropped = 1000000" "$(($(field sent) + $(field dropped)))" 1000000
is "--drop-refused: the receiver saw exactly what was sent" "$((after - before))" "$(field sent)"
is "--drop-refused: nothing sent again" "$(field refused)" 0
diag "--drop-refused: $(field sent) sent, $(field dropped) lost at the full ring, $(field pps) pps"
if [ "$(nproc)" -ge 2 ]; then
	before=$(xdp_rx)
	flood --dst "$DST4" --dport 9401 --count 1000001 --threads 2 --src-random
	after=$(settled_xdp_rx $((before + 1000001)))
	is "native XDP drop, 2 threads: 1000001 sent" "$(field sent)" 1000001
	is "native XDP drop, 2 threads: the receiver saw 1000001" "$((after - before))" 1000001
fi

# ---- bad arguments: exit 2, one line ----
bad() { # bad DESC ARGS...
	local desc=$1 err
	shift
	err=$(bounded 10 nsenter --net="/run/netns/$A" "$FLOOD" "$@" 2>&1 >/dev/null)
	rc=$?
	is "bad arguments ($desc): exit 2" "$rc" 2
	is "bad arguments ($desc): one line" "$(printf '%s\n' "$err" | wc -l)" 1
}
bad "unbounded" "$IA" --dst "$DST4"
bad "no --dst" "$IA" --count 1
bad "bad address" "$IA" --dst 198.18.40.256 --count 1
bad "bad count" "$IA" --dst "$DST4" --count 1x
bad "families differ" "$IA" --dst "$DST4" --src 2001:2::/48 --count 1
bad "unknown interface" fgflood-nosuch --dst "$DST4" --count 1
bad "unknown option" "$IA" --dst "$DST4" --count 1 --turbo
bad "too many threads" "$IA" --dst "$DST4" --count 1 --threads 256
bad "frame too long" "$IA" --dst "$DST4" --count 1 --size 1515
finish

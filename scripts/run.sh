#!/usr/bin/env bash
# scripts/run.sh - `make run`: floodgate's two layers, one after the other.
#
#   1. The edge filter (about 15 s, then cleaned up): two namespaces on a veth pair
#      (198.18.250.0/24 and 2001:2:0:250::/64), the XDP program attached in native mode
#      on the server's end, then floods from fgflood - one source over its limit, spoofed
#      random sources over the new-source limit, a blocked network - while a legitimate
#      client keeps connecting, and `fgctl stats` after each.
#   2. The gateway demo (scripts/gw-demo.sh) on https://127.0.0.1:8443, in the foreground
#      until Ctrl-C.
#
# FG_DEMO_SECONDS=N stops the gateway demo after N seconds (for scripted runs);
# FG_DEMO_SKIP_EDGE=1 starts the gateway directly.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh

BUILD=${BUILD:-build}
FGCTL=$BUILD/fgctl
FGFLOOD=$BUILD/fgflood
NS_C=fgdemo-client NS_S=fgdemo-server IF_C=fgdemo-c IF_S=fgdemo-s IDX=250
CLIENT=198.18.$IDX.1 SERVER=198.18.$IDX.2
PIN=/sys/fs/bpf/fgdemo

die() {
	echo "run: $*" >&2
	exit 1
}

edge_cleanup() {
	fg_ns_run "$NS_S" "$FGCTL" --pin-dir "$PIN" detach "$IF_S" >/dev/null 2>&1
	# SERVE_PID is the background subshell; the service (timeout, which passes the signal
	# on to fg-upstream) is its child
	if [ -n "${SERVE_PID:-}" ]; then
		pkill -TERM -P "$SERVE_PID" 2>/dev/null
		kill "$SERVE_PID" 2>/dev/null
	fi
	fg_ns_del "$NS_C" "$NS_S"
	rm -rf "$PIN" 2>/dev/null
}

# fgctl in the server's namespace (nsenter keeps /sys/fs/bpf: the pins stay shared).
ctl() { fg_ns_run "$NS_S" "$FGCTL" --pin-dir "$PIN" "$@"; }
flood() { fg_ns_run "$NS_C" timeout 30 "$FGFLOOD" "$IF_C" --dst "$SERVER" --dport 443 "$@"; }

# How many of N HTTP requests from the client get an answer (new connection each, 2 s).
requests() {
	local ok=0 i
	for i in $(seq "$1"); do
		fg_ns_run "$NS_C" curl -sf -m 2 -o /dev/null "http://$SERVER:443/" && ok=$((ok + 1))
	done
	echo "$ok"
}

edge_demo() {
	for bin in "$FGCTL" "$FGFLOOD" "$BUILD/fg-upstream"; do
		[ -x "$bin" ] || die "$bin is missing: run make first"
	done
	[ "$(id -u)" = 0 ] || die "the edge demo needs root (XDP, namespaces)"
	echo "== floodgate edge filter: XDP on a veth pair =="
	edge_cleanup
	trap 'edge_cleanup; exit 130' INT TERM
	fg_ns_pair "$NS_C" "$NS_S" "$IF_C" "$IF_S" "$IDX" || die "Couldn't create the namespaces"
	# The service behind the protected port: the mock upstream, bounded to 90 s.
	fg_ns_run "$NS_S" timeout 90 "$BUILD/fg-upstream" -l "$SERVER:443" >/dev/null 2>&1 &
	SERVE_PID=$!

	echo "+ fgctl attach $IF_S --mode native"
	ctl attach "$IF_S" --mode native || die "Couldn't attach the edge filter"
	ctl ports 443 >/dev/null
	ctl limit --rate 1000 --burst 200 --all-packets >/dev/null
	ctl new-sources --rate 500 --burst 500 >/dev/null
	ctl status | sed 's/^/  /'

	echo
	echo "+ fgflood: one source ($CLIENT) at 200k packets/s for 3 s, limit 1000/s burst 200"
	flood --syn --pps 200000 --seconds 3 | sed 's/^/  /'
	echo "+ fgflood: spoofed random sources (198.18.0.0/15) for 3 s, new sources limited to 500/s"
	flood --syn --src-random --pps 200000 --seconds 3 | sed 's/^/  /'
	echo "+ fgctl block 198.18.$IDX.0/24 --ttl 60, then a UDP flood from the client"
	ctl block "198.18.$IDX.0/24" --ttl 60 >/dev/null
	flood --udp --pps 100000 --count 100000 | sed 's/^/  /'
	ctl unblock "198.18.$IDX.0/24" >/dev/null
	echo "+ a legitimate client after the floods: $(requests 5) of 5 HTTP requests answered"
	echo
	echo "+ fgctl stats"
	ctl stats | sed 's/^/  /'
	echo "+ fgctl detach $IF_S (the maps are unpinned with it)"
	edge_cleanup
	trap - INT TERM
	echo
}

[ "${FG_DEMO_SKIP_EDGE:-0}" = 1 ] || edge_demo

if [ ! -x "$BUILD/floodgate" ]; then
	echo "run: $BUILD/floodgate is not built: the gateway demo is skipped" >&2
	exit 0
fi
echo "== floodgate gateway =="
if [ -n "${FG_DEMO_SECONDS:-}" ]; then
	BUILD=$BUILD scripts/gw-demo.sh &
	demo=$!
	sleep "$FG_DEMO_SECONDS"
	kill -TERM "$demo" 2>/dev/null
	wait "$demo"
	exit 0
fi
exec env BUILD="$BUILD" scripts/gw-demo.sh

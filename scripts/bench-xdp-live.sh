#!/usr/bin/env bash
# scripts/bench-xdp-live.sh - bench-xdp parts 2 and 3 (../shared/BENCH.md): the edge filter
# live on a veth pair, next to the kernel's own filters, and goodput under flood.
#
# 2. Live on veth. fgflood (build/fgflood) sends the same spoofed flood - random sources in
#    198.18.0.0/15, TCP SYN ("syn") and UDP ("udp") to port 80 - for FG_BENCH_SECONDS into a
#    receiving namespace set up as one of the configurations below. With random sources each
#    source sends about one packet, so a per-source limit passes nearly all of it and the
#    figure is mostly the filter's cost on the way to the stack; "syn-one" (one spoofed
#    source, far over the limit) measures the drop path instead. Configurations:
#      floor      xdp_floor_drop (build/bpf/floor.bpf.o), native: the cheapest possible drop
#      none       no filter: the flood goes up the stack
#      nft        netdev ingress, a per-source limit meter (dynamic set + limit)
#      iptables   -t raw PREROUTING, hashlimit per source
#      floodgate  fgctl attach --mode native + limit (not measured until build/fgctl exists)
#      floodgate-spoof  the same, plus floodgate's new-source limit (FG_BENCH_NEW_SOURCES
#                 per second, default 1000): its defence against spoofed random sources,
#                 which the kernel filters have no equivalent of
#    with the same per-source limit (100 packets/s, burst 100, all packets; floodgate's
#    new-source limit off but in floodgate-spoof) everywhere. Cost = machine
#    CPU-ns per packet: busy time of all CPUs (/proc/stat) / packets counted at the sender's
#    interface. Configurations are interleaved, the order rotating each round, and each is
#    reported as its cost above the floor of the same round, median of FG_BENCH_ROUNDS.
# 3. Goodput under flood. wrk (sender namespace, its own CPU) against a server in the
#    receiving namespace: without flood, with a SYN flood on the server's port and no
#    filter, with the same flood and floodgate's XDP program (per-source --syn-only limit and
#    a new-source limit, FG_BENCH_GOODPUT_NEW_SOURCES per second: what stops a random-source
#    flood; the clients connect before the flood starts, so they are tracked sources). The
#    server is nginx for now (server_start below is where the daemon will plug in). Also
#    clean-floodgate: the program attached and no flood, the price legitimate traffic pays
#    for a native XDP program (on a veth every skb is converted to an XDP buffer and back).
#
# Writes build/bench/xdp-live.json, prints tables, and replaces the xdp-live section of
# docs/benchmarks.md (scripts/bench-doc.sh; FG_BENCH_DOC=0 skips it). Never fails on a
# number: only when it cannot measure at all (not root, fgflood not built).
#
# Knobs: FG_BENCH_ROUNDS (5), FG_BENCH_SECONDS (2), FG_BENCH_FLOODS ("syn udp syn-one", also
# "udp-one"), FG_BENCH_CONFIGS ("floor none nft iptables floodgate"), FG_BENCH_ENGINE
# (auto|live|packet), FG_BENCH_GOODPUT (1; 0 skips part 3), FG_BENCH_GOODPUT_ROUNDS (3),
# FG_BENCH_GOODPUT_SECONDS (3), FG_BENCH_IPTABLES (iptables; iptables-legacy for x_tables).
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh

BUILD=${BUILD:-build}
OUT=$BUILD/bench
FLOOD=$PWD/$BUILD/fgflood
FGCTL=$PWD/$BUILD/fgctl
FLOOR=$PWD/$BUILD/bpf/floor.bpf.o
ROUNDS=${FG_BENCH_ROUNDS:-5}
SECS=${FG_BENCH_SECONDS:-2}
FLOODS=${FG_BENCH_FLOODS:-syn udp syn-one}
CONFIGS=${FG_BENCH_CONFIGS:-floor none nft iptables floodgate floodgate-spoof}
ENGINE=${FG_BENCH_ENGINE:-auto}
GOODPUT=${FG_BENCH_GOODPUT:-1}
G_ROUNDS=${FG_BENCH_GOODPUT_ROUNDS:-3}
G_SECS=${FG_BENCH_GOODPUT_SECONDS:-3}
G_NEWSRC=${FG_BENCH_GOODPUT_NEW_SOURCES:-1000} # floodgate's new-source limit in part 3
SPOOF_NEWSRC=${FG_BENCH_NEW_SOURCES:-1000}     # ... and in the floodgate-spoof configuration
IPT=${FG_BENCH_IPTABLES:-iptables}
IPT6=${IPT/iptables/ip6tables}

S=fgb-flood-snd R=fgb-flood-rcv IS=fgbsnd0 IR=fgbrcv0 IDX=250
DST=198.18.$IDX.2
DPORT=80 GPORT=8080
RATE=100 BURST=100 # the per-source limit of every filter
ONE_SRC=198.19.0.1 # the single spoofed source of the *-one floods
PIN=/sys/fs/bpf/fgb-flood-live
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
allowed_cpus() {
	local part
	for part in $(awk '/^Cpus_allowed_list/ { gsub(",", " ", $2); print $2 }' /proc/self/status); do
		case $part in
		*-*) seq "${part%-*}" "${part#*-}" ;;
		*) echo "$part" ;;
		esac
	done
}
# The flood's CPU (with live frames the receiver's softirq work runs there too), and another
# one for the web server and wrk in part 3.
CPU_FLOOD=$(allowed_cpus | head -1)
CPU_WEB=$(allowed_cpus | sed -n 2p)
CPU_WEB=${CPU_WEB:-$CPU_FLOOD}

die() { echo "bench-xdp-live: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, XDP)"
[ -x "$FLOOD" ] || die "$FLOOD not built (make $BUILD/fgflood)"
[ -f "$FLOOR" ] || die "$FLOOR not built"
command -v jq >/dev/null || die "needs jq"
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/fgb-flood-live.XXXXXX)
SERVER_PID=

cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -x "$FGCTL" ] && fg_ns_run "$R" "$FGCTL" --pin-dir "$PIN" detach "$IR" >/dev/null 2>&1
	fg_ns_del "$S" "$R"
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ins() { fg_ns_run "$S" "$@"; }
inr() { fg_ns_run "$R" "$@"; }

# ---- receiver configurations: cfg_on NAME / cfg_off NAME; 0 when in place ----
FLOODGATE_WHY=
if [ ! -x "$FGCTL" ]; then
	FLOODGATE_WHY="$BUILD/fgctl not built yet"
fi

cfg_on() {
	case $1 in
	none) return 0 ;;
	floor) inr ip link set dev "$IR" xdpdrv obj "$FLOOR" program xdp_floor_drop ;;
	nft)
		inr nft -f - <<-EOF
			table netdev fgb {
				set src4 { type ipv4_addr; size 1048576; flags dynamic,timeout; timeout 60s; }
				set src6 { type ipv6_addr; size 1048576; flags dynamic,timeout; timeout 60s; }
				chain in {
					type filter hook ingress device $IR priority -500;
					ip protocol { tcp, udp } th dport $DPORT update @src4 { ip saddr limit rate over $RATE/second burst $BURST packets } drop
					ip6 nexthdr { tcp, udp } th dport $DPORT update @src6 { ip6 saddr limit rate over $RATE/second burst $BURST packets } drop
				}
			}
		EOF
		;;
	iptables)
		local p t
		for p in tcp udp; do
			for t in "$IPT" "$IPT6"; do
				inr "$t" -t raw -A PREROUTING -p $p --dport $DPORT -m hashlimit \
					--hashlimit-above $RATE/sec --hashlimit-burst $BURST \
					--hashlimit-mode srcip --hashlimit-name "fgb-${t##*-}-$p" \
					--hashlimit-htable-size 65536 --hashlimit-htable-max 1048576 \
					--hashlimit-htable-expire 60000 -j DROP || return 1
			done
		done
		;;
	floodgate) # floodgate [PORT [--all-packets|--syn-only [NEW_SOURCES_PPS]]]
		[ -z "$FLOODGATE_WHY" ] || return 1
		local newsrc=(new-sources off)
		[ -n "${4:-}" ] && newsrc=(new-sources --rate "$4" --burst "$4")
		inr "$FGCTL" --pin-dir "$PIN" attach "$IR" --mode native ${FG_BENCH_MAX_SOURCES:+--max-sources "$FG_BENCH_MAX_SOURCES"} >"$TMP/fgctl.err" 2>&1 &&
			inr "$FGCTL" --pin-dir "$PIN" ports "${2:-$DPORT}" >>"$TMP/fgctl.err" 2>&1 &&
			inr "$FGCTL" --pin-dir "$PIN" limit --rate $RATE --burst $BURST \
				"${3:---all-packets}" >>"$TMP/fgctl.err" 2>&1 &&
			inr "$FGCTL" --pin-dir "$PIN" "${newsrc[@]}" >>"$TMP/fgctl.err" 2>&1 || {
			FLOODGATE_WHY="fgctl failed: $(head -1 "$TMP/fgctl.err")"
			inr "$FGCTL" --pin-dir "$PIN" detach "$IR" >/dev/null 2>&1
			return 1
		}
		;;
	floodgate-spoof) cfg_on floodgate "$DPORT" --all-packets "$SPOOF_NEWSRC" ;;
	*) return 1 ;;
	esac
}

cfg_off() {
	case $1 in
	floor) inr ip link set dev "$IR" xdp off ;;
	nft) inr nft delete table netdev fgb ;;
	iptables) inr "$IPT" -t raw -F PREROUTING; inr "$IPT6" -t raw -F PREROUTING ;;
	floodgate | floodgate-spoof) inr "$FGCTL" --pin-dir "$PIN" detach "$IR" >/dev/null 2>&1; rm -rf "$PIN" ;;
	esac
	return 0
}

# Busy jiffies of all CPUs ("cpu") or of one ("cpu0"): everything but idle and iowait.
cpu_busy() { awk -v c="${1:-cpu}" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
tx_packets() { ins ip -s -j link show "$IS" | jq '.[0].stats64.tx.packets'; }

# ---- setup ----
fg_ns_del "$S" "$R"
fg_ns_pair "$S" "$R" "$IS" "$IR" "$IDX" || die "couldn't create namespaces $S and $R"
# Live frames need NAPI on the receiving veth (an XDP program or GRO); keep it on for every
# configuration so they differ only by their filter.
inr ethtool -K "$IR" gro on >/dev/null
rm -rf "$PIN"

echo "bench-xdp-live: $ROUNDS rounds of ${SECS} s per flood and configuration, engine $ENGINE," \
	"$NCPU CPUs, $($IPT -V 2>/dev/null | head -1), $(nft -v 2>/dev/null)"

# ---- 2. live on veth ----
ROWS=$TMP/rows.jsonl
: >"$ROWS"
set -- $CONFIGS
NCONF=$#
for round in $(seq 1 "$ROUNDS"); do
	for flood in $FLOODS; do
		# Rotate the order each round so drift over time lands on every configuration.
		order=()
		for ((i = 0; i < NCONF; i++)); do
			j=$(((i + round - 1) % NCONF + 1))
			order+=("${!j}")
		done
		for cfg in "${order[@]}"; do
			if ! cfg_on "$cfg" 2>"$TMP/cfg.err"; then
				case $cfg in floodgate*) ;; *) echo "  $cfg: couldn't set up: $(head -1 "$TMP/cfg.err")" >&2 ;; esac
				cfg_off "$cfg"
				continue
			fi
			sleep 0.2
			tx0=$(tx_packets) b0=$(cpu_busy) c0=$(cpu_busy "cpu$CPU_FLOOD")
			src=--src-random
			case $flood in *-one) src="--src=$ONE_SRC" ;; esac
			ins taskset -c $CPU_FLOOD "$FLOOD" "$IS" --dst "$DST" --"${flood%-one}" \
				--dport $DPORT "$src" \
				--seconds "$SECS" --engine "$ENGINE" --json >"$TMP/flood.json" 2>"$TMP/flood.err"
			rc=$?
			b1=$(cpu_busy) c1=$(cpu_busy "cpu$CPU_FLOOD") tx1=$(tx_packets)
			# What floodgate did with the flood (passed, dropped, per reason).
			echo '{}' >"$TMP/extra.json"
			case $cfg in floodgate*) true ;; *) false ;; esac &&
				inr "$FGCTL" --pin-dir "$PIN" stats --json 2>/dev/null |
				jq -c '{floodgate_stats: (.counters | map_values(.packets))}' \
					>"$TMP/extra.json" 2>/dev/null
			cfg_off "$cfg"
			if [ $rc -ne 0 ]; then
				echo "  $flood/$cfg round $round: fgflood failed: $(tail -1 "$TMP/flood.err")" >&2
				continue
			fi
			jq -c --arg flood "$flood" --arg cfg "$cfg" --argjson round "$round" \
				--argjson busy $((b1 - b0)) --argjson cbusy $((c1 - c0)) \
				--argjson tx $((tx1 - tx0)) --argjson hz "$HZ" '
				{flood: $flood, config: $cfg, round: $round, packets: $tx,
				 sent: .sent, engine: .engine, pps: .pps, seconds: .seconds,
				 busy_cpu_seconds: ($busy / $hz),
				 ns_per_packet: (if $tx > 0 then $busy / $hz * 1e9 / $tx else null end),
				 flood_cpu_busy_seconds: ($cbusy / $hz),
				 ns_per_packet_flood_cpu: (if $tx > 0 then $cbusy / $hz * 1e9 / $tx else null end),
				 sender_cpu_seconds: .process_cpu_seconds}
				+ ($extra[0] // {})' --slurpfile extra "$TMP/extra.json" "$TMP/flood.json" >>"$ROWS"
			printf '  round %d %-4s %-10s %9.0f ns/packet %7.3f Mpps\n' "$round" "$flood" "$cfg" \
				"$(tail -1 "$ROWS" | jq '.ns_per_packet // 0')" \
				"$(tail -1 "$ROWS" | jq '.pps / 1e6')"
		done
	done
done

# ---- 3. goodput under flood ----
GROWS=$TMP/goodput.jsonl
: >"$GROWS"
SERVER=${FG_BENCH_SERVER:-nginx}

server_start() {
	case $SERVER in
	nginx)
		mkdir -p "$TMP/nginx/logs"
		cat >"$TMP/nginx/nginx.conf" <<-EOF
			worker_processes 1;
			pid $TMP/nginx/nginx.pid;
			error_log $TMP/nginx/error.log;
			events { worker_connections 4096; }
			http {
				access_log off;
				client_body_temp_path $TMP/nginx;
				proxy_temp_path $TMP/nginx;
				fastcgi_temp_path $TMP/nginx;
				uwsgi_temp_path $TMP/nginx;
				scgi_temp_path $TMP/nginx;
				server {
					listen $DST:$GPORT backlog=4096;
					location / { return 200 "ok\n"; }
				}
			}
		EOF
		# nsenter and taskset exec: $! is nginx's master, and its output stays off our pipe.
		nsenter --net="/run/netns/$R" taskset -c $CPU_WEB nginx -p "$TMP/nginx" \
			-c "$TMP/nginx/nginx.conf" -g 'daemon off;' >/dev/null 2>"$TMP/nginx/start.err" &
		SERVER_PID=$!
		;;
	*) return 1 ;;
	esac
	local i
	for i in $(seq 50); do
		ins curl -s -m 1 -o /dev/null "http://$DST:$GPORT/" && return 0
		sleep 0.1
	done
	return 1
}

server_stop() {
	[ -n "$SERVER_PID" ] || return 0
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# goodput CASE: wrk for G_SECS; for the flood cases the flood starts just after wrk has
# connected (clients that were there before the flood) and lasts as long.
goodput() {
	local case=$1 fpid='' rps
	case $case in
	*-floodgate) cfg_on floodgate "$GPORT" --syn-only "$G_NEWSRC" || return 1 ;;
	esac
	ins taskset -c $CPU_WEB wrk -t1 -c16 -d"${G_SECS}s" "http://$DST:$GPORT/" >"$TMP/wrk.out" 2>&1 &
	local wpid=$!
	if [ "${case#clean}" = "$case" ]; then
		sleep 0.3
		ins taskset -c $CPU_FLOOD "$FLOOD" "$IS" --dst "$DST" --syn --dport $GPORT --src-random \
			--seconds "$G_SECS" --engine "$ENGINE" --json >"$TMP/gflood.json" 2>/dev/null &
		fpid=$!
	fi
	wait $wpid
	[ -n "$fpid" ] && wait "$fpid"
	echo '{}' >"$TMP/extra.json"
	case $case in
	*-floodgate)
		inr "$FGCTL" --pin-dir "$PIN" stats --json 2>/dev/null |
			jq -c '{floodgate_stats: (.counters | map_values(.packets))}' >"$TMP/extra.json" 2>/dev/null
		cfg_off floodgate
		;;
	esac
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
	jq -nc --arg case "$case" --argjson rps "${rps:-0}" \
		--argjson flood_pps "$( [ -n "$fpid" ] && jq '.pps' "$TMP/gflood.json" 2>/dev/null || echo null)" \
		--arg errors "$(sed -n 's/^ *Socket errors: *//p' "$TMP/wrk.out")" \
		--slurpfile extra "$TMP/extra.json" \
		'{case: $case, requests_per_s: $rps, flood_pps: $flood_pps,
		  wrk_socket_errors: (if $errors == "" then null else $errors end)} + ($extra[0] // {})' >>"$GROWS"
	printf '  goodput %-16s %9.0f req/s\n' "$case" "${rps:-0}"
}

GOODPUT_WHY=
if [ "$GOODPUT" = 1 ]; then
	if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
		GOODPUT_WHY="wrk or nginx not installed"
	elif ! server_start; then
		GOODPUT_WHY="the $SERVER server did not start: $(head -1 "$TMP/nginx/start.err" 2>/dev/null)"
		server_stop
	else
		for round in $(seq 1 "$G_ROUNDS"); do
			for c in clean clean-floodgate flood-nofilter flood-floodgate; do
				goodput $c || true
			done
		done
		server_stop
	fi
else
	GOODPUT_WHY="skipped (FG_BENCH_GOODPUT=0)"
fi

# ---- results ----
jq -s --slurpfile g <(cat "$GROWS") \
	--arg engine "$ENGINE" --argjson rounds "$ROUNDS" --argjson seconds "$SECS" \
	--argjson cpus "$NCPU" --arg kernel "$(uname -r)" --arg date "$(date -u +%FT%TZ)" \
	--arg iptables "$($IPT -V 2>/dev/null | head -1)" --arg nft "$(nft -v 2>/dev/null)" \
	--arg floodgate_why "$FLOODGATE_WHY" --arg goodput_why "$GOODPUT_WHY" \
	--arg server "$SERVER" --argjson rate $RATE --argjson burst $BURST --argjson fcpu "$CPU_FLOOD" \
	--argjson order "$(printf '%s\n' $CONFIGS | jq -R . | jq -s .)" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def r1: if . == null then null else (. * 10 | round) / 10 end;
	. as $rows
	| {date: $date, kernel: $kernel, cpus: $cpus, engine: $engine, rounds: $rounds,
	   seconds_per_run: $seconds, per_source_limit: {rate: $rate, burst: $burst},
	   iptables: $iptables, nft: $nft,
	   flood_cpu: $fcpu,
	   method: "machine CPU-ns per packet: busy jiffies of all CPUs (/proc/stat) / packets counted at the sender interface; above_floor_ns: median over rounds of (config - floor of the same round); *_flood_cpu: the same with the busy time of the flood CPU only (where the sender and, with live frames, the receiver work; less noise from other load on a shared machine)",
	   floods: [$rows | group_by(.flood)[] | . as $f
		| {flood: $f[0].flood,
		   configs: [$f | group_by(.config)[] | . as $c
			| {config: $c[0].config,
			   ns_per_packet: ([$c[].ns_per_packet | select(. != null)] | median | r1),
			   above_floor_ns: ([$c[] | . as $x
				| ($f[] | select(.config == "floor" and .round == $x.round) | .ns_per_packet) as $fl
				| $x.ns_per_packet - $fl] | median | r1),
			   ns_per_packet_flood_cpu: ([$c[].ns_per_packet_flood_cpu | select(. != null)] | median | r1),
			   above_floor_ns_flood_cpu: ([$c[] | . as $x
				| ($f[] | select(.config == "floor" and .round == $x.round) | .ns_per_packet_flood_cpu) as $fl
				| $x.ns_per_packet_flood_cpu - $fl] | median | r1),
			   mpps: ([$c[].pps] | median | . / 1e6 * 1000 | round / 1000),
			   engine: $c[0].engine,
			   runs: [$c[] | {round, packets, sent, pps, busy_cpu_seconds, ns_per_packet,
				flood_cpu_busy_seconds, ns_per_packet_flood_cpu, sender_cpu_seconds} + (if .floodgate_stats then {floodgate_stats} else {} end)]}]
			| sort_by(.config as $n | $order | index($n))}
		| .configs as $cs
		| def above($n; $k): [$cs[] | select(.config == $n) | .[$k]][0];
		  def ratio($a; $b): if $a != null and $b != null and $b != 0
			then ($a / $b * 1000 | round / 1000) else null end;
		  .ratios = {floodgate_over_iptables: ratio(above("floodgate"; "above_floor_ns"); above("iptables"; "above_floor_ns")),
			     floodgate_over_nft: ratio(above("floodgate"; "above_floor_ns"); above("nft"; "above_floor_ns")),
			     floodgate_over_iptables_flood_cpu: ratio(above("floodgate"; "above_floor_ns_flood_cpu"); above("iptables"; "above_floor_ns_flood_cpu")),
			     floodgate_over_nft_flood_cpu: ratio(above("floodgate"; "above_floor_ns_flood_cpu"); above("nft"; "above_floor_ns_flood_cpu")),
			     spoof_over_iptables: ratio(above("floodgate-spoof"; "above_floor_ns"); above("iptables"; "above_floor_ns")),
			     spoof_over_nft: ratio(above("floodgate-spoof"; "above_floor_ns"); above("nft"; "above_floor_ns"))}],
	   floodgate: (if $floodgate_why == "" then {measured: true}
		else {measured: false, why: $floodgate_why} end),
	   goodput: (if $goodput_why != "" then {measured: false, why: $goodput_why}
		else {measured: true, server: $server,
		      cases: [$g | group_by(.case)[] | {case: .[0].case,
			requests_per_s: ([.[].requests_per_s] | median | round),
			flood_pps: ([.[].flood_pps | select(. != null)] | median),
			runs: [.[] | {requests_per_s, flood_pps, wrk_socket_errors}
				+ (if .floodgate_stats then {floodgate_stats} else {} end)]}]}
		| .ratios = (if .measured then (.cases | map({key: .case, value: .requests_per_s}) | from_entries) as $m
			| def over($a): if $m.clean and $m[$a] then ($m[$a] / $m.clean * 1000 | round / 1000) else null end;
			  {flood_nofilter_over_clean: over("flood-nofilter"),
			   flood_floodgate_over_clean: over("flood-floodgate"),
			   clean_floodgate_over_clean: over("clean-floodgate")}
			else null end)
		end)}' "$ROWS" >"$OUT/xdp-live.json" || die "couldn't summarise the results"

# ---- table ----
{
	echo
	echo "Live on veth: machine CPU-ns per packet (median of $ROUNDS rounds of ${SECS} s), engine $ENGINE"
	printf '%-8s %-10s %11s %12s | %11s %12s | %7s\n' "" "" "all CPUs" "" "flood CPU" "" ""
	printf '%-8s %-10s %11s %12s | %11s %12s | %7s\n' flood config ns/packet "above floor" \
		ns/packet "above floor" Mpps
	jq -r '.floods[] | .flood as $f | .configs[]
		| [$f, .config, (.ns_per_packet // "-"), (.above_floor_ns // "-"),
		   (.ns_per_packet_flood_cpu // "-"), (.above_floor_ns_flood_cpu // "-"), .mpps] | @tsv' \
		"$OUT/xdp-live.json" | while IFS=$'\t' read -r f c ns af nc ac m; do
		printf '%-8s %-10s %11s %12s | %11s %12s | %7s\n' "$f" "$c" "$ns" "$af" "$nc" "$ac" "$m"
	done
	jq -r '.floods[] | .ratios as $r | "\(.flood): floodgate/iptables above floor = \($r.floodgate_over_iptables // "n/a") (flood CPU: \($r.floodgate_over_iptables_flood_cpu // "n/a")), floodgate/nft = \($r.floodgate_over_nft // "n/a") (flood CPU: \($r.floodgate_over_nft_flood_cpu // "n/a")); with the new-source limit: /iptables \($r.spoof_over_iptables // "n/a"), /nft \($r.spoof_over_nft // "n/a")"' "$OUT/xdp-live.json"
	jq -r 'if .floodgate.measured then empty else "floodgate: not measured (\(.floodgate.why))" end' "$OUT/xdp-live.json"
	echo
	jq -r 'if .goodput.measured then
		"Goodput under flood (\(.goodput.server), wrk -c16, median req/s):",
		(.goodput.cases[] | "  \(.case): \(.requests_per_s) req/s" + (if .flood_pps then " (flood \(.flood_pps / 1e6 * 1000 | round / 1000) Mpps)" else "" end)),
		"  over clean: flood without filter \(.goodput.ratios.flood_nofilter_over_clean // "n/a"), flood with floodgate \(.goodput.ratios.flood_floodgate_over_clean // "n/a"), floodgate without flood \(.goodput.ratios.clean_floodgate_over_clean // "n/a")"
		else "Goodput under flood: not measured (\(.goodput.why))" end' "$OUT/xdp-live.json"
} | tee "$TMP/table.txt"

if [ "${FG_BENCH_DOC:-1}" = 1 ] && [ -x scripts/bench-doc.sh ]; then
	{
		echo "## XDP edge filter: live on veth, goodput under flood"
		echo
		echo "$(date -u +%F), $NCPU CPUs, Linux $(uname -r), \`make bench-xdp\` (scripts/bench-xdp-live.sh):"
		echo "fgflood engine $(jq -r '[.floods[].configs[].engine] | unique | join(",")' "$OUT/xdp-live.json"), random sources in 198.18.0.0/15 to port $DPORT"
		echo "(*-one: one spoofed source, $ONE_SRC, far over the limit: the drop path),"
		echo "per-source limit $RATE/s burst $BURST in every filter. Machine CPU-ns per packet (all CPUs, /proc/stat,"
		echo "÷ packets at the sender's interface), median of $ROUNDS interleaved rounds; *above floor* subtracts the"
		echo "\`xdp_floor_drop\` run of the same round."
		echo
		echo '| flood | configuration | ns/packet | above floor | ns/packet, flood CPU | above floor, flood CPU | Mpps |'
		echo '| --- | --- | --- | --- | --- | --- | --- |'
		jq -r '.floods[] | .flood as $f | .configs[]
			| "| \($f) | \(.config) | \(.ns_per_packet // "-") | \(.above_floor_ns // "-") | \(.ns_per_packet_flood_cpu // "-") | \(.above_floor_ns_flood_cpu // "-") | \(.mpps) |"' "$OUT/xdp-live.json"
		echo
		jq -r --arg ns "$SPOOF_NEWSRC" '.floods[] | .ratios as $r | "- \(.flood): floodgate/iptables above floor = \($r.floodgate_over_iptables // "n/a") (flood CPU: \($r.floodgate_over_iptables_flood_cpu // "n/a"); target <= 0.2), floodgate/nft = \($r.floodgate_over_nft // "n/a") (flood CPU: \($r.floodgate_over_nft_flood_cpu // "n/a"); target <= 0.333); floodgate-spoof (+ new-source limit \($ns)/s)/iptables = \($r.spoof_over_iptables // "n/a"), /nft = \($r.spoof_over_nft // "n/a")"' "$OUT/xdp-live.json"
		jq -r 'if .floodgate.measured then empty else "- floodgate: not measured (\(.floodgate.why))" end' "$OUT/xdp-live.json"
		echo
		jq -r 'if .goodput.measured then
			"Goodput under flood (\(.goodput.server) in the receiving namespace, wrk -c16 from the sender namespace, median req/s):",
			"",
			"| case | req/s |", "| --- | --- |",
			(.goodput.cases[] | "| \(.case) | \(.requests_per_s) |"),
			"",
			"Over clean: flood without filter \(.goodput.ratios.flood_nofilter_over_clean // "n/a"); flood with floodgate \(.goodput.ratios.flood_floodgate_over_clean // "n/a"); floodgate attached, no flood \(.goodput.ratios.clean_floodgate_over_clean // "n/a")."
			else "Goodput under flood: not measured (\(.goodput.why))." end' "$OUT/xdp-live.json"
		echo
	} >"$TMP/section.md"
	scripts/bench-doc.sh xdp-live "$TMP/section.md"
fi
echo "wrote $OUT/xdp-live.json"

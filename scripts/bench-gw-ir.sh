#!/usr/bin/env bash
# scripts/bench-gw-ir.sh - `make bench-gw-ir`: user-space instructions per request of
# floodgate's short answers, against the floor, counted by callgrind (method:
# ../shared/BENCH.md: a count that does not depend on wall time, so the shared machine's
# noise does not reach it).
#
# Servers, each alone under `valgrind --tool=callgrind --separate-threads=yes`:
#   floodgate     the `make bench-gw` config (scripts/bench-gw/fgconfig.sh), one worker;
#   same-answer   fg-h2o-floor -r 401|429|hit: a bare h2o handler sending floodgate's answer
#                 of the scenario, header for header (tools/fg-h2o-floor);
#   floor         fg-h2o-floor: the bare fixed 200 of `make bench-gw`.
# Scenarios: 401 (unknown key), 429 (empty bucket), the cache hit; over HTTP/2 (h2load, one
# connection, 16 streams) and HTTP/1.1 (h2load --h1, one keep-alive connection), TLS 1.3.
# On request only (FG_BENCH_IR_SCENARIOS): proxied, floodgate's proxied request to the
# upstream (which is not counted), to see floodgate's own share of it; it has no
# same-answer server.
# A figure is (Ir(N2) - Ir(N1)) / (N2 - N1), all the server's threads (as bench-gw's
# CPU-seconds): two runs of N1 and N2 requests, so that start-up, the handshake and the
# first request (the cache fill, the bucket's one token) cancel out.
# Kernel time is not counted: this is the user-space share of what `make bench-gw` times.
#
# Ratios: floor/floodgate (the instruction counterpart of bench-gw's floodgate/floor),
# floor/same-answer (the best any gateway sending that answer can do on h2o 2.2.5), and
# same-answer/floodgate (floodgate's own work: parsing, lookup, limits, accounting).
# Writes $BUILD/bench/gw-ir.json and the "gw-ir" section of docs/benchmarks.md
# (FG_BENCH_GW_DOC=0: not the document).
#
# Knobs: FG_BENCH_IR_N="1000 6000" (N1 N2 for HTTP/2; HTTP/1.1 uses a fifth of each, since a
# request over one HTTP/1.1 connection under callgrind is slow), FG_BENCH_IR_PORT=19480
# (..19486), FG_BENCH_IR_SCENARIOS="401 429 hit", FG_BENCH_IR_SERVERS="floor floodgate same"
# and FG_BENCH_IR_PROTOS="h2 h1" (subsets, for a quick look).
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
read -r N1 N2 <<<"${FG_BENCH_IR_N:-1000 6000}"
PORT=${FG_BENCH_IR_PORT:-19480}
SCENARIOS=${FG_BENCH_IR_SCENARIOS:-401 429 hit}
SERVERS=${FG_BENCH_IR_SERVERS:-floor floodgate same}
PROTOS=${FG_BENCH_IR_PROTOS:-h2 h1}
UP_PORT=$PORT UPC_PORT=$((PORT + 1)) FG_PORT=$((PORT + 2)) ADMIN_PORT=$((PORT + 3))
FLOOR_PORT=$((PORT + 4))
OUT=$BUILD/bench
W=$BUILD/bench-gw-ir
TPL=scripts/bench-gw

. "$TPL/lib.sh"
bench_lib_init bench-gw-ir

case "$N1$N2" in *[!0-9]*) die "FG_BENCH_IR_N must be two integers" ;; esac
[ -n "$N2" ] && [ "$N1" -ge 50 ] && [ "$N2" -ge $((N1 + 250)) ] ||
	die "FG_BENCH_IR_N: need N1 >= 50 and N2 >= N1 + 250 (HTTP/1.1 runs a fifth of each)"
for s in $SCENARIOS; do
	case $s in 401 | 429 | hit | proxied) ;; *) die "unknown scenario $s (401, 429, hit, proxied)" ;; esac
done
for s in $SERVERS; do
	case $s in floor | floodgate | same) ;; *) die "unknown server $s (floor, floodgate, same)" ;; esac
done
for s in $PROTOS; do
	case $s in h2 | h1) ;; *) die "unknown protocol $s (h2, h1)" ;; esac
done
bench_needs "floodgate fg-upstream fg-h2o-floor" "valgrind h2load openssl jq curl sha256sum awk"
ports_free "$PORT" $((PORT + 6)) FG_BENCH_IR_PORT
bench_workdir

bench_cert "$W"
. "$TPL/fgconfig.sh"

start_on 0-"$(($(nproc) - 1))" "$W/run/upstream.log" "$BUILD/fg-upstream" -l "127.0.0.1:$UP_PORT" -s 256 -t 1
wait_port "$UP_PORT" "$STARTED" || die "the upstream did not start"
start_on 0-"$(($(nproc) - 1))" "$W/run/upstream-cached.log" "$BUILD/fg-upstream" -l "127.0.0.1:$UPC_PORT" \
	-s 256 -t 1 -H 'Cache-Control: max-age=600'
wait_port "$UPC_PORT" "$STARTED" || die "the caching upstream did not start"

# The keys, once, in the store every callgrind run of floodgate then loads.
fg_config "$W/run/keys.db" >"$W/run/floodgate.json" || die "Couldn't write the config"
"$BUILD/floodgate" -c "$W/run/floodgate.json" >"$W/run/floodgate.log" 2>&1 &
FGP=$!
for _ in $(seq 100); do
	curl -sf -m 1 "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
new_key() {
	curl -sf -m 5 -X POST -H "Authorization: Bearer $TOKEN" -d "{\"plan\": \"$1\"}" \
		"http://127.0.0.1:$ADMIN_PORT/v1/keys" | jq -r '.key // empty'
}
KEY_OK=$(new_key bench) KEY_EMPTY=$(new_key empty)
kill -TERM "$FGP" 2>/dev/null
wait "$FGP" 2>/dev/null
[ -n "$KEY_OK" ] && [ -n "$KEY_EMPTY" ] || die "Couldn't create the keys: $(cat "$W/run/floodgate.log")"
KEY_UNKNOWN=fg_$(openssl rand -hex 16)

path_of() { [ "$1" = hit ] && echo /v1/cached/42 || echo /v1/items/42; }
key_of() {
	case $1 in
	401) echo "$KEY_UNKNOWN" ;;
	429) echo "$KEY_EMPTY" ;;
	*) echo "$KEY_OK" ;;
	esac
}
status_of() { case $1 in hit | proxied) echo 200 ;; *) echo "$1" ;; esac; }

# ir SERVER SCENARIO PROTO N: instructions of all the server's threads for N requests.
ir() {
	local srv=$1 scen=$2 proto=$3 n=$4 out=$W/run/cg.$1.$2.$3.$4 port cmd pid codes f sum=0 v
	rm -f "$out".*
	case $srv in
	floodgate) port=$FG_PORT cmd=("$BUILD/floodgate" -c "$W/run/floodgate.json") ;;
	same) port=$FLOOR_PORT cmd=("$BUILD/fg-h2o-floor" -l "127.0.0.1:$FLOOR_PORT" -c "$CERT" -k "$CERTKEY" -s 256 -r "$scen") ;;
	floor) port=$FLOOR_PORT cmd=("$BUILD/fg-h2o-floor" -l "127.0.0.1:$FLOOR_PORT" -c "$CERT" -k "$CERTKEY" -s 256) ;;
	esac
	valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out.cg" "${cmd[@]}" \
		>"$out.log" 2>&1 &
	pid=$!
	wait_port "$port" "$pid" || {
		say "$srv did not start under valgrind: $(tail -3 "$out.log")"
		return 1
	}
	local h2=(-c1 -m16) && [ "$proto" = h1 ] && h2=(--h1 -c1 -m1)
	codes=$(timeout 600 h2load "${h2[@]}" -n "$n" -H "X-API-Key: $(key_of "$scen")" \
		"https://127.0.0.1:$port$(path_of "$scen")" 2>&1 | awk '/^status codes:/ {print $3 "/" $5 "/" $7 "/" $9}')
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# Every answer the scenario's (floodgate's first 429-scenario answer spends the bucket's
	# one token: a 200; its first cache-hit request fills the cache) - or the run is void.
	local ok=$n
	[ "$srv" = floodgate ] && [ "$scen" = 429 ] && ok=$((n - 1))
	case "$(status_of "$scen")/$srv" in
	200/* | */floor) v=$(awk -F/ '{print $1}' <<<"$codes") ;;
	*) v=$(awk -F/ '{print $3}' <<<"$codes") ;;
	esac
	[ "${v:-0}" -ge "$ok" ] || {
		say "$srv $scen $proto N=$n: unexpected answers (2xx/3xx/4xx/5xx $codes)"
		return 1
	}
	for f in "$out".cg*; do
		v=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

RUNS=$W/run/runs.jsonl
: >"$RUNS"
for proto in $PROTOS; do
	if [ "$proto" = h2 ]; then a=$N1 b=$N2; else a=$((N1 / 5)) b=$((N2 / 5)); fi
	for srv in $SERVERS; do
		for scen in $SCENARIOS; do
			# The floor answers every scenario the same: counted once per protocol.
			if [ "$srv" = floor ] && [ "$scen" != "${SCENARIOS%% *}" ]; then continue; fi
			if [ "$srv" = same ] && [ "$scen" = proxied ]; then continue; fi
			say "$srv $([ "$srv" = floor ] || echo "$scen ")$proto: $a and $b requests"
			ia=$(ir "$srv" "$scen" "$proto" "$a") && ib=$(ir "$srv" "$scen" "$proto" "$b") || continue
			jq -cn --arg srv "$srv" --arg scen "$([ "$srv" = floor ] && echo any || echo "$scen")" \
				--arg proto "$proto" --argjson a "$a" --argjson b "$b" --argjson ia "$ia" --argjson ib "$ib" \
				'{server: $srv, scenario: $scen, proto: $proto, n1: $a, n2: $b, ir1: $ia, ir2: $ib,
				  ir_per_request: (($ib - $ia) / ($b - $a) | round)}' >>"$RUNS"
		done
	done
done

jq -s --arg date "$(date -u +%FT%TZ)" --arg rev "$(git rev-parse --short HEAD 2>/dev/null)" \
	--arg scen "$SCENARIOS" --arg protos "$PROTOS" '
	. as $runs
	| def ir($s; $c; $p): ($runs | map(select(.server == $s and .scenario == $c and .proto == $p))[0].ir_per_request) // null;
	  def r3: if . == null then null else (. * 1000 | round) / 1000 end;
	  def div($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b | r3 end;
	{date: $date, floodgate_rev: $rev,
	 rows: [($scen | split(" "))[] as $c | ($protos | split(" "))[] as $p
		| {scenario: $c, proto: $p, floodgate: ir("floodgate"; $c; $p), same_answer: ir("same"; $c; $p),
		   floor: ir("floor"; "any"; $p)}
		| . + {floor_over_floodgate: div(.floor; .floodgate), floor_over_same: div(.floor; .same_answer),
		       same_over_floodgate: div(.same_answer; .floodgate),
		       floodgate_own: (if .floodgate and .same_answer then .floodgate - .same_answer else null end)}],
	 runs: $runs}' "$RUNS" >"$OUT/gw-ir.json" || die "Couldn't write $OUT/gw-ir.json"

jq -r '"## Gateway: instructions per request of the short answers (`make bench-gw-ir`)\n",
	"\(.date), floodgate \(.floodgate_rev); scripts/bench-gw-ir.sh: callgrind, user space only, all threads; (Ir(N2) - Ir(N1)) / (N2 - N1) over two runs of N1 and N2 requests on one connection (TLS 1.3). *same answer*: `fg-h2o-floor -r SCENARIO`, a bare h2o 2.2.5 handler sending floodgate'"'"'s answer of that scenario header for header; *floor*: the fixed 200 of `make bench-gw`. Counts do not depend on the machine'"'"'s load; kernel time is not in them.\n",
	"| scenario | protocol | floodgate | same answer | floor | floor / floodgate | floor / same answer | same answer / floodgate | floodgate above the same answer |",
	"|---|---|---:|---:|---:|---:|---:|---:|---:|",
	(.rows[] | "| \(.scenario) | \(if .proto == "h2" then "HTTP/2" else "HTTP/1.1" end) | \(.floodgate) | \(.same_answer) | \(.floor) | \(.floor_over_floodgate) | \(.floor_over_same) | \(.same_over_floodgate) | \(.floodgate_own) |"),
	"",
	"*floor / same answer* bounds what a gateway sending that answer through the HPACK encoder and decoder, the sprintf of libh2o itself and OpenSSL'"'"'s TLS records can reach against the floor (floodgate replaces all four: gw/hpack.h, gw/hpackdec.h, gw/fastfmt.h, gw/tlsfast.h); the 401 and 429 targets of issue 3 (>= 0.9) and the cache-hit target of issue 5 (>= 0.8) compare with it, and *floor / floodgate* is their instruction-count counterpart."' \
	"$OUT/gw-ir.json" >"$W/run/gw-ir.md" || die "Couldn't write the report"
cat "$W/run/gw-ir.md"
if [ "${FG_BENCH_GW_DOC:-1}" = 1 ]; then
	scripts/bench-doc.sh gw-ir "$W/run/gw-ir.md"
	say "wrote $OUT/gw-ir.json and the gw-ir section of docs/benchmarks.md"
else
	say "wrote $OUT/gw-ir.json"
fi

#!/usr/bin/env bash
# scripts/bench-gw/cluster.sh - the cluster-mode scenario of `make bench-gw` (also runs on
# its own): floodgate with its plan bucket in Redis against floodgate embedded, measured in
# the same run, back to back, order alternating by round.
#
# Both daemons: one worker pinned to CPU $SUT_CPU, TLS (ECDSA P-256), HTTP/1.1 keep-alive
# from wrk on CPU $LOAD_CPU, the proxied 200 through a key whose bucket never empties
# (every request is admitted, so every request costs what an admitted one costs). Redis
# (no persistence) and the upstream run on CPU $LOAD_CPU. Per round and mode: requests,
# the daemon's CPU-seconds (/proc/PID/stat) and, for Redis mode, redis-server's too; the
# EVALSHA calls Redis counted (INFO commandstats) and the script calls floodgate counted
# (/metrics) over the window -> Redis round trips per admitted request (admitted: the
# Redis-mode daemon's own count of 200 responses, in-flight requests at wrk's end included).
# Prints a markdown section; writes $BUILD/bench/gw-cluster.json.
#
# Knobs: FG_BENCH_GW_CLUSTER_ROUNDS=3, FG_BENCH_GW_DURATION=3, FG_BENCH_GW_CONNS=32,
# FG_BENCH_GW_CLUSTER_PORT=19460 (..19466), FG_BENCH_GW_SUT_CPU=1, FG_BENCH_GW_LOAD_CPU=0.
set -u
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
ROUNDS=${FG_BENCH_GW_CLUSTER_ROUNDS:-3}
DUR=${FG_BENCH_GW_DURATION:-3}
CONNS=${FG_BENCH_GW_CONNS:-32}
PORT=${FG_BENCH_GW_CLUSTER_PORT:-19460}
SUT_CPU=${FG_BENCH_GW_SUT_CPU:-1}
LOAD_CPU=${FG_BENCH_GW_LOAD_CPU:-0}
UP_PORT=$PORT REDIS_PORT=$((PORT + 1))
E_PORT=$((PORT + 2)) E_ADMIN=$((PORT + 3)) R_PORT=$((PORT + 4)) R_ADMIN=$((PORT + 5))
OUT=$BUILD/bench
W=$BUILD/bench-gw-cluster
HZ=$(getconf CLK_TCK)
URL_PATH=/v1/items/42

. scripts/bench-gw/lib.sh
bench_lib_init bench-gw/cluster

bench_needs "floodgate fg-upstream" "wrk redis-server redis-cli openssl jq curl taskset sha256sum awk"
ports_free "$PORT" $((PORT + 6)) FG_BENCH_GW_CLUSTER_PORT
bench_workdir

ticks() {
	local t=0 p v
	for p in "$@"; do
		v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
wait_http() { # url pid
	local i
	for i in $(seq 100); do
		curl -sf -m 1 "$1" >/dev/null 2>&1 && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
evalsha_calls() {
	redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' |
		awk -F'[=,:]' '/^cmdstat_evalsha:/ {print $3; f = 1} END {if (!f) print 0}'
}
responses_200() {
	curl -sf -m 2 "http://127.0.0.1:$R_ADMIN/metrics" |
		awk '/^floodgate_requests_total\{.*status="200"/ {n += $NF} END {print n + 0}'
}
script_calls() {
	curl -sf -m 2 "http://127.0.0.1:$R_ADMIN/metrics" |
		awk '/^floodgate_redis_script_calls_total/ {print $NF}'
}

bench_cert "$W"

config() { # port admin store-json
	jq -n --arg port "$1" --arg admin "$2" --argjson store "$3" --arg up "$UP_PORT" \
		--arg cert "$CERT" --arg key "$CERTKEY" --arg t "$DIGEST" '{
		threads: 1,
		listen: [{address: ("127.0.0.1:" + $port),
			  tls: {certificates: [{cert: $cert, key: $key}]}}],
		admin: {listen: ("127.0.0.1:" + $admin), token_sha256: $t},
		store: $store, access_log: false, keys: {sources: ["header"]},
		upstreams: {api: {url: ("http://127.0.0.1:" + $up), keepalive_idle_ms: 120000}},
		routes: [{name: "items", methods: ["GET"], path: "/v1/items(/[0-9]+)?",
			  upstream: "api"}],
		plans: {bench: {rate: 1000000, burst: 1000000, routes: "*"}}}'
}
new_key() { # admin-port
	curl -sf -m 5 -X POST -H "Authorization: Bearer $TOKEN" -d '{"plan": "bench"}' \
		"http://127.0.0.1:$1/v1/keys" | jq -r '.key // empty'
}

start_on "$LOAD_CPU" "$W/run/upstream.log" "$BUILD/fg-upstream" -l "127.0.0.1:$UP_PORT" -s 256 -t 1
start_on "$LOAD_CPU" "$W/run/redis.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
	--save '' --appendonly no --dir "$W/run"
REDIS_PID=$STARTED
for i in $(seq 50); do
	redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
	sleep 0.1
done
config "$E_PORT" "$E_ADMIN" "{\"path\": \"$W/run/keys.db\"}" >"$W/run/embedded.json"
config "$R_PORT" "$R_ADMIN" "{\"type\": \"redis\", \"url\": \"redis://127.0.0.1:$REDIS_PORT/0\", \"timeout_ms\": 200}" >"$W/run/redis.json"
start_on "$SUT_CPU" "$W/run/embedded.log" "$BUILD/floodgate" -c "$W/run/embedded.json"
E_PID=$STARTED
start_on "$SUT_CPU" "$W/run/redis-mode.log" "$BUILD/floodgate" -c "$W/run/redis.json"
R_PID=$STARTED
wait_http "http://127.0.0.1:$E_ADMIN/healthz" "$E_PID" || die "embedded floodgate did not start"
wait_http "http://127.0.0.1:$R_ADMIN/healthz" "$R_PID" || die "redis-mode floodgate did not start: $(cat "$W/run/redis-mode.log")"
KEY_E=$(new_key "$E_ADMIN") && [ -n "$KEY_E" ] || die "Couldn't create a key (embedded)"
KEY_R=$(new_key "$R_ADMIN") && [ -n "$KEY_R" ] || die "Couldn't create a key (redis mode)"
for m in E R; do
	eval "port=\$${m}_PORT key=\$KEY_$m"
	code=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" "https://127.0.0.1:$port$URL_PATH")
	[ "$code" = 200 ] || die "mode $m answers $code, expected 200"
done

RUNS=$W/run/runs.jsonl
: >"$RUNS"
run() { # mode round
	local mode=$1 round=$2 port key pids t0 t1 r0 r1 e0 e1 s0 s1 a0 a1 out req non2xx
	if [ "$mode" = embedded ]; then
		port=$E_PORT key=$KEY_E pids=$E_PID
	else
		port=$R_PORT key=$KEY_R pids=$R_PID
	fi
	e0=$(evalsha_calls) s0=$(script_calls) a0=$(responses_200)
	t0=$(ticks $pids) r0=$(ticks "$REDIS_PID")
	out=$(timeout $((DUR + 30)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" \
		-H "X-API-Key: $key" "https://127.0.0.1:$port$URL_PATH" 2>&1)
	t1=$(ticks $pids) r1=$(ticks "$REDIS_PID")
	sleep 0.2 # what wrk left in flight is answered (and counted) by now
	e1=$(evalsha_calls) s1=$(script_calls) a1=$(responses_200)
	req=$(awk '/requests in/ {print $1}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
	[ -n "$req" ] && [ "$req" -gt 0 ] || {
		say "$mode round $round: no result: $(tail -2 <<<"$out" | tr '\n' ' ')"
		return
	}
	jq -cn --arg mode "$mode" --argjson round "$round" --argjson req "$req" \
		--argjson non2xx "${non2xx:-0}" --argjson fg $((t1 - t0)) --argjson redis $((r1 - r0)) \
		--argjson evalsha $((e1 - e0)) --argjson scripts $((${s1:-0} - ${s0:-0})) --argjson ok $((a1 - a0)) \
		--argjson hz "$HZ" '{mode: $mode, round: $round, requests: $req, non2xx: $non2xx, admitted: $ok,
		fg_cpu_s: ($fg / $hz), redis_cpu_s: ($redis / $hz),
		req_per_cpu_s: (if $fg > 0 then $req / ($fg / $hz) else null end),
		req_per_cpu_s_with_redis: (if $fg + $redis > 0 then $req / (($fg + $redis) / $hz) else null end),
		evalsha: $evalsha, script_calls: $scripts}' >>"$RUNS"
}
say "$ROUNDS rounds x 2 modes x ${DUR}s (HTTP/1.1 over TLS, $CONNS connections)"
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		run embedded "$round"
		run redis "$round"
	else
		run redis "$round"
		run embedded "$round"
	fi
done

MED='def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def r3: if . == null then null else (. * 1000 | round) / 1000 end;'
jq -s --arg date "$(date -u +%FT%TZ)" --arg rev "$(git rev-parse --short HEAD 2>/dev/null)" \
	--argjson dur "$DUR" --argjson conns "$CONNS" "$MED"'
	. as $runs
	| (map(select(.mode == "embedded"))) as $e | (map(select(.mode == "redis"))) as $r
	| {date: $date, floodgate_rev: $rev, duration_s: $dur, wrk_connections: $conns,
	   embedded: {req_per_cpu_s: ($e | map(.req_per_cpu_s) | median | r3),
		      rps: ($e | map(.requests / $dur) | median | r3)},
	   redis: {req_per_cpu_s: ($r | map(.req_per_cpu_s) | median | r3),
		   req_per_cpu_s_with_redis: ($r | map(.req_per_cpu_s_with_redis) | median | r3),
		   rps: ($r | map(.requests / $dur) | median | r3),
		   round_trips_per_admitted: ($r | map(select(.admitted > 0) | .evalsha / .admitted) | median),
		   script_calls_per_admitted: ($r | map(select(.admitted > 0) | .script_calls / .admitted) | median)},
	   ratio_redis_embedded: ([$runs | group_by(.round)[]
		| (map(select(.mode == "redis"))[0].req_per_cpu_s) as $a
		| (map(select(.mode == "embedded"))[0].req_per_cpu_s) as $b
		| select($a != null and $b != null and $b > 0) | $a / $b] | median | r3),
	   ratio_with_redis_cpu: ([$runs | group_by(.round)[]
		| (map(select(.mode == "redis"))[0].req_per_cpu_s_with_redis) as $a
		| (map(select(.mode == "embedded"))[0].req_per_cpu_s) as $b
		| select($a != null and $b != null and $b > 0) | $a / $b] | median | r3),
	   runs: $runs}' "$RUNS" >"$OUT/gw-cluster.json" || die "Couldn't write $OUT/gw-cluster.json"

jq -r '"### Cluster mode: plan bucket in Redis vs embedded (same run)\n",
	"Proxied 200, HTTP/1.1 over TLS, wrk \(.wrk_connections) connections, \(.duration_s) s x \(.runs | length / 2) rounds, one worker on one CPU; floodgate \(.floodgate_rev), \(.date).\n",
	"| | embedded | Redis mode |", "|---|---|---|",
	"| requests per CPU-second (daemon) | \(.embedded.req_per_cpu_s) | \(.redis.req_per_cpu_s) |",
	"| requests per CPU-second (daemon + redis-server) | \(.embedded.req_per_cpu_s) | \(.redis.req_per_cpu_s_with_redis) |",
	"| req/s | \(.embedded.rps) | \(.redis.rps) |",
	"| Redis round trips per admitted request (INFO commandstats EVALSHA) | 0 | \(.redis.round_trips_per_admitted) |",
	"| admission script calls per admitted request (floodgate metric) | 0 | \(.redis.script_calls_per_admitted) |",
	"",
	"Redis mode / embedded, requests per CPU-second: \(.ratio_redis_embedded) (daemon), \(.ratio_with_redis_cpu) (daemon + redis-server; median of per-round ratios)."' \
	"$OUT/gw-cluster.json"
say "wrote $OUT/gw-cluster.json"

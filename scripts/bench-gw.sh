#!/usr/bin/env bash
# scripts/bench-gw.sh - `make bench-gw` (method: ../shared/BENCH.md, "Gateway").
#
# floodgate against nginx and HAProxy configured for the same work (scripts/bench-gw/), and
# the floor: a bare h2o 2.2.5 handler answering a fixed 200 (build/fg-h2o-floor). One
# shared upstream (fg-upstream), one ECDSA P-256 certificate, TLS 1.3, loopback only.
# Each server under test has one worker pinned to CPU 1; wrk, h2load, openssl s_time,
# fg-fixedrate and the upstream run on CPU 0. Everything is started and stopped here.
#
#   1. max load, ROUNDS rounds; in a round, each scenario (proxied 200 through a key with
#      a bucket that never empties, 401 with an unknown key, 429 with an empty bucket, and
#      the cache hit: the same authenticated, rate-limited request on a route whose answer
#      every server has cached - a second upstream sends Cache-Control: max-age=600) x
#      protocol (HTTP/1.1 keep-alive: wrk; HTTP/2: h2load) measures every server back to
#      back, order rotated: requests and the server's CPU-seconds (utime+stime of all its
#      processes and threads, /proc/PID/stat) over the window -> requests per CPU-second
#      and req/s; TLS: full and resumed handshakes (openssl s_time) the same way;
#   2. latency at a fixed rate of 50 % of nginx's max (per scenario, HTTP/1.1), open loop
#      (fg-fixedrate: latency counted from when each request was due), p50/p99, and the
#      requests per CPU-second at that same offered rate;
#   3. memory: floodgate's RSS with 0 and N (1M) keys -> bytes per key; time to start with
#      N keys; a reload of N keys (SIGHUP) under a light and a 50 % fixed-rate load: its
#      duration and CPU time, the max latency and the longest gap between responses.
#   4. cluster mode (plan bucket in Redis) against embedded (scripts/bench-gw/cluster.sh);
#   5. the latency an upstream failover adds, against the connect timeout
#      (scripts/bench-gw/failover.sh).
# Medians over rounds; a ratio is the median over the rounds of the ratio within a round.
# Writes $BUILD/bench/gw.json and the "gw" section of docs/benchmarks.md (FG_BENCH_GW_DOC=0:
# not the document). A benchmark never fails on a number, only when it cannot measure.
#
# Knobs (environment):
#   FG_BENCH_GW_DURATION=3      seconds per max-load measurement
#   FG_BENCH_GW_ROUNDS=3        interleaved rounds of step 1 (medians)
#   FG_BENCH_GW_LAT_DURATION=4  seconds per fixed-rate latency measurement
#   FG_BENCH_GW_LAT_ROUNDS=3    interleaved rounds of step 2
#   FG_BENCH_GW_KEYS=1000000    keys for the memory and reload measurements (0: skip step 3)
#   FG_BENCH_GW_CONNS=32        wrk connections (HTTP/1.1)
#   FG_BENCH_GW_H2=8x16         h2load connections x streams per connection (HTTP/2)
#   FG_BENCH_GW_BODY=256        response body bytes (upstream and floor)
#   FG_BENCH_GW_PORT=19440      first of the ports used (19440..19449)
#   FG_BENCH_GW_SUT_CPU=1 FG_BENCH_GW_LOAD_CPU=0
#   FG_BENCH_GW_RELOAD_RATE=2000  the light rate of the reload test (the other: 50 % of nginx)
#   FG_BENCH_GW_SERVERS="floodgate nginx haproxy floor"   a subset, for a quick look
#   FG_BENCH_GW_CLUSTER_ROUNDS=3  rounds of step 4, Redis mode vs embedded (0: skip;
#                               scripts/bench-gw/cluster.sh, ports FG_BENCH_GW_PORT+20..+26)
#   FG_BENCH_GW_FAILOVER_ROUNDS=3 rounds of step 5, the latency an upstream failover adds (0:
#                               skip; scripts/bench-gw/failover.sh, ports FG_BENCH_GW_PORT+30..+34)
#   FG_BENCH_GW_GROUPS="cache"  only these scenarios (of proxy 401 429 cache tls-full
#                               tls-resumed), for a quick look
#   FG_BENCH_GW_PERF=1          also count each server's system calls and context switches
#                               in step 1 (perf stat on its processes): per request in runs
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
DUR=${FG_BENCH_GW_DURATION:-3}
ROUNDS=${FG_BENCH_GW_ROUNDS:-3}
LAT_DUR=${FG_BENCH_GW_LAT_DURATION:-4}
LAT_ROUNDS=${FG_BENCH_GW_LAT_ROUNDS:-3}
NKEYS=${FG_BENCH_GW_KEYS:-1000000}
CONNS=${FG_BENCH_GW_CONNS:-32}
H2=${FG_BENCH_GW_H2:-8x16}
BODY=${FG_BENCH_GW_BODY:-256}
PORT=${FG_BENCH_GW_PORT:-19440}
SUT_CPU=${FG_BENCH_GW_SUT_CPU:-1}
LOAD_CPU=${FG_BENCH_GW_LOAD_CPU:-0}
SERVERS=${FG_BENCH_GW_SERVERS:-floodgate nginx haproxy floor}
GROUPS_ONLY=${FG_BENCH_GW_GROUPS:-}
PERF=${FG_BENCH_GW_PERF:-0}
RELOAD_RATE=${FG_BENCH_GW_RELOAD_RATE:-2000}
LAT_CONNS=64 # fg-fixedrate connections (enough that a request seldom waits for one)

H2_CONNS=${H2%x*} H2_STREAMS=${H2#*x}
UP_PORT=$PORT FG_PORT=$((PORT + 1)) NGX_PORT=$((PORT + 2)) HAP_PORT=$((PORT + 3))
FLOOR_PORT=$((PORT + 4)) ADMIN_PORT=$((PORT + 5)) UPC_PORT=$((PORT + 6))
OUT=$BUILD/bench
W=$BUILD/bench-gw
TPL=scripts/bench-gw
HZ=$(getconf CLK_TCK)
URL_PATH=/v1/items/42
CACHED_PATH=/v1/cached/42 # the cache-hit scenario's route
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# start_on CPU LOG CMD... and wait_port PORT PID from scripts/bench-gw/lib.sh; die, say and
# the cleanup below are this script's own (they replace the library's).
. "$TPL/lib.sh"
die() {
	echo "bench-gw: $*" >&2
	exit 1
}
say() {
	echo "bench-gw: $*" >&2
}

for bin in floodgate fg-upstream fg-h2o-floor fg-fixedrate; do
	[ -x "$BUILD/$bin" ] || die "$BUILD/$bin is missing: run make (or make BUILD=$BUILD) first"
done
for tool in wrk h2load openssl nginx haproxy jq curl taskset sha256sum awk; do
	command -v "$tool" >/dev/null || die "$tool is missing: run scripts/deps.sh"
done
case $PERF in 0 | 1) ;; *) die "FG_BENCH_GW_PERF must be 0 or 1, not '$PERF'" ;; esac
[ "$PERF" != 1 ] || command -v perf >/dev/null ||
	die "FG_BENCH_GW_PERF=1 needs perf (apt-get install linux-perf)"
[ "$(nproc)" -gt "$SUT_CPU" ] && [ "$(nproc)" -gt "$LOAD_CPU" ] ||
	die "CPUs $SUT_CPU and $LOAD_CPU are needed (FG_BENCH_GW_SUT_CPU/LOAD_CPU)"
for p in $(seq "$PORT" $((PORT + 9))); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p is in use (FG_BENCH_GW_PORT picks another range)"
	fi
done
mkdir -p "$OUT" "$W" || die "Couldn't create $W"
W=$(cd "$W" && pwd)
rm -rf "$W/run" && mkdir -p "$W/run/nginx-tmp" "$W/run/nginx-cache" || die "Couldn't create $W/run"
RUNS=$W/run/runs.jsonl LATS=$W/run/latency.jsonl
: >"$RUNS"
: >"$LATS"

# ---- processes: everything started is killed on exit, even on failure ----
PIDS=()
UP_PID="" FG_PID="" NGX_PID="" HAP_PID="" FLOOR_PID=""
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# utime+stime, in clock ticks, of the given processes (each one's all threads).
ticks() {
	local t=0 p v
	for p in "$@"; do
		v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# The processes of a server: nginx is a master and its worker.
pids_of() {
	case $1 in
	floodgate) echo "$FG_PID" ;;
	nginx) echo "$NGX_PID $(pgrep -P "$NGX_PID" | tr '\n' ' ')" ;;
	haproxy) echo "$HAP_PID" ;;
	floor) echo "$FLOOR_PID" ;;
	esac
}
port_of() {
	case $1 in
	floodgate) echo "$FG_PORT" ;;
	nginx) echo "$NGX_PORT" ;;
	haproxy) echo "$HAP_PORT" ;;
	floor) echo "$FLOOR_PORT" ;;
	esac
}
# The key a scenario sends (the floor answers 200 to anything: it gets the 401 request).
key_of() {
	case $1 in
	proxy | cache) echo "$KEY_OK" ;;
	429) echo "$KEY_EMPTY" ;;
	*) echo "$KEY_UNKNOWN" ;;
	esac
}
# Scenarios a server is measured on.
scenarios_of() {
	case $1 in
	floor) echo "floor" ;;
	*) echo "proxy 401 429 cache" ;;
	esac
}
# The path a scenario requests.
path_of() {
	case $1 in
	cache) echo "$CACHED_PATH" ;;
	*) echo "$URL_PATH" ;;
	esac
}
# Whether a scenario is measured in this run (FG_BENCH_GW_GROUPS).
wanted() {
	[ -z "$GROUPS_ONLY" ] && return 0
	case " $GROUPS_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}
# Status every response of a scenario must have.
status_of() {
	case $1 in
	proxy | cache | floor) echo 200 ;;
	*) echo "$1" ;;
	esac
}
have() {
	case " $SERVERS " in *" $1 "*) return 0 ;; esac
	return 1
}

# ---- certificate, keys, configs ----
CERT=$W/ecdsa.crt CERTKEY=$W/ecdsa.key PEM=$W/ecdsa.pem
if ! openssl x509 -checkend 86400 -noout -in "$CERT" >/dev/null 2>&1; then
	openssl ecparam -name prime256v1 -genkey -noout -out "$CERTKEY" 2>/dev/null &&
		openssl req -x509 -new -key "$CERTKEY" -days 30 -subj /CN=localhost \
			-addext subjectAltName=IP:127.0.0.1,DNS:localhost -out "$CERT" 2>/dev/null ||
		die "Couldn't make an ECDSA P-256 certificate"
fi
cat "$CERT" "$CERTKEY" >"$PEM" || die "Couldn't write $PEM"

TOKEN=$(openssl rand -hex 16)
DIGEST=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
KEY_UNKNOWN=fg_$(openssl rand -hex 16 | cut -c1-32)

# floodgate's benchmark config (scripts/bench-gw/fgconfig.sh, shared with bench-gw-ir.sh).
. "$TPL/fgconfig.sh"

fg_start() { # config
	start_on "$SUT_CPU" "$W/run/floodgate.log" "$BUILD/floodgate" -c "$1"
	FG_PID=$STARTED
	local i
	for i in $(seq 600); do
		curl -sf -m 1 "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$FG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$W/run/floodgate.log" >&2
	return 1
}
fg_stop() {
	stop_pid "$FG_PID"
	FG_PID=""
}
fg_health() {
	curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
}
fg_new_key() { # plan
	curl -sf -m 5 -X POST -H "Authorization: Bearer $TOKEN" -d "{\"plan\": \"$1\"}" \
		"http://127.0.0.1:$ADMIN_PORT/v1/keys" | jq -r '.key // empty'
}

curl_code() { # server key [curl options]
	local srv=$1 key=$2
	shift 2
	curl -sk -m 5 -o /dev/null -w '%{http_code}' "$@" ${key:+-H "X-API-Key: $key"} \
		"https://127.0.0.1:$(port_of "$srv")${CURL_PATH:-$URL_PATH}"
}

# ---- start: upstream, floor, floodgate, nginx, HAProxy ----
say "starting the upstream and the servers (ports $PORT..$((PORT + 5)))"
start_on "$LOAD_CPU" "$W/run/upstream.log" "$BUILD/fg-upstream" -l "127.0.0.1:$UP_PORT" \
	-s "$BODY" -t 1
UP_PID=$STARTED
wait_port "$UP_PORT" "$UP_PID" || die "the upstream did not start: $(cat "$W/run/upstream.log")"
# The cache-hit route's upstream: the same bytes, and an answer every server may store.
start_on "$LOAD_CPU" "$W/run/upstream-cached.log" "$BUILD/fg-upstream" -l "127.0.0.1:$UPC_PORT" \
	-s "$BODY" -t 1 -H 'Cache-Control: max-age=600'
wait_port "$UPC_PORT" "$STARTED" || die "the caching upstream did not start: $(cat "$W/run/upstream-cached.log")"

if have floor; then
	start_on "$SUT_CPU" "$W/run/floor.log" "$BUILD/fg-h2o-floor" -l "127.0.0.1:$FLOOR_PORT" \
		-c "$CERT" -k "$CERTKEY" -s "$BODY"
	FLOOR_PID=$STARTED
	wait_port "$FLOOR_PORT" "$FLOOR_PID" || die "the floor did not start: $(cat "$W/run/floor.log")"
fi

FG_DB=$W/run/keys.db
fg_config "$FG_DB" >"$W/run/floodgate.json" || die "Couldn't write the floodgate config"
"$BUILD/floodgate" -t -c "$W/run/floodgate.json" >/dev/null 2>&1 ||
	"$BUILD/floodgate" -t -c "$W/run/floodgate.json" ||
	die "the floodgate benchmark config does not validate"
fg_start "$W/run/floodgate.json" || die "floodgate did not start"
KEY_OK=$(fg_new_key bench) && [ -n "$KEY_OK" ] || die "Couldn't create a key (plan bench)"
KEY_EMPTY=$(fg_new_key empty) && [ -n "$KEY_EMPTY" ] || die "Couldn't create a key (plan empty)"
have floodgate || fg_stop

fill() { # template -> stdout
	sed -e "s|@DIR@|$W/run|g" -e "s|@PORT@|$2|g" -e "s|@UPSTREAM@|127.0.0.1:$UP_PORT|g" \
		-e "s|@UPSTREAM_CACHED@|127.0.0.1:$UPC_PORT|g" \
		-e "s|@CERT@|$CERT|g" -e "s|@CERTKEY@|$CERTKEY|g" -e "s|@PEM@|$PEM|g" \
		-e "s|@KEY_OK@|$KEY_OK|g" -e "s|@KEY_EMPTY@|$KEY_EMPTY|g" "$1"
}
if have nginx; then
	fill "$TPL/nginx.conf.in" "$NGX_PORT" >"$W/run/nginx.conf"
	nginx -t -q -p "$W/run" -c "$W/run/nginx.conf" -g 'daemon off;' ||
		die "the nginx config does not validate ($W/run/nginx.conf)"
	start_on "$SUT_CPU" "$W/run/nginx.log" nginx -p "$W/run" -c "$W/run/nginx.conf" \
		-g 'daemon off;'
	NGX_PID=$STARTED
	wait_port "$NGX_PORT" "$NGX_PID" || die "nginx did not start: $(cat "$W/run/nginx.log")"
fi
if have haproxy; then
	printf '%s bench\n%s empty\n' "$KEY_OK" "$KEY_EMPTY" >"$W/run/haproxy-keys.map"
	printf 'bench 1000000000\nempty 0\n' >"$W/run/haproxy-plans.map"
	fill "$TPL/haproxy.cfg.in" "$HAP_PORT" >"$W/run/haproxy.cfg"
	haproxy -c -q -f "$W/run/haproxy.cfg" || die "the HAProxy config does not validate"
	start_on "$SUT_CPU" "$W/run/haproxy.log" haproxy -db -f "$W/run/haproxy.cfg"
	HAP_PID=$STARTED
	wait_port "$HAP_PORT" "$HAP_PID" || die "HAProxy did not start: $(cat "$W/run/haproxy.log")"
fi

# ---- sanity: each server answers each scenario as expected, on both protocols ----
# Empty the 429 buckets first (floodgate: burst 1; nginx: 1 r/m, burst 1; HAProxy: limit 0).
for srv in floodgate nginx haproxy; do
	have "$srv" || continue
	for i in 1 2 3; do
		curl_code "$srv" "$KEY_EMPTY" >/dev/null
	done
done
BROKEN=""
for srv in $SERVERS; do
	for scen in $(scenarios_of "$srv"); do
		want=$(status_of "$scen")
		for proto in --http1.1 --http2; do
			got=$(CURL_PATH=$(path_of "$scen") curl_code "$srv" "$(key_of "$scen")" "$proto")
			if [ "$got" != "$want" ]; then
				say "$srv $scen $proto: status $got, expected $want: not measured"
				BROKEN="$BROKEN $srv/$scen"
			fi
		done
	done
done
# The peers' caches must miss: fg-upstream's response has no freshness information, so
# nginx (no proxy_cache_valid) and HAProxy (RFC 7234 rules) do not store it; proven below
# by HAProxy sending no Age header and nginx's cache directory staying empty.
if have haproxy; then
	curl -sk -o /dev/null -H "X-API-Key: $KEY_OK" "https://127.0.0.1:$HAP_PORT$URL_PATH"
	curl -sk -D - -o /dev/null -H "X-API-Key: $KEY_OK" "https://127.0.0.1:$HAP_PORT$URL_PATH" |
		grep -qi '^age:' && say "HAProxy served from its cache: the miss path is not what is measured"
fi

# The cache-hit scenario: every server answers from its cache (the requests above filled
# it): floodgate says X-Cache: HIT, nginx X-Cache-Status: HIT, HAProxy sends an Age.
if wanted cache; then
	for srv in floodgate nginx haproxy; do
		have "$srv" || continue
		hdrs=$(curl -sk -D - -o /dev/null -H "X-API-Key: $KEY_OK" \
			"https://127.0.0.1:$(port_of "$srv")$CACHED_PATH" | tr -d '\r')
		case $srv in
		floodgate) grep -qi '^x-cache: HIT' <<<"$hdrs" ;;
		nginx) grep -qi '^x-cache-status: HIT' <<<"$hdrs" ;;
		haproxy) grep -qi '^age:' <<<"$hdrs" ;;
		esac || {
			say "$srv did not answer the cache-hit request from its cache: not measured"
			BROKEN="$BROKEN $srv/cache"
		}
	done
fi

# ---- 1. max load ----
WRK_TIMEOUT=$((DUR + 30))
# One measurement: server scenario proto round. The floor gets the scenario's request and
# answers its fixed 200.
run_load() {
	local srv=$1 scen=$2 proto=$3 round=$4 key pids t0 t1 w0 w1 out req secs bad=0 errs=0
	local url="https://127.0.0.1:$(port_of "$srv")$(path_of "$scen")" want
	key=$(key_of "$scen")
	want=$(status_of "$scen")
	[ "$srv" = floor ] && want=200
	pids=$(pids_of "$srv")
	local perf_pid="" perf_out=$W/run/perf-$srv-$scen-$proto-$round.csv
	if [ "$PERF" = 1 ]; then
		perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$(tr ' ' ',' <<<"$pids" |
			sed 's/,*$//')" -o "$perf_out" 2>/dev/null &
		perf_pid=$!
		sleep 0.2
	fi
	w0=$(date +%s.%N)
	t0=$(ticks $pids)
	if [ "$proto" = h1 ]; then
		out=$(timeout "$WRK_TIMEOUT" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" \
			-H "X-API-Key: $key" "$url" 2>&1)
		t1=$(ticks $pids)
		w1=$(date +%s.%N)
		req=$(awk '/requests in/ {print $1}' <<<"$out")
		secs=$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' <<<"$out")
		local non2xx
		non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
		errs=$(awk -F'[ ,]+' '/Socket errors/ {print $5 + $7 + $9 + $11}' <<<"$out")
		# wrk counts non-2xx responses: all of them for 401/429 (nginx lets one request a
		# minute through its 1 r/m zone: 1 % is tolerated), none for 200.
		if [ "$want" = 200 ]; then
			[ "${non2xx:-0}" = 0 ] || bad=1
		else
			[ "${non2xx:-0}" -ge $((req - req / 100)) ] || bad=1
		fi
	else
		out=$(timeout "$WRK_TIMEOUT" taskset -c "$LOAD_CPU" h2load -t1 -c"$H2_CONNS" \
			-m"$H2_STREAMS" -D "$DUR" -H "x-api-key: $key" "$url" 2>&1)
		t1=$(ticks $pids)
		w1=$(date +%s.%N)
		req=$(awk '/^requests:/ {print $6}' <<<"$out")
		secs=$(awk '/^finished in/ {sub(/s,$/, "", $3); print $3}' <<<"$out")
		errs=$(awk '/^requests:/ {print $12 + $14}' <<<"$out")
		local s2 s4 s5
		s2=$(awk '/^status codes:/ {print $3}' <<<"$out")
		s4=$(awk '/^status codes:/ {print $7}' <<<"$out")
		s5=$(awk '/^status codes:/ {print $9}' <<<"$out")
		if [ "$want" = 200 ]; then
			[ "${s4:-1}" = 0 ] && [ "${s5:-1}" = 0 ] && bad=0 || bad=1
		else
			[ "${s2:-1}" -le $((req / 100)) ] && [ "${s5:-1}" = 0 ] && bad=0 || bad=1
		fi
	fi
	local sc=null cs=null
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		sc=$(awk -F, '$3 == "raw_syscalls:sys_enter" && $1 ~ /^[0-9]+$/ {print $1}' "$perf_out")
		cs=$(awk -F, '$3 == "context-switches" && $1 ~ /^[0-9]+$/ {print $1}' "$perf_out")
	fi
	if [ -z "$req" ] || [ -z "$secs" ] || [ "$req" = 0 ]; then
		say "$srv $scen $proto: no result: $(tail -3 <<<"$out" | tr '\n' ' ')"
		return
	fi
	[ "$bad" = 0 ] || say "$srv $scen $proto round $round: unexpected statuses (excluded)"
	jq -cn --arg srv "$srv" --arg scen "$scen" --arg proto "$proto" --argjson round "$round" \
		--argjson req "$req" --argjson secs "$secs" --argjson ticks $((t1 - t0)) \
		--argjson hz "$HZ" --argjson wall "$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')" \
		--argjson sc "${sc:-null}" --argjson cs "${cs:-null}" \
		--argjson errs "${errs:-0}" --argjson valid "$([ "$bad" = 0 ] && echo true || echo false)" '{
		server: $srv, scenario: $scen, proto: $proto, round: $round, requests: $req,
		seconds: $secs, rps: ($req / $secs), cpu_s: ($ticks / $hz), wall_s: $wall,
		req_per_cpu_s: (if $ticks > 0 then $req / ($ticks / $hz) else null end),
		cpu_util: ($ticks / $hz / $wall), errors: $errs, valid: $valid}
		+ (if $sc != null then {syscalls_per_req: ($sc / $req),
			switches_per_req: (($cs // 0) / $req)} else {} end)' >>"$RUNS"
}

# TLS handshakes: openssl s_time, one connection at a time, each a handshake and one
# HTTP/1.0 request (s_time -www; TLS 1.3 tickets arrive after the handshake, so resumption
# needs the read). full: -new; resumed: -reuse (checked: every connection but the first
# resumed).
run_tls() {
	local srv=$1 mode=$2 round=$3 pids t0 t1 w0 w1 out n r opt
	pids=$(pids_of "$srv")
	[ "$mode" = full ] && opt=-new || opt=-reuse
	w0=$(date +%s.%N)
	t0=$(ticks $pids)
	out=$(timeout "$WRK_TIMEOUT" taskset -c "$LOAD_CPU" openssl s_time \
		-connect "127.0.0.1:$(port_of "$srv")" $opt -time "$DUR" -www "$URL_PATH" 2>&1)
	t1=$(ticks $pids)
	w1=$(date +%s.%N)
	n=$(awk '/connections in .* real seconds/ {print $1}' <<<"$out" | tail -1)
	r=$(grep -E '^[*r]+$' <<<"$out" | tr -d '*\n' | wc -c)
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		say "$srv tls-$mode: no result: $(tail -3 <<<"$out" | tr '\n' ' ')"
		return
	fi
	jq -cn --arg srv "$srv" --arg scen "tls-$mode" --argjson round "$round" --argjson n "$n" \
		--argjson r "$r" --argjson ticks $((t1 - t0)) --argjson hz "$HZ" \
		--argjson wall "$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')" \
		--arg mode "$mode" '{
		server: $srv, scenario: $scen, proto: "tls", round: $round, requests: $n,
		resumed: $r, seconds: $wall, rps: ($n / $wall), cpu_s: ($ticks / $hz), wall_s: $wall,
		req_per_cpu_s: (if $ticks > 0 then $n / ($ticks / $hz) else null end),
		cpu_util: ($ticks / $hz / $wall), errors: 0,
		valid: (if $mode == "resumed" then $r >= 0.95 * ($n - 1) else true end)}' >>"$RUNS"
}

# A round is a list of groups, one per scenario x protocol; a group measures every server
# back to back (in an order rotated each round), so that the ratios of a group come from
# measurements seconds apart. Groups run in a rotated order too.
GROUP_LIST=()
for g in "proxy h1" "proxy h2" "401 h1" "401 h2" "429 h1" "429 h2" "cache h1" "cache h2" \
	"tls-full tls" "tls-resumed tls"; do
	wanted "${g% *}" && GROUP_LIST+=("$g")
done
[ ${#GROUP_LIST[@]} -gt 0 ] || die "FG_BENCH_GW_GROUPS=$GROUPS_ONLY names no scenario"
SRV_LIST=($SERVERS)
NG=${#GROUP_LIST[@]} NS=${#SRV_LIST[@]}
T_START=$(date +%s)
# What was measured: the daemon's source revision (the binary is the caller's build of it).
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- userspace 2>/dev/null || REV="$REV+local-changes"
say "1/5 max load: $ROUNDS rounds x $NG groups x $NS servers x ${DUR}s"
for round in $(seq "$ROUNDS"); do
	for gi in $(seq 0 $((NG - 1))); do
		g=$(((gi + (round - 1) * 3) % NG))
		[ $((round % 2)) = 0 ] && g=$((NG - 1 - g))
		read -r scen proto <<<"${GROUP_LIST[$g]}"
		for si in $(seq 0 $((NS - 1))); do
			srv=${SRV_LIST[$(((si + round - 1 + gi) % NS))]}
			case $scen in
			tls-full) run_tls "$srv" full "$round" ;;
			tls-resumed) run_tls "$srv" resumed "$round" ;;
			*)
				case " $BROKEN " in *" $srv/$scen "* | *" $srv/floor "*) continue ;; esac
				run_load "$srv" "$scen" "$proto" "$round"
				;;
			esac
		done
	done
	say "round $round done ($(($(date +%s) - T_START)) s)"
done

# Medians per server x scenario x proto over the valid rounds, and the ratios of floodgate
# to each other server: per round (same group, seconds apart), then their median.
MED='def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;'
jq -s "$MED"'
	map(select(.valid)) | group_by([.server, .scenario, .proto])
	| map({server: .[0].server, scenario: .[0].scenario, proto: .[0].proto, rounds: length,
		req_per_cpu_s: (map(.req_per_cpu_s | select(. != null)) | median),
		rps: (map(.rps) | median), cpu_util: (map(.cpu_util) | median)})' "$RUNS" \
	>"$W/run/medians.json"
jq -s "$MED"'
	map(select(.valid)) | group_by([.scenario, .proto])
	| map(. as $g | {scenario: .[0].scenario, proto: .[0].proto}
		+ ([["nginx", "haproxy", "floor"][] as $x | ["req_per_cpu_s", "rps"][] as $f
		   | {key: ($f + "_fg_" + $x),
		      value: ([$g | group_by(.round)[]
				| (map(select(.server == "floodgate"))[0][$f]) as $a
				| (map(select(.server == $x))[0][$f]) as $b
				| select($a != null and $b != null and $b > 0) | $a / $b] | median)}]
		   | from_entries))' "$RUNS" >"$W/run/ratios.json"
med() { # server scenario proto field
	jq -r --arg s "$1" --arg c "$2" --arg p "$3" --arg f "$4" \
		'map(select(.server == $s and .scenario == $c and .proto == $p))[0][$f] // empty' \
		"$W/run/medians.json"
}

# ---- 2. latency at a fixed rate: 50 % of nginx's max (HTTP/1.1) ----
run_lat() { # server scenario rate round
	local srv=$1 scen=$2 rate=$3 round=$4 pids t0 t1 out want
	want=$(status_of "$scen")
	[ "$srv" = floor ] && want=200
	pids=$(pids_of "$srv")
	t0=$(ticks $pids)
	out=$(timeout $((LAT_DUR + 30)) taskset -c "$LOAD_CPU" "$BUILD/fg-fixedrate" -r "$rate" \
		-d "$LAT_DUR" -c "$LAT_CONNS" -H "X-API-Key: $(key_of "$scen")" \
		"https://127.0.0.1:$(port_of "$srv")$(path_of "$scen")")
	t1=$(ticks $pids)
	[ -n "$out" ] || {
		say "$srv $scen latency: no result"
		return
	}
	jq -c --arg srv "$srv" --arg scen "$scen" --argjson round "$round" \
		--argjson ticks $((t1 - t0)) --argjson hz "$HZ" --arg want "$want" '
		{server: $srv, scenario: $scen, round: $round, target_rate, achieved_rate,
		 scheduled, completed, errors, client_late_1ms, queued, max_queue, status,
		 held: (.completed >= 0.99 * .scheduled and .client_late_1ms <= 0.01 * .scheduled),
		 valid: ((.status[$want] // 0) >= 0.99 * .completed and .completed > 0),
		 p50_ms: .latency_ms.p50, p99_ms: .latency_ms.p99, max_ms: .latency_ms.max,
		 service_p99_ms: .service_ms.p99,
		 req_per_cpu_s: (if $ticks > 0 then .completed / ($ticks / $hz) else null end)}' \
		<<<"$out" >>"$LATS"
}
LAT_JOBS=()
declare -A LAT_RATE
for scen in proxy 401 429 cache; do
	wanted "$scen" || continue
	m=$(med nginx "$scen" h1 rps)
	if [ -z "$m" ]; then
		say "no nginx max for $scen: its latency is not measured"
		continue
	fi
	LAT_RATE[$scen]=$(awk -v m="$m" 'BEGIN {printf "%d", m / 2}')
	for srv in $SERVERS; do
		case " $BROKEN " in *" $srv/$scen "* | *" $srv/floor "*) continue ;; esac
		LAT_JOBS+=("$srv $scen")
	done
done
NLAT=${#LAT_JOBS[@]}
say "2/5 latency at 50 % of nginx's max: $LAT_ROUNDS rounds x $NLAT measurements x ${LAT_DUR}s"
for round in $(seq "$LAT_ROUNDS"); do
	for i in $(seq 0 $((NLAT - 1))); do
		j=$i
		[ $((round % 2)) = 0 ] && j=$((NLAT - 1 - i))
		read -r srv scen <<<"${LAT_JOBS[$j]}"
		run_lat "$srv" "$scen" "${LAT_RATE[$scen]}" "$round"
	done
done
NGINX_CACHE_FILES=$(find "$W/run/nginx-cache" -type f | wc -l)
# floodgate's 200s and its upstream requests: without the cache-hit scenario they are
# equal (every admitted request forwarded); with it, the hits are the difference.
FG_CHECK=null
if have floodgate; then
	FG_CHECK=$(curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '
		/^floodgate_requests_total\{.*status="200"/ {ok += $NF}
		/^floodgate_upstream_latency_seconds_count/ {up += $NF}
		END {printf "{\"responses_200\":%d,\"upstream_requests\":%d}", ok, up}')
	[ -n "$FG_CHECK" ] || FG_CHECK=null
fi

# ---- 3. memory per key, start and reload with N keys ----
MEM=null
if [ "$NKEYS" -gt 0 ]; then
	say "3/5 memory and reload with $NKEYS keys"
	fg_stop
	rss_kb() {
		awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
	}
	# The same short warm-up before each reading, so buffers and pools exist in both.
	warm() {
		taskset -c "$LOAD_CPU" "$BUILD/fg-fixedrate" -r 2000 -d 1 -c "$LAT_CONNS" \
			-H "X-API-Key: $1" "https://127.0.0.1:$FG_PORT$URL_PATH" >/dev/null
		sleep 1
	}
	MEM_KEY=fgb-mem-key-ok
	DB0=$W/run/keys0.db
	"$PY" "$TPL/mkstore.py" "$DB0" 0 "bench=$MEM_KEY" || die "Couldn't write $DB0"
	fg_config "$DB0" >"$W/run/floodgate-0.json"
	fg_start "$W/run/floodgate-0.json" || die "floodgate did not start with an empty store"
	warm "$MEM_KEY"
	RSS0=$(rss_kb "$FG_PID")
	fg_stop

	# The N-key store is kept between runs (writing it takes ~10 s).
	DBN_CACHE=$W/keys-$NKEYS.db DBN=$W/run/keysN.db
	if [ ! -s "$DBN_CACHE" ] || [ "$(sqlite3 "$DBN_CACHE" 'select count(*) from keys' 2>/dev/null)" != $((NKEYS + 1)) ]; then
		say "writing a store of $NKEYS keys"
		"$PY" "$TPL/mkstore.py" "$DBN_CACHE" "$NKEYS" "bench=$MEM_KEY" ||
			die "Couldn't write $DBN_CACHE"
	fi
	cp "$DBN_CACHE" "$DBN" || die "Couldn't copy $DBN_CACHE"
	rm -f "$DBN-wal" "$DBN-shm"
	fg_config "$DBN" >"$W/run/floodgate-n.json"
	s0=$(date +%s.%N)
	fg_start "$W/run/floodgate-n.json" || die "floodgate did not start with $NKEYS keys"
	START_S=$(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
	LOADED=$(fg_health | jq -r '.keys')
	warm "$MEM_KEY"
	RSSN=$(rss_kb "$FG_PID")
	say "RSS ${RSS0} kB with 0 keys, ${RSSN} kB with $LOADED keys; started in ${START_S}s"

	# Reloads of the N keys (SIGHUP, 2 s into a fixed-rate load of proxied requests over
	# HTTP/1.1), at a light rate (RELOAD_RATE: the reload has CPU 1 nearly to itself, so
	# what is seen is the daemon's own stall, if any) and at 50 % of nginx's proxied max
	# (the reload competes with the worker for the one CPU they are pinned to). The reload
	# is over when /healthz shows the next generation.
	# CPU ticks of PID's threads that have exited: the process's utime+stime (which
	# keeps those of ended threads) minus those of its live threads.
	exited_ticks() {
		local all live
		all=$(sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')
		live=$(cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/^.*) //' |
			awk '{s += $12 + $13} END {print s}')
		echo $((all - live))
	}
	reload_test() { # rate tag -> JSON on stdout
		local rate=$1 tag=$2 gen0 load main0 main1 t_hup t_done g t0 hup done gap res
		local log=$W/run/reload-$tag.log js=$W/run/reload-$tag.json
		gen0=$(fg_health | jq -r '.generation')
		taskset -c "$LOAD_CPU" "$BUILD/fg-fixedrate" -r "$rate" -d $((LAT_DUR + 4)) \
			-c "$LAT_CONNS" -H "X-API-Key: $MEM_KEY" -o "$log" \
			"https://127.0.0.1:$FG_PORT$URL_PATH" >"$js" &
		load=$!
		PIDS+=("$load")
		sleep 2
		# The reload runs on a thread of its own (fg-reload) that ends with it: its CPU
		# time is what the process's total gained beyond that of the threads still there.
		main0=$(exited_ticks "$FG_PID")
		t_hup=$(date +%s%N)
		kill -HUP "$FG_PID"
		t_done=""
		for _ in $(seq 600); do
			g=$(fg_health | jq -r '.generation' 2>/dev/null)
			if [ -n "$g" ] && [ "$g" != "$gen0" ]; then
				t_done=$(date +%s%N)
				break
			fi
			sleep 0.05
		done
		main1=$(exited_ticks "$FG_PID")
		wait "$load"
		if [ -z "$t_done" ] || [ ! -s "$js" ]; then
			say "reload at $rate req/s: it did not finish within 30 s, or the load did not run"
			echo '{"reload_s": null}'
			return
		fi
		# Windows on fg-fixedrate's clock (microseconds since its start).
		t0=$(jq -r .start_unix_us "$js")
		hup=$((t_hup / 1000 - t0)) done=$((t_done / 1000 - t0))
		# The longest time without any response completing, while the reload ran.
		gap=$(awk '$3 > 0 {print $3}' "$log" | sort -n | awk -v hup="$hup" -v done="$done" '
			NR > 1 && $1 >= hup && prev <= done && $1 - prev > g {g = $1 - prev}
			{prev = $1} END {printf "%.3f", g / 1e3}')
		res=$(awk -v hup="$hup" -v done="$done" -v gap="$gap" \
			-v cpu="$(awk -v a="$main0" -v b="$main1" -v hz="$HZ" 'BEGIN {print (b - a) / hz}')" '
			# due sent done status (us); latency counted from when the request was due
			$3 > 0 { lat = $3 - $1
				if ($1 < hup) { if (lat > bmax) bmax = lat; bn++ }
				else if ($1 <= done) { if (lat > rmax) rmax = lat; rn++ }
				else { if (lat > amax) amax = lat; an++ } }
			$4 != 200 { bad++ }
			END {
				printf "{\"reload_s\":%.3f,\"reload_cpu_s\":%.2f,\"window_us\":[%d,%d],", (done - hup) / 1e6, cpu, hup, done
				printf "\"before\":{\"requests\":%d,\"max_ms\":%.3f},", bn, bmax / 1e3
				printf "\"during\":{\"requests\":%d,\"max_ms\":%.3f,\"longest_gap_ms\":%s},", rn, rmax / 1e3, gap
				printf "\"after\":{\"requests\":%d,\"max_ms\":%.3f},\"non_200\":%d}\n", an, amax / 1e3, bad
			}' "$log")
		jq -c --argjson rate "$rate" --slurpfile load "$js" '. + {rate: $rate,
			load: $load[0] | {target_rate, achieved_rate, completed, errors,
			client_late_1ms, queued, status, latency_ms}}' <<<"$res"
	}
	RELOAD_LIGHT=$(reload_test "$RELOAD_RATE" light)
	RELOAD_HALF=$(reload_test "${LAT_RATE[proxy]:-$RELOAD_RATE}" half)
	RSSR=$(rss_kb "$FG_PID")
	MEM=$(jq -cn --argjson rss0 "$RSS0" --argjson rssn "$RSSN" --argjson rssr "$RSSR" \
		--argjson n "$NKEYS" --argjson loaded "${LOADED:-0}" --argjson start "$START_S" \
		--argjson light "$RELOAD_LIGHT" --argjson half "$RELOAD_HALF" '
		{keys: $n, keys_loaded: $loaded, rss_kb_0: $rss0, rss_kb_n: $rssn,
		 rss_kb_after_reloads: $rssr,
		 bytes_per_key: ((($rssn - $rss0) * 1024 / $n) | round), start_s: $start,
		 reload_light: $light, reload_half: $half}')
	fg_stop
fi

# ---- results ----
T_TOTAL=$(($(date +%s) - T_START))
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
jq -n --slurpfile runs "$RUNS" --slurpfile lats "$LATS" --slurpfile med "$W/run/medians.json" \
	--slurpfile rat "$W/run/ratios.json" \
	--argjson mem "$MEM" --arg date "$(date -u +%FT%TZ)" --arg cpu "$CPU_MODEL" \
	--arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--arg nginx "$(nginx -v 2>&1 | sed 's/.*\///')" \
	--arg haproxy "$(haproxy -v | awk 'NR == 1 {print $3}')" \
	--arg openssl "$(openssl version | awk '{print $2}')" \
	--arg h2o "$(dpkg-query -W -f='${Version}' libh2o-evloop-dev 2>/dev/null)" \
	--argjson dur "$DUR" --argjson rounds "$ROUNDS" --argjson ldur "$LAT_DUR" \
	--argjson lrounds "$LAT_ROUNDS" --argjson conns "$CONNS" --argjson h2c "$H2_CONNS" \
	--argjson h2m "$H2_STREAMS" --argjson body "$BODY" --argjson total "$T_TOTAL" \
	--arg rev "$REV" --arg env "$(env | grep '^FG_BENCH_GW_' | sort | sed "s/=\(.*\)/='\1'/" | tr '\n' ' ')" \
	--argjson cachefiles "$NGINX_CACHE_FILES" --argjson fgcheck "$FG_CHECK" --arg broken "$BROKEN" "$MED"'
	def m($s; $c; $p; $f): ($med[0] | map(select(.server == $s and .scenario == $c and .proto == $p))[0][$f]) // null;
	def r3: if . == null then null else (. * 1000 | round) / 1000 end;
	def ratio($c; $p; $f): ($rat[0] | map(select(.scenario == $c and .proto == $p))[0][$f]) // null | r3;
	# Only runs where the client held the rate count: a starved client measures itself.
	def lat($s; $c): ($lats | map(select(.server == $s and .scenario == $c))) as $all
		| ($all | map(select(.valid and .held)))
		| if length == 0 then (if ($all | length) > 0 then {rounds: 0, of: ($all | length)} else null end) else
		  {p50_ms: (map(.p50_ms) | median), p99_ms: (map(.p99_ms) | median),
		   max_ms: (map(.max_ms) | max), rate: .[0].target_rate,
		   achieved_rate: (map(.achieved_rate) | median), held: (map(.held) | all),
		   client_late: (map(.client_late_1ms) | add), queued: (map(.queued) | add),
		   req_per_cpu_s: (map(.req_per_cpu_s | select(. != null)) | median), rounds: length,
		   of: ($all | length)} end;
	{date: $date, floodgate_rev: $rev, command: ("make bench-gw " + $env | rtrimstr(" ")),
	 machine: {cpus: $cpus, cpu: $cpu, kernel: $kernel},
	 versions: {nginx: $nginx, haproxy: $haproxy, openssl: $openssl, libh2o: $h2o},
	 knobs: {duration_s: $dur, rounds: $rounds, latency_duration_s: $ldur,
		 latency_rounds: $lrounds, wrk_connections: $conns, h2_connections: $h2c,
		 h2_streams: $h2m, body_bytes: $body},
	 seconds: $total,
	 not_measured: [$broken | splits(" ") | select(length > 0)],
	 nginx_cache_files_after: $cachefiles,
	 floodgate_proxied: $fgcheck,
	 scenarios: ([["proxy", "h1"], ["proxy", "h2"], ["401", "h1"], ["401", "h2"],
		     ["429", "h1"], ["429", "h2"], ["cache", "h1"], ["cache", "h2"],
		     ["tls-full", "tls"], ["tls-resumed", "tls"]]
		| map(.[0] as $c | .[1] as $p
		| {scenario: $c, proto: $p,
		   req_per_cpu_s: ({floodgate: m("floodgate"; $c; $p; "req_per_cpu_s"),
				   nginx: m("nginx"; $c; $p; "req_per_cpu_s"),
				   haproxy: m("haproxy"; $c; $p; "req_per_cpu_s"),
				   floor: m("floor"; $c; $p; "req_per_cpu_s")} | map_values(r3)),
		   rps: ({floodgate: m("floodgate"; $c; $p; "rps"), nginx: m("nginx"; $c; $p; "rps"),
			 haproxy: m("haproxy"; $c; $p; "rps"), floor: m("floor"; $c; $p; "rps")}
			| map_values(r3)),
		   ratios: {fg_nginx: ratio($c; $p; "req_per_cpu_s_fg_nginx"),
			    fg_haproxy: ratio($c; $p; "req_per_cpu_s_fg_haproxy"),
			    fg_floor: ratio($c; $p; "req_per_cpu_s_fg_floor"),
			    rps_fg_nginx: ratio($c; $p; "rps_fg_nginx"),
			    rps_fg_haproxy: ratio($c; $p; "rps_fg_haproxy"),
			    rps_fg_floor: ratio($c; $p; "rps_fg_floor")}})),
	 latency: (["proxy", "401", "429", "cache"] | map(. as $c | {scenario: $c,
		floodgate: lat("floodgate"; $c), nginx: lat("nginx"; $c),
		haproxy: lat("haproxy"; $c), floor: lat("floor"; $c)})),
	 memory: $mem,
	 runs: $runs, latency_runs: $lats}' >"$OUT/gw.json" || die "Couldn't write $OUT/gw.json"

scripts/bench-gw/report.sh "$OUT/gw.json" >"$W/run/gw.md" || die "Couldn't write the report"
# 4. cluster mode (plan bucket in Redis) against embedded, same run; its own ports.
if [ "${FG_BENCH_GW_CLUSTER_ROUNDS:-3}" -gt 0 ] && have floodgate; then
	say "4/5 cluster mode vs embedded"
	fg_stop
	FG_BENCH_GW_CLUSTER_PORT=$((PORT + 20)) scripts/bench-gw/cluster.sh >"$W/run/cluster.md" &&
		printf '\n' >>"$W/run/gw.md" && cat "$W/run/cluster.md" >>"$W/run/gw.md" ||
		say "the cluster-mode scenario could not measure (see above)"
fi
# 5. what an upstream failover adds to a request's latency; its own ports.
if [ "${FG_BENCH_GW_FAILOVER_ROUNDS:-3}" -gt 0 ] && have floodgate; then
	say "5/5 upstream failover"
	fg_stop
	FG_BENCH_GW_FAILOVER_PORT=$((PORT + 30)) scripts/bench-gw/failover.sh >"$W/run/failover.md" &&
		printf '\n' >>"$W/run/gw.md" && cat "$W/run/failover.md" >>"$W/run/gw.md" ||
		say "the failover scenario could not measure (see above)"
fi
cat "$W/run/gw.md"
if [ "${FG_BENCH_GW_DOC:-1}" = 1 ]; then
	scripts/bench-doc.sh gw "$W/run/gw.md"
	say "wrote $OUT/gw.json and the gw section of docs/benchmarks.md (${T_TOTAL}s)"
else
	say "wrote $OUT/gw.json (${T_TOTAL}s; docs/benchmarks.md untouched: FG_BENCH_GW_DOC=0)"
fi

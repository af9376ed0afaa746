#!/usr/bin/env bash
# gw_upstreams: upstream groups - each strategy's distribution (round-robin even, weights
# respected, least-connections away from a slow server, consistent hash stable,
# first-success past a dead server), failover costing one connect timeout at most (a
# loopback blackhole), a server killed in the middle of a wrk run (zero
# client errors), active health checks taking a server out and back, the circuit breaker
# opening and half-opening, every server down (502, counted, one rate-limited
# notification), fgctl upstreams, config errors.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

A=$((UP_BAD3 + 1)) B=$((UP_BAD3 + 2)) C=$((UP_BAD3 + 3))
SLOW=$((UP_BAD3 + 4)) K1=$((UP_BAD3 + 5)) K2=$((UP_BAD3 + 6))
D1=$((UP_BAD3 + 7)) D2=$((UP_BAD3 + 8)) R=$((UP_BAD3 + 9))
for p in $A $B $C; do gw_upstream "$p"; done
gw_upstream "$SLOW" --delay 3000
gw_upstream "$K2"
PIDS=()
start_up() { # start_up PORT: a server this test kills and restarts itself
	fg-upstream -l "127.0.0.1:$1" >>"$GW_DIR/up-$1.log" 2>&1 &
	PIDS[$1]=$!
	defer "kill ${PIDS[$1]} 2>/dev/null"
	gw_wait_port "$1"
}
stop_up() { kill "${PIDS[$1]}" 2>/dev/null; wait "${PIDS[$1]}" 2>/dev/null; }
start_up "$K1"
# The webhook: an HTTP server that keeps the body it is POSTed, then exits.
WH=$((UP_BAD3 + 10))
python3 -c 'import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        open(sys.argv[1], "wb").write(self.rfile.read(n))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), H)
while not os.path.exists(sys.argv[1]):
    srv.handle_request()' \
	"$GW_DIR/webhook.json" "$WH" &
defer "kill $! 2>/dev/null"
gw_wait_port "$WH"

# A blackhole on loopback: a listener with a backlog of 0, filled by its own connection,
# never accepting: further SYNs go unanswered and a connect times out.
BH=$((UP_BAD3 + 11))
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(0)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(600)' "$BH" &
defer "kill $! 2>/dev/null"
sleep 0.5

srv() { printf '"http://127.0.0.1:%s"' "$1"; }
group() { # group NAME STRATEGY SERVERS-JSON [EXTRA-JSON]
	printf '"%s": {"servers": [%s], "strategy": "%s", "connect_timeout_ms": 300%s}' \
		"$1" "$3" "$2" "${4:+, $4}"
}
route() { printf '{"name": "%s", "methods": ["GET", "POST"], "path": "/g/%s", "upstream": "%s"}' "$1" "$1" "$1"; }
gw_config ".threads = 1
	| .upstreams += {$(group rr round-robin "$(srv $A), $(srv $B), $(srv $C)"),
		$(group wt weighted "{\"url\": $(srv $A), \"weight\": 1}, {\"url\": $(srv $B), \"weight\": 2}, {\"url\": $(srv $C), \"weight\": 3}"),
		$(group lc least-connections "$(srv $SLOW), $(srv $A)"),
		$(group hk hash-key "$(srv $A), $(srv $B), $(srv $C)"),
		$(group fs first-success "$(srv $UP_DEAD), $(srv $B)" '"passive": {"failures": 3, "open_ms": 60000}'),
		$(group kill round-robin "$(srv $K1), $(srv $K2)" '"health_check": {"path": "/health", "interval_ms": 200, "timeout_ms": 150, "rise": 2, "fall": 2}'),
		$(group br round-robin "$(srv $R), $(srv $A)" '"passive": {"failures": 2, "open_ms": 1500}'),
		$(group down round-robin "$(srv $D1), $(srv $D2)" '"passive": {"failures": 1, "open_ms": 60000}'),
		$(group fo round-robin "$(srv $BH), $(srv $B)" '"connect_timeout_ms": 600, "passive": {"failures": 0}')}
	| .routes += [$(route rr), $(route wt), $(route lc), $(route hk), $(route fs), $(route kill), $(route br), $(route down), $(route fo)]
	| .notify = {\"command\": \"echo \$FLOODGATE_EVENT \$FLOODGATE_UPSTREAM >> $GW_DIR/notified\",
		\"webhook\": \"http://127.0.0.1:$WH/hook\", \"min_interval_s\": 3600}" \
	>"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish
URL=https://127.0.0.1:$GW_PORT
KEY=$(gw_key load)
H="X-API-Key: $KEY"
export FLOODGATE_ADMIN_TOKEN=$GW_TOKEN

# requests per server of upstream NAME, in server order: "20 20 20"
counts() { admin GET /v1/upstreams | jq -r --arg u "$1" '.upstreams[] | select(.name == $u) | [.servers[].requests] | map(tostring) | join(" ")'; }
state() { admin GET /v1/upstreams | jq -r --arg u "$1" --argjson i "$2" '.upstreams[] | select(.name == $u) | .servers[$i].state'; }
many() { # many N PATH [CURL ARGS]: N sequential requests on one connection, print the codes
	local n=$1 p=$2 urls=()
	shift 2
	for ((i = 0; i < n; i++)); do urls+=(-o /dev/null "$URL$p"); done
	req -H "$H" "$@" -w '%{http_code}\n' "${urls[@]}"
}

# ---- strategies ----
is "round-robin: 60 requests, all 200" "$(many 60 /g/rr | sort | uniq -c | awk '{print $2":"$1}')" "200:60"
is "... even: 20 each" "$(counts rr)" "20 20 20"
many 60 /g/wt >/dev/null
is "weighted 1:2:3: 10, 20, 30" "$(counts wt)" "10 20 30"
# 10 at once (they may arrive together and split evenly), then, while the slow server still
# holds its share for 3 s, 10 more one after the other: all to the fast one.
parallel 10 -H "$H" $(for i in $(seq 10); do echo "$URL/g/lc"; done) >/dev/null &
PAR=$!
sleep 1
read -r slow0 fast0 <<<"$(counts lc)"
many 10 /g/lc >/dev/null
read -r slow1 fast1 <<<"$(counts lc)"
wait "$PAR"
is "least-connections: while the slow server is busy, the fast one takes every request" \
	"$((slow1 - slow0)) $((fast1 - fast0))" "0 10"
K3=$(gw_key load)
for i in $(seq 10); do req -H "X-API-Key: $K3" -o /dev/null "$URL/g/hk"; done
is "hash-key: one key, always one server" "$(counts hk | tr ' ' '\n' | sort -n | tail -1)" 10
before=$(counts hk)
for i in $(seq 10); do req -H "X-API-Key: $K3" -o /dev/null "$URL/g/hk"; done
after=$(counts hk)
is "... the same server again" "$(paste <(echo "$before" | tr ' ' '\n') <(echo "$after" | tr ' ' '\n') | awk '$2 != $1 {n++} END {print n + 0}')" 1
for i in $(seq 12); do k=$(gw_key load); req -H "X-API-Key: $k" -o /dev/null "$URL/g/hk"; done
cmp_ok "... many keys spread over the servers" "$(counts hk | tr ' ' '\n' | awk '$1 > 0 {n++} END {print n}')" -ge 2
is "first-success: the dead first server is skipped, every answer 200" \
	"$(many 10 /g/fs | sort | uniq -c | awk '{print $2":"$1}')" "200:10"
is "... tried once, then ordered after the healthy one" "$(counts fs)" "1 10"

# ---- failover costs one connect timeout ----
# Round-robin over a blackhole (connect timeout 600 ms, never ejected) and a good server:
# a request sent to the blackhole first waits for one connect timeout, then the good
# server answers.
times=$(for i in 1 2 3 4; do req -H "$H" -o /dev/null -w '%{http_code} %{time_total}\n' "$URL/g/fo"; done)
is "failover: every request answered 200" "$(awk '{print $1}' <<<"$times" | sort -u)" 200
cmp_ok "... the blackhole was tried (a request took >= 0.6 s)" "$(awk '$2 >= 0.6 {n++} END {print n + 0}' <<<"$times")" -ge 1
cmp_ok "... and none paid more than one connect timeout (< 1.2 s)" "$(awk '$2 >= 1.2 {n++} END {print n + 0}' <<<"$times")" -eq 0

# ---- a server killed during a wrk run ----
cat >"$GW_DIR/errors.lua" <<'EOF'
done = function(summary, latency, requests)
	io.write(string.format("errors %d non2xx\n", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
bounded 20 wrk -t1 -c8 -d4s -H "$H" -s "$GW_DIR/errors.lua" "$URL/g/kill" >"$GW_DIR/wrk.out" 2>&1 &
WRK=$!
sleep 1.2
stop_up "$K1"
wait "$WRK"
like "wrk ran" "$(cat "$GW_DIR/wrk.out")" "Requests/sec"
is "zero socket errors with a server killed mid-run" "$(awk '/^errors/ {print $2}' "$GW_DIR/wrk.out")" 0
unlike "zero non-2xx answers" "$(cat "$GW_DIR/wrk.out")" "Non-2xx"
ok "the health check takes it out" wait_for 5 bash -c "[ \"\$(FLOODGATE_ADMIN_TOKEN=$GW_TOKEN fgctl upstreams --admin http://127.0.0.1:$ADMIN_PORT --json | jq -r '.upstreams[] | select(.name == \"kill\") | .servers[0].state')\" = down ]"
start_up "$K1"
ok "... and brings it back when it returns" wait_for 5 bash -c "[ \"\$(FLOODGATE_ADMIN_TOKEN=$GW_TOKEN fgctl upstreams --admin http://127.0.0.1:$ADMIN_PORT --json | jq -r '.upstreams[] | select(.name == \"kill\") | .servers[0].state')\" = up ]"
before=$(counts kill | cut -d' ' -f1)
many 6 /g/kill >/dev/null
cmp_ok "... and it takes requests again" "$(counts kill | cut -d' ' -f1)" -gt "$before"

# ---- circuit breaker: open, half-open, closed ----
is "breaker group: answers while R is dead" "$(many 6 /g/br | sort | uniq -c | awk '{print $2":"$1}')" "200:6"
is "... R's breaker is open" "$(state br 0)" open
sleep 1.7
is "... after open_ms it is half-open" "$(state br 0)" half-open
many 4 /g/br >/dev/null
is "... the probe failed: open again" "$(state br 0)" open
fg-upstream -l "127.0.0.1:$R" >"$GW_DIR/up-r.log" 2>&1 &
defer "kill $! 2>/dev/null"
gw_wait_port "$R"
sleep 1.7
many 4 /g/br >/dev/null
is "... R back: the probe passes, closed (up)" "$(state br 0)" up

# ---- every server down ----
is "all down: first 502" "$(status_of -H "$H" "$URL/g/down")" 502
body=$(req -H "$H" "$URL/g/down")
like "... then 502 at once, problem+json" "$body" '"status":502'
req -H "$H" -o /dev/null "$URL/g/down"
like "... counted" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep 'all_down_total{upstream="down"}')" 'down"} '
ok "... the operator is notified" wait_for 5 test -s "$GW_DIR/notified"
sleep 0.5
is "... once (rate-limited)" "$(cat "$GW_DIR/notified")" "all-down down"
ok "... and the webhook got the event" wait_for 5 test -s "$GW_DIR/webhook.json"
is "... as JSON" "$(jq -r '.event + " " + .upstream' "$GW_DIR/webhook.json")" "all-down down"
like "per-server metrics" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" \
	"floodgate_upstream_server_requests_total{upstream=\"rr\",server=\"127.0.0.1:$A\"} 20"
like "fgctl upstreams: a table" "$(fgctl upstreams --admin "http://127.0.0.1:$ADMIN_PORT")" "STRATEGY"

# ---- config ----
gw_config '.upstreams.echo.servers = ["http://127.0.0.1:1"]' >"$GW_DIR/bad.json"
like "url and servers together: refused" "$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)" 'expected either "url" or "servers"'
gw_config '.upstreams.echo.strategy = "random"' >"$GW_DIR/bad.json"
like "an unknown strategy: refused" "$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)" 'upstreams.echo.strategy: expected round-robin'
gw_config '.upstreams.echo.servers = ["http://127.0.0.1:1", "ftp://x"] | del(.upstreams.echo.url)' >"$GW_DIR/bad.json"
like "a bad server URL: its position" "$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)" 'upstreams.echo.servers[1]: only http://'
ok "the daemon is still up" kill -0 "$GW_PID"
finish

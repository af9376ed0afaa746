#!/usr/bin/env bash
# gw_stop: graceful stop - on SIGTERM the listeners close at once, requests in flight
# (HTTP/1.1 and HTTP/2) finish, the daemon exits 0; past limits.shutdown_timeout_ms it
# exits anyway; SIGINT does the same; keys persist across a restart.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_upstream "$UP_SLOW" --delay 1500
CFG=$GW_DIR/c.json
gw_config '.upstreams.slow.first_byte_timeout_ms = 5000 | .upstreams.slow.total_timeout_ms = 8000
	| .limits.shutdown_timeout_ms = 5000' >"$CFG"
gw_start "$CFG" || finish
URL=https://127.0.0.1:$GW_PORT
PREM=$(gw_key premium)

req --http1.1 -o "$GW_DIR/h1.out" -w '%{http_code}' -H "X-API-Key: $PREM" "$URL/v1/slow" >"$GW_DIR/h1.code" &
C1=$!
req --http2 -o "$GW_DIR/h2.out" -w '%{http_code}' -H "X-API-Key: $PREM" "$URL/v1/slow" >"$GW_DIR/h2.code" &
C2=$!
sleep 0.5
kill -TERM "$GW_PID"
sleep 0.5
bounded 5 curl -s -k -m 3 -o /dev/null "$URL/v1/items"
is "new connections are refused once stopping" "$?" 7
wait $C1 $C2
is "the HTTP/1.1 request in flight completes" "$(cat "$GW_DIR/h1.code")" 200
is "the HTTP/2 request in flight completes" "$(cat "$GW_DIR/h2.code")" 200
is "... with its body" "$(wc -c <"$GW_DIR/h2.out")" 100
wait "$GW_PID"
is "exit status 0" "$?" 0
LOG=$(cat "$GW_DIR/floodgate.log")
like "log: stopping gracefully" "$LOG" "received SIGTERM, stopping gracefully"
like "log: stopped" "$LOG" "floodgate: info: stopped"
unlike "log: nothing cut at the deadline" "$LOG" "still in flight"

# past the deadline the daemon goes anyway
gw_config '.upstreams.slow.first_byte_timeout_ms = 5000 | .upstreams.slow.total_timeout_ms = 8000
	| .limits.shutdown_timeout_ms = 300' >"$CFG"
gw_start "$CFG" "daemon restarts"
is "the key survived the restart (502: accepted, the echo upstream is not running)" "$(status_of -H "X-API-Key: $PREM" "$URL/v1/items")" 502
req -o /dev/null -w '%{http_code}' -H "X-API-Key: $PREM" "$URL/v1/slow" >"$GW_DIR/cut.code" &
C3=$!
sleep 0.4
gw_stop
is "exit status 0 after the deadline" "$GW_RC" 0
wait $C3
isnt_200=$(cat "$GW_DIR/cut.code")
cmp_ok "the request still waiting upstream was cut (status $isnt_200)" "${isnt_200:-0}" -ne 200
like "log: says what was cut" "$(cat "$GW_DIR/floodgate.log")" "1 request(s) still in flight at the shutdown deadline"

# SIGINT
gw_start "$CFG" "daemon restarts again"
kill -INT "$GW_PID"
wait "$GW_PID"
is "SIGINT: exit status 0" "$?" 0
like "SIGINT: graceful" "$(cat "$GW_DIR/floodgate.log")" "received SIGINT, stopping gracefully"
finish

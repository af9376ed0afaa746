#!/usr/bin/env bash
# gw_reload: SIGHUP (and POST /v1/reload) under a bounded wrk run - good configs are swapped
# in, bad ones are refused with FILE:LINE:COL and the old config keeps serving, and not one
# request fails or connection drops meanwhile. A reload also re-reads the key store.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_upstream "$UP_FAST" --size 256 --threads 2
CFG=$GW_DIR/c.json
gw_config >"$CFG"
gw_start "$CFG" || finish
URL=https://127.0.0.1:$GW_PORT
LOAD=$(gw_key load)
TIER=$(gw_key tier-free)
hup() { kill -HUP "$GW_PID"; sleep 0.7; }

bounded 30 wrk -t 2 -c 8 -d 7s -H "X-API-Key: $LOAD" "$URL/v1/fast" >"$GW_DIR/wrk.out" 2>&1 &
WRK=$!
sleep 1

# good: a new public route
gw_config '.routes += [{"name": "extra", "methods": ["GET"], "path": "/v1/extra", "upstream": "fast", "auth": false}]' >"$CFG"
hup
is "good reload: the new route answers" "$(status_of "$URL/v1/extra")" 200

# bad: a syntax error, then a bad regex, then a listener change
printf '{\n  "threads": 2,\n  "listen": [\n' >"$CFG"
hup
gw_config '.routes += [{"name": "extra", "methods": ["GET"], "path": "/v1/(extra", "upstream": "fast", "auth": false}]' >"$CFG"
hup
gw_config ".listen[1] = \"127.0.0.1:$UP_DEAD\"" >"$CFG"
hup
is "after bad reloads the last good config still serves" "$(status_of "$URL/v1/extra")" 200
LOG=$(cat "$GW_DIR/floodgate.log")
like "syntax error refused with its position" "$LOG" "reload refused, the running config stays: $CFG:4:"
like "bad regex refused with its position" "$LOG" "routes[6].path: bad regex"
like "listener change refused" "$LOG" "listen (addresses, order, or tls on/off) changed"

# good again, through the admin API this time: the free plan gets a burst of 3 (and a slow
# refill, so that a busy machine cannot add a token between the four requests below)
gw_config '.plans.free.burst = 3 | .plans.free.rate = "1/min"' >"$CFG"
is "POST /v1/reload" "$(admin POST /v1/reload | jq -r .status)" reloaded
is "the extra route is gone again" "$(status_of "$URL/v1/extra")" 404
FREE=$(gw_key free)
is "the new burst applies" "$(for i in 1 2 3 4; do status_of -H "X-API-Key: $FREE" "$URL/v1/fast"; echo -n ' '; done)" "200 200 200 429 "

wait $WRK
W=$(cat "$GW_DIR/wrk.out")
diag "$(echo "$W" | grep -E 'Requests/sec|requests in')"
n=$(echo "$W" | awk '/requests in/ {print $1}')
cmp_ok "wrk ran requests through the reloads" "${n:-0}" -gt 100
unlike "wrk: no socket errors (connect, read, write, timeout)" "$W" "Socket errors"
unlike "wrk: no non-2xx response" "$W" "Non-2xx"

# a plan removed by a reload: its keys are refused, with the plan named in the log
gw_config 'del(.plans["tier-free"])' >"$CFG"
hup
is "a key whose plan is gone: 403 plan-unavailable" \
	"$(req -H "X-API-Key: $TIER" "$URL/v1/fast" | jq -r .type)" "urn:floodgate:problem:plan-unavailable"
gw_config >"$CFG"
hup
is "... and back when the plan is back" "$(status_of -H "X-API-Key: $TIER" "$URL/v1/fast")" 200

# a key written to the store by hand appears at the next reload
KEY=fg_written_by_hand_0001
DIG=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
is "unknown before the reload" "$(status_of -H "X-API-Key: $KEY" "$URL/v1/fast")" 401
ok "insert a key with sqlite3" sqlite3 "$GW_DIR/keys.db" \
	"INSERT INTO keys VALUES ('${DIG:0:16}', X'$DIG', 'premium', 'active', strftime('%s'), 0, 'by hand')"
hup
is "known after SIGHUP" "$(status_of -H "X-API-Key: $KEY" "$URL/v1/fast")" 200

# certificates are reloaded too: new connections get the new one
openssl req -x509 -new -key "$GW_DIR/ec.key" -subj /CN=reloaded -days 2 -out "$GW_DIR/new.crt" 2>/dev/null
gw_config ".listen[0].tls.certificates[0].cert = \"$GW_DIR/new.crt\"" >"$CFG"
hup
like "a reloaded certificate is served" "$(echo | bounded 10 openssl s_client -connect "127.0.0.1:$GW_PORT" -sigalgs ECDSA+SHA256 2>/dev/null)" "subject=CN = reloaded"

# A reload runs on its own thread (fg-reload) at nice +10, below the workers (nice 0): a
# config of long regexes (about 160 KiB to compile) and 200,000 more keys in the store keep
# it alive long enough to look (a few hundred ms here), polled with shell builtins only.
jq -n '[range(48) | {name: "heavy\(.)", methods: ["GET"], upstream: "fast",
	path: ("/heavy/\(.)/(" + ([range(700) | "w\(.)"] | join("|")) + ")")}]' >"$GW_DIR/heavy.json"
gw_config >"$GW_DIR/base.json"
jq --slurpfile h "$GW_DIR/heavy.json" '.routes += $h[0]' "$GW_DIR/base.json" >"$CFG"
ok "200000 keys added to the store" sqlite3 "$GW_DIR/keys.db" "WITH RECURSIVE c(x) AS
	(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) INSERT INTO keys
	SELECT lower(substr(hex(d), 1, 16)), d, 'premium', 'active', strftime('%s'), 0, 'bulk'
	FROM (SELECT randomblob(32) AS d FROM c)"
kill -HUP "$GW_PID"
nice_seen=""
deadline=$((SECONDS + 10))
while [ -z "$nice_seen" ] && [ "$SECONDS" -lt "$deadline" ]; do
	for t in /proc/"$GW_PID"/task/*; do
		read -r comm <"$t/comm" 2>/dev/null || continue
		[ "$comm" = fg-reload ] || continue
		read -r st <"$t/stat" 2>/dev/null || continue
		f=(${st##*) })
		nice_seen=${f[16]}
		break
	done
done
is "a reload runs on fg-reload at nice 10" "$nice_seen" 10
worker_nice=$(for t in /proc/"$GW_PID"/task/*; do
	[ "$(cat "$t/comm")" = fg-worker-0 ] && sed 's/^.*) //' "$t/stat" | awk '{print $17}'; done)
is "the workers stay at nice 0" "$worker_nice" 0
for _ in $(seq 100); do
	[ "$(grep -c 'reloaded' "$GW_DIR/floodgate.log")" -ge 7 ] && break
	sleep 0.1
done
is "the heavy config is in force" "$(status_of -H "X-API-Key: $LOAD" "$URL/heavy/3/w699")" 200

M=$(bounded 5 curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
like "metrics: good reloads" "$M" 'floodgate_config_reloads_total{result="ok"} 7'
like "metrics: refused reloads" "$M" 'floodgate_config_reloads_total{result="failed"} 3'
like "metrics: generation" "$M" 'floodgate_config_generation 8'
ok "still running" kill -0 "$GW_PID"
gw_stop
is "clean stop" "$GW_RC" 0
finish

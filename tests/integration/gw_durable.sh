#!/usr/bin/env bash
# gw_durable: the embedded mode's durability - quota counters are flushed to SQLite at
# least once a second and on stop, so a kill -9 loses at most that window of counting and
# a restart restores them; keys, plan changes and audit entries are written before the
# admin API answers, so a kill -9 right after the answer loses none of them.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_away_from_midnight
gw_upstream "$UP_FAST"
CFG=$GW_DIR/c.json
gw_config '.routes[0].upstream = "fast" | .routes[1].upstream = "fast" | .routes[1].credits = 25
  | .plans.metered = {"rate": 1000000, "burst": 1000000, "routes": "*", "monthly_credits": 100000}
  | .plans.metered2 = {"rate": 1000000, "burst": 1000000, "routes": "*", "monthly_credits": 5000}' >"$CFG"
gw_start "$CFG" || finish
URL=https://127.0.0.1:$GW_PORT
id_of() { printf %s "$1" | sha256sum | cut -c1-16; }
credits() { admin GET "/v1/keys/$(id_of "$1")/usage" | jq -r .quotas.credits.month.used; }
hit() { # hit KEY N: N requests to the 25-credit route, one connection
	local args=() i
	for ((i = 0; i < $2; i++)); do args+=(-o /dev/null "$URL/v1/reports"); done
	req -H "X-API-Key: $1" -w '%{http_code}\n' "${args[@]}" | grep -c 200
}
kill9_restart() { # kill -9 the daemon, start it again (one TAP result)
	kill -KILL "$GW_PID"
	wait "$GW_PID" 2>/dev/null
	gw_start "$CFG" "$1"
}

A=$(gw_key metered)
B=$(gw_key metered)
is "10 requests admitted" "$(hit "$A" 10)" 10
is "250 credits used" "$(credits "$A")" 250
sleep 2.5 # more than one flush interval (1 s)
is "5 more admitted" "$(hit "$A" 5)" 5
admin POST "/v1/keys/$(id_of "$B")/block" >/dev/null
admin POST "/v1/keys/$(id_of "$B")/plan" '{"plan": "metered2"}' >/dev/null
C=$(gw_key metered)
kill9_restart "kill -9, restart"
cu=$(credits "$A")
cmp_ok "credits restored: at least what was flushed ($cu >= 250)" "$cu" -ge 250
cmp_ok "... at most what was counted ($cu <= 375)" "$cu" -le 375
is "the key created just before kill -9 works" "$(status_of -H "X-API-Key: $C" "$URL/v1/items")" 200
is "the block made just before is kept" "$(status_of -H "X-API-Key: $B" "$URL/v1/items")" 403
b=$(admin GET "/v1/keys/$(id_of "$B")")
is "... and the plan change" "$(jq -r .plan <<<"$b")" metered2
is "three keys" "$(admin GET /v1/keys | jq '.keys | length')" 3
audit=$(admin GET /v1/audit | jq -r '.entries[] | "\(.action) \(.target)"')
is "audit entries intact (3 creates, block, plan)" "$(sort <<<"$audit" | tr '\n' ,)" \
	"$(printf '%s\n' "key.block $(id_of "$B")" "key.create $(id_of "$A")" "key.create $(id_of "$B")" \
		"key.create $(id_of "$C")" "key.plan $(id_of "$B")" | sort | tr '\n' ,)"

# flushed within a second: count, wait just over the interval, kill -9
base=$(credits "$A")
is "4 more admitted" "$(hit "$A" 4)" 4
sleep 2.2
kill9_restart "kill -9 after a flush interval, restart"
is "credits restored exactly after the flush interval" "$(credits "$A")" $((base + 100))

# a clean stop writes everything
is "3 more admitted" "$(hit "$A" 3)" 3
gw_stop
is "clean stop: exit 0" "$GW_RC" 0
gw_start "$CFG" "restart after a clean stop"
is "credits exact after a clean stop" "$(credits "$A")" $((base + 175))
is "usage rows in SQLite" "$(sqlite3 "$GW_DIR/keys.db" "select used from usage where key_id = '$(id_of "$A")' and period like 'cred:m:%'")" $((base + 175))
finish

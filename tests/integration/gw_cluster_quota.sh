#!/usr/bin/env bash
# gw_cluster_quota: quotas, credits and the audit log in cluster mode - two nodes on one
# redis-server. Counters are exact under concurrent load spread over both nodes (credits
# used = the sum of the admitted requests' costs, a hard limit never overspent), still
# one admission script call per request; the quota 429 (type, Retry-After until the
# reset, RateLimit-Policy) from either node; soft limits count overage; refunds on
# upstream failure; a plan change keeps what was used; usage read from Redis by the admin
# API (fgctl keys usage) and by GET /v1/usage; audit entries of both nodes listed by
# either (fgctl audit [--since]); fail-open counts locally and reconciles.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
. "$(dirname "$0")/gw_cluster_lib.bash"
cl_setup
gw_away_from_midnight
gw_upstream "$UP_FAST"
if cl_redis_start; then pass "redis-server starts"; else fail "redis-server starts"; finish; fi
QF='.routes[1].upstream = "fast" | .routes[1].credits = 25
  | .routes[4].credits = 5 | .routes[4].refund_on_failure = true
  | .plans.metered = {"rate": 1000000, "burst": 1000000, "routes": "*", "monthly_credits": 200}
  | .plans.metered2 = {"rate": 1000000, "burst": 1000000, "routes": "*", "monthly_credits": 1000}
  | .plans.daily = {"rate": 1000000, "burst": 1000000, "routes": "*",
                    "quotas": {"day": {"requests": 3}}}
  | .plans.soft = {"rate": 1000000, "burst": 1000000, "routes": "*",
                   "quotas": {"day": 3, "enforce": "soft"}}'
cl_config a fail-open | jq "$QF" >"$GW_DIR/a.json"
cl_config b fail-open | jq "$QF" >"$GW_DIR/b.json"
cl_start a "$GW_DIR/a.json" || finish
cl_start b "$GW_DIR/b.json" || finish
printf %s "$GW_TOKEN" >"$GW_DIR/token"
F() { # F NODE ARGS...: fgctl against node a's or b's admin API
	local admin=$ADMIN_A
	[ "$1" = b ] && admin=$ADMIN_B
	shift
	bounded 20 fgctl "$@" --admin "http://127.0.0.1:$admin" --token-file "$GW_DIR/token"
}
id_of() { printf %s "$1" | sha256sum | cut -c1-16; }
used() { cl_admin "$1" GET "/v1/keys/$(id_of "$2")/usage" | jq -r ".quotas.$3.$4.used"; } # used NODE KEY UNIT PERIOD
known() { # known KEY: wait until node b knows the key; the usage endpoint debits nothing
	wait_for 3 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $1' http://127.0.0.1:$HTTP_B/v1/usage)\" = 200 ]"
}
month=$(date -u +%Y-%m)

# -- exact under concurrency: 40 reports (25 credits) and 40 items (1) over both nodes
K=$(cl_admin a POST /v1/keys '{"plan": "metered"}' | jq -r .key)
like "a metered key made on node a" "$K" fg_
ok "... known to node b" known "$K"
calls0=$(($(cl_metric a floodgate_redis_script_calls_total) + $(cl_metric b floodgate_redis_script_calls_total)))
for n in a b; do
	port=$HTTP_A
	[ $n = b ] && port=$HTTP_B
	args=()
	for i in $(seq 20); do args+=(-o /dev/null "http://127.0.0.1:$port/v1/reports" -o /dev/null "http://127.0.0.1:$port/v1/items"); done
	bounded 60 curl -s -m 20 -Z --parallel-max 20 --parallel-immediate -H "X-API-Key: $K" \
		-w '%{http_code} %{url_effective}\n' "${args[@]}" >"$GW_DIR/codes-$n" 2>/dev/null &
	eval "LOAD_$n=$!"
done
wait "$LOAD_a" "$LOAD_b"
codes=$(cat "$GW_DIR/codes-a" "$GW_DIR/codes-b")
rep_ok=$(grep -c '^200 .*/v1/reports' <<<"$codes")
item_ok=$(grep -c '^200 .*/v1/items' <<<"$codes")
rej=$(grep -c '^429 ' <<<"$codes")
diag "concurrent: $rep_ok reports and $item_ok items admitted, $rej refused"
is "80 requests answered" "$(wc -l <<<"$codes")" 80
is "all answered 200 or 429" "$(grep -vc '^200 \|^429 ' <<<"$codes")" 0
cmp_ok "some refused for the quota ($rej)" "$rej" -gt 0
cmp_ok "node a admitted some" "$(grep -c '^200 ' "$GW_DIR/codes-a")" -gt 0
cmp_ok "node b admitted some" "$(grep -c '^200 ' "$GW_DIR/codes-b")" -gt 0
cu=$(used a "$K" credits month)
is "credits used = sum of admitted costs ($rep_ok x 25 + $item_ok x 1)" "$cu" $((rep_ok * 25 + item_ok))
cmp_ok "never past the hard limit ($cu <= 200)" "$cu" -le 200
is "node b reports the same credits" "$(used b "$K" credits month)" "$cu"
is "requests used = admitted requests (all six counters count)" "$(used b "$K" requests day)" $((rep_ok + item_ok))
is "... in Redis under the key's id and the period" \
	"$(redis-cli -p "$REDIS_PORT" get "fgt$$:{$(id_of "$K")}:q:cred:m:$month")" "$cu"
ttl=$(redis-cli -p "$REDIS_PORT" ttl "fgt$$:{$(id_of "$K")}:q:req:d:$(date -u +%Y-%m-%d)")
cmp_ok "the day counter expires (a day after its period: TTL $ttl s)" "$ttl" -le $((2 * 86400))
cmp_ok "... but not before the period ends" "$ttl" -gt 86400
calls=$(($(cl_metric a floodgate_redis_script_calls_total) + $(cl_metric b floodgate_redis_script_calls_total) - calls0))
is "one admission script call per request, quota included" "$calls" 80

# fill up to the limit with 1-credit requests, alternating nodes, then the quota 429
left=$((200 - cu))
for ((i = 0; i < left; i++)); do
	if ((i % 2)); then cl_status a "$K"; else cl_status b "$K"; fi >/dev/null
done
is "exactly 200 credits used" "$(used b "$K" credits month)" 200
for n in a b; do
	port=$HTTP_A
	[ $n = b ] && port=$HTTP_B
	bounded 10 curl -s -m 5 -D "$GW_DIR/h" -o "$GW_DIR/b" -H "X-API-Key: $K" "http://127.0.0.1:$port/v1/items"
	like "node $n: quota 429" "$(head -1 "$GW_DIR/h")" " 429"
	is "node $n: problem type quota-exceeded" "$(jq -r .type "$GW_DIR/b")" "urn:floodgate:problem:quota-exceeded"
	ra=$(grep -i '^retry-after:' "$GW_DIR/h" | tr -dc 0-9)
	now=$(date -u +%s)
	next_month=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%s)
	cmp_ok "node $n: Retry-After ($ra s) until the month resets ($((next_month - now)) s)" $((ra - (next_month - now))) -le 2
	cmp_ok "node $n: ... not earlier" $(((next_month - now) - ra)) -le 2
	like "node $n: RateLimit-Policy names the quota" "$(grep -i '^ratelimit-policy:' "$GW_DIR/h")" '"metered-month-credits";q=200;w='
done
is "the refused requests debited nothing" "$(used a "$K" credits month)" 200
is "... and counted no request" "$(used a "$K" requests month)" $((rep_ok + item_ok + left))

# -- GET /v1/usage (the caller's own key) and fgctl keys usage read Redis, on either node
u=$(bounded 10 curl -s -m 5 -H "X-API-Key: $K" "http://127.0.0.1:$HTTP_B/v1/usage")
is "GET /v1/usage on node b: credits from Redis" "$(jq .quotas.credits.month.used <<<"$u")" 200
is "... left 0" "$(jq .quotas.credits.month.left <<<"$u")" 0
is "... the rate of the plan" "$(jq .rate.burst <<<"$u")" 1000000
out=$(F a keys usage "$(id_of "$K")")
like "fgctl keys usage (node a): plan and status" "$out" "plan metered  status active"
is "fgctl keys usage (node a): credits per month" "$(awk '$1 == "credits" && $2 == "month" { print $3, $4, $5, $6, $7 }' <<<"$out")" "200 hard 200 0 0"
is "fgctl keys usage --json (node b)" "$(F b keys usage "$(id_of "$K")" --json | jq .quotas.credits.month.used)" 200

# -- a plan change (through node b) keeps what was used; node a applies it at once
cl_admin b POST "/v1/keys/$(id_of "$K")/plan" '{"plan": "metered2"}' >/dev/null
ok "after the plan change: admitted again on node a" wait_for 3 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $K' http://127.0.0.1:$HTTP_A/v1/items)\" = 200 ]"
is "... the used credits kept (200 + 1)" "$(used a "$K" credits month)" 201
is "... the new limit reported" "$(cl_admin a GET "/v1/keys/$(id_of "$K")/usage" | jq .quotas.credits.month.limit)" 1000

# -- a daily request quota shared by both nodes: 3 admitted in all, then 429 on both
D=$(cl_admin b POST /v1/keys '{"plan": "daily"}' | jq -r .key)
known "$D"
got="$(cl_status a "$D") $(cl_status b "$D") $(cl_status a "$D") $(cl_status b "$D") $(cl_status a "$D")"
is "daily quota of 3 over both nodes" "$got" "200 200 200 429 429"

# -- soft limits admit and count overage
S=$(cl_admin a POST /v1/keys '{"plan": "soft"}' | jq -r .key)
known "$S"
got="$(cl_status a "$S") $(cl_status b "$S") $(cl_status a "$S") $(cl_status b "$S") $(cl_status a "$S")"
is "soft quota of 3: all 5 admitted" "$got" "200 200 200 200 200"
u=$(cl_admin b GET "/v1/keys/$(id_of "$S")/usage")
is "... 5 used" "$(jq .quotas.requests.day.used <<<"$u")" 5
is "... overage 2" "$(jq .quotas.requests.day.overage <<<"$u")" 2

# -- refunds on upstream failure (route dead: 5 credits, refund_on_failure)
R=$(cl_admin a POST /v1/keys '{"plan": "metered2"}' | jq -r .key)
known "$R"
for n in a b a; do
	port=$HTTP_A
	[ $n = b ] && port=$HTTP_B
	bounded 10 curl -s -m 5 -o /dev/null -H "X-API-Key: $R" "http://127.0.0.1:$port/v1/dead"
done
ok "3 failed requests refunded: 0 credits used" wait_for 3 bash -c "[ \"\$(curl -s -m 2 -H 'Authorization: Bearer $GW_TOKEN' http://127.0.0.1:$ADMIN_A/v1/keys/$(id_of "$R")/usage | jq .quotas.credits.month.used)\" = 0 ]"
is "... and no request counted" "$(used b "$R" requests month)" 0
cl_status b "$R" >/dev/null
is "a served request still counts" "$(used a "$R" requests month)" 1
cmp_ok "refunds counted in /metrics" "$(($(cl_metric a floodgate_quota_refunds_total) + $(cl_metric b floodgate_quota_refunds_total)))" -ge 3

# -- the audit log lives in Redis: both nodes' entries, listed by either
A=$(cl_admin a GET /v1/audit)
B=$(cl_admin b GET /v1/audit)
is "node a and node b list the same entries" "$(jq -c '.entries | map(.seq)' <<<"$A")" "$(jq -c '.entries | map(.seq)' <<<"$B")"
is "5 creates and 1 plan change" "$(jq -c '[.entries[].action] | sort' <<<"$A")" '["key.create","key.create","key.create","key.create","key.plan"]'
is "sequence numbers increase" "$(jq '[.entries[].seq] | . == sort' <<<"$A")" true
is "the plan change with before and after" "$(jq -r '.entries[] | select(.action == "key.plan") | "\(.before.plan) \(.after.plan)"' <<<"$B")" "metered metered2"
out=$(F b audit)
like "fgctl audit (node b): the plan change" "$out" 'plan: "metered" -> "metered2"'
is "fgctl audit --since tomorrow: nothing" "$(F a audit --since "$(date -u -d tomorrow +%Y-%m-%d)" --json | jq length)" 0
is "fgctl audit --since today: all" "$(F a audit --since "$(date -u +%Y-%m-%d)" --json | jq length)" 5

# -- fail-open: node a counts locally while Redis is away, and reconciles after
O=$(cl_admin b POST /v1/keys '{"plan": "daily"}' | jq -r .key)
known "$O"
is "two requests decided in Redis" "$(cl_status a "$O") $(cl_status a "$O")" "200 200"
cl_redis_stop
during=""
for i in $(seq 10); do during+="$(cl_status a "$O") "; done
okd=$(grep -o 200 <<<"$during" | wc -l)
diag "fail-open, Redis stopped: $during"
is "fail-open: only 200 or 429" "$(tr ' ' '\n' <<<"$during" | grep -cv '^200$\|^429$\|^$')" 0
cmp_ok "fail-open: some admitted on the node's own count ($okd)" "$okd" -ge 1
# two workers, each checks its last value from Redis plus its own count: at most 3 each
cmp_ok "fail-open: the hard limit still refuses ($okd <= 6 of 10)" "$okd" -le 6
cl_redis_start
ok "node a connected again" wait_for 10 bash -c "curl -s -m 2 http://127.0.0.1:$ADMIN_A/metrics | grep -q 'floodgate_redis_connections{state=\"ready\"} 2'"
ok "the local counts reconciled into Redis (2 + $okd)" wait_for 5 bash -c "[ \"\$(redis-cli -p $REDIS_PORT get 'fgt$$:{$(id_of "$O")}:q:req:d:$(date -u +%Y-%m-%d)')\" = $((2 + okd)) ]"
is "... as node b reports" "$(used b "$O" requests day)" $((2 + okd))
is "... and Redis decides again: over the quota" "$(cl_status b "$O")" 429
ok "both nodes still serve" kill -0 "$PID_a" "$PID_b"
finish

#!/usr/bin/env bash
# gw_quota: quotas and credits at admission - exact under concurrency (credits used = the
# sum of the admitted requests' route costs, never past a hard limit), nothing debited for
# a 401/403/404/429, the quota 429 (problem type, Retry-After until the reset, the quota
# in RateLimit-Policy), soft limits count overage, refunds on upstream failure per route,
# a plan change keeps what was used, GET /v1/usage with the caller's own key.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_away_from_midnight
gw_upstream "$UP_FAST"
CFG=$GW_DIR/c.json
gw_config '
  .routes[0].upstream = "fast" | .routes[1].upstream = "fast" | .routes[1].credits = 25
  | .routes[4].credits = 5 | .routes[4].refund_on_failure = true
  | .routes += [{"name": "dead2", "methods": ["GET"], "path": "/v1/dead2", "upstream": "dead",
                 "credits": 5}]
  | .plans.metered = {"rate": 1000000, "burst": 1000000, "routes": "*", "monthly_credits": 200}
  | .plans.metered2 = {"rate": 1000000, "burst": 1000000, "routes": "*", "monthly_credits": 1000}
  | .plans.daily = {"rate": 1000000, "burst": 1000000, "routes": "*",
                    "quotas": {"day": {"requests": 3}}}
  | .plans.soft = {"rate": 1000000, "burst": 1000000, "routes": "*",
                   "quotas": {"day": 3, "enforce": "soft"}}
  | .plans.slowplan = {"rate": "1/min", "burst": 1, "routes": ["items"],
                       "quotas": {"day": 100}}' >"$CFG"
gw_start "$CFG" || finish
URL=https://127.0.0.1:$GW_PORT
id_of() { printf %s "$1" | sha256sum | cut -c1-16; }
usage() { admin GET "/v1/keys/$(id_of "$1")/usage"; }
used() { usage "$1" | jq -r ".quotas.$2.$3.used"; } # used KEY UNIT PERIOD

# -- exact under concurrency: 40 reports (25 credits) and 40 items (1) race for 200 credits
K=$(gw_key metered)
args=()
for i in $(seq 40); do args+=(-o /dev/null "$URL/v1/reports" -o /dev/null "$URL/v1/items"); done
codes=$(bounded 60 curl -s -k -m 20 -Z --parallel-max 40 --parallel-immediate --http1.1 \
	-H "X-API-Key: $K" -w '%{http_code} %{url_effective}\n' "${args[@]}" 2>/dev/null)
rep_ok=$(grep -c '^200 .*/v1/reports' <<<"$codes")
item_ok=$(grep -c '^200 .*/v1/items' <<<"$codes")
rej=$(grep -c '^429 ' <<<"$codes")
is "80 requests answered" "$(wc -l <<<"$codes")" 80
is "all answered 200 or 429" "$(grep -vc '^200 \|^429 ' <<<"$codes")" 0
cmp_ok "some refused for the quota ($rej)" "$rej" -gt 0
cu=$(used "$K" credits month)
is "credits used = sum of admitted costs ($rep_ok x 25 + $item_ok x 1)" "$cu" $((rep_ok * 25 + item_ok))
cmp_ok "never past the hard limit ($cu <= 200)" "$cu" -le 200
is "requests used = admitted requests" "$(used "$K" requests month)" $((rep_ok + item_ok))
# fill up to the limit with 1-credit requests, then one more is refused
left=$((200 - cu))
for ((i = 0; i < left; i++)); do status_of -H "X-API-Key: $K" "$URL/v1/items" >/dev/null; done
is "exactly 200 credits used" "$(used "$K" credits month)" 200

# -- the same over HTTP/2: 2000 requests, 8 connections x 10 streams, for 5000 credits
H=$(gw_key metered2)
out=$(bounded 60 h2load -n 2000 -c 8 -m 10 -H "X-API-Key: $H" "$URL/v1/reports" 2>&1)
ok2=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
is "h2load: 2000 answered" "$(sed -n 's/^requests: .* \([0-9]*\) done.*/\1/p' <<<"$out")" 2000
is "h2load: 40 admitted (1000 credits / 25)" "$ok2" 40
is "h2load: credits used = 25 x admitted" "$(used "$H" credits month)" $((ok2 * 25))

# -- the quota 429
req -D "$GW_DIR/h" -o "$GW_DIR/b" -H "X-API-Key: $K" "$URL/v1/items"
like "quota 429" "$(head -1 "$GW_DIR/h")" " 429"
is "problem type quota-exceeded" "$(jq -r .type "$GW_DIR/b")" "urn:floodgate:problem:quota-exceeded"
ra=$(grep -i '^retry-after:' "$GW_DIR/h" | tr -dc 0-9)
now=$(date -u +%s)
next_month=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%s)
cmp_ok "Retry-After ($ra s) until the month resets ($((next_month - now)) s)" $((ra - (next_month - now))) -le 2
cmp_ok "... not earlier" $(((next_month - now) - ra)) -le 2
like "RateLimit-Policy names the quota" "$(grep -i '^ratelimit-policy:' "$GW_DIR/h")" '"metered-month-credits";q=200;w='
like "RateLimit: none left" "$(grep -i '^ratelimit:' "$GW_DIR/h")" '"metered-month-credits";r=0;t='
is "the refused request debited nothing" "$(used "$K" credits month)" 200
is "... no request counted" "$(used "$K" requests month)" $((rep_ok + item_ok + left))

# -- a plan change keeps the used credits, and takes effect at once
admin POST "/v1/keys/$(id_of "$K")/plan" '{"plan": "metered2"}' >/dev/null
is "after the plan change: admitted again" "$(status_of -H "X-API-Key: $K" "$URL/v1/items")" 200
is "... the used credits kept (200 + 1)" "$(used "$K" credits month)" 201
is "... the new limit reported" "$(usage "$K" | jq -r .quotas.credits.month.limit)" 1000

# -- nothing debited for 401/403/404/429
D=$(gw_key slowplan)
is "first request on a 1/min plan" "$(status_of -H "X-API-Key: $D" "$URL/v1/items")" 200
is "second: 429 rate-limited" "$(req -H "X-API-Key: $D" "$URL/v1/items" | jq -r .type)" "urn:floodgate:problem:rate-limited"
is "route not in plan: 403" "$(status_of -H "X-API-Key: $D" "$URL/v1/reports")" 403
is "no route: 404" "$(status_of -H "X-API-Key: $D" "$URL/v1/nothing")" 404
is "wrong key: 401" "$(status_of -H "X-API-Key: ${D}x" "$URL/v1/items")" 401
admin POST "/v1/keys/$(id_of "$D")/block" >/dev/null
is "blocked: 403" "$(status_of -H "X-API-Key: $D" "$URL/v1/items")" 403
admin POST "/v1/keys/$(id_of "$D")/unblock" >/dev/null
is "only the admitted request counted (requests)" "$(used "$D" requests day)" 1
is "... (credits)" "$(used "$D" credits month)" 1

# -- hard daily request quota; soft quota counts overage
Q=$(gw_key daily)
codes=$(for i in 1 2 3 4 5; do status_of -H "X-API-Key: $Q" "$URL/v1/items"; echo; done | tr '\n' ' ')
is "hard day quota of 3: 3 admitted, then 429" "$codes" "200 200 200 429 429 "
tomorrow=$(date -u -d "$(date -u +%Y-%m-%d) +1 day" +%s)
ra=$(req -D - -o /dev/null -H "X-API-Key: $Q" "$URL/v1/items" | grep -i '^retry-after:' | tr -dc 0-9)
now=$(date -u +%s)
cmp_ok "Retry-After ($ra) until UTC midnight ($((tomorrow - now)))" $((ra - (tomorrow - now))) -le 2
S=$(gw_key soft)
codes=$(for i in 1 2 3 4 5; do status_of -H "X-API-Key: $S" "$URL/v1/items"; echo; done | tr '\n' ' ')
is "soft day quota of 3: all 5 admitted" "$codes" "200 200 200 200 200 "
is "... 5 used" "$(used "$S" requests day)" 5
is "... overage 2" "$(usage "$S" | jq -r .quotas.requests.day.overage)" 2
is "... reported as soft" "$(usage "$S" | jq -r .quotas.requests.day.enforce)" soft

# -- refund on upstream failure, per route
M=$(gw_key metered2)
is "dead upstream: 502" "$(status_of -H "X-API-Key: $M" "$URL/v1/dead")" 502
is "refund_on_failure route: credits given back" "$(used "$M" credits month)" 0
is "dead2 (no refund): 502" "$(status_of -H "X-API-Key: $M" "$URL/v1/dead2")" 502
is "... debited" "$(used "$M" credits month)" 5

# -- GET /v1/usage with the caller's own key
u=$(req -H "X-API-Key: $M" "$URL/v1/usage")
is "usage: the caller's plan" "$(jq -r .plan <<<"$u")" metered2
is "usage: burst and tokens left" "$(jq -r '"\(.rate.burst) \(.rate.tokens_left > 999990)"' <<<"$u")" "1000000 true"
is "usage: credits used" "$(jq -r .quotas.credits.month.used <<<"$u")" 5
is "usage: credits left" "$(jq -r .quotas.credits.month.left <<<"$u")" 995
like "usage: reset time" "$(jq -r .quotas.credits.month.resets_at <<<"$u")" "$(date -u -d @"$next_month" +%Y-%m-%dT00:00:00Z)"
is "usage: no key: 401" "$(status_of "$URL/v1/usage")" 401
is "usage: wrong key: 401" "$(status_of -H "X-API-Key: nope" "$URL/v1/usage")" 401
is "usage: POST: 405" "$(status_of -X POST -H "X-API-Key: $M" "$URL/v1/usage")" 405
is "usage costs nothing (the refunded request does not count either)" "$(used "$M" requests month)" 1
like "metrics: quota rejections" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" 'floodgate_rejections_total{reason="quota-exceeded"}'
like "metrics: overage" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" 'floodgate_quota_overage_total{unit="requests"} 2'
finish

#!/usr/bin/env bash
# gw_audit: the admin API refuses a missing or wrong token (401) on every /v1 endpoint and
# changes nothing then; every admin action (create, block, unblock, plan, revoke, reload
# accepted or refused) is in the audit log with time, token identity, target, before and
# after; fgctl audit [--since], fgctl keys list --plan/--status, fgctl keys usage.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_away_from_midnight
gw_upstream "$UP_FAST"
CFG=$GW_DIR/c.json
gw_config '.routes[0].upstream = "fast"
  | .plans.metered = {"rate": 100, "burst": 50, "routes": "*",
                      "quotas": {"day": {"requests": 1000, "credits": 5000}}}' >"$CFG"
gw_start "$CFG" || finish
URL=https://127.0.0.1:$GW_PORT
ADM=http://127.0.0.1:$ADMIN_PORT
id_of() { printf %s "$1" | sha256sum | cut -c1-16; }
printf '%s\n' "$GW_TOKEN" >"$GW_DIR/token"
F() { fgctl "$@" --admin "$ADM" --token-file "$GW_DIR/token"; }
ACTOR="token:$(printf %s "$GW_TOKEN" | sha256sum | cut -c1-8)"

K=$(gw_key free)
ID=$(id_of "$K")

# -- no token / wrong token: 401 everywhere, nothing changed
endpoints=("GET /v1/keys" "POST /v1/keys" "GET /v1/keys/$ID" "GET /v1/keys/$ID/usage"
	"POST /v1/keys/$ID/block" "POST /v1/keys/$ID/unblock" "POST /v1/keys/$ID/revoke"
	"POST /v1/keys/$ID/plan" "GET /v1/audit" "POST /v1/reload")
for e in "${endpoints[@]}"; do
	set -- $e
	is "no token: $e -> 401" "$(bounded 10 curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$1" \
		--data '{"plan": "premium"}' "$ADM$2")" 401
	is "wrong token: $e -> 401" "$(bounded 10 curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer ${GW_TOKEN}x" --data '{"plan": "premium"}' "$ADM$2")" 401
done
r=$(bounded 10 curl -s -m 5 -D - -H "Authorization: Basic Zm9vOmJhcg==" "$ADM/v1/keys")
like "a non-bearer scheme: 401" "$r" " 401"
like "... with a Bearer challenge" "$r" 'WWW-Authenticate: Bearer realm="floodgate-admin"'
like "... as a problem" "$r" '"type":"urn:floodgate:problem:admin-unauthorized"'
is "nothing changed: the key is active on free" "$(admin GET "/v1/keys/$ID" | jq -r '.status + " " + .plan')" "active free"
is "nothing changed: one audit entry (the create)" "$(admin GET /v1/audit | jq '.entries | length')" 1

# -- every action audited with before and after
admin POST "/v1/keys/$ID/block" >/dev/null
admin POST "/v1/keys/$ID/unblock" >/dev/null
admin POST "/v1/keys/$ID/plan" '{"plan": "metered"}' >/dev/null
admin POST /v1/reload >/dev/null
cp "$CFG" "$GW_DIR/good.json"
echo '{' >"$CFG"
is "a refused reload: 400" "$(bounded 10 curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $GW_TOKEN" "$ADM/v1/reload")" 400
cp "$GW_DIR/good.json" "$CFG"
K2=$(gw_key premium)
admin POST "/v1/keys/$(id_of "$K2")/revoke" >/dev/null
A=$(admin GET /v1/audit)
is "every action in order" "$(jq -r '[.entries[].action] | join(" ")' <<<"$A")" \
	"key.create key.block key.unblock key.plan config.reload config.reload key.create key.revoke"
is "every entry names the token" "$(jq -r '[.entries[].actor] | unique | join(" ")' <<<"$A")" "$ACTOR"
is "every entry has a time" "$(jq -r '[.entries[].time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")] | all' <<<"$A")" true
is "create: no before, the key after" "$(jq -r '.entries[0] | "\(.before) \(.after.id) \(.after.plan)"' <<<"$A")" "null $ID free"
unlike "create: never the key itself" "$A" "$K"
is "block: active -> blocked" "$(jq -r '.entries[1] | "\(.target) \(.before.status) \(.after.status)"' <<<"$A")" "$ID active blocked"
is "unblock: blocked -> active" "$(jq -r '.entries[2] | "\(.before.status) \(.after.status)"' <<<"$A")" "blocked active"
is "plan: free -> metered" "$(jq -r '.entries[3] | "\(.before.plan) \(.after.plan)"' <<<"$A")" "free metered"
is "reload: generation 1 -> 2" "$(jq -r '.entries[4] | "\(.target) \(.before.generation) \(.after.generation)"' <<<"$A")" "config 1 2"
like "refused reload: the error after" "$(jq -r '.entries[5].after.refused' <<<"$A")" "c.json:"
is "revoke: active -> revoked" "$(jq -r '.entries[7] | "\(.before.status) \(.after.status)"' <<<"$A")" "active revoked"

# -- fgctl audit
out=$(F audit)
like "fgctl audit: header" "$out" "SEQ"
like "fgctl audit: the block with its change" "$out" 'key.block      '"$ID"'  status: "active" -> "blocked"'
like "fgctl audit: the plan change" "$out" 'plan: "free" -> "metered"'
is "fgctl audit --json" "$(F audit --json | jq length)" 8
is "fgctl audit --since tomorrow: nothing" "$(F audit --since "$(date -u -d tomorrow +%Y-%m-%d)" --json | jq length)" 0
is "fgctl audit --since today: all" "$(F audit --since "$(date -u +%Y-%m-%d)" --json | jq length)" 8
is "fgctl audit --since a Unix time" "$(F audit --since "$(($(date +%s) - 3600))" --json | jq length)" 8
out=$(F audit --since yesterday 2>&1)
is "fgctl audit --since nonsense: exit 2" "$?" 2

# -- fgctl keys list --plan / --status
K3=$(gw_key free)
admin POST "/v1/keys/$(id_of "$K3")/block" >/dev/null
is "list --plan free" "$(F keys list --plan free --json | jq -r '[.[].id] | join(" ")')" "$(id_of "$K3")"
is "list --plan premium (revoked included)" "$(F keys list --plan premium --json | jq -r '.[].status')" revoked
is "list --status blocked" "$(F keys list --status blocked --json | jq -r '.[].id')" "$(id_of "$K3")"
is "list --status active --plan metered" "$(F keys list --status active --plan metered --json | jq -r '.[].id')" "$ID"
is "list --status revoked --plan free: none" "$(F keys list --status revoked --plan free --json | jq length)" 0
out=$(F keys list --status gone 2>&1)
is "list --status gone: exit 2" "$?" 2
like "... says what is allowed" "$out" "expected active, blocked or revoked"

# -- fgctl keys usage
for i in 1 2 3; do status_of -H "X-API-Key: $K" "$URL/v1/items" >/dev/null; done
out=$(F keys usage "$ID")
like "keys usage: plan and status" "$out" "plan metered  status active"
like "keys usage: rate and burst" "$out" "burst 50"
like "keys usage: requests per day" "$out" "requests  day      1000  hard        3   997        0"
is "keys usage --json: 3 used today" "$(F keys usage "$ID" --json | jq .quotas.requests.day.used)" 3
is "keys usage --json: credits left today" "$(F keys usage "$ID" --json | jq .quotas.credits.day.left)" 4997
out=$(F keys usage 0123456789abcdef 2>&1)
is "keys usage of an unknown id: exit 2" "$?" 2
finish

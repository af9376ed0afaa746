#!/usr/bin/env bash
# gw_cluster: two floodgate nodes on one redis-server (started here) - a key created or
# revoked through either node's admin API is in force on the other at once (pub/sub); one
# plan bucket shared by both nodes admits burst + rate * T (within 1 %) at 2x overload,
# with exactly one Redis round trip (EVALSHA) per request; /metrics counts the Redis
# side; strict config errors of the store section.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
. "$(dirname "$0")/gw_cluster_lib.bash"
cl_setup
gw_upstream "$UP_FAST"
if cl_redis_start; then pass "redis-server starts"; else fail "redis-server starts"; finish; fi
cl_config a fail-closed >"$GW_DIR/a.json"
cl_config b fail-closed >"$GW_DIR/b.json"

# ---- config: the store section is strict ----
cl_bad "an unknown store type" '.store.type = "memcached"' 'store.type: unknown store type "memcached"'
cl_bad "a non-redis URL" '.store.url = "http://127.0.0.1"' 'store.url: expected a URL redis://'
cl_bad "a bad port" '.store.url = "redis://127.0.0.1:70000"' 'the Redis port must be 1 to 65535'
cl_bad "an unknown policy" '.store.policy = "fail-maybe"' 'expected "fail-open" or "fail-closed"'
cl_bad "a zero timeout" '.store.timeout_ms = 0' 'store.timeout_ms: 0 is out of range'
cl_bad "a path with type redis" '.store.path = "x.db"' 'store.path: unknown key'
cl_bad "a bad prefix" '.store.prefix = "a b"' 'store.prefix: a prefix is 0 to 64'
cl_bad "no url" 'del(.store.url)' 'missing required key "url"'
ok "config: the cluster config is valid" floodgate -t -c "$GW_DIR/a.json"

cl_start a "$GW_DIR/a.json" || finish
cl_start b "$GW_DIR/b.json" || finish

# ---- keys: written through one node, in force on the other at once ----
KEY=$(cl_admin a POST /v1/keys '{"plan": "premium", "label": "made on a"}' | jq -r .key)
like "a key created on node a" "$KEY" "fg_"
ID=$(printf %s "$KEY" | sha256sum | cut -c1-16)
ok "... works on node b (announced through Redis)" wait_for 2 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_B/v1/items)\" = 200 ]"
is "... and on node a" "$(cl_status a "$KEY")" 200
is "... is listed by node b's admin API" "$(cl_admin b GET "/v1/keys/$ID" | jq -r .label)" "made on a"
is "... lives in Redis as a hash" "$(redis-cli -p "$REDIS_PORT" hget "fgt$$:key:$ID" plan)" premium
like "blocked through node b" "$(cl_admin b POST "/v1/keys/$ID/block")" blocked
ok "... is blocked on node a at once (403)" wait_for 2 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_A/v1/items)\" = 403 ]"
like "revoked through node b" "$(cl_admin b POST "/v1/keys/$ID/revoke")" revoked
ok "... is refused on node a at once (401)" wait_for 2 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_A/v1/items)\" = 401 ]"
is "... and on node b (401)" "$(cl_status b "$KEY")" 401

# ---- one shared limit: rate 50/s, burst 50, 2x overload split over both nodes ----
T=20
SK=$(cl_admin b POST /v1/keys '{"plan": "shared"}' | jq -r .key)
wait_for 2 bash -c "[ \"\$(redis-cli -p $REDIS_PORT exists fgt$$:key:$(printf %s "$SK" | sha256sum | cut -c1-16))\" = 1 ]"
sleep 0.5 # both nodes have it (announced); the bucket in Redis is untouched and full
redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
calls0=$(($(cl_metric a floodgate_redis_script_calls_total) + $(cl_metric b floodgate_redis_script_calls_total)))
for n in a b; do
	port=$HTTP_A
	[ $n = b ] && port=$HTTP_B
	bounded $((T + 20)) fg-fixedrate -r 50 -d $T -c 8 -H "X-API-Key: $SK" \
		-o "$GW_DIR/load-$n.log" "http://127.0.0.1:$port/v1/items" >"$GW_DIR/load-$n.json" &
	eval "LOAD_$n=$!"
done
wait "$LOAD_a" "$LOAD_b"
res=$(awk -v a="$(jq .start_unix_us "$GW_DIR/load-a.json")" -v b="$(jq .start_unix_us "$GW_DIR/load-b.json")" '
	FNR == 1 { f++ }
	{ t = (f == 1 ? a : b) + $2; if (!lo || t < lo) lo = t; if (t > hi) hi = t;
	  n++; if ($4 == 200) ok++; else if ($4 == 429) lim++; else other++ }
	END { printf "%d %d %d %d %.6f\n", n, ok, lim, other, (hi - lo) / 1e6 }' \
	"$GW_DIR/load-a.log" "$GW_DIR/load-b.log")
read -r sent admitted limited other window <<<"$res"
expected=$(awk -v w="$window" 'BEGIN { printf "%.1f", 50 + 50 * w }')
diag "shared limit: $sent requests over ${window}s, $admitted admitted, $limited refused; burst + rate * T = $expected"
cmp_ok "2x overload: about $((100 * T)) requests sent" "$sent" -ge $((100 * T * 95 / 100))
is "every request answered 200 or 429" "$other" 0
ok "admitted = burst + rate * T within 1 % ($admitted vs $expected)" \
	awk -v a="$admitted" -v e="$expected" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(d <= e / 100) }'
calls=$(($(cl_metric a floodgate_redis_script_calls_total) + $(cl_metric b floodgate_redis_script_calls_total) - calls0))
is "one admission script call per request (floodgate metric)" "$calls" "$sent"
evalsha=$(redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_evalsha:/ { print $3 }')
is "one EVALSHA per request (Redis INFO commandstats)" "${evalsha:-0}" "$sent"
is "no fallback decisions while Redis was up" "$(($(cl_metric a floodgate_redis_fallback_total) + $(cl_metric b floodgate_redis_fallback_total)))" 0
like "/metrics: Redis connections" "$(curl -s "http://127.0.0.1:$ADMIN_A/metrics")" 'floodgate_redis_connections{state="ready"} 2'
ok "both nodes still serve" kill -0 "$PID_a" "$PID_b"
diag "$(grep -h 'redis' "$GW_DIR"/floodgate-*.log)"
# a graceful stop in cluster mode, with Redis frozen: bounded, clean exit
kill -STOP "$REDIS_PID"
curl -s -m 5 -o /dev/null "http://127.0.0.1:$ADMIN_A/metrics" &
kill -TERM "$PID_a"
t0=$(date +%s%N)
wait "$PID_a"
is "SIGTERM with Redis frozen: exit 0" "$?" 0
cmp_ok "... within the shutdown timeout" $((($(date +%s%N) - t0) / 1000000)) -lt 8000
kill -CONT "$REDIS_PID"
finish

#!/usr/bin/env bash
# gw_cluster_outage: Redis stopped in the middle of a load and restarted, with node a on
# fail-open and node b on fail-closed (same key, same Redis). Documented behaviour:
# fail-open keeps answering from the node's own bucket (never 503); fail-closed answers
# 503 limits-unavailable while Redis is away, only then; no request waits much longer
# than store.timeout_ms; no crash; both reconnect by themselves and Redis decides again;
# every request is accounted for once in /metrics (Redis decisions + policy decisions).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
. "$(dirname "$0")/gw_cluster_lib.bash"
cl_setup
gw_upstream "$UP_FAST"
if cl_redis_start; then pass "redis-server starts"; else fail "redis-server starts"; finish; fi
cl_config a fail-open >"$GW_DIR/a.json"
cl_config b fail-closed >"$GW_DIR/b.json"
cl_start a "$GW_DIR/a.json" || finish
cl_start b "$GW_DIR/b.json" || finish
KEY=$(cl_admin a POST /v1/keys '{"plan": "outage"}' | jq -r .key)
ok "the key is known to node b" wait_for 2 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_B/v1/items)\" = 200 ]"
now_us() { date +%s%6N; }
decided_of() {
	echo $(($(cl_metric $1 'floodgate_redis_admissions_total{result="admitted"}') +
		$(cl_metric $1 'floodgate_redis_admissions_total{result="refused"}') +
		$(cl_metric $1 floodgate_redis_fallback_total)))
}
base_a=$(decided_of a) base_b=$(decided_of b)

# Long enough that, after Redis is back and the nodes have reconnected (backoff), a few
# seconds of load remain to show Redis deciding again on a busy machine.
D=16
for n in a b; do
	port=$HTTP_A
	[ $n = b ] && port=$HTTP_B
	bounded $((D + 20)) fg-fixedrate -r 40 -d $D -c 8 -H "X-API-Key: $KEY" \
		-o "$GW_DIR/load-$n.log" "http://127.0.0.1:$port/v1/items" >"$GW_DIR/load-$n.json" &
	eval "LOAD_$n=$!"
done
sleep 3
DOWN=$(now_us)
cl_redis_stop
sleep 4
# Up from when it answers again (loading its AOF takes a while on a busy machine).
if cl_redis_start; then pass "redis-server restarts (its AOF keeps the keys)"; else fail "redis-server restarts"; fi
UP=$(now_us)
# Decisions made in Redis (admitted or refused: a 429 from Redis is Redis deciding too), 3 s
# after it is back, then again at the end of the load: they must have moved on each node.
in_redis() {
	echo $(($(cl_metric $1 'floodgate_redis_admissions_total{result="admitted"}') +
		$(cl_metric $1 'floodgate_redis_admissions_total{result="refused"}')))
}
sleep 3
mid_a=$(in_redis a) mid_b=$(in_redis b)
wait "$LOAD_a" "$LOAD_b"

# per node: sent answered 200 429 503 other, 503s outside the outage (+3 s to reconnect),
# 200s during and after it, the longest wait from send to answer (ms)
summary() {
	awk -v s="$(jq .start_unix_us "$GW_DIR/load-$1.json")" -v down="$DOWN" -v up="$UP" '
	{ t = s + $2; n++
	  if ($4 == 0) lost++; else if ($4 == 200) ok++; else if ($4 == 429) lim++;
	  else if ($4 == 503) una++; else other++
	  if ($4 == 503 && (t < down || t > up + 3000000)) stray++
	  if ($4 == 200 && t > down + 300000 && t < up) during++
	  if ($4 == 200 && t > up + 3000000) after++
	  if ($4 && $3 - $2 > w) w = $3 - $2 }
	END { printf "%d %d %d %d %d %d %d %d %d %d\n", n, lost, ok, lim, una, other, stray,
	      during, after, w / 1000 }' "$GW_DIR/load-$1.log"
}
read -r na losta oka lima unaa othera straya duringa aftera waita <<<"$(summary a)"
read -r nb lostb okb limb unab otherb strayb duringb afterb waitb <<<"$(summary b)"
diag "fail-open  node a: $na sent, $oka 200, $lima 429, $unaa 503, $duringa 200 during the outage, longest wait ${waita} ms"
diag "fail-closed node b: $nb sent, $okb 200, $limb 429, $unab 503, $duringb 200 during the outage, longest wait ${waitb} ms"
ok "no crash: node a still runs" kill -0 "$PID_a"
ok "no crash: node b still runs" kill -0 "$PID_b"
is "every request to node a answered" "$losta$othera" 00
is "every request to node b answered" "$lostb$otherb" 00
cmp_ok "no request waited 1.5 s (store.timeout_ms is 300): node a" "$waita" -lt 1500
cmp_ok "no request waited 1.5 s (store.timeout_ms is 300): node b" "$waitb" -lt 1500
is "fail-open: never 503" "$unaa" 0
cmp_ok "fail-open: served from the node's own bucket during the outage" "$duringa" -gt 20
cmp_ok "fail-closed: 503 while Redis was away" "$unab" -gt 40
is "fail-closed: 503 only then" "$strayb" 0
is "fail-closed: nothing admitted during the outage" "$duringb" 0
cmp_ok "node a: Redis decides again after the restart" "$(in_redis a)" -gt "$mid_a"
cmp_ok "node b: Redis decides again after the restart" "$(in_redis b)" -gt "$mid_b"
cmp_ok "admitted again after the restart (both nodes share one bucket)" $((aftera + afterb)) -gt 0
for n in a b; do
	eval "sent=\$n$n"
	eval "decided=\$((\$(decided_of $n) - base_$n))"
	is "node $n: every request counted once (Redis decisions + policy decisions)" "$decided" "$sent"
	cmp_ok "node $n: the lost connection is counted" "$(cl_metric $n 'floodgate_redis_connection_events_total{event="lost"}')" -ge 1
	is "node $n: connected again" "$(cl_metric $n 'floodgate_redis_connections{state="ready"}')" 2
done
cmp_ok "fail-open decisions counted on node a" "$(cl_metric a 'floodgate_redis_fallback_total{policy="fail-open"}')" -ge "$duringa"
is "fail-closed decisions counted on node b" "$(cl_metric b 'floodgate_redis_fallback_total{policy="fail-closed"}')" "$unab"

# the 503 body, once more with Redis frozen: problem+json within the bound
kill -STOP "$REDIS_PID"
out=$(bounded 10 curl -s -m 5 -D "$GW_DIR/h" -w '\n%{time_total}' -H "X-API-Key: $KEY" "http://127.0.0.1:$HTTP_B/v1/items")
kill -CONT "$REDIS_PID"
like "frozen Redis: fail-closed answers problem+json" "$out" '"type":"urn:floodgate:problem:limits-unavailable"'
like "... 503 with Retry-After" "$(tr -d '\r' <"$GW_DIR/h")" "Retry-After: 1"
ok "... within the bound" awk -v t="$(echo "$out" | tail -1)" 'BEGIN { exit !(t < 1.5) }'
# clients that give up while their request waits for Redis (frozen): nothing breaks
kill -STOP "$REDIS_PID"
for i in $(seq 20); do
	curl -s -m 0.03 -o /dev/null -H "X-API-Key: $KEY" "http://127.0.0.1:$HTTP_A/v1/items" &
	curl -s -m 0.03 -o /dev/null -H "X-API-Key: $KEY" "http://127.0.0.1:$HTTP_B/v1/items" &
done
wait_for 5 bash -c '! pgrep -f "curl -s -m 0.03" >/dev/null'
sleep 0.3
kill -CONT "$REDIS_PID"
ok "clients gone while waiting: node a still runs" kill -0 "$PID_a"
ok "clients gone while waiting: node b still runs" kill -0 "$PID_b"
ok "... and node b answers again from Redis" wait_for 5 bash -c "curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_B/v1/items | grep -qE '200|429'"
ok "key still valid after the restart (node a)" wait_for 5 bash -c "[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_A/v1/items)\" != 401 ]"
finish

#!/usr/bin/env bash
# gw_cache_shared: the response cache's shared Redis layer (cache.shared "redis") - two
# nodes on one redis-server (started here): node a fetches from the upstream, node b answers
# HIT from Redis with no upstream request and the same body and headers; Vary honoured
# across the layer; a corrupt record ignored; a purge on one node deletes the Redis entries and reaches the other
# node's own layer within its poll; entries over
# shared_max_object_bytes stay local; Redis stopped -> still served (local layer, upstream);
# strict config errors.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
. "$(dirname "$0")/gw_cluster_lib.bash"
cl_setup
UP_VARY=$((GW_PORT + 15)) UP_BIG=$((GW_PORT + 16))
gw_upstream "$UP_ECHO" --echo
gw_upstream "$UP_VARY" --echo -H 'Vary: Accept-Language' -H 'Cache-Control: max-age=60'
gw_upstream "$UP_BIG" -s 3000
if cl_redis_start; then pass "redis-server starts"; else fail "redis-server starts"; finish; fi
P="fgt$$:"
shared() { # shared NODE: the node's cluster config with the shared cache layer
	cl_config "$1" fail-open | jq "
	  .upstreams += {\"vary\": {\"url\": \"http://127.0.0.1:$UP_VARY\"},
	                 \"big\": {\"url\": \"http://127.0.0.1:$UP_BIG\"}} |
	  .routes += [
	    {\"name\": \"c\", \"methods\": [\"GET\", \"HEAD\"], \"path\": \"/c/.*\", \"upstream\": \"echo\",
	     \"cache\": {\"ttl\": 60}},
	    {\"name\": \"v\", \"methods\": [\"GET\"], \"path\": \"/v\", \"upstream\": \"vary\",
	     \"cache\": {\"ttl\": 60}},
	    {\"name\": \"big\", \"methods\": [\"GET\"], \"path\": \"/big\", \"upstream\": \"big\",
	     \"cache\": {\"ttl\": 60}}] |
	  .cache = {\"shared\": \"redis\", \"shared_max_object_bytes\": 1024}"
}
shared a >"$GW_DIR/a.json"
shared b >"$GW_DIR/b.json"

# ---- config ----
cl_bad "a shared layer without the Redis store" ".store = {\"path\": \"$GW_DIR/k.db\"}" \
	'cache.shared: "redis" needs the Redis store'
ok "... at its line and column" bash -c "floodgate -t -c '$GW_DIR/bad.json' 2>&1 | grep -Eq 'bad.json:[0-9]+:[0-9]+: cache.shared'"
cl_bad "an unknown shared layer" '.cache.shared = "memcached"' 'cache.shared: expected "none" or "redis"'
cl_bad "a zero size cap" '.cache.shared_max_object_bytes = 0' 'cache.shared_max_object_bytes: 0 is out of range'
jq '.cache.shared = "none" | .store = {"path": "x.db"}' "$GW_DIR/a.json" >"$GW_DIR/none.json"
ok "config: \"none\" is valid with any store" floodgate -t -c "$GW_DIR/none.json"
ok "config: the shared config is valid" floodgate -t -c "$GW_DIR/a.json"

cl_start a "$GW_DIR/a.json" || finish
cl_start b "$GW_DIR/b.json" || finish
KEY=$(cl_admin a POST /v1/keys '{"plan": "load"}' | jq -r .key)
ok "a key made on node a works on node b" wait_for 3 bash -c \
	"[ \"\$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' http://127.0.0.1:$HTTP_B/v1/reports)\" = 200 ]"
H="X-API-Key: $KEY"
get() { # get NODE PATH [CURL-ARGS...]: headers to $GW_DIR/h, body to $GW_DIR/b
	local http=$HTTP_A
	[ "$1" = b ] && http=$HTTP_B
	local path=$2
	shift 2
	bounded 10 curl -s -m 5 -H "$H" -D "$GW_DIR/h" -o "$GW_DIR/b" "$@" "http://127.0.0.1:$http$path"
}
xcache() { tr -d '\r' <"$GW_DIR/h" | awk 'tolower($1) == "x-cache:" {print $2}'; }
ups() { # ups NODE UPSTREAM: requests the node sent to the upstream (heads received)
	cl_metric "$1" "floodgate_upstream_latency_seconds_count{upstream=\"$2\"}"
}
# the upstream's header fields of the last answer (sorted; the gateway's own left out)
fields() {
	tr -d '\r' <"$GW_DIR/h" | tail -n +2 | grep -Evi '^(date|age|x-cache|ratelimit|connection|content-length|$)' | sort
}

# ---- node a fills, node b answers from Redis ----
a0=$(ups a echo) b0=$(ups b echo)
get a /c/one
is "node a: MISS" "$(xcache)" MISS
cp "$GW_DIR/b" "$GW_DIR/one-a"
fields >"$GW_DIR/one-a.h"
ok "... written to Redis under PREFIX cache:SHA-256" wait_for 3 bash -c \
	"redis-cli -p $REDIS_PORT --scan --pattern '${P}cache:*' | grep -Eq '^${P}cache:[0-9a-f]{64}\$'"
is "... indexed under its route" "$(redis-cli -p "$REDIS_PORT" hlen "${P}cache-idx:c")" 1
get b /c/one
is "node b: HIT from the shared layer" "$(xcache)" HIT
ok "... the same body" cmp -s "$GW_DIR/one-a" "$GW_DIR/b"
fields >"$GW_DIR/one-b.h"
ok "... the same header fields" diff "$GW_DIR/one-a.h" "$GW_DIR/one-b.h"
like "... with an Age" "$(tr -d '\r' <"$GW_DIR/h" | grep -i '^age:')" "ge: "
is "... one upstream request in all (node a's)" "$(($(ups a echo) - a0)):$(($(ups b echo) - b0))" "1:0"
get b /c/one
is "node b again: HIT (now from its own layer)" "$(xcache)" HIT
is "... still no upstream request from node b" "$(($(ups b echo) - b0))" 0
cmp_ok "node b counts the shared hit" "$(cl_metric b 'floodgate_cache_shared_total{result="hit"}')" -ge 1
cmp_ok "node a counts the write" "$(cl_metric a 'floodgate_cache_shared_total{result="stored"}')" -ge 1
get b /c/one -X HEAD
is "a HEAD on node b from the entry too" "$(xcache)" HIT

# ---- Vary across the layer ----
get a /v -H 'Accept-Language: de'
is "Vary: node a, de: MISS" "$(xcache)" MISS
sleep 0.3
get b /v -H 'Accept-Language: fr'
is "... node b, fr: not answered by the de entry (MISS)" "$(xcache)" MISS
like "... fr gets its own answer" "$(cat "$GW_DIR/b")" '"Accept-Language","fr"'
sleep 0.3
get a /v -H 'Accept-Language: fr'
is "... node a, fr: HIT from the fr entry node b wrote" "$(xcache)" HIT
like "... with fr's body" "$(cat "$GW_DIR/b")" '"Accept-Language","fr"'

# ---- entries over shared_max_object_bytes stay local ----
get a /big
is "a 3000-byte answer over the 1024-byte cap: MISS on node a" "$(xcache)" MISS
get a /big
is "... stored in node a's layer (HIT)" "$(xcache)" HIT
get b /big
is "... not in Redis: MISS on node b" "$(xcache)" MISS
cmp_ok "... counted as too big" "$(cl_metric a 'floodgate_cache_shared_total{result="too_big"}')" -ge 1

# ---- purges reach Redis ----
get a /c/two
sleep 0.3
is "two entries of route c in Redis" "$(redis-cli -p "$REDIS_PORT" hlen "${P}cache-idx:c")" 2
get b /c/one
is "node b holds /c/one in its own layer" "$(xcache)" HIT
b1=$(ups b echo)
like "purge by pattern on node a" "$(cl_admin a POST /v1/cache/purge '{"pattern": "/c/one"}')" '"status":"purged"'
is "... its Redis entry is gone, the other kept" "$(redis-cli -p "$REDIS_PORT" hlen "${P}cache-idx:c")" 1
is "... announced to the other nodes" "$(redis-cli -p "$REDIS_PORT" lrange "${P}cache-purges" -1 -1 | jq -c '[.route, .pattern]')" '["","/c/one"]'
ok "... node b's own layer follows (its poll, each second): its next request is a MISS" \
	wait_for 4 bash -c "curl -s -m 2 -H 'X-API-Key: $KEY' -D - -o /dev/null http://127.0.0.1:$HTTP_B/c/one | grep -qi '^x-cache: MISS'"
is "... to the upstream, once" "$(($(ups b echo) - b1))" 1
a1=$(ups a echo)
get a /c/one
is "... node a (its own copy purged): HIT from what node b fetched since" "$(xcache)" HIT
is "... without an upstream request" "$(($(ups a echo) - a1))" 0
like "purge by route on node a" "$(cl_admin a POST /v1/cache/purge '{"route": "c"}')" '"status":"purged"'
is "... no entry of route c left in Redis" \
	"$(redis-cli -p "$REDIS_PORT" --scan --pattern "${P}cache:*" | while read -r k; do
		redis-cli -p "$REDIS_PORT" get "$k" | grep -c 'GET /c/'; done | grep -c '^[1-9]')" 0
is "... and its index is empty" "$(redis-cli -p "$REDIS_PORT" hlen "${P}cache-idx:c")" 0
cmp_ok "... counted" "$(cl_metric a floodgate_cache_shared_purged_total)" -ge 1
get a /c/two
is "... node a's next request: MISS" "$(xcache)" MISS
like "purge all" "$(cl_admin b POST /v1/cache/purge '{"all": true}')" '"status":"purged"'
is "... Redis holds no cache entry" "$(redis-cli -p "$REDIS_PORT" --scan --pattern "${P}cache:*" | wc -l)" 0
sleep 1.5 # both nodes' pollers apply it to their own layers (each second)

# ---- a value in Redis that is not a record ----
K="${P}cache:$(printf 'GET /c/corrupt\n' | sha256sum | cut -d' ' -f1)"
redis-cli -p "$REDIS_PORT" set "$K" "FGC garbage, not a record" px 60000 >/dev/null
e0=$(cl_metric b 'floodgate_cache_shared_total{result="error"}')
get b /c/corrupt
is "a corrupt shared record: ignored, the upstream answers (MISS)" "$(xcache)" MISS
is "... status 200" "$(head -1 "$GW_DIR/h" | awk '{print $2}')" 200
like "... the upstream's answer" "$(cat "$GW_DIR/b")" '"target":"/c/corrupt"'
is "... counted as an error" "$(($(cl_metric b 'floodgate_cache_shared_total{result="error"}') - e0))" 1
sleep 0.3
is "... and replaced by a good record" "$(redis-cli -p "$REDIS_PORT" getrange "$K" 0 2)" FGC
get a /c/corrupt
is "... which node a then uses (HIT)" "$(xcache)" HIT

# ---- Redis hangs: a lookup waits at most store.timeout_ms (300 ms here) ----
kill -STOP "$REDIS_PID"
t0=$(date +%s%N)
get a /c/hang
el=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$REDIS_PID"
is "Redis hanging: the lookup gives up, the upstream answers (MISS)" "$(xcache)" MISS
is "... status 200" "$(head -1 "$GW_DIR/h" | awk '{print $2}')" 200
cmp_ok "... within the bound, not stuck (ms, generous margin)" "$el" -lt 3000
for i in $(seq 50); do # the timeout dropped the connection: back within its backoff
	[ "$(cl_metric a 'floodgate_redis_connections{state="ready"}')" = 2 ] && break
	sleep 0.1
done

# ---- Redis stopped: still served ----
get a /c/three
get a /c/three
is "before the outage: HIT on node a" "$(xcache)" HIT
cl_redis_stop
e0=$(cl_metric b 'floodgate_cache_shared_total{result="error"}')
get a /c/three
is "Redis stopped: node a's own layer answers (HIT)" "$(xcache)" HIT
codes=""
for i in 1 2 3; do
	get b "/c/new$i"
	codes+="$(xcache):"
done
is "... node b: new keys from the upstream (MISS), no error" "$codes" "MISS:MISS:MISS:"
is "... status 200" "$(head -1 "$GW_DIR/h" | awk '{print $2}')" 200
get b /c/new1
is "... and stored in node b's layer (HIT)" "$(xcache)" HIT
cmp_ok "... the shared layer's errors are counted" \
	"$(cl_metric b 'floodgate_cache_shared_total{result="error"}')" -gt "$e0"
ok "node a is still up" kill -0 "$PID_a"
ok "node b is still up" kill -0 "$PID_b"
finish

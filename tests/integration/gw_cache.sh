#!/usr/bin/env bash
# gw_cache: the response cache - HIT/MISS/Age, TTL expiry, the cache key (sorted query, the
# API key never in it nor in the cached answer), limits decided before the cache, HEAD from
# a GET's entry, Cache-Control (no-store, private, max-age, s-maxage) and Vary honoured,
# 100 concurrent misses (two worker threads) -> exactly one upstream request, stale-if-error and
# stale-while-revalidate (the stale entry answers at once, one background refresh), purges through the admin API and fgctl, config errors.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

UP_NS=$((UP_BAD3 + 1)) UP_PRIV=$((UP_BAD3 + 2)) UP_MA=$((UP_BAD3 + 3))
UP_SMA=$((UP_BAD3 + 4)) UP_VARY=$((UP_BAD3 + 5)) UP_SLOWC=$((UP_BAD3 + 6))
UP_KILL=$((UP_BAD3 + 7)) UP_SWR=$((UP_BAD3 + 8))
gw_upstream "$UP_ECHO" --echo
gw_upstream "$UP_NS" --echo -H 'Cache-Control: no-store'
gw_upstream "$UP_PRIV" --echo -H 'Cache-Control: private, max-age=60'
gw_upstream "$UP_MA" --echo -H 'Cache-Control: max-age=1'
gw_upstream "$UP_SMA" --echo -H 'Cache-Control: max-age=1, s-maxage=60'
gw_upstream "$UP_VARY" --echo -H 'Vary: Accept-Language'
gw_upstream "$UP_SLOWC" --echo --delay 700
gw_upstream "$UP_SWR" --echo --delay 1500
fg-upstream -l "127.0.0.1:$UP_KILL" --echo >"$GW_DIR/up-kill.log" 2>&1 &
KILL_PID=$!
defer "kill $KILL_PID 2>/dev/null"
gw_wait_port "$UP_KILL"

up() { printf '"%s": {"url": "http://127.0.0.1:%s"}' "$1" "$2"; }
route() { # route NAME UPSTREAM CACHE-JSON
	printf '{"name": "%s", "methods": ["GET", "HEAD"], "path": "/c/%s", "upstream": "%s", "cache": %s}' \
		"$1" "$1" "$2" "$3"
}
gw_config ".threads = 2
	| .upstreams += {$(up ns "$UP_NS"), $(up priv "$UP_PRIV"), $(up ma "$UP_MA"),
		$(up sma "$UP_SMA"), $(up vary "$UP_VARY"), $(up slowc "$UP_SLOWC"),
		$(up kill "$UP_KILL"), $(up swr "$UP_SWR")}
	| .routes += [$(route c1 echo '{"ttl": 60}'), $(route t1 echo '{"ttl": 1}'), $(route keyed echo '{"ttl": 60, "key_headers": ["X-Tenant"]}'),
		$(route ns ns '{"ttl": 60}'), $(route priv priv '{"ttl": 60}'),
		$(route ma ma '{"ttl": 60}'), $(route sma sma '{"ttl": 1}'),
		$(route vary vary '{"ttl": 60}'), $(route coal slowc '{"ttl": 60}'),
		$(route sie kill '{"ttl": 1, "stale_if_error": 60}'),
		$(route swr swr '{"ttl": 3, "stale_while_revalidate": 60}'),
		$(route swrfail kill '{"ttl": 1, "stale_while_revalidate": 60}')]
	| .plans.cfree = {\"rate\": 1, \"burst\": 1, \"routes\": \"*\"}
	| .cache = {\"max_bytes\": 1048576, \"max_object_bytes\": 65536, \"lock_timeout_ms\": 5000}" >"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish
URL=https://127.0.0.1:$GW_PORT
KEY=$(gw_key load)
KEY2=$(gw_key load)
FREE=$(gw_key cfree)
H="X-API-Key: $KEY"

# upstream requests the gateway made to upstream NAME (responses whose head arrived)
ups() {
	curl -s -m 5 "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk -v u="$1" '$1 == "floodgate_upstream_latency_seconds_count{upstream=\"" u "\"}" {print $2}' |
		grep . || echo 0
}
hdr() { # hdr NAME CURL-ARGS...: one response header's value
	local n=$1
	shift
	req -D - -o /dev/null "$@" | tr -d '\r' | awk -v n="$(echo "$n" | tr A-Z a-z)" \
		'{l = tolower($0)} index(l, n ": ") == 1 {print substr($0, length(n) + 3)}'
}

# ---- HIT / MISS / Age ----
is "first request: MISS" "$(hdr X-Cache -H "$H" "$URL/c/c1")" MISS
req -H "$H" -o "$GW_DIR/b1" "$URL/c/c1"
is "second: HIT" "$(hdr X-Cache -H "$H" "$URL/c/c1")" HIT
like "a HIT has an Age" "$(req -H "$H" -D - -o /dev/null "$URL/c/c1" | tr -d '\r' | grep -i '^age:')" "age: "
is "one upstream request for all of them" "$(ups echo)" 1
req -H "$H" -o "$GW_DIR/b2" --http2 "$URL/c/c1"
ok "the cached body is the upstream's, over HTTP/2 too" cmp -s "$GW_DIR/b1" "$GW_DIR/b2"
like "the plan's headers are there on a HIT" \
	"$(req -D - -o /dev/null -H "$H" "$URL/c/c1" | tr -d '\r' | grep -ci '^ratelimit-policy:')" 1

# ---- the cache key ----
is "another key, query api_key, parameters reordered: the same entry" \
	"$(hdr X-Cache "$URL/c/c1?b=2&a=1&api_key=$KEY2")" MISS
is "... HIT with the key in a header and the query sorted" "$(hdr X-Cache -H "$H" "$URL/c/c1?a=1&b=2")" HIT
is "... HIT for the bearer form" "$(hdr X-Cache -H "Authorization: Bearer $KEY2" "$URL/c/c1?b=2&a=1")" HIT
body=$(req -H "$H" "$URL/c/c1?a=1&b=2")
unlike "the API key is not in the cached answer" "$body" "$KEY2"
unlike "... nor the other key" "$body" "$KEY"
like "the upstream saw the query without the key" "$body" '"target":"/c/c1?b=2&a=1"'
is "a chosen header splits entries: tenant a MISS" "$(hdr X-Cache -H "$H" -H 'X-Tenant: a' "$URL/c/keyed")" MISS
is "... tenant a HIT" "$(hdr X-Cache -H "$H" -H 'X-Tenant: a' "$URL/c/keyed")" HIT
is "... tenant b MISS" "$(hdr X-Cache -H "$H" -H 'X-Tenant: b' "$URL/c/keyed")" MISS
is "... no tenant MISS" "$(hdr X-Cache -H "$H" "$URL/c/keyed")" MISS
n=$(ups echo)
is "HEAD is answered from the GET's entry" \
	"$(req -I -H "$H" -H 'X-Tenant: a' "$URL/c/keyed" | tr -d '\r' | grep -i '^x-cache:')" "x-cache: HIT"
is "... without an upstream request" "$(ups echo)" "$n"

# ---- limits come first ----
is "a cached route still takes the client's token: free key first request" \
	"$(status_of -H "X-API-Key: $FREE" "$URL/c/c1")" 200
is "... second over its rate: 429 though the answer is cached" \
	"$(status_of -H "X-API-Key: $FREE" "$URL/c/c1")" 429
is "no key: 401, not the cached answer" "$(status_of "$URL/c/c1")" 401

# ---- TTL ----
is "TTL of 1 s: MISS" "$(hdr X-Cache -H "$H" "$URL/c/t1")" MISS
is "... HIT" "$(hdr X-Cache -H "$H" "$URL/c/t1")" HIT
sleep 1.3
is "... after the TTL: MISS" "$(hdr X-Cache -H "$H" "$URL/c/t1")" MISS
is "... then HIT" "$(hdr X-Cache -H "$H" "$URL/c/t1")" HIT

# ---- Cache-Control ----
for i in 1 2 3; do req -H "$H" -o /dev/null "$URL/c/ns"; done
is "no-store: never stored (3 upstream requests)" "$(ups ns)" 3
is "... every answer a MISS" "$(hdr X-Cache -H "$H" "$URL/c/ns")" MISS
for i in 1 2 3; do req -H "$H" -o /dev/null "$URL/c/priv"; done
is "private: never stored" "$(ups priv)" 3
req -H "$H" -o /dev/null "$URL/c/ma"
is "max-age=1 under a route TTL of 60: HIT at once" "$(hdr X-Cache -H "$H" "$URL/c/ma")" HIT
sleep 1.3
is "... MISS after 1 s" "$(hdr X-Cache -H "$H" "$URL/c/ma")" MISS
req -H "$H" -o /dev/null "$URL/c/sma"
sleep 1.3
is "s-maxage=60 wins over max-age=1 and the route's 1 s" "$(hdr X-Cache -H "$H" "$URL/c/sma")" HIT

# ---- Vary ----
is "Vary: de MISS" "$(hdr X-Cache -H "$H" -H 'Accept-Language: de' "$URL/c/vary")" MISS
is "... de HIT" "$(hdr X-Cache -H "$H" -H 'Accept-Language: de' "$URL/c/vary")" HIT
is "... fr is another variant: MISS" "$(hdr X-Cache -H "$H" -H 'Accept-Language: fr' "$URL/c/vary")" MISS
like "... fr gets its own answer" "$(req -H "$H" -H 'Accept-Language: fr' "$URL/c/vary")" '"accept-language","fr"'
is "... fr HIT" "$(hdr X-Cache -H "$H" -H 'Accept-Language: fr' "$URL/c/vary")" HIT

# ---- coalescing ----
urls=()
for i in $(seq 100); do urls+=("$URL/c/coal?x=1"); done
codes=$(parallel 100 -H "$H" "${urls[@]}" | sort | uniq -c | awk '{print $2 ":" $1}')
is "100 concurrent misses for one key: all 200" "$codes" "200:100"
is "... exactly one upstream request" "$(ups slowc)" 1
cmp_ok "... the others waited for it (coalesced)" \
	"$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/result="coalesced"/ {print $2}')" -ge 1

# ---- stale-if-error ----
req -H "$H" -o "$GW_DIR/s1" "$URL/c/sie"
req -H "$H" -o "$GW_DIR/sf1" "$URL/c/swrfail" # for the failed refresh below
kill "$KILL_PID"
wait "$KILL_PID" 2>/dev/null
sleep 1.2
is "upstream gone, entry expired: STALE under stale-if-error" "$(hdr X-Cache -H "$H" "$URL/c/sie")" STALE
req -H "$H" -o "$GW_DIR/s2" "$URL/c/sie"
ok "... with the stored body" cmp -s "$GW_DIR/s1" "$GW_DIR/s2"
is "... status 200" "$(status_of -H "$H" "$URL/c/sie")" 200
is "a route without stale-if-error: 502" "$(status_of -H "$H" "$URL/v1/dead")" 502

# ---- stale-while-revalidate: the stale entry answers, one background refresh ----
metric() { # metric 'NAME{LABELS}'
	curl -s -m 5 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}' | grep . || echo 0
}
is "a refresh that cannot reach its upstream: STALE at once" "$(hdr X-Cache -H "$H" "$URL/c/swrfail")" STALE
sleep 0.5
cmp_ok "... the refresh failed, counted" "$(metric 'floodgate_cache_refreshes_total{result="failed"}')" -ge 1
is "... the stale entry stays for its window: STALE again" "$(hdr X-Cache -H "$H" "$URL/c/swrfail")" STALE
req -H "$H" -o "$GW_DIR/sf2" "$URL/c/swrfail"
ok "... with the stored body" cmp -s "$GW_DIR/sf1" "$GW_DIR/sf2"

req -H "$H" -H 'X-Probe: one' -o "$GW_DIR/w1" "$URL/c/swr" # 1.5 s to fill
is "the slow upstream's first answer is stored" "$(hdr X-Cache -H "$H" "$URL/c/swr")" HIT
sleep 3.2
n0=$(metric 'floodgate_cache_refreshes_total{result="started"}')
start=$(date +%s%N)
req -H "$H" -H 'X-Probe: two' -D "$GW_DIR/w2h" -o "$GW_DIR/w2" "$URL/c/swr"
el=$((($(date +%s%N) - start) / 1000000))
is "expired: the request that finds it gets STALE" \
	"$(tr -d '\r' <"$GW_DIR/w2h" | awk 'tolower($1) == "x-cache:" {print $2}')" STALE
cmp_ok "... at once, not after the upstream's 1.5 s (ms)" "$el" -lt 1000
like "... with an Age" "$(tr -d '\r' <"$GW_DIR/w2h" | grep -i '^age:')" "ge: "
ok "... and the stored body" cmp -s "$GW_DIR/w1" "$GW_DIR/w2"
urls=()
for i in $(seq 30); do urls+=("$URL/c/swr"); done
codes=$(parallel 30 -H "$H" "${urls[@]}" | sort | uniq -c | awk '{print $2 ":" $1}')
is "a burst meanwhile: all 200" "$codes" "200:30"
is "... one refresh started for all of them" \
	"$(($(metric 'floodgate_cache_refreshes_total{result="started"}') - n0))" 1
for i in $(seq 50); do # the refresh's answer: 1.5 s after it started (at most 5 s)
	[ "$(ups swr)" -ge 2 ] && break
	sleep 0.1
done
sleep 0.2
is "... exactly one upstream request for the refresh (2 in all)" "$(ups swr)" 2
is "the next request: HIT from the refreshed entry" "$(hdr X-Cache -H "$H" "$URL/c/swr")" HIT
like "... with the refresh's body (from the request that found it stale)" \
	"$(req -H "$H" "$URL/c/swr")" '"x-probe","two"'
cmp_ok "... and its Age reset" "$(hdr Age -H "$H" "$URL/c/swr")" -le 2
is "... counted: succeeded" "$(metric 'floodgate_cache_refreshes_total{result="succeeded"}')" 1
unlike "the API key never reached the upstream in the refresh" "$(req -H "$H" "$URL/c/swr")" "$KEY"
sleep 3.2
is "expired again: STALE, a refresh starts" "$(hdr X-Cache -H "$H" -H 'X-Probe: three' "$URL/c/swr")" STALE
kill -HUP "$GW_PID" # a reload while the refresh waits for the upstream
for i in $(seq 50); do
	[ "$(ups swr)" -ge 3 ] && break
	sleep 0.1
done
sleep 0.2
is "... a reload meanwhile: the refresh completes on the config it started with" \
	"$(metric 'floodgate_cache_refreshes_total{result="succeeded"}')" 2
like "... and its answer is served" "$(req -H "$H" "$URL/c/swr")" '"x-probe","three"'

# ---- purges ----
req -H "$H" -o /dev/null "$URL/c/c1"
is "before the purge: HIT" "$(hdr X-Cache -H "$H" "$URL/c/c1")" HIT
like "purge by route" "$(admin POST /v1/cache/purge '{"route": "c1"}')" '"status":"purged"'
is "... then MISS" "$(hdr X-Cache -H "$H" "$URL/c/c1")" MISS
is "... other routes kept" "$(hdr X-Cache -H "$H" -H 'X-Tenant: a' "$URL/c/keyed")" HIT
ok "purge by pattern with fgctl" env FLOODGATE_ADMIN_TOKEN="$GW_TOKEN" \
	fgctl cache purge --admin "http://127.0.0.1:$ADMIN_PORT" --pattern '/c/key*'
is "... the matching entry is gone" "$(hdr X-Cache -H "$H" -H 'X-Tenant: a' "$URL/c/keyed")" MISS
is "... others kept" "$(hdr X-Cache -H "$H" "$URL/c/c1")" HIT
like "purge all" "$(admin POST /v1/cache/purge '{"all": true}')" '"purge":'
is "... then MISS" "$(hdr X-Cache -H "$H" "$URL/c/c1")" MISS
like "an unknown route: 404" "$(admin POST /v1/cache/purge '{"route": "nope"}')" '"status":404'
like "an empty purge: 400" "$(admin POST /v1/cache/purge '{}')" '"status":400'
is "every purge audited (route, pattern, all)" \
	"$(admin GET /v1/audit | jq -c '[.entries[] | select(.action == "cache.purge") | .target]')" \
	'["c1","*","*"]'
like "metrics: hits counted" "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" \
	'floodgate_cache_requests_total{result="hit"}'

# ---- config errors ----
gw_config '.routes[0].cache = {"ttl": 5, "key_headers": ["X-API-Key"]}' >"$GW_DIR/bad.json"
like "the API-key header cannot be a cache key header" "$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)" \
	'routes[0].cache.key_headers[0]: "X-API-Key" carries credentials'
gw_config '.routes[0].cache = {"ttl": "5"}' >"$GW_DIR/bad.json"
like "a bad TTL: file:line:col" "$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)" 'routes[0].cache.ttl: expected an integer'
gw_config '.cache = {"max_bytes": 10, "max_object_bytes": 100}' >"$GW_DIR/bad.json"
like "object larger than the budget" "$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)" 'is larger than max_bytes'
ok "the daemon is still up" kill -0 "$GW_PID"
finish

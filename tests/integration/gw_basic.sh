#!/usr/bin/env bash
# gw_basic: the daemon end to end over real TLS with curl - 200 through the upstream with a
# key from each source, what the upstream receives (api_key stripped, X-Forwarded-For,
# X-Forwarded-Proto, Via, no hop-by-hop headers), the body and headers of every error
# (400 401 403 404 405 413 429 502 504), normalisation attacks, TLS versions, ALPN h2,
# ECDSA + RSA certificates, session resumption, the admin API, metrics and the access log;
# the Server header (none by default, server_header's value when set).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

gw_upstream "$UP_ECHO" --echo
gw_upstream "$UP_FAST" --size 512
gw_upstream "$UP_SLOW" --delay 2000
gw_config >"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish

URL=https://127.0.0.1:$GW_PORT
FREE=$(gw_key free)
PREM=$(gw_key premium '"label": "basic test"')
like "admin creates a key" "$PREM" "fg_"

# fetch NAME ARGS...: headers to $GW_DIR/NAME.h, body to NAME.b, prints the status code
fetch() {
	local name=$1
	shift
	req -D "$GW_DIR/$name.h" -o "$GW_DIR/$name.b" -w '%{http_code}' "$@"
}
hdr() { # hdr NAME HEADER: the value of a response header (case-insensitive), CR stripped
	grep -i "^$2:" "$GW_DIR/$1.h" | head -1 | cut -d' ' -f2- | tr -d '\r'
}
body() { cat "$GW_DIR/$1.b"; }

# ---- 200 through the upstream, a key from each source ----
is "X-API-Key: 200" "$(fetch h -H "X-API-Key: $PREM" "$URL/v1/items/7?a=1")" 200
is "upstream got the path and query" "$(body h | jq -r .target)" "/v1/items/7?a=1"
is "Authorization: Bearer: 200" "$(fetch b -H "Authorization: Bearer $PREM" "$URL/v1/items")" 200
# curl sends "X-API-Key;" as an empty field: no key, so the Bearer token behind it is used
is "empty X-API-Key + Bearer: 200" "$(fetch eb -H "X-API-Key;" -H "Authorization: Bearer $PREM" "$URL/v1/items")" 200
is "api_key query parameter: 200" "$(fetch q "$URL/v1/items?x=1&api_key=$PREM&y=2")" 200
is "api_key is stripped before forwarding" "$(body q | jq -r .target)" "/v1/items?x=1&y=2"
unlike "the key never reaches the upstream (query)" "$(body q)" "$PREM"
is "a lone api_key leaves no '?'" "$(fetch q2 "$URL/v1/items?api_key=$PREM")" 200
# some upstreams split the query at ';' too: an api_key there is removed as well
is "api_key after ';' (key in the header): 200" "$(fetch q3 -H "X-API-Key: $PREM" "$URL/v1/items?x=1;api_key=$PREM&y=2")" 200
is "... stripped before forwarding" "$(body q3 | jq -r .target)" "/v1/items?x=1&y=2"
is "... target" "$(body q2 | jq -r .target)" "/v1/items"
unlike "the key never reaches the upstream (header)" "$(body h)" "$PREM"
unlike "the key never reaches the upstream (bearer)" "$(body b)" "$PREM"
like "Authorization carrying the key is not forwarded" "$(body b | jq -c '[.headers[][0] | ascii_downcase]')" '"via"'
unlike "... (no authorization header upstream)" "$(body b | jq -c '[.headers[][0] | ascii_downcase]')" '"authorization"'

# ---- what the upstream receives ----
fetch fw --http1.1 -H "X-API-Key: $PREM" -H "Connection: keep-alive, X-Hop" -H "X-Hop: secret" \
	-H "Keep-Alive: timeout=5" -H "TE: trailers" -H "X-Custom: yes" \
	-H "X-Forwarded-For: 198.18.5.5" -H "X-Forwarded-Proto: gopher" "$URL/v1/items" >/dev/null
H=$(body fw | jq -c '[.headers[] | [(.[0] | ascii_downcase), .[1]]]')
hv() { echo "$H" | jq -r --arg n "$1" '[.[] | select(.[0] == $n) | .[1]] | join("|")'; }
is "X-Forwarded-For is the peer (an untrusted client's own value dropped)" "$(hv x-forwarded-for)" "127.0.0.1"
is "X-Forwarded-Proto is the real scheme" "$(hv x-forwarded-proto)" "https"
is "Via names the gateway" "$(hv via)" "1.1 floodgate"
is "an end-to-end header passes" "$(hv x-custom)" "yes"
is "a header named in Connection is dropped" "$(hv x-hop)" ""
is "Keep-Alive is dropped" "$(hv keep-alive)" ""
is "TE is dropped" "$(hv te)" ""
is "the key header is dropped" "$(hv x-api-key)" ""
is "Host is the upstream's" "$(hv host)" "127.0.0.1:$UP_ECHO"
is "HTTP/2 client: 200" "$(fetch h2 --http2 -H "X-API-Key: $PREM" -H "Cookie: a=1" -H "Cookie: b=2" "$URL/v1/items")" 200
is "HTTP/2 client: Via says 2" "$(body h2 | jq -r '.headers[] | select(.[0] == "via") | .[1]')" "2 floodgate"
is "HTTP/2 cookies arrive as one header" "$(body h2 | jq -r '[.headers[] | select(.[0] == "cookie") | .[1]] | join("|")')" "a=1; b=2"
is "no Server header by default, nor the upstream's (HTTP/1.1)" "$(hdr h server)" ""
is "no Server header by default (HTTP/2)" "$(hdr h2 server)" ""
is "POST body reaches the upstream" "$(fetch post -H "X-API-Key: $PREM" --data-binary 'hello world' "$URL/v1/items")" 200
is "... with its length" "$(body post | jq -r .body_bytes)" 11

# ---- normalisation: the upstream gets the path that was matched ----
is "dot-segments resolved" "$(fetch n1 --path-as-is -H "X-API-Key: $PREM" "$URL/v1/x/../items/%34%32")" 200
is "... upstream target" "$(body n1 | jq -r .target)" "/v1/items/42"
for p in "/v1/items/../../admin" "/v1/%2e%2e/admin" "//admin" "/v1/items/%2e%2e/%2e%2e/admin" "/admin"; do
	is "404 for $p" "$(fetch n2 --path-as-is -H "X-API-Key: $PREM" "$URL$p")" 404
done
for p in "/v1/items%2F42" "/v1/%zz" "/v1/%00" "/../v1/items" "/v1/%2e%2e/%2e%2e/v1/items" \
	'/v1/items/..\admin' '/v1/items\42' '/v1/items/%5C42'; do
	is "400 for $p" "$(fetch n3 --path-as-is -H "X-API-Key: $PREM" "$URL$p")" 400
done
is "400 body type" "$(body n3 | jq -r .type)" "urn:floodgate:problem:bad-request"

# ---- every error: status, problem+json body with a stable type ----
problem() { # problem DESC NAME STATUS SLUG
	is "$1: status" "$(body "$2" | jq -r .status)" "$3"
	is "$1: type" "$(body "$2" | jq -r .type)" "urn:floodgate:problem:$4"
	is "$1: content-type" "$(hdr "$2" content-type)" "application/problem+json"
	like "$1: has a title and a detail" "$(body "$2" | jq -r '.title + "|" + .detail')" "|"
}
is "401 without a key" "$(fetch e1 "$URL/v1/items")" 401
problem "missing key" e1 401 missing-key
like "401 carries WWW-Authenticate" "$(hdr e1 www-authenticate)" 'Bearer realm="floodgate"'
is "401 for an unknown key" "$(fetch e2 -H "X-API-Key: fg_not_a_real_key" "$URL/v1/items")" 401
problem "unknown key" e2 401 invalid-key
is "401 for a malformed key" "$(fetch e2b "$URL/v1/items?api_key=%zz")" 401
problem "malformed key" e2b 401 invalid-key
REV=$(gw_key premium)
REV_ID=$(admin GET /v1/keys | jq -r --arg k "$REV" '.keys[-1].id')
admin POST "/v1/keys/$(printf %s "$REV" | sha256sum | cut -c1-16)/revoke" >/dev/null
is "401 for a revoked key" "$(fetch e3 -H "X-API-Key: $REV" "$URL/v1/items")" 401
problem "revoked key" e3 401 revoked-key
BLK=$(gw_key premium)
BLK_ID=$(printf %s "$BLK" | sha256sum | cut -c1-16)
is "admin blocks a key" "$(admin POST "/v1/keys/$BLK_ID/block" | jq -r .status)" blocked
is "403 for a blocked key" "$(fetch e4 -H "X-API-Key: $BLK" "$URL/v1/items")" 403
problem "blocked key" e4 403 blocked-key
is "admin unblocks it" "$(admin POST "/v1/keys/$BLK_ID/unblock" | jq -r .status)" active
is "... and it works again at once" "$(fetch e4b -H "X-API-Key: $BLK" "$URL/v1/items")" 200
is "403 for a route outside the plan" "$(fetch e5 -H "X-API-Key: $FREE" "$URL/v1/reports")" 403
problem "route not in plan" e5 403 route-not-in-plan
is "403 under a plan carries its RateLimit-Policy" "$(hdr e5 ratelimit-policy)" '"free";q=1;w=1'
is "404 for no route" "$(fetch e6 -H "X-API-Key: $PREM" "$URL/v1/nothing")" 404
problem "no route" e6 404 not-found
is "405 for a known path, other method" "$(fetch e7 -X DELETE -H "X-API-Key: $PREM" "$URL/v1/items")" 405
problem "method" e7 405 method-not-allowed
is "405 lists the allowed methods" "$(hdr e7 allow)" "GET, HEAD, POST"
is "404 tells caches not to store it" "$(hdr e6 cache-control)" "no-store"
is "405 tells caches not to store it" "$(hdr e7 cache-control)" "no-store"
is "401 needs no Cache-Control (never stored by default)" "$(hdr e2 cache-control)" ""
is "first free request: 200" "$(fetch r1 -H "X-API-Key: $FREE" "$URL/v1/items")" 200
is "second free request: 429" "$(fetch e8 -H "X-API-Key: $FREE" "$URL/v1/items")" 429
problem "rate limited" e8 429 rate-limited
is "429 Retry-After" "$(hdr e8 retry-after)" 1
is "429 needs no Cache-Control (never stored by default)" "$(hdr e8 cache-control)" ""
is "429 RateLimit-Policy" "$(hdr e8 ratelimit-policy)" '"free";q=1;w=1'
is "429 RateLimit" "$(hdr e8 ratelimit)" '"free";r=0;t=1'
is "200 RateLimit-Policy" "$(hdr r1 ratelimit-policy)" '"free";q=1;w=1'
is "premium RateLimit-Policy" "$(hdr h ratelimit-policy)" '"premium";q=100;w=10'
like "premium RateLimit" "$(hdr h ratelimit)" '"premium";r=9'
is "no legacy X-RateLimit headers by default" "$(hdr h x-ratelimit-limit)" ""
is "502 when the upstream refuses" "$(fetch e9 -H "X-API-Key: $PREM" "$URL/v1/dead")" 502
problem "upstream refused" e9 502 upstream-unavailable
is "502 keeps the plan headers" "$(hdr e9 ratelimit-policy)" '"premium";q=100;w=10'
is "504 when the upstream is slow" "$(fetch e10 -H "X-API-Key: $PREM" "$URL/v1/slow")" 504
problem "upstream timeout" e10 504 upstream-timeout
head -c 100000 /dev/zero >"$GW_DIR/big"
is "413 for a body over the limit" "$(fetch e11 --http1.1 -H "Expect: 100-continue" -H "X-API-Key: $PREM" --data-binary @"$GW_DIR/big" "$URL/v1/items")" 413
problem "payload too large" e11 413 payload-too-large
# h2o 2.2.5 refuses an oversized HTTP/2 request body with RST_STREAM instead of a 413
nok "over HTTP/2 the oversized body is refused" req --http2 --retry 0 -f -H "X-API-Key: $PREM" \
	--data-binary @"$GW_DIR/big" -o /dev/null "$URL/v1/items"
(printf 'X-Big: '; head -c 20000 /dev/zero | tr '\0' a; echo) >"$GW_DIR/bigh"
is "431 for 20 kB of headers (HTTP/1.1)" "$(fetch e12 --http1.1 -H @"$GW_DIR/bigh" -H "X-API-Key: $PREM" "$URL/v1/items")" 431
problem "headers too large" e12 431 headers-too-large
is "431 for 20 kB of headers (HTTP/2)" "$(fetch e13 --http2 -H @"$GW_DIR/bigh" -H "X-API-Key: $PREM" "$URL/v1/items")" 431
is "public route needs no key" "$(fetch pub "$URL/public/x")" 200
is "... and carries no plan headers" "$(hdr pub ratelimit-policy)" ""
is "HEAD on a GET route: 200 without body" "$(fetch hd -I -H "X-API-Key: $PREM" "$URL/v1/items")" 200
is "HEAD of an error: 401 without a body" "$(req -I -o /dev/null -w '%{http_code} %{size_download}' "$URL/v1/items")" "401 0"

# ---- bad input never crashes or hangs the daemon ----
(printf 'X-Big: '; head -c 500000 /dev/zero | tr '\0' a; echo) >"$GW_DIR/hugeh"
code=$(fetch bh --http1.1 -H @"$GW_DIR/hugeh" -H "X-API-Key: $PREM" "$URL/v1/items")
# h2o answers 400 and closes while curl may still be sending: either is an answer
like "a 500 kB header: 400 or the connection closed, promptly" "400 000" "$code"
code=$(fetch bk -H "X-API-Key: $(head -c 1000 /dev/zero | tr '\0' k)" "$URL/v1/items")
is "a 1000-byte key is invalid" "$code" 401
code=$(printf 'GET /v1/items HTTP/1.1\r\nHost: x\r\nX-API-Key: \x01\x02\r\n\r\n' |
	bounded 5 openssl s_client -quiet -connect "127.0.0.1:$GW_PORT" 2>/dev/null | head -1 | tr -d '\r')
like "control bytes in a key: an answer, not a hang" "$code" "HTTP/1.1 4"
code=$(printf 'GARBAGE\r\n\r\n' | bounded 5 openssl s_client -quiet -connect "127.0.0.1:$GW_PORT" 2>/dev/null | head -1 | tr -d '\r')
like "a garbage request line gets 400" "$code" "400"
ok "still healthy after the bad input" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"

# ---- TLS ----
sc() { echo | bounded 10 openssl s_client -connect "127.0.0.1:$GW_PORT" "$@" 2>&1; }
like "TLS 1.3" "$(sc -tls1_3)" "TLSv1.3"
like "TLS 1.2" "$(sc -tls1_2)" "TLSv1.2"
unlike "TLS 1.1 is refused" "$(sc -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')" "Cipher is ECDHE"
like "ALPN h2" "$(sc -alpn h2,http/1.1)" "ALPN protocol: h2"
like "ALPN http/1.1" "$(sc -alpn http/1.1)" "ALPN protocol: http/1.1"
like "ECDSA certificate" "$(sc -tls1_2 -sigalgs ECDSA+SHA256)" "Peer signature type: ECDSA"
like "RSA certificate" "$(sc -tls1_2 -sigalgs RSA+SHA256:RSA-PSS+SHA256 -cipher ECDHE-RSA-AES128-GCM-SHA256)" "Peer signature type: RSA"
sc -tls1_2 -sess_out "$GW_DIR/sess" >/dev/null
like "TLS 1.2 session resumption" "$(sc -tls1_2 -sess_in "$GW_DIR/sess")" "Reused, TLSv1.2"
(sleep 0.5; echo) | bounded 10 openssl s_client -connect "127.0.0.1:$GW_PORT" -tls1_3 -sess_out "$GW_DIR/sess13" >/dev/null 2>&1
like "TLS 1.3 session resumption" "$(sc -tls1_3 -sess_in "$GW_DIR/sess13")" "Reused, TLSv1.3"
is "plain HTTP listener works too" "$(bounded 10 curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $PREM" "http://127.0.0.1:$GW_HTTP_PORT/v1/items")" 200

# ---- HTTP/2 under h2load ----
LOAD=$(gw_key load)
out=$(bounded 60 h2load -n 400 -c 4 -m 10 -H "x-api-key: $LOAD" "$URL/v1/fast" 2>&1)
like "h2load: every request succeeded" "$out" "400 succeeded, 0 failed, 0 errored"
like "h2load: all 2xx" "$out" "400 2xx"
like "h2load: over h2" "$out" "Application protocol: h2"

# ---- admin API ----
is "admin without token: 401" "$(bounded 5 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/v1/keys")" 401
is "admin with a wrong token: 401" "$(bounded 5 curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "http://127.0.0.1:$ADMIN_PORT/v1/keys")" 401
PREM_ID=$(printf %s "$PREM" | sha256sum | cut -c1-16)
is "show a key" "$(admin GET "/v1/keys/$PREM_ID" | jq -r '.plan + "/" + .label + "/" + .status')" "premium/basic test/active"
unlike "show never returns the key" "$(admin GET "/v1/keys/$PREM_ID")" "$PREM"
is "list the keys" "$(admin GET /v1/keys | jq '.keys | length')" 5
is "list pages" "$(admin GET '/v1/keys?limit=2' | jq -r '(.keys | length | tostring) + " " + (.next | length | tostring)')" "2 16"
is "unknown key id: 404" "$(admin GET /v1/keys/0000000000000000 | jq -r .status)" 404
is "unknown plan: 400" "$(admin POST /v1/keys '{"plan": "gold"}' | jq -r .status)" 400
is "past expiry: 400" "$(admin POST /v1/keys '{"plan": "free", "expires": "2001-01-01"}' | jq -r .status)" 400
is "unknown field: 400" "$(admin POST /v1/keys '{"plan": "free", "colour": 1}' | jq -r .status)" 400
is "not JSON: 400" "$(admin POST /v1/keys 'plan=free' | jq -r .status)" 400
is "set-plan" "$(admin POST "/v1/keys/$(printf %s "$FREE" | sha256sum | cut -c1-16)/plan" '{"plan": "premium"}' | jq -r .plan)" premium
is "... applies at once (the free key reaches reports now)" "$(fetch sp -H "X-API-Key: $FREE" "$URL/v1/reports")" 200
# h2o refuses a body over the admin API's 64 KiB itself: still problem+json
head -c 70000 /dev/zero | tr '\0' a >"$GW_DIR/abig"
bounded 10 curl -s -m 5 -D "$GW_DIR/ab.h" -o "$GW_DIR/ab.b" -X POST -H "Authorization: Bearer $GW_TOKEN" \
	-H 'Content-Type: application/json' --data-binary @"$GW_DIR/abig" "http://127.0.0.1:$ADMIN_PORT/v1/keys"
problem "admin: body over 64 KiB" ab 413 admin-payload-too-large
is "a revoked key stays revoked" "$(admin POST "/v1/keys/$(printf %s "$REV" | sha256sum | cut -c1-16)/unblock" | jq -r .status)" 409
EXP=$(gw_key premium "\"expires\": $(($(date +%s) + 2))")
is "a key before its expiry: 200" "$(fetch x1 -H "X-API-Key: $EXP" "$URL/v1/items")" 200
sleep 3
is "401 after the expiry" "$(fetch x2 -H "X-API-Key: $EXP" "$URL/v1/items")" 401
problem "expired key" x2 401 expired-key

# ---- metrics and the access log ----
M=$(bounded 5 curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
like "metrics: requests by route, status and plan" "$M" 'floodgate_requests_total{route="items",status="200",plan="premium"}'
like "metrics: 429 counted by reason" "$M" 'floodgate_rejections_total{reason="rate-limited"} 1'
like "metrics: upstream refused counted" "$M" 'floodgate_upstream_errors_total{upstream="dead",kind="refused"} 1'
like "metrics: upstream timeout counted" "$M" 'floodgate_upstream_errors_total{upstream="slow",kind="timeout"} 1'
like "metrics: latency histogram" "$M" 'floodgate_upstream_latency_seconds_count{upstream="fast"} 400'
like "metrics: keys loaded" "$M" 'floodgate_keys_loaded 6'
sleep 1.2 # the access log is flushed at least once a second
ok "access log: every line is JSON" jq -e . "$GW_DIR/access.log"
like "access log: a 429 line" "$(grep '"status":429' "$GW_DIR/access.log" | head -1)" '"reason":"rate-limited"'
like "access log: the uri sent upstream" "$(cat "$GW_DIR/access.log")" '"uri":"/v1/items?x=1&y=2"'
unlike "access log: no key in it" "$(cat "$GW_DIR/access.log")" "$PREM"
unlike "access log: no free key in it" "$(cat "$GW_DIR/access.log")" "$FREE"
ok "still healthy" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
ok "no error logged" bash -c "! grep -q ': error:' '$GW_DIR/floodgate.log'"

# ---- server_header: the Server header the operator names, on every answer ----
kill "$GW_PID" 2>/dev/null
wait "$GW_PID" 2>/dev/null
jq '.server_header = "api-gw/1"' "$GW_DIR/c.json" >"$GW_DIR/sh.json"
gw_start "$GW_DIR/sh.json" "daemon starts with a server_header" || finish
is "server_header on a proxied 200 (HTTP/1.1)" "$(fetch s1 -H "X-API-Key: $PREM" "$URL/v1/items")$(hdr s1 server)" "200api-gw/1"
is "server_header on a 401 (HTTP/2)" "$(fetch s2 --http2 -H "X-API-Key: fg_nope" "$URL/v1/items")$(hdr s2 server)" "401api-gw/1"

finish

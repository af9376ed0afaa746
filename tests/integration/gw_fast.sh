#!/usr/bin/env bash
# gw_fast: the request path's shortcuts answer exactly as the general path does - small
# complete upstream bodies sent in h2o's pull mode over HTTP/1 (head and body in one write)
# next to the streamed ones (a body over the threshold, a chunked one, one cut short, HEAD,
# an empty one), pipelined requests through it, over TLS and plain HTTP; problem responses
# pulled the same way (every error, HEAD, pipelined); the per-connection key digest cache
# (a key revoked, blocked or replaced between two requests of one connection, HTTP/1.1 and
# HTTP/2); paths that skip normalisation next to those that need it; the status lines h2o
# formats through floodgate's fast sprintf (gw/fastfmt.h); HTTP/2 heads through floodgate's
# HPACK encoder (gw/hpack.h), several on one connection; HTTP/2 request heads decoded by
# floodgate (gw/hpackdec.h): the upstream sees each request of a connection as sent.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

# Body sizes around the pull threshold (PULL_MAX_BODY in userspace/gw/proxy.c).
UP_S0=$((UP_BAD3 + 1)) UP_S1=$((UP_BAD3 + 2)) UP_S2=$((UP_BAD3 + 3))
UP_S3=$((UP_BAD3 + 4)) UP_CH=$((UP_BAD3 + 5)) UP_CUT=$((UP_BAD3 + 6))
gw_upstream "$UP_ECHO" --echo
gw_upstream "$UP_S0" --size 0
gw_upstream "$UP_S1" --size 300
gw_upstream "$UP_S2" --size 16384
gw_upstream "$UP_S3" --size 16385
gw_upstream "$UP_CH" --framing chunked --size 300
gw_upstream "$UP_CUT" --bad truncate --size 3000
up() { printf '"%s": {"url": "http://127.0.0.1:%s"}' "$1" "$2"; }
route() { printf '{"name": "%s", "methods": ["GET", "HEAD"], "path": "/s/%s", "upstream": "%s"}' "$1" "$1" "$1"; }
gw_config ".upstreams += {$(up s0 "$UP_S0"), $(up s1 "$UP_S1"), $(up s2 "$UP_S2"),
		$(up s3 "$UP_S3"), $(up ch "$UP_CH"), $(up cut "$UP_CUT")}
	| .routes += [$(route s0), $(route s1), $(route s2), $(route s3), $(route ch), $(route cut)]" \
	>"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish
URL=https://127.0.0.1:$GW_PORT
HTTP=http://127.0.0.1:$GW_HTTP_PORT
KEY=$(gw_key load)
H="X-API-Key: $KEY"

# ---- every size and framing: the same bytes as the upstream's, on every protocol ----
for r in s0 s1 s2 s3 ch; do
	port_var=UP_$(echo "$r" | tr a-z A-Z)
	bounded 5 curl -s -o "$GW_DIR/want.$r" "http://127.0.0.1:${!port_var}/"
	want=$(stat -c %s "$GW_DIR/want.$r")
	for v in --http1.1 --http2; do
		is "$r ($want bytes, $v): status and size" \
			"$(req $v -H "$H" -o "$GW_DIR/got" -w '%{http_code} %{size_download}' "$URL/s/$r")" \
			"200 $want"
		ok "... byte for byte" cmp -s "$GW_DIR/got" "$GW_DIR/want.$r"
	done
	is "$r over plain HTTP/1.1" \
		"$(bounded 15 curl -s -m 10 -H "$H" -o "$GW_DIR/got" -w '%{http_code} %{size_download}' "$HTTP/s/$r")" \
		"200 $want"
	ok "... byte for byte" cmp -s "$GW_DIR/got" "$GW_DIR/want.$r"
done
is "a small body keeps its Content-Length" \
	"$(req --http1.1 -H "$H" -D - -o /dev/null "$URL/s/s1" | grep -i '^content-length:' | tr -d '\r')" \
	"Content-Length: 300"
is "the chunked one stays chunked" \
	"$(req --http1.1 -H "$H" -D - -o /dev/null "$URL/s/ch" | grep -ci '^transfer-encoding: chunked')" 1
is "the plan's headers come along" \
	"$(req --http1.1 -H "$H" -D - -o /dev/null "$URL/s/s1" | grep -ci '^ratelimit-policy:')" 1

# ---- HEAD: the upstream's length, no body ----
for r in s1 s3 ch; do
	is "HEAD $r: 200 and no body" \
		"$(req --http1.1 -I -H "$H" -o /dev/null -w '%{http_code} %{size_download}' "$URL/s/$r")" "200 0"
done
is "HEAD s1 says the length" \
	"$(req --http1.1 -I -H "$H" "$URL/s/s1" | grep -i '^content-length:' | tr -d '\r')" \
	"Content-Length: 300"

# ---- a body cut short: the head went out, the client sees the transfer fail ----
code=$(req --http1.1 -H "$H" -o /dev/null -w '%{http_code}' "$URL/s/cut")
rc=$?
is "cut body: the head went out" "$code" 200
cmp_ok "... and the transfer failed (curl exit $rc)" "$rc" -ne 0

# ---- pipelining: answers in order, each body whole, over TLS and plain HTTP ----
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
h1() { bounded 30 "$PY" "$(dirname "$0")/gw_h1client.py" "$@"; }
sum() { printf '%s %s' "$(stat -c %s "$GW_DIR/want.$1")" "$(sha256sum <"$GW_DIR/want.$1" | cut -c1-16)"; }
want="200 $(sum s1) 300
200 $(sum s3) 16385
200 $(sum ch) chunked
200 $(sum s0) 0
200 0 e3b0c44298fc1c14 300
200 $(sum s1) 300"
for t in --tls ""; do
	port=$GW_PORT
	[ -z "$t" ] && port=$GW_HTTP_PORT
	out=$(h1 $t "$port" "GET /s/s1|$H" "GET /s/s3|$H" "GET /s/ch|$H" "GET /s/s0|$H" \
		"HEAD /s/s1|$H" "GET /s/s1|$H" "GET /s/s1")
	is "pipelined (${t:-plain}): answers in order, bodies whole" "$(echo "$out" | head -6)" "$want"
	like "... and a 401 last" "$(echo "$out" | sed -n 7p)" "401 "
done

# ---- problem responses over HTTP/1.1 (pulled) are the HTTP/2 ones, byte for byte ----
FREE=$(gw_key free)
for t in "401 missing|/v1/items|" "401 unknown|/v1/items|X-API-Key: fg_nope" \
	"401 malformed|/v1/items?api_key=%zz|" "404|/v1/nothing|$H" "400|/v1/%zz|$H" \
	"403 plan|/v1/reports|X-API-Key: $FREE"; do
	IFS='|' read -r what path hdr <<<"$t"
	for v in --http1.1 --http2; do
		req $v ${hdr:+-H "$hdr"} -D "$GW_DIR/p$v.h" -o "$GW_DIR/p$v.b" "$URL$path"
	done
	ok "$what: the same body over HTTP/1.1 and HTTP/2" cmp -s "$GW_DIR/p--http1.1.b" "$GW_DIR/p--http2.b"
	hs() { grep -v -i -e '^date:' -e '^HTTP/' -e '^connection:' "$1" | tr -d '\r' | tr A-Z a-z | sort; }
	is "$what: the same headers" "$(hs "$GW_DIR/p--http1.1.h")" "$(hs "$GW_DIR/p--http2.h")"
done
is "405 over HTTP/1.1 with Allow" "$(req --http1.1 -X DELETE -H "$H" -D - -o /dev/null "$URL/v1/items" | grep -i '^allow:' | tr -d '\r')" \
	"Allow: GET, HEAD, POST"
is "429 over HTTP/1.1: its headers" "$(req --http1.1 -H "X-API-Key: $FREE" -o /dev/null "$URL/v1/items"; \
	req --http1.1 -H "X-API-Key: $FREE" -D - -o /dev/null "$URL/v1/items" | grep -i -e '^retry-after:' -e '^ratelimit:' | tr -d '\r' | sort | tr '\n' ' ')" \
	'RateLimit: "free";r=0;t=1 Retry-After: 1 '
is "HEAD of a problem over HTTP/1.1: no body, the body's length" \
	"$(req --http1.1 -I "$URL/v1/items" -w '%{http_code} %{size_download}' | tr -d '\r' | grep -i -e '^content-length' -e '^401')" \
	"Content-Length: $(stat -c %s "$GW_DIR/p--http2.b" >/dev/null; req --http2 "$URL/v1/items" | wc -c)
401 0"
out=$(h1 --tls "$GW_PORT" "GET /v1/items" "HEAD /v1/items" "GET /v1/nothing|$H" "GET /s/s1|$H" \
	"DELETE /v1/items|$H" "GET /v1/items|X-API-Key: fg_nope" "GET /s/s1|$H")
is "pipelined problems between proxied answers: statuses in order" \
	"$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" "401 401 404 200 405 401 200 "
is "... the HEAD's body is empty" "$(echo "$out" | sed -n 2p | cut -d' ' -f2)" 0
is "... the proxied bodies whole" "$(echo "$out" | sed -n '4p;7p' | cut -d' ' -f2-3 | sort -u)" "$(sum s1)"

# ---- the key digest cache: never a verdict, never across connections ----
K1=$(gw_key load)
K2=$(gw_key load)
K1_ID=$(printf %s "$K1" | sha256sum | cut -c1-16)
ADM="curl -s -m 5 -o /dev/null -X POST -H 'Authorization: Bearer $GW_TOKEN' http://127.0.0.1:$ADMIN_PORT/v1/keys/$K1_ID"
out=$(h1 --tls "$GW_PORT" "GET /s/s1|X-API-Key: $K1" "!$ADM/block" "GET /s/s1|X-API-Key: $K1" \
	"!$ADM/unblock" "GET /s/s1|X-API-Key: $K1" "GET /s/s1|X-API-Key: $K2" "GET /s/s1|X-API-Key: ${K1}x" \
	"GET /s/s1|X-API-Key: $K1" "!$ADM/revoke" "GET /s/s1|X-API-Key: $K1" "GET /s/s1|X-API-Key: $K2")
is "one HTTP/1.1 connection: blocked 403, unblocked 200, other keys, revoked 401 at once" \
	"$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" "200 403 200 200 401 200 401 200 "
K3=$(gw_key load)
K3_ID=$(printf %s "$K3" | sha256sum | cut -c1-16)
# one transfer a second on one connection; stderr (unbuffered) tells when the first is done
bounded 20 curl -s -k -m 15 --http2 --rate 1/s -H "X-API-Key: $K3" \
	-w '%{stderr}%{http_code} %{num_connects}\n' \
	-o /dev/null "$URL/s/s1" -o /dev/null "$URL/s/s1" -o /dev/null "$URL/s/s1" 2>"$GW_DIR/h2rev" &
CURL=$!
wait_for 5 grep -q . "$GW_DIR/h2rev"
admin POST "/v1/keys/$K3_ID/revoke" >/dev/null
wait "$CURL"
is "one HTTP/2 connection: revoked between two requests, 401 on the next" \
	"$(tr '\n' ' ' <"$GW_DIR/h2rev")" "200 1 401 0 401 0 "
is "HTTP/2: keys alternating on one connection" \
	"$(req --http2 -w '%{http_code} ' -H "X-API-Key: $K2" -o /dev/null "$URL/s/s1" --next -k -w '%{http_code} ' \
		-H "X-API-Key: fg_nope" -o /dev/null "$URL/s/s1" --next -k -w '%{http_code} %{num_connects}' \
		-H "X-API-Key: $K2" -o /dev/null "$URL/s/s1")" "200 401 200 0"

# ---- paths: the fast path (already normal) and the normalised one reach the same ----
for p in "/v1/items/42" "/v1/items/" "/v1/./items/42" "/v1//items/%34%32" "/v1/x/../items/42" \
	"/v1/items/4%32"; do
	code=$(req --http1.1 --path-as-is -H "$H" -o "$GW_DIR/np" -w '%{http_code}' "$URL$p")
	like "$p: answered" "404 200" "$code"
	[ "$code" = 200 ] && is "... upstream got the normal form" "$(jq -r .target "$GW_DIR/np")" \
		"$(case $p in */) echo /v1/items/ ;; *) echo /v1/items/42 ;; esac)"
done
is "a path with a dot segment start, not normal: still matched right" \
	"$(req --path-as-is -H "$H" -o /dev/null -w '%{http_code}' "$URL/v1/items/.42")" 404
sleep 1.2 # the access log is flushed at least once a second
ok "access log: the malformed-key 401 logged its stripped uri" \
	grep -q '"uri":"/v1/items","proto":"HTTP/1.1","status":401' "$GW_DIR/access.log"

# ---- h2o's per-response formats written by floodgate's fast path (gw/fastfmt.h) ----
ok "floodgate exports its __sprintf_chk to the libraries" \
	bash -c "nm -D '$FG_BUILD/floodgate' | grep -q ' T __sprintf_chk$'"
ok "... and the daemon found it bound" bash -c "! grep -q 'not bound' '$GW_DIR/floodgate.log'"
FK=$(gw_key tier-free) # 5 a minute: empty for 12 s after these
for i in 1 2 3 4 5; do req --http1.1 -o /dev/null -H "X-API-Key: $FK" "$URL/s/s1"; done
for c in "200 OK|$K2|s/s1" "401 Unauthorized|fg_nope|s/s1" "429 Too Many Requests|$FK|s/s1" \
	"404 Not Found|$K2|nowhere"; do
	IFS='|' read -r st k p <<<"$c"
	req --http1.1 -D "$GW_DIR/head" -o /dev/null -H "X-API-Key: $k" "$URL/$p"
	is "HTTP/1.1 $st: the status line" "$(head -1 "$GW_DIR/head" | tr -d '\r')" "HTTP/1.1 $st"
	like "... a Date line" "$(sed -n 2p "$GW_DIR/head")" "Date: "
	like "... a Connection line" "$(sed -n 3p "$GW_DIR/head")" "Connection: keep-alive"
	is "HTTP/2 ${st%% *}: the :status" \
		"$(req --http2 -o /dev/null -w '%{http_code}' -H "X-API-Key: $k" "$URL/$p")" "${st%% *}"
done

# ---- HTTP/2 heads encoded by floodgate's HPACK encoder (gw/hpack.h) ----
ok "floodgate exports its h2o_hpack_flatten_response to libh2o" \
	bash -c "nm -D '$FG_BUILD/floodgate' | grep -q ' T h2o_hpack_flatten_response$'"
# Three requests on one connection, twice: the later heads use the dynamic table the first
# one filled (the varying fields are literals); curl decodes each with nghttp2.
h2_heads() { # h2_heads KEY: three heads of /s/s1 on one HTTP/2 connection
	req --http2 -D - -H "X-API-Key: $1" -o /dev/null "$URL/s/s1" -o /dev/null "$URL/s/s1" \
		-o /dev/null "$URL/s/s1" | tr -d '\r'
}
for c in "200|$K2|text/plain" "429|$FK|application/problem+json"; do
	IFS='|' read -r st k ct <<<"$c"
	heads=$(h2_heads "$k")
	is "HTTP/2 $st x3 on one connection: three heads" "$(grep -c "^HTTP/2 $st" <<<"$heads")" 3
	is "... each with its ratelimit-policy, all the same" \
		"$(grep '^ratelimit-policy: ' <<<"$heads" | sort | uniq -c | awk '{print $1}')" 3
	is "... its ratelimit" "$(grep -c '^ratelimit: ' <<<"$heads")" 3
	is "... its date" "$(grep -c '^date: .* GMT$' <<<"$heads")" 3
	is "... its content-type" "$(grep -c "^content-type: $ct" <<<"$heads")" 3
done
is "... the 429s their retry-after" "$(grep -c '^retry-after: [0-9]' <<<"$heads")" 3
out=$(bounded 60 h2load -n 600 -c 2 -m 10 -H "x-api-key: $FK" "$URL/s/s1" 2>&1)
like "h2load: 600 heads of 429 on 2 connections, none errored" "$out" "600 done, 0 succeeded, 600 failed, 0 errored"
like "... every one a 4xx" "$out" "600 4xx"

# ---- HTTP/2 request heads decoded by floodgate (gw/hpackdec.h) ----
ok "floodgate exports its h2o_hpack_parse_headers to libh2o" \
	bash -c "nm -D '$FG_BUILD/floodgate' | grep -q ' T h2o_hpack_parse_headers$'"
# Three requests on one connection: curl's first head fills the table, the next two are
# indexed fields and a Huffman-coded :path, which floodgate decodes itself.
h2_echo() { # h2_echo NAME CURL-ARGS...: three requests, bodies in $GW_DIR/NAME.1..3
	local n=$1
	shift
	req --http2 "$@" -o "$GW_DIR/$n.1" "$URL/v1/items?x=1&api_key=$KEY" \
		-o "$GW_DIR/$n.2" "$URL/v1/items/42?x=2&api_key=$KEY" \
		-o "$GW_DIR/$n.3" "$URL/v1/items?x=3&api_key=$KEY" -w '%{http_code} '
}
is "HTTP/2 x3 on one connection, key in the query: three 200s" \
	"$(h2_echo g -H "X-Custom: yes" -H "Accept: application/json")" "200 200 200 "
for t in 1:/v1/items?x=1 2:/v1/items/42?x=2 3:/v1/items?x=3; do
	i=${t%%:*}
	is "... request $i: its own target, the key stripped" "$(jq -r .target "$GW_DIR/g.$i")" "${t#*:}"
	is "... request $i: its custom header" \
		"$(jq -r '[.headers[] | select(.[0] == "x-custom") | .[1]] | join("|")' "$GW_DIR/g.$i")" yes
	is "... request $i: its accept" \
		"$(jq -r '[.headers[] | select(.[0] == "accept") | .[1]] | join("|")' "$GW_DIR/g.$i")" \
		application/json
done
is "HTTP/2 x3 POST with a Bearer key (never indexed) and a length: three 200s" \
	"$(h2_echo p -H "Authorization: Bearer $KEY" --data-binary 'hello world')" "200 200 200 "
for i in 1 2 3; do
	is "... request $i: the method and the body's length" \
		"$(jq -r '"\(.method) \(.body_bytes)"' "$GW_DIR/p.$i")" "POST 11"
done
out=$(bounded 60 h2load -n 600 -c 2 -m 10 -H "x-api-key: $KEY" "$URL/s/s1" 2>&1)
like "h2load: 600 proxied requests on 2 connections, all 200" "$out" "600 done, 600 succeeded, 0 failed, 0 errored"

ok "still healthy" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
ok "no error logged" bash -c "! grep -q ': error:' '$GW_DIR/floodgate.log'"
finish

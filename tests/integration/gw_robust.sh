#!/usr/bin/env bash
# gw_robust: bad input and bad upstreams never crash or hang the daemon - an upstream
# answering garbage, closing mid-body or without an answer, a total timeout; random bytes
# on both listeners, a request that never finishes, odd methods, long paths, pipelining,
# HTTP/1.0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_upstream "$UP_ECHO" --echo
gw_upstream "$UP_SLOW" --delay 2000
gw_upstream "$UP_BAD1" --bad garbage
gw_upstream "$UP_BAD2" --bad truncate --size 200000
gw_upstream "$UP_BAD3" --bad close
UP_CHUNKED=$((UP_BAD3 + 1)) UP_EOF=$((UP_BAD3 + 2)) UP_CHUNKED_CUT=$((UP_BAD3 + 3))
gw_upstream "$UP_CHUNKED" --framing chunked --size 300000
gw_upstream "$UP_EOF" --framing close --size 300000
gw_upstream "$UP_CHUNKED_CUT" --framing chunked --size 300000 --bad truncate
UP_BIG=$((UP_BAD3 + 4))
gw_upstream "$UP_BIG" --size 4000000
gw_config ".limits.client_timeout_ms = 1000
	| .upstreams += {\"garbage\": {\"url\": \"http://127.0.0.1:$UP_BAD1\"},
		\"truncate\": {\"url\": \"http://127.0.0.1:$UP_BAD2\"},
		\"close\": {\"url\": \"http://127.0.0.1:$UP_BAD3\"},
		\"slowtotal\": {\"url\": \"http://127.0.0.1:$UP_SLOW\", \"first_byte_timeout_ms\": 5000, \"total_timeout_ms\": 600},
		\"chunked\": {\"url\": \"http://127.0.0.1:$UP_CHUNKED\"},
		\"eof\": {\"url\": \"http://127.0.0.1:$UP_EOF\"},
		\"chunkedcut\": {\"url\": \"http://127.0.0.1:$UP_CHUNKED_CUT\"},
		\"big\": {\"url\": \"http://127.0.0.1:$UP_BIG\"}}
	| .routes += [{\"name\": \"garbage\", \"methods\": \"*\", \"path\": \"/bad/garbage\", \"upstream\": \"garbage\"},
		{\"name\": \"truncate\", \"methods\": \"*\", \"path\": \"/bad/truncate\", \"upstream\": \"truncate\"},
		{\"name\": \"close\", \"methods\": \"*\", \"path\": \"/bad/close\", \"upstream\": \"close\"},
		{\"name\": \"slowtotal\", \"methods\": \"*\", \"path\": \"/bad/slowtotal\", \"upstream\": \"slowtotal\"},
		{\"name\": \"chunked\", \"methods\": \"*\", \"path\": \"/ok/chunked\", \"upstream\": \"chunked\"},
		{\"name\": \"eof\", \"methods\": \"*\", \"path\": \"/ok/eof\", \"upstream\": \"eof\"},
		{\"name\": \"chunkedcut\", \"methods\": \"*\", \"path\": \"/bad/chunkedcut\", \"upstream\": \"chunkedcut\"},
		{\"name\": \"big\", \"methods\": \"*\", \"path\": \"/ok/big\", \"upstream\": \"big\"}]" >"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish
URL=https://127.0.0.1:$GW_PORT
HTTP=127.0.0.1:$GW_HTTP_PORT
KEY=$(gw_key load)
H="X-API-Key: $KEY"
type_of() { req "$@" | jq -r .type; }

# ---- body framings: chunked and until-close bodies are decoded and streamed whole ----
for v in --http1.1 --http2; do
	is "chunked upstream body ($v)" "$(req $v -H "$H" -o "$GW_DIR/ch" -w '%{http_code} %{size_download}' "$URL/ok/chunked")" "200 300000"
	ok "... byte for byte ($v)" cmp -s "$GW_DIR/ch" <(bounded 5 curl -s "http://127.0.0.1:$UP_CHUNKED/")
	is "until-close upstream body ($v)" "$(req $v -H "$H" -o /dev/null -w '%{http_code} %{size_download}' "$URL/ok/eof")" "200 300000"
done
is "HEAD through a chunked upstream" "$(req -I -H "$H" -o /dev/null -w '%{http_code} %{size_download}' "$URL/ok/chunked")" "200 0"
codes=$(for i in $(seq 20); do req --http1.1 -H "$H" -o /dev/null -w '%{size_download} ' "$URL/ok/chunked"; done)
is "20 chunked responses in a row over the kept-alive upstream connection" "$(echo $codes | tr ' ' '\n' | sort -u)" 300000
req --http1.1 -o /dev/null -H "$H" "$URL/bad/chunkedcut"
cmp_ok "a chunked body cut short: the client sees the transfer fail (curl exit $?)" "$?" -ne 0

# a client slower than the upstream: the gateway pauses the upstream and resumes it
is "a 4 MB body to a client reading at 4 MB/s" \
	"$(req --http1.1 --limit-rate 4M -H "$H" -o /dev/null -w '%{http_code} %{size_download}' "$URL/ok/big")" "200 4000000"
is "... and over HTTP/2" \
	"$(req --http2 --limit-rate 4M -H "$H" -o /dev/null -w '%{http_code} %{size_download}' "$URL/ok/big")" "200 4000000"

# ---- bad upstreams ----
is "garbage from the upstream: 502" "$(status_of -H "$H" "$URL/bad/garbage")" 502
is "... upstream-error" "$(type_of -H "$H" "$URL/bad/garbage")" "urn:floodgate:problem:upstream-error"
is "upstream closes without answering (GET, retried once): 502" "$(status_of -H "$H" "$URL/bad/close")" 502
is "... upstream-error" "$(type_of -H "$H" "$URL/bad/close")" "urn:floodgate:problem:upstream-error"
is "the same for a POST (not retried)" "$(status_of -H "$H" -d x "$URL/bad/close")" 502
code=$(req --http1.1 -o /dev/null -w '%{http_code}' -H "$H" "$URL/bad/truncate")
rc=$?
is "upstream closes mid-body: the head went out" "$code" 200
cmp_ok "... and the client sees the transfer fail (curl exit $rc)" "$rc" -ne 0
req --http2 -o /dev/null -H "$H" "$URL/bad/truncate"
cmp_ok "... over HTTP/2 too (stream reset, curl exit $?)" "$?" -ne 0
is "total timeout before the head: 504" "$(status_of -H "$H" "$URL/bad/slowtotal")" 504
M=$(bounded 5 curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
like "metrics: garbage counted" "$M" 'floodgate_upstream_errors_total{upstream="garbage",kind="error"} 2'
like "metrics: truncation counted" "$M" 'floodgate_upstream_errors_total{upstream="truncate",kind="error"} 2'
like "metrics: chunked truncation counted" "$M" 'floodgate_upstream_errors_total{upstream="chunkedcut",kind="error"} 1'
like "metrics: good framings have no errors" "$M" 'floodgate_upstream_errors_total{upstream="chunked",kind="error"} 0'
like "metrics: total timeout counted" "$M" 'floodgate_upstream_errors_total{upstream="slowtotal",kind="timeout"} 1'

# ---- bad clients ----
raw() { # raw HOST:PORT: send stdin, print what comes back within 5 s
	bounded 5 bash -c "exec 3<>/dev/tcp/${1%:*}/${1#*:}; cat >&3; cat <&3" 2>/dev/null
}
for i in $(seq 10); do
	head -c 3000 /dev/urandom | raw "$HTTP" >/dev/null
	head -c 3000 /dev/urandom | bounded 5 openssl s_client -quiet -connect "127.0.0.1:$GW_PORT" >/dev/null 2>&1
done
ok "random bytes on both listeners: still healthy" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
like "a NUL in the request line gets a 400" "$(printf 'GET \x00\xff\r\n\r\n' | raw "$HTTP")" "HTTP/1.1 400"
out=$(bounded 8 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GW_HTTP_PORT; printf 'GET /v1/items HTTP/1.1\r\nHost: x\r\n' >&3; cat <&3")
rc=$?
isnt_hung=$((rc != 124))
is "a request that never finishes is dropped at client_timeout_ms" "$isnt_hung" 1
is "odd method on a known path: 405" "$(status_of -X FOO -H "$H" "$URL/v1/items")" 405
is "odd method elsewhere: 404" "$(status_of -X FOO -H "$H" "$URL/v2/x")" 404
long=$(head -c 10000 /dev/zero | tr '\0' a)
is "a 10 kB path: 400" "$(status_of -H "$H" "$URL/v1/$long")" 400
out=$(printf 'GET /public/a HTTP/1.1\r\nHost: x\r\n\r\nGET /public/b HTTP/1.1\r\nHost: x\r\n\r\nGET /public/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw "$HTTP")
is "pipelined requests: three answers" "$(echo "$out" | grep -c '^HTTP/1.1 200')" 3
like "... in order" "$(echo "$out" | grep -o '"target":"/public/[abc]"' | tr -d '\n')" '"target":"/public/a""target":"/public/b""target":"/public/c"'
out=$(printf 'GET /public/x HTTP/1.0\r\n\r\n' | raw "$HTTP")
like "HTTP/1.0 without Host" "$out" "HTTP/1.1 200"
out=$(printf 'GET /v1/items HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\nX-API-Key: other\r\nConnection: close\r\n\r\n' "$KEY" | raw "$HTTP")
like "a repeated key header: the first one counts" "$out" "HTTP/1.1 200"

# ---- request framing (gw/framing.h): 400, and the connection closes after the answer ----
P="POST /v1/items HTTP/1.1\r\nX-API-Key: $KEY\r\n"
out=$(printf 'GET /public/fold HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n' | raw "$HTTP")
like "an obs-fold continuation line: 400" "$out" "HTTP/1.1 400"
unlike "... which never reaches the upstream" "$out" '"target"'
out=$(printf "${P}Host: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabcGET /public/smuggled HTTP/1.1\r\nHost: x\r\n\r\n" | raw "$HTTP")
like "two Content-Length fields: 400" "$out" "HTTP/1.1 400"
is "... and what follows is not taken as a request (one answer, then the close)" "$(echo "$out" | grep -c '^HTTP/1.1')" 1
out=$(printf "${P}Host: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc" | raw "$HTTP")
like "two equal Content-Length fields: 400" "$out" "HTTP/1.1 400"
out=$(printf "${P}Host: x\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: x\r\n\r\n" | raw "$HTTP")
like "Content-Length and Transfer-Encoding together: 400" "$out" "HTTP/1.1 400"
is "... one answer, then the close" "$(echo "$out" | grep -c '^HTTP/1.1')" 1
out=$(printf "${P}Host: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" | raw "$HTTP")
like "two Transfer-Encoding fields: 400" "$out" "HTTP/1.1 400"
out=$(printf "POST /v1/items HTTP/1.0\r\nX-API-Key: $KEY\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" | raw "$HTTP")
like "Transfer-Encoding in HTTP/1.0: 400" "$out" "HTTP/1.1 400"
out=$(printf "${P}Content-Length: 3\r\nConnection: close\r\n\r\nabc" | raw "$HTTP")
like "an HTTP/1.1 request with a body and no Host: 400" "$out" "HTTP/1.1 400"
out=$(printf "${P}Host: x\r\nHost: y\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc" | raw "$HTTP")
like "... with two Host fields: 400" "$out" "HTTP/1.1 400"
like "... problem+json" "$out" "urn:floodgate:problem:bad-request"
out=$(printf "${P}HOST: x\r\ncontent-length: 3\r\nConnection: close\r\n\r\nabc" | raw "$HTTP")
like "a well-framed body (field names in any case) still goes through" "$out" "HTTP/1.1 200"
out=$(printf "${P}Host: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n" | raw "$HTTP")
like "... and a chunked one" "$out" "HTTP/1.1 200"
h2raw() { bounded 10 python3 "$(dirname "$0")/gw_h2raw.py" "$GW_PORT" "$@"; }
is "HTTP/2: a field with an empty name: 400" "$(h2raw /public/x =v)" 400
is "HTTP/2: the same request without it: 200" "$(h2raw /public/x x-a=v)" 200
ok "still healthy at the end" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
ok "still running" kill -0 "$GW_PID"
finish

#!/usr/bin/env bash
# gw_fast: the request path's shortcuts answer exactly as the general path does - small
# complete upstream bodies sent in h2o's pull mode over HTTP/1 (head and body in one write)
# next to the streamed ones (a body over the threshold, a chunked one, one cut short, HEAD,
# an empty one), pipelined requests through it, over TLS and plain HTTP.
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

ok "still healthy" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz"
ok "no error logged" bash -c "! grep -q ': error:' '$GW_DIR/floodgate.log'"
finish

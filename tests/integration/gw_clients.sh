#!/usr/bin/env bash
# gw_clients: per-client-IP and per-edge-IP buckets, which run before key auth (key-less
# floods are limited too), and the trusted-edge rule: CF-Connecting-IP / X-Forwarded-For
# are believed only from a peer inside a trusted-edge CIDR.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_upstream "$UP_ECHO" --echo
URL=https://127.0.0.1:$GW_PORT/v1/items
restart() { # restart DESC JQ_FILTER
	[ -n "${GW_PID:-}" ] && gw_stop
	gw_config "$2" >"$GW_DIR/c.json"
	gw_start "$GW_DIR/c.json" "$1"
}
codes() { # codes N ARGS...: N sequential requests, their statuses on one line
	local n=$1 out=""
	shift
	for _ in $(seq "$n"); do out="$out $(status_of "$@")"; done
	echo "${out# }"
}

# 1. loopback is a trusted edge; clients named by CF-Connecting-IP
restart "edge config starts" '.clients = {"trusted_edges": ["127.0.0.0/8", "::1/128"],
	"client_ip_header": "CF-Connecting-IP",
	"per_ip": {"rate": "1/min", "burst": 2}, "per_edge": {"rate": "1/min", "burst": 6}}'
is "client A: 2 pass to auth (401), the 3rd is limited before it" \
	"$(codes 3 -H 'CF-Connecting-IP: 198.18.0.1' "$URL")" "401 401 429"
is "client-rate-limited type" "$(req -H 'CF-Connecting-IP: 198.18.0.1' "$URL" | jq -r .type)" \
	"urn:floodgate:problem:client-rate-limited"
h=$(req -D - -o /dev/null -H 'CF-Connecting-IP: 198.18.0.1' "$URL" | tr -d '\r')
like "client 429 has Retry-After" "$h" "retry-after: "
is "client B has its own bucket" "$(codes 1 -H 'CF-Connecting-IP: 198.18.0.2' "$URL")" "401"
# 6 requests so far went through the edge 127.0.0.1 (its burst): the next one is limited
is "the edge's own bucket (burst 6) is spent" "$(req -H 'CF-Connecting-IP: 198.18.0.3' "$URL" | jq -r .type)" \
	"urn:floodgate:problem:edge-rate-limited"

# 2. IPv6 clients share a bucket per /64; the access log names the client, not the edge
restart "v6 config starts" '.listen[1] = "[::1]:'"$GW_HTTP_PORT"'" | .clients = {"trusted_edges": ["::1/128"],
	"client_ip_header": "CF-Connecting-IP", "per_ip": {"rate": "1/min", "burst": 2}}'
V6=http://[::1]:$GW_HTTP_PORT/v1/items
is "2001:2::1 and 2001:2::2 share one /64 bucket" \
	"$(codes 1 -g -H 'CF-Connecting-IP: 2001:2::1' "$V6") $(codes 2 -g -H 'CF-Connecting-IP: 2001:2::2' "$V6")" "401 401 429"
is "another /64 is another bucket" "$(codes 1 -g -H 'CF-Connecting-IP: 2001:2:0:1::1' "$V6")" "401"
sleep 1.2
like "access log names the client" "$(cat "$GW_DIR/access.log")" '"client":"2001:2::2"'

# 3. the peer is not a trusted edge: the header is the client's own claim, ignored
restart "untrusted config starts" '.clients = {"trusted_edges": ["198.18.0.0/15"],
	"client_ip_header": "CF-Connecting-IP", "per_ip": {"rate": "1/min", "burst": 2}}'
is "changing the header does not buy new buckets" \
	"$(codes 1 -H 'CF-Connecting-IP: 198.19.0.1' "$URL") $(codes 1 -H 'CF-Connecting-IP: 198.19.0.2' "$URL") $(codes 1 -H 'CF-Connecting-IP: 198.19.0.3' "$URL")" \
	"401 401 429"

# 4. X-Forwarded-For from a trusted edge: rightmost non-edge is the client; the upstream
#    gets the edge's list with the peer appended
restart "xff config starts" '.clients = {"trusted_edges": ["127.0.0.0/8"],
	"client_ip_header": "X-Forwarded-For", "per_ip": {"rate": "1/min", "burst": 1}}'
K=$(gw_key load)
b=$(req --http1.1 -H "X-API-Key: $K" -H 'X-Forwarded-For: 198.18.0.9, 198.19.0.1' "$URL")
is "upstream X-Forwarded-For: the edge's list plus the peer" \
	"$(echo "$b" | jq -r '.headers[] | select(.[0] == "x-forwarded-for") | .[1]')" \
	"198.18.0.9, 198.19.0.1, 127.0.0.1"
is "the bucket is the rightmost non-edge address's" \
	"$(status_of -H "X-API-Key: $K" -H 'X-Forwarded-For: 198.18.0.77, 198.19.0.1' "$URL")" 429
is "a different client behind the same edge is not limited" \
	"$(status_of -H "X-API-Key: $K" -H 'X-Forwarded-For: 198.19.0.2' "$URL")" 200
M=$(bounded 5 curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
like "metrics count client limits" "$M" 'floodgate_rejections_total{reason="client-rate-limited"} 1'
finish

# scripts/bench-gw/fgconfig.sh - sourced by scripts/bench-gw.sh and scripts/bench-gw-ir.sh.
# shellcheck shell=bash
# fg_config STORE-PATH prints the config on stdout; it reads FG_PORT, ADMIN_PORT, UP_PORT,
# UPC_PORT, CERT, CERTKEY and DIGEST from the caller.
# floodgate: the same work as the peers. One worker thread, no access log, the key only
# from X-API-Key (as the peers), a plan whose bucket never empties at these rates and one
# whose bucket (1 token a day, burst 1) is emptied before the 429 runs.
fg_config() { # store-path
	jq -n --arg port "$FG_PORT" --arg admin "$ADMIN_PORT" --arg up "$UP_PORT" --arg upc "$UPC_PORT" \
		--arg cert "$CERT" --arg key "$CERTKEY" --arg db "$1" --arg t "$DIGEST" '{
		threads: 1,
		listen: [{address: ("127.0.0.1:" + $port),
			  tls: {certificates: [{cert: $cert, key: $key}]}}],
		admin: {listen: ("127.0.0.1:" + $admin), token_sha256: $t},
		store: {path: $db},
		access_log: false,
		keys: {sources: ["header"]},
		headers: {ratelimit: true, legacy_x_ratelimit: false},
		upstreams: {api: {url: ("http://127.0.0.1:" + $up), keepalive_idle_ms: 120000},
			    cached: {url: ("http://127.0.0.1:" + $upc), keepalive_idle_ms: 120000}},
		routes: [{name: "items", methods: ["GET"], path: "/v1/items(/[0-9]+)?",
			  upstream: "api"},
			 {name: "cached", methods: ["GET"], path: "/v1/cached(/[0-9]+)?",
			  upstream: "cached", cache: {ttl: 600}}],
		plans: {bench: {rate: 1000000, burst: 1000000, routes: "*"},
			empty: {rate: "1/day", burst: 1, routes: "*"}}}'
}

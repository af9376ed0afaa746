#!/usr/bin/env bash
# gw_ban_edge: abuse behind a trusted edge, and suspects. The client namespace plays a CDN
# edge (198.18.IDX.0/24 is both a trusted edge and an XDP edge) naming its clients in
# X-Forwarded-For. An abusive client behind it is refused at L7 by its resolved IP while
# another client behind the same edge keeps being served; the edge itself is never blocked,
# its XDP bucket is tightened. Then mode mark: a source XDP marked gets the stricter
# abuse.suspect bucket at L7.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
NS_C=fgt-bec-$$ NS_S=fgt-bes-$$ IF_C=fgec$$ IF_S=fges$$ IDX=$((10 + ($$ + 7) % 200))
IF_C=${IF_C:0:15} IF_S=${IF_S:0:15}
PIN=/sys/fs/bpf/fgt-bane-$$
E=198.18.$IDX.1 S=198.18.$IDX.2
defer "rm -rf $PIN"
defer "fg_ns_del $NS_C $NS_S"
fg_ns_pair "$NS_C" "$NS_S" "$IF_C" "$IF_S" "$IDX" || { fail "namespaces"; finish; }
nsenter --net="/run/netns/$NS_S" fg-upstream -l "127.0.0.1:$UP_ECHO" --echo >"$GW_DIR/up.log" 2>&1 &
defer "kill $! 2>/dev/null"
BASE=http://$S:$GW_HTTP_PORT
sctl() { fg_ns_run "$NS_S" fgctl --pin-dir "$PIN" "$@"; }
sadmin() {
	fg_ns_run "$NS_S" timeout 10 curl -s -m 5 -X "$1" -H "Authorization: Bearer $GW_TOKEN" \
		"http://127.0.0.1:$ADMIN_PORT$2"
}
as() { # as CLIENT PATH [CURL ARGS]: one request through the edge naming CLIENT; its status
	local who=$1 path=$2
	shift 2
	fg_ns_run "$NS_C" timeout 10 curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 \
		-m 3 -H "X-Forwarded-For: $who" "$@" "$BASE$path"
}
start() {
	nsenter --net="/run/netns/$NS_S" floodgate -c "$GW_DIR/c.json" >>"$GW_DIR/floodgate.log" 2>&1 &
	GW_PID=$!
	defer "kill $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null"
	if wait_for 10 fg_ns_run "$NS_S" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null; then
		pass "$1"
	else
		fail "$1" "$(tail -5 "$GW_DIR/floodgate.log")"
	fi
}

gw_config '.listen = ["'"$S:$GW_HTTP_PORT"'"] |
	.clients = {"trusted_edges": ["198.18.'"$IDX"'.0/24"], "client_ip_header": "X-Forwarded-For"} |
	.edge = {"pin_dir": "'"$PIN"'", "attach": "'"$IF_S"'", "ports": ['"$GW_HTTP_PORT"'],
		"source": {"rate": 10000, "burst": 20000},
		"edges": [{"cidr": "198.18.'"$IDX"'.0/24", "rate": 1000, "burst": 2000}]} |
	.abuse = {"threshold": 5, "weights": {"auth_failure": 1}, "ban_ttl_s": 60}' >"$GW_DIR/c.json"
start "daemon with a trusted edge starts"

is "client A is served through the edge" "$(as 198.19.0.5 /public/x)" 200
for _ in 1 2 3 4 5; do as 198.19.0.5 /v1/items -H 'X-API-Key: bad' >/dev/null; done
is "abusive client A is refused at L7" "$(as 198.19.0.5 /public/x)" 429
is "client B behind the same edge is still served" "$(as 198.19.0.6 /public/x)" 200
b=$(sadmin GET /v1/bans)
is "A is banned by its resolved IP" "$(jq -r '[.bans[] | select(.edge == false) | .cidr] | join(",")' <<<"$b")" "198.19.0.5/32"
is "the edge is tightened, not banned" "$(jq -r '[.bans[] | select(.edge == true) | .cidr] | join(",")' <<<"$b")" "$E/32"
unlike "the edge IP is not in the XDP blocklist" "$(sctl list blocks)" "$E"
edges=$(sctl list edges --json)
is "the edge IP has its own tightened bucket: 50% of 1000/s" \
	"$(jq -r --arg c "$E" '.[] | select(.cidr == $c) | "\(.rate) \(.origin)"' <<<"$edges")" "500 ban"
is "the edge CIDR keeps its limit" \
	"$(jq -r --arg c "198.18.$IDX.0/24" '.[] | select(.cidr == $c) | "\(.rate) \(.origin)"' <<<"$edges")" "1000 config"
kill "$GW_PID" 2>/dev/null
wait "$GW_PID" 2>/dev/null
nok "the first daemon is gone" kill -0 "$GW_PID"

# Suspects: mode mark with a source limit of 1 SYN/s, burst 1; marked sources get 2 requests
# a minute at L7 (new connections: each request is one SYN, so all after the first are marked).
# A fresh pin dir and store: the tightened edge of the first part would still pass the client.
fg_ns_run "$NS_S" fgctl --pin-dir "$PIN" detach "$IF_S" >/dev/null 2>&1
PIN=${PIN}b
defer "rm -rf $PIN"
gw_config '.listen = ["'"$S:$GW_HTTP_PORT"'"] | .store.path = "'"$GW_DIR/keys2.db"'" |
	.edge = {"pin_dir": "'"$PIN"'", "attach": "'"$IF_S"'", "ports": ['"$GW_HTTP_PORT"'],
		"mode": "mark", "source": {"rate": 1, "burst": 1}} |
	.abuse = {"threshold": 1000, "suspect": {"rate": "1/min", "burst": 2}}' >"$GW_DIR/c.json"
start "daemon in mark mode starts"
codes=""
for _ in 1 2 3 4 5 6; do codes="$codes $(as "" /public/x)"; done
like "a marked source meets the suspect bucket (2 a minute)" "$codes" "429"
like "... after being served first" "$codes" "200"
cmp_ok "the program marked it" "$(sctl list marked --json | jq length)" -ge 1
cmp_ok "suspect refusals in /metrics" \
	"$(fg_ns_run "$NS_S" curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/why="suspect"/ {print $2}')" -ge 1
kill "$GW_PID" 2>/dev/null
wait "$GW_PID" 2>/dev/null
fg_ns_run "$NS_S" fgctl --pin-dir "$PIN" detach "$IF_S" >/dev/null 2>&1
finish

#!/usr/bin/env bash
# gw_ban: the daemon's edge layer on a veth pair between two namespaces. The daemon attaches
# the XDP program itself (edge.attach) and writes its policy; a client sending bad keys is
# scored, banned at XDP (its SYNs drop, the block counter moves), the ban expires after its
# TTL, a second offence gets the multiplied TTL; bans survive a restart; fgctl bans add/del
# act through the admin API; allowlisted sources are never banned; an IPv6 ban covers a /64;
# a reload rewrites the maps, a bad reload changes nothing; fgctl status reports hand edits
# as drift; /metrics shows both layers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
NS_C=fgt-banc-$$ NS_S=fgt-bans-$$ IF_C=fgbc$$ IF_S=fgbs$$ IDX=$((10 + $$ % 200))
IF_C=${IF_C:0:15} IF_S=${IF_S:0:15}
PIN=/sys/fs/bpf/fgt-ban-$$
C=198.18.$IDX.1 S=198.18.$IDX.2
defer "rm -rf $PIN"
defer "fg_ns_del $NS_C $NS_S"
fg_ns_pair "$NS_C" "$NS_S" "$IF_C" "$IF_S" "$IDX" || { fail "namespaces"; finish; }
fg_ns_run "$NS_C" ip addr add "198.18.$IDX.5/24" dev "$IF_C"

nsenter --net="/run/netns/$NS_S" fg-upstream -l "127.0.0.1:$UP_ECHO" --echo >"$GW_DIR/up.log" 2>&1 &
defer "kill $! 2>/dev/null"
URL=http://$S:$GW_HTTP_PORT/public/x # auth-free: probing it scores nothing
sctl() { fg_ns_run "$NS_S" fgctl --pin-dir "$PIN" "$@"; }
sadmin() { # sadmin METHOD PATH [BODY]: the admin API inside the server namespace
	fg_ns_run "$NS_S" timeout 10 curl -s -m 5 -X "$1" -H "Authorization: Bearer $GW_TOKEN" \
		${3:+-H 'Content-Type: application/json' --data "$3"} "http://127.0.0.1:$ADMIN_PORT$2"
}
bans_cli() { FLOODGATE_ADMIN_TOKEN=$GW_TOKEN fg_ns_run "$NS_S" fgctl bans "$@" --admin "http://127.0.0.1:$ADMIN_PORT"; }
code() { # code [CURL ARGS]: one request from the client, its status (000: no connection)
	fg_ns_run "$NS_C" timeout 10 curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 -m 3 "$@" "$URL"
}
bad() { # bad N: N requests with a bad key (each scores 1)
	for _ in $(seq "$1"); do
		fg_ns_run "$NS_C" timeout 10 curl -s -o /dev/null --connect-timeout 1 -m 3 \
			-H 'X-API-Key: bad' "http://$S:$GW_HTTP_PORT/v1/items"
	done
}
block_hits() { sctl stats --json | jq '.counters.block.packets // .block.packets // 0'; }

config() { # config SOURCE_RATE: the test config with the edge and abuse sections
	gw_config '.listen = ["'"$S:$GW_HTTP_PORT"'"] |
	.edge = {"pin_dir": "'"$PIN"'", "attach": "'"$IF_S"'", "attach_mode": "native",
		"mode": "drop", "ports": ['"$GW_HTTP_PORT"'], "syn_only": true,
		"source": {"rate": '"$1"', "burst": 2000}, "allowlist": ["198.18.'"$IDX"'.4"],
		"edges": [{"cidr": "198.19.'"$IDX"'.0/24", "rate": 500, "burst": 1000}]} |
	.abuse = {"threshold": 5, "window_s": 60, "weights": {"auth_failure": 1},
		"ban_ttl_s": 5, "ban_multiplier": 2, "ban_max_ttl_s": 60}'
}
start() { # start DESC: the daemon in the server namespace, until its admin API answers
	nsenter --net="/run/netns/$NS_S" floodgate -c "$GW_DIR/c.json" >>"$GW_DIR/floodgate.log" 2>&1 &
	GW_PID=$!
	defer "kill $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null"
	if wait_for 10 fg_ns_run "$NS_S" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null; then
		pass "$1"
	else
		fail "$1" "$(tail -5 "$GW_DIR/floodgate.log")"
	fi
}
config 10000 >"$GW_DIR/c.json"
start "daemon attaches XDP to $IF_S and starts"
st=$(sctl status --json)
is "the config's source limit is in the map" "$(jq -c .config.source_limit <<<"$st")" '{"rate":10000,"burst":2000}'
is "written by the config" "$(jq -r .config.origin <<<"$st")" config
is "allowlist and edge written" "$(jq -c '[.entries.allows, .entries.edges]' <<<"$st")" '[1,1]'
is "a clean client is served" "$(code)" 200

# 1. a client sending bad keys is banned at XDP
h0=$(block_hits)
bad 5
t0=$(date +%s%N)
is "banned: its next SYN is dropped" "$(code)" 000
t1=$(date +%s%N)
cmp_ok "the block counter moved" "$(block_hits)" -gt "$h0"
b=$(sadmin GET /v1/bans)
is "the ban is listed with its reason" "$(jq -r '.bans[0] | "\(.cidr) \(.reason) \(.offences)"' <<<"$b")" "$C/32 auth_failure 1"
cmp_ok "first ban lasts the base TTL (5 s)" "$(jq '.bans[0].ttl_left_s' <<<"$b")" -le 5
like "fgctl list blocks shows it with origin ban" "$(sctl list blocks | grep "$C")" "ban"
is "another address of the same client is not banned" "$(code --interface 198.18.$IDX.5)" 200
diag "ban seen $(((t1 - t0) / 1000000)) ms after the 5th bad key (the connect attempt waits 1 s)"

# 2. it expires after its TTL
wait_for 15 bash -c "[ \"\$(nsenter --net=/run/netns/$NS_C curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 -m 3 $URL)\" = 200 ]"
is "after the TTL the client is served again" "$(code)" 200
is "no active ban left" "$(sadmin GET /v1/bans | jq '.bans | length')" 0

# 3. a second offence gets the TTL x multiplier
bad 5
b=$(sadmin GET /v1/bans)
is "second offence listed" "$(jq '.bans[0].offences' <<<"$b")" 2
cmp_ok "second ban lasts base TTL x 2 (10 s)" "$(jq '.bans[0].ttl_left_s' <<<"$b")" -ge 6

# 4. bans survive a restart
kill "$GW_PID"
wait "$GW_PID" 2>/dev/null
nok "the first daemon is gone" kill -0 "$GW_PID"
is "the stored ban has its deciding node" "$(sqlite3 "$GW_DIR/keys.db" "select origin from bans where cidr = '$C/32'")" \
	"$(hostname)@$S:$GW_HTTP_PORT"
# a store from before origins: no origin column (the daemon adds it, the row stays unknown)
ok "drop the origin column (an older store)" sqlite3 "$GW_DIR/keys.db" "ALTER TABLE bans DROP COLUMN origin"
start "daemon restarts on the same pins"
is "the ban is restored" "$(sadmin GET /v1/bans | jq -r '.bans[0].cidr')" "$C/32"
is "... with no origin (null) from the older store" "$(sadmin GET /v1/bans | jq -r '.bans[0].origin')" null
is "fgctl bans list shows '-' in its ORIGIN column" "$(bans_cli list | awk -v c="$C/32" '$1 == c { print $NF }')" -

# 5. fgctl bans add/del through the admin API
out=$(bans_cli add "198.18.$IDX.3" --ttl 60 --reason manual-test)
like "fgctl bans add" "$out" "198.18.$IDX.3/32"
like "the XDP map has it" "$(sctl list blocks)" "198.18.$IDX.3"
like "fgctl bans list shows reason and expiry" "$(bans_cli list)" "manual-test"
ok "fgctl bans del" bans_cli del "198.18.$IDX.3"
unlike "the XDP entry is gone" "$(sctl list blocks)" "198.18.$IDX.3"
A=$(sadmin GET /v1/audit)
is "ban add audited" "$(jq -r '[.entries[] | select(.action == "ban.add")][-1].target' <<<"$A")" \
	"198.18.$IDX.3/32"
is "ban del audited" "$(jq -r '[.entries[] | select(.action == "ban.del")][-1].target' <<<"$A")" \
	"198.18.$IDX.3/32"
out=$(bans_cli add "198.18.$IDX.4" 2>&1)
like "an allowlisted address is never banned" "$out" "allowlisted"
bans_cli add "2001:2:0:$IDX::77" >/dev/null
like "an IPv6 ban covers its /64" "$(sctl list blocks)" "2001:2:0:$IDX::/64"
out=$(bans_cli add "198.19.$IDX.9" --json)
is "an edge IP is tightened, not blocked" "$(jq -r .edge <<<"$out")" true
like "its edge bucket is a tightened /32 (250 = 50% of 500)" "$(sctl list edges)" "198.19.$IDX.9"

# 6. /metrics shows both layers
m=$(fg_ns_run "$NS_S" curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
like "XDP block hits in /metrics" "$m" "floodgate_xdp_block_hits_total"
like "L7 rejections beside them" "$m" 'floodgate_rejections_total{reason="invalid-key"}'
like "bans in /metrics" "$m" 'floodgate_bans_total{event="decided"}'

# 7. reload: a changed policy reaches the maps; a bad one changes nothing
config 7000 >"$GW_DIR/c.json"
is "reload accepted" "$(sadmin POST /v1/reload | jq -r .status)" reloaded
is "the new source limit is in the map" "$(sctl status --json | jq -c .config.source_limit)" '{"rate":7000,"burst":2000}'
gen=$(sctl status --json | jq .config.generation)
config 5000 | jq '.edge.ports = ["x"]' >"$GW_DIR/c.json"
like "a bad reload is refused" "$(sadmin POST /v1/reload)" "edge.ports"
is "... and the maps are untouched" "$(sctl status --json | jq -c '[.config.generation, .config.source_limit.rate]')" "[$gen,7000]"

# 8. drift: a hand edit with fgctl is reported
sctl limit --rate 123 --burst 456 >/dev/null
like "fgctl status reports the drift" "$(sctl status)" "drift"
like "/metrics too" "$(fg_ns_run "$NS_S" curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" "floodgate_xdp_policy_drift 1"

kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null
fg_ns_run "$NS_S" fgctl --pin-dir "$PIN" detach "$IF_S" >/dev/null 2>&1
finish

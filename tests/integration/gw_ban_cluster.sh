#!/usr/bin/env bash
# gw_ban_cluster: bans across a Redis cluster. Two daemons in two namespaces (a, b), each
# attaching XDP to its own veth from a client namespace, where redis-server listens on
# both links. A client scored and banned on node a has its SYNs dropped on node b within
# 100 ms of a's verdict (b's install time against the verdict time carried in the
# message, same host clock); an unban on a reaches b; fgctl bans list on b shows the
# cluster's bans; an edge tightening propagates; a repeat offence on b counts the offence
# decided on a; a node that starts loads the cluster's bans (and drops one lifted while it
# was down) before serving; a lost subscription is resynced; bad records are skipped; a
# ban decided while Redis is frozen reaches the other node when it answers again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
command -v redis-server >/dev/null || { skip_test "gw_ban_cluster" "no redis-server"; finish; }
gw_init
NS_C=fgt-bclc-$$ NS_A=fgt-bcla-$$ NS_B=fgt-bclb-$$
IF_CA=fgcca$$ IF_A=fgcla$$ IF_CB=fgccb$$ IF_B=fgclb$$
IF_CA=${IF_CA:0:15} IF_A=${IF_A:0:15} IF_CB=${IF_CB:0:15} IF_B=${IF_B:0:15}
IA=$((10 + $$ % 120)) IB=$((130 + $$ % 120))
PIN_A=/sys/fs/bpf/fgt-bancl-$$-a PIN_B=/sys/fs/bpf/fgt-bancl-$$-b
CL=198.18.$IA.77   # the client: one address that reaches both nodes
REDIS_PORT=$((GW_PORT + 12))
PREFIX="fgt$$:"
defer "rm -rf $PIN_A $PIN_B"
defer "fg_ns_del $NS_C $NS_A $NS_B"
fg_ns_pair "$NS_C" "$NS_A" "$IF_CA" "$IF_A" "$IA" || { fail "namespaces"; finish; }
ip netns add "$NS_B" &&
	ip link add "$IF_CB" netns "$NS_C" numtxqueues 2 numrxqueues 2 type veth \
		peer name "$IF_B" netns "$NS_B" numtxqueues 2 numrxqueues 2 || { fail "namespace b"; finish; }
fg_ns_run "$NS_B" ip link set lo up
fg_ns_run "$NS_C" ip addr add "198.18.$IB.1/24" dev "$IF_CB"
fg_ns_run "$NS_B" ip addr add "198.18.$IB.2/24" dev "$IF_B"
fg_ns_run "$NS_C" ip link set "$IF_CB" up
fg_ns_run "$NS_B" ip link set "$IF_B" up
fg_ns_run "$NS_C" ip addr add "$CL/32" dev lo
fg_ns_run "$NS_A" ip route add "$CL/32" dev "$IF_A"
fg_ns_run "$NS_B" ip route add "$CL/32" dev "$IF_B"

# redis-server in the client namespace, on both links
mkdir -p "$GW_DIR/redis"
nsenter --net="/run/netns/$NS_C" redis-server --port "$REDIS_PORT" \
	--bind "198.18.$IA.1 198.18.$IB.1" --protected-mode no --save '' --appendonly no \
	--dir "$GW_DIR/redis" --logfile "$GW_DIR/redis/redis.log" </dev/null >/dev/null 2>&1 &
REDIS_PID=$!
defer "kill $REDIS_PID 2>/dev/null; wait $REDIS_PID 2>/dev/null"
rcli() { fg_ns_run "$NS_C" timeout 10 redis-cli -h "198.18.$IA.1" -p "$REDIS_PORT" "$@"; }
wait_for 10 rcli ping >/dev/null || { fail "redis-server starts"; finish; }

for n in a b; do
	ns=$NS_A && [ $n = b ] && ns=$NS_B
	nsenter --net="/run/netns/$ns" fg-upstream -l "127.0.0.1:$UP_ECHO" --echo >"$GW_DIR/up-$n.log" 2>&1 &
	defer "kill $! 2>/dev/null"
done

ns_of() { [ "$1" = a ] && echo "$NS_A" || echo "$NS_B"; }
ip_of() { [ "$1" = a ] && echo "198.18.$IA.2" || echo "198.18.$IB.2"; }
config() { # config NODE
	local idx=$IA if=$IF_A pin=$PIN_A
	[ "$1" = b ] && idx=$IB if=$IF_B pin=$PIN_B
	gw_config '.listen = ["'"198.18.$idx.2:$GW_HTTP_PORT"'"] | .access_log = null |
	.store = {"type": "redis", "url": "redis://198.18.'"$idx"'.1:'"$REDIS_PORT"'/0",
		"timeout_ms": 500, "connect_timeout_ms": 500, "prefix": "'"$PREFIX"'"} |
	.edge = {"pin_dir": "'"$pin"'", "attach": "'"$if"'", "attach_mode": "native",
		"mode": "drop", "ports": ['"$GW_HTTP_PORT"'], "syn_only": true,
		"source": {"rate": 10000, "burst": 2000},
		"edges": [{"cidr": "198.19.'"$IA"'.0/24", "rate": 500, "burst": 1000}]} |
	.abuse = {"threshold": 5, "window_s": 60, "weights": {"auth_failure": 1},
		"ban_ttl_s": 60, "ban_multiplier": 2, "ban_max_ttl_s": 600}'
}
start() { # start NODE DESC
	config "$1" >"$GW_DIR/c-$1.json"
	nsenter --net="/run/netns/$(ns_of "$1")" floodgate -c "$GW_DIR/c-$1.json" >>"$GW_DIR/floodgate-$1.log" 2>&1 &
	eval "PID_$1=$!"
	defer "kill $! 2>/dev/null; wait $! 2>/dev/null"
	if wait_for 10 fg_ns_run "$(ns_of "$1")" curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null; then
		pass "$2"
	else
		fail "$2" "$(tail -5 "$GW_DIR/floodgate-$1.log")"
	fi
}
stop() { # stop NODE
	local pid
	eval "pid=\$PID_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
nadmin() { # nadmin NODE METHOD PATH [BODY]
	fg_ns_run "$(ns_of "$1")" timeout 10 curl -s -m 5 -X "$2" -H "Authorization: Bearer $GW_TOKEN" \
		${4:+-H 'Content-Type: application/json' --data "$4"} "http://127.0.0.1:$ADMIN_PORT$3"
}
bans_cli() { # bans_cli NODE ARGS...
	local n=$1
	shift
	FLOODGATE_ADMIN_TOKEN=$GW_TOKEN fg_ns_run "$(ns_of "$n")" fgctl bans "$@" --admin "http://127.0.0.1:$ADMIN_PORT"
}
nctl() { # nctl NODE ARGS...: fgctl on the node's pins
	local n=$1 pin=$PIN_A
	shift
	[ "$n" = b ] && pin=$PIN_B
	fg_ns_run "$(ns_of "$n")" fgctl --pin-dir "$pin" "$@"
}
code() { # code NODE: one request from the client to the node (000: no connection)
	fg_ns_run "$NS_C" timeout 10 curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 -m 3 \
		--interface "$CL" "http://$(ip_of "$1"):$GW_HTTP_PORT/public/x"
}
bad() { # bad NODE N: N requests with a bad key from the client
	for _ in $(seq "$2"); do
		fg_ns_run "$NS_C" timeout 10 curl -s -o /dev/null --connect-timeout 1 -m 3 --interface "$CL" \
			-H 'X-API-Key: bad' "http://$(ip_of "$1"):$GW_HTTP_PORT/v1/items"
	done
}
block_hits() { nctl "$1" stats --json | jq '.counters.block.packets // .block.packets // 0'; }
listed() { # listed NODE CIDR: 0 when NODE's /v1/bans lists CIDR
	[ "$(nadmin "$1" GET /v1/bans | jq --arg c "$2" '[.bans[] | select(.cidr == $c)] | length')" = 1 ]
}
export -f listed nadmin ns_of fg_ns_run
export NS_A NS_B ADMIN_PORT GW_TOKEN

start a "node a starts on Redis with XDP on $IF_A"
start b "node b starts on Redis with XDP on $IF_B"
is "the client is served by a" "$(code a)" 200
is "... and by b" "$(code b)" 200

# 1. banned on a by scoring -> dropped on b within 100 ms of a's verdict
hb0=$(block_hits b)
bad a 5
is "banned on a: its next SYN to a is dropped" "$(code a)" 000
ok "b lists the ban" wait_for 10 listed b "$CL/32"
rec=$(rcli HGET "${PREFIX}bans" "$CL/32")
is "the ban is kept in Redis, decided by node a" "$(jq -r '"\(.op) \(.reason) \(.offences)"' <<<"$rec")" "ban auth_failure 1"
lag=$(nadmin b GET /v1/bans | jq --arg c "$CL/32" '.bans[] | select(.cidr == $c) | .install_ns')
cmp_ok "b installed it within 100 ms of a's verdict (install_ns on b)" "${lag:-999999999}" -lt 100000000
cmp_ok "... and it was measured (not zero)" "${lag:-0}" -gt 0
diag "a's verdict -> b's XDP entry: $((${lag:-0} / 1000)) us"
like "b logged where it came from" "$(cat "$GW_DIR/floodgate-b.log")" "ban cluster: banned $CL/32 from node"
is "the client's SYN to b is dropped" "$(code b)" 000
cmp_ok "b's block counter moved" "$(block_hits b)" -gt "$hb0"
like "fgctl bans list on b shows the cluster's ban" "$(bans_cli b list)" "$CL"
# the deciding node's id: a's hostname and listener, on a and on b, in Redis and in fgctl
ORIGIN_A="$(hostname)@$(ip_of a):$GW_HTTP_PORT"
is "a records itself as the ban's origin" "$(nadmin a GET /v1/bans | jq -r --arg c "$CL/32" '.bans[] | select(.cidr == $c) | .origin')" "$ORIGIN_A"
is "b lists the ban with a's node id" "$(nadmin b GET /v1/bans | jq -r --arg c "$CL/32" '.bans[] | select(.cidr == $c) | .origin')" "$ORIGIN_A"
is "... so does Redis's record" "$(jq -r .origin <<<"$rec")" "$ORIGIN_A"
is "fgctl bans list on b has a's id in its ORIGIN column" "$(bans_cli b list | awk -v c="$CL/32" '$1 == c { print $NF }')" "$ORIGIN_A"
like "b's XDP blocklist has it with origin ban" "$(nctl b list blocks | grep "$CL")" "ban"

# 2. unban on a propagates to b
# (through the admin API: its answer in Redis mode depends on the audit log, not tested here)
nadmin a DELETE "/v1/bans?cidr=$CL" >/dev/null
ok "lifted on a" wait_for 5 bash -c "! listed a $CL/32"
ok "b lifts it" wait_for 10 bash -c "! listed b $CL/32"
unlike "b's XDP entry is gone" "$(nctl b list blocks)" "$CL"
is "the client is served by b again" "$(code b)" 200
is "... and by a" "$(code a)" 200
is "Redis keeps the lifted record (the repeat rule)" "$(rcli HGET "${PREFIX}bans" "$CL/32" | jq -r .op)" lift

# 3. a second offence, on b, counts the one decided on a
bad b 5
is "banned on b" "$(code b)" 000
ok "a lists b's ban" wait_for 10 listed a "$CL/32"
b=$(nadmin a GET /v1/bans | jq --arg c "$CL/32" '.bans[] | select(.cidr == $c)')
is "offence 2 across the cluster" "$(jq .offences <<<"$b")" 2
cmp_ok "... with the doubled TTL (120 s)" "$(jq .ttl_left_s <<<"$b")" -gt 60
is "the client's SYN to a is dropped too" "$(code a)" 000
nadmin b DELETE "/v1/bans?cidr=$CL" >/dev/null
ok "... lifted on b, lifted on a" wait_for 10 bash -c "! listed a $CL/32"

# 4. an edge tightening propagates
E=198.19.$IA.9
nadmin a POST /v1/bans '{"cidr": "'"$E"'"}' >/dev/null
is "an edge IP is tightened on a" "$(nadmin a GET /v1/bans | jq --arg c "$E/32" '.bans[] | select(.cidr == $c) | .edge')" true
ok "b lists the tightening" wait_for 10 listed b "$E/32"
like "b's edge bucket is a tightened /32" "$(nctl b list edges)" "$E"

# 5. a node that starts loads the cluster's bans; one lifted while it was down is dropped
X=198.18.$IA.88 Y=198.18.$IA.99
nadmin a POST /v1/bans '{"cidr": "'"$X"'", "ttl_s": 300, "reason": "before-stop"}' >/dev/null
ok "b has the ban of $X" wait_for 10 listed b "$X/32"
stop b
nadmin a DELETE "/v1/bans?cidr=$X" >/dev/null
nadmin a POST /v1/bans '{"cidr": "'"$Y"'", "ttl_s": 300, "reason": "while-down"}' >/dev/null
start b "node b restarts"
l=$(nadmin b GET /v1/bans)
is "the ban decided while b was down is in b's list at start" "$(jq --arg c "$Y/32" '[.bans[] | select(.cidr == $c)] | length' <<<"$l")" 1
like "... and in b's XDP blocklist" "$(nctl b list blocks)" "$Y"
unlike "the ban lifted while b was down is not in its maps" "$(nctl b list blocks)" "$X"
is "... nor in its list" "$(jq --arg c "$X/32" '[.bans[] | select(.cidr == $c)] | length' <<<"$l")" 0

# 6. a lost subscription: resubscribed and resynced
rcli CLIENT KILL TYPE pubsub >/dev/null
Z=198.18.$IA.111
nadmin a POST /v1/bans '{"cidr": "'"$Z"'", "ttl_s": 300}' >/dev/null
ok "b gets a ban decided around the lost subscription" wait_for 10 listed b "$Z/32"
ok "b resubscribed and read every ban" wait_for 10 grep -q "ban cluster: subscribed again" "$GW_DIR/floodgate-b.log"
like "the resync is counted in /metrics" \
	"$(fg_ns_run "$NS_B" curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep floodgate_ban_cluster_resyncs_total)" \
	"floodgate_ban_cluster_resyncs_total"

# 7. bad records in Redis are skipped, not trusted
rcli HSET "${PREFIX}bans" "198.18.$IA.5/32" '{"op":"ban"}' >/dev/null
rcli PUBLISH "${PREFIX}bans" 'not json' >/dev/null
ok "b says why it ignored the message" wait_for 5 grep -q "ignoring a message: not a JSON object" "$GW_DIR/floodgate-b.log"
rcli CLIENT KILL TYPE pubsub >/dev/null
ok "... and the bad record on the next resync" wait_for 10 grep -q "skipping a record in ${PREFIX}bans" "$GW_DIR/floodgate-b.log"
ok "b is still up" kill -0 "$PID_b"
ok "b still has the good bans" listed b "$Z/32"
# a record of a node from before origins (no "origin"): loaded, shown as unknown
OLDREC=198.18.$IA.6
now=$(date +%s)
rcli HSET "${PREFIX}bans" "$OLDREC/32" '{"node":"0123456789abcdef","op":"ban","cidr":"'"$OLDREC"'/32","reason":"old","score":1,"created":'"$now"',"expires":'"$((now + 300))"',"offences":1,"edge":false,"decided_ns":1}' >/dev/null
rcli CLIENT KILL TYPE pubsub >/dev/null
ok "b loads a record without an origin on the next resync" wait_for 10 listed b "$OLDREC/32"
is "... its origin is null" "$(nadmin b GET /v1/bans | jq -r --arg c "$OLDREC/32" '.bans[] | select(.cidr == $c) | .origin')" null
is "... and '-' in fgctl bans list" "$(bans_cli b list | awk -v c="$OLDREC/32" '$1 == c { print $NF }')" -

# 8. a ban decided while Redis does not answer goes out when it is back
W=198.18.$IA.122
kill -STOP "$REDIS_PID"
nadmin a POST /v1/bans '{"cidr": "'"$W"'", "ttl_s": 300}' >/dev/null
like "a bans at once with Redis frozen" "$(nctl a list blocks)" "$W"
sleep 3 # past the 2 s bound on a write: it failed and waits for a new connection
kill -CONT "$REDIS_PID"
ok "b gets it once Redis answers again" wait_for 15 listed b "$W/32"
cmp_ok "a counted the failed attempt" "$(fg_ns_run "$NS_A" curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
	awk '/^floodgate_ban_cluster_records_total\{event="publish_error"\}/ { print $2 }')" -ge 1
is "... and Redis keeps it" "$(rcli HGET "${PREFIX}bans" "$W/32" | jq -r .op)" ban

diag "node b's installs: $(grep -o 'ban cluster: .* from node .*' "$GW_DIR/floodgate-b.log" | sed 's/ban cluster: //' | tr '\n' ';')"
stop a
stop b
nctl a detach "$IF_A" >/dev/null 2>&1
nctl b detach "$IF_B" >/dev/null 2>&1
finish

#!/usr/bin/env bash
# scripts/cluster.sh - cluster mode on one machine: a redis-server and two floodgate nodes
# sharing it (keys, plan buckets, key announcements), for trying it out and for manual
# tests. Runs in the foreground until Ctrl-C or SIGTERM, then stops everything it started.
#
#   BUILD=build scripts/cluster.sh
#
# Uses config/demo.json's routes and plans with the store switched to Redis and plain
# HTTP listeners. Ports (FG_CLUSTER_PORT=base, default 18400): base redis, base+1 mock
# upstream, node a on base+2 (admin base+3), node b on base+4 (admin base+5). Knobs:
#   FG_CLUSTER_POLICY=fail-open|fail-closed   what a node does while Redis is away
#   FG_CLUSTER_SECONDS=N                      stop after N seconds (scripted runs)
#   FG_CLUSTER_DIR=DIR                        its files (default $BUILD/cluster)
# The admin token is "cluster-demo-token". Redis keeps its data (AOF) in that directory.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
BASE=${FG_CLUSTER_PORT:-18400}
POLICY=${FG_CLUSTER_POLICY:-fail-open}
REDIS_PORT=$BASE UP_PORT=$((BASE + 1))
TOKEN=cluster-demo-token
DIR=${FG_CLUSTER_DIR:-$BUILD/cluster}
PIDS=()

die() {
	echo "cluster: $*" >&2
	exit 1
}

for bin in "$BUILD/floodgate" "$BUILD/fg-upstream"; do
	[ -x "$bin" ] || die "$bin is missing: run make (or make BUILD=$BUILD) first"
done
for tool in redis-server redis-cli jq curl sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is missing: run scripts/deps.sh"
done
case $POLICY in fail-open | fail-closed) ;; *) die "FG_CLUSTER_POLICY must be fail-open or fail-closed" ;; esac
for p in $(seq "$BASE" $((BASE + 5))); do
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && die "port $p is in use (FG_CLUSTER_PORT picks another range)"
done
mkdir -p "$DIR/redis" || die "Couldn't create $DIR"
DIR=$(cd "$DIR" && pwd)

. scripts/procs.sh
cleanup() {
	trap - EXIT INT TERM
	procs_stop_all
	echo "cluster: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for SECONDS CMD...
	local i
	for i in $(seq $(($1 * 10))); do
		"${@:2}" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
	--dir "$DIR/redis" --logfile "$DIR/redis/redis.log" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
wait_for 10 redis-cli -p "$REDIS_PORT" ping || die "redis-server did not start (see $DIR/redis/redis.log)"
"$BUILD/fg-upstream" -l "127.0.0.1:$UP_PORT" >"$DIR/upstream.log" 2>&1 &
PIDS+=($!)

SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
for n in a b; do
	off=2
	[ $n = b ] && off=4
	# demo.json's upstream group points at the one mock upstream here; its edge filter
	# is left out (two nodes cannot both own lo's XDP program and pins)
	jq --arg url "redis://127.0.0.1:$REDIS_PORT/0" --arg policy "$POLICY" \
		--arg listen "127.0.0.1:$((BASE + off))" --arg admin "127.0.0.1:$((BASE + off + 1))" \
		--arg up "http://127.0.0.1:$UP_PORT" --arg sha "$SHA" --arg log "$DIR/access-$n.log" '
		.listen = [$listen] | .admin = {"listen": $admin, "token_sha256": $sha} |
		.store = {"type": "redis", "url": $url, "policy": $policy, "timeout_ms": 100} |
		.access_log = $log | del(.edge) |
		.upstreams[] |= (if has("servers") then .servers = [$up] else .url = $up end)' config/demo.json >"$DIR/node-$n.json" ||
		die "Couldn't write $DIR/node-$n.json"
	"$BUILD/floodgate" -c "$DIR/node-$n.json" >"$DIR/node-$n.log" 2>&1 &
	PIDS+=($!)
	wait_for 10 curl -sf "http://127.0.0.1:$((BASE + off + 1))/healthz" ||
		die "node $n did not start (see $DIR/node-$n.log)"
done

KEY=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" -d '{"plan": "tier-free", "label": "cluster demo"}' \
	"http://127.0.0.1:$((BASE + 3))/v1/keys" | jq -r .key)
[ -n "$KEY" ] && [ "$KEY" != null ] || die "Couldn't create a demo key through node a"
cat <<EOT
cluster: redis-server on 127.0.0.1:$REDIS_PORT, policy $POLICY
  node a  http://127.0.0.1:$((BASE + 2))   admin http://127.0.0.1:$((BASE + 3))
  node b  http://127.0.0.1:$((BASE + 4))   admin http://127.0.0.1:$((BASE + 5))
  admin token: $TOKEN      configs and logs: $DIR

A key on plan "tier-free" (5/min, burst 5), created through node a:  $KEY
Both nodes share its bucket: of six quick requests, alternating nodes, 5 are admitted:
  for p in $((BASE + 2)) $((BASE + 4)) $((BASE + 2)) $((BASE + 4)) $((BASE + 2)) $((BASE + 4)); do
    curl -s -o /dev/null -w '%{http_code} ' -H 'X-API-Key: $KEY' http://127.0.0.1:\$p/v1/items; done; echo
Revoke it through node b and node a refuses it at once:
  curl -s -X POST -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$((BASE + 5))/v1/keys/$(printf %s "$KEY" | sha256sum | cut -c1-16)/revoke
Stop Redis (redis-cli -p $REDIS_PORT shutdown) to see the policy; Redis counters on /metrics:
  curl -s http://127.0.0.1:$((BASE + 3))/metrics | grep floodgate_redis
Ctrl-C stops everything.
EOT
# Sleeping in the background and waiting for it: a TERM (or Ctrl-C) is acted on at once,
# not when a foreground sleep ends.
if [ -n "${FG_CLUSTER_SECONDS:-}" ]; then
	sleep "$FG_CLUSTER_SECONDS" &
	PIDS+=($!)
	wait $!
else
	while :; do
		sleep 3600 &
		PIDS+=($!)
		wait $!
	done
fi

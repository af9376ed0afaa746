# tests/integration/gw_cluster_lib.bash - cluster-mode helpers (sourced after gw_lib.bash;
# not a test itself, hence not *.sh).
#
#   cl_redis_start              (never through `ok`: a subshell would wait for it)
#                               redis-server on $REDIS_PORT (AOF on, fsync always, so keys
#                               survive a restart), in $GW_DIR/redis; deferred stop
#   cl_redis_stop               SIGTERM it and wait (it writes its AOF and exits)
#   cl_config NODE POLICY       the cluster config of node a or b (plain HTTP listener)
#   cl_start NODE CONFIG        start a node, wait for its /healthz; PID in PID_<NODE>
#   cl_admin NODE METHOD PATH [BODY]
#   cl_metric NODE NAME         the sum of a /metrics family's samples whose line starts
#                               with NAME
#
# Ports (from gw_init's block): node a = $GW_HTTP_PORT / $ADMIN_PORT, node b = base+13 /
# base+14, redis = base+12.

# The start of a test on the cluster store: root, a redis-server to run (or the whole test
# is a skip - a failure under CI=true), the gateway's test directory and the cluster's ports.
cl_setup() {
	need_root
	command -v redis-server >/dev/null || {
		echo "1..0 # SKIP redis-server is not installed (scripts/deps.sh)"
		exit 0
	}
	gw_init
	cl_init
}

# cl_bad DESC JQ-FILTER EXPECTED-MESSAGE: node a's config changed by the filter is refused
# by `floodgate -t` with exit 2 and a message matching EXPECTED-MESSAGE.
cl_bad() {
	jq "$2" "$GW_DIR/a.json" >"$GW_DIR/bad.json"
	local out
	out=$(floodgate -t -c "$GW_DIR/bad.json" 2>&1)
	is "config: $1 is refused (exit 2)" "$?" 2
	like "config: $1: says why" "$out" "$3"
}

cl_init() {
	REDIS_PORT=$((GW_PORT + 12))
	HTTP_A=$GW_HTTP_PORT ADMIN_A=$ADMIN_PORT
	HTTP_B=$((GW_PORT + 13)) ADMIN_B=$((GW_PORT + 14))
	REDIS_PID=""
	mkdir -p "$GW_DIR/redis"
}

cl_redis_start() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
		--appendfsync always --dir "$GW_DIR/redis" --logfile "$GW_DIR/redis/redis.log" \
		</dev/null >/dev/null 2>&1 &
	REDIS_PID=$!
	defer "kill -CONT $REDIS_PID 2>/dev/null; kill $REDIS_PID 2>/dev/null; wait $REDIS_PID 2>/dev/null"
	wait_for 10 redis-cli -p "$REDIS_PORT" ping
}

cl_redis_stop() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}

cl_config() { # cl_config a|b POLICY
	local http=$HTTP_A admin=$ADMIN_A
	[ "$1" = b ] && http=$HTTP_B admin=$ADMIN_B
	gw_config "
	  .listen = [\"127.0.0.1:$http\"] |
	  .admin.listen = \"127.0.0.1:$admin\" |
	  .access_log = null |
	  .store = {\"type\": \"redis\", \"url\": \"redis://127.0.0.1:$REDIS_PORT/0\",
	            \"timeout_ms\": 300, \"connect_timeout_ms\": 300, \"policy\": \"$2\",
	            \"prefix\": \"fgt$$:\"} |
	  .routes[0].upstream = \"fast\" |
	  .plans.shared = {\"rate\": 50, \"burst\": 50, \"routes\": \"*\"} |
	  .plans.outage = {\"rate\": 20, \"burst\": 20, \"routes\": \"*\"}"
}

cl_start() { # cl_start a|b CONFIG
	local admin=$ADMIN_A
	[ "$1" = b ] && admin=$ADMIN_B
	floodgate -c "$2" >>"$GW_DIR/floodgate-$1.log" 2>&1 &
	eval "PID_$1=$!"
	defer "kill $! 2>/dev/null; wait $! 2>/dev/null"
	if wait_for 10 curl -sf -m 2 "http://127.0.0.1:$admin/healthz"; then
		pass "node $1 starts on Redis"
	else
		fail "node $1 starts on Redis" "$(tail -5 "$GW_DIR/floodgate-$1.log")"
		return 1
	fi
}

cl_admin() { # cl_admin a|b METHOD PATH [BODY]
	local admin=$ADMIN_A
	[ "$1" = b ] && admin=$ADMIN_B
	bounded 10 curl -s -m 5 -X "$2" -H "Authorization: Bearer $GW_TOKEN" \
		${4:+-H 'Content-Type: application/json' --data "$4"} "http://127.0.0.1:$admin$3"
}

cl_metric() { # cl_metric a|b NAME
	local admin=$ADMIN_A
	[ "$1" = b ] && admin=$ADMIN_B
	bounded 10 curl -s -m 5 "http://127.0.0.1:$admin/metrics" |
		awk -v n="$2" 'index($0, n) == 1 { s += $NF } END { printf "%d\n", s }'
}

cl_status() { # cl_status a|b KEY: the status of one request through node a or b
	local http=$HTTP_A
	[ "$1" = b ] && http=$HTTP_B
	bounded 10 curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-API-Key: $2" \
		"http://127.0.0.1:$http/v1/items"
}

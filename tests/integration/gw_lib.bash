# tests/integration/gw_lib.bash - helpers of the gateway integration tests (sourced after
# tests/lib.sh; not a test itself, hence not *.sh).
#
#   gw_init                     ports, a work dir and a self-signed ECDSA + RSA cert pair
#   gw_config [JQ_FILTER]       the base test config, optionally changed by a jq filter
#   gw_upstream NAME ARGS...    start fg-upstream on port $UP_NAME (see gw_init), deferred kill
#   gw_start CONFIG [DESC]      start floodgate, wait until /healthz answers (a TAP result)
#   gw_key PLAN [JSON]          create a key through the admin API, print it
#   admin METHOD PATH [BODY]    curl the admin API with the token
#   req ARGS...                 curl the gateway over TLS (-k), bounded
#
# Ports come from a block of 20 in 18100..19899, starting from one derived from the PID and
# moving on while any port of the block is in use, so parallel runs (or a benchmark) do not
# meet. Only loopback addresses are used.

GW_TOKEN=test-admin-token

# 0 when no TCP socket listens on ports BASE..BASE+19.
gw_ports_free() {
	[ -z "$(ss -Htln "sport >= :$1 and sport <= :$(($1 + 19))" 2>/dev/null)" ]
}

gw_init() {
	local base=$((18100 + ($$ % 90) * 20)) tries
	for ((tries = 0; tries < 90; tries++)); do
		gw_ports_free "$base" && break
		base=$((base + 20 > 19880 ? 18100 : base + 20))
	done
	GW_PORT=$base            # https listener
	GW_HTTP_PORT=$((base + 1)) # plain http listener
	ADMIN_PORT=$((base + 2))
	UP_ECHO=$((base + 3))    # fg-upstream --echo
	UP_SLOW=$((base + 4))    # fg-upstream --delay
	UP_DEAD=$((base + 5))    # nothing listens here
	UP_FAST=$((base + 6))    # fg-upstream, fixed body
	UP_BAD1=$((base + 7))    # fg-upstream --bad ...
	UP_BAD2=$((base + 8))
	UP_BAD3=$((base + 9))   # (tests may use base + 10 .. base + 19 for more)
	GW_DIR=$(mktemp -d /tmp/fg-gw-test.XXXXXX)
	defer rm -rf "$GW_DIR"
	openssl ecparam -name prime256v1 -genkey -noout -out "$GW_DIR/ec.key" 2>/dev/null
	openssl req -x509 -new -key "$GW_DIR/ec.key" -subj /CN=localhost -days 2 \
		-addext subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost \
		-out "$GW_DIR/ec.crt" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$GW_DIR/rsa.key" -subj /CN=localhost \
		-days 2 -out "$GW_DIR/rsa.crt" 2>/dev/null
	GW_TOKEN_SHA=$(printf %s "$GW_TOKEN" | sha256sum | cut -d' ' -f1)
}

# The base config: https + http listeners, the seed plans, three upstreams.
gw_config() {
	local filter=${1:-.}
	jq "$filter" <<EOF
{
  "threads": 2,
  "listen": [
    {"address": "127.0.0.1:$GW_PORT", "tls": {"certificates": [
      {"cert": "$GW_DIR/ec.crt", "key": "$GW_DIR/ec.key"},
      {"cert": "$GW_DIR/rsa.crt", "key": "$GW_DIR/rsa.key"}]}},
    "127.0.0.1:$GW_HTTP_PORT"
  ],
  "admin": {"listen": "127.0.0.1:$ADMIN_PORT", "token_sha256": "$GW_TOKEN_SHA"},
  "store": {"path": "$GW_DIR/keys.db"},
  "access_log": "$GW_DIR/access.log",
  "limits": {"shutdown_timeout_ms": 5000, "max_request_body": 65536},
  "upstreams": {
    "echo": {"url": "http://127.0.0.1:$UP_ECHO"},
    "fast": {"url": "http://127.0.0.1:$UP_FAST"},
    "slow": {"url": "http://127.0.0.1:$UP_SLOW", "first_byte_timeout_ms": 400,
             "total_timeout_ms": 3000},
    "dead": {"url": "http://127.0.0.1:$UP_DEAD", "connect_timeout_ms": 500}
  },
  "routes": [
    {"name": "items", "methods": ["GET", "POST"], "path": "/v1/items(/[0-9]+)?", "upstream": "echo"},
    {"name": "reports", "methods": ["GET"], "path": "/v1/reports", "upstream": "echo"},
    {"name": "fast", "methods": ["GET"], "path": "/v1/fast", "upstream": "fast"},
    {"name": "slow", "methods": ["GET"], "path": "/v1/slow", "upstream": "slow"},
    {"name": "dead", "methods": ["GET"], "path": "/v1/dead", "upstream": "dead"},
    {"name": "public", "methods": ["GET"], "path": "/public/.*", "upstream": "echo", "auth": false}
  ],
  "plans": {
    "free": {"rate": 1, "burst": 1, "routes": ["items", "dead", "slow", "fast"]},
    "premium": {"rate": 10, "burst": 100, "routes": "*"},
    "tier-free": {"rate": "5/min", "burst": 5, "routes": "*"},
    "load": {"rate": 1000000, "burst": 1000000, "routes": "*"}
  }
}
EOF
}

gw_wait_port() { # gw_wait_port PORT: until something accepts on 127.0.0.1:PORT
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

gw_upstream() { # gw_upstream PORT ARGS...
	local port=$1
	shift
	fg-upstream -l "127.0.0.1:$port" "$@" >"$GW_DIR/up-$port.log" 2>&1 &
	defer "kill $! 2>/dev/null; wait $! 2>/dev/null"
	gw_wait_port "$port"
}

gw_start() { # gw_start CONFIG [DESC]: start the daemon, wait for /healthz; one TAP result
	# (never call it through `ok`: that runs it in a subshell, which loses GW_PID and the cleanup)
	local log=$GW_DIR/floodgate.log
	floodgate -c "$1" >>"$log" 2>&1 &
	GW_PID=$!
	defer "kill $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null"
	if wait_for 10 curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz" &&
		kill -0 "$GW_PID" 2>/dev/null; then
		pass "${2:-daemon starts}"
	else
		fail "${2:-daemon starts}" "$(tail -5 "$log")"
		return 1
	fi
}

admin() { # admin METHOD PATH [JSON BODY]
	bounded 10 curl -s -m 5 -X "$1" -H "Authorization: Bearer $GW_TOKEN" \
		${3:+-H 'Content-Type: application/json' --data "$3"} \
		"http://127.0.0.1:$ADMIN_PORT$2"
}

gw_key() { # gw_key PLAN [EXTRA JSON FIELDS]
	admin POST /v1/keys "{\"plan\": \"$1\"${2:+, $2}}" | jq -r .key
}

req() { # req CURL-ARGS... URL: TLS to the gateway, bounded
	bounded 15 curl -s -k -m 10 "$@"
}

# A response's parts: status line code, one header, the body.
status_of() { req -o /dev/null -w '%{http_code}' "$@"; }

gw_stop() { # gw_stop: SIGTERM the daemon started last, wait for it; its exit status in GW_RC
	# (not in a subshell: only this shell can wait for its child)
	kill -TERM "$GW_PID" 2>/dev/null
	wait "$GW_PID" 2>/dev/null
	GW_RC=$?
}

# parallel N ARGS... URL: N requests at once, one connection each; prints one status per line
parallel() {
	local n=$1
	shift
	bounded 60 curl -s -k -m 20 -Z --parallel-max "$n" --parallel-immediate --http1.1 \
		-w 'CODE=%{http_code}\n' "$@" 2>/dev/null | grep -o 'CODE=[0-9]*' | cut -d= -f2
}

# gw_away_from_midnight: quota tests count per UTC day and month; one that would run across
# midnight waits for it to pass first (at most 90 s, only in that minute and a half).
gw_away_from_midnight() {
	local left=$((86400 - $(date -u +%s) % 86400))
	if ((left < 90)); then
		diag "waiting ${left}s for UTC midnight to pass"
		sleep $((left + 1))
	fi
}

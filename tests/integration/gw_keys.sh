#!/usr/bin/env bash
# gw_keys: `fgctl keys` against a running daemon - create (the key printed once), list,
# show, block, unblock, set-plan, revoke, each visible to the gateway at once; bad ids and
# plans are the operator's errors (exit 2); the admin API over TLS.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init
gw_upstream "$UP_FAST"
gw_config '.routes[0].upstream = "fast"' >"$GW_DIR/c.json"
gw_start "$GW_DIR/c.json" || finish
URL=https://127.0.0.1:$GW_PORT/v1/items
printf '%s\n' "$GW_TOKEN" >"$GW_DIR/token"
K() { fgctl keys "$@" --admin "http://127.0.0.1:$ADMIN_PORT" --token-file "$GW_DIR/token"; }

KEY=$(K create --plan free --label "from fgctl" 2>"$GW_DIR/create.err")
is "create: exit 0" "$?" 0
like "create: the key alone on stdout" "$KEY" "fg_"
is "create: one line" "$(echo "$KEY" | wc -l)" 1
ID=$(printf %s "$KEY" | sha256sum | cut -c1-16)
like "create: the id and a warning on stderr" "$(cat "$GW_DIR/create.err")" "created key $ID on plan free; the key is shown only this once"
is "the key works at once" "$(status_of -H "X-API-Key: $KEY" "$URL")" 200
out=$(K list)
like "list: header" "$out" "ID"
like "list: the key's row" "$out" "$ID"
like "list: its label" "$out" "from fgctl"
unlike "list: never the key" "$out" "$KEY"
is "list --json" "$(K list --json | jq -r '.[0].plan')" free
is "show --json" "$(K show "$ID" --json | jq -r .label)" "from fgctl"
like "block" "$(K block "$ID")" "blocked"
is "blocked at once: 403" "$(status_of -H "X-API-Key: $KEY" "$URL")" 403
like "unblock" "$(K unblock "$ID")" "active"
like "set-plan" "$(K set-plan "$ID" premium)" "premium"
is "premium now: a burst of 100" "$(for i in 1 2 3; do status_of -H "X-API-Key: $KEY" "$URL"; echo; done | sort -u)" 200
like "revoke" "$(K revoke "$ID")" "revoked"
is "revoked at once: 401" "$(status_of -H "X-API-Key: $KEY" "$URL")" 401
out=$(K unblock "$ID" 2>&1)
is "unblock a revoked key: exit 2" "$?" 2
like "... says why" "$out" "fgctl: error: the key is revoked; that is final (HTTP 409)"
out=$(K show 0123456789abcdef 2>&1)
is "unknown id: exit 2" "$?" 2
like "... says so" "$out" "no key with this id (HTTP 404)"
out=$(K show NOT-AN-ID 2>&1)
is "malformed id: exit 2" "$?" 2
like "... says what an id is" "$out" "16 lower-case hex digits"
out=$(K create --plan gold 2>&1)
is "unknown plan: exit 2" "$?" 2
like "... says so" "$out" 'no plan named "gold"'
out=$(K create --plan free --expires 2001-01-01 2>&1)
is "past expiry: exit 2" "$?" 2
out=$(fgctl keys list --admin "http://127.0.0.1:$ADMIN_PORT" --token-file /nonexistent 2>&1)
is "missing token file: exit 2" "$?" 2
out=$(printf 'wrong\n' >"$GW_DIR/bad"; fgctl keys list --admin "http://127.0.0.1:$ADMIN_PORT" --token-file "$GW_DIR/bad" 2>&1)
is "wrong token: exit 2" "$?" 2
like "... 401" "$out" "HTTP 401"
out=$(FLOODGATE_ADMIN_TOKEN=$GW_TOKEN fgctl keys list --admin "http://127.0.0.1:$UP_DEAD" 2>&1)
is "nothing listening: exit 1" "$?" 1
like "... says so" "$out" "Couldn't connect to the admin API"
out=$(fgctl keys list --admin "http://127.0.0.1:$((ADMIN_PORT + 65536))" --token-file "$GW_DIR/token" 2>&1)
is "a port over 65535 (the admin port + 65536): exit 2, the token sent nowhere" "$?" 2
like "... says so" "$out" "is out of range 1..65535"
out=$(fgctl keys list --admin "http://[::1]x" --token-file "$GW_DIR/token" 2>&1)
is "text after [IPv6] that is not :PORT: exit 2" "$?" 2
is "token from the environment" "$(FLOODGATE_ADMIN_TOKEN=$GW_TOKEN FLOODGATE_ADMIN=http://127.0.0.1:$ADMIN_PORT fgctl keys list --json | jq length)" 1

# the admin API over TLS (certificate for 127.0.0.1)
gw_stop
gw_config ".routes[0].upstream = \"fast\" | .admin.tls = {\"certificates\": [{\"cert\": \"$GW_DIR/ec.crt\", \"key\": \"$GW_DIR/ec.key\"}]}" >"$GW_DIR/c.json"
floodgate -c "$GW_DIR/c.json" >>"$GW_DIR/floodgate.log" 2>&1 &
GW_PID=$!
defer "kill $GW_PID 2>/dev/null"
ok "daemon with a TLS admin API" wait_for 10 curl -sfk -m 2 "https://127.0.0.1:$ADMIN_PORT/healthz"
T() { fgctl keys "$@" --admin "https://127.0.0.1:$ADMIN_PORT" --token-file "$GW_DIR/token"; }
like "https admin, verified with --cacert" "$(T list --cacert "$GW_DIR/ec.crt")" "$ID"
out=$(T list 2>&1)
is "https admin, unknown CA: refused" "$?" 1
like "... says why" "$out" "Couldn't set up TLS"
like "https admin with --insecure" "$(T list --insecure)" "$ID"
finish

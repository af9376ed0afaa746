#!/usr/bin/env bash
# gw_config: `floodgate -t -c CONFIG` - a valid config exits 0; each kind of mistake exits 2
# with FILE:LINE:COL: and a message naming what is wrong; bad arguments exit 2 too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
gw_init

cfg=$GW_DIR/c.json
gw_config >"$cfg"
ok "the base test config is valid" floodgate -t -c "$cfg"
# the demo config, with the test's certificates and files in place of build/demo's
jq --arg d "$GW_DIR" '.listen[0].tls.certificates = [{"cert": ($d + "/ec.crt"), "key": ($d + "/ec.key")}]
	| .store.path = ($d + "/demo.db") | .access_log = ($d + "/demo.log")' \
	"$FG_ROOT/config/demo.json" >"$GW_DIR/demo.json"
ok "the demo config is valid" floodgate -t -c "$GW_DIR/demo.json"

check() { # check DESC JQ_FILTER|RAW EXPECTED_SUBSTRING...
	local desc=$1 filter=$2 out rc
	shift 2
	if [ "${filter#raw:}" != "$filter" ]; then
		printf '%s' "${filter#raw:}" >"$cfg"
	else
		gw_config "$filter" >"$cfg"
	fi
	out=$(floodgate -t -c "$cfg" 2>&1)
	rc=$?
	is "$desc: exit status 2" "$rc" 2
	for want in "$@"; do
		like "$desc: message" "$out" "$want"
	done
}

check "unknown key" '.bogus = 1' "$cfg:" ": bogus: unknown key"
check "bad regex" '.routes[0].path = "/v1/(items"' \
	"routes[0].path: bad regex at offset" "missing closing parenthesis"
check "bad CIDR" '.clients = {"trusted_edges": ["198.18.0.1/15"]}' \
	"clients.trusted_edges[0]: bad CIDR" "bits set beyond the prefix"
check "wrong type" '.plans.free.burst = "one"' "plans.free.burst: expected an integer, got a string"
check "unknown plan route" '.plans.free.routes = ["nope"]' "no route named \"nope\""
check "missing certificate" ".listen[0].tls.certificates[0].cert = \"$GW_DIR/missing.crt\"" \
	"Couldn't read certificate $GW_DIR/missing.crt: No such file or directory"
check "key of another certificate" ".listen[0].tls.certificates[0].key = \"$GW_DIR/rsa.key\"" \
	"listen[0].tls.certificates: $GW_DIR/rsa.key does not match"
check "rate unit" '.plans.free.rate = "5/fortnight"' "plans.free.rate: the unit after '/'"
check "admin off loopback without TLS" '.admin.listen = "198.18.0.1:9090"' "needs \"tls\""
check "bad server_header" '.server_header = "a\r\nset-cookie: x"' "server_header: expected the Server header's value"
check "duplicate key" 'raw:{
  "threads": 1,
  "threads": 2
}' "$cfg:3:" "duplicate object key"
check "syntax error" 'raw:{
  "threads": 1
  "listen": []
}' "$cfg:3:"

# a value cannot forge a second error line: the message is one line, the newline escaped
gw_config '.upstreams.echo.url = "http://x\nforged.json:1:1: fine"' >"$cfg"
out=$(floodgate -t -c "$cfg" 2>&1)
is "control character in a value: exit status 2" "$?" 2
is "control character in a value: one line" "$(printf '%s\n' "$out" | wc -l)" 1
like "control character in a value: escaped" "$out" 'upstreams.echo.url: must not contain control characters ("http://x\nforged.json:1:1: fine")'
check "directory as access log" ".access_log = \"$GW_DIR\"" \
	"access_log: $GW_DIR is a directory (expected the log file)"
check "directory as key store" ".store.path = \"$GW_DIR\"" \
	"store.path: $GW_DIR is a directory (expected the database file)"
check "key store in a missing directory" ".store.path = \"$GW_DIR/no-such-dir/keys.db\"" \
	"store.path: $GW_DIR/no-such-dir/keys.db: its directory does not exist (the daemon creates the file, not its directory)"
check "access log in a missing directory" ".access_log = \"$GW_DIR/no-such-dir/access.log\"" \
	"access_log: $GW_DIR/no-such-dir/access.log: its directory does not exist (the daemon creates the file, not its directory)"
printf '{"threads": 1}\n\0' >"$cfg"
out=$(floodgate -t -c "$cfg" 2>&1)
is "NUL byte: exit status 2" "$?" 2
is "NUL byte: named, with its position" "$out" "$cfg:2:1: NUL byte in config (JSON text has none)"

# positions: the unknown key sits on line 2, column 3
printf '{\n  "bogus": 1, "threads": 1\n}\n' >"$cfg"
out=$(floodgate -t -c "$cfg" 2>&1)
is "position of an unknown key" "${out%%: bogus*}" "$cfg:2:3"

out=$(floodgate -t -c /nonexistent/floodgate.json 2>&1)
is "missing file: exit status 2" "$?" 2
like "missing file: message" "$out" "/nonexistent/floodgate.json: Couldn't open config: No such file"

out=$(floodgate 2>&1)
is "no -c: exit status 2" "$?" 2
like "no -c: says so" "$out" "missing -c CONFIG"
out=$(floodgate -c "$cfg" --bogus 2>&1)
is "unknown option: exit status 2" "$?" 2
out=$(floodgate -c "$cfg" extra 2>&1)
is "stray argument: exit status 2" "$?" 2
ok "--help exits 0" floodgate --help

# a bad config at start: the daemon does not start
gw_config '.routes[0].path = "/("' >"$cfg"
out=$(bounded 10 floodgate -c "$cfg" 2>&1)
is "start with a bad config: exit status 2" "$?" 2
like "start with a bad config: message" "$out" "routes[0].path: bad regex"

# start failures that are not the config's: exit 1 with the reason
gw_upstream "$GW_PORT"
gw_config >"$cfg"
out=$(bounded 10 floodgate -c "$cfg" 2>&1)
is "port in use: exit status 1" "$?" 1
like "port in use: says which" "$out" "Couldn't listen on 127.0.0.1:$GW_PORT: Address already in use"
# what only opening shows (-t passes): a file that is not a database, a log procfs refuses
printf 'not a database: sqlite says so\n%.0s' $(seq 50) >"$GW_DIR/notdb.db"
gw_config ".store.path = \"$GW_DIR/notdb.db\"" >"$cfg"
out=$(bounded 10 floodgate -c "$cfg" 2>&1)
is "key store cannot be opened: exit status 1" "$?" 1
like "key store: says why" "$out" "Couldn't set up key store $GW_DIR/notdb.db: file is not a database"
gw_config '.access_log = "/proc/fg-access.log"' >"$cfg"
out=$(bounded 10 floodgate -c "$cfg" 2>&1)
is "access log cannot be opened: exit status 1" "$?" 1
like "access log: says why" "$out" "Couldn't open access log /proc/fg-access.log: No such file or directory"

finish

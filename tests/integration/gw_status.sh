#!/usr/bin/env bash
# gw_status: the admin listener's /status page in headless Chromium (Debian's `chromium`).
# The daemon runs in a namespace of its own with the edge filter on its loopback (skb mode)
# so the page has figures from both layers: the page loads, its script polls /status.json
# and fills its tables (requests and rejections by reason, XDP verdicts, bans, top keys),
# and a screenshot is saved under build/.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/gw_lib.bash"
need_root
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	if [ "${CI:-}" = true ]; then fail "chromium is installed" "scripts/deps.sh installs it"; else skip_test "status page in Chromium" "chromium is not installed (scripts/deps.sh)"; fi
	finish
fi
gw_init
NS=fgt-stat-$$ PIN=/sys/fs/bpf/fgt-stat-$$
SHOT=$FG_BUILD/status.png
defer "rm -rf $PIN"
defer "ip netns del $NS 2>/dev/null"
ip netns add "$NS" && fg_ns_run "$NS" ip link set lo up || { fail "namespace"; finish; }
nsenter --net="/run/netns/$NS" fg-upstream -l "127.0.0.1:$UP_ECHO" --echo >"$GW_DIR/up.log" 2>&1 &
defer "kill $! 2>/dev/null"
gw_config '.listen = ["127.0.0.1:'"$GW_HTTP_PORT"'"] |
	.edge = {"pin_dir": "'"$PIN"'", "attach": "lo", "attach_mode": "skb", "ports": ['"$GW_HTTP_PORT"'],
		"source": {"rate": 100000, "burst": 100000}} |
	.abuse = {"threshold": 100000, "ban_ttl_s": 600}' >"$GW_DIR/c.json"
nsenter --net="/run/netns/$NS" floodgate -c "$GW_DIR/c.json" >>"$GW_DIR/floodgate.log" 2>&1 &
GW_PID=$!
defer "kill $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null"
defer "nsenter --net=/run/netns/$NS fgctl --pin-dir $PIN detach lo >/dev/null 2>&1"
in_ns() { fg_ns_run "$NS" "$@"; }
if wait_for 10 in_ns curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null; then
	pass "daemon with the edge filter on lo starts"
else
	fail "daemon with the edge filter on lo starts" "$(tail -5 "$GW_DIR/floodgate.log")"
	finish
fi
K=$(in_ns curl -s -X POST -H "Authorization: Bearer $GW_TOKEN" -d '{"plan": "load"}' \
	"http://127.0.0.1:$ADMIN_PORT/v1/keys" | jq -r .key)
load() { # load N: N requests with the key, a few without
	for _ in $(seq "$1"); do
		in_ns curl -s -o /dev/null -m 2 -H "X-API-Key: $K" "http://127.0.0.1:$GW_HTTP_PORT/v1/items"
	done
	in_ns curl -s -o /dev/null -m 2 "http://127.0.0.1:$GW_HTTP_PORT/nowhere"
}
load 20
in_ns curl -s -o /dev/null -X POST -H "Authorization: Bearer $GW_TOKEN" -d '{"cidr": "198.18.9.9", "reason": "status-test"}' \
	"http://127.0.0.1:$ADMIN_PORT/v1/bans"
# traffic keeps flowing while the page polls
(for _ in $(seq 20); do load 5; sleep 0.3; done) &
LOADER=$!
defer "kill $LOADER 2>/dev/null"

page=$(in_ns curl -s -D "$GW_DIR/h" "http://127.0.0.1:$ADMIN_PORT/status")
like "the page is HTML" "$(tr -d '\r' <"$GW_DIR/h" | tr A-Z a-z)" "content-type: text/html"
unlike "no external assets" "$page" "src=\"http"
j=$(in_ns curl -s "http://127.0.0.1:$ADMIN_PORT/status.json")
cmp_ok "status.json counts requests" "$(jq .requests <<<"$j")" -ge 20
cmp_ok "status.json has XDP packets" "$(jq .xdp_packets <<<"$j")" -gt 0

chrome() { # chrome ARGS...: headless Chromium in the daemon's namespace, bounded
	in_ns timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$GW_DIR/chromium" "$@" 2>>"$GW_DIR/chromium.log"
}
dom=$(chrome --virtual-time-budget=5000 --dump-dom "http://127.0.0.1:$ADMIN_PORT/status")
[ -n "$dom" ] || diag "chromium: $(grep -v dbus "$GW_DIR/chromium.log" | tail -5)"
updates=$(grep -o '<span id="updates">[0-9]*' <<<"$dom" | grep -o '[0-9]*$')
cmp_ok "the page polled and updated its figures (>= 3 times)" "${updates:-0}" -ge 3
rps=$(grep -o '<div class="big" id="rps">[^<]*' <<<"$dom" | sed 's/.*>//')
like "requests per second is a number" "$rps" "${rps//[^0-9]/}"
[ -n "$rps" ] && [ "$rps" != "-" ] && pass "requests per second filled in ($rps)" || fail "requests per second filled in" "$rps"
like "rejections by reason listed (404 probe)" "$dom" "<td>not-found</td>"
like "XDP verdicts listed" "$dom" "<td>pass_other</td>"
like "the ban is in the top banned sources" "$dom" "198.18.9.9/32"
like "the key is in the top keys" "$dom" "$(printf %s "$K" | sha256sum | cut -c1-16)"
like "no fetch error on the page" "$dom" "<span id=\"err\"></span>"

rm -f "$SHOT"
chrome --window-size=1200,1100 --virtual-time-budget=3000 --screenshot="$SHOT" \
	"http://127.0.0.1:$ADMIN_PORT/status" >/dev/null
is "a screenshot is saved under build/" "$(file -b "$SHOT" 2>/dev/null | cut -d, -f1)" "PNG image data"
diag "screenshot: $SHOT"
finish

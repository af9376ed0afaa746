#!/usr/bin/env bash
# scripts/gw-demo.sh - the gateway part of `make run`: a self-signed ECDSA certificate,
# the mock upstream and the daemon on https://127.0.0.1:8443 with config/demo.json, one
# demo key per plan (printed, and written to $BUILD/demo/keys.txt as "PLAN KEY" lines),
# and the curl lines to try. Runs in the foreground until Ctrl-C or SIGTERM, then stops
# everything it started.
#
#   BUILD=build scripts/gw-demo.sh
#
# Ports: 8443 (gateway), 9090 (admin API, loopback only), 8081 and 8082 (the two mock
# upstream servers of the "api" group; each says which it is in X-Served-By).
# The daemon attaches the XDP edge filter to lo itself (config edge.attach, skb mode, port
# 8443 protected with generous limits, pins in /sys/fs/bpf/fgdemo-gw): /metrics and /status
# show both layers. It is detached again when the demo stops.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
DEMO=$BUILD/demo
FLOODGATE=$BUILD/floodgate
UPSTREAM=$BUILD/fg-upstream
GW=https://127.0.0.1:8443
ADMIN=http://127.0.0.1:9090
PLANS="free premium tier-free tier-basic tier-premium tier-enterprise"

die() {
	echo "gw-demo: $*" >&2
	exit 1
}

for bin in "$FLOODGATE" "$UPSTREAM"; do
	[ -x "$bin" ] || die "$bin is missing: run make (or make BUILD=$BUILD) first"
done
for tool in openssl jq curl sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is missing: run scripts/deps.sh"
done
mkdir -p "$DEMO" || die "Couldn't create $DEMO"
DEMO=$(cd "$DEMO" && pwd)

# ---- certificate (kept between runs while it is valid for another day) ----
if ! openssl x509 -checkend 86400 -noout -in "$DEMO/ecdsa.crt" >/dev/null 2>&1; then
	openssl ecparam -name prime256v1 -genkey -noout -out "$DEMO/ecdsa.key" 2>/dev/null &&
		openssl req -x509 -new -key "$DEMO/ecdsa.key" -days 30 -subj /CN=localhost \
			-addext subjectAltName=IP:127.0.0.1,DNS:localhost -out "$DEMO/ecdsa.crt" \
			2>/dev/null || die "Couldn't make a self-signed certificate"
	chmod 600 "$DEMO/ecdsa.key"
fi

# ---- config: demo.json with this run's paths and a fresh admin token ----
TOKEN=$(openssl rand -hex 16)
umask 077
printf '%s\n' "$TOKEN" >"$DEMO/admin-token"
umask 022
DIGEST=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
jq --arg d "$DEMO" --arg t "$DIGEST" '
	.listen[0].tls.certificates = [{"cert": ($d + "/ecdsa.crt"), "key": ($d + "/ecdsa.key")}]
	| .store.path = ($d + "/keys.db") | .access_log = ($d + "/access.log")
	| .admin.token_sha256 = $t
	| .notify.command = ("echo \"$(date) every server of $FLOODGATE_UPSTREAM is down\" >> "
		+ $d + "/notify.log")' config/demo.json >"$DEMO/floodgate.json" ||
	die "Couldn't write $DEMO/floodgate.json"
"$FLOODGATE" -t -c "$DEMO/floodgate.json" 2>/dev/null || "$FLOODGATE" -t -c "$DEMO/floodgate.json" ||
	die "the demo config does not validate"
# A clean store each run: the keys printed below are the only ones.
rm -f "$DEMO/keys.db" "$DEMO/keys.db-wal" "$DEMO/keys.db-shm"

# ---- processes ----
UP_PID="" UP2_PID="" GW_PID=""
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "gw-demo: stopping"
	[ -n "$GW_PID" ] && kill -TERM "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
	[ -n "$UP_PID" ] && kill -TERM "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null
	[ -n "$UP2_PID" ] && kill -TERM "$UP2_PID" 2>/dev/null && wait "$UP2_PID" 2>/dev/null
	"$BUILD/fgctl" --pin-dir /sys/fs/bpf/fgdemo-gw detach lo >/dev/null 2>&1
	exit "${1:-0}"
}
trap 'cleanup 0' INT TERM
trap 'cleanup $?' EXIT

"$UPSTREAM" -l 127.0.0.1:8081 --echo -H 'X-Served-By: upstream-8081' >"$DEMO/upstream.log" 2>&1 &
UP_PID=$!
"$UPSTREAM" -l 127.0.0.1:8082 --echo -H 'X-Served-By: upstream-8082' >"$DEMO/upstream2.log" 2>&1 &
UP2_PID=$!
"$FLOODGATE" -c "$DEMO/floodgate.json" &
GW_PID=$!

ready=0
for _ in $(seq 100); do
	if curl -sf -m 1 "$ADMIN/healthz" >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "$GW_PID" 2>/dev/null || break
	sleep 0.1
done
[ $ready = 1 ] || die "the daemon did not start (ports 8443, 9090, 8081 and 8082 must be free)"
kill -0 "$UP_PID" 2>/dev/null || die "the mock upstream did not start; see $DEMO/upstream.log"
kill -0 "$UP2_PID" 2>/dev/null || die "the second mock upstream did not start; see $DEMO/upstream2.log"

# ---- one key per plan ----
: >"$DEMO/keys.txt"
for plan in $PLANS; do
	key=$(curl -s -m 5 -X POST -H "Authorization: Bearer $TOKEN" \
		-d "{\"plan\": \"$plan\", \"label\": \"demo\"}" "$ADMIN/v1/keys" | jq -r '.key // empty')
	[ -n "$key" ] || die "Couldn't create a key for plan $plan"
	echo "$plan $key" >>"$DEMO/keys.txt"
done
FREE=$(awk '$1 == "free" {print $2}' "$DEMO/keys.txt")
PREM=$(awk '$1 == "premium" {print $2}' "$DEMO/keys.txt")

cat <<EOF

floodgate is up on $GW (self-signed certificate: curl -k), admin API on $ADMIN.
The upstream group "api" is two fg-upstream --echo servers (8081, 8082, round-robin,
health-checked): each 200 shows what the gateway forwarded, X-Served-By which server.
The route "items" is cached for 10 s (X-Cache: MISS, then HIT with an Age).

Demo keys ($DEMO/keys.txt):
$(awk '{printf "  %-16s %s\n", $1, $2}' "$DEMO/keys.txt")

Try:
  curl -k -H 'X-API-Key: $PREM' $GW/v1/items/42
  curl -k -H 'Authorization: Bearer $PREM' $GW/v1/reports/q3
  curl -k '$GW/v1/items?api_key=$PREM&page=2'     # api_key never reaches the upstream
  for i in 1 2 3; do curl -sk -o /dev/null -w '%{http_code}\\n' -H 'X-API-Key: $FREE' $GW/v1/items; done
                                                   # free plan: 1 r/s, burst 1 -> 200 429 429
  curl -k -i -H 'X-API-Key: $FREE' $GW/v1/reports/q3   # 403: not in the free plan
  curl -k -i $GW/v1/items                          # 401 problem+json
  curl -k -i --path-as-is $GW/v1/../admin         # 404: normalised before matching
  curl -k --http2 -sI -H 'X-API-Key: $PREM' $GW/v1/items   # HTTP/2, RateLimit headers
  for i in 1 2 3; do curl -sk -o /dev/null -D - -H 'X-API-Key: $PREM' $GW/v1/items | grep -iE '^(x-cache|age|x-served-by):'; done
                                                   # MISS (from 8081 or 8082), then HIT, Age: N
  for i in 1 2 3 4; do curl -sk -o /dev/null -D - -H 'X-API-Key: $PREM' $GW/v1/search | grep -i '^x-served-by:'; done
                                                   # not cached: round-robin over both servers
  kill $UP_PID                                     # one server gone: no error, the other answers
  FLOODGATE_ADMIN_TOKEN=\$(cat $DEMO/admin-token) $BUILD/fgctl upstreams   # down after 2 checks
  FLOODGATE_ADMIN_TOKEN=\$(cat $DEMO/admin-token) $BUILD/fgctl cache purge --route items
  curl -s $ADMIN/metrics                           # L7 and XDP counters in one scrape
  open $ADMIN/status                               # live status page (both layers)
  $BUILD/fgctl --pin-dir /sys/fs/bpf/fgdemo-gw status   # the policy the daemon wrote
  FLOODGATE_ADMIN_TOKEN=\$(cat $DEMO/admin-token) $BUILD/fgctl bans list
  curl -s -H "Authorization: Bearer \$(cat $DEMO/admin-token)" $ADMIN/v1/keys

Access log: $DEMO/access.log   Reload: kill -HUP $GW_PID   Stop: Ctrl-C
EOF

# Foreground until a signal, or until the daemon exits by itself.
while kill -0 "$GW_PID" 2>/dev/null; do
	wait "$GW_PID" 2>/dev/null
done
GW_PID=""
echo "gw-demo: the daemon exited" >&2
cleanup 1

#!/usr/bin/env bash
# tests/integration/fgctl.sh - fgctl end to end on a veth pair between two namespaces.
#
# The filter runs on A's end (the "server", 198.18.50.1, 2001:2:0:50::1); B is the client.
# Checked: native attach and the default config; block/unblock act on the next packet
# (ping and TCP connect, IPv4 and IPv6, hosts and CIDRs); TTL expiry; the allowlist beats
# the blocklist; mode monitor; bpftool shows BTF field names; status, list and stats JSON
# are well-formed and move; every bad argument exits 2 with one line and changes nothing;
# a foreign XDP program is never replaced; two interfaces share the maps, and detach
# unpins only when the last one goes; --keep-maps keeps a block across a re-attach;
# detach leaves no XDP program. Pins live in /sys/fs/bpf/fgt-ctl-$$, never the default;
# namespaces are fgt-ctl-a$$ and fgt-ctl-b$$ (fgctl_lib.bash).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fgctl_lib.bash"
need_root

A=fgt-ctl-a$$ B=fgt-ctl-b$$ IA=fgt-ctl-va IB=fgt-ctl-vb IDX=50
SRV4=198.18.$IDX.1 CLI4=198.18.$IDX.2 SRV6=2001:2:0:$IDX::1 CLI6=2001:2:0:$IDX::2
PIN=/sys/fs/bpf/fgt-ctl-$$
PORT=8080
TMP=$(mktemp -d /tmp/fgt-ctl.XXXXXX)
defer rm -rf "$TMP"

# fgctl in A's network namespace (nsenter keeps the root mount namespace: same bpffs).
a() { fg_ns_run "$A" "$FGCTL" --pin-dir "$PIN" "$@"; }
b() { fg_ns_run "$B" "$FGCTL" --pin-dir "$PIN" "$@"; }
ping_from_b() { fg_ns_run "$B" ping -c 1 -W 1 "$@" >/dev/null 2>&1; }
connect_from_b() { # connect_from_b ADDR: a TCP handshake with A's listener, 1 s at most
	fg_ns_run "$B" timeout 1 bash -c "exec 3<>/dev/tcp/$1/$PORT" 2>/dev/null
}
counter() { a stats --json | jq -r ".counters.$1.packets"; }
generation() { a status --json | jq -r .config.generation; }

[ -x "$FGCTL" ] || { echo "1..0 # SKIP $FGCTL not built"; exit 0; }

fgctl_reap_stale
defer rm -rf "$PIN"
defer fg_ns_del "$A" "$B"
ok "namespaces $A and $B on a veth pair" fg_ns_pair "$A" "$B" "$IA" "$IB" "$IDX" || finish

# Not through ok(): it runs its command in a subshell, and the listener must be ours.
if fgctl_listener "$A" $PORT; then pass "a TCP listener on $A, port $PORT"; else fail "a TCP listener on $A, port $PORT"; fi
defer kill $LISTENER_PID
ok "TCP connect over IPv4 before attach" connect_from_b "$SRV4"
ok "ping over IPv6 before attach (neighbours resolved)" ping_from_b "$SRV6"

# ---- attach ----
ok "fgctl attach $IA (native)" a attach "$IA" --mode native --max-sources 4096 || finish
like "ip link shows xdp_edge on $IA" "$(fg_ns_run "$A" ip link show "$IA")" "prog/xdp"
like "... in native mode (xdp, not xdpgeneric)" "$(fg_ns_run "$A" ip -d link show "$IA")" "xdp id"
a status --json >"$TMP/status" 2>&1
ok "status --json is valid JSON" jq -e . "$TMP/status"
is "status: one interface, native" "$(jq -r '.interfaces[0].name + " " + .interfaces[0].mode' "$TMP/status")" "$IA native"
attach=$(jq -r '.interfaces[0].attach' "$TMP/status")
diag "attach type on this kernel: $attach"
case $attach in direct | dispatcher) pass "status says dispatcher or direct ($attach)" ;; *) fail "status says dispatcher or direct" "got '$attach'" ;; esac
is "status: the program uses these maps" "$(jq -r '.interfaces[0].uses_these_maps' "$TMP/status")" true
is "default config: drop, all ports, SYN only, 100/200, malformed drop, DSCP 8, /64, 10000/20000 new sources" \
	"$(jq -c '.config | [.mode, .ports, .syn_only, .source_limit.rate, .source_limit.burst, .malformed, .dscp, .v6_prefix, .new_source_limit.rate, .new_source_limit.burst]' "$TMP/status")" \
	'["drop","all",true,100,200,"drop",8,64,10000,20000]'
is "status: max sources as asked" "$(jq -r .max_sources "$TMP/status")" 4096
like "status (text) says how it is attached" "$(a status)" "attached"

ok "TCP connect over IPv4 with the filter" connect_from_b "$SRV4"
ok "TCP connect over IPv6 with the filter" connect_from_b "$SRV6"
cmp_ok "pass_source counted the SYNs" "$(counter pass_source)" -ge 2

# ---- bpftool sees BTF field names ----
dump=$(bpftool map dump pinned "$PIN/fg_config" 2>&1)
like "bpftool dump of fg_config shows field names (v6_prefix)" "$dump" '"v6_prefix": 64'
like "... and nested ones (src.burst)" "$dump" '"burst": 200'

# ---- block / unblock act on the next packet ----
blocked0=$(counter block)
ok "block $CLI4" a block "$CLI4"
nok "ping from the blocked IPv4 source fails" ping_from_b "$SRV4"
nok "TCP connect from the blocked IPv4 source fails" connect_from_b "$SRV4"
cmp_ok "the block counter moved" "$(counter block)" -gt "$blocked0"
cmp_ok "... and so did dropped" "$(counter dropped)" -gt 0
a list blocks --json >"$TMP/list"
ok "list blocks --json is a JSON array" jq -e 'type == "array"' "$TMP/list"
is "list blocks shows it, mode inherit, never expires" \
	"$(jq -c '.[] | select(.cidr == "'"$CLI4"'") | [.mode, .origin, .ttl_s, .expired]' "$TMP/list")" \
	'["inherit","manual",null,false]'
cmp_ok "its hit counter moved" "$(jq -r '.[] | select(.cidr == "'"$CLI4"'") | .hits' "$TMP/list")" -gt 0
like "list blocks (table) has a header and the entry" "$(a list blocks)" "$CLI4"
ok "unblock $CLI4" a unblock "$CLI4"
ok "the next ping passes" ping_from_b "$SRV4"
ok "the next TCP connect passes" connect_from_b "$SRV4"

ok "block $CLI6" a block "$CLI6"
nok "ping from the blocked IPv6 source fails" ping_from_b "$SRV6"
nok "TCP connect from the blocked IPv6 source fails" connect_from_b "$SRV6"
ok "ping over IPv4 from the same host still passes" ping_from_b "$SRV4"
ok "unblock $CLI6" a unblock "$CLI6"
ok "the next IPv6 ping passes" ping_from_b "$SRV6"

ok "block a CIDR (198.18.$IDX.0/24)" a block "198.18.$IDX.0/24"
ok "block an IPv6 CIDR (2001:2:0:$IDX::/64)" a block "2001:2:0:$IDX::/64"
nok "IPv4 source inside the CIDR is blocked" ping_from_b "$SRV4"
nok "IPv6 source inside the CIDR is blocked" ping_from_b "$SRV6"
is "list blocks shows both CIDRs" "$(a list blocks --json | jq -r '[.[].cidr] | join(" ")')" \
	"198.18.$IDX.0/24 2001:2:0:$IDX::/64"
hits() { a list blocks --json | jq -r ".[] | select(.cidr == \"$1\") | .hits"; }
h24=$(hits "198.18.$IDX.0/24")
cmp_ok "the /24 counted hits" "$h24" -gt 0
ok "block a /25 inside it" a block "198.18.$IDX.0/25"
is "the new /25 starts with no hits (not the /24's)" "$(hits "198.18.$IDX.0/25")" 0
ok "block the /24 again, with a TTL" a block "198.18.$IDX.0/24" --ttl 1h
is "re-blocking keeps the /24's hits" "$(hits "198.18.$IDX.0/24")" "$h24"
ok "unblock the /25" a unblock "198.18.$IDX.0/25"
ok "unblock the IPv4 CIDR" a unblock "198.18.$IDX.0/24"
ok "unblock the IPv6 CIDR" a unblock "2001:2:0:$IDX::/64"
ok "IPv4 passes again" ping_from_b "$SRV4"
ok "IPv6 passes again" ping_from_b "$SRV6"

# ---- TTL expiry ----
ok "block $CLI4 --ttl 2" a block "$CLI4" --ttl 2
t0=$(date +%s%N)
nok "blocked while the TTL runs" ping_from_b "$SRV4"
ttl=$(a list blocks --json | jq -r '.[] | select(.cidr == "'"$CLI4"'") | .ttl_s')
cmp_ok "list shows a TTL of at most 2 s" "${ttl:-99}" -le 2
like "the table shows the TTL" "$(a list blocks)" "s  "
sleep "$(awk -v t0="$t0" -v now="$(date +%s%N)" 'BEGIN { d = 2.3 - (now - t0) / 1e9; print (d > 0 ? d : 0) }')"
ok "passes once the TTL is over" ping_from_b "$SRV4"
is "list shows it expired" "$(a list blocks --json | jq -r '.[] | select(.cidr == "'"$CLI4"'") | .expired')" true
like "sweep removes it" "$(a sweep)" "removed 1 expired entry"
is "the blocklist is empty" "$(a list blocks --json | jq length)" 0

# ---- allow beats block ----
allowed0=$(counter pass_allow)
ok "allow $CLI4" a allow "$CLI4"
a block "$CLI4" 2>"$TMP/warn"
like "block warns that the allowlist wins" "$(cat "$TMP/warn")" "allowlist wins"
ok "an allowlisted and blocked source passes" ping_from_b "$SRV4"
cmp_ok "pass_allow moved" "$(counter pass_allow)" -gt "$allowed0"
is "list allows shows it" "$(a list allows --json | jq -r '.[0].cidr')" "$CLI4"
ok "disallow $CLI4" a disallow "$CLI4"
nok "without the allow entry the block applies" ping_from_b "$SRV4"

# ---- mode monitor: counted, passed ----
ok "mode monitor" a mode monitor
mon0=$(counter monitored)
ok "a blocked source passes in monitor mode" ping_from_b "$SRV4"
cmp_ok "monitored moved" "$(counter monitored)" -gt "$mon0"
ok "block --mode mark" a block "$CLI4" --mode mark
ok "a source blocked in mark mode passes" ping_from_b "$SRV4"
cmp_ok "marked moved" "$(counter marked)" -gt 0
is "list marked shows it, with the reason" \
	"$(a list marked --json | jq -c '.[] | select(.source == "'"$CLI4"'") | [.reason, .packets >= 1]')" \
	'["block",true]'
like "list marked (table)" "$(a list marked)" "$CLI4"
ok "block --mode drop overrides the config's monitor" a block "$CLI4" --mode drop
nok "... and drops" ping_from_b "$SRV4"
ok "mode drop" a mode drop
ok "unblock" a unblock "$CLI4"

# ---- config commands show in status ----
ok "ports 443,8000-8090 (the listener's 8080 among them)" a ports 443,8000-8090
ok "limit --rate 50 --burst 80 --all-packets" a limit --rate 50 --burst 80 --all-packets
ok "new-sources --rate 1000 --burst 2000" a new-sources --rate 1000 --burst 2000
ok "lockdown on" a lockdown on
ok "malformed pass" a malformed pass
ok "dscp 10" a dscp 10
ok "v6-prefix 56" a v6-prefix 56
ok "edge add 198.18.$IDX.0/28 --rate 1000 --burst 2000" a edge add "198.18.$IDX.0/28" --rate 1000 --burst 2000
ok "edge add 2001:2::/48 --rate 10 --burst 20 --mode mark" a edge add 2001:2::/48 --rate 10 --burst 20 --mode mark
a status --json >"$TMP/status"
is "status reflects every change" \
	"$(jq -c '.config | [.ports, .syn_only, .source_limit.rate, .source_limit.burst, .new_source_limit.rate, .lockdown, .malformed, .dscp, .v6_prefix]' "$TMP/status")" \
	'["443,8000-8090",false,50,80,1000,true,"pass",10,56]'
is "status counts the edges" "$(jq -r .entries.edges "$TMP/status")" 2
is "list edges --json" "$(a list edges --json | jq -c '[.[] | [.cidr, .rate, .burst, .mode]]')" \
	"[[\"198.18.$IDX.0/28\",1000,2000,\"inherit\"],[\"2001:2::/48\",10,20,\"mark\"]]"
ok "TCP connect from an edge IP passes lock-down" connect_from_b "$SRV4"
cmp_ok "pass_edge moved" "$(counter pass_edge)" -gt 0
ok "edge del 198.18.$IDX.0/28" a edge del "198.18.$IDX.0/28"
ok "edge del 2001:2::/48" a edge del 2001:2::/48
nok "lock-down now drops B's connect" connect_from_b "$SRV4"
cmp_ok "lockdown counted it" "$(counter lockdown)" -gt 0
ok "lockdown off" a lockdown off
ok "limit off" a limit off
ok "ports all" a ports all
is "status: no source limit, all ports" "$(a status --json | jq -c '.config | [.source_limit, .ports]')" '[null,"all"]'

# ---- every bad argument: exit 2, one line, nothing changed ----
gen0=$(generation)
a block 198.18.$IDX.99
blocks0=$(a list blocks --json | jq -c .)
bad() { # bad DESC ARGS...: fgctl exits 2, prints nothing on stdout and one error line
	local desc=$1 out rc
	shift
	out=$("$@" 2>"$TMP/err")
	rc=$?
	if [ $rc -eq 2 ] && [ -z "$out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
		grep -q '^fgctl: error: ' "$TMP/err"; then
		pass "$desc"
	else
		fail "$desc" "exit $rc, stdout '$out', stderr '$(cat "$TMP/err")'"
	fi
}
bad "block 198.18.0.1/33" a block 198.18.0.1/33
like "... says why" "$(cat "$TMP/err")" "Couldn't parse CIDR '198.18.0.1/33': prefix length is over 32"
bad "block 2001:2::/129" a block 2001:2::/129
bad "block with host bits under the prefix" a block 198.18.0.1/24
bad "block not-an-address" a block not-an-address
bad "block without a CIDR" a block
bad "block with two CIDRs" a block 198.18.0.1 198.18.0.2
bad "block --ttl over 10 years" a block 198.18.0.1 --ttl 315360001
bad "block --ttl that overflows 64 bits" a block 198.18.0.1 --ttl 99999999999999999999999
bad "block --ttl 10000000000d" a block 198.18.0.1 --ttl 10000000000d
bad "block --ttl abc" a block 198.18.0.1 --ttl abc
bad "block --ttl -5" a block 198.18.0.1 --ttl -5
bad "block --ttl 0" a block 198.18.0.1 --ttl 0
bad "block --ttl without a value" a block 198.18.0.1 --ttl
bad "block --mode bogus" a block 198.18.0.1 --mode bogus
bad "allow --mode (allow has no mode)" a allow 198.18.0.1 --mode drop
bad "unblock an address not in the list" a unblock 198.18.$IDX.98
bad "disallow an address not in the list" a disallow 198.18.$IDX.98
bad "edge add --rate 0 --burst 0" a edge add 198.18.0.0/24 --rate 0 --burst 0
bad "edge add without --burst" a edge add 198.18.0.0/24 --rate 10
bad "edge add with a bad CIDR" a edge add 198.18.0.0/33 --rate 10 --burst 10
bad "edge del of no edge" a edge del 198.18.0.0/24
bad "edge without a subcommand" a edge
bad "edge frobnicate" a edge frobnicate
bad "limit --rate 0 --burst 0" a limit --rate 0 --burst 0
like "... says so" "$(cat "$TMP/err")" "rate 0 with burst 0"
bad "limit --rate without --burst" a limit --rate 10
bad "limit --syn-only --all-packets" a limit --syn-only --all-packets
bad "limit with nothing" a limit
bad "new-sources --rate 0 --burst 0" a new-sources --rate 0 --burst 0
bad "ports 0" a ports 0
bad "ports 70000" a ports 70000
bad "ports 80,,443" a ports 80,,443
bad "ports 90-80" a ports 90-80
bad "ports http" a ports http
bad "ports ''" a ports ''
bad "mode bogus" a mode bogus
bad "mode inherit" a mode inherit
bad "lockdown maybe" a lockdown maybe
bad "malformed keep" a malformed keep
bad "dscp 64" a dscp 64
bad "v6-prefix 0" a v6-prefix 0
bad "v6-prefix 129" a v6-prefix 129
bad "list bogus" a list bogus
bad "list blocks extra" a list blocks extra
bad "stats --count without --watch" a stats --count 2
bad "stats --watch 0" a stats --watch 0
bad "attach to an unknown interface" a attach fgt-ctl-nosuch
bad "attach --mode bogus" a attach "$IA" --mode bogus
bad "attach with a 16-character interface name" a attach abcdefghijklmnop
bad "detach from an unknown interface" a detach fgt-ctl-nosuch
bad "detach where nothing is attached" b detach "$IB"
bad "unknown command" a frobnicate
bad "unknown option" a status --frobnicate
bad "after --, --help is an argument (getopt)" a -- status --help
like "... says so" "$(cat "$TMP/err")" "unexpected argument '--help' for 'status'"
bad "no command" a
# The token is read before connecting: nothing needs to listen on port 1.
tok() { bounded 10 "$FGCTL" upstreams --admin http://127.0.0.1:1 --token-file "$@"; }
mkfifo "$TMP/fifo"
bad "--token-file a FIFO: refused at once, not waited on" tok "$TMP/fifo"
like "... says so" "$(cat "$TMP/err")" "Couldn't read admin token file $TMP/fifo: not a regular file (a FIFO)"
bad "--token-file a directory" tok "$TMP"
like "... says so, not 'empty'" "$(cat "$TMP/err")" "not a regular file (a directory)"
bad "--token-file ''" tok ""
head -c 5000 /dev/zero | tr '\0' a >"$TMP/bigtoken"
bad "--token-file over 4 KiB" tok "$TMP/bigtoken"
like "... says so" "$(cat "$TMP/err")" "too large (over 4096 bytes)"
printf 'abc\0def\n' >"$TMP/nultoken"
bad "--token-file with a NUL byte (was: the token silently cut there)" tok "$TMP/nultoken"
like "... says so" "$(cat "$TMP/err")" "NUL byte"
: >"$TMP/emptytoken"
bad "--token-file empty" tok "$TMP/emptytoken"
like "... says so" "$(cat "$TMP/err")" "it is empty"
# --cacert is looked at before connecting (A's listener on $PORT accepts, so before, a FIFO
# hung in OpenSSL and a missing file was a TLS failure, exit 1).
printf 'abc\n' >"$TMP/token"
ca() { bounded 10 nsenter --net="/run/netns/$A" "$FGCTL" upstreams --admin "https://$SRV4:$PORT" --token-file "$TMP/token" --cacert "$@"; }
bad "--cacert a FIFO: refused at once" ca "$TMP/fifo"
like "... says so" "$(cat "$TMP/err")" "Couldn't read CA file $TMP/fifo: not a regular file (a FIFO)"
bad "--cacert a missing file: exit 2" ca "$TMP/nosuch"
bad "--cacert ''" ca ""
# TLS options with a plain-HTTP admin URL (were: silently unused)
plain() { bounded 10 nsenter --net="/run/netns/$A" "$FGCTL" upstreams --admin "http://$SRV4:$PORT" --token-file "$TMP/token" "$@"; }
bad "--insecure with an http:// admin URL" plain --insecure
like "... says so" "$(cat "$TMP/err")" "--insecure applies to https:// admin URLs only; http://$SRV4:$PORT is plain HTTP"
bad "--cacert with an http:// admin URL" plain --cacert /etc/ssl/certs/ca-certificates.crt
printf 'abc\r\n' >"$TMP/crlftoken"
out=$(tok "$TMP/crlftoken" 2>&1)
like "--token-file ending in CR LF: the token is read (then the connection fails)" "$out" "Couldn't connect to the admin API"
bad "--pin-dir that is not absolute" "$FGCTL" --pin-dir relative status
bad "--pin-dir given twice (was: the last one, silently)" a --pin-dir /sys/fs/bpf/fgt-ctl-none$$ status
bad "nothing attached (an empty pin dir)" "$FGCTL" --pin-dir /sys/fs/bpf/fgt-ctl-none$$ status
like "... says so" "$(cat "$TMP/err")" "nothing is attached"
bad "nothing attached: block" "$FGCTL" --pin-dir /sys/fs/bpf/fgt-ctl-none$$ block 198.18.0.1
bad "--pin-dir /dev/null (not a directory): exit 2, not 1" "$FGCTL" --pin-dir /dev/null status
like "... says so" "$(cat "$TMP/err")" "Couldn't use pin dir /dev/null: not a directory"
bad "--pin-dir a pinned map (a file on bpffs)" "$FGCTL" --pin-dir "$PIN/fg_config" block 198.18.0.1
bad "--pin-dir under a file" "$FGCTL" --pin-dir "$PIN/fg_config/x" list blocks
like "... says so" "$(cat "$TMP/err")" "a part of its path is not a directory"
bad "--pin-dir not on bpffs" "$FGCTL" --pin-dir "$TMP" status
like "... says so" "$(cat "$TMP/err")" "Couldn't use pin dir $TMP: not on a BPF filesystem"
bad "unpin with --pin-dir not on bpffs" "$FGCTL" --pin-dir "$TMP" unpin
bad "attach with --pin-dir a pinned map: refused before loading" fg_ns_run "$A" "$FGCTL" --pin-dir "$PIN/fg_config" attach "$IA"
bad "detach with --pin-dir /dev/null: refused before detaching" fg_ns_run "$A" "$FGCTL" --pin-dir /dev/null detach "$IA"
like "... so xdp_edge still runs on $IA" "$(fg_ns_run "$A" ip link show "$IA")" "prog/xdp"
is "no bad argument changed the config (generation)" "$(generation)" "$gen0"
is "no bad argument changed the blocklist" "$(a list blocks --json | jq -c .)" "$blocks0"
ok "unblock 198.18.$IDX.99" a unblock 198.18.$IDX.99
ok "fgctl --help exits 0" "$FGCTL" --help
ok "fgctl -- status: \"--\" before the command ends the options" a -- status
like "... and runs it" "$(a -- status)" "attached"
like "fgctl block --help shows the usage" "$("$FGCTL" block --help)" "Usage: fgctl"
nohelp=""
for cmd in attach detach status block unblock allow disallow "list blocks" "list allows" \
	"list edges" "list marked" "edge add" "edge del" limit new-sources mode ports lockdown \
	malformed dscp v6-prefix stats sweep unpin; do
	# shellcheck disable=SC2086
	"$FGCTL" $cmd --help 2>&1 | grep -q "^Usage: fgctl" || nohelp="$nohelp [$cmd]"
done
is "every command has --help" "$nohelp" ""

# ---- stats, once and watched ----
a stats --json >"$TMP/stats"
ok "stats --json is valid JSON" jq -e '.counters.pass_source.packets >= 0' "$TMP/stats"
is "stats --json: verdicts add up to the total" \
	"$(jq '[.counters | to_entries[] | select(.key | IN("dropped","marked","monitored","fragment") | not) | .value.packets] | add' "$TMP/stats")" \
	"$(jq .total.packets "$TMP/stats")"
( sleep 0.3; ping_from_b "$SRV4"; ping_from_b "$SRV4" ) &
PINGS=$!
bounded 10 nsenter --net="/run/netns/$A" "$FGCTL" --pin-dir "$PIN" stats --json --watch 1 --count 2 >"$TMP/watch"
wait $PINGS
is "stats --watch 1 --count 2 prints two lines" "$(wc -l <"$TMP/watch")" 2
ok "each is a JSON object with an interval" jq -e '.interval_s > 0' "$TMP/watch"
cmp_ok "the watched total moved" "$(jq -s 'map(.counters.pass_other.delta) | add' "$TMP/watch")" -ge 1
like "stats (table)" "$(a stats)" "source_limit"
a stats --per-cpu --json >"$TMP/percpu"
is "stats --per-cpu --json: one slot per CPU" "$(jq '.packets.pass_source | length' "$TMP/percpu")" "$(jq .cpus "$TMP/percpu")"
is "... adding up to the total" "$(jq '.packets.pass_source | add' "$TMP/percpu")" "$(counter pass_source)"

# ---- a foreign XDP program is never replaced ----
FLOOR=$FG_BUILD/bpf/floor.bpf.o
if fg_ns_run "$B" ip link set dev "$IB" xdp obj "$FLOOR" sec xdp 2>/dev/null; then
	bad "attach refuses an interface held by a foreign XDP program" b attach "$IB"
	like "... naming it" "$(cat "$TMP/err")" "xdp_floor"
	like "the foreign program is still there" "$(fg_ns_run "$B" ip link show "$IB")" "prog/xdp"
	fg_ns_run "$B" ip link set dev "$IB" xdp off
else
	fail "a foreign XDP program attaches for the refusal test" "ip link set xdp obj $FLOOR"
fi

# ---- two interfaces, one set of maps ----
ok "attach $IB too (same pin dir)" b attach "$IB"
like "... reusing the maps" "$(b status)" "fgt-ctl-vb"
is "two programs use the maps" "$(a status --json | jq '.programs | length')" 2
like "detach $IA keeps the maps while $IB uses them" "$(a detach "$IA")" "maps kept"
ok "the pins are still there" test -e "$PIN/fg_config"
unlike "no XDP program left on $IA" "$(fg_ns_run "$A" ip link show "$IA")" "xdp"
ok "detach $IB --keep-maps" b detach "$IB" --keep-maps
unlike "no XDP program left on $IB" "$(fg_ns_run "$B" ip link show "$IB")" "xdp"

# ---- --keep-maps keeps a block across a re-attach ----
ok "the maps are still pinned" test -e "$PIN/fg_block4"
ok "block $CLI4 while detached" a block "$CLI4"
ok "ping passes while detached" ping_from_b "$SRV4"
like "re-attach reuses the pinned maps" "$(a attach "$IA")" "reused"
nok "the block holds after the re-attach" ping_from_b "$SRV4"
like "attach again replaces the program in place" "$(a attach "$IA")" "replaced"
nok "the block still holds" ping_from_b "$SRV4"
ok "unblock" a unblock "$CLI4"
ok "ping passes" ping_from_b "$SRV4"

# ---- the program consults only lists that may hold entries (edge_config.lists) ----
lists() { bpftool -j map dump pinned "$PIN/fg_config" | jq -r '.[0].formatted.value.lists'; }
ok "block $CLI4" a block "$CLI4"
is "the fg_block4 bit (16) is set" "$(( $(lists) & 16 ))" 16
ok "unblock $CLI4" a unblock "$CLI4"
is "... and cleared with its last entry" "$(( $(lists) & 16 ))" 0
# An entry written around fgctl, straight into the map: ignored until a sweep adopts it.
ip4hex=$(printf '%02x ' ${CLI4//./ })
# shellcheck disable=SC2086
ok "bpftool writes a block for $CLI4 into fg_block4" bpftool map update pinned "$PIN/fg_block4" \
	key hex $ip4hex value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
	00 00 00 00 00 00 00 00 00 00 00 00 20 00 00 00
ok "... which the program does not consult yet: ping passes" ping_from_b "$SRV4"
like "status warns about it" "$(a status)" "fg_block4 holds entries the program does not consult"
is "status --json lists it" "$(a status --json | jq -c .unseen_lists)" '["fg_block4"]'
ok "fgctl sweep" a sweep
nok "now the program consults it: ping is blocked" ping_from_b "$SRV4"
is "no more warning" "$(a status --json | jq -c .unseen_lists)" '[]'
ok "unblock $CLI4" a unblock "$CLI4"
ok "ping passes again" ping_from_b "$SRV4"

# ---- maps of another ABI version are refused, and still detach ----
# Byte 75 of fg_config is edge_config.abi (offsetof: mode, flags, src, newsrc, dscp,
# v6_prefix, origin); stamp it as another version's.
cfg_bytes=$(bpftool -j map dump pinned "$PIN/fg_config" | jq -r '.[0].value | .[]' |
	awk 'NR == 76 { print "0x63"; next } { print }' | tr '\n' ' ')
# shellcheck disable=SC2086
ok "bpftool rewrites the config as ABI version 99" bpftool map update pinned "$PIN/fg_config" key hex 00 00 00 00 value $cfg_bytes
out=$(a block "$CLI6" 2>&1)
is "a command on another version's maps exits 2" "$?" 2
like "... saying the layout is not ours" "$out" "layout is not this fgctl's"
ok "the refused block wrote nothing: ping over IPv6 passes" ping_from_b "$SRV6"
bpftool -j map dump pinned "$PIN/fg_config" | jq -r '.[0].value | .[]' |
	awk 'NR == 76 { print "0x01"; next } { print }' | tr '\n' ' ' >"$TMP/cfg"
# shellcheck disable=SC2046
ok "bpftool stamps it back as version 1" bpftool map update pinned "$PIN/fg_config" key hex 00 00 00 00 value $(cat "$TMP/cfg")
ok "commands work again" a list blocks

# ---- detach without --keep-maps: no program, no pins ----
like "detach $IA unpins the maps (last user)" "$(a detach "$IA")" "unpinned"
unlike "no XDP program on $IA" "$(fg_ns_run "$A" ip link show "$IA")" "xdp"
ok "no pin dir left" test ! -e "$PIN"
bad "commands now say nothing is attached" a list blocks
ok "ping passes without the filter" ping_from_b "$SRV4"

finish

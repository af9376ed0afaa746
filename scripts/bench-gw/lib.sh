# scripts/bench-gw/lib.sh - what the gateway benchmark scripts share (sourced by
# scripts/bench-gw/cluster.sh, scripts/bench-gw/failover.sh and scripts/bench-gw-ir.sh).
# shellcheck shell=bash
#
# bench_lib_init NAME   die/say prefix; starts PIDS and the EXIT trap that stops them
# ports_free FIRST LAST KNOB   dies when a port of FIRST..LAST is taken (KNOB: what moves them)
# start_on CPU LOG CMD...      starts CMD pinned to CPU, output in LOG: $STARTED, in PIDS
# wait_port PORT PID           until 127.0.0.1:PORT accepts (30 s at most), while PID lives
# bench_cert DIR               an ECDSA P-256 certificate for 127.0.0.1 in DIR: CERT,
#                              CERTKEY; an admin token: TOKEN and its DIGEST
# bench_needs "BINS" "TOOLS"   dies unless $BUILD/BIN exists for each BIN and each TOOL is
#                              on the PATH (saying what installs it)
# bench_workdir                creates $OUT and an empty $W/run; W becomes absolute

. "$(dirname "${BASH_SOURCE[0]}")/../procs.sh"

bench_lib_init() {
	BENCH_NAME=$1
	PIDS=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}
say() {
	echo "$BENCH_NAME: $*" >&2
}
bench_cleanup() {
	trap - EXIT INT TERM
	procs_stop_all
}
ports_free() {
	local p
	for p in $(seq "$1" "$2"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			die "port $p is in use ($3 picks another range)"
	done
	return 0
}
start_on() {
	local cpu=$1 log=$2
	shift 2
	taskset -c "$cpu" "$@" >"$log" 2>&1 &
	STARTED=$!
	PIDS+=("$STARTED")
}
wait_port() {
	local i
	for i in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
bench_cert() {
	CERT=$1/ecdsa.crt CERTKEY=$1/ecdsa.key
	openssl ecparam -name prime256v1 -genkey -noout -out "$CERTKEY" 2>/dev/null &&
		openssl req -x509 -new -key "$CERTKEY" -days 2 -subj /CN=localhost \
			-addext subjectAltName=IP:127.0.0.1 -out "$CERT" 2>/dev/null ||
		die "Couldn't make a certificate"
	TOKEN=$(openssl rand -hex 16)
	DIGEST=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
}
bench_needs() {
	local b
	for b in $1; do
		[ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: run make first"
	done
	for b in $2; do
		command -v "$b" >/dev/null || die "$b is missing: run scripts/deps.sh"
	done
}
bench_workdir() {
	mkdir -p "$OUT" "$W" && W=$(cd "$W" && pwd) && rm -rf "$W/run" && mkdir -p "$W/run" ||
		die "Couldn't create $W"
}

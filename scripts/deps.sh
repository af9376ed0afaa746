#!/bin/sh
# Installs every Debian package floodgate's build, tests and benchmarks use.
# Idempotent: packages already present are not touched, and apt is not called at all
# when nothing is missing, so `make test` on a provisioned machine costs ~0.1 s here.
set -eu

PKGS="
build-essential pkg-config clang llvm lld libelf-dev zlib1g-dev linux-libc-dev libclang-rt-dev
libbpf-dev libxdp-dev bpftool xdp-tools
libh2o-evloop-dev libjansson-dev libhiredis-dev libpcre2-dev libsqlite3-dev libssl-dev
libcmocka-dev
iproute2 iputils-ping ethtool nftables iptables netsniff-ng tcpdump
curl openssl gnutls-bin redis-server wrk nghttp2-client libnghttp2-dev nginx haproxy sqlite3
clang-format gnuplot-nox jq procps psmisc util-linux python3
chromium
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh image may be stale or empty; refresh once before installing.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts nginx, haproxy and redis when installing them; the tests and benchmarks start
# their own instances on their own ports, so the packaged services must not hold ports or CPU.
for svc in nginx haproxy redis-server; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" >/dev/null 2>&1 || true
		systemctl disable "$svc" >/dev/null 2>&1 || true
	fi
done
exit 0

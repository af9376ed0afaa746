# tests/integration/fgctl_lib.bash - shared by tests/integration/fgctl*.sh (sourced after
# ../lib.sh; not a test itself: the runner only runs *.sh).
#
# Names carry the test shell's pid (namespaces fgt-ctl-a$$..., pin dir
# /sys/fs/bpf/fgt-ctl-$$), so two runs of the suite at once (two build directories, two
# engineers) never delete each other's namespaces or pins. What a killed run left behind
# is reaped by the next one: anything whose pid no longer exists.

FGCTL=$FG_BUILD/fgctl

fgctl_reap_stale() {
	local ns pid d
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^fgt-ctl-[a-z]+[0-9]+$/ { print $1 }'); do
		pid=${ns//[!0-9]/}
		kill -0 "$pid" 2>/dev/null || fg_ns_del "$ns"
	done
	for d in /sys/fs/bpf/fgt-ctl-[0-9]*; do
		[ -d "$d" ] || continue
		pid=${d##*-}
		kill -0 "$pid" 2>/dev/null || rm -rf "$d"
	done
}

# fgctl_listener NS PORT: a dual-stack TCP listener in NS that accepts and closes each
# connection, until killed (its pid is in $LISTENER_PID; defer its kill). nsenter execs
# python3, so the pid is the listener's own.
fgctl_listener() {
	nsenter --net="/run/netns/$1" python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', $2))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()
" </dev/null >/dev/null 2>&1 &
	LISTENER_PID=$!
	local i
	for i in $(seq 100); do
		[ -n "$(fg_ns_run "$1" ss -Htln "sport = :$2")" ] && return 0
		sleep 0.05
	done
	return 1
}

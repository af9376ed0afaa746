# tests/lib.sh - TAP helpers for the integration tests (sourced, bash).
#
#   . "$(dirname "$0")/../lib.sh"
#   ok "attach succeeds" fgctl attach veth0      # runs the command; ok when it exits 0
#   is "two blocks listed" "$got" "2"            # string equality
#   like "error names the CIDR" "$out" "bad CIDR"  # substring
#   cmp_ok "rate within 10%" "$x" -ge 90         # numeric test
#   pass / fail / skip_test "desc" "why"
#   finish                                      # prints the plan; exit status = failures
#
# Cleanup: push commands with `defer CMD...`; they run in reverse order on exit, whatever
# happens, so a failed test never leaves a namespace, a pin or a daemon behind.
set -u

FG_ROOT=${FG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
FG_BUILD=${FG_BUILD:-$FG_ROOT/build}
export PATH="$FG_BUILD:$PATH"
. "$FG_ROOT/scripts/netns.sh"

_tap_n=0
_tap_failed=0
_deferred=()

_tap() { # _tap ok|not DESC [DIAG]
	_tap_n=$((_tap_n + 1))
	if [ "$1" = ok ]; then
		echo "ok $_tap_n - $2"
	else
		_tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return 0
}

pass() { _tap ok "$1"; }
fail() { _tap not "$1" "${2:-}"; }
skip_test() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP ${2:-}"; }
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

ok() { # ok DESC CMD...: passes when CMD exits 0
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then pass "$desc"; else fail "$desc" "command: $*"$'\n'"exit $rc: $out"; fi
	return $rc
}

nok() { # nok DESC CMD...: passes when CMD exits non-zero
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then pass "$desc"; else fail "$desc" "command: $*"$'\n'"unexpectedly exited 0: $out"; fi
	return 0
}

is() { # is DESC GOT EXPECTED
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got:      '$2'"$'\n'"expected: '$3'"; fi
}

like() { # like DESC GOT SUBSTRING
	case $2 in
	*"$3"*) pass "$1" ;;
	*) fail "$1" "got:      '$2'"$'\n'"expected to contain: '$3'" ;;
	esac
}

unlike() { # unlike DESC GOT SUBSTRING
	case $2 in
	*"$3"*) fail "$1" "got:      '$2'"$'\n'"expected not to contain: '$3'" ;;
	*) pass "$1" ;;
	esac
}

cmp_ok() { # cmp_ok DESC A OP B   (OP: -eq -ne -lt -le -gt -ge)
	if [ "$2" "$3" "$4" ] 2>/dev/null; then pass "$1"; else fail "$1" "failed: $2 $3 $4"; fi
}

# Run a command with a hard time bound, for steps that talk to the network.
bounded() { timeout --kill-after=5 "$@"; }

defer() { _deferred+=("$*"); }

_run_deferred() {
	local i
	for ((i = ${#_deferred[@]} - 1; i >= 0; i--)); do
		eval "${_deferred[$i]}" >/dev/null 2>&1 || true
	done
	_deferred=()
}
trap _run_deferred EXIT
trap 'exit 130' INT TERM

# Wait until CMD succeeds, polling every 50 ms, at most SECONDS. wait_for SECONDS CMD...
wait_for() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) + limit * 1000000000))
	while [ "$(date +%s%N)" -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root"
		exit 0
	fi
}

finish() {
	_run_deferred
	echo "1..$_tap_n"
	[ $_tap_failed -eq 0 ]
	exit $?
}

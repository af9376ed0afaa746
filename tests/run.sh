#!/usr/bin/env bash
# tests/run.sh - floodgate's one test runner.
#
# Runs the tiers in order - lint (house rules: formatting, test addresses), unit (host, no
# root), fuzz (libFuzzer targets of tests/fuzz/, a bounded, repeatable run each, no root),
# bpf (BPF_PROG_TEST_RUN fixtures, root), integration (root, namespaces, real servers) -
# and prints one TAP stream:
# every test of every program renumbered as "ok N - tier/program: test", then the plan and
# the closing line "N passed, N failed, N skipped".
#
#   tests/run.sh                  every tier
#   tests/run.sh unit bpf         only these tiers
#   tests/run.sh integration/cli  only programs whose tier/name contains a filter
#
# A skip is loud (it is listed again at the end) and under CI=true it counts as a failure:
# CI runs as root with netns and bpffs, so a skip there means a missing install step.
# Each program runs under a timeout; its whole output is kept in build/tests/logs/.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
LOGDIR=$BUILD/tests/logs
mkdir -p "$LOGDIR"
export CMOCKA_MESSAGE_OUTPUT=TAP
export FG_BUILD=$PWD/$BUILD FG_ROOT=$PWD

tiers=()
filters=()
for a in "$@"; do
	case $a in
	lint | unit | fuzz | bpf | integration) tiers+=("$a") ;;
	*) filters+=("$a") ;;
	esac
done
[ ${#tiers[@]} -eq 0 ] && tiers=(lint unit fuzz bpf integration)

n=0 passed=0 failed=0 skipped=0
skips=() failures=()

emit() { # emit STATUS(ok|not ok|skip) NAME [DETAIL]
	n=$((n + 1))
	case $1 in
	ok) passed=$((passed + 1)); echo "ok $n - $2" ;;
	skip)
		if [ "${CI:-}" = true ]; then
			failed=$((failed + 1)); failures+=("$2 (skipped under CI=true: ${3:-})")
			echo "not ok $n - $2 # skipped under CI=true: ${3:-}"
		else
			skipped=$((skipped + 1)); skips+=("$2: ${3:-}")
			echo "ok $n - $2 # SKIP ${3:-}"
		fi ;;
	*) failed=$((failed + 1)); failures+=("$2"); echo "not ok $n - $2${3:+ # $3}" ;;
	esac
}

programs_of() { # the test programs of a tier, in a stable order
	case $1 in
	lint) ls tests/lint/*.sh 2>/dev/null | sort ;;
	unit) [ -d "$BUILD/tests/unit" ] && find "$BUILD/tests/unit" -type f -perm -u+x | sort ;;
	fuzz) [ -d "$BUILD/fuzz" ] && find "$BUILD/fuzz" -maxdepth 1 -type f -perm -u+x ! -name 'crash-*' | sort ;;
	bpf) [ -d "$BUILD/tests/bpf" ] && find "$BUILD/tests/bpf" -type f -perm -u+x | sort ;;
	integration) ls tests/integration/*.sh 2>/dev/null | sort ;;
	esac
}

timeout_of() {
	case $1 in lint | unit) echo 120 ;; fuzz | bpf) echo 300 ;; *) echo 600 ;; esac
}

run_program() { # run_program TIER PATH
	local tier=$1 prog=$2 name log rc line seen=0 status desc directive
	name=$tier/$(basename "${prog%.sh}")
	[ "$tier" = unit ] && name=$tier/${prog#"$BUILD"/tests/unit/}
	log=$LOGDIR/$(echo "$name" | tr / _).log
	local t0=$SECONDS
	local cmd=("$prog")
	[ "$tier" = fuzz ] && cmd=(tests/fuzz/tap.sh "$prog")
	timeout --kill-after=10 "$(timeout_of "$tier")" "${cmd[@]}" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			seen=$((seen + 1))
			status=ok
			[ "${line#not ok}" != "$line" ] && status="not ok"
			desc=$(echo "$line" | sed -E 's/^(not )?ok [0-9]* *-? *//')
			directive=""
			case $desc in
			*"# SKIP"* | *"# skip"*)
				directive=$(echo "$desc" | sed -E 's/.*# [Ss][Kk][Ii][Pp] *//')
				desc=$(echo "$desc" | sed -E 's/ *# [Ss][Kk][Ii][Pp].*//')
				[ -z "$desc" ] && desc=$directive
				emit skip "$name: $desc" "$directive"
				continue ;;
			esac
			emit "$status" "$name: $desc" ;;
		"1..0 # SKIP"* | "1..0 # skip"*)
			# the whole program skipped: a skip (a failure under CI=true), not "ran no test"
			seen=1
			emit skip "$name" "$(echo "$line" | sed -E 's/^1\.\.0 # [Ss][Kk][Ii][Pp] *//')" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$log"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		emit "not ok" "$name: timed out after $(timeout_of "$tier") s" "see $log"
	elif [ $seen -eq 0 ]; then
		emit "not ok" "$name: ran no test (exit $rc)" "see $log"
	elif [ $rc -ne 0 ] && ! grep -q '^not ok' "$log"; then
		emit "not ok" "$name: exited with status $rc after its tests" "see $log"
	fi
	echo "# $name: $((SECONDS - t0)) s"
}

for tier in "${tiers[@]}"; do
	echo "# tier: $tier"
	if [ "$tier" != unit ] && [ "$tier" != lint ] && [ "$tier" != fuzz ] && [ "$(id -u)" != 0 ]; then
		emit skip "$tier: every test" "needs root (BPF, namespaces)"
		continue
	fi
	while IFS= read -r prog; do
		[ -n "$prog" ] || continue
		if [ ${#filters[@]} -gt 0 ]; then
			match=0
			for f in "${filters[@]}"; do
				case "$tier/$(basename "${prog%.sh}")" in *"$f"*) match=1 ;; esac
				case "$prog" in *"$f"*) match=1 ;; esac
			done
			[ $match -eq 1 ] || continue
		fi
		run_program "$tier" "$prog"
	done < <(programs_of "$tier")
done

echo "1..$n"
if [ ${#skips[@]} -gt 0 ]; then
	echo "# SKIPPED (${#skips[@]}):"
	printf '#   %s\n' "${skips[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "# FAILED (${#failures[@]}):"
	printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $n -gt 0 ]

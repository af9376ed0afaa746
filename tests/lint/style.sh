#!/usr/bin/env bash
# tests/lint/style.sh - house rules a green build does not show (no root needed):
#   every C file is as `make fmt` (clang-format, .clang-format at the root) leaves it;
#   no test, script or tool addresses a private range (tests use loopback, 198.18.0.0/15
#   and 2001:2::/48 only, inside namespaces they make).
. "$(dirname "$0")/../lib.sh"
cd "$FG_ROOT" || exit 1

if ! command -v clang-format >/dev/null || ! git rev-parse --git-dir >/dev/null 2>&1; then
	fail "clang-format and a git checkout are available" "run scripts/deps.sh"
	finish
fi

bad=()
while IFS= read -r f; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.c' '*.h')
if [ ${#bad[@]} -eq 0 ]; then
	pass "every C file is clang-formatted"
else
	fail "every C file is clang-formatted" "run make fmt; not formatted: ${bad[*]}"
fi

# Dotted quads in 10/8, 172.16/12 or 192.168/16 in code and scripts (docs may cite them).
private=$(git grep -nE '(^|[^0-9.])(10\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|192\.168\.[0-9]{1,3}\.[0-9]{1,3}|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]{1,3}\.[0-9]{1,3})([^0-9.]|$)' \
	-- '*.c' '*.h' '*.sh' '*.bash' '*.json' '*.in' '*.py' Makefile 2>/dev/null | grep -v '^tests/lint/')
if [ -z "$private" ]; then
	pass "no private-range address in code, tests or scripts"
else
	fail "no private-range address in code, tests or scripts" "$private"
fi
finish

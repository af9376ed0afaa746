#!/usr/bin/env bash
# tests/fuzz/tap.sh BINARY - one libFuzzer target of tests/fuzz/ as a TAP program for
# tests/run.sh's fuzz tier: the committed seeds (tests/fuzz/corpus/NAME/) in a scratch
# corpus, then a fixed number of runs from a fixed seed, so a run is repeatable and
# bounded (FG_FUZZ_RUNS=P runs P % of each target's count, 100 by default; -timeout
# catches a hang in one input). A failure
# leaves the input that caused it in build/fuzz/ and its report in the log.
set -u
cd "$(dirname "$0")/../.." || exit 1
bin=$1
name=$(basename "$bin")
case $name in
hpackdec) runs=300000 max_len=600 ;; # one connection's heads, each up to 255 bytes
config) runs=20000 max_len=8192 ;;     # a config parse is a few hundred microseconds
path) runs=500000 max_len=600 ;;
cacherec) runs=500000 max_len=1024 ;;
apikey) runs=300000 max_len=600 ;;
framing) runs=500000 max_len=600 ;;
upstream) runs=500000 max_len=1000 ;;
hpack) runs=40000 max_len=2000 ;;      # whole connections of heads
tlsrec) runs=3000 max_len=8000 ;;      # a TLS handshake per input
*) runs=100000 max_len=4096 ;;
esac
case ${FG_FUZZ_RUNS:-100} in
'' | *[!0-9]*)
	printf '1..1\nnot ok 1 - FG_FUZZ_RUNS must be a percentage (a whole number), not %s\n' \
		"'$FG_FUZZ_RUNS'"
	exit 2
	;;
esac
runs=$((runs * ${FG_FUZZ_RUNS:-100} / 100))
[ "$runs" -gt 0 ] || runs=1
work=$(mktemp -d /tmp/fg-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
seeds=0
for f in tests/fuzz/corpus/"$name"/*; do
	[ -f "$f" ] && cp "$f" "$work/" && seeds=$((seeds + 1))
done
echo "1..1"
out=$("$bin" "$work" -seed=1 -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$(dirname "$bin")/crash-$name-" 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
cov=$(printf '%s\n' "$out" | grep -oE 'cov: [0-9]+' | tail -1)
if [ $rc -eq 0 ]; then
	echo "ok 1 - $runs runs from $seeds seeds, no failure (${cov:-cov: ?})"
else
	echo "not ok 1 - failed (exit $rc) within $runs runs: input saved as $(dirname "$bin")/crash-$name-*"
fi

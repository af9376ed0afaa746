# scripts/procs.sh - the processes a script started, stopped together (sourced by
# scripts/cluster.sh and scripts/bench-gw/lib.sh).
# shellcheck shell=bash
#
# procs_stop_all   SIGTERM to every PID in PIDS, then waits for each: all stop at once,
#                  not one after the other

procs_stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
}

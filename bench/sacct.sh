#!/usr/bin/env bash
# sacct over a large job history (issue 8's target: one user and a week out of 1,000,000
# recorded jobs in <= 200 ms on SQLite). sacct_fill writes TOTAL finished jobs over DAYS days
# into a fresh state directory's SQLite store, spread over USERS users, with user "nobody"
# owning HEAVY percent of them; `shoal up` then starts a controller on that store and the real
# sacct command is timed (median of RUNS) next to /bin/true, the process-start floor, started the
# same way in the same run.
#
#   bash bench/sacct.sh                           # 1,000,000 jobs, 100 users, 50 days
#   TOTAL=100000 bash bench/sacct.sh              # a smaller history
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/bin}
TOTAL=${TOTAL:-1000000}
USERS=${USERS:-100}
DAYS=${DAYS:-50}
HEAVY=${HEAVY:-20}
RUNS=${RUNS:-11}
work=$(mktemp -d /tmp/shoal-sacct-bench.XXXXXX)
export SHOAL_STATE_DIR=$work/state
trap 'PATH="$BIN:$PATH" shoal down --state-dir "$SHOAL_STATE_DIR" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export PATH="$BIN:$PATH"

source "$root/bench/lib.sh"  # median_ms

now=$(date +%s)
mkdir -p "$SHOAL_STATE_DIR"
t0=$EPOCHREALTIME
sacct_fill "$SHOAL_STATE_DIR/shoal.db" "$TOTAL" "$USERS" "$DAYS" "$now" "$HEAVY"
echo "filled $TOTAL jobs over $DAYS days in $(echo "$EPOCHREALTIME - $t0" | bc -l | xargs printf '%.1f') s ($(du -m "$SHOAL_STATE_DIR/shoal.db" | cut -f1) MB)"
shoal up --nodes 1 --state-dir "$SHOAL_STATE_DIR" >/dev/null

# The week that ended 20 days ago: history, not the recent jobs the controller keeps in memory.
week_end=$(date -d "@$((now - 20 * 86400))" +%Y-%m-%dT%H:%M:%S)
week_start=$(date -d "@$((now - 27 * 86400))" +%Y-%m-%dT%H:%M:%S)
rows() { sacct -n -X "$@" | wc -l; }
floor=$(median_ms "$RUNS" /bin/true)
echo "floor, /bin/true: ${floor} ms"
report() {
  local what=$1; shift
  local n; n=$(rows "$@")
  local t; t=$(median_ms "$RUNS" sacct -X "$@")
  echo "$what: $n rows, median ${t} ms, above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms"
}
report "sacct -u daemon (1 of $USERS users), one week" -u daemon -S "$week_start" -E "$week_end"
report "sacct -u nobody ($HEAVY% of all jobs), one week" -u nobody -S "$week_start" -E "$week_end"
report "sacct -u daemon -s F, one week" -u daemon -s F -S "$week_start" -E "$week_end"
report "sacct -j $((TOTAL / 2))" -j "$((TOTAL / 2))"

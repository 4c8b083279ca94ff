#!/usr/bin/env bash
# sacct over a large job history (issue 8's target: one user and a week out of 1,000,000
# recorded jobs in <= 200 ms on SQLite). sacct_fill writes TOTAL finished jobs over DAYS days
# into a fresh state directory's SQLite store, spread over USERS users, with user "nobody"
# owning HEAVY percent of them; `shoal up` then starts a controller on that store and the real
# sacct command is timed (median of RUNS) next to /bin/true, the process-start floor, started the
# same way in the same run. With BASE (the bin/ of another build), both builds are timed on the
# same store, each with its own controller, taking turns ROUNDS times, and the ratio printed.
#
#   bash bench/sacct.sh                           # 1,000,000 jobs, 100 users, 50 days
#   TOTAL=100000 bash bench/sacct.sh              # a smaller history
#   BASE=/tmp/old/bin bash bench/sacct.sh         # against another build, 3 rounds each
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/bin}
TOTAL=${TOTAL:-1000000}
USERS=${USERS:-100}
DAYS=${DAYS:-50}
HEAVY=${HEAVY:-20}
RUNS=${RUNS:-11}
BASE=${BASE:-}
ROUNDS=${ROUNDS:-$([ -n "$BASE" ] && echo 3 || echo 1)}
work=$(mktemp -d /tmp/shoal-sacct-bench.XXXXXX)
export SHOAL_STATE_DIR=$work/state
trap '"$BIN/shoal" down --state-dir "$SHOAL_STATE_DIR" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

source "$root/bench/lib.sh"  # median_ms

now=$(date +%s)
mkdir -p "$SHOAL_STATE_DIR"
t0=$EPOCHREALTIME
"$BIN/sacct_fill" "$SHOAL_STATE_DIR/shoal.db" "$TOTAL" "$USERS" "$DAYS" "$now" "$HEAVY"
echo "filled $TOTAL jobs over $DAYS days in $(echo "$EPOCHREALTIME - $t0" | bc -l | xargs printf '%.1f') s ($(du -m "$SHOAL_STATE_DIR/shoal.db" | cut -f1) MB)"
# The week that ended 20 days ago: history, not the recent jobs the controller keeps in memory.
week_end=$(date -d "@$((now - 20 * 86400))" +%Y-%m-%dT%H:%M:%S)
week_start=$(date -d "@$((now - 27 * 86400))" +%Y-%m-%dT%H:%M:%S)
queries=("sacct -u daemon (1 of $USERS users), one week|-u daemon -S $week_start -E $week_end"
  "sacct -u nobody ($HEAVY% of all jobs), one week|-u nobody -S $week_start -E $week_end"
  "sacct -u daemon -s F, one week|-u daemon -s F -S $week_start -E $week_end"
  "sacct -j $((TOTAL / 2))|-j $((TOTAL / 2))")
floor=$(median_ms "$RUNS" /bin/true)
echo "floor, /bin/true: ${floor} ms"
declare -A times  # "build query" -> the round medians, space-separated
builds=("$BIN")
[ -n "$BASE" ] && builds=("$BASE" "$BIN")
for round in $(seq 1 "$ROUNDS"); do
  for bin in "${builds[@]}"; do
    name=$([ "$bin" = "$BIN" ] && echo this || echo base)
    "$bin/shoal" up --nodes 1 --state-dir "$SHOAL_STATE_DIR" >/dev/null
    for k in "${!queries[@]}"; do
      what=${queries[$k]%%|*}
      read -ra args <<<"${queries[$k]#*|}"
      n=$("$bin/sacct" -n -X "${args[@]}" | wc -l)
      t=$(median_ms "$RUNS" "$bin/sacct" -X "${args[@]}")
      times["$name $k"]+="$t "
      echo "round $round, $name: $what: $n rows, median ${t} ms, above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms"
    done
    "$bin/shoal" down --state-dir "$SHOAL_STATE_DIR" >/dev/null
  done
done
if [ -n "$BASE" ]; then
  median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  for k in "${!queries[@]}"; do
    b=$(median <<<"${times["base $k"]}")
    t=$(median <<<"${times["this $k"]}")
    echo "${queries[$k]%%|*}: base ${b} ms, this ${t} ms, ratio $(echo "$t / $b" | bc -l | xargs printf '%.2f')"
  done
fi

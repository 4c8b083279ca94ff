#!/usr/bin/env bash
# The controller's CPU per trivial job (submit to accounted) beside the floors under it, in one
# run on `shoal up --nodes 4`: the controller's CPU for one bare request from a command (`squeue`
# on an empty queue: connection, request, answer) and one durable SQLite commit
# (commit_cpu_bench). A job costs at least one of each. CPU is the controller's own task-clock
# (`perf stat -p`) over ROUNDS alternating rounds of N calls, its idle included (about 2 ms/s).
#
#   bash bench/ctl_floor.sh                  # N=300 ROUNDS=3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/bin}
N=${N:-300}
ROUNDS=${ROUNDS:-3}
export PATH="$BIN:$PATH"
work=$(mktemp -d /tmp/shoal-ctl-floor.XXXXXX)
export SHOAL_STATE_DIR=$work/state
trap 'shoal down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
command -v perf >/dev/null || { echo "perf is needed (apt install linux-perf)"; exit 1; }

shoal up --nodes 4 >/dev/null
cd "$work"
ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' \
  "$SHOAL_STATE_DIR/cluster.json")
for _ in $(seq 20); do sbatch --wrap true >/dev/null; done  # warm up
while [ -n "$(squeue -h)" ]; do sleep 0.05; done

# per_call COMMAND...: the controller's CPU (ms) per run of COMMAND, N runs, until the queue
# is empty again.
per_call() {
  perf stat -e task-clock -x, -o "$work/stat" -p "$ctl" &
  local perf_pid=$!
  sleep 0.2
  for _ in $(seq "$N"); do "$@" >/dev/null; done
  while [ -n "$(squeue -h)" ]; do sleep 0.05; done
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  echo "scale=3; $(cut -d, -f1 "$work/stat" | grep -m1 -E '^[0-9.]+$') / $N" | bc
}

for r in $(seq "$ROUNDS"); do
  echo "round $r: job $(per_call sbatch --wrap true) ms, bare request $(per_call squeue) ms"
done
"$BIN/commit_cpu_bench" 2000 "$work"

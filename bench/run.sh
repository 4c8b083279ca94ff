#!/usr/bin/env bash
# Command-level benchmarks of shoal, each printed next to its baseline measured in this run:
# the process-start floor (/bin/true), and with SLURM_REF=1 a real Slurm 22.05 on this machine
# (../shared/tools/slurm-reference). Figures go to stdout; copy them into bench/RESULTS.md.
#
#   bash bench/run.sh                 # shoal only, floor as baseline
#   SLURM_REF=1 bash bench/run.sh     # also Slurm, side by side
#   JOBS=1000 ARRAY=1000 QUEUED=100000 bash bench/run.sh
#   SHOAL=0 SLURM_REF=1 bash bench/run.sh   # Slurm only
#   BIN=/tmp/old/bin JOBS=300 bash bench/run.sh   # another build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-1000}
ARRAY=${ARRAY:-1000}
QUEUED=${QUEUED:-100000}
BIN=${BIN:-$root/build/bin}  # another build's bin/ for an A/B run
work=$(mktemp -d /tmp/shoal-bench.XXXXXX)
# Stop the cluster even when a measurement fails half way.
trap 'PATH="$BIN:$PATH" shoal down --state-dir "$work/state" >/dev/null 2>&1; rm -rf "$work"' EXIT

source "$root/bench/lib.sh"  # median_ms

host_busy_jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }
proc_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14+$15)*1000/hz}' "/proc/$1/stat"; }
wait_empty() { while [ -n "$(squeue -h 2>/dev/null | head -1)" ]; do sleep 0.05; done; }

# measure NAME: runs the command suite against whatever sbatch/squeue are first on PATH.
measure() {
  local name=$1 ctl_pid=$2
  echo "== $name"
  local floor; floor=$(median_ms 50 /bin/true)
  echo "floor: /bin/true median ${floor} ms"
  local id; id=$(sbatch --parsable -o /dev/null --wrap true)
  wait_empty
  local t
  t=$(median_ms 50 sbatch -H -o /dev/null --wrap true); echo "sbatch round trip: median ${t} ms (above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms)"
  scancel -u "$(id -un)" -t PD 2>/dev/null || true; wait_empty
  t=$(median_ms 30 squeue); echo "squeue (idle): median ${t} ms (above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms)"
  t=$(median_ms 30 sinfo); echo "sinfo: median ${t} ms (above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms)"
  t=$(median_ms 30 sacct -j "$id"); echo "sacct -j ID: median ${t} ms (above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms)"

  local c0 t0 h0; c0=$(proc_cpu_ms "$ctl_pid"); t0=$EPOCHREALTIME
  for _ in $(seq 1 "$JOBS"); do sbatch -o /dev/null --wrap true >/dev/null; done
  wait_empty
  local t1=$EPOCHREALTIME c1; c1=$(proc_cpu_ms "$ctl_pid")
  echo "end to end: $JOBS sequential 'sbatch --wrap true' in $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s = $(echo "$JOBS / ($t1 - $t0)" | bc -l | xargs printf '%.0f') jobs/s; controller CPU $(echo "($c1 - $c0) / $JOBS" | bc -l | xargs printf '%.3f') ms/job"

  h0=$(host_busy_jiffies); t0=$EPOCHREALTIME
  sbatch -o /dev/null -a "0-$((ARRAY - 1))" --wrap true >/dev/null
  wait_empty
  t1=$EPOCHREALTIME; local h1; h1=$(host_busy_jiffies)
  echo "array: $ARRAY tasks submit to last completion in $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s = $(echo "$ARRAY / ($t1 - $t0)" | bc -l | xargs printf '%.0f') tasks/s; host CPU $(echo "($h1 - $h0) * 1000 / $(getconf CLK_TCK) / $ARRAY" | bc -l | xargs printf '%.2f') ms/task"
  echo "floor for comparison: 'bash -c true' median $(median_ms 30 bash -c true) ms"
}

if [ "${SHOAL:-1}" = 1 ]; then
export SHOAL_STATE_DIR=$work/state
PATH="$BIN:$PATH" shoal up --nodes 4 --state-dir "$SHOAL_STATE_DIR" >/dev/null
ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' "$SHOAL_STATE_DIR/cluster.json")
PATH="$BIN:$PATH" measure "shoal (shoal up --nodes 4)" "$ctl"

echo "== shoal API and scale"
"$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" 20000 32
if [ "$QUEUED" -gt 0 ]; then
  "$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$QUEUED" 32 >/dev/null
  n=$(PATH="$BIN:$PATH" squeue -h | wc -l)
  echo "squeue with $n queued jobs: median $(PATH="$BIN:$PATH" median_ms 10 squeue) ms"
  echo "controller RSS holding $n jobs: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$ctl/status)"
fi
PATH="$BIN:$PATH" shoal down --state-dir "$SHOAL_STATE_DIR" >/dev/null

echo "== store group commit: SQLite and PostgreSQL (a throwaway server) side by side"
"$BIN/store_bench" 20000 32
fi

if [ "${SLURM_REF:-0}" = 1 ]; then
  ref=$root/../shared/tools/slurm-reference
  SB_CLEAN=1 bash "$ref/setup.sh" >/dev/null
  # shellcheck disable=SC1091
  . "$ref/env.sh"
  PATH="/usr/bin:$PATH" measure "Slurm 22.05 (slurm-reference, 4 slurmd)" "$(pgrep -x slurmctld | head -1)"
  echo "slurmctld RSS: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$(pgrep -x slurmctld | head -1)/status)"
  bash "$ref/stop.sh" >/dev/null || true  # it notes leftover slurmstepd processes with status 1
fi

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
#   API=0 JOBS=300 ARRAY=1000 bash bench/run.sh    # without the API/scale and store parts
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-1000}
ARRAY=${ARRAY:-1000}
QUEUED=${QUEUED:-100000}
BIN=${BIN:-$root/build/bin}  # another build's bin/ for an A/B run
work=$(mktemp -d /tmp/shoal-bench.XXXXXX)
# Stop the cluster even when a measurement fails half way.
# (set -e applies inside the trap too: a cluster already down must not fail the run)
trap 'PATH="$BIN:$PATH" shoal down --state-dir "$work/state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

source "$root/bench/lib.sh"  # median_ms

host_busy_jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }
proc_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14+$15)*1000/hz}' "/proc/$1/stat"; }
# The CPU of a shoal cluster's own processes in jiffies: the controller, the agents, and every
# process they started and reaped (supervisors, job scripts), including what the agents'
# supervisor launchers have reaped so far. Unlike the host-wide figure it leaves out what other
# users of the machine run meanwhile; it misses kernel threads (writeback) working for it.
cluster_jiffies() {
  local state=$1 total=0 p
  for p in $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(str(a["pid"]) for a in d["agents"]))' "$state/cluster.json"); do
    total=$((total + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat")))
    local l
    for l in $(pgrep -P "$p" 2>/dev/null); do
      total=$((total + $(awk '{print $14+$15+$16+$17}' "/proc/$l/stat" 2>/dev/null || echo 0)))
    done
  done
  local ctl; ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' "$state/cluster.json")
  echo $((total + $(awk '{print $14+$15}' "/proc/$ctl/stat")))
}
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

  local tree=${3:-}  # a shoal state directory: also the cluster's own CPU
  local c0=0 c1=0
  [ -n "$tree" ] && c0=$(cluster_jiffies "$tree")
  h0=$(host_busy_jiffies); t0=$EPOCHREALTIME
  sbatch -o /dev/null -a "0-$((ARRAY - 1))" --wrap true >/dev/null
  wait_empty
  t1=$EPOCHREALTIME; local h1; h1=$(host_busy_jiffies)
  [ -n "$tree" ] && c1=$(cluster_jiffies "$tree")
  local hz; hz=$(getconf CLK_TCK)
  echo "array: $ARRAY tasks submit to last completion in $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s = $(echo "$ARRAY / ($t1 - $t0)" | bc -l | xargs printf '%.0f') tasks/s; host CPU $(echo "($h1 - $h0) * 1000 / $hz / $ARRAY" | bc -l | xargs printf '%.2f') ms/task$([ -n "$tree" ] && echo "; cluster's own CPU $(echo "($c1 - $c0) * 1000 / $hz / $ARRAY" | bc -l | xargs printf '%.2f') ms/task") (load $(cut -d' ' -f1 /proc/loadavg))"
  echo "floor for comparison: 'bash -c true' median $(median_ms 30 bash -c true) ms"
}

if [ "${SHOAL:-1}" = 1 ]; then
export SHOAL_STATE_DIR=$work/state
PATH="$BIN:$PATH" shoal up --nodes 4 --state-dir "$SHOAL_STATE_DIR" >/dev/null
ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' "$SHOAL_STATE_DIR/cluster.json")
PATH="$BIN:$PATH" measure "shoal (shoal up --nodes 4)" "$ctl" "$SHOAL_STATE_DIR"

if [ "${API:-1}" = 1 ]; then  # API=0: commands, end to end and the array only (A/B rounds)
echo "== shoal API and scale"
"$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" 20000 32
if [ "$QUEUED" -gt 0 ]; then
  "$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$QUEUED" 32 >/dev/null
  n=$(PATH="$BIN:$PATH" squeue -h | wc -l)
  echo "squeue with $n queued jobs: median $(PATH="$BIN:$PATH" median_ms 10 squeue) ms"
  echo "controller RSS holding $n jobs: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$ctl/status)"
fi
fi
PATH="$BIN:$PATH" shoal down --state-dir "$SHOAL_STATE_DIR" >/dev/null

if [ "${API:-1}" = 1 ]; then
echo "== store group commit: SQLite and PostgreSQL (a throwaway server) side by side"
"$BIN/store_bench" 20000 32
fi
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

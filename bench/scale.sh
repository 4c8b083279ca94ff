#!/usr/bin/env bash
# The scale curve (issue 12): one controller and N emulated nodes (`shoal sim agents`, the real
# agent protocol) side by side on this machine, for each N in COUNTS. For each N it prints:
# registration time (emulator start -> all N idle in sinfo); the controller's CPU (cores, from
# its own /proc CPU time over SAMPLE seconds of steady heartbeats) and RSS; sinfo and squeue
# times (median of 5) with QUEUED pending jobs; an array of JOBS instant tasks from submission to
# the last completion (tasks/s); FAIL nodes failing at once -> all DOWN, and their requeued jobs
# running again. The baseline in the same run is N=COUNTS[0]. STEADY_ONLY=1 stops after the
# steady-heartbeat figures (registration, threads, CPU, RSS); BIN picks another build's bin/ (an
# A/B run of two builds, one after the other).
#
#   bash bench/scale.sh                                   # 1000 5000 10000 nodes
#   COUNTS="500 1000 2000" QUEUED=20000 JOBS=5000 FAIL=200 bash bench/scale.sh
#   COUNTS=2000 SAMPLE=60 STEADY_ONLY=1 BIN=/tmp/old/bin bash bench/scale.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
COUNTS=${COUNTS:-1000 5000 10000}
QUEUED=${QUEUED:-100000}
JOBS=${JOBS:-20000}
FAIL=${FAIL:-1000}
SAMPLE=${SAMPLE:-30}
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
work=$(mktemp -d /tmp/shoal-scale.XXXXXX)
export SHOAL_STATE_DIR=$work/state
emu=
cleanup() {
  [ -n "$emu" ] && kill "$emu" 2>/dev/null || true
  shoal down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.2f'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median_ms() {
  local times=()
  for _ in 1 2 3 4 5; do
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    times+=("$(echo "($EPOCHREALTIME - $t0) * 1000" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | xargs printf '%.0f'
}
count_state() { sinfo -h -N -o '%T' 2>/dev/null | grep -cx "$1" || true; }
wait_for() {  # wait_for SECONDS COMMAND...
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -gt "$deadline" ] && return 1; sleep 0.2; done
}

printf '%-7s %-10s %-11s %-16s %-9s %-9s %-10s %-16s %-14s %-14s\n' nodes register "ctl threads" \
  "ctl CPU (cores)" "ctl RSS" sinfo squeue "array tasks/s" "fail->DOWN" "->running"
for n in $COUNTS; do
  shoal down >/dev/null 2>&1 || true
  rm -rf "$SHOAL_STATE_DIR"
  printf 'SlurmdTimeout=5\nMaxArraySize=1000001\nMinJobAge=60\n' > "$work/slurm.conf"
  shoal up --nodes 0 --config "$work/slurm.conf" >/dev/null
  ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' \
    "$SHOAL_STATE_DIR/cluster.json")
  t0=$(now)
  shoal sim agents --count "$n" --cpus-per-node 4 --job-time real --fail "$FAIL" \
    > "$work/emu-$n.log" 2>&1 &
  emu=$!
  if ! wait_for 300 bash -c "[ \"\$(sinfo -h -N -o %T 2>/dev/null | grep -cx idle)\" = $n ]"; then
    echo "$n: not all nodes registered in 300 s ($(sinfo -h -o '%D %T' | tr '\n' ' '))"; continue
  fi
  register=$(since "$t0")
  c0=$(cpu_ticks "$ctl"); sleep "$SAMPLE"; c1=$(cpu_ticks "$ctl")
  cores=$(echo "($c1 - $c0) / $(getconf CLK_TCK) / $SAMPLE" | bc -l | xargs printf '%.2f')
  rss=$(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$ctl/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$ctl/status")
  if [ "${STEADY_ONLY:-0}" = 1 ]; then
    # Nodes declared DOWN while registering (their heartbeats did not get through in time):
    # each registers again, so a storm feeds itself.
    downs=$(grep -c 'nothing heard' "$SHOAL_STATE_DIR/controller.log" || true)
    printf '%-7s %-10s %-11s %-16s %-9s %s\n' "$n" "${register} s" "$threads" "$cores" "$rss" \
      "(${downs} DOWN while registering)"
    kill "$emu"; wait "$emu" 2>/dev/null || true; emu=
    continue
  fi
  "$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$QUEUED" 16 >/dev/null
  t_sinfo=$(median_ms sinfo)
  t_squeue=$(median_ms squeue)
  scancel -t PD >/dev/null 2>&1 || true
  wait_for 120 bash -c '[ -z "$(squeue -h -t PD 2>/dev/null | head -1)" ]' || true

  t0=$(now)
  SHOAL_EMULATE_RUNTIME=0 sbatch -o /dev/null -a "1-$JOBS" --wrap true >/dev/null
  wait_for 600 bash -c '[ -z "$(squeue -h 2>/dev/null | head -1)" ]' || echo "array did not finish"
  rate=$(echo "$JOBS / ($(now) - $t0)" | bc -l | xargs printf '%.0f')

  # Long jobs on half the CPUs (so the failed nodes' jobs have room elsewhere), then FAIL
  # nodes fail at once.
  SHOAL_EMULATE_RUNTIME=600 sbatch -o /dev/null --requeue -a "1-$((n * 2))" --wrap true >/dev/null
  wait_for 120 bash -c "[ \"\$(squeue -h -t R | wc -l)\" -ge $((n * 2)) ]" || true
  started_before=$(grep -c ' started on ' "$SHOAL_STATE_DIR/controller.log" || true)
  t0=$(now)
  kill -USR1 "$emu"
  if wait_for 60 bash -c "[ \"\$(sinfo -h -N -o %T | grep -cx 'down\\*')\" -ge $FAIL ]"; then
    down=$(since "$t0")
  else
    down="> 60"
  fi
  # The failed nodes' jobs start again elsewhere: the first restart after the failure.
  wait_for 30 bash -c "[ \$(( \$(grep -c ' started on ' '$SHOAL_STATE_DIR/controller.log') - $started_before )) -ge 1 ]" \
    && again=$(since "$t0") || again="none (no room)"
  printf '%-7s %-10s %-11s %-16s %-9s %-9s %-10s %-16s %-14s %-14s\n' "$n" "${register} s" "$threads" \
    "$cores" "$rss" \
    "${t_sinfo} ms" "${t_squeue} ms" "$rate" "${down} s" "$again"
  kill "$emu"; wait "$emu" 2>/dev/null || true; emu=
done

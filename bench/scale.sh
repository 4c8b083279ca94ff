#!/usr/bin/env bash
# The scale curve (issue 12): one controller and N emulated nodes (`shoal sim agents`, the real
# agent protocol) side by side on this machine, for each N in COUNTS. For each N it prints:
# registration time (emulator start -> all N idle in sinfo); the controller's CPU (cores, from
# its own /proc CPU time over SAMPLE seconds of steady heartbeats) and RSS; sinfo and squeue
# times (median of 5) with QUEUED pending jobs; an array of JOBS instant tasks from submission to
# the last completion (tasks/s). Then 2N long requeueable jobs fill half the CPUs, and:
#   restart: kill -9 of the controller, started again at once: time until every node is back
#     (idle/allocated/mixed), squeue's worst and median latency while they reconnect (polled
#     back to back from the restart; calls before the controller first answers are counted
#     apart), and jobs lost (not running any more) or run twice (launched again, which the
#     emulator logs) across it (both expected 0);
#   failure: FAIL nodes (at most N/2, so their jobs have room elsewhere) fail at once -> all
#     DOWN, -> the first of their requeued jobs running again, -> all of them running again
#     (every long job running, none pending).
# Under each point: nodes declared DOWN while registering, and how late the emulator's own
# heartbeats left at worst (so a false DOWN is blamed on the right process). A point that does
# not register keeps its logs under /tmp/shoal-scale-failed-*.
# The baseline in the same run is N=COUNTS[0]. STEADY_ONLY=1 stops after the steady-heartbeat
# figures (registration, threads, CPU, RSS); BIN picks another build's bin/ (an A/B run of two
# builds, one after the other). RELAY_WIDTH=W emulates the nodes behind relays of W nodes each
# (`shoal sim agents --relay-width`: W streams per connection, as shoal-relay carries them).
#
#   bash bench/scale.sh                                   # 1000 5000 10000 nodes
#   COUNTS="500 1000 2000" QUEUED=20000 JOBS=5000 FAIL=200 bash bench/scale.sh
#   COUNTS=2000 SAMPLE=60 STEADY_ONLY=1 BIN=/tmp/old/bin bash bench/scale.sh
#   COUNTS=10000 RELAY_WIDTH=100 bash bench/scale.sh      # 10,000 nodes behind 100 relays
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
COUNTS=${COUNTS:-1000 5000 10000}
QUEUED=${QUEUED:-100000}
JOBS=${JOBS:-20000}
FAIL=${FAIL:-1000}
SAMPLE=${SAMPLE:-30}
RELAY_WIDTH=${RELAY_WIDTH:-1}
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
source "$root/bench/lib.sh"
start_work scale

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.2f'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
count_state() { sinfo -h -N -o '%T' 2>/dev/null | grep -cx "$1" || true; }
wait_for() {  # wait_for SECONDS COMMAND...
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -gt "$deadline" ] && return 1; sleep 0.2; done
}

# The controller's command line as `shoal up` recorded it, to start it again after a kill -9.
controller_args() {
  python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["controller_args"]))' \
    "$SHOAL_STATE_DIR/cluster.json"
}
set_controller_pid() {
  python3 - "$SHOAL_STATE_DIR/cluster.json" "$1" <<'EOF'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["controller_pid"] = int(sys.argv[2]); json.dump(c, open(p, "w"))
EOF
}
nodes_back() {  # nodes_back N: all N nodes idle, allocated or mixed
  [ "$(sinfo -h -N -o '%T' 2>/dev/null | grep -cxE 'idle|allocated|mixed')" = "$1" ]
}
emulator_relaunches() { grep -c 'launched again' "$1" || true; }
# The emulator's own worst lag (it logs heartbeats it sent over a second late): a node declared
# DOWN while this is near SlurmdTimeout is the load generator's failure, not the controller's.
emulator_lag_ms() {
  grep -o 'heartbeats left up to [0-9]* ms' "$1" | awk '{if ($5 > m) m = $5} END {print m + 0}'
}

printf '%-7s %-10s %-11s %-10s %-8s %-8s %-8s %-9s | %-8s %-9s %-15s %-11s | %-5s %-8s %-8s %-8s\n' \
  nodes register "ctl thr" "ctl cores" "ctl RSS" sinfo squeue "tasks/s" \
  back "1st sq" "sq worst/med" "lost/twice" fail "->DOWN" "->1st R" "->all R"
for n in $COUNTS; do
  shoal down >/dev/null 2>&1 || true
  rm -rf "$SHOAL_STATE_DIR"
  fail=$((FAIL < n / 2 ? FAIL : n / 2))
  printf 'SlurmdTimeout=5\nMaxArraySize=1000001\nMinJobAge=60\n' > "$work/slurm.conf"
  shoal up --nodes 0 --config "$work/slurm.conf" >/dev/null
  ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' \
    "$SHOAL_STATE_DIR/cluster.json")
  t0=$(now)
  emu_log=$work/emu-$n.log
  shoal sim agents --count "$n" --cpus-per-node 4 --job-time real --fail "$fail" \
    --relay-width "$RELAY_WIDTH" > "$emu_log" 2>&1 &
  emu=$!
  if ! wait_for 300 bash -c "[ \"\$(sinfo -h -N -o %T 2>/dev/null | grep -cx idle)\" = $n ]"; then
    # Keep what tells why: the emulator's and the controller's logs, and whether it still runs.
    kept=/tmp/shoal-scale-failed-$n-$(date +%H%M%S); mkdir -p "$kept"
    cp "$emu_log" "$SHOAL_STATE_DIR/controller.log" "$kept/" 2>/dev/null || true
    kill -0 "$emu" 2>/dev/null || echo "the emulator is gone" >> "$kept/emu-$n.log"
    echo "$n: not all nodes registered in 300 s ($(sinfo -h -o '%D %T' | tr '\n' ' ')); logs in $kept"
    kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; emu=
    continue
  fi
  register=$(since "$t0")
  downs_registering=$(grep -c 'nothing heard' "$SHOAL_STATE_DIR/controller.log" || true)
  c0=$(cpu_ticks "$ctl"); sleep "$SAMPLE"; c1=$(cpu_ticks "$ctl")
  cores=$(echo "($c1 - $c0) / $(getconf CLK_TCK) / $SAMPLE" | bc -l | xargs printf '%.2f')
  rss=$(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$ctl/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$ctl/status")
  if [ "${STEADY_ONLY:-0}" = 1 ]; then
    # Nodes declared DOWN while registering (their heartbeats did not get through in time):
    # each registers again, so a storm feeds itself.
    printf '%-7s %-10s %-11s %-16s %-9s %s\n' "$n" "${register} s" "$threads" "$cores" "$rss" \
      "(${downs_registering} DOWN while registering; emulator's heartbeats up to $(emulator_lag_ms "$emu_log") ms late)"
    kill "$emu"; wait "$emu" 2>/dev/null || true; emu=
    continue
  fi
  "$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$QUEUED" 16 >/dev/null
  # Timed once the controller has taken in the burst (its first passes over the new jobs, the
  # store's checkpoint): under a third of a core over a second, or 30 s at most.
  t0=$(now)
  for _ in $(seq 30); do
    c0=$(cpu_ticks "$ctl"); sleep 1
    [ $(($(cpu_ticks "$ctl") - c0)) -lt 33 ] && break
  done
  settled=$(since "$t0")
  t_sinfo=$(median_ms 5 sinfo | xargs printf '%.0f')
  t_squeue=$(median_ms 5 squeue | xargs printf '%.0f')
  scancel -t PD >/dev/null 2>&1 || true
  wait_for 120 bash -c '[ -z "$(squeue -h -t PD 2>/dev/null | head -1)" ]' || true

  t0=$(now)
  SHOAL_EMULATE_RUNTIME=0 sbatch -o /dev/null -a "1-$JOBS" --wrap true >/dev/null
  wait_for 600 bash -c '[ -z "$(squeue -h 2>/dev/null | head -1)" ]' || echo "array did not finish"
  rate=$(echo "$JOBS / ($(now) - $t0)" | bc -l | xargs printf '%.0f')

  # Long jobs on half the CPUs (so the failed nodes' jobs have room elsewhere).
  long=$((n * 2))
  SHOAL_EMULATE_RUNTIME=600 sbatch -o /dev/null --requeue -a "1-$long" --wrap true >/dev/null
  wait_for 120 bash -c "[ \"\$(squeue -h -t R | wc -l)\" -ge $long ]" || true

  # Restart: kill -9 with every node connected and the long jobs running, then start it again.
  running_before=$(squeue -h -t R | wc -l)
  relaunched_before=$(emulator_relaunches "$emu_log")
  mapfile -t cargs < <(controller_args)
  kill -9 "$ctl"
  t0=$(now)
  setsid "${cargs[@]}" </dev/null >>"$SHOAL_STATE_DIR/controller.log" 2>&1 &
  ctl=$!
  set_controller_pid "$ctl"
  rm -f "$work/squeue.stop"
  # squeue back to back: "OK SECONDS_SINCE_RESTART LATENCY_S" per call.
  ( while :; do
      s0=$EPOCHREALTIME
      if timeout 30 squeue -h >/dev/null 2>&1; then r=1; else r=0; fi
      echo "$r $(echo "$EPOCHREALTIME - $t0" | bc -l) $(echo "$EPOCHREALTIME - $s0" | bc -l)"
      [ -e "$work/squeue.stop" ] && break
    done > "$work/squeue-$n.calls" ) &
  poller=$!
  if wait_for 300 nodes_back "$n"; then back="$(since "$t0") s"; else back="> 300 s"; fi
  touch "$work/squeue.stop"
  wait "$poller" || true
  # From the first answer on: every call's latency, and the calls that failed.
  calls=$work/squeue-$n.calls
  first_answer=$(awk '$1 == 1 { printf "%.2f", $2; exit }' "$calls")
  after_first=$(awk -v f="${first_answer:-0}" '$2 >= f' "$calls")
  failed=$(awk '$1 == 0' <<< "$after_first" | grep -c . || true)
  latencies=$(awk '$1 == 1 { printf "%.0f\n", $3 * 1000 }' <<< "$after_first" | sort -n)
  worst=$(tail -1 <<< "$latencies")
  median=$(sed -n "$((($(wc -l <<< "$latencies") + 1) / 2))p" <<< "$latencies")
  [ -n "$first_answer" ] || first_answer=never
  # A requeue or a second launch would follow the reconnect within a scheduling pass or two.
  sleep 5
  lost=$((running_before - $(squeue -h -t R | wc -l)))
  twice=$(($(emulator_relaunches "$emu_log") - relaunched_before))
  [ "$failed" = 0 ] || first_answer="$first_answer ($failed failed after)"

  # FAIL nodes fail at once: all DOWN, then their requeued jobs running elsewhere.
  relaunched_before=$(emulator_relaunches "$emu_log")
  running_at_fail=$(squeue -h -t R | wc -l)
  t0=$(now)
  kill -USR1 "$emu"
  if wait_for 60 bash -c "[ \"\$(sinfo -h -N -o %T | grep -cx 'down\\*')\" -ge $fail ]"; then
    down="$(since "$t0") s"
  else
    down="> 60 s"
  fi
  # The first requeued job started again, then all of them: every long job running again (all
  # are requeued by the time their nodes are DOWN, so none pending and as many running as
  # before is all of them running again).
  wait_for 30 bash -c "[ \$(grep -c 'launched again' '$emu_log') -gt $relaunched_before ]" \
    && again="$(since "$t0") s" || again="none"
  if wait_for 60 bash -c "[ -z \"\$(squeue -h -t PD | head -1)\" ] && [ \"\$(squeue -h -t R | wc -l)\" -ge $running_at_fail ]"; then
    all_again="$(since "$t0") s"
  else
    all_again="> 60 s ($(squeue -h -t PD | wc -l) pending)"
  fi
  # How many ran again: the emulator's count of jobs launched a second time.
  requeued=$(($(emulator_relaunches "$emu_log") - relaunched_before))
  printf '%-7s %-10s %-11s %-10s %-8s %-8s %-8s %-9s | %-8s %-9s %-15s %-11s | %-5s %-8s %-8s %-8s\n' \
    "$n" "${register} s" "$threads" "$cores" "$rss" "${t_sinfo} ms" "${t_squeue} ms" "$rate" \
    "$back" "$first_answer s" "${worst}/${median} ms" "$lost/$twice" \
    "$fail" "$down" "$again" "$all_again ($requeued)"
  echo "        ($downs_registering DOWN while registering; the emulator's heartbeats up to" \
    "$(emulator_lag_ms "$emu_log") ms late over the run; sinfo and squeue timed ${settled} s" \
    "after the $QUEUED submissions)"
  kill "$emu"; wait "$emu" 2>/dev/null || true; emu=
done

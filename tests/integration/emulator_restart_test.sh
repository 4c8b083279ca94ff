#!/usr/bin/env bash
# kill -9 of the controller under 200 emulated nodes (`shoal sim agents`) with jobs running and
# queued: every node reconnects on its own (the emulator is not restarted) and comes back idle or
# allocated, never DOWN; squeue answers while they do; every job completes exactly once. A job
# running at the kill is reconciled with its node (which never failed), not requeued and run
# again: the emulator logs any job launched a second time, the controller any requeue.
source "$(dirname "$0")/lib.sh"
printf 'SlurmdTimeout=5\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 0 --config "$WORK/slurm.conf"
cd "$WORK" || exit 1

shoal sim agents --count 200 --cpus-per-node 2 --job-time real > emu.log 2>&1 &
emu=$!
node_states() { sinfo -h -N -o '%T' 2>/dev/null; }
all_up() {  # all 200 nodes idle, allocated or mixed
  [ "$(node_states | grep -cxE 'idle|allocated|mixed')" = 200 ]
}
wait_until 30 bash -c '[ "$(sinfo -h -N -o %T | grep -cx idle)" = 200 ]' \
  || fail "200 emulated nodes not idle: $(sinfo -h -o '%D %T')"

# 400 CPUs: 150 jobs end soon after the kill (while the controller is away, so their ends wait
# for the reconnect), 250 run past the restart; 100 instant tasks wait behind them.
short=$(SHOAL_EMULATE_RUNTIME=3 sbatch --parsable -o /dev/null -a 1-150 --requeue --wrap true)
long=$(SHOAL_EMULATE_RUNTIME=10 sbatch --parsable -o /dev/null -a 1-250 --requeue --wrap true)
queued=$(SHOAL_EMULATE_RUNTIME=0 sbatch --parsable -o /dev/null -a 1-100 --requeue --wrap true)
wait_until 20 bash -c '[ "$(squeue -h -t R | wc -l)" = 400 ]' \
  || fail "400 tasks not running: $(squeue -h -t R | wc -l)"
expect_eq "$(squeue -h -t PD -r -j "$queued" | wc -l)" "100" "instant tasks queued at the kill"

log_lines_before=$(wc -l < "$SHOAL_STATE_DIR/controller.log")
kill -9 "$(controller_pid)"
sleep 2
start_controller --config "$WORK/slurm.conf"

# squeue all through the reconnects (at least once): each call must answer.
( while :; do
    t0=$EPOCHREALTIME
    if timeout 10 squeue -h > /dev/null 2>&1; then rc=0; else rc=$?; fi
    echo "$rc $(echo "$EPOCHREALTIME - $t0" | bc -l)"
    [ -e squeue.stop ] && break
  done > squeue.calls ) &
poller=$!
wait_until 30 all_up || fail "nodes not all back after the restart: $(sinfo -h -o '%D %T' | tr '\n' ' ')"
touch squeue.stop
wait "$poller"
calls=$(wc -l < squeue.calls)
[ "$calls" -ge 1 ] && ok || fail "no squeue call while the nodes reconnected"
expect_eq "$(awk '$1 != 0' squeue.calls | wc -l)" "0" "squeue calls that failed while the nodes reconnected (of $calls)"
kill -0 "$emu" 2>/dev/null && ok || fail "the emulator exited: $(tail -5 emu.log)"
expect_eq "$(grep -c 'all 200 nodes registered' emu.log)" "1" "the emulator's nodes registered once, from its start"

wait_until 60 queue_empty || fail "queue not empty after the restart: $(squeue -h | wc -l) left"
for jid in "$short" "$long" "$queued"; do
  tasks=$(sacct -n -X -P -j "$jid" --format=JobID | wc -l)
  states=$(sacct -n -X -P -j "$jid" --format=State | sort | uniq -c | awk '{print $1, $2}')
  case $jid in
    "$short") want=150 ;; "$long") want=250 ;; *) want=100 ;;
  esac
  expect_eq "$tasks:$states" "$want:$want COMPLETED" "array $jid's tasks in sacct after the restart"
done

since_kill=$(tail -n +"$((log_lines_before + 1))" "$SHOAL_STATE_DIR/controller.log")
expect_eq "$(grep -c ' requeued ' <<< "$since_kill")" "0" "jobs requeued across the restart"
expect_eq "$(grep -cE 'DOWN|nothing heard' <<< "$since_kill")" "0" "nodes declared DOWN across the restart"
expect_eq "$(grep -c 'fencing it off' <<< "$since_kill")" "0" "runs fenced off across the restart"
expect_eq "$(grep -c 'launched again' emu.log)" "0" "jobs the emulated nodes were launched twice"
# Every job's start is in the log once (before or after the kill).
expect_eq "$(grep -c ' started on ' "$SHOAL_STATE_DIR/controller.log")" "500" "job starts in the controller's log"

kill "$emu"
wait "$emu"
expect_eq "$?" "0" "emulator's exit status on SIGTERM"
expect_match "$(tail -1 emu.log)" "500 launches of 500 jobs, 0 jobs launched more than once" \
  "the emulator's launch count"
finish

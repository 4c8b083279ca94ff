#!/usr/bin/env bash
# `shoal sim agents`: 200 emulated nodes on the real agent protocol join a controller started
# alone (`shoal up --nodes 0`), run a 1,000-task array, fail 50 at once (all DOWN within the
# timeout, their jobs requeued and completed elsewhere) and come back; bad options are refused.
source "$(dirname "$0")/lib.sh"
printf 'SlurmdTimeout=2\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 0 --config "$WORK/slurm.conf"
cd "$WORK" || exit 1
expect_match "$(cat up.log)" "0 nodes" "shoal up --nodes 0"

shoal sim agents --count 200 --cpus-per-node 2 --job-time 1 --fail 50 > emu.log 2>&1 &
emu=$!
count_state() { sinfo -h -N -o '%T' | grep -cx "$1"; }
wait_until 30 bash -c '[ "$(sinfo -h -N -o %T | grep -cx idle)" = 200 ]' \
  || fail "200 emulated nodes not idle: $(sinfo -h -o '%D %T')"
wait_until 5 grep -qE "all 200 nodes registered in [0-9.]+ s" emu.log && ok \
  || fail "emulator's registration line: $(cat emu.log)"
expect_eq "$(scontrol show node emu17 | grep -o 'CPUTot=[0-9]*')" "CPUTot=2" "an emulated node's CPUs"

jid=$(sbatch --parsable -o /dev/null -a 1-1000 --requeue --wrap true)
wait_until 60 queue_empty || fail "array not done: $(squeue -h | wc -l) left"
expect_eq "$(sacct -n -X -P -j "$jid" --format=State | sort | uniq -c | awk '{print $1, $2}')" "1000 COMPLETED" "1,000 tasks on emulated nodes"

# 50 nodes crash at once while 400 one-minute jobs run: all are marked DOWN, and their jobs
# run again elsewhere.
jid=$(sbatch --parsable -o /dev/null -a 1-400 --requeue -t 1 --wrap true)
wait_until 20 bash -c "[ \"\$(squeue -h -t R -j $jid | wc -l)\" = 400 ]" || fail "400 tasks not running"
kill -USR1 "$emu"
wait_until 10 bash -c '[ "$(sinfo -h -N -o %T | grep -cx "down\*")" = 50 ]' \
  || fail "50 failed nodes not DOWN: $(sinfo -h -o '%D %T')"
wait_until 5 grep -q "crashed 50 nodes" emu.log && ok || fail "emulator's failure line: $(cat emu.log)"
expect_eq "$(sinfo -h -R -o '%E' | sort -u)" "Not responding" "reason of the failed nodes"
requeued=$(grep -c "requeued" "$SHOAL_STATE_DIR/controller.log")
[ "$requeued" -ge 1 ] && ok || fail "no job requeued after 50 nodes failed"
kill -USR2 "$emu"
wait_until 20 bash -c '[ "$(sinfo -h -N -o %T | grep -cx "down\*")" = 0 ]' \
  || fail "failed nodes did not come back: $(sinfo -h -o '%D %T')"
scancel "$jid"
wait_until 20 queue_empty || fail "queue not empty after scancel"
kill "$emu"
wait "$emu"
expect_eq "$?" "0" "emulator's exit status on SIGTERM"
wait_until 10 bash -c '[ "$(sinfo -h -N -o %T | grep -cx "down\*")" = 200 ]' \
  || fail "nodes not DOWN after the emulator stopped: $(sinfo -h -o '%D %T')"

# Bad input.
out=$(shoal sim agents --count 2 --job-time soon 2>&1)
expect_eq "$?:$out" "1:shoal sim agents: invalid --job-time 'soon' (real, instant or seconds)" "bad --job-time"
out=$(shoal sim agents --count 2 --state-dir "$WORK/none" 2>&1)
expect_match "$?:$out" "^1:shoal sim agents: no controller found in .*/none" "no cluster"
out=$(shoal sim agents --count 0 2>&1)
expect_match "$?:$out" "^(105|106|1):.*count" "--count 0"
finish

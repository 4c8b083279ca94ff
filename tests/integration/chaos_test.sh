#!/usr/bin/env bash
# `shoal chaos` on a 3-node cluster: a crashed node is noticed within SlurmdTimeout, its
# requeueable job runs again and completes exactly once, and the node comes back when its agent
# does; a controller killed and restarted keeps its jobs; a frozen and a cut node (nftables)
# are noticed and rejoin; bad input changes nothing.
source "$(dirname "$0")/lib.sh"
printf 'SlurmdTimeout=2\nKillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 3 --cpus-per-node 1 --config "$WORK/slurm.conf"
cd "$WORK" || exit 1

# Each run of the job leaves a line; only a run that finishes leaves "done".
cat > marked.sh <<'SCRIPT'
#!/bin/bash
echo "start $SLURM_JOB_ID ${SLURM_RESTART_COUNT:-0} $SLURMD_NODENAME" >> marks
sleep 4
echo "done $SLURM_JOB_ID ${SLURM_RESTART_COUNT:-0} $SLURMD_NODENAME" >> marks
SCRIPT
node_state() { sinfo -h -n "$1" -o '%T'; }
node_is() { [ "$(node_state "$1")" = "$2" ]; }

jid=$(sbatch --parsable -o /dev/null --requeue -w node1 marked.sh)
wait_until 10 grep -q "start $jid 0 node1" marks || fail "job $jid did not start on node1"
t0=$(date +%s%N)
shoal chaos crash node1 > crash.out 2>&1
expect_match "$(cat crash.out)" "crash node1: agent and [1-9][0-9]* job process(es)? killed" "crash message"
wait_until 10 node_is node1 "down*" || fail "node1 not DOWN after its crash"
detect_ms=$((($(date +%s%N) - t0) / 1000000))
echo "crash detected in $detect_ms ms (SlurmdTimeout=2)"
# The timeout runs from the last heartbeat (at most 1 s before the crash), checked every 100 ms.
[ "$detect_ms" -le 3000 ] && ok || fail "crash detected after $detect_ms ms, more than SlurmdTimeout + 1 s"
expect_match "$(sinfo -R -h -n node1 -o '%E')" "Not responding" "reason of the crashed node"
# -w node1 pins the job to node1: it waits for it, requeued.
wait_until 10 bash -c "[ \"\$(squeue -h -j $jid -o '%T %r')\" = 'PENDING BeginTime' ] || [ \"\$(squeue -h -j $jid -o '%T')\" = PENDING ]" \
  || fail "job $jid not requeued: $(squeue -h -j "$jid" -o '%T %r')"
expect_eq "$(scontrol show job "$jid" | grep -o 'Restarts=[0-9]*')" "Restarts=1" "restart count after the crash"

shoal chaos crash node1 --revive-after 1 > revive.out 2>&1 &
wait_until 15 node_is node1 idle || wait_until 15 node_is node1 mixed || wait_until 15 node_is node1 allocated \
  || fail "node1 did not come back: $(node_state node1)"
wait
expect_match "$(cat revive.out)" "crash node1: agent started again" "revive message"
wait_until 30 job_done "$jid" || fail "job $jid did not finish after node1 came back"
expect_eq "$(job_state "$jid")" "COMPLETED" "requeued job's end"
expect_eq "$(grep -c "^done $jid " marks)" "1" "the job completed exactly once"

# The controller dies and comes back; a running job keeps running and is accounted.
jid2=$(sbatch --parsable -o /dev/null marked.sh)
wait_until 10 grep -q "start $jid2 " marks || fail "job $jid2 did not start"
shoal chaos restart-controller --down 1 > restart.out 2>&1
expect_eq "$?" "0" "restart-controller exit code"
expect_match "$(cat restart.out)" "controller back \(pid [0-9]+\)" "restart message"
expect_match "$(squeue -h -j "$jid2" -o '%i %T')" "^$jid2 RUNNING$" "job running across the controller restart"
wait_until 20 job_done "$jid2" || fail "job $jid2 did not finish after the controller restart"
expect_eq "$(job_state "$jid2")" "COMPLETED" "job across the restart"
expect_eq "$(grep -c "^start $jid2 " marks)" "1" "the job ran once across the controller restart"
wait_until 10 bash -c '[ "$(sinfo -h -o %T | sort -u)" = idle ]' || fail "nodes not all idle: $(sinfo -h -o '%T %N')"

# A frozen agent past the timeout: DOWN, and back once it continues (it must register again,
# and its stale run, if any, is fenced off).
# The job outlasts the freeze, so the fencing must stop its stale copy before it ends.
sed 's/^sleep 4$/sleep 10/' marked.sh > marked_long.sh
jid3=$(sbatch --parsable -o /dev/null --requeue -w node2 marked_long.sh)
wait_until 10 grep -q "start $jid3 0 node2" marks || fail "job $jid3 did not start on node2"
shoal chaos freeze node2 --for 5 > freeze.out 2>&1 &
wait_until 8 node_is node2 "down*" || fail "frozen node2 not DOWN: $(node_state node2)"
wait
expect_match "$(cat freeze.out)" "freeze node2: agent continued" "freeze message"
wait_until 10 bash -c 'node_state() { sinfo -h -n node2 -o %T; }; [[ "$(node_state)" =~ ^(idle|mixed|allocated)$ ]]' \
  || fail "node2 did not come back after the freeze: $(node_state node2)"
wait_until 40 job_done "$jid3" || fail "job $jid3 did not finish after the freeze"
expect_eq "$(grep -c "^done $jid3 " marks)" "1" "the frozen node's job completed exactly once"

# A cut node: its connection dropped (needs root and nftables).
if [ "$(id -u)" = 0 ] && command -v nft >/dev/null && nft list tables >/dev/null 2>&1; then
  shoal chaos cut node3 --for 5 > cut.out 2>&1 &
  wait_until 8 node_is node3 "down*" || fail "cut node3 not DOWN: $(node_state node3)"
  wait
  expect_match "$(cat cut.out)" "cut node3: connection restored" "cut message"
  wait_until 15 node_is node3 idle || fail "node3 did not come back after the cut: $(node_state node3)"
  expect_eq "$(nft list tables | grep -c shoal_chaos)" "0" "the cut's nft table is gone"
else
  echo "NOTE: no root or no nft (Debian package nftables): the cut check is skipped"
fi

# Bad input: clear errors, nothing changes.
out=$(shoal chaos crash nosuchnode 2>&1)
expect_eq "$?:$out" "1:shoal chaos: no node 'nosuchnode' in this cluster (it has node1, node2, node3)" "unknown node"
out=$(shoal chaos freeze node2 --for 10x 2>&1)
expect_eq "$?:$out" "1:shoal chaos: invalid --for '10x' (expected seconds, or a number with s, m or h)" "bad duration"
out=$(shoal chaos soak --actions crash,boom 2>&1)
expect_eq "$?:$out" "1:shoal chaos: unknown fault 'boom' in --actions (crash, freeze, cut, restart-controller)" "bad fault name"
out=$(shoal chaos --state-dir "$WORK/none" crash node1 2>&1)
expect_match "$?:$out" "^1:shoal chaos: no cluster in .*/none \(start one with \`shoal up\`\)$" "no cluster"
expect_eq "$(sinfo -h -o %T | sort -u)" "idle" "nodes untouched by bad input"
finish

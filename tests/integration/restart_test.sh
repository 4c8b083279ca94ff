#!/usr/bin/env bash
# kill -9 of the controller and of an agent while jobs run and submissions arrive: nothing
# acknowledged is lost, running jobs keep running and are reconciled, none runs twice.
source "$(dirname "$0")/lib.sh"
start_cluster --nodes 2 --cpus-per-node 2


# Jobs that record each start: running twice would leave two lines.
ids=()
for i in 1 2 3; do
  ids+=($(sbatch --parsable -o /dev/null --wrap "echo start >> runs.$i; sleep 4; echo done >> runs.$i"))
done
wait_until 10 bash -c "[ \$(squeue -h -t R | wc -l) -eq 3 ]" || fail "jobs did not start"

# Submissions racing a kill -9: every id sbatch printed must survive.
( for i in $(seq 1 40); do sbatch --parsable -o /dev/null --wrap true 2>/dev/null; done > acked.txt ) &
sub=$!
sleep 0.3
kill -9 "$(controller_pid)"
wait "$sub"
start_controller
( for i in $(seq 1 10); do sbatch --parsable -o /dev/null --wrap true; done >> acked.txt )

for id in $(cat acked.txt); do
  [ -n "$(sacct -n -X -P -j "$id" --format=JobID)" ] && ok || fail "acknowledged job $id lost"
done
wait_until 30 queue_empty || fail "queue did not drain after controller restart"
for i in 1 2 3; do
  expect_eq "$(tr '\n' ' ' < runs.$i)" "start done " "job $i ran exactly once across the controller restart"
  expect_eq "$(job_state "${ids[$((i-1))]}")" "COMPLETED" "job $i state after restart"
done

# kill -9 of an agent while its job runs, then restart it: the job finishes once.
id=$(sbatch --parsable -o /dev/null -w node1 --wrap 'echo start >> agent-runs; sleep 3; echo done >> agent-runs')
wait_until 10 bash -c "squeue -h -j $id -t R | grep -q ." || fail "agent job did not start"
agent_pid=$(python3 -c 'import json,sys; print([a["pid"] for a in json.load(open(sys.argv[1]))["agents"] if a["name"]=="node1"][0])' "$SHOAL_STATE_DIR/cluster.json")
agent_args=$(python3 -c 'import json,sys; print(" ".join([a["args"] for a in json.load(open(sys.argv[1]))["agents"] if a["name"]=="node1"][0]))' "$SHOAL_STATE_DIR/cluster.json")
kill -9 "$agent_pid"
sleep 0.5
setsid $agent_args </dev/null >>"$SHOAL_STATE_DIR/agents/node1/agent.log" 2>&1 &
new_agent=$!
python3 - "$SHOAL_STATE_DIR/cluster.json" "$new_agent" <<'P'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
for a in c["agents"]:
    if a["name"] == "node1": a["pid"] = int(sys.argv[2])
json.dump(c, open(p, "w"))
P
wait_until 15 job_done "$id" || fail "job did not finish after agent restart"
expect_eq "$(job_state "$id")" "COMPLETED" "job state after agent restart"
expect_eq "$(tr '\n' ' ' < agent-runs)" "start done " "job ran exactly once across the agent restart"

finish

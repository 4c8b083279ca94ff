#!/usr/bin/env bash
# scontrol update NodeName=.. State=DRAIN|DOWN|RESUME and scontrol delete NodeName=..: a busy or
# unknown node is refused (and then nothing is removed); a deleted node leaves sinfo, and its
# agent, registering again, comes back as a new node.
source "$(dirname "$0")/lib.sh"
start_cluster --nodes 3 --cpus-per-node 1

agent_field() {
  python3 -c 'import json,sys; a=[a for a in json.load(open(sys.argv[1]))["agents"] if a["name"]==sys.argv[2]][0]; print(a["pid"] if sys.argv[3]=="pid" else " ".join(a["args"]))' \
    "$SHOAL_STATE_DIR/cluster.json" "$1" "$2"
}
nodes() { sinfo -h -N -o %N | awk '{print $1}' | sort -u | tr '\n' ' '; }

id=$(sbatch --parsable -o /dev/null -w node1 --wrap 'sleep 30')
wait_until 10 bash -c "[ -n \"\$(squeue -h -j $id -t R)\" ]" || fail "job did not start"

out=$(scontrol delete NodeName=node[1-2] 2>&1)
expect_eq "$?" "1" "deleting a busy node fails"
expect_match "$out" "node1 has running jobs \\($id\\)" "the error names the busy node and its job"
out=$(scontrol delete NodeName=node9 2>&1)
expect_eq "$?" "1" "deleting an unknown node fails"
expect_match "$out" "Invalid node name specified: node9" "the error names the unknown node"
expect_eq "$(nodes)" "node1 node2 node3 " "a refused delete removes nothing"

scontrol update NodeName=node2 State=DRAIN Reason="retiring it"
scontrol update NodeName=node3 State=DOWN Reason="bad dimm"
expect_eq "$(sinfo -R -h -o '%N:%E' | sort | tr '\n' ' ')" "node2:retiring it node3:bad dimm " \
  "sinfo -R lists the admin reasons"
scontrol update NodeName=node3 State=RESUME
expect_match "$(sinfo -h -N -n node3 -o %T)" "^idle$" "RESUME brings node3 back"

# node2's agent goes away for good, then the node is deleted.
args=$(agent_field node2 args)
kill -9 "$(agent_field node2 pid)"
scontrol delete NodeName=node2
expect_eq "$?" "0" "deleting an idle node succeeds"
expect_eq "$(nodes)" "node1 node3 " "the deleted node leaves sinfo"
expect_eq "$(sinfo -R -h -o '%N' | tr '\n' ' ')" "" "and sinfo -R"

# An agent of that name registering later is a new node: idle, its old drain forgotten.
setsid $args </dev/null >>"$SHOAL_STATE_DIR/agents/node2/agent.log" 2>&1 &
new_agent=$!
python3 - "$SHOAL_STATE_DIR/cluster.json" "$new_agent" <<'P'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
for a in c["agents"]:
    if a["name"] == "node2": a["pid"] = int(sys.argv[2])
json.dump(c, open(p, "w"))
P
wait_until 10 bash -c '[[ "$(sinfo -h -N -n node2 -o %T)" == idle ]]' ||
  fail "node2 did not come back as a new, idle node"
expect_eq "$(nodes)" "node1 node2 node3 " "node2 is back"
scancel "$id"
finish

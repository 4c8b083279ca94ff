#!/usr/bin/env bash
# Node outage history: a node DOWN (or DRAINed) for a few seconds shows as Down time in sreport
# cluster utilization, the history survives a controller restart, and the columns still add up
# to Reported; sacctmgr show event lists the outages.
source "$(dirname "$0")/lib.sh"

start_cluster --nodes 2 --cpus-per-node 2
window=(start=now-2hours end=now+1hours)
util() { sreport -n -P -t seconds cluster utilization "${window[@]}"; }

IFS='|' read -r _ _ down0 _ _ _ _ <<<"$(util)"
expect_eq "$down0" "0" "no Down time before any outage"

scontrol update NodeName=node1 State=DOWN Reason="fan broke" || fail "down node1"
sleep 3
scontrol update NodeName=node1 State=RESUME || fail "resume node1"
row=$(util)
IFS='|' read -r _ allocated down planned_down idle _ reported <<<"$row"
# About 3 s on node1's 2 CPUs (the history has whole seconds).
[ "${down:-0}" -ge 4 ] && [ "${down:-0}" -le 10 ] || fail "Down CPU-seconds $down not about 6 ($row)"
expect_eq "$planned_down" "0" "no planned down time without power saving"
expect_eq "$((allocated + down + planned_down + idle))" "$reported" "the columns add up"

# sacctmgr show event lists the outage, closed, with its reason.
expect_match "$(sacctmgr -n -P show event nodes=node1 format=nodename,state,reason,timeend)" \
  "^node1\|DOWN\|fan broke\|[0-9]{4}-" "sacctmgr show event"

# A drain counts too, and an outage still open across a restart keeps counting (the controller
# lists the node before its agent is back).
scontrol update NodeName=node2 State=DRAIN Reason=maint || fail "drain node2"
sleep 2
restart_controller
# Listed with its drain from the start, its agent back or not (and resumable either way).
expect_match "$(sinfo -R -h -o '%N:%E')" "^node2:maint$" "the drained node listed after the restart"
sleep 1
scontrol update NodeName=node2 State=RESUME || fail "resume node2"
IFS='|' read -r _ _ down2 _ _ _ _ <<<"$(util)"
[ "${down2:-0}" -ge $((down + 4)) ] || fail "Down after node2's drain is $down2, was $down"
expect_match "$(sacctmgr -n -P show event states=drain format=nodename,reason)" "node2\|maint" \
  "the drain in sacctmgr show event"
finish

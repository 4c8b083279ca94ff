#!/usr/bin/env bash
# sreport: usage over a period from the accounting records, as Slurm's sreport reports it
# (cluster utilization, top users, usage by account and user), and its refusals.
source "$(dirname "$0")/lib.sh"

start_cluster --nodes 2 --cpus-per-node 2
sacctmgr -i add account physics >/dev/null || fail "sacctmgr add account"
id=$(sbatch --parsable -A physics -c 2 -o /dev/null --wrap 'sleep 3')
wait_until 30 job_done "$id" || fail "job $id did not finish"
# About 3 s on 2 CPUs; the window's hours always hold it (start is rounded up to its hour).
window=(start=now-2hours end=now+1hours)
user=$(id -un)

row=$(sreport -n -P -t seconds cluster utilization "${window[@]}")
IFS='|' read -r cluster allocated down planned_down idle planned reported <<<"$row"
expect_eq "$cluster" "$(scontrol show config | awk '$1 == "ClusterName" {print $3}')" "the cluster's name"
[ "${allocated:-0}" -ge 5 ] && [ "${allocated:-0}" -le 10 ] ||
  fail "allocated CPU-seconds $allocated not about 6 ($row)"
expect_match "$reported" '^(14400|28800)$' "reported: 4 CPUs for one or two whole hours"
expect_eq "$((allocated + idle))" "$reported" "allocated and idle add up to reported"

expect_eq "$(sreport -n -P -t seconds user top "${window[@]}" | cut -d'|' -f2,4,5)" \
  "$user|physics|$allocated" "user top names the user, the account and the same usage"
expect_eq "$(sreport -n -P -t seconds cluster AccountUtilizationByUser "${window[@]}" |
  grep '|physics|' | cut -d'|' -f2,3,5 | tr '\n' ' ')" \
  "physics||$allocated physics|$user|$allocated " "the account's row and its user's"

out=$(sreport -t hourper cluster utilization "${window[@]}")
expect_match "$(echo "$out" | sed -n 3p)" "^Usage reported in CPU Hours/Percentage of Total$" \
  "the unit line"
expect_match "$(echo "$out" | sed -n 2p)" \
  "^Cluster Utilization [0-9-]+T[0-9]{2}:00:00 - [0-9-]+T[0-9]{2}:59:59$" "whole hours"

# Refusals, with sreport's words.
expect_eq "$(sreport cluster foo 2>&1; echo "rc=$?")" "Not valid report foo
Valid cluster reports are, \"AccountUtilizationByUser\", \"Utilization\"
rc=1" "an unknown cluster report"
expect_eq "$(sreport foo 2>&1; echo "rc=$?")" "invalid keyword: foo
rc=1" "an unknown command"
expect_eq "$(sreport -t fortnights cluster utilization 2>&1; echo "rc=$?")" \
  "unknown time format fortnights
rc=1" "an unknown time format"
expect_eq "$(sreport cluster utilization start=garbage 2>&1; echo "rc=$?")" \
  "Invalid time specification (pos=0): garbage
rc=1" "a bad start time"
finish

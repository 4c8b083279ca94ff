#!/usr/bin/env bash
# Partition associations: sacctmgr add user ... Partition= makes a user+account+partition
# association, shown in sacctmgr show assoc, with limits of its own; under
# AccountingStorageEnforce=associations a job uses it in its partition and is refused in one it
# has no association for; it survives a controller restart, and `delete user ... where
# partition=` removes only it (refused while a job of it is active).
source "$(dirname "$0")/lib.sh"

cat > "$WORK/slurm.conf" <<'CONF'
AccountingStorageEnforce=associations,limits
PartitionName=debug Nodes=node[1-2] Default=YES
PartitionName=small Nodes=node2
CONF
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"
me=$(id -un)
submit_error() { sbatch --parsable -o /dev/null "$@" --wrap 'sleep 20' 2>&1 >/dev/null; }

sacctmgr -i add account physics >/dev/null || fail "add account physics"
out=$(sacctmgr -i add user "$me" Account=physics Partition=small MaxSubmitJobs=1)
expect_match "$out" "A = physics U = $me P = small" "the report names the partition"
assoc() { sacctmgr -n -P show assoc where user="$me" format=account,user,partition,maxsubmit; }
expect_eq "$(assoc)" "root|$me||
physics|$me|small|1" "show assoc has the Partition column"

# In small, under physics: its partition association; elsewhere: refused.
j=$(sbatch --parsable -A physics -p small -o /dev/null --wrap 'sleep 20')
[ -n "$j" ] && ok || fail "a job in the association's partition was refused"
expect_eq "$(submit_error -A physics -p debug)" \
  "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified" \
  "a partition without an association"
# The partition association's own limit binds.
expect_match "$(submit_error -A physics -p small)" "AssocMaxSubmitJobLimit" \
  "MaxSubmitJobs of the partition association"
# Its partition-less association in root is unaffected.
k=$(sbatch --parsable -A root -p debug -o /dev/null --wrap true)
[ -n "$k" ] && ok || fail "a job under the partition-less association was refused"

sacctmgr -i modify user "$me" where account=physics partition=small set MaxSubmitJobs=2 \
  >/dev/null || fail "modify the partition association"
restart_controller
expect_eq "$(assoc)" "root|$me||
physics|$me|small|2" "partition association after a restart"

# Deleting the partition association is refused while its job runs, then removes only it.
expect_match "$(sacctmgr -i delete user "$me" where partition=small 2>&1)" "JobID = $j" \
  "delete where partition= with a job running in it"
scancel "$j"
wait_until 20 job_done "$j" || fail "job $j did not end"
out=$(sacctmgr -i delete user "$me" where account=physics partition=small)
expect_match "$out" "A = physics U = $me P = small" "the report names the association"
expect_eq "$(assoc)" "root|$me||" "only the partition association went"
finish

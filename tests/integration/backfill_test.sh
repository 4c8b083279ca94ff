#!/usr/bin/env bash
# The controller backfills (EASY, SchedulerType=sched/backfill, the default): a short job runs
# beside a blocked one if it ends before the blocked job's planned start, a long one does not.
# With sched/builtin nothing passes the blocked job.
source "$(dirname "$0")/lib.sh"

state_of() { squeue -h -j "$1" -o %T 2>/dev/null; }
reason_of() { squeue -h -j "$1" -o %r 2>/dev/null; }
running() { [ "$(state_of "$1")" == "RUNNING" ]; }

printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 1 --cpus-per-node 4 --config "$WORK/slurm.conf"

big=$(sbatch --parsable -c 3 -t 5 --wrap 'sleep 300')     # planned to end within 5 minutes
wait_until 10 running "$big" || fail "first job did not start"
blocked=$(sbatch --parsable -c 4 -t 5 --wrap true)         # planned at the first job's end
short=$(sbatch --parsable -c 1 -t 1 --wrap 'sleep 2')      # ends by then: backfills
long=$(sbatch --parsable -c 1 -t 10 --wrap true)           # would delay the blocked job
wait_until 10 running "$short" || fail "short job was not backfilled ($(reason_of "$short"))"
wait_until 10 job_done "$short" || fail "short job did not finish"
expect_eq "$(job_state "$short")" "COMPLETED" "backfilled job completed"
sleep 1  # passes after the short job's end
expect_eq "$(state_of "$blocked")" "PENDING" "blocked job waits"
expect_eq "$(reason_of "$blocked")" "Resources" "blocked job's reason"
# squeue --start: the blocked job is planned on node1 at the running job's expected end.
planned=$(squeue --start -h -j "$blocked" -o "%S %Y")
[[ "$planned" =~ ^20[0-9-]+T[0-9:]+\ node1$ ]] || fail "squeue --start shows '$planned'"
expect_eq "$(squeue --start -h -o %i | head -1)" "$blocked" "squeue --start lists the planned job first"
expect_eq "$(state_of "$long")" "PENDING" "long job is not backfilled into the reservation"
expect_eq "$(reason_of "$long")" "Priority" "long job's reason"

scancel "$big"
wait_until 15 job_done "$blocked" || fail "blocked job did not run once the node was free"
wait_until 15 job_done "$long" || fail "long job did not run after the blocked one"
shoal down >/dev/null 2>&1
rm -rf "$SHOAL_STATE_DIR"

# Strict order per partition: the short job waits behind the blocked one.
printf 'KillWait=1\nMinJobAge=600\nSchedulerType=sched/builtin\n' > "$WORK/slurm.conf"
export SHOAL_STATE_DIR=$(mktemp -d "/tmp/shoal-$TEST_NAME.XXXXXX")
start_cluster --nodes 1 --cpus-per-node 4 --config "$WORK/slurm.conf"
big=$(sbatch --parsable -c 3 -t 5 --wrap 'sleep 300')
wait_until 10 running "$big" || fail "first job did not start (builtin)"
blocked=$(sbatch --parsable -c 4 -t 5 --wrap true)
short=$(sbatch --parsable -c 1 -t 1 --wrap 'sleep 2')
sleep 2
expect_eq "$(state_of "$short")" "PENDING" "sched/builtin does not backfill"
expect_eq "$(reason_of "$short")" "Priority" "short job's reason under sched/builtin"
scancel "$big"
wait_until 15 job_done "$short" || fail "short job did not run after the blocked one (builtin)"
finish

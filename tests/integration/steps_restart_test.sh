#!/usr/bin/env bash
# A running step survives a kill -9 of the controller: its tasks run on, srun gets their output
# and exit code, and sacct shows the step COMPLETED.
source "$(dirname "$0")/lib.sh"
start_cluster --nodes 2 --cpus-per-node 2


cat > step.sh <<'S'
#!/bin/bash
#SBATCH -N2 -n2 -o step.out -e step.err
srun -l bash -c 'echo "start $SLURM_PROCID"; sleep 5; echo "end $SLURM_PROCID"; exit $SLURM_PROCID'
echo "srun exit $?"
srun -n1 echo after
S
id=$(sbatch --parsable step.sh)
step_started() { grep -q "start 1" step.out 2>/dev/null && grep -q "start 0" step.out; }
wait_until 15 step_started || fail "the step did not start"
kill -9 "$(controller_pid)"
sleep 1
start_controller
wait_until 30 job_done "$id" || fail "job $id did not finish after the controller restart"
expect_eq "$(job_state "$id")" "COMPLETED" "the job completes"
expect_eq "$(grep -v '^srun exit\|after' step.out | sort | tr '\n' ' ')" "0: end 0 0: start 0 1: end 1 1: start 1 " "srun got the step's output across the restart"
expect_eq "$(grep '^srun exit' step.out)" "srun exit 1" "srun got the step's exit code across the restart"
expect_eq "$(grep -c '^after$' step.out)" "1" "a step after the restart runs"
expect_eq "$(sacct -n -P -j "$id" --format=JobID,State,ExitCode | grep "^$id\.[0-9]" | tr '\n' ' ')" \
  "$id.0|FAILED|1:0 $id.1|COMPLETED|0:0 " "the steps in sacct"

finish

#!/usr/bin/env bash
# Time limits are enforced on time: SIGTERM at the limit, SIGKILL KillWait seconds later, state
# TIMEOUT. Slurm's limits are whole minutes, so this test waits about a minute; it runs beside
# the others.
source "$(dirname "$0")/lib.sh"
printf 'KillWait=2\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

# One job ignores SIGTERM (needs the SIGKILL), one exits on it; scontrol extends a third.
start=$(date +%s)
stubborn=$(sbatch --parsable -t 1 -o stubborn.out --wrap 'trap "echo got TERM" TERM; echo started; while :; do sleep 1; done')
polite=$(sbatch --parsable -t 0:30 -o polite.out --wrap 'echo started; exec sleep 300')
extended=$(sbatch --parsable -t 1 -o /dev/null --wrap 'sleep 80')
wait_until 10 bash -c "[ \$(squeue -h -t R | wc -l) -eq 3 ]" || fail "jobs did not start"
scontrol update JobId="$extended" TimeLimit=3
expect_eq "$(squeue -h -j "$polite" -o %l)" "1:00" "a 30-second request is rounded up to a minute, as Slurm does"

wait_until 75 job_done "$stubborn" || fail "stubborn job outlived its limit"
elapsed=$(( $(date +%s) - start ))
expect_eq "$(job_state "$stubborn")" "TIMEOUT" "stubborn job state"
expect_eq "$(job_state "$polite")" "TIMEOUT" "polite job state"
[ "$elapsed" -ge 59 ] && [ "$elapsed" -le 64 ] && ok || fail "limit of 60 s + KillWait 2 s enforced after ${elapsed}s"
expect_match "$(cat stubborn.out)" "got TERM" "the job saw SIGTERM before SIGKILL"
expect_match "$(cat polite.out)" "(^|"$'\n'")slurmstepd: error: \*\*\* JOB $polite ON node[12] CANCELLED AT 20[0-9-]{8}T[0-9:]{8} DUE TO TIME LIMIT \*\*\*$" "slurmstepd's line for a job over its time limit"
expect_eq "$(squeue -h -j "$extended" -o %T)" "RUNNING" "a job whose limit was raised keeps running"
scancel "$extended"
finish

#!/usr/bin/env bash
# Steps inside one allocation as Slurm 22.05 runs them: steps do not share CPUs (a step that
# cannot start yet waits, one that can never fit fails at once, --overlap shares), scancel of
# one step, the cancellation lines of slurmstepd and srun, and srun's stdin reaching the tasks.
source "$(dirname "$0")/lib.sh"
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 4 --config "$WORK/slurm.conf"

# The classic pattern: 8 one-CPU steps in a 4-CPU job run 4 at a time. Each runs 3 s: on a
# loaded machine the fourth step's launch can lag the first's by more than a second.
cat > eight.sh <<'S'
#!/bin/bash
#SBATCH -n4 -o eight.out -e eight.err
for i in 1 2 3 4 5 6 7 8; do
  srun -n1 --exclusive bash -c 'echo "$(date +%s.%N) 1"; sleep 3; echo "$(date +%s.%N) -1"' > "span.$i" &
done
wait
srun -n5 true
echo "too big: $?"
S
id=$(sbatch --parsable eight.sh)
wait_until 40 job_done "$id" || fail "the job of 8 steps did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "job of 8 steps"
# Most steps running at once, from their start and end times.
most=$(cat span.* | sort -n | awk '{ n += $2; if (n > most) most = n } END { print most }')
expect_eq "$most" "4" "8 one-CPU steps in a 4-CPU job run 4 at a time"
expect_eq "$(sacct -n -P -j "$id" --format=JobID,State | grep -c "^$id\.[0-9]*|COMPLETED$")" "8" "8 steps completed in sacct"
expect_match "$(cat eight.err)" "(^|"$'\n'")srun: Job $id step creation temporarily disabled, retrying \(Requested nodes are busy\)"$'\n' "waiting step's message"
expect_match "$(cat eight.err)" "(^|"$'\n'")srun: Step created for StepId=$id\.[0-9]+"$'\n' "step created message"
expect_match "$(cat eight.err)" "srun: error: Unable to create step for job $id: More processors requested than permitted" "a step that can never fit fails"
expect_eq "$(grep 'too big' eight.out)" "too big: 1" "exit code of a step that can never fit"

# --overlap shares the CPUs a running step holds; without it the step waits.
cat > overlap.sh <<'S'
#!/bin/bash
#SBATCH -n1 -o overlap.out -e overlap.err
srun -n1 sleep 2 &
sleep 0.7
srun --overlap -n1 bash -c 'echo overlapped' 2> overlap.step.err
srun -n1 bash -c 'echo waited' 2> wait.step.err
wait
S
id=$(sbatch --parsable overlap.sh)
wait_until 30 job_done "$id" || fail "the --overlap job did not finish"
expect_eq "$(cat overlap.out)" "$(printf 'overlapped\nwaited')" "--overlap and waiting steps ran"
expect_eq "$(cat overlap.step.err)" "" "an --overlap step does not wait"
expect_match "$(cat wait.step.err)" "retrying \(Requested nodes are busy\)" "a step without --overlap waits"

# scancel J.S: only that step ends (CANCELLED, its tasks killed), with Slurm's lines; the job
# and its other step run on.
cat > two.sh <<'S'
#!/bin/bash
#SBATCH -n2 -o two.out -e two.err
srun -n1 --exact bash -c 'sleep 3143' &
sleep 1
srun -n1 --exact bash -c 'sleep 3; echo second done'
wait
echo "script done"
S
id=$(sbatch --parsable two.sh)
step_running() { squeue -h -s | grep -q "^ *$id\.0 "; }
wait_until 15 step_running || fail "step $id.0 never ran"
scancel "$id.99" 2>err.txt
expect_eq "$?:$(cat err.txt)" "1:scancel: error: Kill job error on job step id $id.99: Invalid job id specified" "scancel of an unknown step"
scancel "$id.0"
expect_eq "$?" "0" "scancel of a step"
wait_until 10 bash -c '! pgrep -f "[s]leep 3143"' || fail "scancel J.S did not kill the step's task"
wait_until 10 bash -c "[ \"\$(sacct -n -P -j $id.0 --format=State)\" = CANCELLED ]" || fail "step $id.0 not CANCELLED: $(sacct -n -P -j $id.0 --format=State)"
expect_eq "$(job_state "$id")" "RUNNING" "the job runs on after scancel of a step"
wait_until 20 job_done "$id" || fail "job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "the job completes after its step was cancelled"
expect_eq "$(cat two.out)" "$(printf 'second done\nscript done')" "the other step and the script ran on"
expect_match "$(cat two.err)" "(^|"$'\n'")slurmstepd: error: \*\*\* STEP $id\.0 ON node1 CANCELLED AT 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2} \*\*\*"$'\n' "slurmstepd's line for a cancelled step"
expect_match "$(cat two.err)" "(^|"$'\n'")srun: Job step aborted: Waiting up to 3 seconds for job step to finish\."$'\n' "srun's line for an aborted step"
expect_match "$(cat two.err)" "srun: error: node1: task 0: Terminated" "the cancelled task's line"

# scancel of a batch job: the line in the job's error file (timelimit_test checks the time
# limit's).
id=$(sbatch --parsable -o c.out -e c.err --wrap 'sleep 3144')
wait_until 10 bash -c "squeue -h -j $id -t R | grep -q ." || fail "job $id never ran"
scancel "$id"
wait_until 10 job_done "$id" || fail "cancelled job $id did not end"
expect_match "$(cat c.err)" "^slurmstepd: error: \*\*\* JOB $id ON node[12] CANCELLED AT 20[0-9-]{8}T[0-9:]{8} \*\*\*$" "a cancelled job's line"

# stdin: to every task by default, to one task with -i N, to none with -i none, from a file.
out=$(echo hello | timeout 30 srun -N2 -n2 -l cat 2>&1)
expect_eq "$(sort <<<"$out")" "$(printf '0: hello\n1: hello')" "srun's stdin reaches every task"
out=$(printf 'a\nb\n' | timeout 30 srun -n2 -i 0 -l cat 2>&1)
expect_eq "$out" "$(printf '0: a\n0: b')" "srun -i 0: only task 0 reads stdin"
out=$(echo hello | timeout 30 srun -n2 --input=none -l cat 2>&1)
expect_eq "$out" "" "srun -i none: no task reads stdin"
seq 1 20000 > numbers
out=$(timeout 30 srun -n1 -i numbers wc -l 2>&1)
expect_eq "$out" "20000" "srun -i FILE"
out=$(seq 1 100000 | timeout 30 srun -n1 tail -1 2>&1)
expect_eq "$out" "100000" "a large stdin arrives whole"

# Long options abbreviate as getopt_long allows; an ambiguous one is refused with its message.
out=$(timeout 30 srun --job-n=abbrev --lab -n1 bash -c 'echo $SLURM_JOB_NAME' 2>&1)
expect_eq "$out" "0: abbrev" "srun --job-n=abbrev --lab"
timeout 10 srun --ntask=2 true 2>err.txt
expect_eq "$?" "255" "an ambiguous abbreviation: exit code"
expect_match "$(cat err.txt)" "^srun: option '--ntask=2' is ambiguous; possibilities: '--ntasks' '--ntasks-per-node'" "an ambiguous abbreviation: message"

finish

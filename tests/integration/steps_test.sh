#!/usr/bin/env bash
# Job steps and interactive allocations on a 2-node cluster: srun inside and outside an
# allocation, labelled output, per-task environment, exit codes, salloc, srun inside sbatch,
# steps bigger than their allocation, scancel reaching a step's tasks, and steps in sacct.
source "$(dirname "$0")/lib.sh"
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 4 --config "$WORK/slurm.conf"

# Labelled output of 4 tasks over 2 nodes (srun makes and relinquishes its own allocation).
out=$(timeout 30 srun -N2 -n4 -l bash -c 'echo "$SLURMD_NODENAME"' 2>&1)
expect_eq "$(sort <<<"$out")" "$(printf '0: node1\n1: node1\n2: node2\n3: node2')" "srun -N2 -n4 -l"

# Tasks writing a line in pieces at the same time: srun passes on whole lines only, so the
# lines stay intact (without -l too); a last line without a newline still arrives.
out=$(timeout 30 srun -N2 -n2 bash -c 'printf "begin-$SLURM_PROCID "; sleep 0.5; printf "end-$SLURM_PROCID\nlast-$SLURM_PROCID"' 2>&1)
expect_eq "$(tr -s '\n' '\n' <<<"$out" | grep begin | sort)" "$(printf 'begin-0 end-0\nbegin-1 end-1')" "lines of tasks writing at once stay whole"
expect_eq "$(grep -o 'last-[01]' <<<"$out" | sort | tr '\n' ' ')" "last-0 last-1 " "unfinished last lines"

# Per-task environment.
out=$(timeout 30 srun -N2 -n4 -l bash -c 'echo "$SLURM_PROCID $SLURM_LOCALID $SLURM_NODEID $RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $SLURM_STEP_ID $SLURM_STEP_NUM_TASKS $SLURM_STEP_NUM_NODES $SLURM_STEP_TASKS_PER_NODE $SLURM_STEP_NODELIST $MASTER_ADDR:$MASTER_PORT"' 2>&1)
expect_eq "$(sort <<<"$out" | cut -d' ' -f1-13)" "$(printf '%s\n' \
  '0: 0 0 0 0 0 4 2 0 4 2 2(x2) node[1-2]' \
  '1: 1 1 0 1 1 4 2 0 4 2 2(x2) node[1-2]' \
  '2: 2 0 1 2 0 4 2 0 4 2 2(x2) node[1-2]' \
  '3: 3 1 1 3 1 4 2 0 4 2 2(x2) node[1-2]')" "task environment"
masters=$(awk '{print $NF}' <<<"$out" | sort -u)
expect_eq "$(wc -l <<<"$masters")" "1" "one MASTER_ADDR:MASTER_PORT for the whole step"
expect_match "$masters" '^[^:]+:[0-9]+$' "MASTER_ADDR:MASTER_PORT"

# The step's exit code is the highest task exit code; a signal gives 128+signal.
timeout 30 srun -n2 bash -c 'exit $((SLURM_PROCID+3))' 2>/dev/null
expect_eq "$?" "4" "exit code of srun -n2"
timeout 30 srun -n1 bash -c 'kill -9 $$' 2>err.txt
expect_eq "$?" "137" "exit code of a killed task"
expect_match "$(cat err.txt)" $'(^|\n)srun: error: node1: task 0: Killed$' "killed task's line"
# Slurm's per-task error lines: one per node and outcome, ranks as ranges.
timeout 30 srun -N2 -n4 bash -c 'exit $((SLURM_NODEID+3))' 2>err.txt
expect_eq "$?" "4" "exit code of srun -N2 -n4"
expect_eq "$(cat err.txt)" "$(printf 'srun: error: %s: tasks %s: Exited with exit code %s\n' \
  node1 0-1 3 node2 2-3 4)" "failed tasks' error lines"
timeout 30 srun -n1 no-such-program-xyz 2>err.txt
expect_eq "$?" "2" "exit code of a missing program"
expect_match "$(cat err.txt)" "execve\(\): no-such-program-xyz: No such file or directory" "missing program message"

# Bad input: Slurm's messages and exit codes.
timeout 10 srun 2>err.txt
expect_eq "$?:$(cat err.txt)" "1:srun: fatal: No command given to execute." "srun without a command"
timeout 10 srun -n 0 true 2>err.txt
expect_eq "$?:$(cat err.txt)" '1:srun: error: Invalid numeric value "0" for --ntasks.' "srun -n 0"
timeout 10 srun --bogus true 2>err.txt
expect_eq "$?" "255" "srun with an unknown option"

# salloc: messages, the command's environment and exit code, the job completing in sacct.
out=$(timeout 30 salloc -N2 -n2 bash -c 'echo "$SLURM_JOB_ID $SLURM_JOB_NUM_NODES $SLURM_NTASKS $SLURM_JOB_NODELIST ${SLURM_STEP_ID:-none}"; srun -l hostname | sort | cut -d" " -f1; exit 5' 2>salloc.err)
rc=$?
expect_eq "$rc" "5" "salloc returns the command's exit code"
sid=$(awk '{print $1; exit}' <<<"$out")
expect_match "$sid" '^[0-9]+$' "SLURM_JOB_ID in salloc"
expect_eq "$(sed -n 1p <<<"$out" | cut -d' ' -f2-)" "2 2 node[1-2] none" "salloc's environment"
expect_eq "$(sed -n '2,3p' <<<"$out" | tr '\n' ' ')" "0: 1: " "srun inside salloc"
expect_eq "$(head -1 salloc.err)" "salloc: Granted job allocation $sid" "salloc grant message"
expect_eq "$(tail -1 salloc.err)" "salloc: Relinquishing job allocation $sid" "salloc relinquish message"
wait_until 10 job_done "$sid" || fail "salloc job $sid did not end"
expect_eq "$(sacct -n -X -P -j "$sid" --format=State,ExitCode)" "FAILED|5:0" "salloc job in sacct"
expect_eq "$(sacct -n -P -j "$sid" --format=JobID,State,ExitCode | tail -1)" "$sid.0|COMPLETED|0:0" "salloc's step in sacct"

# A step bigger than its allocation fails with Slurm's messages.
timeout 30 salloc -N1 -n1 srun -n 100 true 2>err.txt
expect_eq "$?" "1" "too many tasks: exit code"
expect_match "$(cat err.txt)" "srun: error: Unable to create step for job [0-9]+: More processors requested than permitted" "too many tasks: message"
timeout 30 salloc -N1 srun -N2 true 2>err.txt
expect_match "$(cat err.txt)" "srun: error: Only allocated 1 nodes asked for 2" "too many nodes"

# srun inside a batch script; the script itself never sees SLURM_STEP_ID.
cat > steps.sh <<'S'
#!/bin/bash
#SBATCH -N2 -n4 -o steps.out
echo "batch step=${SLURM_STEP_ID:-none}"
srun -l bash -c 'echo "task $SLURM_PROCID step $SLURM_STEP_ID"' | sort
srun -n1 true
S
id=$(sbatch --parsable steps.sh)
wait_until 30 job_done "$id" || fail "batch job with steps did not finish"
expect_eq "$(cat steps.out)" "$(printf '%s\n' 'batch step=none' '0: task 0 step 0' '1: task 1 step 0' '2: task 2 step 0' '3: task 3 step 0')" "srun inside sbatch"
expect_eq "$(sacct -n -P -j "$id" --format=JobID,JobName,State,NTasks | tr '\n' ' ')" \
  "$id|steps.sh|COMPLETED| $id.batch|batch|COMPLETED|1 $id.0|bash|COMPLETED|4 $id.1|true|COMPLETED|1 " "steps in sacct"
expect_eq "$(sacct -n -X -P -j "$id" --format=JobID | wc -l)" "1" "sacct -X hides steps"

# squeue -s lists a running step; scancel kills its tasks and ends srun.
timeout 60 srun -N2 -n2 -J sleeper bash -c 'echo started; sleep 3141' > sleeper.out 2>&1 &
srun_pid=$!
step_running() { squeue -h -s | grep -q sleeper; }
wait_until 15 step_running || fail "the step never showed in squeue -s"
line=$(squeue -s | grep sleeper)
expect_match "$line" '^ +[0-9]+\.0 +sleeper +debug +[^ ]+ +[0-9:]+ node\[1-2\]$' "squeue -s line"
expect_match "$(squeue -s | head -1)" '^ +STEPID +NAME PARTITION +USER +TIME NODELIST$' "squeue -s header"
jid=$(awk '{print $1}' <<<"$line" | cut -d. -f1)
scancel "$jid"
wait "$srun_pid"
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok || fail "srun after scancel returned $rc"
wait_until 10 job_done "$jid" || fail "cancelled job did not end"
expect_match "$(job_state "$jid")" "^CANCELLED" "cancelled allocation"
# The step ends at once; its tasks within KillWait.
wait_until 10 bash -c '! pgrep -f "[s]leep 3141"' && ok || fail "scancel did not kill the step's tasks"
expect_eq "$(sacct -n -P -j "$jid.0" --format=State)" "CANCELLED" "cancelled step in sacct"

# A task that ignores SIGTERM dies of SIGKILL after KillWait, after its job has ended: srun
# waits for that end and reports it (128 + 9), not the job's early end as a success.
timeout 60 srun -n1 -J stubborn bash -c 'trap "" TERM INT; echo started; sleep 3143' > stubborn.out 2>&1 &
srun_pid=$!
wait_until 15 bash -c "grep -q started stubborn.out" || fail "the stubborn task never started"
scancel "$(squeue -h -n stubborn -o %i)"
wait "$srun_pid"
expect_eq "$?" "137" "srun after scancel of a task that ignores SIGTERM"

# Ctrl-C on srun, as Slurm's: a first one prints the tasks' states and the step runs on; a
# second within a second sends SIGINT to the tasks and ends the step, and srun's exit code is
# the task's (130: killed by SIGINT). (timeout --foreground passes every signal on to srun; without
# it, timeout ignores SIGINT after the first.)
timeout --foreground 60 srun -n1 bash -c 'sleep 3142' > /dev/null 2>ctrlc.err &
srun_pid=$!
sleep_running() { pgrep -f '[s]leep 3142' >/dev/null; }
wait_until 15 sleep_running || fail "the task never started"
kill -INT "$srun_pid"
sleep 2.5  # well past the second, even when srun sees the first one late
kill -0 "$srun_pid" 2>/dev/null && sleep_running && ok || fail "one Ctrl-C ended the step"
kill -INT "$srun_pid"
sleep 0.3
kill -INT "$srun_pid"
wait "$srun_pid"
rc=$?
expect_eq "$rc" "130" "srun after a double Ctrl-C"
wait_until 10 bash -c '! pgrep -f "[s]leep 3142"' && ok || fail "Ctrl-C did not end the task"
sid=$(grep -o 'StepId=[0-9]*\.0' ctrlc.err | head -1)
expect_eq "$(cat ctrlc.err)" "$(printf '%s\n' \
  'srun: interrupt (one more within 1 sec to abort)' "srun: $sid task 0: running" \
  'srun: interrupt (one more within 1 sec to abort)' "srun: $sid task 0: running" \
  "srun: sending Ctrl-C to $sid" 'srun: forcing job termination' \
  'srun: Job step aborted: Waiting up to 3 seconds for job step to finish.')" "Ctrl-C messages"

# A task that ignores SIGINT and SIGTERM: a third Ctrl-C leaves at once; KillWait ends it.
timeout --foreground 60 srun -n2 bash -c 'trap "" INT TERM; sleep 3143' > /dev/null 2>ctrlc.err &
srun_pid=$!
wait_until 15 bash -c 'pgrep -f "[s]leep 3143" >/dev/null' || fail "the tasks never started"
kill -INT "$srun_pid"; sleep 0.2; kill -INT "$srun_pid"; sleep 0.2; kill -INT "$srun_pid"
wait "$srun_pid"
expect_eq "$?" "130" "srun after a third Ctrl-C"
expect_match "$(cat ctrlc.err)" $'StepId=[0-9]+\\.0 tasks 0-1: running\n' "status of two tasks"
expect_match "$(cat ctrlc.err)" $'\nsrun: job abort in progress$' "third Ctrl-C"
wait_until 10 bash -c '! pgrep -f "[s]leep 3143"' && ok || fail "KillWait did not end the tasks"

# -X (--disable-status): the first Ctrl-C already interrupts.
timeout --foreground 60 srun -X -n1 sleep 3144 > /dev/null 2>ctrlc.err &
srun_pid=$!
wait_until 15 bash -c 'pgrep -f "[s]leep 3144" >/dev/null' || fail "the task never started"
kill -INT "$srun_pid"
wait "$srun_pid"
expect_eq "$?" "130" "srun -X after one Ctrl-C"
expect_match "$(head -1 ctrlc.err)" '^srun: sending Ctrl-C to StepId=' "srun -X message"

# scancel of an array task's step (12_3.0): that step only; the task's script runs on.
aid=$(sbatch --parsable --array=1-2 -o /dev/null --wrap 'srun sleep 315$SLURM_ARRAY_TASK_ID; echo after > step-$SLURM_ARRAY_TASK_ID.txt; sleep 2')
wait_until 20 bash -c 'pgrep -f "[s]leep 3151" >/dev/null && pgrep -f "[s]leep 3152" >/dev/null' ||
  fail "the array's steps never started"
# squeue -s names an array task's step as Slurm does (ARRAYJOB_TASK.STEP), selectable that way.
expect_eq "$(squeue -h --steps="${aid}_2.0" | awk '{print $1}')" "${aid}_2.0" \
  "squeue -s of an array task's step"
expect_eq "$(squeue -h -s -j "$aid" | awk '{print $1}' | sort | tr '\n' ' ')" "${aid}_1.0 ${aid}_2.0 " \
  "squeue -s of a whole array's steps"
scancel "${aid}_1.0" 2>err.txt
expect_eq "$?:$(cat err.txt)" "0:" "scancel ${aid}_1.0"
wait_until 10 bash -c '! pgrep -f "[s]leep 3151"' && ok || fail "scancel did not end the array task's step"
wait_until 10 test -f step-1.txt && ok || fail "the array task's script did not run on"
pgrep -f "[s]leep 3152" >/dev/null && ok || fail "scancel ${aid}_1.0 reached the other task"
scancel "${aid}_9.0" 2>err.txt
expect_eq "$?:$(cat err.txt)" "1:scancel: error: Kill job error on job step id ${aid}_9.0: Invalid job id specified" "scancel of a missing array task's step"
scancel "$aid"

finish

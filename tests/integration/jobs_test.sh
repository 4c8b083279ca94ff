#!/usr/bin/env bash
# Batch jobs end to end on a 4-node cluster: output, environment, arrays, dependencies,
# failures, time limits and cancellation, all through the Slurm-named commands.
source "$(dirname "$0")/lib.sh"
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 4 --cpus-per-node 2 --config "$WORK/slurm.conf"

# A plain job: "Submitted batch job N", default output file, Slurm's variables.
out=$(sbatch --wrap 'echo "id=$SLURM_JOB_ID jobid=$SLURM_JOBID name=$SLURM_JOB_NAME nodes=$SLURM_JOB_NODELIST n=$SLURM_NNODES tasks=$SLURM_NTASKS node=$SLURMD_NODENAME dir=$SLURM_SUBMIT_DIR part=$SLURM_JOB_PARTITION"')
expect_match "$out" '^Submitted batch job [0-9]+$' "sbatch output"
id=${out##* }
wait_until 10 job_done "$id" || fail "job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "plain job state"
expect_match "$(cat "slurm-$id.out")" "^id=$id jobid=$id name=wrap nodes=node[1-4] n=1 tasks=1 node=node[1-4] dir=$WORK part=debug$" "job environment"
expect_eq "$(sacct -n -X -P -j "$id" --format=ExitCode)" "0:0" "exit code of a good job"

# A script with #SBATCH directives, the command line overriding one of them.
cat > job.sh <<'S'
#!/bin/bash
#SBATCH -J from-script
#SBATCH -o custom-%x-%j.out
#SBATCH --ntasks=3
#SBATCH -N 1-2
echo "tasks=$SLURM_NTASKS name=$SLURM_JOB_NAME"
S
id=$(sbatch --parsable -J from-cli job.sh)
expect_match "$id" '^[0-9]+$' "--parsable prints the id alone"
wait_until 10 job_done "$id" || fail "script job did not finish"
expect_eq "$(cat "custom-from-cli-$id.out")" "tasks=3 name=from-cli" "directives and overrides"

# Arguments after the script reach it as $1, $2, ... exactly as given.
cat > args.sh <<'S'
#!/bin/bash
printf '%s|' "$#" "$@"
S
id=$(sbatch --parsable -o args.out args.sh one "two words" '' "\$HOME")
wait_until 10 job_done "$id" || fail "job with arguments did not finish"
expect_eq "$(cat args.out)" '4|one|two words||$HOME|' "script arguments"

# A failing job.
id=$(sbatch --parsable -o fail.out --wrap 'echo oops; exit 3')
wait_until 10 job_done "$id" || fail "failing job did not finish"
expect_eq "$(job_state "$id")" "FAILED" "failing job state"
expect_eq "$(sacct -n -X -P -j "$id" --format=ExitCode)" "3:0" "failing job exit code"

# A job array with a throttle: every task runs once, never more than 2 at a time.
id=$(sbatch --parsable -a 1-6%2 -o 'arr-%A_%a.out' --wrap 'date +%s.%N > running.$SLURM_ARRAY_TASK_ID; echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT"; sleep 0.5; rm running.$SLURM_ARRAY_TASK_ID')
max_running=0
for _ in $(seq 1 100); do
  n=$(squeue -h -t R -j "$id" | wc -l)
  [ "$n" -gt "$max_running" ] && max_running=$n
  queue_empty && break
  sleep 0.1
done
wait_until 20 queue_empty || fail "array did not finish"
[ "$max_running" -le 2 ] && ok || fail "array throttle: saw $max_running tasks running at once"
for t in 1 2 3 4 5 6; do
  expect_eq "$(cat "arr-${id}_$t.out" 2>/dev/null)" "$id $t 6" "array task $t output"
done
expect_eq "$(sacct -n -X -P -j "$id" --format=State | sort | uniq -c | awk '{print $1, $2}')" "6 COMPLETED" "array task states"

# A dependency chain runs in order; afterok on a failed job never runs.
a=$(sbatch --parsable -o /dev/null --wrap 'sleep 1; echo a >> chain.txt')
b=$(sbatch --parsable -o /dev/null -d afterok:$a --wrap 'echo b >> chain.txt')
c=$(sbatch --parsable -o /dev/null -d afterany:$b --wrap 'echo c >> chain.txt')
wait_until 5 bash -c "squeue -h -j $c -o %r | grep -qx Dependency" || fail "pending reason of a dependent job is not Dependency"
wait_until 15 job_done "$c" || fail "chain did not finish"
expect_eq "$(tr '\n' ' ' < chain.txt)" "a b c " "dependency order"
f=$(sbatch --parsable -o /dev/null --wrap 'exit 1')
d=$(sbatch --parsable -o /dev/null -d afterok:$f --wrap 'echo never > never.txt')
wait_until 10 job_done "$f" || fail "failing dependency did not finish"
wait_until 5 bash -c "squeue -h -j $d -o %r | grep -q DependencyNeverSatisfied" || fail "DependencyNeverSatisfied not shown"
scancel "$d"
wait_until 5 job_done "$d" || fail "cancel of a pending job"
expect_eq "$(job_state "$d")" "CANCELLED by $(id -u)" "cancelled pending job"
[ ! -e never.txt ] && ok || fail "a job with an unsatisfiable dependency ran"

# scancel reaches the whole process tree of a running job.
id=$(sbatch --parsable -o tree.out --wrap 'sleep 300 & echo $! > child.pid; wait')
wait_until 10 test -s child.pid || fail "tree job did not start"
child=$(cat child.pid)
scancel "$id"
wait_until 10 job_done "$id" || fail "cancelled running job did not end"
expect_eq "$(job_state "$id")" "CANCELLED by $(id -u)" "cancelled running job"
wait_until 5 bash -c "! kill -0 $child" || fail "a child of a cancelled job survived"

# Hold and release.
id=$(sbatch --parsable -H -o /dev/null --wrap true)
expect_eq "$(squeue -h -j "$id" -o %r)" "JobHeldUser" "held job reason"
scontrol release "$id"
wait_until 10 job_done "$id" || fail "released job did not run"
expect_eq "$(job_state "$id")" "COMPLETED" "released job state"

finish

#!/usr/bin/env bash
# TaskPlugin=task/cgroup with ConstrainRAMSpace=yes: a batch job and an srun step each run in
# their own cgroup below the agent's (shoal/<node>/job_<id>/step_<batch|N>), limited to the
# job's memory; a job that goes past it is killed by the kernel and ends OUT_OF_MEMORY with
# Slurm's "oom_kill event" line; the cgroups are gone once the job is. Needs root and a
# writable cgroup hierarchy with a memory controller (v1 or delegated v2); skips otherwise.
source "$(dirname "$0")/lib.sh"
printf 'TaskPlugin=task/affinity,task/cgroup\nConstrainRAMSpace=yes\nKillWait=1\n' > slurm.conf
start_cluster --nodes 1 --cpus-per-node 2 --config "$WORK/slurm.conf"
expect_match "$(scontrol show config | grep '^TaskPlugin')" "task/affinity,task/cgroup" \
  "scontrol show config: TaskPlugin"

# The agent prepares the cgroups when it registers; its log says whether it could.
agent_log=("$SHOAL_STATE_DIR"/agents/*/agent.log)
wait_until 5 grep -qE "jobs run (in|without) cgroups" "${agent_log[@]}" ||
  fail "the agent said nothing about cgroups"
if grep -q "jobs run without cgroups" "${agent_log[@]}" ||
  grep -q "memory limits are not enforced" "${agent_log[@]}"; then
  echo "SKIP: no writable cgroup with a memory controller here:"
  grep -h "TaskPlugin=task/cgroup" "${agent_log[@]}"
  FINISHED=1
  exit 77
fi

# A job within its limit: its processes are in its own cgroup, limited to --mem.
id=$(sbatch --parsable --mem=64M -o out.txt --wrap 'cat /proc/self/cgroup; sleep 2')
wait_until 10 grep -q "job_$id/step_batch" out.txt || fail "the job is not in its own cgroup"
memory_path=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' out.txt | cut -d: -f3)
if [ -n "$memory_path" ]; then  # cgroup v1
  mount_point=$(findmnt -n -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /(^|,)memory(,|$)/ {print $1}')
  job_dir=$mount_point$(dirname "$memory_path")
  limit_file=memory.limit_in_bytes
else  # cgroup v2
  job_dir=/sys/fs/cgroup$(dirname "$(grep '^0::' out.txt | cut -d: -f3)")
  limit_file=memory.max
fi
expect_match "$job_dir" "/shoal/node1/job_$id$" "the job's cgroup sits under shoal/<node>"
expect_eq "$(cat "$job_dir/$limit_file" 2>&1)" "$((64 << 20))" "the cgroup's memory limit is --mem"
wait_until 15 job_done "$id" || fail "job $id did not end"
expect_eq "$(job_state "$id")" "COMPLETED" "a job within its memory ends COMPLETED"
wait_until 5 test ! -e "$job_dir" || fail "the job's cgroup $job_dir was not removed"

# A job past its limit: the kernel kills it, the job ends OUT_OF_MEMORY, and its error file
# says so in Slurm's words (tail holds a whole line of 200 MB of zeros in memory).
oom=$(sbatch --parsable --mem=32M -o oom.txt --wrap 'head -c 200M /dev/zero | tail > /dev/null')
wait_until 20 job_done "$oom" || fail "job $oom did not end"
wait_until 5 bash -c "[ \"\$(sacct -n -X -P -j $oom --format=State)\" = OUT_OF_MEMORY ]" ||
  fail "a job past its memory limit is $(job_state "$oom"), not OUT_OF_MEMORY"
expect_match "$(cat oom.txt)" \
  "slurmstepd: error: Detected [0-9]+ oom_kill events? in StepId=$oom.batch. Some of the step tasks have been OOM Killed." \
  "the error file names the oom kill"
expect_eq "$(sacct -n -X -P -j "$oom" --format=ExitCode)" "0:125" "sacct's exit code for OUT_OF_MEMORY"

# An srun step past its limit: srun fails and says why; the step is OUT_OF_MEMORY.
step_job=$(srun --mem=32M sh -c 'echo $SLURM_JOB_ID; head -c 200M /dev/zero | tail > /dev/null' \
  2>srun.err)
rc=$?
[ "$rc" -ne 0 ] || fail "srun of a step past its memory limit exited 0"
expect_match "$(cat srun.err)" "Detected [0-9]+ oom_kill events? in StepId=$step_job\.0\." \
  "srun shows the oom kill"
wait_until 5 bash -c "sacct -n -P -j $step_job --format=JobID,State | grep -q '^$step_job.0|OUT_OF_MEMORY$'" ||
  fail "step $step_job.0 is not OUT_OF_MEMORY: $(sacct -n -P -j "$step_job" --format=JobID,State | tr '\n' ' ')"

# Nothing is left behind under the node's cgroup.
parent=$(dirname "$job_dir")
wait_until 5 bash -c "[ -z \"\$(find '$parent' -mindepth 1 -maxdepth 1 -type d -name 'job_*')\" ]" ||
  fail "cgroups left behind: $(find "$parent" -mindepth 1 -maxdepth 1 -type d -name 'job_*')"
finish

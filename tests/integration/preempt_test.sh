#!/usr/bin/env bash
# QOS and preemption (PreemptType=preempt/qos): on a one-node cluster a job of QOS "high"
# preempts a running job of QOS "low", which is requeued (REQUEUE), waits for the high job and
# then runs again to completion. QOS limits refuse or hold jobs with Slurm's words.
source "$(dirname "$0")/lib.sh"

state_of() { squeue -h -j "$1" -o %T 2>/dev/null; }
reason_of() { squeue -h -j "$1" -o %r 2>/dev/null; }
running() { [ "$(state_of "$1")" == "RUNNING" ]; }

cat > "$WORK/slurm.conf" <<'EOF'
KillWait=1
MinJobAge=600
PriorityWeightQOS=1000
PreemptType=preempt/qos
PreemptMode=REQUEUE
QOS=high Priority=100 Preempt=low
QOS=low MaxJobsPerUser=1 MaxSubmitJobsPerUser=3 MaxWall=10
EOF
start_cluster --nodes 1 --cpus-per-node 2 --config "$WORK/slurm.conf"

# The low job records each of its runs; the node is full while it runs.
low=$(sbatch --parsable -q low -c 2 -t 5 -o low.out --wrap 'echo run >> low.runs; sleep 3; echo done >> low.runs')
wait_until 10 running "$low" || fail "low job did not start"
expect_eq "$(squeue -h -j "$low" -o %q)" "low" "squeue %q shows the QOS"
expect_match "$(scontrol show job "$low")" "QOS=low" "scontrol shows QOS="

high=$(sbatch --parsable -q high -c 2 -t 5 -o high.out --wrap 'echo high > high.ran; sleep 1')
wait_until 10 running "$high" || fail "high job did not start by preemption ($(reason_of "$high"))"
expect_eq "$(state_of "$low")" "PENDING" "preempted job is pending again"
expect_match "$(scontrol show job "$low")" "Restarts=1" "requeued job's restart count"
expect_eq "$(reason_of "$low")" "BeginTime" "requeued job waits for the preemptor"
grep -q "job $low preempted (requeued) for job $high" "$SHOAL_STATE_DIR/controller.log" && ok ||
  fail "controller log names the preemption"

wait_until 15 job_done "$high" || fail "high job did not finish"
expect_eq "$(job_state "$high")" "COMPLETED" "high job completed"
wait_until 20 job_done "$low" || fail "requeued low job did not finish"
expect_eq "$(job_state "$low")" "COMPLETED" "requeued low job completed"
expect_eq "$(tr '\n' ' ' < low.runs)" "run run done " "low job was stopped once and ran again"
expect_eq "$(sacct -n -X -P -j "$high" --format=QOS)" "high" "sacct shows the QOS"

# Refusals at submit, as Slurm words them.
out=$(sbatch -q nosuch --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "unknown QOS exit status"
expect_eq "$out" "sbatch: error: Batch job submission failed: Invalid qos specification" \
  "unknown QOS message"
out=$(sbatch -q low -t 11 --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "MaxWall exit status"
expect_eq "$out" "sbatch: error: QOSMaxWallDurationPerJobLimit
sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)" \
  "MaxWall message"

# MaxJobsPerUser=1: the second low job waits; MaxSubmitJobsPerUser=3: a fourth is refused.
a=$(sbatch --parsable -q low -t 1 --wrap 'sleep 3')
b=$(sbatch --parsable -q low -t 1 --wrap 'sleep 1')
c=$(sbatch --parsable -q low -t 1 --wrap 'sleep 1')
wait_until 10 running "$a" || fail "first low job did not start"
wait_until 10 bash -c "[ \"\$(squeue -h -j $b -o %r)\" == QOSMaxJobsPerUserLimit ]" ||
  fail "second low job's reason: '$(reason_of "$b")'"
out=$(sbatch -q low -t 1 --wrap true 2>&1); rc=$?
expect_eq "$rc" "1" "MaxSubmitJobsPerUser exit status"
expect_eq "$out" "sbatch: error: QOSMaxSubmitJobPerUserLimit
sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)" \
  "MaxSubmitJobsPerUser message"
wait_until 30 job_done "$c" || fail "low jobs did not run one after another"
expect_eq "$(job_state "$b")" "COMPLETED" "second low job completed"
finish

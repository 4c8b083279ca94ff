#!/usr/bin/env bash
# Toil 5.9's Slurm batch system runs a small workflow on shoal unchanged: sbatch -J/--export=ALL,
# K=V/--mem/--cpus-per-task/-o/-e --wrap, squeue -h --format '%i %t %M', sacct -n -P --format
# JobIDRaw,State,ExitCode -S 1970-01-01, and `scontrol show config` for its polling interval.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$SRC/lib.sh"
require_python_module toil.batchSystems.slurm
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

# Toil reads "NAME = VALUE UNIT" off these two lines when no polling interval is given.
config=$(scontrol show config)
expect_match "$config" $'\nSchedulerTimeSlice += 30 sec\n' "show config: SchedulerTimeSlice"
expect_match "$config" $'\nAcctGatherNodeFreq += 0 sec\n' "show config: AcctGatherNodeFreq"

cp "$SRC/clients/toil_workflow.py" .
timeout 240 python3 toil_workflow.py ./jobstore out.txt > toil.log 2>&1
expect_eq "$?" "0" "the Toil workflow's exit code"
expect_match "$(grep -c 'Finished toil run successfully' toil.log)" '^1$' "Toil reports success"
out=$(cat out.txt 2>/dev/null)
expect_match "$out" '^sum 14 jobs [0-9]+ [0-9]+ [0-9]+ [0-9]+$' "1+4+9 summed by the follow-on job"
# Each Toil job ran as its own shoal batch job, all COMPLETED (the leader's fan-out job too).
jobs=$(sed 's/^sum 14 jobs //' <<<"$out")
expect_eq "$(tr ' ' '\n' <<<"$jobs" | sort -u | wc -l)" "4" "four Toil jobs, four shoal jobs"
expect_eq "$(sacct -n -X -P --format=JobName,State | grep -c '^toil_job_.*|COMPLETED$')" "5" \
  "Toil's five batch jobs COMPLETED in sacct"
[ "$FAILURES" -eq 0 ] || { echo "--- toil.log"; tail -40 toil.log; }

finish

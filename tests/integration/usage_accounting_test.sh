#!/usr/bin/env bash
# The accounting records keep what jobs used: sacct's UserCPU, SystemCPU and TotalCPU for the
# batch script, for each step (summed over its nodes) and for the job (script and steps), and
# MaxRSS with the node where it was, from the processes' resource usage as they ended.
source "$(dirname "$0")/lib.sh"

start_cluster --nodes 2 --cpus-per-node 2
cat > "$WORK/busy.py" <<'SCRIPT'
import time
x = b"x" * (60 * 1024 * 1024)  # written, so resident
t = time.process_time()
while time.process_time() - t < 0.6:
    pass
SCRIPT
cat > "$WORK/job.sh" <<SCRIPT
#!/bin/sh
python3 $WORK/busy.py
srun -N2 -n2 python3 $WORK/busy.py
SCRIPT
id=$(sbatch --parsable -N2 -n2 -o /dev/null "$WORK/job.sh")
wait_until 60 job_done "$id" || fail "job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "the job completed"

# "MM:SS.mmm" in milliseconds (a longer form means far too much).
ms() { awk -F'[:.]' '{ if (NF == 3) print ($1 * 60 + $2) * 1000 + $3; else print 999999999 }' <<<"$1"; }
fields=$(sacct -n -P -j "$id" --format=JobID,UserCPU,SystemCPU,TotalCPU,MaxRSS,MaxRSSNode)
line() { grep "^$1|" <<<"$fields"; }
IFS='|' read -r _ batch_user _ batch_total batch_rss batch_node <<<"$(line "$id.batch")"
IFS='|' read -r _ step_user _ step_total step_rss step_node <<<"$(line "$id.0")"
IFS='|' read -r _ job_user _ job_total job_rss _ <<<"$(line "$id")"
check() { if eval "$1"; then CHECKS=$((CHECKS + 1)); else fail "$2 ($fields)"; fi; }
# Each busy process burns 0.6 s of CPU (user and system: writing 60 MB faults pages in).
check '[ "$(ms "$batch_total")" -ge 550 ]' "the script's TotalCPU $batch_total is under 0.55 s"
check '[ "$(ms "$step_total")" -ge 1100 ]' "the step's TotalCPU $step_total is under 2 x 0.55 s"
check '[ "$(ms "$batch_user")" -gt 0 ] && [ "$(ms "$step_user")" -gt 0 ]' "no UserCPU recorded"
check '[ "${batch_rss%K}" -ge 60000 ] 2>/dev/null' "the script's MaxRSS $batch_rss is under 60 MB"
check '[ "${step_rss%K}" -ge 60000 ] 2>/dev/null' "the step's MaxRSS $step_rss is under 60 MB"
expect_match "$batch_node" '^node[12]$' "the script's MaxRSSNode"
expect_match "$step_node" '^node[12]$' "the step's MaxRSSNode"
# (each figure is cut to whole milliseconds, so the sum may be off by one or two)
diff=$(( $(ms "$job_total") - $(ms "$batch_total") - $(ms "$step_total") ))
check '[ "${diff#-}" -le 2 ]' "the job's TotalCPU $job_total is not its script's and its step's"
expect_eq "$job_rss" "" "no MaxRSS on the job's own line"
# -X still counts the steps' CPU in the job's line.
expect_eq "$(sacct -n -P -X -j "$id" --format=TotalCPU)" "$job_total" "TotalCPU with -X"
finish

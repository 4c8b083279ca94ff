#!/usr/bin/env bash
# sstat: the live usage of a running job's batch script and srun steps, read on demand from the
# nodes (/proc): CPU time that grows between two calls, MaxRSS of a process holding 100 MB,
# parsable output, which steps show without a step or with -a, -i's pids, Slurm's errors for an
# unknown job, a pending one, a missing step and a finished job (exit status 0, as Slurm's), and
# PrivateData=jobs hiding the job from another user.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

cat > "$WORK/slurm.conf" <<'CONF'
PrivateData=jobs
CONF
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

# Holds MB megabytes (written, so resident) and burns CPU until the stop file appears (or 60 s).
cat > "$WORK/busy.py" <<'SCRIPT'
import os, sys, time
x = b"x" * (int(sys.argv[1]) * 1024 * 1024)
end = time.time() + 60
while time.time() < end and not os.path.exists(sys.argv[2]):
    pass
SCRIPT
cat > "$WORK/job.sh" <<SCRIPT
#!/bin/sh
srun -N2 -n2 python3 $WORK/busy.py 20 $WORK/stop &
python3 $WORK/busy.py 100 $WORK/stop
wait
SCRIPT
id=$(sbatch --parsable -N2 -n2 -o /dev/null "$WORK/job.sh")
steps() { sstat -a -n -P -j "$id" --format=JobID 2>/dev/null | tr '\n' ' '; }
wait_until 15 bash -c "[ \"\$(sstat -a -n -P -j $id --format=JobID 2>/dev/null | wc -l)\" = 2 ]" ||
  fail "job $id did not show its batch script and step 0: '$(steps)'"
expect_eq "$(steps)" "$id.batch $id.0 " "-a shows the batch script, then step 0"
# Without a step: the lowest numbered srun step only.
expect_eq "$(sstat -n -P -j "$id" --format=JobID,NTasks,Nodelist)" "$id.0|2|node[1-2]" \
  "no step given: step 0, on both nodes"

# "00:00:07" (or "1-00:00:07") in seconds.
secs() { awk -F'[-:]' '{ if (NF == 4) print $1 * 86400 + $2 * 3600 + $3 * 60 + $4;
                         else print $1 * 3600 + $2 * 60 + $3 }' <<<"$1"; }
# "117328K", "100M", "45208917" in bytes.
bytes() { awk '{ n = $1 + 0; u = substr($1, length($1));
                 m = (u == "K") ? 1024 : (u == "M") ? 1048576 : (u == "G") ? 1073741824 : 1;
                 printf "%.0f\n", n * m }' <<<"$1"; }
# The script holds its 100 MB once the allocation is written, which on a loaded machine takes
# a moment after the job starts: poll (up to 20 s) before the check below.
for _ in $(seq 80); do
  rss=$(sstat -n -P -j "$id.batch" --format=MaxRSS 2>/dev/null)
  [ "$(bytes "${rss:-0}")" -ge $((100 * 1024 * 1024)) ] && break
  sleep 0.25
done
start=$(date +%s%N)
line1=$(sstat -n -P -j "$id.batch" --format=JobID,MaxRSS,AveCPU)
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
IFS='|' read -r jid rss cpu1 <<<"$line1"
expect_eq "$jid" "$id.batch" "-P -n --format=JobID,MaxRSS,AveCPU names the batch step"
if [ "$(bytes "$rss")" -ge $((100 * 1024 * 1024)) ]; then ok; else fail "MaxRSS $rss < 100M"; fi
# AveCPU counts whole seconds, and a loaded machine may give the job little CPU: poll (up to 20 s)
# until it grows.
cpu2=$cpu1
for _ in $(seq 80); do
  [ "$(secs "$cpu2")" -gt "$(secs "$cpu1")" ] && break
  sleep 0.25
  IFS='|' read -r _ _ cpu2 <<<"$(sstat -n -P -j "$id.batch" --format=JobID,MaxRSS,AveCPU)"
done
if [ "$(secs "$cpu2")" -gt "$(secs "$cpu1")" ]; then ok; else
  fail "AveCPU did not grow: $cpu1 then $cpu2"
fi
noconv=$(sstat -n -P --noconvert -j "$id.batch" --format=MaxRSS)
expect_match "$noconv" '^[0-9]+$' "--noconvert prints bytes"
step_line=$(sstat -n -P -j "$id.0" -o JobID,MaxRSS,NTasks,MaxRSSNode)
IFS='|' read -r _ srss sntasks snode <<<"$step_line"
srss_b=$(bytes "$srss")
if [ "$srss_b" -ge $((20 << 20)) ] && [ "$srss_b" -lt $((100 << 20)) ]; then ok; else
  fail "step 0's MaxRSS $srss is not its own 20 MB"
fi
expect_match "$sntasks|$snode" '^2\|node[12]$' "step 0's NTasks and the node of its MaxRSS"
pidlines=$(sstat -n -p -i -j "$id.0" | tr '\n' ' ')
pids='[0-9]+(,[0-9]+)*'
expect_match "$pidlines" "^$id\\.0\\|node1\\|$pids\\| $id\\.0\\|node2\\|$pids\\| \$" \
  "-i lists the step's pids on each node"
header=$(sstat -j "$id" | head -2)
expect_match "$header" '^JobID         MaxVMSize  MaxVMSizeNode  MaxVMSizeTask  AveVMSize ' \
  "the default columns are Slurm's"

# --- errors: Slurm's words, on stderr after the header, and exit status 0 ---
out=$(sstat -j 999999 -o JobID 2>&1)
expect_eq "$?" "0" "an unknown job is no failure of sstat"
expect_eq "$out" $'JobID        \n------------ \nsstat: error: couldn\'t get steps for job 999999' \
  "unknown job"
expect_eq "$(sstat -n -j "$id.5" 2>&1)" "sstat: error: StepId=$id.5 not found running." \
  "a step that does not run"
held=$(sbatch --parsable -H -o /dev/null --wrap true)
expect_eq "$(sstat -n -j "$held" 2>&1)" "sstat: error: No steps running for job $held" "pending"
expect_eq "$(sstat -n -j "$held.batch" 2>&1)" \
  "sstat: error: StepId=$held.batch not found running." "a pending job's batch step"
scancel "$held"
out=$(sstat -j abc 2>&1)
expect_eq "$?|$out" "1|sstat: fatal: Bad job/step specified: abc" "a bad job id"
out=$(sstat -o JobID 2>&1)
expect_eq "$?|$out" "1|sstat: error: You didn't give me any jobs to stat." "no job at all"
out=$(sstat -j "$id" -o JobID,Bogus 2>&1)
expect_eq "$?|$out" '1|sstat: error: Invalid field requested: "Bogus"' "an unknown field"

# --- PrivateData=jobs: another user sees nothing of it ---
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
  chmod 755 "$SHOAL_STATE_DIR" "$WORK"
  mkdir "$WORK/bin" && cp "$BIN/shoal" "$WORK/bin/shoal" && ln -s shoal "$WORK/bin/sstat"
  chmod 755 "$WORK/bin" "$WORK/bin/shoal"
  out=$(setpriv --reuid nobody --regid nogroup --clear-groups env -i PATH=/usr/bin:/bin \
    SHOAL_STATE_DIR="$SHOAL_STATE_DIR" "$WORK/bin/sstat" -n -a -j "$id" 2>&1)
  expect_eq "$out" "sstat: error: couldn't get steps for job $id" "nobody cannot see root's job"
else
  echo "(skipped the other-user check: needs the user nobody and setpriv)"
fi

touch "$WORK/stop"
wait_until 20 job_done "$id" || fail "job $id did not finish"
expect_eq "$(sstat -n -j "$id" 2>&1)" "sstat: error: No steps running for job $id" "finished job"
echo "one sstat of a running job took ${took_ms} ms"
finish

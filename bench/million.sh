#!/usr/bin/env bash
# A million jobs through one controller (issue 12): `shoal up --nodes 0`, NODES emulated nodes
# (`shoal sim agents --job-time instant`, the real agent protocol), then ARRAYS job arrays of
# ARRAY_SIZE tasks (sbatch) and SINGLES single jobs (durable submissions through the API, 16
# connections), all eligible at once. It prints the submission time of each kind, jobs started
# per second (from the controller's own counter), the end-to-end time from the first submission
# to the last completion, the controller's CPU and its peak RSS (sampled every second), and
# checks that every job was accounted COMPLETED. The baseline in the same run is the rate of the
# first 10 % of the jobs.
#
#   bash bench/million.sh                                   # 900 arrays of 1,000 + 100,000 singles
#   ARRAYS=90 SINGLES=10000 NODES=500 bash bench/million.sh # a tenth of it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
NODES=${NODES:-1000}
ARRAYS=${ARRAYS:-900}
ARRAY_SIZE=${ARRAY_SIZE:-1000}
SINGLES=${SINGLES:-100000}
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
source "$root/bench/lib.sh"
start_work million

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.1f'; }
total=$((ARRAYS * ARRAY_SIZE + SINGLES))
# Finished jobs are forgotten by the controller a minute after they end (they stay in the
# store and in sacct), as a busy site would configure it.
printf 'SlurmdTimeout=10\nMaxArraySize=%d\nMinJobAge=60\n' $((ARRAY_SIZE + 1)) > "$work/slurm.conf"
shoal up --nodes 0 --config "$work/slurm.conf" >/dev/null
ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' \
  "$SHOAL_STATE_DIR/cluster.json")
shoal sim agents --count "$NODES" --cpus-per-node 4 --job-time instant > "$work/emu.log" 2>&1 &
emu=$!
deadline=$(($(date +%s) + 300))
until [ "$(sinfo -h -N -o %T 2>/dev/null | grep -cx idle)" = "$NODES" ]; do
  [ "$(date +%s)" -gt "$deadline" ] && { echo "not all $NODES nodes registered"; exit 1; }
  sleep 0.5
done
# Peak RSS and the started counter, once a second, in the background.
( while sleep 1; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$ctl/status" 2>/dev/null) || break
    started=$(curl -s --unix-socket "$SHOAL_STATE_DIR/controller.sock" http://localhost/metrics \
      | awk '$1 == "shoal_jobs_started_total" {print $2}')
    echo "$(date +%s.%N) $rss ${started:-0}"
  done ) > "$work/samples" &
sampler=$!

cpu0=$(awk '{print $14 + $15}' "/proc/$ctl/stat")
t0=$(now)
if [ "$SINGLES" -gt 0 ]; then
  "$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$SINGLES" 16 0 eligible \
    | head -1 &
  singles=$!
fi
for _ in $(seq "$ARRAYS"); do
  last_array=$(sbatch --parsable -o /dev/null -a "1-$ARRAY_SIZE" --wrap true)
done
echo "arrays: $ARRAYS x $ARRAY_SIZE submitted in $(since "$t0") s"
[ "$SINGLES" -gt 0 ] && wait "$singles"
echo "all $total submitted after $(since "$t0") s"
# Until no job is left, or only pending ones that nothing starts for 20 s (jobs held after
# failing to start too often: none when all goes well). From the metrics, which cost the
# controller far less than a listing of a million jobs each second.
live() {
  curl -s --unix-socket "$SHOAL_STATE_DIR/controller.sock" http://localhost/metrics \
    | awk '$1 ~ /^shoal_jobs\{state="(pending|running|completing)"/ {
             if ($1 ~ /pending/) p += $2; else r += $2 }
           END {printf "%d %d", p, r}'
}
last_pending=-1 still=0
while read -r pending running < <(live); [ $((pending + running)) -gt 0 ]; do
  if [ "$running" = 0 ] && [ "$pending" = "$last_pending" ]; then
    still=$((still + 1)); [ "$still" -ge 20 ] && break
  else
    still=0
  fi
  last_pending=$pending
  sleep 1
done
elapsed=$(since "$t0")
cpu1=$(awk '{print $14 + $15}' "/proc/$ctl/stat")
kill "$sampler"; sampler=
peak=$(awk '$2 > m {m = $2} END {printf "%.0f", m / 1024}' "$work/samples")
# The baseline: the rate while the first tenth of the jobs started.
first=$(awk -v t0="$t0" -v n=$((total / 10)) '$3 >= n {printf "%.0f", n / ($1 - t0); exit}' \
  "$work/samples")
echo "end to end: $total jobs in $elapsed s = $(echo "$total / $elapsed" | bc -l | xargs printf '%.0f') jobs started/s (first tenth: ${first:-?}/s)"
echo "controller: $(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc -l | xargs printf '%.0f') s CPU," \
  "$(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK) * 1000 / $total" | bc -l | xargs printf '%.2f') ms per job, peak RSS ${peak} MB"
# Every job as the store recorded it: one sacct over a million jobs outlasts the commands'
# 10 s wait for a first byte, so the store is read directly, and sacct checks one array.
python3 - "$SHOAL_STATE_DIR/shoal.db" "$total" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
states = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
print("store: %d of %s COMPLETED %s" % (states.get("COMPLETED", 0), sys.argv[2],
      {k: v for k, v in states.items() if k != "COMPLETED"} or ""))
PY
[ -n "${last_array:-}" ] && echo "sacct -j $last_array: $(sacct -X -n -P -j "$last_array" -o State | sort | uniq -c | xargs)"
echo "nodes declared DOWN for silence: $(grep -c 'nothing heard' "$SHOAL_STATE_DIR/controller.log" || true)," \
  "jobs held: $(squeue -h -t PD 2>/dev/null | wc -l)"

#!/usr/bin/env bash
# The chaos soak (issue 6): a `shoal up` cluster under continuous submissions while
# `shoal chaos soak` crashes, freezes and cuts off nodes and restarts the controller at random.
# Afterwards every acknowledged job must have completed, and no stale copy may outlive the
# fencing window. Prints jobs submitted, completed, lost, and run twice - split into copies that
# finished while their node was cut off or frozen (the controller had already requeued the job;
# no one can reach such a copy before its node is back) and copies that finished after their
# node came back (a fencing failure: must be 0); failure detection time p50/p99 (fault injected
# -> node DOWN in the controller's log); and time from a fault to its requeued jobs running
# again. The baseline in the same run is the configured SlurmdTimeout (Slurm's default: 300 s).
#
#   bash bench/chaos_soak.sh                         # 10 minutes, 4 nodes
#   DURATION=3m NODES=4 TIMEOUT=3 bash bench/chaos_soak.sh
#   SUBMIT_EVERY=1.5 bash bench/chaos_soak.sh        # spare CPUs: a requeued job need not queue
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10m}
NODES=${NODES:-4}
TIMEOUT=${TIMEOUT:-3}   # SlurmdTimeout, seconds
EVERY=${EVERY:-15-40}
OUTAGE=${OUTAGE:-4-10}
ACTIONS=${ACTIONS:-crash,freeze,cut,restart-controller}
# Seconds between submissions. The default 0.5 s submits more than 4 nodes of 2 CPUs run (jobs
# last 2-10 s), so a requeued job waits for a CPU; 1.5 s leaves about a third of them free.
SUBMIT_EVERY=${SUBMIT_EVERY:-0.5}
export PATH="$root/build/bin:$PATH"
work=$(mktemp -d /tmp/shoal-chaos-soak.XXXXXX)
export SHOAL_STATE_DIR=$work/state
trap 'kill $(jobs -p) 2>/dev/null || true; shoal down >/dev/null 2>&1 || true; echo "state kept in $work"' EXIT
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null; then
  ACTIONS=${ACTIONS//,cut/}
  echo "note: no root or no nft: soaking without cuts ($ACTIONS)"
fi

printf 'SlurmdTimeout=%s\nKillWait=1\nMinJobAge=100000\n' "$TIMEOUT" > "$work/slurm.conf"
shoal up --nodes "$NODES" --cpus-per-node 2 --config "$work/slurm.conf" >/dev/null
cd "$work"
# A run leaves "start"; only a run that finishes leaves "done" (appends of one short line are
# atomic, so concurrent jobs never mix their lines).
cat > job.sh <<'SCRIPT'
#!/bin/bash
echo "start $SLURM_JOB_ID ${SLURM_RESTART_COUNT:-0} $SLURMD_NODENAME $(date +%s.%N)" >> marks
sleep $(( (SLURM_JOB_ID % 9) + 2 ))
echo "done $SLURM_JOB_ID ${SLURM_RESTART_COUNT:-0} $SLURMD_NODENAME $(date +%s.%N)" >> marks
SCRIPT

shoal chaos soak --duration "$DURATION" --every "$EVERY" --outage "$OUTAGE" --actions "$ACTIONS" \
  --log faults.jsonl > soak.out 2>&1 &
soak=$!
# Submissions go on throughout; one refused while the controller is down is retried, and only
# an acknowledged id (sbatch printed it) counts as submitted.
: > acked
while kill -0 "$soak" 2>/dev/null; do
  if id=$(sbatch --parsable --requeue -o /dev/null job.sh 2>/dev/null); then echo "$id" >> acked; fi
  sleep "$SUBMIT_EVERY"
done
wait "$soak" || true
cat soak.out
echo "submissions stopped; waiting for the queue to drain"
deadline=$((SECONDS + 600))
until [ -z "$(squeue -h 2>/dev/null)" ] && squeue >/dev/null 2>&1; do
  [ $SECONDS -gt $deadline ] && { echo "queue did not drain in 600 s"; break; }
  sleep 1
done
sacct -n -X -P --format=JobID,State -S 2020-01-01 > accounting

python3 - "$TIMEOUT" <<'PY'
import json, re, sys, statistics, datetime
timeout = float(sys.argv[1])
acked = [int(x) for x in open("acked").read().split()]
state = {}
for line in open("accounting"):
    f = line.strip().split("|")
    if f and f[0].isdigit():
        state[int(f[0])] = f[1]
runs = {}  # job -> [(kind, node, time)]
for line in open("marks"):
    kind, jid, restart, node, when = line.split()
    runs.setdefault(int(jid), []).append((kind, node, float(when)))
done = {j: sum(1 for r in rs if r[0] == "done") for j, rs in runs.items()}
completed = sum(1 for j in acked if state.get(j) == "COMPLETED")
lost = [j for j in acked if state.get(j) != "COMPLETED" or done.get(j, 0) == 0]
twice = [j for j in acked if done.get(j, 0) > 1]
def stamp(line):
    m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\]", line)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()
down, requeued, started, registered = [], {}, [], []
for line in open("state/controller.log"):
    t = stamp(line)
    if t is None:
        continue
    if m := re.search(r"node (\S+) DOWN", line):
        down.append((t, m.group(1)))
    elif m := re.search(r"job (\d+) requeued", line):
        requeued.setdefault(int(m.group(1)), []).append(t)
    elif m := re.search(r"node (\S+) registered", line):
        registered.append((t, m.group(1)))
    elif m := re.search(r"job (\d+) started on", line):
        started.append((t, int(m.group(1))))
faults = [json.loads(l) for l in open("faults.jsonl")]
# A copy that finished twice: was its earlier "done" before its node re-registered after the
# requeue (inside the fencing window) or after (fencing failed)?
inside, past = [], []
for j in twice:
    dones = sorted((t, n) for kind, n, t in runs[j] if kind == "done")
    t_requeue = min(requeued.get(j, [float("inf")]))
    for t, n in dones[:-1] if len(dones) > 1 else []:
        back = [tr for tr, node in registered if node == n and tr > t_requeue]
        (inside if not back or t < min(back) else past).append(j)
print(f"jobs submitted (acknowledged) {len(acked)}, completed {completed}, lost {len(lost)}"
      f" {lost[:10]}, completed twice {len(twice)}: {len(inside)} inside the fencing window"
      f" (the stale copy finished while its node was unreachable) {inside[:10]},"
      f" {len(past)} past it (fencing failures) {past[:10]}; runs started"
      f" {sum(1 for rs in runs.values() for r in rs if r[0] == 'start')}")
detect, recover = [], []
for f in faults:
    if f["phase"] != "start" or f["action"] == "restart-controller":
        continue
    t0 = f["time_ms"] / 1000
    hits = [t for t, n in down if n == f["target"] and t >= t0 - 0.5]
    if not hits:
        continue
    detect.append(min(hits) - t0)
    # Jobs requeued by this node's failure: requeued within 2 s of it going DOWN.
    t_down = min(hits)
    for jid, times in requeued.items():
        for tr in times:
            if abs(tr - t_down) < 2:
                again = [t for t, j in started if j == jid and t > tr]
                if again:
                    recover.append(min(again) - t0)
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")
print(f"faults injected: " + ", ".join(f"{a} {sum(1 for f in faults if f['phase']=='start' and f['action']==a)}"
      for a in ("crash", "freeze", "cut", "restart-controller")))
print(f"failure detection (fault -> node DOWN), {len(detect)} node faults: p50 {pct(detect,50):.2f} s,"
      f" p99 {pct(detect,99):.2f} s, max {max(detect) if detect else float('nan'):.2f} s"
      f" (baseline: SlurmdTimeout {timeout:.0f} s; Slurm's default 300 s)")
print(f"fault -> requeued job running again, {len(recover)} jobs: p50 {pct(recover,50):.2f} s,"
      f" p99 {pct(recover,99):.2f} s")
sys.exit(1 if lost or past else 0)
PY

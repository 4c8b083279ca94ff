#!/usr/bin/env bash
# The demo behind `make demo`: a local 4-node cluster running the example jobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/build/bin:$PATH"
export SHOAL_STATE_DIR="${SHOAL_STATE_DIR:-$HOME/.local/share/shoal}"
work="$root/build/demo"
mkdir -p "$work"
rm -f "$work"/*.out  # the outputs shown at the end are this run's only
cp "$root"/examples/*.sh "$work/"
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if shoal status >/dev/null 2>&1; then
  step "a cluster is already running in $SHOAL_STATE_DIR; using it"
else
  step "shoal up --nodes 4"
  shoal up --nodes 4
fi

step "submitting the example jobs"
sbatch hello.sh
sbatch array.sh
bash pipeline.sh
sbatch fails.sh
sbatch timeout.sh
# The PyTorch pipeline when the client packages are there (scripts/install-deps).
ddp=0
if python3 -c 'import torch.distributed, sklearn' 2>/dev/null; then
  rm -rf ddp-digits && cp -r "$root/examples/ddp-digits" . && (cd ddp-digits && sbatch submit.sh)
  ddp=1
fi

step "squeue"
squeue
step "sinfo"
sinfo

step "waiting for the jobs to finish (the time-limit example takes a minute)"
for _ in $(seq 1 200); do
  [ -z "$(squeue -h -u "$(id -un)")" ] && break
  sleep 0.5
done
squeue

step "sacct"
sacct --format=JobID,JobName,Partition,State,ExitCode,Elapsed,NodeList
step "output of the jobs (in $work)"
for f in hello-*.out squares-*.out pipeline-report-*.out fails-*.out too-slow-*.out; do
  [ -f "$f" ] && { echo "--- $f"; cat "$f"; }
done
if [ "$ddp" = 1 ]; then
  for f in ddp-digits/shared/validate-*.out; do
    [ -f "$f" ] && { echo "--- $f"; cat "$f"; }
  done
fi

step "the cluster keeps running; stop it with: $root/build/bin/shoal down"

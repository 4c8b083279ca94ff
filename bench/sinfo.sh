#!/usr/bin/env bash
# sinfo over many nodes (issue 12: <= 100 ms at 10,000 nodes): a controller alone with NODES
# nodes defined in its slurm.conf (no agents: the listing costs the same whatever the nodes'
# state), then `sinfo`, `sinfo -N` and `/bin/true` (the floor: starting a process), each the
# median of RUNS runs, one after the other in the same run. BASE_BIN names another build's bin/
# to measure side by side (an A/B of two builds against the same controller's data).
#
#   bash bench/sinfo.sh                                  # 10,000 nodes
#   NODES=10000 BASE_BIN=/tmp/base/bin bash bench/sinfo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
NODES=${NODES:-10000}
RUNS=${RUNS:-11}
BIN=${BIN:-$root/build/bin}
work=$(mktemp -d /tmp/shoal-sinfo.XXXXXX)
export SHOAL_STATE_DIR=$work/state
cleanup() {
  "$BIN/shoal" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

printf 'NodeName=n[1-%d] CPUs=64 RealMemory=256000\nPartitionName=batch Nodes=ALL Default=YES\n' \
  "$NODES" > "$work/slurm.conf"
"$BIN/shoal" up --nodes 0 --config "$work/slurm.conf" >/dev/null

median_ms() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    times+=("$(echo "($EPOCHREALTIME - $t0) * 1000" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | xargs printf '%.1f'
}

echo "$NODES nodes, median of $RUNS, load $(cut -d' ' -f1-3 /proc/loadavg)"
floor=$(median_ms /bin/true)
echo "floor (/bin/true): $floor ms"
for build in "$BIN" ${BASE_BIN:-}; do
  for args in "" "-N"; do
    # shellcheck disable=SC2086
    t=$(median_ms "$build/sinfo" $args)
    printf '%-40s sinfo %-3s %7s ms, above the floor %7s ms\n' "$build" "$args" "$t" \
      "$(echo "$t - $floor" | bc -l | xargs printf '%.1f')"
  done
done

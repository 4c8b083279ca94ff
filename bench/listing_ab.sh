#!/usr/bin/env bash
# A listing command (COMMAND: squeue by default, or sinfo) over QUEUED pending jobs, two builds
# side by side: BASE's and this build's, run alternately against the same controller (this
# build's), ROUNDS times each; prints each one's median wall time, as a user runs it, and the
# ratio. With FLEET=N, N emulated nodes
# (`shoal sim agents`, behind relays of RELAY_WIDTH) heartbeat on the same cores meanwhile, as
# in bench/scale.sh. The machines here are noisy (the same binary's figure moves by half
# between minutes), so only figures of one run compare.
#
#   BASE=/tmp/old/bin bash bench/listing_ab.sh                # squeue, 100,000 pending, no nodes
#   BASE=/tmp/old/bin FLEET=10000 bash bench/listing_ab.sh    # with 10,000 nodes behind relays
#   BASE=/tmp/old/bin FLEET=10000 COMMAND=sinfo bash bench/listing_ab.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/bin}
BASE=${BASE:?set BASE to the bin/ of the build to compare with}
QUEUED=${QUEUED:-100000}
ROUNDS=${ROUNDS:-21}
FLEET=${FLEET:-0}
RELAY_WIDTH=${RELAY_WIDTH:-100}
COMMAND=${COMMAND:-squeue}
export PATH="$BIN:$PATH"
source "$root/bench/lib.sh"
start_work listing-ab

printf 'SlurmdTimeout=5\nMaxArraySize=1000001\n' > "$work/slurm.conf"
shoal up --nodes 0 --config "$work/slurm.conf" >/dev/null
ctl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' \
  "$SHOAL_STATE_DIR/cluster.json")
if [ "$FLEET" -gt 0 ]; then
  shoal sim agents --count "$FLEET" --cpus-per-node 4 --relay-width "$RELAY_WIDTH" \
    > "$work/emu.log" 2>&1 &
  emu=$!
  for _ in $(seq 120); do
    [ "$(sinfo -h -N -o %T 2>/dev/null | grep -cx idle)" = "$FLEET" ] && break
    sleep 1
  done
fi
# Pending jobs (a begin time ahead keeps them so), then the controller left to settle: under a
# third of a core over a second, or 30 s at most.
"$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$QUEUED" 16 >/dev/null
for _ in $(seq 30); do
  c0=$(awk '{print $14 + $15}' "/proc/$ctl/stat"); sleep 1
  [ $(($(awk '{print $14 + $15}' "/proc/$ctl/stat") - c0)) -lt 33 ] && break
done
[ "$("$BASE/$COMMAND" | md5sum)" = "$("$BIN/$COMMAND" | md5sum)" ] \
  || { echo "the two builds' $COMMAND print different listings"; exit 1; }

ms_of() {
  local t0=$EPOCHREALTIME
  "$@" >/dev/null
  echo "($EPOCHREALTIME - $t0) * 1000" | bc -l
}
base=() new=()
for _ in $(seq "$ROUNDS"); do
  base+=("$(ms_of "$BASE/$COMMAND")")
  new+=("$(ms_of "$BIN/$COMMAND")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
b=$(median "${base[@]}") n=$(median "${new[@]}")
printf '%s, %d pending, %d nodes heartbeating: base %.0f ms, this build %.0f ms, ratio %.2f (median of %d, alternating)\n' \
  "$COMMAND" "$QUEUED" "$FLEET" "$b" "$n" "$(echo "$n / $b" | bc -l)" "$ROUNDS"

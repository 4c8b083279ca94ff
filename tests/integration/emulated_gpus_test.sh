#!/usr/bin/env bash
# Emulated GPUs (`shoal sim agents`, as `shoal sim live` runs them) report readings that follow
# their jobs, through the path real agents use: heartbeats to the controller, then its /metrics
# and /api/v1/nodes. A GPU a job holds is busy (60-100 %), the others stay near idle.
source "$(dirname "$0")/lib.sh"
start_cluster --nodes 0
cd "$WORK" || exit 1
shoal sim agents --count 2 --cpus-per-node 4 --gpus-per-node 2 > emu.log 2>&1 &
emu=$!
wait_until 20 bash -c '[ "$(sinfo -h -N -o %T | grep -cx idle)" = 2 ]' \
  || fail "2 emulated nodes not idle: $(sinfo -h -o '%D %T')"
metrics() { curl -s --unix-socket "$SHOAL_STATE_DIR/controller.sock" http://shoal/metrics; }
util() {  # util NODE GPU: the controller's last reading of that GPU's utilization
  metrics | awk -v s="shoal_node_gpu_utilization_ratio{node=\"$1\",gpu=\"$2\"}" '$1 == s {print $2}'
}
have_readings() { [ -n "$(util emu1 0)" ] && [ -n "$(util emu2 1)" ]; }
wait_until 10 have_readings || fail "no GPU readings in /metrics: $(metrics | grep gpu | head -5)"
for n in emu1 emu2; do
  for g in 0 1; do
    u=$(util $n $g)
    awk -v u="$u" 'BEGIN {exit !(u != "" && u <= 0.05)}' && ok || fail "idle GPU $n/$g reads '$u'"
  done
done

# One job holds one GPU of emu1 for a minute: that GPU turns busy, its neighbour stays idle.
jid=$(SHOAL_EMULATE_RUNTIME=60 sbatch --parsable -o /dev/null -w emu1 --gres=gpu:1 --wrap true)
wait_until 10 bash -c "[ \"\$(squeue -h -j $jid -o %T)\" = RUNNING ]" || fail "GPU job $jid not running"
busy() { awk -v a="$(util emu1 0)" -v b="$(util emu1 1)" 'BEGIN {exit !((a >= 0.55) != (b >= 0.55))}'; }
wait_until 5 busy || fail "no busy GPU on emu1: gpu0 $(util emu1 0), gpu1 $(util emu1 1)"
a=$(util emu1 0); b=$(util emu1 1)
hi=$(awk -v a="$a" -v b="$b" 'BEGIN {print (a > b ? a : b)}')
lo=$(awk -v a="$a" -v b="$b" 'BEGIN {print (a > b ? b : a)}')
awk -v h="$hi" 'BEGIN {exit !(h >= 0.55 && h <= 1)}' && ok || fail "busy GPU reads $hi"
awk -v l="$lo" 'BEGIN {exit !(l <= 0.05)}' && ok || fail "the job's neighbour GPU reads $lo"
u=$(util emu2 0)
awk -v u="$u" 'BEGIN {exit !(u <= 0.05)}' && ok || fail "a GPU of the idle node reads $u"
expect_match "$(metrics | grep '^shoal_node_gpu_memory_used_bytes{node="emu1"' | sort -k2 -n | tail -1)" \
  ' [1-9][0-9]{9,}$' "the busy GPU's memory in use"
nodes=$(curl -s --unix-socket "$SHOAL_STATE_DIR/controller.sock" http://shoal/api/v1/nodes)
expect_match "$nodes" '"gpu_readings":\[\{"index":0,' "the readings in /api/v1/nodes"

# The job ends: the GPU goes back to idle.
scancel "$jid"
idle_again() { awk -v a="$(util emu1 0)" -v b="$(util emu1 1)" 'BEGIN {exit !(a <= 0.05 && b <= 0.05)}'; }
wait_until 10 idle_again || fail "emu1's GPUs still busy after the job ended: $(util emu1 0) $(util emu1 1)"
kill "$emu"
wait "$emu" 2>/dev/null
finish

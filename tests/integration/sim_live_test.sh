#!/usr/bin/env bash
# `shoal sim live`: a controller of its own, emulated GPU nodes and a job generator. Generated
# jobs (several users and types) run on the emulated nodes and are accounted; the run stops
# after --duration and takes its cluster down; bad settings are refused before anything starts.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
printf 'MinJobAge=600\n' > slurm.conf
live_dir=$SHOAL_STATE_DIR  # made by lib.sh, empty: sim live starts its cluster there
shoal sim live --nodes 4 --cpus-per-node 8 --gpus-per-node 2 --job-rate 50/min --speed 30 \
  --failure-rate 0 --duration 25s --seed 11 --state-dir "$live_dir" --config "$WORK/slurm.conf" \
  > live.out 2>&1 &
live=$!
wait_until 15 bash -c '[ "$(sinfo -h -N -o %N | wc -l)" = 4 ]' || fail "4 emulated nodes not up: $(sinfo 2>&1)"
expect_eq "$(sinfo -h -N -o '%N' | tr -d ' ' | sort | tr '\n' ' ')" "gpu1 gpu2 gpu3 gpu4 " "node names"
expect_match "$(scontrol show node gpu1)" "Gres=gpu:emulated:2" "emulated GPUs"
wait_until 20 bash -c '[ "$(sacct -n -X -P --format=State -S 2020-01-01 | grep -c COMPLETED)" -ge 3 ]' \
  || fail "no generated job completed: $(sacct -n -X -P --format=JobID,JobName,State -S 2020-01-01)"
# The emulated GPUs' readings reach the controller's /metrics (emulated_gpus_test.sh checks
# that they follow the jobs).
gpu_series() {
  curl -s --unix-socket "$live_dir/controller.sock" http://shoal/metrics \
    | grep -c '^shoal_node_gpu_utilization_ratio{node="gpu[1-4]",gpu="[01]"}'
}
gpus_reported() { [ "$(gpu_series)" = 8 ]; }
wait_until 5 gpus_reported && ok || fail "GPU readings of the 8 emulated GPUs in /metrics: $(gpu_series)"
# The controls: the running simulation reports to its controller and takes settings back.
live_get() { curl -s --unix-socket "$live_dir/controller.sock" "http://shoal/api/v1/sim/live"; }
expect_match "$(live_get)" '"nodes":4' "the simulation's report through the API"
out=$(curl -s --unix-socket "$live_dir/controller.sock" -X POST -d '{"job_rate_per_min": 10}' \
  "http://shoal/api/v1/sim/live/settings")
expect_match "$out" '"job_rate_per_min":10' "a settings change is accepted"
wait_until 5 grep -q 'settings now: .*"job_rate_per_min":10' live.out && ok \
  || fail "the simulation did not take the new rate: $(tail -3 live.out)"
out=$(curl -s -w ' %{http_code}' --unix-socket "$live_dir/controller.sock" -X POST \
  -d '{"job_rate_per_min": 99}' "http://shoal/api/v1/sim/live/settings")
expect_match "$out" "0.1 to 50.* 400$" "a bad rate is refused"
users=$(sacct -n -X -P --format=User -S 2020-01-01 | sort -u | wc -l)
[ "$users" -ge 2 ] && ok || fail "generated jobs from $users user(s), expected several"
wait "$live"
expect_eq "$?" "0" "sim live's exit status"
expect_match "$(cat live.out)" "shoal sim live: 4 nodes \(8 cpus, 2 gpus each\), jobs at 50/min" "start line"
expect_match "$(tail -2 live.out)" "shoal sim live: stopped; [1-9][0-9]* jobs submitted \(0 refused\), 0 node failures" "final line"
expect_match "$(grep -c 'submitted:' live.out)" "^[1-9][0-9]*$" "submission lines"
[ ! -e "$live_dir/cluster.json" ] && ok || fail "the live cluster was not taken down"

# Bad settings: refused before a cluster starts.
out=$(shoal sim live --failure-rate 12-5 --state-dir "$WORK/bad" 2>&1)
expect_eq "$?:$out" "1:shoal sim live: invalid failure rate '12-5' (percent of nodes a minute, as 5-12%/min, 3% or 0)" "bad failure rate"
out=$(shoal sim live --job-rate 500/min --state-dir "$WORK/bad" 2>&1)
expect_eq "$?:$out" "1:shoal sim live: invalid job rate '500/min' (0.1 to 50 jobs a minute, as 2/min, 30/h or 2)" "bad job rate"
out=$(shoal sim live --preset wild --state-dir "$WORK/bad" 2>&1)
expect_eq "$?:$out" "1:shoal sim live: unknown preset 'wild' (light, steady, burst or stress)" "bad preset"
[ ! -e "$WORK/bad/cluster.json" ] && ok || fail "a cluster started despite bad settings"
finish

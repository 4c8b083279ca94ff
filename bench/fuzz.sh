#!/usr/bin/env bash
# The long fuzzing campaign: each target (all, or those named) for RUNS executions (default
# 1,000,000), one at a time, over its committed corpus, then a table of executions, exec/s,
# coverage (libFuzzer's cov = edges, ft = features), corpus size and crashes.
#
#   cmake --preset fuzz && cmake --build build-fuzz
#   bench/fuzz.sh [-n RUNS] [target ...]        (FUZZ_BUILD=build-fuzz by default)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FUZZ_BUILD:-$root/build-fuzz}/bin
runs=1000000
if [ "${1:-}" = -n ]; then runs=$2; shift 2; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(sbatch hostlist slurm_time units slurm_conf json_model
                                     job_table swf)
[ -x "$bin/fuzz_${targets[0]}" ] || { echo "no fuzz build in $bin (cmake --preset fuzz)"; exit 2; }

rows=()
failed=0
for t in "${targets[@]}"; do
  log=$(mktemp)
  start=$(date +%s)
  bash "$root/fuzz/run.sh" long "$bin" "$t" "$runs" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  crashes=0
  if [ $rc -ne 0 ]; then
    crashes=1
    failed=1
    grep -E '^FAIL:' "$log"
  fi
  rows+=("$(printf '%-11s %10s %7s %8s %6s %7s %6s %7s' "$t" "${execs:-?}" "${secs}" \
           "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes")")
  echo "${rows[-1]}"
  rm -f "$log"
done
echo
printf '%-11s %10s %7s %8s %6s %7s %6s %7s\n' target execs seconds exec/s cov ft corpus crashes
printf '%s\n' "${rows[@]}"
exit $failed

#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build (cmake --preset fuzz) over their committed corpus.
#
#   fuzz/run.sh smoke BIN_DIR NAME [SECONDS]  one target, SECONDS (4) of fuzzing; fails on any
#                                             crash, hang, leak or sanitizer report
#   fuzz/run.sh ci BUILD_DIR                  every target of the fuzz build in BUILD_DIR, brought
#                                             up to date first; SKIP (77) without clang or build
#   fuzz/run.sh long BIN_DIR NAME RUNS        one target for RUNS executions, libFuzzer's final
#                                             stats on stderr (bench/fuzz.sh reads them)
#
# New inputs go to a scratch corpus, never into fuzz/corpus; a crashing input is kept in
# BIN_DIR/../fuzz-artifacts/ and named in the failure message.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
targets=(sbatch hostlist slurm_time units slurm_conf json_model job_table swf)

run_target() {  # mode bin_dir name limit-flag
  local bin=$2/fuzz_$3 name=$3 limit=$4
  local artifacts
  artifacts=$(cd "$2/.." && pwd)/fuzz-artifacts/$name
  mkdir -p "$artifacts"
  local work
  work=$(mktemp -d)
  local flags=("$limit" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1
               "-artifact_prefix=$artifacts/" -close_fd_mask=1)
  [ -f "$root/fuzz/dict/$name.dict" ] && flags+=("-dict=$root/fuzz/dict/$name.dict")
  # sbatch's getopt prints glibc's messages for bad options; keep the log readable.
  [ "$name" = sbatch ] && flags+=(-close_fd_mask=3)
  "$bin" "${flags[@]}" "$work" "$root/fuzz/corpus/$name" >"$work.log" 2>&1
  local rc=$?
  if [ "$1" = long ]; then cat "$work.log" >&2; fi
  if [ $rc -ne 0 ]; then
    tail -n 60 "$work.log"
    echo "FAIL: fuzz_$name exited $rc; crashing input: $(ls -t "$artifacts" | head -1 |
          sed "s|^|$artifacts/|")"
  else
    grep -E '^Done [0-9]+ runs' "$work.log" | sed "s/^/fuzz_$name: /"
  fi
  rm -rf "$work" "$work.log"
  return $rc
}

case "${1:-}" in
  smoke)
    run_target smoke "$2" "$3" "-max_total_time=${4:-4}"
    ;;
  long)
    run_target long "$2" "$3" "-runs=$4"
    ;;
  ci)
    build=$2
    if ! command -v clang++ >/dev/null; then
      echo "SKIP: clang++ not found (libFuzzer targets need clang and libclang-rt-*-dev)"
      exit 77
    fi
    if [ ! -f "$build/build.ninja" ]; then
      echo "SKIP: no fuzz build in $build (cmake --preset fuzz && cmake --build build-fuzz)"
      exit 77
    fi
    cmake --build "$build" >/dev/null || { echo "FAIL: the fuzz build does not build"; exit 1; }
    failed=0
    for t in "${targets[@]}"; do
      run_target smoke "$build/bin" "$t" "-max_total_time=${SHOAL_FUZZ_SECONDS:-4}" || failed=1
    done
    exit $failed
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac

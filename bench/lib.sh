# Shared by the command-level benchmark scripts (source it).

# median_ms N CMD...: the median wall time of N runs of CMD in milliseconds, two decimals
# (bash's EPOCHREALTIME; output and failures ignored).
median_ms() {
  local n=$1; shift
  local times=()
  for _ in $(seq 1 "$n"); do
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    local t1=$EPOCHREALTIME
    times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

# start_work NAME: a fresh work directory, $work, whose state/ is the cluster's state directory
# (SHOAL_STATE_DIR); on exit the cluster is stopped, with the processes whose pids are in $emu
# and $sampler (an emulator, a sampler), and the directory removed.
start_work() {
  work=$(mktemp -d "/tmp/shoal-$1.XXXXXX")
  export SHOAL_STATE_DIR=$work/state
  emu= sampler=
  trap stop_work EXIT
}
stop_work() {
  local pid
  for pid in ${sampler:-} ${emu:-}; do kill "$pid" 2>/dev/null || true; done
  shoal down >/dev/null 2>&1 || true
  rm -rf "$work"
}

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

#!/usr/bin/env bash
# Failover time of two controllers on one PostgreSQL (docs/high-availability.md), under a
# steady job stream: tests/integration/ha_failover_test.sh's set-up (controllers and agents in
# network namespaces, clients listing both controllers) with KILLS leader kills (kill -9, the
# killed one restarted as the standby each time). Prints, over the kills, p50/p99 of
#   kill -> first sbatch acknowledged through the client listing both controllers
#   kill -> both agents registered with the new leader (sinfo shows them up)
# and the jobs lost (acknowledged, never ran) and duplicated (ran twice): the goal is 0 and 0.
# Needs root (network namespaces) and the PostgreSQL server binaries.
#
#   bash bench/failover.sh            # 20 kills
#   KILLS=5 bash bench/failover.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/bin}
KILLS=${KILLS:-20}
report=$(mktemp /tmp/shoal-failover-bench.XXXXXX)
trap 'rm -f "$report"' EXIT
HA_KILLS=$KILLS HA_REPORT=$report bash "$root/tests/integration/ha_failover_test.sh" "$BIN" |
  grep -E "^kill |jobs acknowledged|FAIL|SKIP"
rc=${PIPESTATUS[0]}
percentiles() {  # column of the report -> "p50 p99" in seconds
  grep -E '^[0-9]+ ' "$report" | awk -v c="$1" '{print $c}' | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "- -"; exit }
      i50 = int(0.50 * NR + 0.999); i99 = int(0.99 * NR + 0.999)
      if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
      printf "%.2f s %.2f s\n", v[i50] / 1000, v[i99] / 1000
    }'
}
read -r s50 u50 s99 u99 <<<"$(percentiles 2)"
read -r a50 v50 a99 v99 <<<"$(percentiles 3)"
echo "kills measured: $(grep -cE '^[0-9]+ ' "$report")"
echo "kill -> first acknowledged sbatch: p50 $s50 s, p99 $s99 s"
echo "kill -> agents reattached:         p50 $a50 s, p99 $a99 s"
grep '^jobs ' "$report" | awk '{print "jobs acknowledged " $2 ", runs " $4 ", duplicated " $6 \
  ", lost " $8 "; ran unacknowledged " $10 " (sbatch answers lost when the leader died: " $12 ")"}'
exit "$rc"

#!/usr/bin/env bash
# sshare and sprio at size (issue 10's target: <= 100 ms with 1,000 users and 100,000 pending
# jobs). A cluster from `shoal up` gets ACCOUNTS accounts and USERS users in them (sacctmgr),
# its nodes are drained so nothing starts, and QUEUED eligible jobs spread over the users are
# submitted through the API; then the real commands are timed (median of RUNS) next to
# /bin/true, the process-start floor, started the same way in the same run.
#
#   bash bench/shares.sh                         # 1,000 users in 20 accounts, 100,000 jobs
#   QUEUED=10000 bash bench/shares.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/bin}
USERS=${USERS:-1000}
ACCOUNTS=${ACCOUNTS:-20}
QUEUED=${QUEUED:-100000}
RUNS=${RUNS:-11}
work=$(mktemp -d /tmp/shoal-shares-bench.XXXXXX)
export SHOAL_STATE_DIR=$work/state
export PATH="$BIN:$PATH"
trap '[ -n "${KEEP:-}" ] || { shoal down --state-dir "$SHOAL_STATE_DIR" >/dev/null 2>&1 || true; rm -rf "$work"; }' EXIT

source "$root/bench/lib.sh"  # median_ms

shoal up --nodes 2 --state-dir "$SHOAL_STATE_DIR" >/dev/null
scontrol update nodename=node[1-2] state=drain reason=bench
accounts=$(seq -f 'acct%g' 0 $((ACCOUNTS - 1)) | paste -sd,)
sacctmgr -i add account "$accounts" >/dev/null
per=$(( (USERS + ACCOUNTS - 1) / ACCOUNTS ))
for a in $(seq 0 $((ACCOUNTS - 1))); do
  first=$((a * per)); last=$(( (a + 1) * per - 1 )); [ $last -ge $USERS ] && last=$((USERS - 1))
  [ $first -gt $last ] && break
  sacctmgr -i add user "$(seq -f 'user%g' $first $last | paste -sd,)" account="acct$a" >/dev/null
done
"$BIN/api_submit_bench" "$SHOAL_STATE_DIR/controller.sock" "$work" "$QUEUED" 16 "$USERS" eligible \
  | head -1
echo "associations: $(sshare -a -n -P | wc -l), pending jobs: $(squeue -h -t PD | wc -l)"

floor=$(median_ms "$RUNS" /bin/true)
echo "floor, /bin/true: ${floor} ms"
report() {
  local t; t=$(median_ms "$RUNS" "$@")
  echo "$*: $("$@" 2>/dev/null | wc -l) lines, median ${t} ms, above floor $(echo "$t - $floor" | bc -l | xargs printf '%.2f') ms"
}
report sshare
report sshare -a
report sprio
report sprio -j 5,50,500
report sprio -l

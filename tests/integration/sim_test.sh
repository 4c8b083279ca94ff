#!/usr/bin/env bash
# `shoal sim replay` as a user runs it: the golden replays byte for byte (summary on stdout, the
# per-job CSV in a file), errors with file:line, JSON.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
traces=${SHOAL_TRACES_DIR:-$root/../shared/traces}
lublin=$traces/lublin_256.swf
if [ ! -f "$lublin" ]; then
  echo "sim_test: $lublin is absent, skipped"
  FINISHED=1
  exit 0
fi

for policy in easy conservative; do
  shoal sim replay "$lublin" --policy "$policy" --first 2000 --jobs-csv "$WORK/$policy.csv" \
    > "$WORK/$policy.txt" || fail "replay with $policy"
  { cat "$WORK/$policy.txt"; echo; cat "$WORK/$policy.csv"; } > "$WORK/$policy.golden"
  if cmp -s "$WORK/$policy.golden" "$root/tests/golden/sim_lublin256_first2000_$policy.txt"; then
    ok
  else
    fail "$policy replay differs from tests/golden/sim_lublin256_first2000_$policy.txt"
  fi
done

json=$(shoal sim replay "$lublin" --policy sjf --first 500 --json)
expect_match "$json" '^\{"trace":"lublin_256.swf","protocol":"default","policy":"sjf".*"jobs":500,.*"avg_wait":[0-9.]+,"avg_response":[0-9.]+,"avg_bsld":[0-9.]+,"utilization":[0-9.]+' "JSON summary"

printf '; MaxProcs: 4\n1 0 0 10 1 -1 -1 1 20 -1 1 1 -1 -1 1 -1 -1 -1\n2 0 0 x 1\n' > "$WORK/bad.swf"
msg=$(shoal sim replay "$WORK/bad.swf" --on-bad-line stop 2>&1); rc=$?
expect_eq "$rc" "1" "stop at a bad line exits 1"
expect_match "$msg" "bad.swf:3: not a number 'x'" "stop names file:line"
msg=$(shoal sim replay "$WORK/bad.swf" 2>&1 >/dev/null); rc=$?
expect_eq "$rc" "0" "skip goes on"
expect_match "$msg" "skipped .*bad.swf:3: not a number 'x'" "skip names file:line"
msg=$(shoal sim replay "$WORK/bad.swf" --policy lottery 2>&1); rc=$?
expect_eq "$rc" "1" "unknown policy exits 1"
# --reservations: a two-day maintenance window on half the machine makes jobs wait longer; a bad
# line is named.
wait_of() { shoal sim replay "$lublin" --first 500 --json "$@" | sed 's/.*"avg_wait":\([0-9.]*\).*/\1/'; }
printf 'ReservationName=m StartTime=now+1hour Duration=2-00:00:00 Nodes=n[1-128] Users=root Flags=MAINT\n' \
  > "$WORK/resv.txt"
plain=$(wait_of); held=$(wait_of --reservations "$WORK/resv.txt")
python3 -c "import sys; sys.exit(0 if float('$held') > float('$plain') else 1)" \
  && ok || fail "a maintenance window did not delay jobs ($plain vs $held)"
printf 'ReservationName=m StartTime=now Duration=10 Nodes=n999 Users=root\n' > "$WORK/bad_resv.txt"
msg=$(shoal sim replay "$lublin" --first 10 --reservations "$WORK/bad_resv.txt" 2>&1); rc=$?
expect_eq "$rc" "1" "bad reservation exits 1"
expect_match "$msg" "bad_resv.txt: reservations line 1: Invalid node name specified \\(n999\\)" \
  "bad reservation names the line"
finish

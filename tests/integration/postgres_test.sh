#!/usr/bin/env bash
# A controller that keeps its state in PostgreSQL (StorageType=postgresql): a real server,
# started for the test; jobs submitted before a kill -9 of the controller are all there after
# its restart, and sacct reads them from the server.
PG_TOOL=$(cd "$(dirname "$0")/../tools" && pwd)/throwaway_postgres.sh
source "$(dirname "$0")/lib.sh"
PG_DIR=$(mktemp -d /tmp/shoal-postgres_test-pg.XXXXXX)

# The cluster goes before its database server; then lib.sh's cleanup judges as usual.
stop_all() {
  local rc=$?
  shoal down >/dev/null 2>&1
  pkill -f -- "--state-dir $SHOAL_STATE_DIR" 2>/dev/null
  bash "$PG_TOOL" stop "$PG_DIR"
  (exit $rc)
  cleanup
}
trap stop_all EXIT

conninfo=$(bash "$PG_TOOL" start "$PG_DIR" 2>"$WORK/pg-start.log")
rc=$?
if [ "$rc" = 77 ]; then
  echo "SKIP: $(cat "$WORK/pg-start.log")"
  FINISHED=1
  exit 77
fi
[ "$rc" = 0 ] || { cat "$WORK/pg-start.log"; fail "PostgreSQL did not start"; exit 1; }
PSQL=("$(ls /usr/lib/postgresql/*/bin/psql | tail -1)" -X -At -h "$PG_DIR" -U shoal -d shoal)

# Bad storage settings stop the controller with file:line, before it touches anything.
printf 'ClusterName=pg\nStorageType=postgresql\n' > bad.conf
out=$(timeout 10 "$BIN/shoal-controller" --state-dir "$WORK/bad-state" --config bad.conf 2>&1)
expect_eq "$?" "1" "controller exit status with StorageType=postgresql and no StorageURL"
expect_match "$out" "bad.conf:2: StorageType=postgresql needs StorageURL" "error names file:line"
printf 'StorageType=postgresql\nStorageURL="host=%s/nowhere port=5432 user=shoal dbname=shoal"\n' \
  "$PG_DIR" > unreachable.conf
out=$(timeout 10 "$BIN/shoal-controller" --state-dir "$WORK/bad-state" --config unreachable.conf 2>&1)
expect_eq "$?" "1" "controller exit status when the server cannot be reached"
expect_match "$out" "cannot connect to PostgreSQL" "unreachable server is reported"

# The server trusts local connections, so the password is never asked for: it is there to be
# hidden from scontrol show config and the log.
printf 'ClusterName=pg\nMinJobAge=2\nStorageType=postgresql\nStorageURL="%s password=hunter2"\n' \
  "$conninfo" > slurm.conf
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

config=$(scontrol show config)
expect_match "$config" "StorageType += postgresql" "scontrol show config: StorageType"
expect_match "$config" "StorageURL += host=$PG_DIR" "scontrol show config: StorageURL"
expect_match "$config" "AccountingStorageType += accounting_storage/shoal_postgresql" \
  "scontrol show config: AccountingStorageType"
expect_match "$config" "StorageURL += .*password=\*\*\*\*\*" "scontrol show config hides the password"
leaks=$( { echo "$config"; cat "$SHOAL_STATE_DIR"/*.log; } | grep -c hunter2)
expect_eq "$leaks" "0" "lines with the password in scontrol show config and the logs"

quick=()
for i in 1 2 3 4 5; do quick+=($(sbatch --parsable -o /dev/null -J "quick$i" --wrap true)); done
slow=$(sbatch --parsable -o /dev/null -J slow \
  --wrap 'echo start >> slow.runs; sleep 3; echo done >> slow.runs')
held=$(sbatch --parsable -o /dev/null -J held -H --wrap true)
for id in "${quick[@]}"; do wait_until 15 job_done "$id" || fail "job $id did not finish"; done
wait_until 10 bash -c "squeue -h -j $slow -t R | grep -q ." || fail "slow job did not start"

# Everything is on the server, nothing in a local SQLite file.
expect_eq "$("${PSQL[@]}" -c 'SELECT count(*) FROM jobs')" "7" "job rows in PostgreSQL"
expect_eq "$("${PSQL[@]}" -c 'SELECT count(*) FROM job_payloads')" "7" "payload rows in PostgreSQL"
expect_eq "$("${PSQL[@]}" -c 'SELECT version FROM schema_version')" "11" "schema version"
expect_eq "$("${PSQL[@]}" -c "SELECT to_regclass('node_events') IS NOT NULL")" "t" \
  "the node outage history is on the server"
expect_eq "$("${PSQL[@]}" -c 'SELECT count(*) FROM webhook_outbox')" "0" \
  "the webhook outbox is on the server (no webhooks configured: empty)"
expect_eq "$(ls "$SHOAL_STATE_DIR"/*.db 2>/dev/null)" "" "no SQLite database in the state dir"

kill -9 "$(controller_pid)"
start_controller --config "$WORK/slurm.conf"

# Every job survived, in its state; the pending one still pending, the running one finishes once.
for id in "${quick[@]}"; do expect_eq "$(job_state "$id")" "COMPLETED" "job $id after restart"; done
expect_eq "$(squeue -h -j "$held" -o %T)" "PENDING" "held job after restart"
wait_until 20 job_done "$slow" || fail "slow job did not finish after the restart"
expect_eq "$(job_state "$slow")" "COMPLETED" "slow job after restart"
expect_eq "$(tr '\n' ' ' < slow.runs)" "start done " "slow job ran exactly once"
new=$(sbatch --parsable -o /dev/null --wrap true)
expect_eq "$new" "$((held + 1))" "job ids continue after the restart"
wait_until 15 job_done "$new" || fail "job submitted after the restart did not finish"

# sacct reads the server: a name changed there (and only there) is what sacct shows.
"${PSQL[@]}" -c "UPDATE jobs SET doc = jsonb_set(doc::jsonb, '{request,name}', '\"renamed\"')::text
                WHERE id = ${quick[0]}" >/dev/null
expect_eq "$(sacct -n -X -P -j "${quick[0]}" --format=JobName)" "renamed" "sacct reads PostgreSQL"
expect_eq "$(sacct -n -X -P -j "${quick[1]},${quick[4]}" --format=JobName | tr '\n' ' ')" \
  "quick2 quick5 " "sacct filters on the server"
expect_eq "$(sacct -n -X -P -s PD --format=JobID)" "$held" "sacct state filter on the server"
expect_eq "$("${PSQL[@]}" -c "SELECT count(*) FROM jobs WHERE state = 'COMPLETED'")" "7" \
  "completed job rows in PostgreSQL"

finish

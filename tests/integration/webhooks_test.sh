#!/usr/bin/env bash
# Job webhooks: a job's own --webhook and the cluster's WebhookURL both get its events, signed
# (verified by a Python receiver as docs/webhooks.md tells receivers to), in order; a receiver
# that is down gets them when it comes back; a controller killed with kill -9 while events are
# undelivered delivers them after its restart (repeats carry the same Idempotency-Key); a bad
# URL is refused at submit and queues nothing.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
# The receiver is on loopback: a proxy in the environment must not carry the deliveries.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

RECEIVER_PID=""
# The receiver goes first (waited for by pid: a bare `wait` would wait for a restarted controller).
trap 'rc=$?; [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null && wait "$RECEIVER_PID"
  (exit $rc); cleanup' EXIT

LOG="$WORK/deliveries.jsonl"
: >"$LOG"
# start_receiver PORT: the receiver on PORT (0: any free one, then learned from its port file).
start_receiver() {
  rm -f "$WORK/port"
  python3 "$HERE/webhook_receiver.py" "$1" "$SHOAL_STATE_DIR/webhook.key" "$LOG" "$WORK/port" \
    2>>"$WORK/receiver.err" &
  RECEIVER_PID=$!
  wait_until 10 test -s "$WORK/port" || fail "the receiver did not start"
  PORT=$(cat "$WORK/port")
}
stop_receiver() {
  kill "$RECEIVER_PID" && wait "$RECEIVER_PID" 2>/dev/null
  RECEIVER_PID=""
}

start_receiver 0
printf 'WebhookURL=http://127.0.0.1:%s/cluster\n' "$PORT" >"$WORK/slurm.conf"
start_cluster --nodes 1 --cpus-per-node 2 --config "$WORK/slurm.conf"
HTTP=$(python3 -c "import json;print(json.load(open('$SHOAL_STATE_DIR/controller.json'))['http'])")
metric() { curl -sf "http://$HTTP/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
metric_is() { [ "$(metric "$1")" == "$2" ]; }
metric_at_least() { [ "$(metric "$1")" -ge "$2" ]; }
DEPTH=shoal_webhook_outbox_depth
FAILED='shoal_webhook_deliveries_total{result="failed"}'

# The signing secret was made at start, for the controller's user only.
expect_eq "$(stat -c %a "$SHOAL_STATE_DIR/webhook.key")" "600" "webhook.key is mode 0600"
expect_eq "$(wc -c <"$SHOAL_STATE_DIR/webhook.key")" "65" "webhook.key holds 64 hex digits"

# events PATH JOB: the job's event types that PATH received, first delivery of each event id.
events() {
  python3 - "$LOG" "$1" "$2" <<'P'
import json, sys
seen, out = set(), []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == sys.argv[2] and r["job_id"] == int(sys.argv[3]) and r["id"] not in seen:
        seen.add(r["id"])
        out.append(r["type"])
print(" ".join(out))
P
}
has_events() { [ "$(events "$1" "$2")" == "$3" ]; }
# Every delivery so far verified, and carried its event id as its Idempotency-Key.
check_deliveries() {
  python3 - "$LOG" <<'P'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in rows if not r["sig_ok"] or r["key"] != r["id"] or r["header_type"] != r["type"]
       or r["cluster"] != "shoal"]
print(f"{len(rows)} deliveries, {len(bad)} bad" + (f": {bad[0]}" if bad else ""))
P
}

# --- a job's own URL and the cluster's: both get submitted, running, completed, in order ---
id1=$(sbatch --parsable -o /dev/null --webhook="http://127.0.0.1:$PORT/job" --wrap 'sleep 1')
expect_match "$(scontrol show job "$id1")" "Webhook=http://127.0.0.1:$PORT/job" \
  "scontrol show job shows the webhook"
wait_until 20 has_events /job "$id1" "submitted running completed" ||
  fail "job URL got '$(events /job "$id1")'"
wait_until 5 has_events /cluster "$id1" "submitted running completed" ||
  fail "cluster URL got '$(events /cluster "$id1")'"
expect_match "$(check_deliveries)" " 0 bad$" "deliveries are signed and keyed"
# What an experiment tracker polls with SLURM_JOB_ID.
expect_match "$(curl -sf "http://$HTTP/api/v1/jobs/$id1")" "\"state\":\"COMPLETED\"" \
  "GET /api/v1/jobs/ID gives the job's state"

# --- a bad URL is refused at submit, on the command line and in the script, queuing nothing ---
before=$(sacct -n -X -P --format=JobID | wc -l)
out=$(sbatch --webhook=ftp://x --wrap true 2>&1)
rc=$?
expect_eq "$rc" "1" "sbatch --webhook=ftp://x fails"
expect_eq "$out" \
  "sbatch: error: invalid webhook URL 'ftp://x': only http:// and https:// URLs are allowed" \
  "sbatch names the bad URL"
printf '#!/bin/sh\n#SBATCH --webhook=http://\ntrue\n' >"$WORK/bad.sh"
expect_match "$(sbatch "$WORK/bad.sh" 2>&1)" "invalid webhook URL 'http://': no host" \
  "#SBATCH --webhook is checked too"
# The controller checks what the API is sent, whatever the client.
api=$(curl -s --unix-socket "$SHOAL_STATE_DIR/controller.sock" -X POST \
  -H 'Content-Type: application/json' "http://localhost/api/v1/jobs" \
  -d '{"job":{"work_dir":"/tmp","webhook":"ftp://x"},"script":"#!/bin/sh\ntrue\n"}')
expect_match "$api" "only http:// and https://" "the API refuses a bad webhook"
expect_eq "$(sacct -n -X -P --format=JobID | wc -l)" "$before" "nothing was queued"

# --- receiver down: events wait in the outbox, retried, and arrive when it is back ---
stop_receiver
id2=$(sbatch --parsable -o /dev/null --webhook="http://127.0.0.1:$PORT/job" --wrap true)
wait_until 15 job_done "$id2" || fail "job $id2 did not finish"
wait_until 10 metric_at_least "$FAILED" 2 ||
  fail "no failed attempts counted while the receiver was down: $(metric "$FAILED")"
wait_until 5 metric_is $DEPTH 6 ||
  fail "the job's three events for two receivers are not all in the outbox: $(metric $DEPTH)"
start_receiver "$PORT"
wait_until 20 has_events /job "$id2" "submitted running completed" ||
  fail "after the receiver came back, job URL got '$(events /job "$id2")'"
wait_until 5 has_events /cluster "$id2" "submitted running completed" ||
  fail "after the receiver came back, cluster URL got '$(events /cluster "$id2")'"
wait_until 5 metric_is $DEPTH 0 || fail "the outbox did not empty: $(metric $DEPTH)"

# --- kill -9 of the controller with undelivered events: they arrive after its restart ---
stop_receiver
id3=$(sbatch --parsable -o /dev/null --wrap true)
wait_until 15 job_done "$id3" || fail "job $id3 did not finish"
wait_until 5 metric_is $DEPTH 3 ||
  fail "job $id3's events are not waiting in the outbox: $(metric $DEPTH)"
kill -9 "$(controller_pid)"
start_receiver "$PORT"
start_controller --config "$WORK/slurm.conf"
wait_until 20 has_events /cluster "$id3" "submitted running completed" ||
  fail "after a kill -9 and restart, cluster URL got '$(events /cluster "$id3")'"
expect_eq "$(events /job "$id3")" "" "a job without --webhook sends nothing to other job URLs"
expect_match "$(check_deliveries)" " 0 bad$" "every delivery was signed and keyed"

finish

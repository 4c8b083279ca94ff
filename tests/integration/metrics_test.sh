#!/usr/bin/env bash
# Prometheus metrics: the controller's and the agents' /metrics change as jobs run, the
# discovery route lists them all, the Grafana dashboard only asks for exported metrics, and a
# real Prometheus (when installed) finds and scrapes every target through the discovery route.
# Without the prometheus binary the rest still runs and the test ends SKIPPED (exit 77).
SRC=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh"
PROM_PID=""
trap '[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null; wait 2>/dev/null; cleanup' EXIT

start_cluster --nodes 2 --cpus-per-node 2 --gpus-per-node 2 --memory-per-node 1000
HTTP=$(python3 -c "import json;print(json.load(open('$SHOAL_STATE_DIR/controller.json'))['http'])")

cmetrics() { curl -sf "http://$HTTP/metrics"; }
# metric_value TEXT SERIES: the value of one exact series (name plus labels as printed).
metric_value() { awk -v s="$2" '$1 == s { print $2 }' <<<"$1"; }
has_series() { [ "$(metric_value "$(cmetrics)" "$1")" == "$2" ]; }

# --- discovery: the controller and both agents ---
targets=$(curl -sf "http://$HTTP/api/v1/prometheus/targets")
expect_eq "$(jq_len() { python3 -c 'import json,sys;print(len(json.load(sys.stdin)))'; }; echo "$targets" | jq_len)" \
  "3" "targets: controller and two agents"
read -r AGENT1 AGENT2 < <(echo "$targets" | python3 -c '
import json, sys
groups = json.load(sys.stdin)
print(" ".join(g["targets"][0] for g in groups if g["labels"]["shoal_role"] == "agent"))')
expect_match "$AGENT1 $AGENT2" "^127\.0\.0\.1:[0-9]+ 127\.0\.0\.1:[0-9]+$" "agents report their metrics addresses"
[ "$AGENT1" != "$AGENT2" ] && ok || fail "the two agents share a metrics port"
expect_match "$targets" "\"shoal_node\":\"node1\"" "agent targets carry their node name"
expect_match "$targets" "\"targets\":\[\"$HTTP\"\]" "the controller lists itself at its API address"

# --- controller /metrics before any job ---
text=$(cmetrics)
expect_match "$(curl -s -o /dev/null -w '%{content_type}' "http://$HTTP/metrics")" "^text/plain; version=0.0.4" \
  "controller /metrics content type"
expect_match "$text" "shoal_build_info\{version=\"[0-9.]+\",cluster=\"shoal\"\} 1" "build info"
wait_until 5 has_series 'shoal_nodes{state="idle"}' 2 && ok || fail "two idle nodes in shoal_nodes"
submitted0=$(metric_value "$text" 'shoal_jobs_submitted_total{partition="debug"}')
expect_eq "${submitted0:-0}" "0" "nothing submitted yet"
# Also on the Unix socket.
expect_match "$(curl -sf --unix-socket "$SHOAL_STATE_DIR/controller.sock" http://x/metrics)" \
  "shoal_queue_length" "controller /metrics on the Unix socket"

# --- jobs: one burns CPU for a while (long enough for a slow sanitizer build), three quick ones ---
busy=$(sbatch --parsable -o /dev/null --wrap 'timeout 10 sh -c "while :; do :; done" || true')
for i in 1 2 3; do sbatch --parsable -o /dev/null --wrap true >/dev/null; done
wait_until 10 has_series 'shoal_jobs_submitted_total{partition="debug"}' 4 && ok ||
  fail "four submissions counted"
wait_until 10 has_series 'shoal_jobs{state="running",partition="debug"}' 1 && ok ||
  fail "the busy job shows as running in shoal_jobs"

# The agent running it: a running job, CPU seconds that grow, memory.
agent_with_job() {
  for a in "$AGENT1" "$AGENT2"; do
    curl -sf "http://$a/metrics" | grep -q "^shoal_job_cpu_seconds_total{job_id=\"$busy\"" && { echo "$a"; return 0; }
  done
  return 1
}
wait_until 10 agent_with_job && ok || fail "an agent reports job $busy"
A=$(agent_with_job)
job_cpu() { curl -sf "http://$A/metrics" | awk -v j="job_id=\"$busy\"" 'index($1, "shoal_job_cpu_seconds_total{") == 1 && index($1, j) { print $2 }'; }
cpu1=$(job_cpu); sleep 1.5; cpu2=$(job_cpu)
python3 -c "import sys; sys.exit(0 if float('${cpu2:-0}') > float('${cpu1:-0}') > 0 else 1)" && ok ||
  fail "job $busy's CPU seconds grow while it runs ($cpu1 then $cpu2)"
atext=$(curl -sf "http://$A/metrics")
expect_eq "$(metric_value "$atext" shoal_node_running_jobs)" "1" "agent: one running job"
expect_match "$atext" "shoal_job_memory_bytes\{job_id=\"$busy\",source=\"(proc|cgroup)\"\} [1-9]" "agent: job memory"
expect_match "$atext" "shoal_gpu_utilization_ratio\{gpu=\"1\",emulated=\"true\"\} (0|1|0\.[0-9]+)" \
  "agent: emulated GPU utilization, marked emulated"
expect_match "$atext" "shoal_gpu_temperature_celsius\{gpu=\"0\",emulated=\"true\"\} [0-9]+" "agent: GPU temperature"
expect_match "$atext" "shoal_node_memory_available_bytes [1-9]" "agent: node memory"
expect_match "$atext" "shoal_node_load1 [0-9]" "agent: load"

wait_until 30 has_series 'shoal_jobs_finished_total{state="completed"}' 4 && ok ||
  fail "four completions counted"
wait_until 5 has_series 'shoal_jobs{state="running",partition="debug"}' 0 && ok || fail "nothing running at the end"
text=$(cmetrics)
expect_eq "$(metric_value "$text" shoal_jobs_started_total)" "4" "four starts counted"
pass_count=$(metric_value "$text" shoal_scheduler_pass_duration_seconds_count)
[ "${pass_count:-0}" -gt 0 ] && ok || fail "scheduling passes observed"
expect_match "$text" "shoal_api_request_duration_seconds_count\{route=\"/api/v1/jobs\",method=\"POST\",code=\"201\"\} 4" \
  "API requests counted by route and status"
wait_until 5 bash -c "[ -z \"\$(curl -sf http://$A/metrics | grep '^shoal_job_cpu_seconds_total{')\" ]" && ok ||
  fail "the agent drops a job's series when it ends"

# --- bad input: JSON errors with status codes ---
out=$(curl -s -w ' %{http_code}' -X POST "http://$HTTP/metrics")
expect_match "$out" '"error".* 405$' "POST /metrics"
out=$(curl -s -w ' %{http_code}' "http://$HTTP/api/v1/prometheus/targets?role=robot")
expect_match "$out" '"INVALID_ARGUMENT".* 400$' "targets with a bad role"
out=$(curl -s -w ' %{http_code}' "http://$HTTP/api/v1/prometheus/nope")
expect_match "$out" '"NOT_FOUND".* 404$' "unknown prometheus route"
out=$(curl -s -w ' %{http_code}' "http://$AGENT1/nope")
expect_match "$out" '"NOT_FOUND".* 404$' "unknown agent path"

# --- the Grafana dashboard names only metrics shoal exports (live answers) ---
cmetrics >"$WORK/controller.metrics"
curl -sf "http://$AGENT1/metrics" >"$WORK/agent.metrics"
out=$(python3 "$SRC/tests/tools/check_grafana_dashboard.py" "$SRC/deploy/grafana/shoal-dashboard.json" \
  "$WORK/controller.metrics" "$WORK/agent.metrics" 2>&1) && ok || fail "Grafana dashboard: $out"

# --- a real Prometheus, finding its targets through the discovery route ---
if ! command -v prometheus >/dev/null; then
  echo "SKIP: prometheus is not installed (scripts/install-deps installs it); $CHECKS checks passed"
  FINISHED=1
  [ "$FAILURES" -eq 0 ] && exit 77
  exit 1
fi
PROM_PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: shoal
    http_sd_configs:
      - url: http://$HTTP/api/v1/prometheus/targets
        refresh_interval: 1s
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
# prom_count QUERY: how many series Prometheus returns for QUERY.
prom_count() {
  curl -sf -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["data"]["result"]) if d["status"]=="success" else -1)'
}
prom_has() { [ "$(prom_count "$1")" == "$2" ]; }
wait_until 60 prom_has 'shoal_build_info{shoal_role="controller"}' 1 && ok ||
  { fail "Prometheus scraped no controller metric"; tail -5 "$WORK/prometheus.log"; }
wait_until 30 prom_has 'shoal_node_cpus{shoal_role="agent"}' 2 && ok ||
  fail "Prometheus scraped both agents (shoal_node_cpus)"
wait_until 30 prom_has 'shoal_gpu_temperature_celsius{shoal_node="node2",emulated="true"}' 2 && ok ||
  fail "Prometheus has node2's two GPUs"
expect_eq "$(prom_count 'up{job="shoal"} == 1')" "3" "all three targets up"
expect_eq "$(prom_count 'shoal_jobs_finished_total{state="completed"} == 4')" "1" \
  "Prometheus reads the controller's completion count"
kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
PROM_PID=""
finish

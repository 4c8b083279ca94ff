# Shared helpers for the integration tests: each test starts its own cluster in a fresh state
# directory (so tests run side by side), drives it only through the commands, and stops it.
set -uo pipefail

BIN=${1:?usage: $0 BUILD_BIN_DIR}
BIN=$(cd "$BIN" && pwd)
export PATH="$BIN:$PATH"
TEST_NAME=$(basename "$0" .sh)
export SHOAL_STATE_DIR=$(mktemp -d "/tmp/shoal-$TEST_NAME.XXXXXX")
WORK=$(mktemp -d "/tmp/shoal-$TEST_NAME-work.XXXXXX")
cd "$WORK"
FAILURES=0
CHECKS=0
FINISHED=0

cleanup() {
  local rc=$?
  if [ "$FINISHED" != 1 ]; then
    echo "FAIL: $TEST_NAME ended early (exit status $rc) after $CHECKS checks"
    FAILURES=$((FAILURES + 1))
  fi
  shoal down >/dev/null 2>&1 || true
  # Anything a test restarted by hand.
  pkill -f -- "--state-dir $SHOAL_STATE_DIR" 2>/dev/null || true
  # Under the sanitizer presets a report in a daemon's log (their stderr) fails the test, even
  # when every check passed.
  local logs=("$SHOAL_STATE_DIR"/controller.log "$SHOAL_STATE_DIR"/agents/*/agent.log)
  local pattern="WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|runtime error:"
  if grep -qE "$pattern" "${logs[@]}" 2>/dev/null; then
    echo "FAIL: sanitizer reports in the daemons' logs:"
    grep -hE -A8 "$pattern" "${logs[@]}" 2>/dev/null | head -60
    FAILURES=$((FAILURES + 1))
  fi
  if [ "$FAILURES" -eq 0 ]; then
    rm -rf "$SHOAL_STATE_DIR" "$WORK"
  else
    echo "kept for inspection: state $SHOAL_STATE_DIR, work $WORK"
    [ -f "$WORK/up.log" ] && { echo "--- shoal up said:"; cat "$WORK/up.log"; }
    for f in "$SHOAL_STATE_DIR"/controller.log "$SHOAL_STATE_DIR"/agents/*/agent.log; do
      [ -f "$f" ] && { echo "--- tail of $f"; tail -n 30 "$f"; }
    done
    exit 1
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  FAILURES=$((FAILURES + 1))
}

ok() { CHECKS=$((CHECKS + 1)); }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
  if [ "$1" == "$2" ]; then ok; else fail "$3: expected '$2', got '$1'"; fi
}

# expect_match TEXT REGEX WHAT
expect_match() {
  if [[ "$1" =~ $2 ]]; then ok; else fail "$3: '$1' does not match /$2/"; fi
}

# wait_until SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_until() {
  local deadline=$(($(date +%s%N) + $1 * 1000000000))
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s%N)" -gt "$deadline" ]; then return 1; fi
    sleep 0.1
  done
}

job_state() { sacct -n -X -P -j "$1" --format=State 2>/dev/null | head -1; }
job_done() { [[ "$(job_state "$1")" =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) ]]; }
queue_empty() { [ -z "$(squeue -h)" ]; }

controller_pid() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller_pid"])' \
    "$SHOAL_STATE_DIR/cluster.json"
}

# start_controller [ARGS...]: starts a controller on this cluster's state directory again (after
# the test stopped or killed it), records its pid for shoal down, and waits until it answers.
start_controller() {
  setsid "$BIN/shoal-controller" --state-dir "$SHOAL_STATE_DIR" \
    --log-file "$SHOAL_STATE_DIR/controller.log" "$@" </dev/null >/dev/null 2>&1 &
  python3 - "$SHOAL_STATE_DIR/cluster.json" "$!" <<'P'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["controller_pid"] = int(sys.argv[2]); json.dump(c, open(p, "w"))
P
  wait_until 10 sinfo -h || fail "controller did not come back"
}

# restart_controller [ARGS...]: stops the controller (SIGTERM), then start_controller ARGS.
restart_controller() {
  local old
  old=$(controller_pid)
  kill "$old"
  wait_until 10 bash -c "! kill -0 $old 2>/dev/null" || fail "controller did not stop"
  start_controller "$@"
}

start_cluster() {
  shoal up "$@" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "shoal up $*"; exit 1; }
}

finish() {
  FINISHED=1
  if [ "$FAILURES" -eq 0 ]; then
    echo "$TEST_NAME: $CHECKS checks passed"
    exit 0
  fi
  echo "$TEST_NAME: $FAILURES of $((CHECKS + FAILURES)) checks failed"
  exit 1
}

# require_client PROGRAM...: a test of a real client (MPI, PyTorch, a workflow engine) cannot
# pass without it; scripts/install-deps installs them all. Ends the test SKIPPED (exit 77).
require_client() {
  local p
  for p in "$@"; do
    if ! command -v "$p" >/dev/null 2>&1; then
      echo "SKIP: $p is not installed (scripts/install-deps installs it)"
      FINISHED=1
      exit 77
    fi
  done
}

# require_python_module MODULE: Debian's Python packages (python3-torch, toil) are for the system
# interpreter; a python3 earlier on PATH (pyenv, a virtual environment) may lack them, so the
# test and its jobs get the system one under the same name. SKIPPED when neither has MODULE.
require_python_module() {
  python3 -c "import $1" 2>/dev/null && return 0
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" 2>/dev/null; then
    mkdir -p "$WORK/pybin" && ln -sf /usr/bin/python3 "$WORK/pybin/python3"
    export PATH="$WORK/pybin:$PATH"
    return 0
  fi
  echo "SKIP: Python module $1 is not installed (scripts/install-deps installs it)"
  FINISHED=1
  exit 77
}

# netns_hub NS NET: a new network namespace NS holding bridge br0 at NET.1/24, for the test's
# hosts to join with netns_host. Fails (having removed NS) when a step fails, e.g. without root.
netns_hub() {
  ip netns add "$1" 2>/dev/null || return 1
  ip -n "$1" link set lo up && ip -n "$1" link add br0 type bridge &&
    ip -n "$1" addr add "$2.1/24" dev br0 && ip -n "$1" link set br0 up && return 0
  ip netns del "$1"
  return 1
}

# netns_host HUB NS HOST_END PEER ADDR: a new network namespace NS whose eth0 has ADDR/24, one end
# of a veth pair (made as HOST_END and PEER: names unique on this machine) whose other end,
# HOST_END, is enslaved to br0 in HUB. Fails (having removed what it made) when a step fails.
netns_host() {
  local hub=$1 ns=$2 host_end=$3 peer=$4 addr=$5
  ip netns add "$ns" || return 1
  ip -n "$ns" link set lo up && ip link add "$host_end" type veth peer name "$peer" || {
    ip netns del "$ns"
    return 1
  }
  ip link set "$peer" netns "$ns" && ip -n "$ns" link set "$peer" name eth0 &&
    ip link set "$host_end" netns "$hub" && ip -n "$hub" link set "$host_end" master br0 up &&
    ip -n "$ns" addr add "$addr/24" dev eth0 && ip -n "$ns" link set eth0 up && return 0
  # Deleting either end deletes the pair: here if it is still in this namespace, else with NS.
  ip link del "$host_end" 2>/dev/null
  ip netns del "$ns"
  return 1
}

# netns_del NS...: kills what still runs in each network namespace NS (a process there would
# keep it and its links alive), then deletes it; quiet about those that are not there.
netns_del() {
  local ns p
  for ns in "$@"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  return 0
}

# The MPI launchers refuse root unless told it is meant (containers and CI run tests as root).
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

#!/usr/bin/env bash
# Agents behind a relay (shoal-relay): three real agents dial the relay, not the controller. They
# register and run jobs (a batch job, a 3-node job with srun steps, a failing job with its exit
# code), while the controller holds a single connection for all three, the relay's. `shoal join`
# through the relay gets the cluster key. An agent with a wrong cluster key gets the
# controller's refusal through the relay. After a kill -9 of
# the relay, a new one on the same port brings every node back, and jobs run again.
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; FINISHED=1; exit 77; }

start_cluster --nodes 0
S=$SHOAL_STATE_DIR
AGENTS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agents"])' \
  "$S/controller.json")
CTL_PORT=${AGENTS##*:}
RELAY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RELAY=127.0.0.1:$RELAY_PORT
PIDS=()
trap 'rc=$?; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT

# The relay's own certificate, issued from the cluster CA as docs/install.md says.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/relay1.key" \
  -subj /CN=relay1 -out "$WORK/relay1.csr" >/dev/null 2>&1 || fail "openssl req"
openssl x509 -req -in "$WORK/relay1.csr" -CA "$S/tls/ca.pem" -CAkey "$S/tls/ca.key" -days 30 \
  -extfile <(echo "subjectAltName=DNS:relay1,IP:127.0.0.1") -out "$WORK/relay1.pem" \
  >/dev/null 2>&1 || fail "openssl x509"

start_relay() {
  "$BIN/shoal-relay" --listen "$RELAY" --controller "$AGENTS" --tls-ca "$S/tls/ca.pem" \
    --tls-cert "$WORK/relay1.pem" --tls-key "$WORK/relay1.key" --connections 1 \
    </dev/null >>"$WORK/relay.log" 2>&1 &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  wait_until 10 grep -q "listening on $RELAY" "$WORK/relay.log" ||
    { fail "the relay did not start"; cat "$WORK/relay.log"; exit 1; }
}

start_agent() {  # NAME KEY_FILE
  local dir="$S/agents/$1"
  mkdir -p "$dir"
  setsid "$BIN/shoal-agent" --controller "$RELAY" --name "$1" --state-dir "$dir" --cpus 2 \
    --memory-mb 1024 --tls-ca "$S/tls/ca.pem" --cluster-key-file "$2" \
    --metrics-address 127.0.0.1 --metrics-port 0 </dev/null >"$dir/agent.log" 2>&1 &
  PIDS+=("$!")
}
idle_nodes() { sinfo -h -N -t idle -o %N | awk '{print $1}' | sort | tr '\n' ' '; }
all_idle() { [ "$(idle_nodes)" = "r1 r2 r3 " ]; }
connections_to_controller() {
  ss -tnH state established "( dport = :$CTL_PORT )" | wc -l
}

# Bad options are refused with the reason.
out=$("$BIN/shoal-relay" --controller "$AGENTS" --tls-ca "$S/tls/ca.pem" \
  --tls-cert "$WORK/relay1.pem" --tls-key "$S/tls/controller.key" 2>&1)
expect_match "$?:$out" "^1:.*TLS key file .*controller.key" "a key that is not the certificate's"
out=$("$BIN/shoal-relay" --tls-ca "$S/tls/ca.pem" 2>&1)
expect_match "$?:$out" "--controller is required" "no --controller"
out=$("$BIN/shoal-relay" --controller "$AGENTS,ctl2" --tls-ca "$S/tls/ca.pem" \
  --tls-cert "$WORK/relay1.pem" --tls-key "$WORK/relay1.key" 2>&1)
expect_match "$?:$out" "^1:shoal-relay: error: --controller: 'ctl2' is not HOST:PORT" \
  "a controller address without a port"

start_relay
for n in r1 r2 r3; do start_agent "$n" "$S/cluster.key"; done
wait_until 20 all_idle ||
  fail "the three agents behind the relay are not idle: '$(idle_nodes)'"
ok
expect_eq "$(connections_to_controller)" 1 "connections to the controller for three agents"

# Jobs run through the relay: output, steps on every node, exit codes.
id=$(sbatch --parsable -w r2 --wrap 'echo hello from $SLURMD_NODENAME')
wait_until 20 job_done "$id" || fail "job $id did not end"
expect_eq "$(job_state "$id")" COMPLETED "a batch job behind the relay"
expect_eq "$(cat "slurm-$id.out" 2>/dev/null)" "hello from r2" "its output"
id=$(sbatch --parsable -N3 --wrap 'srun bash -c "echo \$SLURMD_NODENAME" | sort | tr "\n" " "')
wait_until 30 job_done "$id" || fail "job $id did not end"
expect_eq "$(job_state "$id")" COMPLETED "a 3-node job with a step"
expect_eq "$(cat "slurm-$id.out" 2>/dev/null)" "r1 r2 r3 " "the step ran on every node"
id=$(sbatch --parsable --wrap 'exit 3')
wait_until 20 job_done "$id" || fail "job $id did not end"
expect_eq "$(sacct -n -X -P -j "$id" --format=State,ExitCode)" "FAILED|3:0" "a failing job"

# `shoal join` through the relay: the controller redeems the token, the node gets the key.
token=$(shoal token --join 2>/dev/null)
if shoal join "$RELAY" "$token" --name r9 --config-dir "$WORK/join" --state-dir "$WORK/join/state" \
  >"$WORK/join.out" 2>&1; then
  expect_eq "$(cat "$WORK/join/agent/cluster.key")" "$(cat "$S/cluster.key")" \
    "the cluster key a join through the relay wrote"
else
  fail "shoal join through the relay: $(cat "$WORK/join.out")"
fi

# A wrong cluster key: the controller's refusal reaches the agent through the relay.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/wrong.key"
chmod 600 "$WORK/wrong.key"
start_agent intruder "$WORK/wrong.key"
wait_until 10 grep -q "cluster key rejected by controller $RELAY: wrong cluster key" \
  "$S/agents/intruder/agent.log" || fail "the refused agent behind the relay does not say why"
sinfo -h -N -o %N | grep -qw intruder && fail "an agent with a wrong key shows in sinfo"
ok
kill -9 "${PIDS[-1]}"

# The relay dies and comes back on the same address: every node registers again.
kill -9 "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
start_relay
wait_until 30 all_idle ||
  fail "the nodes did not come back through the new relay: '$(idle_nodes)'"
ok
id=$(sbatch --parsable -N3 --wrap 'srun true')
wait_until 30 job_done "$id" || fail "job $id did not end"
expect_eq "$(job_state "$id")" COMPLETED "a 3-node job after the relay's restart"
expect_eq "$(connections_to_controller)" 1 "connections to the controller after the restart"

# A clean stop ends the relay at once.
kill -TERM "$RELAY_PID"
wait_until 5 bash -c "! kill -0 $RELAY_PID 2>/dev/null" || fail "the relay did not stop on SIGTERM"
ok

finish

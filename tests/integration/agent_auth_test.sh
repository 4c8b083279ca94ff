#!/usr/bin/env bash
# Agents join only over TLS with the cluster's CA and prove the cluster key: a cluster from
# `shoal up` runs a job over TLS; an extra agent with a wrong key, or one that trusts another
# CA, is refused, never shows in sinfo, and the controller's log says why; one with the right
# material joins. Plaintext HTTP/2 cannot talk to the agent port.
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; FINISHED=1; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; FINISHED=1; exit 77; }

start_cluster --nodes 1 --cpus-per-node 2
S=$SHOAL_STATE_DIR
LOG=$S/controller.log

# The material shoal up made: private keys and the cluster key owner-only, listed in the config.
for f in tls/ca.key tls/controller.key cluster.key; do
  expect_eq "$(stat -c %a "$S/$f")" 600 "mode of $f"
done
config=$(scontrol show config)
expect_match "$config" "TLSCAFile += $S/tls/ca.pem" "scontrol show config: TLSCAFile"
expect_match "$config" "ClusterKeyFile += $S/cluster.key" "scontrol show config: ClusterKeyFile"
expect_match "$config" "TLSCertFile += $S/tls/controller.pem" "scontrol show config: TLSCertFile"
expect_match "$config" "TLSKeyFile += $S/tls/controller.key" "scontrol show config: TLSKeyFile"

id=$(sbatch --parsable -o job.out --wrap 'echo over tls')
wait_until 15 job_done "$id" || fail "job $id did not finish"
expect_eq "$(job_state "$id")" COMPLETED "a job over TLS"
expect_eq "$(cat job.out 2>/dev/null)" "over tls" "its output"

AGENTS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agents"])' \
  "$S/controller.json")
# The agent port speaks TLS with a certificate of the cluster CA for 127.0.0.1.
out=$(openssl s_client -connect "$AGENTS" -CAfile "$S/tls/ca.pem" -verify_return_error \
  -verify_ip 127.0.0.1 </dev/null 2>&1)
expect_match "$out" "Verify return code: 0 \(ok\)" "the controller's certificate verifies"
# A plaintext HTTP/2 (gRPC) client gets nowhere, and the controller's log (gRPC's own line)
# says why; the same request over TLS gets an answer.
curl -s -m 5 --http2-prior-knowledge -X POST -H 'content-type: application/grpc' \
  "http://$AGENTS/shoal.rpc.AgentService/Connect" -o /dev/null
expect_eq "$([ $? -ne 0 ] && echo refused)" refused "a plaintext HTTP/2 client"
wait_until 5 grep -q "Handshake failed .*wrong version number" "$LOG" ||
  fail "the controller's log does not show the plaintext connection's failed handshake"
curl -s -m 5 --http2 --cacert "$S/tls/ca.pem" -X POST -H 'content-type: application/grpc' \
  -H 'te: trailers' "https://$AGENTS/shoal.rpc.AgentService/Connect" -o /dev/null
expect_eq "$?" 0 "the same request over TLS is answered"

# start_agent NAME ARGS...: an extra agent beside the cluster (its dir under the state dir, so
# the cleanup finds it); its pid in AGENT_PID.
start_agent() {
  local name=$1 dir="$S/extra/$1"
  shift
  mkdir -p "$dir"
  setsid "$BIN/shoal-agent" --controller "$AGENTS" --name "$name" --state-dir "$dir" --cpus 1 \
    --memory-mb 512 --metrics-address 127.0.0.1 --metrics-port 0 "$@" \
    </dev/null >"$dir/agent.log" 2>&1 &
  AGENT_PID=$!
}
in_sinfo() { sinfo -h -N -o %N | grep -qx "$1"; }
PIDS=()

# (a) The cluster's CA but a wrong key: refused, keeps retrying, never a node.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/wrong.key"
chmod 600 "$WORK/wrong.key"
start_agent intruder1 --tls-ca "$S/tls/ca.pem" --cluster-key-file "$WORK/wrong.key"
PIDS+=("$AGENT_PID")
intruder1_since=$(date +%s)
wait_until 10 grep -q "refused agent intruder1 from .*: wrong cluster key" "$LOG" ||
  fail "the controller's log does not name intruder1 and the wrong key"
wait_until 10 grep -q "cluster key rejected by controller $AGENTS: wrong cluster key" \
  "$S/extra/intruder1/agent.log" || fail "the agent with a wrong key does not say why"
sleep 1
in_sinfo intruder1 && fail "an agent with a wrong key shows in sinfo"
ok
kill -0 "${PIDS[-1]}" 2>/dev/null && ok || fail "the refused agent gave up instead of retrying"

# (b) The right key but another cluster's CA: the agent refuses the controller's certificate
# (gRPC does not tell the controller why a client aborted its handshake: the agent's log says).
"$BIN/shoal-controller" --init-tls --state-dir "$WORK/other" >/dev/null 2>&1 ||
  fail "shoal-controller --init-tls"
expect_eq "$(stat -c %a "$WORK/other/cluster.key")" 600 "--init-tls: the key's mode"
start_agent intruder2 --tls-ca "$WORK/other/tls/ca.pem" --cluster-key-file "$S/cluster.key"
PIDS+=("$AGENT_PID")
wait_until 10 grep -q "controller $AGENTS: cannot send Register: .*certificate verify failed" \
  "$S/extra/intruder2/agent.log" ||
  fail "the agent trusting another CA does not say why it cannot connect"
sleep 1
grep -q "intruder2" "$LOG" && fail "the controller heard of intruder2"
in_sinfo intruder2 && fail "an agent trusting another CA shows in sinfo"
ok

# Emulated nodes with a wrong key are refused too, and the emulator gives up on them.
out=$(timeout 20 shoal sim agents --count 2 --prefix emu --cluster-key-file "$WORK/wrong.key" \
  2>&1)
expect_match "$?:$out" "^1:.*emu1: cluster key rejected by controller $AGENTS: .*wrong cluster key" \
  "emulated nodes with a wrong key"
expect_match "$out" "the controller refused every node" "the emulator gives up"
in_sinfo emu1 && fail "an emulated node with a wrong key shows in sinfo"

# Bad material stops an agent before it starts, naming the file.
chmod 644 "$WORK/wrong.key"
out=$("$BIN/shoal-agent" --controller "$AGENTS" --name x --state-dir "$S/extra/x" \
  --tls-ca "$S/tls/ca.pem" --cluster-key-file "$WORK/wrong.key" 2>&1)
expect_match "$?:$out" "^1:.*$WORK/wrong.key is accessible by group or others \(mode 0644\)" \
  "an agent with a key file others may read"
out=$("$BIN/shoal-agent" --controller "$AGENTS" --name x --state-dir "$S/extra/x" \
  --tls-ca "$WORK/none.pem" --cluster-key-file "$S/cluster.key" 2>&1)
expect_match "$?:$out" "^1:.*cannot read TLS CA file $WORK/none.pem" "an agent without its CA"
# And a controller whose configured key file others may read does not start.
cp "$S/tls/controller.key" "$WORK/open.key" && chmod 640 "$WORK/open.key"
printf 'TLSCAFile=%s\nTLSCertFile=%s\nTLSKeyFile=%s\nClusterKeyFile=%s\n' "$S/tls/ca.pem" \
  "$S/tls/controller.pem" "$WORK/open.key" "$S/cluster.key" >"$WORK/open.conf"
out=$(timeout 10 "$BIN/shoal-controller" --state-dir "$WORK/ctl2" --config "$WORK/open.conf" \
  --listen 127.0.0.1:0 2>&1)
expect_match "$?:$out" "^1:.*key file $WORK/open.key is accessible by group or others" \
  "a controller with a key file others may read"

# (c) The right CA and key: joins and runs a job.
start_agent extra1 --tls-ca "$S/tls/ca.pem" --cluster-key-file "$S/cluster.key"
PIDS+=("$AGENT_PID")
wait_until 10 bash -c "sinfo -h -N -n extra1 -o %T | grep -qx idle" ||
  fail "the agent with the cluster's material did not join"
id=$(sbatch --parsable -w extra1 -o extra.out --wrap 'hostname >/dev/null; echo joined')
wait_until 15 job_done "$id" || fail "job $id on extra1 did not finish"
expect_eq "$(cat extra.out 2>/dev/null)" joined "a job on the agent that joined"
in_sinfo intruder1 && fail "intruder1 shows in sinfo"
in_sinfo intruder2 && fail "intruder2 shows in sinfo"
ok

# (d) Garbage on the agent port (random bytes; HTTP/2's preface and then junk) changes nothing:
# the controller drops each connection quietly and keeps serving its agents.
lines_before=$(wc -l <"$LOG")
for _ in $(seq 20); do
  head -c 512 /dev/urandom | timeout 2 bash -c "cat >/dev/tcp/${AGENTS%:*}/${AGENTS##*:}" 2>/dev/null
  printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x07junkjunk' |
    timeout 2 bash -c "cat >/dev/tcp/${AGENTS%:*}/${AGENTS##*:}" 2>/dev/null
done
id=$(sbatch --parsable -w extra1 -o extra2.out --wrap 'echo still')
wait_until 15 job_done "$id" || fail "job $id after garbage on the agent port did not finish"
expect_eq "$(cat extra2.out 2>/dev/null)" still "a job after garbage on the agent port"
grown=$(($(wc -l <"$LOG") - lines_before))
[ "$grown" -le 10 ] && ok || fail "40 garbage connections grew the controller's log by $grown lines"
# The refused agent kept retrying all along; its refusals are logged once per 10 s at most.
refusals=$(grep -c "refused agent intruder1" "$LOG")
most=$((($(date +%s) - intruder1_since) / 10 + 2))
[ "$refusals" -le "$most" ] && ok ||
  fail "intruder1's refusals logged $refusals times in $(($(date +%s) - intruder1_since)) s"

kill "${PIDS[@]}" 2>/dev/null
wait "${PIDS[@]}" 2>/dev/null
finish

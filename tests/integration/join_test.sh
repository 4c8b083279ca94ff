#!/usr/bin/env bash
# The 3-host set-up of docs/install.md, across network namespaces: `shoal init` on the
# controller's host, `shoal token --join` there, `shoal join` on two nodes (each in a namespace
# of its own, joined by veth pairs to a bridge in the controller's), their agents started from
# the written agent.conf, a job on each. And the refusals: a reused, an expired, a garbage and a
# wrong-secret token, and a token whose CA hash does not match the controller's, each with its
# message, no file written and no node registered; `shoal token --list` and `--revoke`, and a
# revoked token refused. Without network namespaces it runs on
# loopback (and says so).
source "$(dirname "$0")/lib.sh"

TAG=$(printf '%04x' $((RANDOM)))
NS_C="shoaljn-$TAG-c"
NET=10.214.$((RANDOM % 200 + 20))
NODES=(node1 node2)
declare -A NS AGENT_PID
PIDS=()
CTL=$NET.1

teardown() {
  local p
  for p in "${AGENT_PID[@]}" "${PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  [ -n "${NETNS:-}" ] && netns_del "${NS[@]}" "$NS_C"
}
trap 'rc=$?; teardown; (exit $rc); cleanup' EXIT

# ns_exec HOST: the words that run a command in the namespace of HOST (none on loopback). For
# daemons started with &, so that $! is the daemon itself, not a subshell.
ns_exec() {
  if [ -z "${NETNS:-}" ]; then return; elif [ "$1" = controller ]; then
    echo "ip netns exec $NS_C"
  else echo "ip netns exec ${NS[$1]}"; fi
}
# on HOST CMD...: runs CMD in the namespace of HOST (controller, node1, node2).
on() {
  local h=$1
  shift
  if [ -z "${NETNS:-}" ]; then "$@"; elif [ "$h" = controller ]; then
    ip netns exec "$NS_C" "$@"
  else ip netns exec "${NS[$h]}" "$@"; fi
}

NETNS=1
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1 || ! netns_hub "$NS_C" "$NET"; then
  NETNS=
  CTL=127.0.0.1
  echo "NOTE: no network namespaces here (needs root and iproute2): the hosts share loopback"
else
  i=10
  for n in "${NODES[@]}"; do
    i=$((i + 1))
    NS[$n]="shoaljn-$TAG-${n#node}"
    netns_host "$NS_C" "${NS[$n]}" "sjn${TAG}h${n#node}" "sjn${TAG}n${n#node}" "$NET.$i" ||
      { fail "could not set up the network namespace of $n"; exit 1; }
  done
fi

# --- the controller's host: shoal init, then the controller from what init wrote ------------
ETC=$WORK/etc-controller
on controller shoal init --controller "$CTL" --config-dir "$ETC" --cluster-name jointest \
  >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out"; fail "shoal init"; exit 1; }
expect_match "$(cat "$WORK/init.out")" "shoal join $CTL:6817 TOKEN" "init prints the next steps"
for f in shoal.conf controller.env cluster.key tls/ca.pem tls/ca.key tls/controller.pem \
  tls/controller.key; do
  [ -s "$ETC/$f" ] && ok || fail "shoal init did not write $ETC/$f"
done
expect_eq "$(stat -c %a "$ETC/cluster.key")" 600 "cluster key mode"
expect_match "$(cat "$ETC/shoal.conf")" "ClusterName=jointest" "shoal.conf names the cluster"
expect_match "$(cat "$ETC/controller.env")" "--agent-listen 0.0.0.0:6817" "controller.env"
on controller shoal init --controller "$CTL" --config-dir "$ETC" >"$WORK/init2.out" 2>&1 &&
  fail "a second shoal init succeeded"
expect_match "$(cat "$WORK/init2.out")" "exists: this host is set up already" "init twice"

# Bad input changes nothing.
for bad in "0.0.0.0" "ctl:99999" "ctl:0"; do
  out=$(shoal init --controller "$bad" --config-dir "$WORK/etc-bad" 2>&1) &&
    fail "shoal init --controller $bad succeeded"
  expect_match "$out" "error: --controller" "init --controller $bad"
done
expect_match "$(shoal init --controller ctl --config-dir etc-relative 2>&1)" \
  "--config-dir must be an absolute path" "init with a relative --config-dir"
[ ! -e "$WORK/etc-bad" ] && [ ! -e "$WORK/etc-relative" ] && ok || fail "a refused init wrote files"

$(ns_exec controller) "$BIN/shoal-controller" --config "$ETC/shoal.conf" --state-dir "$SHOAL_STATE_DIR" \
  --listen 127.0.0.1:0 --agent-listen "$CTL:6817" --log-file "$SHOAL_STATE_DIR/controller.log" \
  </dev/null >/dev/null 2>&1 &
PIDS+=($!)
wait_until 10 sinfo -h || { fail "the controller did not come up"; exit 1; }
CA_HASH=$(openssl x509 -in "$ETC/tls/ca.pem" -outform der | sha256sum | cut -d' ' -f1)

new_token() { shoal token --join "$@" 2>/dev/null; }
# join HOST DIR TOKEN: shoal join on HOST writing into DIR; its output in $WORK/join.out.
join() {
  on "$1" shoal join "${JOIN_TO:-$CTL}" "$3" --name "$1" --config-dir "$2" --state-dir "$2/state" \
    >"$WORK/join.out" 2>&1
}
registered() { sinfo -h -N -o %N 2>/dev/null | sort -u | tr '\n' ' '; }
# refused WHAT DIR TOKEN MESSAGE: the join fails with MESSAGE, writes nothing, registers nothing.
refused() {
  local what=$1 dir=$2 token=$3 message=$4 before
  before=$(registered)
  if join node2 "$dir" "$token"; then
    fail "$what: the join succeeded"
    return
  fi
  expect_match "$(cat "$WORK/join.out")" "$message" "$what: message"
  expect_eq "$(find "$dir" -type f 2>/dev/null | wc -l)" 0 "$what: files written"
  expect_eq "$(registered)" "$before" "$what: nodes registered"
}

T1=$(new_token)
expect_match "$T1" "^[a-z0-9]{6}\.[a-z0-9]{16}\.$CA_HASH$" "token pins the CA (ID.SECRET.CAHASH)"
expect_match "$(SHOAL_CONTROLLER= shoal token --join lifespan=0 2>&1)" "Invalid lifespan value: 0" \
  "a bad lifespan"

# --- node1 joins; the refusals leave no trace on node2 --------------------------------------
join node1 "$WORK/etc-node1" "$T1" || { cat "$WORK/join.out"; fail "node1 could not join"; }
expect_match "$(cat "$WORK/join.out")" "node node1 joined cluster jointest" "join says so"
expect_eq "$(stat -c %a "$WORK/etc-node1/agent/cluster.key")" 600 "node1's cluster key mode"
expect_eq "$(cat "$WORK/etc-node1/agent/cluster.key")" "$(cat "$ETC/cluster.key")" \
  "node1 has the cluster key"
expect_eq "$(registered)" "" "a join registers no node by itself"

refused "reused token" "$WORK/etc-n2-reused" "$T1" "join token [a-z0-9]+ was already used"
T_EXP=$(new_token lifespan=1)
sleep 1.2
refused "expired token" "$WORK/etc-n2-expired" "$T_EXP" "join token [a-z0-9]+ expired at"
refused "garbage token" "$WORK/etc-n2-garbage" "not-a-token" "invalid join token: expected ID"
T2=$(new_token)
refused "wrong secret" "$WORK/etc-n2-secret" "${T2%%.*}.aaaaaaaaaaaaaaaa.$CA_HASH" \
  "the controller knows no such token"
OTHER_HASH=$(echo other | sha256sum | cut -d' ' -f1)
refused "CA hash mismatch" "$WORK/etc-n2-ca" "${T2%.*}.$OTHER_HASH" \
  "does not present the cluster CA the token pins.*refusing to trust it"
# --- listing and revoking: the list shows ids and states, never a secret; a revoked token is
# refused with its own message -------------------------------------------------------------
T_REV=$(new_token)
REV_ID=${T_REV%%.*}
REV_SECRET=$(cut -d. -f2 <<<"$T_REV")
list=$(shoal token --list 2>&1) || fail "shoal token --list failed: $list"
expect_match "$list" "^ID +CREATED +EXPIRES +STATE" "token list header"
expect_match "$list" "${T1%%.*} .* used +root +by node1 at " "the list shows T1 used by node1"
expect_match "$list" "$REV_ID [0-9T:-]+ [0-9T:-]+ unused +root" "the list shows the new token unused"
expect_match "$list" "${T_EXP%%.*} .* expired " "the list shows the expired token"
[[ "$list" == *"$REV_SECRET"* ]] && fail "shoal token --list shows a secret" || ok
shoal token --revoke "$REV_ID" 2>"$WORK/revoke.err" || fail "revoke: $(cat "$WORK/revoke.err")"
expect_match "$(cat "$WORK/revoke.err")" "join token $REV_ID revoked" "revoke says so"
expect_match "$(shoal token --list 2>&1)" "$REV_ID .* revoked +root +by root at " "listed revoked"
refused "revoked token" "$WORK/etc-n2-revoked" "$T_REV" "join token $REV_ID was revoked \(at "
expect_match "$(shoal token --revoke "$REV_ID" 2>&1)" "already revoked" "revoking twice"
expect_match "$(shoal token --revoke "${T1%%.*}" 2>&1)" "already used by node node1" \
  "revoking a used token"
expect_match "$(shoal token --revoke zzzzzz 2>&1)" "no join token zzzzzz" "revoking an unknown id"
expect_match "$(shoal token --revoke 'AB/..' 2>&1)" "invalid join token id" "revoking a bad id"
shoal token --revoke zzzzzz >/dev/null 2>&1 && fail "revoking an unknown id succeeded" || ok

# The secret never left node2 then: the same token still works. With several controllers listed
# (high availability), the join goes to the first that answers and agent.conf lists them all; the
# agent then passes over the one that does not answer.
JOIN_TO="127.0.0.1:1,$CTL" join node2 "$WORK/etc-node2" "$T2" ||
  { cat "$WORK/join.out"; fail "node2 could not join"; }
expect_match "$(cat "$WORK/etc-node2/agent.conf")" "controller=127.0.0.1:1,$CTL:6817" \
  "agent.conf lists every controller given"

# A node that has joined is not joined again (and the token is not spent on it).
T3=$(new_token)
join node1 "$WORK/etc-node1" "$T3" && fail "a second join of node1 succeeded"
expect_match "$(cat "$WORK/join.out")" "has joined a cluster already" "joining twice"
expect_match "$(grep -c "join token ${T3%%.*} used" "$SHOAL_STATE_DIR/controller.log")" "^0$" \
  "the token was not spent"

# --- the agents start from what join wrote; a job runs on each ------------------------------
for n in "${NODES[@]}"; do
  $(ns_exec "$n") shoal agent --config "$WORK/etc-$n/agent.conf" --cpus 1 --memory-mb 1024 \
    --metrics-port 0 --log-file "$WORK/etc-$n/agent.log" </dev/null >/dev/null 2>&1 &
  AGENT_PID[$n]=$!
done
node_states() { sinfo -h -N -o '%N %T' 2>/dev/null | awk '{print $1, $2}' | sort -u | tr '\n' ' '; }
both_idle() { [ "$(node_states)" = "node1 idle node2 idle " ]; }
wait_until 15 both_idle || fail "node1 and node2 are not both idle: $(node_states)"
for n in "${NODES[@]}"; do
  j=$(sbatch --parsable -w "$n" -o "$WORK/out.$n" --wrap 'echo ran on $SLURMD_NODENAME')
  wait_until 15 job_done "$j" || fail "the job on $n did not finish"
  expect_eq "$(job_state "$j")" COMPLETED "job on $n"
  expect_eq "$(cat "$WORK/out.$n" 2>/dev/null)" "ran on $n" "job output on $n"
done
[ -n "$NETNS" ] && echo "ran across network namespaces ($CTL and $NET.11-12)"
finish

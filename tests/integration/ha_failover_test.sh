#!/usr/bin/env bash
# High availability (docs/high-availability.md): two controllers share one PostgreSQL, each in a
# network namespace of its own, with two agents in theirs, all on one bridge; the clients run in
# the bridge's namespace and know both controllers (SHOAL_CONTROLLER=A,B), the agents too. A
# third agent, node3, dials a relay (shoal-relay) on node2's host that knows both controllers.
# Under a steady stream of sbatch, the leader is killed (-9) three times, each time restarted as
# the standby once the other has taken over. Then: every job sbatch acknowledged ran exactly
# once and is COMPLETED; no job ran that sbatch did not acknowledge, beyond those whose answer
# was lost in flight; a frozen leader (SIGSTOP past its lease) that wakes after a takeover
# steps down without writing (exit status 75, the reason in its log). And the bad config: two
# SlurmctldHost with SQLite are refused with file:line.
# Run with HA_KILLS=N to kill the leader N times; bench/failover.sh uses it (HA_REPORT=FILE gets
# one line per kill: "kill_ms takeover_ms first_sbatch_ms agents_ms").
PG_TOOL=$(cd "$(dirname "$0")/../tools" && pwd)/throwaway_postgres.sh
source "$(dirname "$0")/lib.sh"

skip() {
  echo "SKIP: $*"
  FINISHED=1
  exit 77
}

# --- the bad config first: it needs nothing ---------------------------------------------------
printf 'ClusterName=ha\nSlurmctldHost=ctl1\nSlurmctldHost=ctl2\n' > bad.conf
out=$(timeout 10 "$BIN/shoal-controller" --state-dir "$WORK/bad-state" --config bad.conf 2>&1)
expect_eq "$?" 1 "exit status with two SlurmctldHost on SQLite"
expect_match "$out" "bad.conf:3: more than one SlurmctldHost needs StorageType=postgresql" \
  "two SlurmctldHost on SQLite: refused with file:line"
[ ! -e "$WORK/bad-state/shoal.db" ] && ok || fail "the refused controller created a database"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, veth pairs)"
command -v ip >/dev/null 2>&1 || skip "the ip command (iproute2) is not installed"

KILLS=${HA_KILLS:-3}
TAG=$(printf '%04x' $((RANDOM)))
NS_H="shoalha-$TAG-h"
HOSTS=(ctl1 ctl2 node1 node2)
declare -A NS IP PID
NET=10.215.$((RANDOM % 200 + 20))
IP[ctl1]=$NET.11
IP[ctl2]=$NET.12
IP[node1]=$NET.21
IP[node2]=$NET.22
PG_DIR=$(mktemp -d /tmp/shoal-ha-pg.XXXXXX)

teardown() {
  local p
  touch "$WORK/stop-stream"
  [ -n "${STREAM_PID:-}" ] && wait "$STREAM_PID" 2>/dev/null
  for p in "${PID[@]}"; do
    kill -CONT "$p" 2>/dev/null
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  netns_del "${NS[@]}" "$NS_H"
  bash "$PG_TOOL" stop "$PG_DIR"
}
trap 'rc=$?; teardown; (exit $rc); cleanup' EXIT

conninfo=$(bash "$PG_TOOL" start "$PG_DIR" 2>"$WORK/pg-start.log")
rc=$?
[ "$rc" = 77 ] && skip "$(cat "$WORK/pg-start.log")"
[ "$rc" = 0 ] || { cat "$WORK/pg-start.log"; fail "PostgreSQL did not start"; exit 1; }

netns_hub "$NS_H" "$NET" || skip "cannot create network namespaces (ip netns add failed)"
i=0
for h in "${HOSTS[@]}"; do
  i=$((i + 1))
  NS[$h]="shoalha-$TAG-$h"
  netns_host "$NS_H" "${NS[$h]}" "sha${TAG}h$i" "sha${TAG}n$i" "${IP[$h]}" || skip "no veth support"
done

# --- two controllers, one configuration; the TLS material, cluster key and JWT key shared ----
ETC=$WORK/etc
mkdir -p "$ETC"
cat > "$ETC/slurm.conf" <<EOF
ClusterName=ha
SlurmctldHost=ctl1(${IP[ctl1]})
SlurmctldHost=ctl2(${IP[ctl2]})
StorageType=postgresql
StorageURL="$conninfo"
TLSCAFile=$ETC/tls/ca.pem
TLSCertFile=$ETC/tls/controller.pem
TLSKeyFile=$ETC/tls/controller.key
ClusterKeyFile=$ETC/cluster.key
TLSCertNames=${IP[ctl1]},${IP[ctl2]}
AuthAltParameters=jwt_key=$ETC/jwt.key
KillWait=1
EOF
"$BIN/shoal-controller" --init-tls --config "$ETC/slurm.conf" --state-dir "$WORK/ctl1" \
  >"$WORK/init-tls.log" 2>&1 || { cat "$WORK/init-tls.log"; fail "--init-tls"; exit 1; }

start_controller_in() {
  local h=$1
  mkdir -p "$WORK/$h"
  ip netns exec "${NS[$h]}" "$BIN/shoal-controller" --config "$ETC/slurm.conf" --name "$h" \
    --state-dir "$WORK/$h" --listen "${IP[$h]}:6820" --agent-listen "${IP[$h]}:6817" \
    --log-file "$WORK/$h/controller.log" </dev/null >>"$WORK/$h/stderr.log" 2>&1 &
  PID[$h]=$!
}
# Each controller's own Unix socket: which one leads, whatever the network.
local_api() { SHOAL_CONTROLLER="unix:$WORK/$1/controller.sock" "${@:2}"; }
leads() { local_api "$1" sinfo -h >/dev/null 2>&1; }
stands_by() { [[ "$(local_api "$1" sinfo -h 2>&1)" =~ "is a standby" ]]; }
leader() {
  local h
  for h in ctl1 ctl2; do leads "$h" && { echo "$h"; return 0; }; done
  return 1
}
other() { [ "$1" = ctl1 ] && echo ctl2 || echo ctl1; }

start_controller_in ctl1
wait_until 15 leads ctl1 || { fail "ctl1 did not come up as the leader"; exit 1; }
start_controller_in ctl2
wait_until 10 stands_by ctl2 || fail "ctl2 is not a standby"
# A standby learns who leads at its next look at the lease (every 300 ms); until then it says
# that no controller leads.
names_leader() {
  [[ "$(local_api ctl2 sinfo -h 2>&1)" =~ "controller ctl2 is a standby; the leader is ctl1 at ${IP[ctl1]}:6820" ]]
}
wait_until 5 names_leader && ok ||
  fail "the standby names itself and the leader: $(local_api ctl2 sinfo -h 2>&1)"

token=$(local_api ctl1 scontrol token lifespan=3600) || fail "scontrol token"
# Prometheus scrapes both: the leader says 1 with its epoch, the standby 0.
scrape() { ip netns exec "$NS_H" curl -s "http://${IP[$1]}:6820/metrics" | grep -E "^$2 "; }
if command -v curl >/dev/null 2>&1; then
  expect_eq "$(scrape ctl1 shoal_controller_leader)" "shoal_controller_leader 1" "leader gauge"
  expect_match "$(scrape ctl1 shoal_controller_lease_epoch)" "^shoal_controller_lease_epoch [1-9]" \
    "the leader's epoch"
  expect_eq "$(scrape ctl2 shoal_controller_leader)" "shoal_controller_leader 0" "standby gauge"
fi
# The clients: in the bridge's namespace, both controllers listed.
cli() {
  ip netns exec "$NS_H" env SHOAL_CONTROLLER="${IP[ctl1]}:6820,${IP[ctl2]}:6820" \
    SLURM_JWT="${token#SLURM_JWT=}" "$@"
}
expect_eq "$(cli scontrol ping)" \
  "$(printf 'Slurmctld(primary) at ctl1 is UP\nSlurmctld(backup) at ctl2 is UP')" "scontrol ping"

# node2 lists the standby first: it is refused, told where the leader is, and moves on.
declare -A LIST
LIST[node1]="${IP[ctl1]}:6817,${IP[ctl2]}:6817"
LIST[node2]="${IP[ctl2]}:6817,${IP[ctl1]}:6817"
for n in node1 node2; do
  mkdir -p "$WORK/$n"
  ip netns exec "${NS[$n]}" "$BIN/shoal-agent" --controller "${LIST[$n]}" \
    --name "$n" --state-dir "$WORK/$n" --cpus 2 --memory-mb 1024 --metrics-port 0 \
    --tls-ca "$ETC/tls/ca.pem" --cluster-key-file "$ETC/cluster.key" \
    </dev/null >>"$WORK/$n/agent.log" 2>&1 &
  PID[$n]=$!
done
node_states() {
  cli sinfo -h -N -o '%N %T' 2>/dev/null | awk '$1 != "node3" {print $1, $2}' | sort -u | tr '\n' ' '
}
both_idle() { [ "$(node_states)" = "node1 idle node2 idle " ]; }
wait_until 15 both_idle || { fail "the agents did not register: $(node_states)"; exit 1; }
expect_match "$(cat "$WORK/node2/agent.log")" \
  "controller ${IP[ctl2]}:6817: .*controller ctl2 is a standby; the leader is ctl1 at ${IP[ctl1]}:6817" \
  "a standby refuses agents, naming the leader"
both_up() { [[ "$(node_states)" =~ ^node1\ (idle|mixed|allocated)\ node2\ (idle|mixed|allocated)\ $ ]]; }

# node3 behind a relay, as a rack of thousands of nodes would be: the relay lists the standby
# first, is refused, and moves its new streams on to the next controller; after each takeover
# it moves on from the dead leader the same way, so node3 follows through it.
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (the relay's certificate)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/relay.key" \
  -subj /CN=relay -out "$WORK/relay.csr" >/dev/null 2>&1 || fail "openssl req"
openssl x509 -req -in "$WORK/relay.csr" -CA "$ETC/tls/ca.pem" -CAkey "$ETC/tls/ca.key" -days 30 \
  -extfile <(echo "subjectAltName=IP:127.0.0.1") -out "$WORK/relay.pem" >/dev/null 2>&1 ||
  fail "openssl x509"
ip netns exec "${NS[node2]}" "$BIN/shoal-relay" --listen 127.0.0.1:6818 \
  --controller "${IP[ctl2]}:6817,${IP[ctl1]}:6817" --tls-ca "$ETC/tls/ca.pem" \
  --tls-cert "$WORK/relay.pem" --tls-key "$WORK/relay.key" --connections 1 \
  </dev/null >>"$WORK/relay.log" 2>&1 &
PID[relay]=$!
wait_until 10 grep -q "listening on 127.0.0.1:6818" "$WORK/relay.log" || fail "the relay did not start"
mkdir -p "$WORK/node3"
ip netns exec "${NS[node2]}" "$BIN/shoal-agent" --controller 127.0.0.1:6818 --name node3 \
  --state-dir "$WORK/node3" --cpus 2 --memory-mb 1024 --metrics-port 0 \
  --tls-ca "$ETC/tls/ca.pem" --cluster-key-file "$ETC/cluster.key" \
  </dev/null >>"$WORK/node3/agent.log" 2>&1 &
PID[node3]=$!
node3_up() { [[ "$(cli sinfo -h -N -n node3 -o %T 2>/dev/null)" =~ ^(idle|mixed|allocated)$ ]]; }
wait_until 15 node3_up || fail "node3 did not register through the relay"
expect_match "$(cat "$WORK/relay.log")" \
  "relay: controller ${IP[ctl2]}:6817 unavailable \(controller ctl2 is a standby; the leader is ctl1 at ${IP[ctl1]}:6817\); new streams go to ${IP[ctl1]}:6817" \
  "the standby refuses the relay's stream, naming the leader, and the relay moves on"

# --- a steady stream of jobs; each appends its id to ran.log --------------------------------
stream() {
  local out rc
  while [ ! -e "$WORK/stop-stream" ]; do
    out=$(cli sbatch --parsable -o /dev/null \
      --wrap "echo \$SLURM_JOB_ID >> $WORK/ran.log; sleep 0.3" 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [[ "$out" =~ ^[0-9]+$ ]]; then
      echo "$out" >> "$WORK/acked.log"
    elif [ "$rc" = 0 ]; then
      echo "BOTH: exit 0 without a job id: $out" >> "$WORK/refused.log"
    else
      echo "$out" >> "$WORK/refused.log"
    fi
    sleep 0.05
  done
}
stream &
STREAM_PID=$!

now_ms() { echo $(($(date +%s%N) / 1000000)); }
first_sbatch_ok() {
  local n
  n=$(cli sbatch --parsable -o /dev/null --wrap "echo \$SLURM_JOB_ID >> $WORK/ran.log" 2>/dev/null)
  [[ "$n" =~ ^[0-9]+$ ]] && echo "$n" >> "$WORK/acked.log"
}
# ups N: scontrol ping says N controllers are UP.
ups() { [ "$(cli scontrol ping | grep -c 'is UP')" = "$1" ]; }
sleep 2
for k in $(seq 1 "$KILLS"); do
  old=$(leader) || { fail "kill $k: no leader"; break; }
  new=$(other "$old")
  t0=$(now_ms)
  kill -9 "${PID[$old]}"
  wait "${PID[$old]}" 2>/dev/null
  # The first sbatch through both addresses that is acknowledged: the clients' failover time.
  wait_until 15 first_sbatch_ok || fail "kill $k: no sbatch succeeded within 15 s"
  t_sbatch=$(($(now_ms) - t0))
  leads "$new" || fail "kill $k: $new does not lead"
  wait_until 15 both_up || fail "kill $k: the agents did not reattach: $(node_states)"
  t_agents=$(($(now_ms) - t0))
  wait_until 15 node3_up || fail "kill $k: node3 did not reattach through its relay"
  t_relayed=$(($(now_ms) - t0))
  expect_eq "$(grep -o "new streams go to [0-9.:]*" "$WORK/relay.log" | tail -1)" \
    "new streams go to ${IP[$new]}:6817" "kill $k: the relay follows the takeover"
  echo "kill $k of $old: $new took over; sbatch after $t_sbatch ms, agents after $t_agents ms," \
    "the relayed agent after $t_relayed ms"
  [ -n "${HA_REPORT:-}" ] && echo "$k $t_sbatch $t_agents" >> "$HA_REPORT"
  wait_until 5 ups 1 && ok || fail "kill $k: scontrol ping: $(cli scontrol ping | tr '\n' ' ')"
  start_controller_in "$old"
  wait_until 10 stands_by "$old" || fail "kill $k: $old did not come back as the standby"
  # Whichever comes first in SHOAL_CONTROLLER, the clients pass the standby.
  wait_until 5 first_sbatch_ok && ok || fail "kill $k: sbatch did not pass the standby $old"
  wait_until 5 ups 2 && ok || fail "kill $k: scontrol ping after the restart: $(cli scontrol ping | tr '\n' ' ')"
  sleep 1
done

# --- a frozen leader that wakes after the takeover steps down without writing ----------------
old=$(leader)
new=$(other "$old")
kill -STOP "${PID[$old]}"
wait_until 15 leads "$new" || fail "no takeover from the frozen $old"
kill -CONT "${PID[$old]}"
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1")" = Z ]; }
wait_until 5 gone "${PID[$old]}" || { fail "the woken leader $old kept running"; kill -9 "${PID[$old]}"; }
wait "${PID[$old]}"
expect_eq "$?" 75 "exit status of the woken leader"
expect_match "$(cat "$WORK/$old/controller.log")" "stepping down as leader: (the leader lease was not renewed|another controller holds|write refused: fenced: the leader lease is at epoch)" \
  "the woken leader's log says why it stepped down"
start_controller_in "$old"
wait_until 10 stands_by "$old" || fail "$old did not come back as the standby"

touch "$WORK/stop-stream"
wait "$STREAM_PID"
STREAM_PID=
acked=$(sort -u "$WORK/acked.log")  # comm wants sort's own order
n_acked=$(echo "$acked" | wc -l)
all_done() {
  local left
  left=$(cli squeue -h -o %i 2>/dev/null | wc -l)
  [ "$left" = 0 ]
}
wait_until 60 all_done || fail "jobs still queued: $(cli squeue -h | head -5)"
ran=$(sort "$WORK/ran.log")
dups=$(echo "$ran" | uniq -d | tr '\n' ' ')
expect_eq "$dups" "" "jobs that ran more than once"
missing=$(comm -23 <(echo "$acked") <(echo "$ran" | uniq) | tr '\n' ' ')
expect_eq "$missing" "" "acknowledged jobs that never ran"
unacked=$(comm -13 <(echo "$acked") <(echo "$ran" | uniq) | wc -l)
# An sbatch whose answer was lost when its controller died may have been committed: it ran,
# and the user saw an error. Anything else that ran was acknowledged.
lost=$(grep -cE "Zero Bytes|Socket timed out" "$WORK/refused.log" 2>/dev/null)
[ "$unacked" -le "${lost:-0}" ] && ok ||
  fail "$unacked jobs ran that sbatch did not acknowledge ($lost answers lost)"
expect_eq "$(grep -c BOTH "$WORK/refused.log" 2>/dev/null)" 0 "sbatch answers both ok and failed"
# The refusals are clear errors.
bad=$(grep -vE "Unable to contact slurm controller|is a standby|Zero Bytes|Socket timed out" \
  "$WORK/refused.log" 2>/dev/null | head -3)
expect_eq "$bad" "" "unclear sbatch errors during the failovers"
states=$(cli sacct -n -X -P -j "$(echo "$acked" | paste -sd,)" --format=State 2>/dev/null |
  sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
expect_eq "$states" "COMPLETED=$n_acked " "sacct states of the acknowledged jobs"
echo "$n_acked jobs acknowledged, $(wc -l < "$WORK/ran.log") runs, $(wc -l < "$WORK/refused.log" 2>/dev/null || echo 0) sbatch refused during $KILLS kills and a freeze"
[ -n "${HA_REPORT:-}" ] && echo "jobs $n_acked ran $(echo "$ran" | wc -l) dup $(echo "$dups" | wc -w)" \
  "missing $(echo "$missing" | wc -w) unacked $unacked lost_answers ${lost:-0}" >> "$HA_REPORT"
finish

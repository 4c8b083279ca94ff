#!/usr/bin/env bash
# Power saving / cloud bursting (issue 9) end to end: two State=CLOUD nodes and a test provider.
# Its ResumeProgram starts `shoal agent` for each node it is given inside that node's network
# namespace (joined to the controller's by a veth pair and a bridge); its SuspendProgram kills
# everything in the namespace. Checked:
#  (a) the nodes start powered down (idle~); a job that needs both goes CONFIGURING (CF) while
#      the nodes power up (#), then RUNNING once both registered, then COMPLETED;
#  (b) idle SuspendTime later they are suspended (%), then powered down again (idle~), and their
#      agents are gone;
#  (c) a ResumeProgram that fails: the nodes DOWN with the reason, the job requeued (pending),
#      no agent left behind; after scontrol update State=RESUME,
#  (d) one that hangs: the nodes DOWN at ResumeTimeout, the job again pending;
#  (e) the power state survives a controller restart;
#  (f) salloc and srun wait for a CONFIGURING allocation's nodes (salloc says so, as Slurm's),
#      run once they are up, and fail cleanly when the resume fails.
# Without network namespaces the agents run on the loopback address instead (said below).
source "$(dirname "$0")/lib.sh"

TAG=$(printf '%04x' $((RANDOM)))
NS_C="shoalel-$TAG-c"
NODES=(cloud1 cloud2)
NET=10.214.$((RANDOM % 200 + 20))
NETNS=1
ns_of() { echo "shoalel-$TAG-${1#cloud}"; }
host_end() { echo "sel${TAG}h${1#cloud}"; }

teardown_net() {
  local n nss=()
  [ -n "${CTL_PID:-}" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
  for n in "${NODES[@]}"; do
    if [ -f "$WORK/pids/$n" ]; then kill -9 "$(cat "$WORK/pids/$n")" 2>/dev/null; fi
    nss+=("$(ns_of "$n")")
  done
  [ "$NETNS" = 1 ] && netns_del "${nss[@]}" "$NS_C"
  true
}
trap 'rc=$?; teardown_net; (exit $rc); cleanup' EXIT

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1 || ! netns_hub "$NS_C" "$NET"; then
  NETNS=0
  echo "NOTE: no network namespaces here (needs root and iproute2): the test provider starts" \
    "the agents on the loopback address instead"
fi
if [ "$NETNS" = 1 ]; then
  i=10
  for n in "${NODES[@]}"; do
    i=$((i + 1))
    netns_host "$NS_C" "$(ns_of "$n")" "$(host_end "$n")" "sel${TAG}n${n#cloud}" "$NET.$i" ||
      { fail "could not set up the network namespace of $n"; exit 1; }
  done
  CTL_ADDR="$NET.1:6820"
  IN_CTL=(ip netns exec "$NS_C")
else
  CTL_ADDR="127.0.0.1:$((20000 + RANDOM % 20000))"
  IN_CTL=()
fi

# The test provider. MODE (a file) makes it fail or hang, as a broken cloud API would.
mkdir -p "$WORK/pids"
echo ok > "$WORK/mode"
cat > "$WORK/resume.sh" <<EOF
#!/bin/bash
case "\$(cat $WORK/mode)" in
  fail) echo "provider: quota exceeded for \$1" >&2; exit 1 ;;
  hang) exec sleep 300 ;;
esac
sleep 1  # a machine takes a while to boot: long enough to see the nodes powering up
for n in \$(scontrol show hostnames "\$1"); do
  dir=$SHOAL_STATE_DIR/agents/\$n
  mkdir -p "\$dir"
  if [ $NETNS = 1 ]; then ns=(ip netns exec shoalel-$TAG-\${n#cloud}); else ns=(); fi
  setsid "\${ns[@]}" $BIN/shoal-agent --controller $CTL_ADDR --name "\$n" --state-dir "\$dir" \\
    --cpus 1 --memory-mb 1024 --metrics-port 0 --tls-ca $SHOAL_STATE_DIR/tls/ca.pem \\
    --cluster-key-file $SHOAL_STATE_DIR/cluster.key </dev/null >>"\$dir/agent.log" 2>&1 &
  echo \$! > $WORK/pids/\$n
done
echo "provider: started \$1"
EOF
cat > "$WORK/suspend.sh" <<EOF
#!/bin/bash
for n in \$(scontrol show hostnames "\$1"); do
  if [ -f $WORK/pids/\$n ]; then kill -9 "\$(cat $WORK/pids/\$n)" 2>/dev/null; rm -f $WORK/pids/\$n; fi
  if [ $NETNS = 1 ]; then
    for p in \$(ip netns pids shoalel-$TAG-\${n#cloud}); do kill -9 "\$p"; done
  fi
done
echo "provider: stopped \$1"
EOF
chmod +x "$WORK/resume.sh" "$WORK/suspend.sh"
cat > "$WORK/slurm.conf" <<EOF
SlurmdTimeout=4
KillWait=1
ResumeProgram=$WORK/resume.sh
SuspendProgram=$WORK/suspend.sh
SuspendTime=4
SuspendTimeout=2
ResumeTimeout=6
NodeName=cloud[1-2] CPUs=1 RealMemory=1024 State=CLOUD
PartitionName=cloud Nodes=cloud[1-2] Default=YES MaxTime=INFINITE State=UP
EOF
start_ctl() {
  setsid "${IN_CTL[@]}" "$BIN/shoal-controller" --state-dir "$SHOAL_STATE_DIR" \
    --config "$WORK/slurm.conf" --agent-listen "$CTL_ADDR" --listen 127.0.0.1:0 \
    --log-file "$SHOAL_STATE_DIR/controller.log" </dev/null >/dev/null 2>&1 &
  CTL_PID=$!
  wait_until 10 sinfo -h || { fail "the controller did not come up"; exit 1; }
}
start_ctl

states() { sinfo -h -N -o '%N %t' 2>/dev/null | sort | awk '{printf "%s=%s ", $1, $2}'; }
st() { squeue -h -j "$1" -o %t 2>/dev/null | tr -d ' '; }
both() { [[ "$(states)" =~ ^cloud1=$1\ cloud2=$1\ $ ]]; }
agents_running() {
  local n
  for n in "${NODES[@]}"; do [ -f "$WORK/pids/$n" ] && kill -0 "$(cat "$WORK/pids/$n")" 2>/dev/null && return 0; done
  return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- (a) powered down until a job needs them ---------------------------------------------
expect_eq "$(states)" "cloud1=idle~ cloud2=idle~ " "CLOUD nodes start powered down"
expect_match "$(scontrol show node cloud1)" "State=IDLE\+CLOUD\+POWERED_DOWN " \
  "scontrol shows the power flags"
t0=$(now_ms)
j=$(sbatch --parsable -N2 -o "$WORK/j.out" --wrap 'echo "on $SLURM_JOB_NODELIST"; sleep 1')
wait_until 5 bash -c "$(declare -f st); [ \"\$(st $j)\" = CF ]" && ok ||
  fail "job $j was not CONFIGURING while its nodes powered up: $(st "$j")"
# Allocated while powered down (alloc~) until the next power tick calls the ResumeProgram.
wait_until 3 both 'alloc#' && ok || fail "nodes powering up do not show '#': $(states)"
if wait_until 15 bash -c "$(declare -f st); [ \"\$(st $j)\" = R ]"; then
  ms=$(($(now_ms) - t0))
  echo "submit to RUNNING with the test provider: $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
  ok
else
  fail "job $j did not start once its nodes came up: $(st "$j") $(states)"
fi
wait_until 15 job_done "$j" || fail "job $j did not finish"
expect_eq "$(job_state "$j")" "COMPLETED" "job on resumed nodes"
expect_eq "$(cat "$WORK/j.out" 2>/dev/null)" "on cloud[1-2]" "the job ran on both resumed nodes"
grep -q "provider: started cloud\[1-2\]" "$SHOAL_STATE_DIR/controller.log" && ok ||
  fail "the ResumeProgram's output is not in the controller's log (one call, both nodes)"

# --- (b) suspended after SuspendTime --------------------------------------------------------
wait_until 12 both 'idle~' && ok || fail "nodes were not powered down after SuspendTime: $(states)"
agents_running && fail "agents still running after suspend" || ok
grep -q "node cloud1 disconnected (powering down)" "$SHOAL_STATE_DIR/controller.log" && ok ||
  fail "the agent's end while powering down was not taken as expected"
grep -q "node cloud1 DOWN" "$SHOAL_STATE_DIR/controller.log" &&
  fail "a suspended node was declared DOWN" || ok

# --- scontrol update State=POWER_UP / POWER_DOWN -----------------------------------------------
scontrol update NodeName=cloud1 State=POWER_UP
wait_until 10 bash -c "[[ \"\$(sinfo -h -N -n cloud1 -o %t)\" =~ ^idle\ *\$ ]]" && ok ||
  fail "POWER_UP did not bring cloud1 up: $(states)"
scontrol update NodeName=cloud1 State=POWER_DOWN
wait_until 8 both 'idle~' && ok || fail "POWER_DOWN did not power cloud1 down: $(states)"
expect_match "$(scontrol update NodeName=cloud1 State=SLEEP 2>&1)" "Invalid input: State=SLEEP" \
  "a bad state is refused"

# --- (e) the power state survives a restart -------------------------------------------------
kill "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
start_ctl
expect_eq "$(states)" "cloud1=idle~ cloud2=idle~ " "powered down after a controller restart"

# --- (c) a ResumeProgram that fails ---------------------------------------------------------
echo fail > "$WORK/mode"
k=$(sbatch --parsable -N2 -o /dev/null --wrap 'true')
wait_until 10 both 'down~' && ok || fail "nodes not DOWN after a failed resume: $(states)"
expect_match "$(sinfo -R -h -o '%E|%N' | tr '\n' ' ')" "ResumeProgram failed: exit code 1 *[|]cloud\[1-2\]" \
  "sinfo -R gives the resume failure"
wait_until 5 bash -c "$(declare -f st); [ \"\$(st $k)\" = PD ]" && ok ||
  fail "job $k not requeued after the failed resume: $(st "$k")"
grep -q "ResumeProgram cloud\[1-2\] failed: exit code 1; output: provider: quota exceeded" \
  "$SHOAL_STATE_DIR/controller.log" && ok || fail "the failure and its stderr were not logged"
agents_running && fail "an agent is running after the failed resume" || ok

# --- (d) a ResumeProgram that hangs ---------------------------------------------------------
echo hang > "$WORK/mode"
scontrol update NodeName=cloud[1-2] State=RESUME
wait_until 10 bash -c "$(declare -f st); [ \"\$(st $k)\" = CF ]" && ok ||
  fail "job $k not allocated again after RESUME: $(st "$k") $(states)"
wait_until 12 both 'down~' && ok || fail "nodes not DOWN after ResumeTimeout: $(states)"
expect_match "$(sinfo -R -h -o '%E' | head -1)" "ResumeTimeout reached|ResumeProgram failed: timed out" \
  "the hang's reason"
wait_until 5 bash -c "$(declare -f st); [ \"\$(st $k)\" = PD ]" && ok ||
  fail "job $k not requeued after ResumeTimeout: $(st "$k")"
expect_match "$(scontrol show job "$k")" "Restarts=2 " "job $k requeued twice, never lost"
agents_running && fail "an agent is running after the hung resume" || ok
scancel "$k"

# --- (f) salloc and srun on powered-down nodes -------------------------------------------------
# Run where the nodes can reach srun's output port: beside the controller, on the bridge.
on_ctl() { "${IN_CTL[@]}" env SHOAL_SRUN_HOST="${CTL_ADDR%:*}" "$@"; }
echo fail > "$WORK/mode"
scontrol update NodeName=cloud[1-2] State=RESUME
wait_until 5 both 'idle~' || fail "nodes not idle~ after RESUME: $(states)"
out=$(on_ctl timeout 30 salloc -N1 -w cloud1 echo command-ran 2>&1)
rc=$?
expect_eq "$rc" 1 "salloc fails when its nodes do not resume"
expect_match "$out" "salloc: Waiting for resource configuration" "salloc waits while CONFIGURING"
expect_match "$out" "salloc: error: Nodes cloud1 are still not ready: job [0-9]+ ended NODE_FAIL" \
  "salloc says why it gave up"
[[ "$out" == *command-ran* ]] && fail "salloc ran its command on nodes that never came up" || ok
echo ok > "$WORK/mode"
scontrol update NodeName=cloud[1-2] State=RESUME
wait_until 5 both 'idle~' || fail "nodes not idle~ after RESUME: $(states)"
out=$(on_ctl timeout 30 salloc -N1 -w cloud1 bash -c \
  'echo "shell state $(squeue -h -j $SLURM_JOB_ID -o %t)"; srun printenv SLURMD_NODENAME' 2>&1)
expect_eq "$?" 0 "salloc on a powered-down node succeeds once it is up"
expect_match "$out" "salloc: Granted job allocation [0-9]+
salloc: Waiting for resource configuration
salloc: Nodes cloud1 are ready for job" "salloc prints Slurm's messages, in order"
expect_eq "$(grep -cx 'shell state R' <<<"$out")" 1 "the command starts only once the allocation runs"
expect_eq "$(grep -cx 'cloud1' <<<"$out")" 1 "srun inside the allocation runs on the resumed node"
out=$(on_ctl timeout 30 srun -N1 -w cloud2 printenv SLURMD_NODENAME 2>&1)
expect_eq "$?" 0 "srun making its own allocation on a powered-down node succeeds"
expect_eq "$(grep -v '^srun: job' <<<"$out")" "cloud2" "srun waited for the node and ran there"
finish

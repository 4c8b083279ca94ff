#!/usr/bin/env bash
# HealthCheckProgram / HealthCheckInterval: a failing check drains every node with a reason
# naming the program and its exit code; passing again resumes them, except a node an
# administrator drained meanwhile.
source "$(dirname "$0")/lib.sh"
cat > "$WORK/check.sh" <<CHECK
#!/bin/sh
[ -e "$WORK/sick" ] && exit 3
exit 0
CHECK
chmod +x "$WORK/check.sh"
printf 'HealthCheckProgram=%s\nHealthCheckInterval=1\n' "$WORK/check.sh" > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 1 --config "$WORK/slurm.conf"

reasons() { sinfo -R -h -o '%N:%E' | sort | tr '\n' ' '; }
drained() { [[ "$(sinfo -h -N -n "$1" -o %T)" =~ drain ]]; }
expect_eq "$(scontrol show config | grep '^HealthCheck')" \
  "HealthCheckInterval     = 1 sec
HealthCheckProgram      = $WORK/check.sh" "scontrol show config"

touch "$WORK/sick"
wait_until 5 bash -c "$(declare -f drained); drained node1 && drained node2" ||
  fail "a failing health check did not drain the nodes"
expect_eq "$(reasons)" \
  "node[1-2]:HealthCheckProgram $WORK/check.sh: exit code 3 " \
  "sinfo -R names the program and its exit code"
id=$(sbatch --parsable -o /dev/null --wrap true)
sleep 1.5
expect_eq "$(squeue -h -j "$id" -o %T)" "PENDING" "no job starts on drained nodes"

scontrol update NodeName=node2 State=DRAIN Reason="bad fan"
rm "$WORK/sick"
wait_until 5 bash -c "$(declare -f drained); ! drained node1" ||
  fail "node1 was not resumed once its health check passed"
wait_until 10 job_done "$id" || fail "the job did not run on the resumed node"
sleep 1.5
expect_eq "$(reasons)" "node2:bad fan " "an administrator's drain stays"
finish

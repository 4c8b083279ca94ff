#!/usr/bin/env bash
# Advance reservations: a MAINT window keeps other jobs off its node while jobs naming it run
# there; a future window keeps jobs that would cross its start from starting (backfill honours
# it); overlapping and malformed reservations are refused and change nothing; reservations
# survive a controller restart; deleting them frees the nodes.
source "$(dirname "$0")/lib.sh"

state_of() { squeue -h -j "$1" -o %T 2>/dev/null; }
reason_of() { squeue -h -j "$1" -o %r 2>/dev/null; }
running() { [ "$(state_of "$1")" == "RUNNING" ]; }
nodes_of() { sacct -n -X -P -j "$1" --format=NodeList 2>/dev/null | head -1; }
resv_count() { scontrol show reservation | grep -c '^ReservationName='; }

printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"
me=$(id -un)

out=$(scontrol create reservation ReservationName=maint StartTime=now Duration=1 Nodes=node1 \
      Users="$me" Flags=MAINT 2>&1)
expect_eq "$out" "Reservation created: maint" "create answer"
show=$(scontrol show reservation maint)
expect_match "$show" "Nodes=node1 NodeCnt=1 CoreCnt=2 Features=\(null\) PartitionName=\(null\) Flags=MAINT,SPEC_NODES" "show line 2"
expect_match "$show" "Users=$me Groups=\(null\) Accounts=\(null\) Licenses=\(null\) State=ACTIVE" "show state"
expect_eq "$(sinfo -h -n node1 -o %t)" "maint" "sinfo shows node1 in maintenance"

# Jobs without the reservation: only node2.
a=$(sbatch --parsable -c 2 -t 1 --wrap 'sleep 30')
b=$(sbatch --parsable -c 2 -t 1 --wrap 'sleep 30')
wait_until 10 running "$a" || fail "job a did not start"
expect_eq "$(squeue -h -j "$a" -o %N)" "node2" "job without the reservation runs on node2"
wait_until 5 bash -c "[ \"\$(squeue -h -j $b -o %r)\" == 'ReqNodeNotAvail, Reserved for maintenance' ]" \
  || fail "job b's reason is '$(reason_of "$b")'"
# A job naming it runs on node1.
c=$(sbatch --parsable --reservation=maint -c 1 -t 1 --wrap 'sleep 1')
wait_until 10 job_done "$c" || fail "job in the reservation did not run ($(reason_of "$c"))"
expect_eq "$(nodes_of "$c")" "node1" "job with --reservation ran on node1"
expect_match "$(scontrol show job "$c")" "Reservation=maint" "scontrol show job names it"
scancel "$a" "$b"
err=$(sbatch --reservation=nope --wrap true 2>&1)
expect_eq "$err" "sbatch: error: Batch job submission failed: Requested reservation is invalid" \
  "unknown reservation refused at submit"

# A window on all nodes 2 minutes from now (it may overlap maint: that one is MAINT). Time limits
# are whole minutes.
out=$(scontrol create reservation ReservationName=later StartTime=now+2minutes Duration=1 \
      Nodes=node[1-2] Users="$me" 2>&1)
expect_eq "$out" "Reservation created: later" "create future reservation"
wait_until 10 bash -c "[ -z \"\$(squeue -h -t R)\" ]" || fail "cancelled jobs still running"
long=$(sbatch --parsable -c 1 -t 3 --wrap 'sleep 1')   # would cross the start
short=$(sbatch --parsable -c 1 -t 1 --wrap 'sleep 1')  # ends before it
wait_until 10 job_done "$short" || fail "short job did not run before the window"
expect_eq "$(nodes_of "$short")" "node2" "short job ran on node2"
expect_eq "$(state_of "$long")" "PENDING" "long job does not start across the window"

# Refused requests change nothing.
out=$(scontrol create reservation ReservationName=clash StartTime=now+150seconds Duration=1 \
      Nodes=node2 Users="$me" 2>&1)
rc=$?
expect_eq "$rc" "1" "overlapping create fails"
expect_eq "$out" "Error creating the reservation: Requested nodes are busy (reservation later holds node2 then; add Flags=OVERLAP to share it)" "overlap message"
expect_eq "$(scontrol create reservation ReservationName=x StartTime=now Duration=1 NodeCnt=0 Users="$me" 2>&1)" \
  "Error creating the reservation: Invalid node count '0'" "NodeCnt=0"
expect_match "$(scontrol create reservation ReservationName=x StartTime=now Duration=1 NodeCnt=3 Users="$me" 2>&1)" \
  "^Error creating the reservation: Requested nodes are busy" "NodeCnt beyond the cluster"
expect_eq "$(scontrol create reservation ReservationName=x StartTime=soonish Duration=1 Nodes=node1 Users="$me" 2>&1)" \
  "Error creating the reservation: Invalid StartTime 'soonish'" "bad time"
expect_eq "$(scontrol create reservation ReservationName=x StartTime=now Duration=1 Nodes=node9 Users="$me" 2>&1)" \
  "Error creating the reservation: Invalid node name specified (node9)" "unknown node"
expect_eq "$(resv_count)" "2" "nothing created by refused requests"

# They survive a restart.
restart_controller
expect_eq "$(resv_count)" "2" "reservations after a restart"
expect_match "$(scontrol show reservation later)" "Nodes=node\[1-2\] NodeCnt=2" "later after restart"

# Deleting them frees the nodes.
scontrol delete ReservationName=later || fail "delete later"
scontrol delete ReservationName=maint || fail "delete maint"
expect_eq "$(scontrol delete ReservationName=maint 2>&1)" \
  "Error deleting the reservation: Requested reservation is invalid" "delete twice"
expect_eq "$(scontrol show reservation)" "No reservations in the system" "none left"
wait_until 10 job_done "$long" || fail "long job did not run once the reservations were gone"
finish

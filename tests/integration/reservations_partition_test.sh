#!/usr/bin/env bash
# Reservations tied to a partition, and the commands that filter by reservation: PartitionName
# alone reserves the partition's nodes; a job naming the reservation runs in its partition (and
# another partition is refused); squeue -R, scancel -R and sinfo -T; Flags+=/-= and Users+=/-=
# edit a reservation in place.
source "$(dirname "$0")/lib.sh"

state_of() { squeue -h -j "$1" -o %T 2>/dev/null; }
running() { [ "$(state_of "$1")" == "RUNNING" ]; }

cat > "$WORK/slurm.conf" <<'EOF'
KillWait=1
MinJobAge=600
PartitionName=debug Nodes=node[1-2] Default=YES
PartitionName=small Nodes=node2
EOF
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"
me=$(id -un)

out=$(scontrol create reservation ReservationName=p StartTime=now Duration=10 \
      PartitionName=small Users="$me" 2>&1)
expect_eq "$out" "Reservation created: p" "create with PartitionName only"
expect_match "$(scontrol show reservation p)" \
  "Nodes=node2 NodeCnt=1 CoreCnt=2 Features=\(null\) PartitionName=small Flags=[[:space:]]+TRES=" \
  "the partition's nodes are reserved"

# A job naming it without -p runs in its partition; another partition is refused.
in=$(sbatch --parsable --reservation=p -t 1 --wrap 'sleep 30')
expect_eq "$(squeue -h -j "$in" -o %P)" "small" "job in the reservation gets its partition"
expect_eq "$(sbatch --reservation=p -p debug --wrap true 2>&1)" \
  "sbatch: error: Batch job submission failed: Requested reservation p is for partition small, not debug" \
  "another partition is refused"
out_job=$(sbatch --parsable -t 1 --wrap 'sleep 30')
wait_until 10 running "$in" || fail "job in the reservation did not start"
wait_until 10 running "$out_job" || fail "job outside the reservation did not start"
expect_eq "$(squeue -h -j "$in" -o %N)" "node2" "job in the reservation on its node"
expect_eq "$(squeue -h -j "$out_job" -o %N)" "node1" "job outside it kept off node2"

# squeue -R lists only the reservation's jobs.
expect_eq "$(squeue -h -R p -o %i)" "$in" "squeue -R"
expect_eq "$(squeue -h --reservation=nope -o %i)" "" "squeue -R of another name"

# sinfo -T: Slurm's reservation table.
t=$(sinfo -T)
expect_match "$(head -1 <<<"$t")" "^RESV_NAME  +STATE  +START_TIME  +END_TIME  +DURATION  NODELIST$" \
  "sinfo -T header"
expect_match "$(sed -n 2p <<<"$t")" \
  "^p {12}ACTIVE  [0-9T:-]{19}  [0-9T:-]{19}     00:10:00  node2$" "sinfo -T line"
expect_eq "$(sinfo -h -T | wc -l)" "1" "sinfo -T -h has no header"

# Flags+= / Flags-= and Users+= / Users-=.
expect_eq "$(scontrol update ReservationName=p Flags+=IGNORE_JOBS,OVERLAP Users+=nobody 2>&1)" \
  "Reservation updated." "update with +="
show=$(scontrol show reservation p)
expect_match "$show" "Flags=IGNORE_JOBS,OVERLAP[[:space:]]+TRES=" "flags added"
expect_match "$show" "Users=$me,nobody " "user added"
scontrol update ReservationName=p Flags-=OVERLAP Users-=nobody >/dev/null || fail "update -="
show=$(scontrol show reservation p)
expect_match "$show" "Flags=IGNORE_JOBS[[:space:]]+TRES=" "flag removed"
expect_match "$show" "Users=$me " "user removed"
expect_eq "$(scontrol update ReservationName=p Users-=nobody 2>&1)" \
  "Error updating the reservation: User nobody is not in the reservation" "removing an absent user"

# scancel -R cancels the reservation's jobs only.
scancel -R p || fail "scancel -R"
wait_until 10 job_done "$in" || fail "scancel -R did not cancel the job in the reservation"
expect_eq "$(state_of "$out_job")" "RUNNING" "scancel -R leaves other jobs"
scancel "$out_job"
scontrol delete ReservationName=p || fail "delete p"
expect_eq "$(sinfo -T)" "No reservations in the system" "sinfo -T without reservations"
finish

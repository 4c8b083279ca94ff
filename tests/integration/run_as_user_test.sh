#!/usr/bin/env bash
# Jobs run as the user who submitted them: when the agent runs as root, a batch job and an srun
# step get the submitter's uid, primary gid and supplementary groups, the files they create and
# the job's output file belong to that user, and they cannot reach what the user cannot. Real
# local users, created here and removed afterwards.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
  echo "SKIP: needs root, useradd and setpriv to create users and act as them"
  FINISHED=1
  exit 77
fi

alice="shoal-a$$"
bob="shoal-b$$"
team="shoal-g$$"
remove_users() {
  userdel "$alice" 2>/dev/null
  userdel "$bob" 2>/dev/null
  groupdel "$team" 2>/dev/null
  groupdel "$alice" 2>/dev/null
  groupdel "$bob" 2>/dev/null
  cleanup
}
trap remove_users EXIT
groupadd "$team"
useradd -M -d "$WORK" -s /bin/sh -G "$team" "$alice"
useradd -M -d "$WORK" -s /bin/sh "$bob"
alice_uid=$(id -u "$alice")
alice_gid=$(id -g "$alice")
team_gid=$(getent group "$team" | cut -d: -f3)

start_cluster --nodes 2 --cpus-per-node 2
# Users reach the controller's socket (mode 0666) through the state directory; the commands are
# copied where they can run them (the build may sit under /root, mode 700).
chmod 755 "$SHOAL_STATE_DIR" "$WORK"
mkdir "$WORK/bin"
cp "$BIN/shoal" "$WORK/bin/shoal"
for c in sbatch srun squeue sacct scancel; do ln -s shoal "$WORK/bin/$c"; done
chmod -R a+rX "$WORK/bin"
as() {
  local who=$1; shift
  setpriv --reuid "$who" --regid "$who" --init-groups \
    env HOME="$WORK" SHOAL_STATE_DIR="$SHOAL_STATE_DIR" PATH="$WORK/bin:/usr/bin:/bin" "$@"
}

mkdir -m 700 "$WORK/alice" "$WORK/rootonly"
chown "$alice:$alice" "$WORK/alice"
cat > "$WORK/alice/job.sh" <<'SCRIPT'
#!/bin/sh
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) user=$(id -un)"
touch made-by-job
touch ../rootonly/x 2>/dev/null && echo "wrote rootonly" || echo "rootonly denied"
SCRIPT
chmod 755 "$WORK/alice/job.sh"
chown "$alice:$alice" "$WORK/alice/job.sh"

out=$(cd "$WORK/alice" && as "$alice" sbatch --parsable job.sh 2>&1)
expect_match "$out" '^[0-9]+$' "alice's sbatch answers a job id"
id=$out
wait_until 20 job_done "$id" || fail "alice's job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "alice's job state"
expect_eq "$(sacct -n -X -P -j "$id" --format=User)" "$alice" "sacct names alice as the job's user"
log="$WORK/alice/slurm-$id.out"
expect_match "$(head -1 "$log" 2>&1)" "^uid=$alice_uid gid=$alice_gid groups=([0-9]+ )*$team_gid( [0-9]+)* user=$alice\$" \
  "the job runs with alice's uid, gid and supplementary group"
expect_eq "$(stat -c %U:%G "$log" 2>&1)" "$alice:$alice" "the output file belongs to alice"
expect_eq "$(stat -c %U:%G "$WORK/alice/made-by-job" 2>&1)" "$alice:$alice" \
  "a file the job creates belongs to alice"
expect_match "$(cat "$log")" "rootonly denied" "the job cannot write where alice cannot"
expect_eq "$(ls "$WORK/rootonly")" "" "nothing written into root's directory"

# srun: each task of a step runs as the submitter too.
out=$(cd "$WORK/alice" && as "$alice" srun -N2 -n2 id -un 2>&1)
expect_eq "$(echo "$out" | sort | uniq -c | awk '{print $1, $2}')" "2 $alice" \
  "srun's tasks on both nodes run as alice"

# Another user's job is someone else: bob cannot read into alice's directory from his job.
out=$(cd /tmp && as "$bob" srun sh -c "ls $WORK/alice >/dev/null 2>&1 && echo read || echo denied; id -un" 2>&1)
expect_eq "$out" "denied
$bob" "bob's step runs as bob and cannot read alice's directory"
finish

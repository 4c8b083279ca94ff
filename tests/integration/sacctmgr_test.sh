#!/usr/bin/env bash
# sacctmgr: accounts, users and QOS live in the accounting store, bind submissions under
# AccountingStorageEnforce, survive a controller restart, and bad requests change nothing.
source "$(dirname "$0")/lib.sh"

cat > "$WORK/slurm.conf" <<'EOF'
AccountingStorageEnforce=associations,limits,qos
QOS=fromfile Priority=5
EOF
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"
submit_error() { sbatch --parsable -o /dev/null "$@" --wrap true 2>&1 >/dev/null; }

# At first only root's own association exists: its default account is root.
first=$(sbatch --parsable -o /dev/null --wrap true)
expect_eq "$(sacct -n -X -P -j "$first" --format=Account)" "root" \
  "account of a job submitted without -A"
expect_eq "$(submit_error -A physics)" \
  "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified" \
  "a job for an account that does not exist"
expect_eq "$(scontrol show config | grep AccountingStorageEnforce | tr -s ' ')" \
  "AccountingStorageEnforce = associations,limits,qos" "scontrol show config"

# An account tree with limits, and root as a user of one of them.
sacctmgr -i add account physics Description="Physics dept" Organization=science >/dev/null ||
  fail "add account physics"
out=$(sacctmgr -i add account theory Parent=physics Fairshare=5 GrpTRES=cpu=8 MaxWall=1:00:00)
expect_match "$out" "Adding Account\(s\)" "sacctmgr's report of an added account"
sacctmgr -i add user root Account=theory >/dev/null || fail "add user root to theory"
expect_eq "$(sacctmgr -n -P show assoc format=account,user,share,grptres,maxwall)" \
  "root||1||
root|root|1||
physics||1||
theory||5|cpu=8|01:00:00
theory|root|1||01:00:00" "associations in tree order, MaxWall inherited"
expect_eq "$(sacctmgr -n -P show account format=account,descr,org physics)" \
  "physics|Physics dept|science" "the account's description and organization"

# The association binds: a job too long for MaxWall is refused, one within it runs in theory.
expect_eq "$(submit_error -A theory -t 2:00:00)" \
  "sbatch: error: AssocMaxWallDurationPerJobLimit
sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)" \
  "a job over the association's MaxWall"
ok_job=$(sbatch --parsable -A theory -t 10 -o /dev/null --wrap true)
[ -n "$ok_job" ] && ok || fail "a job within theory's limits was refused"
expect_eq "$(submit_error -A physics)" \
  "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified" \
  "root has no association with physics itself"

# QOS: only those the association may use.
sacctmgr -i add qos high Priority=100 MaxJobsPerUser=2 >/dev/null || fail "add qos high"
expect_eq "$(submit_error -A theory -q high)" \
  "sbatch: error: Batch job submission failed: Invalid qos specification" "a QOS not allowed"
sacctmgr -i modify account theory set QOS=normal,high >/dev/null || fail "allow high in theory"
high_job=$(sbatch --parsable -A theory -q high -t 10 -o /dev/null --wrap true)
[ -n "$high_job" ] && ok || fail "a job in an allowed QOS was refused"
expect_eq "$(sacctmgr -n -P show qos format=name,priority,maxjobspu)" \
  "normal|0|
fromfile|5|
high|100|2" "QOS listing"

# Limits on running jobs hold jobs back with Slurm's reason until there is room.
sacctmgr -i modify account theory set GrpTRES=cpu=2 >/dev/null || fail "set theory's GrpTRES"
first_run=$(sbatch --parsable -A theory -c 2 -t 10 -o /dev/null --wrap 'sleep 30')
held_back=$(sbatch --parsable -A theory -c 2 -t 10 -o /dev/null --wrap 'sleep 30')
wait_until 10 bash -c "[ \"\$(squeue -h -j $held_back -o %r)\" == AssocGrpCpuLimit ]" ||
  fail "a job over theory's GrpTRES: $(squeue -h -j "$held_back" -o '%T %r')"
expect_eq "$(squeue -h -j "$first_run" -o %T)" "RUNNING" "the job within theory's GrpTRES"
sacctmgr -i modify account theory set GrpTRES=cpu=-1 >/dev/null || fail "clear theory's GrpTRES"
wait_until 10 bash -c "[ \"\$(squeue -h -j $held_back -o %T)\" == RUNNING ]" ||
  fail "the held-back job did not start once the limit was lifted"
scancel "$first_run" "$held_back"

# Bad requests say why, exit 1, and change nothing.
before=$(sacctmgr -n -P show assoc)
expect_eq "$(sacctmgr -i add user carol Account=nosuch 2>&1)" \
  " This account 'nosuch' doesn't exist.
        Contact your admin to add this account." "a user in an account that does not exist"
sacctmgr -i add user carol Account=nosuch >/dev/null 2>&1 && fail "bad add user exited 0" || ok
expect_match "$(sacctmgr -i add account x GrpTRES=foo=1 2>&1)" "unknown TRES 'foo'" "a bad TRES"
expect_match "$(sacctmgr -i modify qos fromfile set Priority=1 2>&1)" \
  "defined in the config file .*slurm.conf:2" "a QOS from the config file"
expect_match "$(sacctmgr -i add account x Fairshare=-3 2>&1)" "Fairshare=-3" "a bad Fairshare"
expect_eq "$(sacctmgr -n -P show assoc)" "$before" "associations after the bad requests"

# An account with an active job cannot go; after the job it can.
busy=$(sbatch --parsable -A theory -t 10 -o /dev/null --wrap 'sleep 30')
expect_match "$(sacctmgr -i delete account physics 2>&1)" "Job\(s\) active.*JobID = $busy" \
  "deleting an account whose subtree has an active job"
expect_eq "$(sacctmgr -n -P show account format=account theory)" "theory" "theory still there"
scancel "$busy"
wait_until 10 job_done "$busy" || fail "job $busy did not end"

# Without -i sacctmgr asks; anything but y discards.
expect_match "$(echo n | sacctmgr add account zed)" "Changes Discarded" "answering no"
expect_eq "$(sacctmgr -n -P show account format=account zed)" "" "a discarded account"
echo y | sacctmgr add account zed >/dev/null
expect_eq "$(sacctmgr -n -P show account format=account zed)" "zed" "a committed account"

# Everything survives a restart of the controller, and still binds.
restart_controller --config "$WORK/slurm.conf"
expect_eq "$(sacctmgr -n -P show assoc format=account,user where user=root)" \
  "root|root
theory|root" "root's associations after a restart"
expect_eq "$(submit_error -A theory -t 2:00:00 | head -1)" \
  "sbatch: error: AssocMaxWallDurationPerJobLimit" "MaxWall after a restart"

# sshare shows the same tree with its shares, normalised over siblings.
shares=$(sshare -a -P -n | cut -d'|' -f1-4)
expect_eq "$(head -1 <<<"$shares")" "root||1|1.000000" "sshare's root row"
expect_match "$shares" "physics\|\|1\|0\.333333" "physics' normalised shares (root's user, physics, zed)"
expect_match "$shares" "theory\|root\|1\|" "root's association in theory"
expect_eq "$(sshare -U -P -n -u root | cut -d'|' -f1,2 | tr '\n' ' ')" "root|root theory|root " \
  "sshare -U -u root"

# Deleting the subtree removes root's association there; root's default stays root.
sacctmgr -i delete account physics >/dev/null || fail "delete account physics"
expect_eq "$(sacctmgr -n -P show assoc format=account,user)" "root|
root|root
zed|" "associations after deleting physics"

# Only administrators change the database: an ordinary local user is refused.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
  chmod 755 "$SHOAL_STATE_DIR" "$WORK"
  chmod 666 "$SHOAL_STATE_DIR/controller.sock"
  # The build may sit where nobody cannot reach it (/root): run a copy from the work directory.
  mkdir "$WORK/bin" && cp "$BIN/shoal" "$WORK/bin/shoal" && ln -s shoal "$WORK/bin/sacctmgr"
  chmod 755 "$WORK/bin" "$WORK/bin/shoal"
  expect_match "$(setpriv --reuid nobody --regid nogroup --clear-groups \
    env SHOAL_STATE_DIR="$SHOAL_STATE_DIR" "$WORK/bin/sacctmgr" -i add account evil 2>&1)" \
    "Access/permission denied: user 'nobody'" "an ordinary user changing accounts"
  expect_eq "$(sacctmgr -n -P show account format=account evil)" "" "no account evil"
else
  echo "note: no user nobody or no setpriv: the permission check is not exercised"
fi
finish

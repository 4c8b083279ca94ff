#!/usr/bin/env bash
# Multifactor priority with fair share, seen through sprio: an account that has used CPU time
# ranks below one that has not, the usage survives a controller restart, and jobs start in the
# order sprio shows. (Every job runs as the invoking user; the two accounts play two users.)
source "$(dirname "$0")/lib.sh"

cat > "$WORK/slurm.conf" <<'EOF'
KillWait=1
MinJobAge=600
PriorityWeightFairshare=10000
PriorityWeightJobSize=1000
PriorityWeightQOS=1000
QOS=high Priority=100
EOF
start_cluster --nodes 1 --cpus-per-node 2 --config "$WORK/slurm.conf"

fairshare_of() { sprio -h -j "$1" -o %F 2>/dev/null; }

# Account physics uses the whole node for a while; chem uses nothing.
used=$(sbatch --parsable -A physics -c 2 -o /dev/null --wrap 'sleep 2')
wait_until 15 job_done "$used" || fail "the physics job did not finish"

# A job of a third account fills the node (across the restart below) while the queue is looked at.
blocker=$(sbatch --parsable -A ops -c 2 -o /dev/null --wrap 'sleep 60')
wait_until 10 bash -c "[ \"\$(squeue -h -j $blocker -o %T)\" == RUNNING ]" || fail "blocker did not start"
physics=$(sbatch --parsable -A physics -c 2 -o /dev/null --wrap 'echo physics >> order')
chem=$(sbatch --parsable -A chem -c 2 -o /dev/null --wrap 'echo chem >> order')
high=$(sbatch --parsable -A physics -q high -c 2 -o /dev/null --wrap 'echo high >> order')

# Fair Tree (the default): the accounts are unknown to the accounting database, so each
# (account, user) pair counts as a user under root, next to root's own association: four users.
# physics did all the use so far, so it ranks last: 1/4.
expect_eq "$(fairshare_of "$physics")" "2500" "fair share of the account that used the node"
expect_eq "$(fairshare_of "$chem")" "10000" "fair share of the account that did not"
expect_eq "$(sprio -h -j "$high" -o '%Q %f')" "1000 0.2500000" "QOS and normalised fair share"

# The columns are the weighted factors (zero-weight ones are left out) and add up.
expect_eq "$(sprio | head -1)" \
  "          JOBID PARTITION   PRIORITY       SITE  FAIRSHARE    JOBSIZE        QOS" \
  "sprio header"
expect_eq "$(sprio -j "$chem" -h)" \
  "$(printf '%15s %-9s %10s %10s %10s %10s %10s' "$chem" debug 11000 0 10000 1000 0)" \
  "sprio line of the chem job"
expect_eq "$(sprio -w)" \
  "          JOBID PARTITION   PRIORITY       SITE  FAIRSHARE    JOBSIZE        QOS
        Weights                               1      10000       1000       1000" "sprio -w"
expect_eq "$(sprio -l | head -1)" \
  "          JOBID PARTITION     USER   PRIORITY       SITE        AGE      ASSOC  FAIRSHARE    JOBSIZE  PARTITION        QOS        NICE                 TRES" \
  "sprio -l header"
expect_eq "$(sprio -h -S -y -o %i | tr '\n' ' ')" "$chem $high $physics " "sprio -S -y order"
expect_eq "$(shoal priority -h -j "$chem" -o %Y)" "11000" "shoal priority is sprio"
expect_eq "$(squeue -h -j "$chem" -o %Q)" "11000" "squeue shows the same priority"
expect_eq "$(sprio -j 99999)" "Unable to find jobs matching user/id(s) specified" "sprio -j unknown"

# The usage is durable: a controller restarted with classic fair share computes it from the
# same usage: a quarter of the shares and all the use, 2^(-1/(1/4)).
echo "PriorityFlags=NO_FAIR_TREE" >> "$WORK/slurm.conf"
restart_controller --config "$WORK/slurm.conf"
expect_eq "$(scontrol show config | grep -E '^PriorityFlags ')" "PriorityFlags           = NO_FAIR_TREE" \
  "scontrol show config shows PriorityFlags"
expect_eq "$(fairshare_of "$physics")" "625" "classic fair share after a controller restart"

scancel "$blocker"
wait_until 30 queue_empty || fail "queue did not drain"
expect_eq "$(tr '\n' ' ' < order)" "chem high physics " "jobs started in priority order"
finish

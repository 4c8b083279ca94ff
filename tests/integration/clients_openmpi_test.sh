#!/usr/bin/env bash
# Open MPI 4.1 runs unchanged on shoal: mpirun.openmpi inside a batch job finds the allocation
# through SLURM_* variables and starts its orted daemons with srun (plm/slurm); an MPI program
# compiled here sums over ranks on both nodes.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$SRC/lib.sh"
require_client mpirun.openmpi mpicc.openmpi
mpicc.openmpi -O1 -o allreduce "$SRC/clients/allreduce.c" || { fail "mpicc.openmpi"; finish; }
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 4 --config "$WORK/slurm.conf"

# On a real cluster mpirun runs on the first node and starts orted on the others with this line
# (Debian's build passes --mpi=none where upstream passes --cpu_bind=none); here all nodes share
# one host name, so mpirun starts an orted on every node instead. orted's ess/slurm computes its
# name from the step-relative SLURM_NODEID.
show='echo $SLURMD_NODENAME $SLURM_NODEID $SLURM_STEP_NUM_NODES $SLURM_STEP_NUM_TASKS'
out=$(timeout 60 salloc -N2 srun --ntasks-per-node=1 --kill-on-bad-exit --cpu_bind=none --mpi=none \
  --nodes=1 --nodelist=node2 --ntasks=1 bash -c "$show" 2>/dev/null)
expect_eq "$out" "node2 0 1 1" "srun with plm/slurm's options on the other nodes"

# One rank per node, as it comes (salloc runs mpirun here with the allocation's variables).
out=$(timeout 120 salloc -N2 -n2 mpirun.openmpi ./allreduce 2>salloc.err | grep '^rank ' | sort)
expect_eq "$(cut -d' ' -f1-8 <<<"$out")" "$(printf '%s\n' 'rank 0 size 2 sum 3 node node1' \
  'rank 1 size 2 sum 3 node node2')" "salloc -N2 -n2 mpirun.openmpi"
[ "$FAILURES" -eq 0 ] || cat salloc.err

# Two ranks per node in a batch job. The test's nodes share one host, so Open MPI's shared-memory
# transport would give ranks of different nodes the same segment file (named after the host and
# the local rank); TCP between all ranks keeps them apart, as real separate hosts would.
cat > mpi.sh <<'S'
#!/bin/bash
#SBATCH -N2 -n4 -o mpi.out -e mpi.err
export OMPI_MCA_btl=self,tcp
mpirun.openmpi ./allreduce
S
id=$(sbatch --parsable mpi.sh)
wait_until 120 job_done "$id" || fail "Open MPI job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "Open MPI job state"
out=$(grep '^rank ' mpi.out | sort -k2,2n)
expect_eq "$(cut -d' ' -f1-6 <<<"$out")" "$(printf 'rank %s size 4 sum 10\n' 0 1 2 3)" \
  "four ranks summed 1+2+3+4"
expect_eq "$(awk '{print $8}' <<<"$out" | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" \
  "2 node1 2 node2 " "two ranks on each node"
# The daemons ran as a step of the job, launched through srun. mpirun may end before its srun
# has seen the last orted go; the batch script's end then ends the step (CANCELLED), as on Slurm.
steps=$(sacct -n -P -j "$id" --format=JobID,JobName,State,NNodes | grep -v batch | tail -n +2)
expect_match "$steps" "^$id\.0\|orted\|(COMPLETED|CANCELLED)\|[12]$" "orted step in sacct"
[ "$FAILURES" -eq 0 ] || { echo "--- mpi.out"; cat mpi.out; echo "--- mpi.err"; cat mpi.err; }

finish

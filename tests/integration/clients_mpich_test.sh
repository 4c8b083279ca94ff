#!/usr/bin/env bash
# MPICH 4 runs unchanged on shoal: mpiexec.mpich (hydra) inside an allocation reads the node list
# and tasks per node from SLURM_* variables and starts its proxies with srun; an MPI program
# compiled here sums over ranks on both nodes.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$SRC/lib.sh"
require_client mpiexec.mpich mpicc.mpich
mpicc.mpich -O1 -o allreduce "$SRC/clients/allreduce.c" || { fail "mpicc.mpich"; finish; }
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 4 --config "$WORK/slurm.conf"

# Interactive: salloc runs mpiexec here, with the allocation's variables.
out=$(timeout 120 salloc -N2 -n4 mpiexec.mpich ./allreduce 2>salloc.err)
rc=$?
expect_eq "$rc" "0" "salloc mpiexec.mpich exit code"
out=$(grep '^rank ' <<<"$out" | sort -k2,2n)
expect_eq "$(cut -d' ' -f1-6 <<<"$out")" "$(printf 'rank %s size 4 sum 10\n' 0 1 2 3)" \
  "salloc: four ranks summed 1+2+3+4"
expect_eq "$(awk '{print $8}' <<<"$out" | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" \
  "2 node1 2 node2 " "salloc: two ranks on each node"
sid=$(sed -n 's/^salloc: Granted job allocation \([0-9]*\)$/\1/p' salloc.err)
expect_match "$(sacct -n -P -j "$sid" --format=JobID,JobName,State,NNodes | tail -1)" \
  "^$sid\.0\|hydra_pmi_proxy\|COMPLETED\|2$" "hydra's proxies ran as one step on both nodes"
[ "$FAILURES" -eq 0 ] || { echo "--- salloc said"; cat salloc.err; echo "$out"; }

# In a batch job.
cat > mpi.sh <<'S'
#!/bin/bash
#SBATCH -N2 --ntasks-per-node=2 -o mpi.out -e mpi.err
mpiexec.mpich ./allreduce
S
id=$(sbatch --parsable mpi.sh)
wait_until 120 job_done "$id" || fail "MPICH job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "MPICH batch job state"
out=$(grep '^rank ' mpi.out | sort -k2,2n)
expect_eq "$(cut -d' ' -f1-6 <<<"$out")" "$(printf 'rank %s size 4 sum 10\n' 0 1 2 3)" \
  "sbatch: four ranks summed"
expect_eq "$(awk '{print $8}' <<<"$out" | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" \
  "2 node1 2 node2 " "sbatch: two ranks on each node"
[ "$FAILURES" -eq 0 ] || { echo "--- mpi.out"; cat mpi.out; echo "--- mpi.err"; cat mpi.err; }

finish

#!/usr/bin/env bash
# PyTorch 1.13 DistributedDataParallel (gloo) across two nodes with a plain srun in a batch job:
# the env:// rendezvous uses only the MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE/LOCAL_RANK shoal
# sets. The ranks' all-reduced gradients match their mean and their parameters end equal.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$SRC/lib.sh"
require_python_module torch.distributed
cp "$SRC/clients/ddp_train.py" train.py
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

cat > ddp.sh <<'S'
#!/bin/bash
#SBATCH -N2 -o ddp.out -e ddp.err
srun -N2 --ntasks-per-node=1 python3 train.py
S
id=$(sbatch --parsable ddp.sh)
wait_until 180 job_done "$id" || fail "DDP job $id did not finish"
expect_eq "$(job_state "$id")" "COMPLETED" "DDP job state"
out=$(grep '^rank ' ddp.out | sort -k2,2n)
expect_eq "$(cut -d' ' -f1-10 <<<"$out")" "$(printf '%s\n' \
  'rank 0 world 2 local_rank 0 node node1 grads_agree True' \
  'rank 1 world 2 local_rank 0 node node2 grads_agree True')" "both ranks trained, on both nodes"
params=$(sed 's/.* params //' <<<"$out" | sort -u)
expect_eq "$(wc -l <<<"$params")" "1" "the ranks' parameters are equal"
expect_match "$params" '^(-?[0-9]+\.[0-9]+ ){48}-?[0-9]+\.[0-9]+$' "49 parameters"
expect_match "$(sacct -n -P -j "$id.0" --format=JobName,State,NTasks,NNodes)" \
  '^python3\|COMPLETED\|2\|2$' "the training step in sacct"
[ "$FAILURES" -eq 0 ] || { echo "--- ddp.out"; cat ddp.out; echo "--- ddp.err"; cat ddp.err; }

finish

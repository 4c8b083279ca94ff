#!/bin/bash
#SBATCH -J ddp-digits -o submit-%j.out
# The whole pipeline from one `sbatch submit.sh`: this small job submits the chain
# prepare -> train (2 nodes, DDP gloo, requeueable) -> validate, each starting only when the
# one before succeeded (afterok). SHARED (default: ./shared beside this script) must be on a
# file system every node sees. EPOCHS, EPOCH_SLEEP and NODES tune the demo.
set -euo pipefail
here=${SLURM_SUBMIT_DIR:-$(cd "$(dirname "$0")" && pwd)}
cd "$here"
shared=${SHARED:-$here/shared}
nodes=${NODES:-2}
mkdir -p "$shared"
prep=$(sbatch --parsable -J digits-prepare -o "$shared/prepare-%j.out" \
  --wrap "python3 prepare.py '$shared'")
train=$(sbatch --parsable -J digits-train -N "$nodes" --ntasks-per-node=1 --requeue \
  --open-mode=append -o "$shared/train-%j.out" -d "afterok:$prep" \
  --wrap "srun python3 train.py '$shared' --epochs ${EPOCHS:-30} --epoch-sleep ${EPOCH_SLEEP:-0}")
val=$(sbatch --parsable -J digits-validate -o "$shared/validate-%j.out" -d "afterok:$train" \
  --wrap "python3 validate.py '$shared'")
echo "ddp-digits: prepare=$prep train=$train validate=$val"

#!/usr/bin/env bash
# examples/ddp-digits on a 2-node cluster: one `sbatch submit.sh` submits prepare -> train (DDP
# gloo on both nodes, checkpoints in a shared directory) -> validate. The training job is
# requeued after its first checkpoint and resumes from it; validation passes.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$SRC/lib.sh"
require_python_module torch.distributed
require_python_module sklearn
cp -r "$SRC/../../examples/ddp-digits" ddp
cd ddp
printf 'KillWait=1\nMinJobAge=600\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

sub=$(EPOCHS=15 EPOCH_SLEEP=0.4 sbatch --parsable submit.sh)
wait_until 30 job_done "$sub" || fail "submit.sh did not finish"
line=$(grep '^ddp-digits:' "submit-$sub.out")
expect_match "$line" '^ddp-digits: prepare=[0-9]+ train=[0-9]+ validate=[0-9]+$' "submit.sh submits the chain"
train=$(sed 's/.*train=\([0-9]*\).*/\1/' <<<"$line")
val=$(sed 's/.*validate=\([0-9]*\).*/\1/' <<<"$line")
checkpointed() { grep -q '^checkpoint at epoch 5$' shared/train-"$train".out 2>/dev/null; }
wait_until 180 checkpointed || fail "training wrote no checkpoint"
scontrol requeue "$train"
wait_until 240 job_done "$val" || fail "validation did not finish"
expect_eq "$(job_state "$train")" "COMPLETED" "training job"
expect_eq "$(job_state "$val")" "COMPLETED" "validation job"
expect_match "$(cat shared/train-"$train".out)" "resumed from the checkpoint of epoch (5|10)" "the requeued run resumed from its checkpoint"
expect_match "$(cat shared/validate-"$val".out)" '^validation accuracy 0\.9[0-9]* on 450 images$' "validation accuracy"
expect_match "$(sacct -n -P -j "$train" --format=JobID,State,NNodes | grep "^$train\.[0-9]*|" | tail -1)" "\|COMPLETED\|2$" "the requeued run's DDP step on both nodes"
expect_eq "$(grep -c 'step creation temporarily disabled' shared/train-"$train".out)" "0" "the requeued run's step does not wait for the old run's"
[ "$FAILURES" -eq 0 ] || for f in shared/*.out; do echo "--- $f"; cat "$f"; done

finish

"""Trains a small classifier on the digits data with DistributedDataParallel (gloo).

Every rank finds its peers through the variables shoal's srun sets (MASTER_ADDR, MASTER_PORT,
RANK, WORLD_SIZE): no launcher, no glue. Each rank trains on its shard of the data. Rank 0
writes a checkpoint to the shared directory every --checkpoint-every epochs; a run that finds
one (the job was requeued) resumes from it instead of starting over.
Usage: python3 train.py SHARED_DIR [--epochs N] [--checkpoint-every K] [--epoch-sleep S]
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.distributed as dist


def model_fn():
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("shared")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--checkpoint-every", type=int, default=5)
    p.add_argument("--epoch-sleep", type=float, default=0.0)  # slows the demo down to watch it
    args = p.parse_args()

    dist.init_process_group("gloo")  # env://
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the same initial weights on every rank
    data = np.load(os.path.join(args.shared, "digits.npz"))
    x = torch.from_numpy(data["x_train"])[rank::world]
    y = torch.from_numpy(data["y_train"])[rank::world]

    model = model_fn()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ckpt_path = os.path.join(args.shared, "checkpoint.pt")
    start = 0
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        start = ckpt["epoch"]
        if rank == 0:
            print(f"resumed from the checkpoint of epoch {start}", flush=True)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    gen = torch.Generator().manual_seed(rank)
    for epoch in range(start, args.epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(ddp(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        done = epoch + 1
        if rank == 0:
            print(f"epoch {done} loss {total / len(x):.4f}", flush=True)
            if done % args.checkpoint_every == 0 or done == args.epochs:
                tmp = ckpt_path + ".tmp"
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": done},
                           tmp)
                os.replace(tmp, ckpt_path)  # a requeued run never reads half a checkpoint
                print(f"checkpoint at epoch {done}", flush=True)
        dist.barrier()
        time.sleep(args.epoch_sleep)
    if rank == 0:
        torch.save(model.state_dict(), os.path.join(args.shared, "model.pt"))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

"""A tiny DistributedDataParallel run (gloo, env:// rendezvous) for the PyTorch client test.

Everything it needs to find its peers comes from the variables shoal's srun sets: MASTER_ADDR,
MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK. Each rank trains on its own data; after every step it
checks that DDP's gradients are the mean of the ranks' local gradients, and at the end prints its
parameters, which must be the same on every rank.
"""
import os

import torch
import torch.distributed as dist


def main():
    dist.init_process_group("gloo")  # env://
    rank, world = dist.get_rank(), dist.get_world_size()
    assert rank == int(os.environ["RANK"]) and world == int(os.environ["WORLD_SIZE"])
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the same initial weights everywhere
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    data = torch.Generator().manual_seed(1000 + rank)  # each rank its own batches
    grads_agree = True
    for _ in range(5):
        x = torch.randn(16, 4, generator=data)
        y = x.sum(dim=1, keepdim=True)
        # This rank's own gradient, without DDP, averaged over the ranks by hand.
        reference.load_state_dict(model.state_dict())
        reference.zero_grad()
        torch.nn.functional.mse_loss(reference(x), y).backward()
        expected = [p.grad.clone() for p in reference.parameters()]
        for g in expected:
            dist.all_reduce(g)
            g /= world
        opt.zero_grad()
        torch.nn.functional.mse_loss(ddp(x), y).backward()
        for p, g in zip(model.parameters(), expected):
            grads_agree = grads_agree and torch.allclose(p.grad, g, atol=1e-6)
        opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    print(f"rank {rank} world {world} local_rank {os.environ['LOCAL_RANK']} "
          f"node {os.environ.get('SLURMD_NODENAME', '?')} grads_agree {grads_agree} "
          f"params {' '.join(f'{v:.6f}' for v in flat.tolist())}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

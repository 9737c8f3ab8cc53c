"""Run under mpirun -np N (test_distributed_mpirun.py) as `fault.py raise`: the last rank raises
in its third step while the others wait in the gradient reduction; or `fault.py mismatch`: the
last rank wraps a different model. The job must end at once, non-zero, with cnncore's message
naming the rank."""
import sys

import numpy as np

import cnncore
from cnncore import nn, optim
from cnncore import distributed as dist


def main():
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    cnncore.manual_seed(0)
    width = 5 if sys.argv[1] == "mismatch" and rank == world - 1 else 4
    model = dist.DistributedDataParallel(nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.Flatten(),
                                                       nn.Linear(width * 6 * 6, 3)))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = np.ones((4, 1, 8, 8), np.float32)
    y = np.arange(4) % 3
    for step in range(1000):
        if rank == world - 1 and step == 2:
            raise RuntimeError("injected failure at step %d" % step)
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    print("not reached: rank %d finished" % rank, flush=True)


if __name__ == "__main__":
    main()

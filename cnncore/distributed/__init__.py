"""Data-parallel training over MPI (the optional `mpi` extra: Open MPI and mpi4py), with
torch.distributed's names:

    from cnncore import distributed as dist
    dist.init_process_group()                      # rank and world size from mpirun
    model = dist.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    loader = data.DataLoader(x, y, batch_size=64, sampler=data.DistributedSampler(len(x)))

and run with `mpirun -np 4 python train.py`. See docs/DISTRIBUTED.md.
"""
from .ddp import DistributedDataParallel
from .process_group import (barrier, destroy_process_group, get_rank, get_world_size, init_process_group,
                            is_available, is_initialized)
from .sampler import DistributedSampler

__all__ = ["DistributedDataParallel", "DistributedSampler", "barrier", "destroy_process_group", "get_rank",
           "get_world_size", "init_process_group", "is_available", "is_initialized"]

"""Data parallelism on torch.distributed: the training entry point runs unchanged under ``torchrun``.

``torchrun --nproc_per_node=P -m gnc_teach -- train ...`` starts P processes with RANK / WORLD_SIZE /
LOCAL_RANK in their environment; :func:`setup` joins them into one process group (NCCL on GPUs, gloo on
CPUs) and gives each process its GPU. Each global batch of B samples is split over the P processes;
process r takes its share and its loss is (P/B)·Σ_{its samples} CE, so that DDP's average of the P
gradients is exactly the gradient of the mean CE over the whole batch, as in one process with batch B
(up to the order of floating-point sums; batch norm is the exception: its batch statistics are per process).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = ["Context", "setup", "wrap", "teardown", "any_process"]


@dataclass
class Context:
    """Where this process stands: ``rank`` of ``world`` processes, its ``device``, and whether this module
    created the process group (then :func:`teardown` destroys it)."""
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owned: bool = False

    @property
    def main(self) -> bool:
        """True on the process that evaluates, prints and writes files (rank 0)."""
        return self.rank == 0


def _context(ctx):
    from .._tensor import check_type
    return check_type(ctx, Context, "ctx", what="the Context returned by setup()")


def setup(device) -> Context:
    """Join the process group when started by torchrun (WORLD_SIZE > 1), else a one-process context."""
    from .._tensor import resolve
    device, _ = resolve(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context(device=device)
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    owned = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        owned = True
    return Context(rank=dist.get_rank(), world=dist.get_world_size(), device=device, owned=owned)


def wrap(model, ctx: Context):
    """``model`` wrapped in DistributedDataParallel when there are several processes (else itself)."""
    ctx = _context(ctx)
    if ctx.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)


def any_process(ctx: Context, flag: bool) -> bool:
    """True on every process when ``flag`` is True on at least one (one all-reduce; no communication in a
    one-process run): how the processes agree to stop together after Ctrl-C."""
    if _context(ctx).world == 1:
        return bool(flag)
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def teardown(ctx: Context) -> None:
    """Leave the process group if :func:`setup` created it."""
    if _context(ctx).owned:
        import torch.distributed as dist

        dist.destroy_process_group()

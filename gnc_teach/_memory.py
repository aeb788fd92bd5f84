"""The memory guard: refuse up front an allocation that the machine cannot hold.

A K x K matrix at K = 80,000 is 51 GB in float64. Asking torch or numpy for it fails deep inside the
allocator (or, worse, starts swapping and is killed later); asking for it step by step (restarts x K x d
Adam buffers) can grow for minutes before it fails. Functions that allocate such buffers estimate their
size first and call :func:`check_memory`, which compares it with the memory available now and raises
:class:`MemoryBudgetError` (a ``ValueError`` and a ``MemoryError``) that says the size, the limit and
what to do.

Available memory: on a CUDA device, the free memory reported by the driver; otherwise the smaller of
``MemAvailable`` in /proc/meminfo (Linux) or ``sysconf`` free pages, and the limit of the process's
cgroup (containers, JupyterHub pods), if any. Where none of these can be read, nothing is refused.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MemoryBudgetError", "available_bytes", "check_memory", "format_bytes"]


class MemoryBudgetError(ValueError, MemoryError):
    """An allocation was refused before it started: it would not fit in the available memory."""


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000


def _meminfo_available():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path):
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_available():
    """Memory left under this process's cgroup limit (v2, then v1), or None without a limit."""
    limit = _read_int("/sys/fs/cgroup/memory.max")
    used = _read_int("/sys/fs/cgroup/memory.current")
    if limit is None:
        limit = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        used = _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes")
    if limit is None or used is None or limit >= 1 << 60:   # v1 reports "no limit" as a huge number
        return None
    return max(limit - used, 0)


def available_bytes(device=None):
    """Bytes that can be allocated now on ``device`` (a torch.device, a string, or None for the CPU), or
    None when it cannot be determined."""
    dev = str(device) if device is not None else "cpu"
    if dev.startswith("cuda"):
        import torch
        try:
            return int(torch.cuda.mem_get_info(torch.device(dev))[0])
        except (RuntimeError, AssertionError, ValueError):
            return None
    found = [n for n in (_meminfo_available(), _cgroup_available()) if n is not None]
    return min(found) if found else None


def check_memory(nbytes: float, *, what: str, fix, device=None) -> None:
    """Raise :class:`MemoryBudgetError` if ``nbytes`` exceed the memory available on ``device``.

    ``what`` names the buffer and the parameters that set its size (e.g. "gram(W) (K=80000, a K x K
    matrix)"); ``fix`` says what to change: a string, or a function of the available bytes that
    returns one (e.g. to name a number of restarts that fits).
    """
    free = available_bytes(device)
    if free is None or nbytes <= free:
        return
    if callable(fix):
        fix = fix(free)
    where = "on the GPU" if str(device).startswith("cuda") else "of memory"
    raise MemoryBudgetError(f"{what} needs about {format_bytes(nbytes)}, but only {format_bytes(free)} "
                            f"{where} is available now; nothing was allocated. {fix}")

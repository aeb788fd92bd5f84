"""Device/dtype resolution and input validation shared by every module.

Every public function validates at the boundary with these helpers, so that bad input gets a
``ValueError``/``TypeError`` naming the parameter instead of a stack trace from inside torch.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import numbers

import numpy as np
import torch

__all__ = ["default_device", "resolve", "as_matrix", "as_labels", "check_int", "check_positive",
           "one_cpu_thread", "compiled_kernels"]


@functools.cache
def compiled_kernels(module: str):
    """The numba-compiled CPU kernels in ``gnc_teach.<module>``, imported on first use (numba takes
    ~0.3 s to import); None where numba cannot be imported, or (RuntimeError) has no writable cache
    directory for its compiled code: the caller's torch path then does all the work."""
    try:
        return importlib.import_module(f"gnc_teach.{module}")
    except (ImportError, RuntimeError):  # numba missing, or its cache directory unwritable
        return None


@contextlib.contextmanager
def one_cpu_thread(active: bool = True):
    """Run the block with one torch CPU thread, restored afterwards (a no-op when ``active`` is false).

    For small problems (UFM-sized tensors, the lockstep loops of the exact solvers) intra-op threads only
    add start-up and synchronisation; on a busy 2-core machine (pytest -n 2) two threads were measured
    10-40x slower than one. Callers decide what "small" means and pass it as ``active``.
    """
    old = torch.get_num_threads()
    if not active or old == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def default_device() -> torch.device:
    """CUDA when it is available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve(device=None, dtype=None, *, default_dtype=torch.float64):
    """Return ``(device, dtype)``: ``None`` means :func:`default_device` and ``default_dtype``.

    ``device`` may be ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device``;
    ``dtype`` may be a ``torch.dtype`` or one of ``"float32"``, ``"float64"``.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        device = default_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a device; use None, 'auto', 'cpu' or 'cuda'.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but CUDA is not available; use device=None or 'cpu'.")
    if dtype is None:
        dtype = default_dtype
    if isinstance(dtype, str):
        dtype = {"float32": torch.float32, "float64": torch.float64, "double": torch.float64,
                 "float": torch.float32}.get(dtype, dtype)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype={dtype!r} is not supported; use torch.float32 or torch.float64.")
    return device, dtype


def check_int(value, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
            value = int(value.item())
        else:
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value}.")
    return value


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0), or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}.")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not np.isfinite(value) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {name}={value}.")
    return value


def as_matrix(A, name: str, *, device=None, dtype=None, min_rows: int = 1, cols: int | None = None):
    """Validate a 2-D real array (tensor, ndarray or nested list) and return it as a tensor.

    Keeps the tensor's own device/dtype unless ``device``/``dtype`` are given; integer input becomes
    float64. Raises for the wrong type, the wrong number of dimensions, too few rows, or NaN/inf.
    """
    if isinstance(A, torch.Tensor):
        T = A.detach()
    elif isinstance(A, (np.ndarray, list, tuple)):
        keep = isinstance(A, np.ndarray) and A.dtype in (np.float32, np.float64)
        try:
            T = torch.as_tensor(A if keep else np.asarray(A, dtype=np.float64))
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be a real 2-D array, got {type(A).__name__} that numpy "
                            "cannot convert to floats.") from exc
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of shape (rows, cols), "
                        f"got {type(A).__name__}.")
    if T.is_complex() or T.dtype == torch.bool:
        raise TypeError(f"{name} must be real-valued, got dtype {T.dtype}.")
    if T.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(T.shape)}; a single vector needs "
                         f"{name}[None, :].")
    if T.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got shape {tuple(T.shape)}.")
    if cols is not None and T.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {tuple(T.shape)}.")
    if not T.is_floating_point():
        T = T.to(torch.float64)
    if dtype is not None or device is not None:
        T = T.to(device=device if device is not None else T.device,
                 dtype=dtype if dtype is not None else T.dtype)
    if not torch.isfinite(T).all():
        raise ValueError(f"{name} contains NaN or infinite entries; pass finite values.")
    return T


def as_labels(y, name: str, *, n: int, device=None):
    """Validate integer labels of shape ``(n,)`` with values >= 0 and return a long tensor."""
    if isinstance(y, torch.Tensor):
        t = y.detach()
    elif isinstance(y, (np.ndarray, list, tuple)):
        arr = np.asarray(y)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}.")
        t = torch.as_tensor(arr)
    else:
        raise TypeError(f"{name} must be a 1-D tensor or array of integer labels, got {type(y).__name__}.")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {t.dtype}.")
    if t.dim() != 1 or t.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match the features, got {tuple(t.shape)}.")
    if n and int(t.min()) < 0:
        raise ValueError(f"{name} must hold labels 0..K-1, got a negative label {int(t.min())}.")
    return t.to(device=device if device is not None else t.device, dtype=torch.long)

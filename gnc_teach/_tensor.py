"""Device/dtype resolution and input validation shared by every module (the one validation layer).

Every public function validates at the boundary with these helpers, so that bad input gets a
``ValueError``/``TypeError`` naming the parameter instead of a stack trace from inside torch: integers,
seeds, flags and objects of the package (:func:`check_int`, :func:`check_seed`, :func:`check_bool`,
:func:`check_type`), positive numbers, fractions
and (start, end) pairs (:func:`check_positive`, :func:`check_fraction`, :func:`check_pair`), finite arrays,
matrices, vectors and labels (:func:`as_array`, :func:`as_matrix`, :func:`as_vector`, :func:`as_labels`;
``keep_grad=True`` keeps a tensor's autograd graph, for losses), seeded generators (:func:`generator`),
unit rows (:func:`require_unit_rows`) and overflow-free scaling (:func:`unit_rows`, :func:`power_of_two_scale`). Memory is guarded in
:mod:`gnc_teach._memory`, long loops stop cleanly in :mod:`gnc_teach._stop`.

Also here: where the numba-compiled kernels are loaded from and cached (:func:`compiled_kernels`,
:func:`numba_cache_dir`).
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import math
import numbers
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["default_device", "resolve", "as_matrix", "as_array", "as_vector", "as_labels", "check_int",
           "check_positive", "check_seed", "check_bool", "check_type", "check_fraction", "check_pair", "generator", "unit_rows",
           "require_unit_rows", "power_of_two_scale", "one_cpu_thread", "compiled_kernels"]

#: seeds are integers 0 <= seed <= SEED_MAX (torch's generators take 64-bit seeds; the solvers derive a
#: second stream as seed + 2**31, so the top of the 64-bit range is kept free)
SEED_MAX = 2 ** 63 - 1


@functools.cache
def compiled_kernels(module: str):
    """The numba-compiled CPU kernels in ``gnc_teach.<module>``, imported on first use (numba takes
    ~0.3 s to import); None where numba cannot be imported, or (RuntimeError) has no writable cache
    directory for its compiled code: the caller's torch path then does all the work."""
    numba_cache_dir()
    try:
        return importlib.import_module(f"gnc_teach.{module}")
    except (ImportError, RuntimeError):  # numba missing, or its cache directory unwritable
        return None


def _user_cache_dir() -> Path | None:
    """The per-user cache folder of gnc-teach (where platformdirs would put it) for compiled kernels."""
    try:
        home = Path.home()
    except RuntimeError:           # no HOME and no entry in the password database
        home = None
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or (home and home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home and home / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or (home and home / ".cache")
    return Path(base) / "gnc-teach" / "numba" if base else None


def _writable(folder: Path) -> bool:
    from ._io import write_error
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return write_error(folder) is None


@functools.cache
def numba_cache_dir() -> str | None:
    """Where numba caches the compiled kernels; decided once, before numba is imported.

    Numba writes its cache next to the sources (``gnc_teach/_solvers/__pycache__``). Where the package
    folder is read-only (a system-wide or shared install, a course's JupyterHub image), the compiled code
    goes to the user's cache folder (``~/.cache/gnc-teach/numba`` on Linux) instead, or else to a folder
    in the temporary directory, via ``NUMBA_CACHE_DIR``. A ``NUMBA_CACHE_DIR`` set by the user is kept.
    Returns the folder chosen, or None for numba's own default (next to the sources).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    if _writable(Path(__file__).resolve().parent / "_solvers" / "__pycache__"):
        return None
    tmp = Path(tempfile.gettempdir()) / f"gnc-teach-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / "numba"
    for folder in (_user_cache_dir(), tmp):
        if folder is not None and _writable(folder):
            os.environ["NUMBA_CACHE_DIR"] = str(folder)
            if "numba" in sys.modules:      # numba read its configuration at import: update it too
                sys.modules["numba"].config.CACHE_DIR = str(folder)
            return str(folder)
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


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int (Python or numpy integer, or a one-element integer tensor) within
    ``[minimum, maximum]``, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
            value = int(value.item())
        else:
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {name}={value}.")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """A random seed: an integer 0 <= seed <= 2**63 - 1 (the same rule for every solver and trainer)."""
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer, torch.Tensor)):
        raise TypeError(f"{name} must be an integer 0 <= {name} <= 2**63-1, got {type(seed).__name__} {seed!r}.")
    return check_int(seed, name, minimum=0, maximum=SEED_MAX)


def generator(seed, name: str = "seed") -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with the validated ``seed`` (None means 0), or ``seed`` itself when
    it already is a generator (to draw several arrays from one stream). Every random start of the package
    is drawn on the CPU from one, so a seeded run is the same on every device."""
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(0 if seed is None else check_seed(seed, name))


def check_type(value, cls, name: str, *, what: str):
    """``value`` if it is an instance of ``cls`` (a class or a tuple of classes); else a TypeError naming
    ``name``: "``name`` must be ``what``, got <its type>" (``what`` says where such a value comes from)."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}.")
    return value


def check_bool(value, name: str) -> bool:
    """``value`` as a bool: True or False (a numpy bool too), never a truthy string such as "no"."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}.")
    return bool(value)


def check_fraction(value, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a float in (0, 1), or [0, 1) with ``allow_zero``, or raise naming ``name``."""
    value = check_positive(value, name, allow_zero=allow_zero)
    if value >= 1:
        raise ValueError(f"{name} must be a fraction {'in [0, 1)' if allow_zero else 'strictly between 0 and 1'}, "
                         f"got {name}={value}.")
    return value


def check_pair(value, name: str, *, example: str) -> tuple[float, float]:
    """A ``(start, end)`` pair of finite positive numbers (an annealed step size or temperature)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a (start, end) pair of positive numbers, e.g. {name}={example}, "
                        f"got {value!r}.")
    return check_positive(value[0], f"{name}[0]"), check_positive(value[1], f"{name}[1]")


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


def as_array(A, name: str, *, device=None, dtype=None, min_dim: int = 1, keep_grad: bool = False):
    """Validate a finite real array with at least ``min_dim`` dimensions (tensor, ndarray or nested list)
    and return it as a tensor (see :func:`as_matrix`, the 2-D case). ``keep_grad``: a tensor keeps its
    autograd graph (a loss's input); otherwise it is detached."""
    T = _real_tensor(A, name, keep_grad)
    if T.dim() < min_dim:
        raise ValueError(f"{name} must be at least {min_dim}-D, got shape {tuple(T.shape)}.")
    return _finite(T, name, device, dtype)


def as_vector(v, name: str, *, n: int, device=None, dtype=None):
    """A finite real vector of length ``n`` (a tensor, ndarray, list or tuple) as a 1-D tensor."""
    T = _real_tensor(v, name)
    if T.dim() != 1 or T.shape[0] != n:
        raise ValueError(f"{name} must be a vector of length {n}, got shape {tuple(T.shape)}.")
    return _finite(T, name, device, dtype)


def _real_tensor(A, name, keep_grad=False):
    if isinstance(A, torch.Tensor):
        T = A if keep_grad else A.detach()
    elif isinstance(A, (np.ndarray, list, tuple)):
        keep = isinstance(A, np.ndarray) and A.dtype in (np.float32, np.float64)
        try:
            T = torch.as_tensor(A if keep else np.asarray(A, dtype=np.float64))
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be a real 2-D array, got {type(A).__name__} that numpy "
                            "cannot convert to floats.") from exc
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(A).__name__}.")
    if T.is_complex() or T.dtype == torch.bool:
        raise TypeError(f"{name} must be real-valued, got dtype {T.dtype}.")
    return T


def _finite(T, name, device, dtype):
    if not T.is_floating_point():
        T = T.to(torch.float64)
    if dtype is not None or device is not None:
        T = T.to(device=device if device is not None else T.device,
                 dtype=dtype if dtype is not None else T.dtype)
    if not torch.isfinite(T.detach()).all():
        raise ValueError(f"{name} contains NaN or infinite entries; pass finite values.")
    return T


def as_matrix(A, name: str, *, device=None, dtype=None, min_rows: int = 1, cols: int | None = None,
              keep_grad: bool = False):
    """Validate a 2-D real array (tensor, ndarray or nested list) and return it as a tensor.

    Keeps the tensor's own device/dtype unless ``device``/``dtype`` are given; integer input becomes
    float64. Raises for the wrong type, the wrong number of dimensions, too few rows, or NaN/inf.
    ``keep_grad`` as in :func:`as_array`.
    """
    T = _real_tensor(A, name, keep_grad)
    if T.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(T.shape)}; a single vector needs "
                         f"{name}[None, :].")
    if T.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got shape {tuple(T.shape)}.")
    if cols is not None and T.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {tuple(T.shape)}.")
    return _finite(T, name, device, dtype)


def power_of_two_scale(A) -> float:
    """A power of two ``c`` with ``max |A| / c`` in [0.5, 1) (1.0 for an all-zero ``A``).

    Dividing by ``c`` is exact in floating point, so functions that are homogeneous in their input
    (distances, energies) can work on ``A / c`` and scale the answer back: no overflow of squared norms
    for entries near 1e160, no underflow to zero near 1e-200.
    """
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"A must be a torch.Tensor, got {type(A).__name__}.")
    top = float(A.detach().abs().max()) if A.numel() else 0.0
    return math.ldexp(1.0, math.frexp(top)[1]) if top > 0 else 1.0


def unit_rows(A, name: str):
    """Rows of a finite ``A (..., d)`` divided by their norms; a zero row is a ValueError naming ``name``.

    Each row is first divided by a power of two near its largest entry (exact), so the norm neither
    overflows (entries near 1e160) nor underflows (near 1e-200); for rows of ordinary size the result
    is bit for bit ``A / A.norm(dim=-1)``.
    """
    top = A.abs().amax(dim=-1, keepdim=True)
    if (top == 0).any():
        raise ValueError(f"{name} has a zero row, which cannot be normalised to the unit sphere.")
    B = A / torch.ldexp(torch.ones_like(top), torch.frexp(top).exponent)
    return B / B.norm(dim=-1, keepdim=True)


def require_unit_rows(T, name: str, *, tol: float):
    """``T`` (a validated tensor ``(..., d)``) if its rows have norm 1 within ``tol``; else a ValueError naming
    ``name`` that says how far they are and how to fix it."""
    err = float((T.detach().norm(dim=-1) - 1).abs().max()) if T.numel() else 0.0
    if err > tol:
        raise ValueError(f"the rows of {name} must be unit vectors (max | ||row|| - 1 | = {err:.2e} > {tol:g}); "
                         f"normalise them first, e.g. with gnc_teach.normalize_rows({name}).")
    return T


def as_labels(y, name: str, *, n: int | None, K: int | None = None, device=None):
    """Validate integer labels of shape ``(n,)`` (any length when ``n`` is None) with values >= 0 (and
    < ``K`` when given) and return a long tensor."""
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
    if t.dim() != 1 or (n is not None and t.shape[0] != n):
        shape = f"({n},) to match the features" if n is not None else "(N,)"
        raise ValueError(f"{name} must have shape {shape}, got {tuple(t.shape)}.")
    if t.numel() and int(t.min()) < 0:
        raise ValueError(f"{name} must hold labels 0..K-1, got a negative label {int(t.min())}.")
    if K is not None and t.numel() and int(t.max()) >= K:
        raise ValueError(f"{name} has label {int(t.max())} but there are only K={K} classes; labels must "
                         "lie in 0..K-1.")
    return t.to(device=device if device is not None else t.device, dtype=torch.long)

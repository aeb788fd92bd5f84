"""The self-check framework behind ``gnc_teach.check``.

A check never crashes: whatever the student passes (a wrong type, a stub that raises
``NotImplementedError``, a function that returns garbage), it answers with a short message.
A failed check raises :class:`CheckFailed` (an ``AssertionError`` shown as one line) in strict mode:
with ``GNC_TEACH_STRICT_CHECKS=1`` (set by the test suite, so that solution notebooks fail loudly under
nbval), and while nbgrader autogrades or validates a notebook (it sets ``NBGRADER_EXECUTION``), since
nbgrader gives a test cell its points unless the cell raises. ``GNC_TEACH_STRICT_CHECKS=0`` turns strict
mode off in both cases. For the same reason a check prints its verdict instead of returning it for
display (nbgrader would read a displayed value as a partial score), and keeps warnings and stderr output
out of the cell (nbgrader scores a test cell that writes to stderr 0).

A check never hangs or ends the kernel either. The student's code has a time budget per check: every
call made through :func:`call_student` (or :func:`run_student`) counts against it, the package's own
work (reference solutions, training the package's model) does not. The budget is :data:`TIME_LIMIT`
seconds, or what the check declares (``@checker(time_limit=...)``, e.g. a search the student runs for
minutes), or ``GNC_TEACH_CHECK_TIME_LIMIT`` for every check. A student function that sleeps or loops
forever gets "your function took longer than N s"; ``sys.exit()`` in the student's code and Ctrl-C
during a check become short messages too. The limit uses a timer signal on the main thread (the code is
interrupted where it is); elsewhere the student's call runs in a helper thread that is abandoned, still
running, when time is up. This is the one mechanism of every lesson's checks.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import io
import math
import os
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from .._tensor import one_cpu_thread

PASS, FAIL = "✅", "❌"
#: seconds the student's code may take in one check (all its calls together), unless the check says otherwise
TIME_LIMIT = 30.0


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one self-check: ``passed`` and a one-line ``message`` (what is wrong, plus a hint)."""

    name: str
    passed: bool
    message: str
    printed: bool = field(default=False, compare=False, repr=False)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{PASS if self.passed else FAIL} {self.name}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b42318"
        return f'<span style="color:{colour}">{str(self)}</span>'

    def _ipython_display_(self):
        # A check has printed its verdict already: showing it again as the cell's value would repeat it,
        # and nbgrader reads a cell's value as a partial score.
        if not self.printed:
            print(self)


class CheckFailed(AssertionError):
    """A failed check in strict mode; Jupyter shows it as one line instead of a traceback."""

    def _render_traceback_(self):
        return [f"\x1b[0;31mCheckFailed\x1b[0m: {self}"]


def strict() -> bool:
    """Whether a failed check raises: ``GNC_TEACH_STRICT_CHECKS`` ("1" or "0") if set, else whether
    nbgrader is autograding or validating (``NBGRADER_EXECUTION``)."""
    flag = os.environ.get("GNC_TEACH_STRICT_CHECKS")
    if flag is not None:
        return flag == "1"
    return bool(os.environ.get("NBGRADER_EXECUTION"))


class Fail(Exception):
    """Raised inside a check body to report a specific failure message."""


_budget = threading.local()     # .left: seconds of student time left in the running check (None: no limit)


def run_student(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` for student code, charged to the running check's time budget (raising
    :class:`TimeUp` when it is spent); its exceptions propagate as they are (see :func:`call_student`)."""
    left = getattr(_budget, "left", None)
    if left is None:
        return fn(*args, **kwargs)
    if left <= 0:
        raise TimeUp
    t0 = time.monotonic()
    try:    # at least 1 ms: a timer of 0 (a sub-microsecond one rounds to 0) would never fire
        return _run_limited(fn, args, kwargs, max(left, 1e-3))
    finally:
        _budget.left = left - (time.monotonic() - t0)


def call_student(fn, *args, **kwargs):
    """Call the student's function (under the check's time budget, :func:`run_student`), turning its
    exceptions into friendly :class:`Fail` messages."""
    if not callable(fn):
        raise Fail(f"expected a function, got {type(fn).__name__}. Pass the function itself, without ().")
    try:
        return run_student(fn, *args, **kwargs)
    except NotImplementedError:
        raise Fail("not implemented yet: replace the `raise NotImplementedError` stub with your code.")
    except Fail:
        raise
    except Exception as exc:  # the student's bug, reported, not re-raised
        raise Fail(f"your function raised {type(exc).__name__}: {exc}") from None


def as_array(value, what: str, shape=None) -> np.ndarray:
    """The student's result as a finite float64 numpy array (of ``shape`` if given), else :class:`Fail`.

    ``what`` names the result in the message, e.g. ``"your function(4, 3)"``.
    """
    if value is None:
        raise Fail(f"{what} returned None. Hint: did you forget `return`?")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_complex():
            raise Fail(f"{what} returned a complex tensor; the answer is real.")
        value = value.to(torch.float64).numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(f"{what} returned {type(value).__name__}, which is not an array of numbers. "
                   "Hint: return a torch tensor or numpy array.") from None
    if shape is not None and arr.shape != tuple(shape):
        hint = " Hint: rows are classes, so transpose." if arr.ndim == 2 and arr.shape == tuple(shape)[::-1] else ""
        raise Fail(f"{what} has shape {arr.shape}, expected shape {tuple(shape)}.{hint}")
    if not np.isfinite(arr).all():
        raise Fail(f"{what} contains NaN or inf. Hint: look for a division by zero.")
    return arr


def as_scalar(value, what: str) -> float:
    """The student's result as one finite Python float (a number, 0-d or one-element tensor/array)."""
    if value is None:
        raise Fail(f"{what} returned None. Hint: did you forget `return`?")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise Fail(f"{what} should be one number, got a tensor of shape {tuple(value.shape)}.")
        value = value.detach().cpu().item()
    elif isinstance(value, np.ndarray):
        if value.size != 1:
            raise Fail(f"{what} should be one number, got an array of shape {value.shape}. "
                       "Hint: reduce with .max()/.sum() and return a float.")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Fail(f"{what} should be a number (float or 0-d tensor), got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise Fail(f"{what} is {value}; it should be a finite number.")
    return value


class TimeUp(BaseException):
    """Raised into a check whose time limit has passed (a BaseException, so that a student's
    ``except Exception`` cannot swallow it)."""


def time_limit(default: float = TIME_LIMIT) -> float:
    """The student-time budget of a check in seconds: ``GNC_TEACH_CHECK_TIME_LIMIT`` if set (for every
    check), else the check's own ``default``."""
    try:
        value = float(os.environ.get("GNC_TEACH_CHECK_TIME_LIMIT", default))
    except ValueError:
        return default
    return value if value > 0 and math.isfinite(value) else default


def _run_limited(fn, args, kwargs, seconds):
    """``fn(*args, **kwargs)``, raising :class:`TimeUp` after ``seconds``.

    On the main thread a real-time timer (SIGALRM) interrupts the call where it is, and the previous
    handler and timer are restored afterwards. Elsewhere (or without SIGALRM, on Windows) the call runs
    in a daemon thread; when time is up the check answers and the thread is left to finish on its own.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum, frame):
            raise TimeUp
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if old_timer[0]:                      # someone else's timer was running: give it back
                signal.setitimer(signal.ITIMER_REAL, *old_timer)
    box = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the caller's thread)
            box["error"] = exc
    worker = threading.Thread(target=target, daemon=True, name="gnc-teach check")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeUp
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextlib.contextmanager
def _quiet(box: dict):
    """Collect the warnings and the stderr output of the code inside into ``box`` instead of showing them."""
    err = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            yield
        finally:
            box["warnings"], box["stderr"] = list(caught), err.getvalue()


def _noise(box: dict) -> str:
    """A short note on what was warned or written to stderr during a check, for a failure message."""
    if box.get("warnings"):
        w = box["warnings"][0]
        return f" (your code also warned: {w.category.__name__}: {str(w.message)[:120]})"
    text = box.get("stderr", "").strip()
    return f" (your code also wrote to stderr: {text.splitlines()[-1][:120]})" if text else ""


def checker(fn=None, *, time_limit: float | str = TIME_LIMIT):
    """Decorate a check body ``fn(*args) -> str`` (the success message) that raises :class:`Fail`.

    The wrapper prints and returns a :class:`CheckResult`; any unexpected exception in the body is
    reported as a failure, never propagated (unless strict mode is on and the check failed: then it raises
    :class:`CheckFailed`). The student's code in the body has a budget of ``time_limit`` seconds
    (:data:`TIME_LIMIT`; a string names the check's parameter that holds it, e.g. ``"budget"``);
    ``sys.exit()`` and Ctrl-C inside it are reported, not propagated. Warnings and stderr output during the
    check are mentioned in a failure, not shown. The check runs with one torch CPU thread: on a busy machine
    (an autograding server) intra-op threads made an exercise's small tensors 25x slower (spread_points:
    92 s with two threads, 3.4 s with one, load 9 on 2 cores). Use as ``@checker`` or
    ``@checker(time_limit=300)``.
    """
    if fn is None:
        return functools.partial(checker, time_limit=time_limit)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        limit, box = _limit_of(time_limit, signature, args, kwargs), {}
        outer = getattr(_budget, "left", None)
        _budget.left = limit
        try:
            with _quiet(box), one_cpu_thread():   # exercise-sized tensors: threads only add contention
                message = fn(*args, **kwargs)
            result = CheckResult(fn.__name__, True, message or "correct.")
        except Fail as exc:
            result = CheckResult(fn.__name__, False, str(exc))
        except NotImplementedError:
            result = CheckResult(fn.__name__, False, "not implemented yet: replace the stub with your code.")
        except TimeUp:
            result = CheckResult(fn.__name__, False,
                                 f"your function took longer than {limit:g} s, the time limit of this check. "
                                 "Hint: look for a loop that never ends (or a sleep), or a step far slower "
                                 "than needed.")
        except SystemExit as exc:
            result = CheckResult(fn.__name__, False,
                                 f"your function called sys.exit({'' if exc.code is None else repr(exc.code)}), "
                                 "which would end the kernel. Hint: return the result instead.")
        except KeyboardInterrupt:
            result = CheckResult(fn.__name__, False, "interrupted (Ctrl-C) before the check finished.")
        except Exception as exc:  # a check must never crash on student input
            result = CheckResult(fn.__name__, False,
                                 f"could not check this answer ({type(exc).__name__}: {exc}).")
        finally:
            _budget.left = outer
        if not result.passed and _noise(box):
            result = CheckResult(result.name, False, result.message + _noise(box))
        if not result.passed and strict():
            raise CheckFailed(str(result))   # shown as one line: printing it too would repeat it
        print(result)
        return CheckResult(result.name, result.passed, result.message, printed=True)

    return wrapper


def _limit_of(spec, signature, args, kwargs) -> float:
    """The budget of one check call: a number, or the value of the check's parameter named ``spec``."""
    if isinstance(spec, str):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            bound = None
        if bound is not None:
            bound.apply_defaults()
            value = bound.arguments.get(spec)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and math.isfinite(value):
                return time_limit(float(value))
        return time_limit(signature.parameters[spec].default)
    return time_limit(spec)

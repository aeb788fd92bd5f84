"""Stopping long loops cleanly: Ctrl-C (and an optional time budget) ends the loop at a step boundary.

A KeyboardInterrupt raised in the middle of a solver's step leaves a traceback from inside torch (or
a compiled kernel) and loses everything computed so far. Inside ``with stop_on_interrupt() as stop:``
the first Ctrl-C (SIGINT, which is also what Jupyter's "interrupt kernel" sends) only sets a flag; the
loop asks ``stop()`` once per step, leaves the loop, and the function returns the best result so far,
flagged as interrupted. A second Ctrl-C raises KeyboardInterrupt as usual (a way out of a step that
takes too long). ``stop_on_interrupt(budget=seconds)`` also stops the loop once the budget is spent
(``stop.reason`` says which).

Nesting is allowed (a sweep of trainings): one Ctrl-C stops every active loop. The handler is only
installed on the main thread (Python delivers signals there); elsewhere ``stop()`` still honours the
budget, and a KeyboardInterrupt is not caught.

For a whole function, ``@interruptible`` runs it inside ``stop_on_interrupt()``, its loops ask
``current_stop()()``, and the result it returns gets ``.interrupted = True`` (``["interrupted"] = True``
for a dict) with one warning, from the outermost interruptible call only, when Ctrl-C stopped it.

Long loops also show their progress when asked: ``with progress_bar(progress, total, desc) as bar`` is the
one tqdm bar of the package (on stderr, removed when done), or None; a loop calls :func:`tick` once per
step (advance the bar, ask the stop flag).
"""
from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
import warnings

__all__ = ["Stop", "stop_on_interrupt", "current_stop", "interruptible", "warn_stopped", "progress_bar", "tick"]

_active: list["Stop"] = []
_previous = None


class Stop:
    """A stop flag for one loop: ``stop()`` is True once Ctrl-C was pressed or the budget is spent."""

    def __init__(self, budget: float | None = None):
        self.deadline = None if budget is None else time.monotonic() + budget
        self.reason: str | None = None
        self.note = ""          # where the loop stopped, for the warning (e.g. "after 11 of 1000 steps")

    def __call__(self) -> bool:
        if self.reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.reason = "time budget"
        return self.reason is not None

    @property
    def interrupted(self) -> bool:
        return self.reason == "interrupted"


def _on_sigint(signum, frame):
    if not _active or all(s.interrupted for s in _active):
        raise KeyboardInterrupt            # the second Ctrl-C: stop now, whatever the loop is doing
    for s in _active:
        s.reason = "interrupted"


@contextlib.contextmanager
def stop_on_interrupt(budget: float | None = None):
    """Context manager yielding a :class:`Stop`; see the module docstring."""
    global _previous
    stop = Stop(budget)
    install = threading.current_thread() is threading.main_thread() and not _active
    if install:
        try:
            _previous = signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:                 # signals unavailable here (e.g. an embedded interpreter)
            install = False
    _active.append(stop)
    try:
        yield stop
    finally:
        _active.remove(stop)
        if install:
            signal.signal(signal.SIGINT, _previous if _previous is not None else signal.default_int_handler)


def current_stop() -> Stop:
    """The innermost active :class:`Stop`, or one that never stops (outside ``stop_on_interrupt``)."""
    return _active[-1] if _active else Stop()


def interruptible(fn):
    """Decorator: run ``fn`` inside :func:`stop_on_interrupt`; when Ctrl-C stopped it, set ``.interrupted``
    (or the key ``"interrupted"`` of a dict) on the result it returned (the best so far) and warn once."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with stop_on_interrupt() as stop:
            result = fn(*args, **kwargs)
        if stop.interrupted:
            if isinstance(result, dict):
                result["interrupted"] = True
            else:
                result.interrupted = True
            if not _active:                 # nested calls (a sweep of trainings): the outermost one says it
                warn_stopped(stop, " ".join(filter(None, (fn.__name__, stop.note))), stacklevel=3)
        return result
    return wrapper


def warn_stopped(stop: Stop, what: str, *, stacklevel: int = 3) -> None:
    """One warning saying that ``what`` (e.g. "train_ufm after 120 of 1000 steps") stopped early, and why."""
    why = "was interrupted (Ctrl-C)" if stop.interrupted else "ran out of its time budget"
    flag = " (its .interrupted is True)" if stop.interrupted else ""
    warnings.warn(f"{what} {why}; returning the best result found until then{flag}.", RuntimeWarning,
                  stacklevel=stacklevel)


@contextlib.contextmanager
def progress_bar(progress: bool, total: int, desc: str, **options):
    """``with progress_bar(...) as bar``: a tqdm progress bar of ``total`` steps labelled ``desc`` on stderr,
    closed (and removed) at the end of the block; None when ``progress`` is false. ``options`` go to tqdm
    (e.g. ``unit="epoch"``, ``initial``)."""
    if not progress:
        yield None
        return
    import sys

    from tqdm.auto import tqdm
    bar = tqdm(total=total, desc=desc, leave=False, file=sys.stderr, **options)
    try:
        yield bar
    finally:
        bar.close()


def tick(bar, stop) -> bool:
    """One step of a loop is done: advance ``bar`` (if any) and return whether ``stop`` (a :class:`Stop`,
    if any) says to leave the loop now."""
    if bar is not None:
        bar.update(1)
    return stop is not None and stop()

"""The anytime search behind the ``budget=`` / ``effort=`` options of :mod:`gnc_teach.codes`.

A search is a first round (the solver's batched restarts and exact polish) followed by further rounds
of global moves (a fresh batch of restarts, or basin hops from the best code: perturb, descend again,
polish, keep if better). It stops when the time budget is spent, after ``effort`` further rounds, once
the objective reaches ``target``, when the callback asks, or on Ctrl-C; it returns the best code found
and how it was found. Ctrl-C is the package's stop flag (:mod:`gnc_teach._stop`: the solvers are
``@interruptible``): a round in progress is dropped at its next :func:`check_time`, the first round ends
early with the best restart so far. Every round draws its random numbers from (seed, round), so the sequence of
rounds does not depend on the clock: a run that completes more rounds never returns a worse code.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

from .._stop import current_stop

__all__ = ["OutOfTime", "Candidate", "Progress", "check_time", "search", "check_budget"]


class OutOfTime(Exception):
    """Raised inside a round when the deadline has passed (or Ctrl-C was pressed): the unfinished round
    is dropped."""


def check_time(deadline) -> None:
    """Raise :class:`OutOfTime` inside a round (``deadline`` not None) once it has passed or Ctrl-C was
    pressed. The first round runs with ``deadline=None`` and honours Ctrl-C through the stop flag itself."""
    if deadline is not None and (time.perf_counter() > deadline or current_stop()()):
        raise OutOfTime


@dataclass
class Candidate:
    """What a round returns: the code (``payload``, solver-specific), its objective ``value``, and the
    work spent on it (restarts run, hops tried)."""
    payload: object
    value: float
    restarts: int = 0
    hops: int = 0


@dataclass
class Progress:
    """Passed to ``callback`` after every round: rounds done (the first round is round 0), the best
    objective value so far, seconds since the start, restarts and hops so far, and the last move."""
    round: int
    best: float
    seconds: float
    restarts: int
    hops: int
    move: str


@dataclass
class SearchInfo:
    """How the best code was found: rounds completed after the first, restarts and hops in all, seconds,
    whether Ctrl-C ended the search, and the improvements as (seconds, value) pairs."""
    rounds: int = 0
    restarts: int = 0
    hops: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stopped_by: str = ""
    history: list = field(default_factory=list)


def check_budget(budget, effort, target, callback):
    """Validate the anytime options (the caller's names in the messages)."""
    from .._tensor import check_int

    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0 \
                or not math.isfinite(budget):
            raise ValueError(f"budget must be a positive number of seconds (or None), got {budget!r}.")
        budget = float(budget)
    if effort is not None:
        effort = check_int(effort, "effort", minimum=0)
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
            raise ValueError(f"target must be a finite number (the objective value to stop at), got {target!r}.")
        target = float(target)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable (it receives a Progress), got {type(callback).__name__}.")
    return budget, effort, target, callback


def search(first, next_round, *, maximise: bool, budget=None, effort=None, target=None, callback=None,
           progress=False, desc="", fmt="{:.9g}", rtol=1e-12):
    """Run ``first()`` then ``next_round(r, best, deadline)`` for r = 0, 1, ... (module docstring).

    Both return a :class:`Candidate`; ``next_round`` returns ``(Candidate, move name)`` and may raise
    :class:`OutOfTime`. A candidate replaces the best when it is better by more than ``rtol`` (relative:
    the same optimum found again differs only by rounding). Returns
    ``(best Candidate, SearchInfo)``. Ctrl-C during the first round is re-raised (nothing to return yet).
    """
    t0 = time.perf_counter()
    # rounds after the first always get a deadline (inf without a budget), so they also stop on Ctrl-C
    deadline = math.inf if budget is None else t0 + budget
    stop = current_stop()
    sign = 1.0 if maximise else -1.0
    info = SearchInfo()
    bar = _bar(progress, budget, effort, desc)

    def reached(v):
        return target is not None and sign * (v - target) >= 0

    best = None
    try:
        best = first()
        info.restarts, info.hops = best.restarts, best.hops
        info.history.append((time.perf_counter() - t0, best.value))
        _show(bar, t0, 0, budget, best.value, fmt)
        r = 0
        while True:
            if reached(best.value):
                info.stopped_by = "target"
                break
            if effort is not None and r >= effort:
                info.stopped_by = "effort"
                break
            if stop() or time.perf_counter() >= deadline:
                info.stopped_by = "interrupt" if stop.interrupted else "budget"
                break
            try:
                cand, move = next_round(r, best, deadline)
            except OutOfTime:
                info.stopped_by = "interrupt" if stop.interrupted else "budget"
                break
            r += 1
            info.rounds, info.restarts, info.hops = r, info.restarts + cand.restarts, info.hops + cand.hops
            if sign * (cand.value - best.value) > rtol * abs(best.value):
                best = cand
                info.history.append((time.perf_counter() - t0, best.value))
            _show(bar, t0, r, budget, best.value, fmt)
            if callback is not None and callback(Progress(r, best.value, time.perf_counter() - t0, info.restarts,
                                                          info.hops, move)):
                info.stopped_by = "callback"
                break
    except KeyboardInterrupt:
        if best is None:
            raise
        info.interrupted, info.stopped_by = True, "interrupt"
    finally:
        if bar is not None:
            bar.close()
    info.interrupted = info.interrupted or stop.interrupted
    info.seconds = time.perf_counter() - t0
    return best, info


def _bar(progress, budget, effort, desc):
    if not progress:
        return None
    from tqdm.auto import tqdm
    if budget is not None:
        return tqdm(total=round(budget, 1), desc=desc, unit="s", file=sys.stderr, leave=False,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} s {postfix}")
    return tqdm(total=effort, desc=desc, unit="round", file=sys.stderr, leave=False)


def _show(bar, t0, r, budget, value, fmt):
    if bar is None:
        return
    bar.n = min(round(time.perf_counter() - t0, 1), bar.total) if budget is not None else r
    bar.set_postfix_str("best " + fmt.format(value), refresh=False)
    bar.refresh()

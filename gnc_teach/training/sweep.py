"""Several trainings compared: every combination of a few options, several seeds each, with error bars.

:func:`sweep` trains one configuration for every combination of the options given as lists and every
seed, and returns one row per run; :func:`summarize` turns the rows into a mean, a standard deviation
and a standard error over the seeds for each combination. A seed draws everything random in a run: the
train/test split, the initialisation, the batches and the noisy labels, so the error bars include all of it.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .._stop import current_stop, interruptible
from .._tensor import check_seed
from .config import make_config
from .loop import train

__all__ = ["sweep", "summarize"]


@interruptible
def sweep(config=None, /, *, seeds=(0, 1, 2), device=None, dtype=None, **options) -> list:
    """Train ``config`` (as in :func:`~gnc_teach.training.train`) once per combination of the options given
    as lists or tuples (``loss=["ce", "hug"], label_noise=[0.0, 0.4]``: the first varies slowest) and per
    seed; the other ``options`` are fixed. Every setting is validated before the first run.

    Returns one dict per run: the varied options, ``seed``, ``seconds`` and the last recorded value of every
    metric of the run (``test_acc``, ``gnc2``, ...; see :class:`~gnc_teach.training.TrainResult`). Ctrl-C
    stops after the current training (the rows so far come back in a list with ``.interrupted``).
    """
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of seeds, e.g. (0, 1, 2), got {seeds!r}.")
    seeds = [check_seed(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed.")
    varied = {k: list(v) for k, v in options.items() if isinstance(v, (list, tuple))}
    for k, v in varied.items():
        if not v:
            raise ValueError(f"{k} is an empty list; give at least one value.")
    fixed = {k: v for k, v in options.items() if k not in varied}
    grid = [dict(zip(varied, values)) for values in itertools.product(*varied.values())]
    for setting in grid:            # every configuration is valid before anything trains
        for s in seeds:
            make_config(config, **fixed, **setting, seed=s)
    rows = _Rows()
    rows.varied = tuple(varied)
    stop = current_stop()
    for setting in grid:
        for s in seeds:
            run = train(config, device=device, dtype=dtype, progress=False, **fixed, **setting, seed=s)
            rows.append({**setting, "seed": s, "seconds": run.seconds, **run.final})
            if run.interrupted or stop():
                stop.note = f"after {len(rows)} of {len(grid) * len(seeds)} runs"
                return rows
    return rows


class _Rows(list):
    """The rows of a sweep: a list that knows which options were ``varied`` and can carry ``.interrupted``."""
    interrupted = False
    varied = ()


def summarize(rows, key: str = "test_acc", *, by=None) -> list:
    """Per combination of the values of ``by`` (default: the options :func:`sweep` varied), in order of first
    appearance: those values, ``n`` runs, ``mean``, ``sd`` (sample standard deviation, NaN for one run),
    ``se = sd/√n`` and the ``worst`` (smallest) value of ``key``. Runs that did not record ``key`` (e.g.
    ``memorized`` without label noise) count as NaN."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, (list, tuple)) or not rows \
            or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows must be a non-empty list of dicts (the rows of sweep), got {rows!r:.60}.")
    if not isinstance(key, str) or not any(key in r for r in rows):
        raise ValueError(f"key={key!r} is not recorded in these rows; use one of {sorted(rows[0])}.")
    if by is None:
        by = getattr(rows, "varied", None)
        if by is None:
            raise ValueError("by is needed for rows that do not come straight from sweep(): the keys whose "
                             "combinations to summarise, e.g. by=('loss', 'label_noise').")
    by = [by] if isinstance(by, str) else list(by)
    missing = [k for k in by if k not in rows[0]]
    if missing:
        raise ValueError(f"by={missing} are not keys of the rows; use some of {sorted(rows[0])}.")
    out = []
    for values in dict.fromkeys(tuple(r[k] for k in by) for r in rows):
        v = np.array([r.get(key, math.nan) for r in rows if tuple(r[k] for k in by) == values], dtype=float)
        n = len(v)
        sd = float(v.std(ddof=1)) if n > 1 else math.nan
        out.append({**dict(zip(by, values)), "n": n, "mean": float(v.mean()), "sd": sd, "se": sd / math.sqrt(n),
                    "worst": float(v.min())})
    return out

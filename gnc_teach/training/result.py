"""The outcome of a training run and its folder on disk.

``out/metrics.json`` holds the configuration, the per-epoch history, ρ_ref, the final classifier W and
how the run went (device, processes, seconds, whether Ctrl-C ended it); ``out/metrics.csv`` the same
history as one row per epoch; ``out/checkpoint.pt`` the model and optimiser state (``torch.load`` it, or
resume with ``resume=True``). Every file is written atomically (:func:`gnc_teach._io.write_atomic`): a
reader, or a resumed run, never sees half a file. :func:`load_run` reads a folder back into a
:class:`TrainResult` (without the model).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field

import torch

from .._io import check_folder, write_atomic

__all__ = ["TrainResult", "load_run", "check_out", "METRICS_JSON", "METRICS_CSV", "CHECKPOINT"]

METRICS_JSON, METRICS_CSV, CHECKPOINT = "metrics.json", "metrics.csv", "checkpoint.pt"


@dataclass
class TrainResult:
    """A finished (or loaded) run.

    ``history``: dict name -> list with one entry per epoch (``"epoch"`` = 1, 2, ...): ``lr``,
    ``batch_loss`` (mean training loss over the epoch's batches), and at evaluated epochs (NaN elsewhere)
    ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``, ``nc1``, ``nc2`` (max-angle of the centred
    class means), ``nc2_equinorm``, ``nc2_W`` (max-angle of the classifier rows), ``nc3``, ``nc4``,
    ``gnc1``, ``gnc2`` (= ρ of the row-normalised classifier), ``gnc3``, ``rho_ratio`` (= gnc2 / rho_ref)
    and ``seconds`` (wall time since the start, evaluations included).
    ``W`` ``(K, d)`` float64: the final classifier rows; ``rho_ref``: the best ρ for (K, d) (``rho_ref_source``
    says whether it is the proved optimum or the best code found). ``model`` is the trained network
    (None for a run loaded from disk). ``interrupted``: True when Ctrl-C ended the training early (the
    last epoch in the history is then partial).
    """
    config: dict
    history: dict
    W: torch.Tensor
    rho_ref: float
    rho_ref_source: str
    seconds: float = 0.0
    world_size: int = 1
    device: str = "cpu"
    dtype: str = "float32"
    out: str | None = None
    model: object = field(default=None, repr=False)
    interrupted: bool = False

    @property
    def K(self) -> int:
        return int(self.W.shape[0])

    @property
    def d(self) -> int:
        return int(self.W.shape[1])

    def last(self, key: str) -> float:
        """The last recorded (non-NaN) value of ``history[key]``, NaN if there is none."""
        for v in reversed(self.history[key]):
            if v is not None and not math.isnan(v):
                return float(v)
        return float("nan")

    @property
    def final(self) -> dict:
        """The last recorded value of every history entry."""
        return {k: self.last(k) for k in self.history}

    def curves(self, *keys) -> dict:
        """``{"step": evaluated epochs, key: values}`` for the given keys, only at evaluated epochs (the
        format :func:`gnc_teach.views.plotting.plot_history` draws)."""
        ev = [i for i, v in enumerate(self.history["train_acc"]) if not math.isnan(v)]
        out = {"step": [self.history["epoch"][i] for i in ev]}
        out.update({k: [self.history[k][i] for i in ev] for k in keys})
        return out

    def to_dict(self) -> dict:
        return {"config": self.config, "history": _json_ready(self.history), "W": self.W.tolist(),
                "rho_ref": self.rho_ref, "rho_ref_source": self.rho_ref_source, "seconds": self.seconds,
                "world_size": self.world_size, "device": self.device, "dtype": self.dtype,
                "interrupted": self.interrupted, "final": _json_ready(self.final)}

    def summary(self) -> str:
        f = self.final
        c = self.config
        tau = "plain classifier" if c["tau"] is None else f"tau = {c['tau']:.4g}"
        stopped = " (interrupted by Ctrl-C: the last epoch is partial)" if self.interrupted else ""
        return (f"{c['data']} K={self.K} d={self.d} {c['arch']} ({tau}), {len(self.history['epoch'])} epochs "
                f"in {self.seconds:.1f} s on {self.device} x{self.world_size}{stopped}\n"
                f"  train acc {f['train_acc']:.4f}  test acc {f['test_acc']:.4f}  train loss {f['train_loss']:.3g}\n"
                f"  NC1 {f['nc1']:.3g}  NC2 {f['nc2']:.3g}  NC3 {f['nc3']:.3g}  NC4 {f['nc4']:.3g}\n"
                f"  GNC1 {f['gnc1']:.3g}  GNC2 = rho {f['gnc2']:.4f}  GNC3 {f['gnc3']:.3g}  "
                f"rho/rho_ref {f['rho_ratio']:.4f} (rho_ref {self.rho_ref:.6f}, {self.rho_ref_source})")


def _json_ready(obj):
    """NaN/inf -> None (JSON has no NaN), recursively."""
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def check_out(out) -> str | None:
    """The absolute path of the run folder ``out`` once it is known that files can be written there (it is
    created at the first write, not here); ValueError naming ``out`` otherwise. Called before any data is
    loaded, so a bad folder costs no training, and a run refused later leaves nothing behind."""
    if out is None:
        return None
    return check_folder(out, name="out (--out)")


def write_metrics(result: TrainResult, out: str) -> None:
    """Write ``metrics.json`` and ``metrics.csv`` into ``out`` (atomically: a reader never sees half a file)."""
    data = result.to_dict()
    write_atomic(os.path.join(out, METRICS_JSON), json.dumps(data, indent=1))
    keys = list(result.history)
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(keys)
    for i in range(len(result.history["epoch"])):
        w.writerow(["" if _missing(result.history[k][i]) else result.history[k][i] for k in keys])
    write_atomic(os.path.join(out, METRICS_CSV), text.getvalue())


def _missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def load_run(out) -> TrainResult:
    """Read ``out/metrics.json`` (written by ``train(..., out=...)`` or ``gnc-teach train --out``)."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be the path of a run folder, got {type(out).__name__}.")
    path = os.path.join(os.fspath(out), METRICS_JSON)
    if not os.path.isfile(path):
        raise ValueError(f"out={os.fspath(out)!r} has no {METRICS_JSON}; is it the --out folder of a run?")
    try:
        with open(path) as fh:
            data = json.load(fh)
        hist = {k: [float("nan") if v is None else v for v in vals] for k, vals in data["history"].items()}
        return TrainResult(config=data["config"], history=hist, W=torch.tensor(data["W"], dtype=torch.float64),
                           rho_ref=data["rho_ref"], rho_ref_source=data["rho_ref_source"], seconds=data["seconds"],
                           world_size=data["world_size"], device=data["device"], dtype=data["dtype"],
                           out=os.path.abspath(os.fspath(out)), interrupted=data.get("interrupted", False))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"out={os.fspath(out)!r}: {METRICS_JSON} is not the record of a run "
                         f"({type(exc).__name__}: {exc}).") from None

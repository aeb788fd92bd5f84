"""What a training run records at an evaluation: accuracy and loss on train and test, NC1–NC4, GNC1–GNC3,
and ρ of the normalised classifier against the best code for (K, d).

NC metrics use the features the classifier acts on and the classifier as it acts: raw features H and
(W, b) for a plain network; for a cosine network the normalised features Ĥ and Ŵ/τ (so NC1 = GNC1 there,
and NC4 compares the network's own decisions with the nearest class mean of Ĥ). GNC metrics always use
the normalised features (official-code conventions, see :mod:`gnc_teach.metrics`).

With label noise, two more: ``clean_train_acc`` (accuracy against the true training labels) and
``memorized`` (among the training samples whose label was replaced, the fraction predicted as that wrong
label: 0 would mean the noise was ignored entirely). The train/test loss is the CE of the logits, also
for a network trained with the HUG loss.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .. import metrics
from .._tensor import as_labels, check_int, check_positive, check_type
from ..models.networks import Network

__all__ = ["reference_rho", "evaluate", "collapse_metrics", "noise_metrics", "METRIC_KEYS", "NOISE_KEYS"]

METRIC_KEYS = ("nc1", "nc2", "nc2_equinorm", "nc2_W", "nc3", "nc4", "gnc1", "gnc2", "gnc3", "rho_ratio")
NOISE_KEYS = ("clean_train_acc", "memorized")


def _network(model):
    return check_type(model, Network, "model", what="a gnc_teach.models.networks.Network")


def _features(H, model):
    """Features ``(N, d)`` of ``model`` as float64; not required finite (a diverged run records NaN metrics)."""
    if not isinstance(H, torch.Tensor) or H.dim() != 2 or H.shape[1] != model.d:
        raise ValueError(f"H must be the (N, d={model.d}) features of the model, got "
                         f"{tuple(H.shape) if isinstance(H, torch.Tensor) else type(H).__name__}.")
    return H.detach().to(torch.float64)


@functools.lru_cache(maxsize=None)
def reference_rho(K: int, d: int) -> tuple[float, str]:
    """``(ρ, source)``: the proved optimum ρ*(K, d) where a closed form is known, else the best code that
    ``softmax_code(K, d)`` finds (a certified lower bound on ρ*). Cached per (K, d) for the process."""
    from ..margins import known_rho_star

    K, d = check_int(K, "K", minimum=2), check_int(d, "d", minimum=1)
    exact = known_rho_star(K, d)
    if exact is not None:
        return float(exact), "proved optimum"
    from ..codes import softmax_code

    return float(softmax_code(K, d, device="cpu", dtype=torch.float64).rho), "best code found by softmax_code"


@torch.no_grad()
def evaluate(model, data, X, y, *, dtype, batch_size: int = 2048):
    """Mean CE loss, accuracy and the features ``H (N, d)`` (float64) of ``model`` on stored images ``X``
    (turned into inputs by ``data.inputs``), labels ``y (N,)``."""
    model = _network(model)
    if not callable(getattr(data, "inputs", None)):
        raise TypeError(f"data must be a Dataset (it turns stored images into inputs), got {type(data).__name__}.")
    if not isinstance(X, torch.Tensor) or X.dim() < 2:
        raise TypeError(f"X must be a tensor of stored images (N, ...), got {type(X).__name__}.")
    y = as_labels(y, "y", n=X.shape[0], K=model.K, device=X.device)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    was_training = model.training
    model.eval()
    feats, loss, correct = [], 0.0, 0
    for i in range(0, X.shape[0], batch_size):
        H = model.features(data.inputs(X[i:i + batch_size], dtype))
        z = model.logits(H)
        yb = y[i:i + batch_size]
        loss += float(F.cross_entropy(z.double(), yb, reduction="sum"))
        correct += int((z.argmax(1) == yb).sum())
        feats.append(H.double())
    model.train(was_training)
    n = max(1, X.shape[0])
    return loss / n, correct / n, torch.cat(feats) if feats else None


def _safe(metric, *args, **kw):
    """NaN where a metric is undefined (e.g. a class missing from a subsample, or all means equal)."""
    try:
        return float(metric(*args, **kw))
    except ValueError:
        return float("nan")


def collapse_metrics(model, H: torch.Tensor, y: torch.Tensor, rho_ref: float) -> dict:
    """NC1–NC4, GNC1–GNC3 and ρ(Ŵ)/ρ_ref of ``model`` (a :class:`~gnc_teach.models.networks.Network`)
    on its training features ``H (N, d)`` with labels ``y``; see the module docstring for conventions."""
    model = _network(model)
    rho_ref = check_positive(rho_ref, "rho_ref")
    H = _features(H, model)
    y = as_labels(y, "y", n=H.shape[0], K=model.K, device=H.device)
    K = model.K
    W = model.W.detach().double()
    b = None if model.b is None else model.b.detach().double()
    if model.tau is not None:            # what a cosine classifier acts on
        Hc, Wc = F.normalize(H, dim=1), F.normalize(W, dim=1) / model.tau
    else:
        Hc, Wc = H, W
    out = {"nc1": _safe(metrics.nc1, Hc, y, K=K), "nc2": float("nan"), "nc2_equinorm": float("nan")}
    if int(torch.bincount(y, minlength=K).min()) > 0:   # else a class is missing: NC2 is undefined
        Mc = metrics.class_means(Hc, y, K=K) - Hc.mean(0)
        out.update(nc2=_safe(metrics.nc2_maxangle, Mc), nc2_equinorm=_safe(metrics.nc2_equinorm, Mc))
    out.update(nc2_W=_safe(metrics.nc2_maxangle, W), nc3=_safe(metrics.nc3, Wc, Hc, y),
               nc4=_safe(metrics.nc4, Wc, Hc, y, b=b), gnc1=_safe(metrics.gnc1, H, y, K=K),
               gnc2=_safe(metrics.gnc2, W), gnc3=_safe(metrics.gnc3, W, H, y))
    out["rho_ratio"] = out["gnc2"] / rho_ref
    return out


@torch.no_grad()
def noise_metrics(model, H: torch.Tensor, y_noisy: torch.Tensor, y_clean: torch.Tensor) -> dict:
    """``clean_train_acc`` and ``memorized`` (see the module docstring) of ``model``'s predictions on its
    training features ``H (N, d)``, trained on ``y_noisy``, whose true labels are ``y_clean``."""
    model = _network(model)
    H = _features(H, model)
    y_noisy = as_labels(y_noisy, "y_noisy", n=H.shape[0], K=model.K, device=H.device)
    y_clean = as_labels(y_clean, "y_clean", n=H.shape[0], K=model.K, device=H.device)
    pred = model.logits(H.to(model.W.dtype)).argmax(1)
    flipped = y_noisy != y_clean
    memorized = float((pred[flipped] == y_noisy[flipped]).double().mean()) if bool(flipped.any()) else float("nan")
    return {"clean_train_acc": float((pred == y_clean).double().mean()), "memorized": memorized}

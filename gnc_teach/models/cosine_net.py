"""A small network with normalised features, trained with cross-entropy or with the HUG loss (lesson 06).

Data: scikit-learn's handwritten digits (1797 images 8×8, K = 10, shipped with scikit-learn: nothing is
downloaded), split into train/test with a seed and standardised with the training statistics.

Model: an MLP ``64 -> width -> width -> d`` gives features ``h``; the classifier is a matrix ``P (K, d)`` of
class vectors, used normalised (``p̂_k = p_k/||p_k||``), and prediction is ``argmax_k <ĥ, p̂_k>`` for both losses:

* ``loss="ce"``: cross-entropy of the cosine logits ``<ĥ, p̂_k>/τ``;
* ``loss="hug"``: :func:`gnc_teach.hug.hug_loss` with learnable proxies ``p̂``.

Training: mini-batch SGD with momentum and weight decay on the MLP (written out: building ``torch.optim`` imports
torch._dynamo, seconds on a small CPU), a cosine learning rate, float32 on the CPU by default.
Label noise: a fraction of the training labels replaced by a uniformly random *other* class; the test
labels stay clean. This is a minimal helper for lesson 06, not a general training framework.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._tensor import check_int, check_positive, one_cpu_thread, resolve
from ..hug import hug_loss

__all__ = ["Digits", "load_digits", "noisy_labels", "CosineMLP", "NetResult", "train_network",
           "compare_losses", "summarize", "LOSSES"]

LOSSES = ("ce", "hug")


@dataclass
class Digits:
    """Standardised train/test split: ``X_* (N, 64)`` float tensors, ``y_* (N,)`` long, ``K`` = 10."""
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    K: int = 10


def _digits_arrays():
    """(X (1797, 64) float64, y (1797,) int) from the CSV scikit-learn ships; importing scikit-learn
    itself takes seconds, so its data file is read directly when it is where scikit-learn keeps it."""
    import importlib.util
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits data ship with scikit-learn: pip install scikit-learn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.exists():
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1], data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as _load   # a layout we do not know: the public API
    X, y = _load(return_X_y=True)
    return X.astype(np.float64), y.astype(np.int64)


def load_digits(*, test_fraction: float = 0.25, seed: int = 0, device=None, dtype=torch.float32) -> Digits:
    """The digits split stratified by class (``test_fraction`` of each class to the test set, drawn with
    ``seed``), standardised per pixel with the training mean and standard deviation."""
    test_fraction = check_positive(test_fraction, "test_fraction")
    if test_fraction >= 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    device, dtype = resolve(device, dtype)
    X, y = _digits_arrays()
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    test = np.zeros(len(y), dtype=bool)
    for k in range(10):
        idx = rng.permutation(np.flatnonzero(y == k))
        test[idx[:int(round(test_fraction * len(idx)))]] = True
    mu, sd = X[~test].mean(0), X[~test].std(0) + 1e-6       # constant border pixels: sd = 0
    Z = torch.as_tensor((X - mu) / sd, dtype=dtype, device=device)
    Y = torch.as_tensor(y, device=device)
    return Digits(Z[~test], Y[~test], Z[test], Y[test])


def noisy_labels(y, rate: float, K: int, *, seed: int = 0) -> torch.Tensor:
    """A copy of ``y`` with ``round(rate * N)`` labels (chosen at random) replaced by a uniformly random
    different class. ``rate`` in [0, 1)."""
    rate = check_positive(rate, "rate", allow_zero=True)
    if rate >= 1:
        raise ValueError(f"rate must be in [0, 1), got rate={rate}.")
    K = check_int(K, "K", minimum=2)
    g = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    y = y.clone()
    idx = torch.randperm(len(y), generator=g)[:int(round(rate * len(y)))]
    shift = torch.randint(1, K, (len(idx),), generator=g)      # 1..K-1: never the same class
    y[idx] = (y[idx].cpu() + shift).remainder(K).to(y.device)
    return y


class CosineMLP(nn.Module):
    """``features(x)``: MLP ``in_dim -> width -> width -> d``; ``P (K, d)``: class vectors (proxies)."""

    def __init__(self, in_dim: int, d: int, K: int, *, width: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                  nn.Linear(width, d))
        self.P = nn.Parameter(torch.randn(K, d))

    def forward(self, x):
        return self.body(x)

    def proxies(self) -> torch.Tensor:
        return F.normalize(self.P, dim=1)

    @torch.no_grad()
    def predict(self, x) -> torch.Tensor:
        return (F.normalize(self(x), dim=1) @ self.proxies().T).argmax(dim=1)


@dataclass
class NetResult:
    """``test_acc`` (clean test labels), ``train_acc`` (against the labels trained on, noisy or not),
    ``clean_train_acc`` (against the true training labels), ``memorized`` (among the training samples
    whose label was replaced, the fraction predicted as that wrong label; NaN without noise), the
    trained ``model``, ``seconds`` and the settings ``loss``, ``noise``, ``seed``."""
    loss: str
    noise: float
    seed: int
    test_acc: float
    train_acc: float
    clean_train_acc: float
    memorized: float
    seconds: float
    model: CosineMLP = field(repr=False, default=None)


def _objective(model, loss, tau, hug_options):
    def f(xb, yb):
        h = model(xb)
        if loss == "ce":
            return F.cross_entropy(F.normalize(h, dim=1) @ model.proxies().T / tau, yb)
        return hug_loss(h, yb, model.proxies(), **hug_options)
    return f


def train_network(data: Digits, *, loss: str = "ce", noise: float = 0.0, d: int = 16, width: int = 128,
                  tau: float = 0.1, epochs: int = 30, batch_size: int = 128, lr: float = 0.1,
                  momentum: float = 0.9, weight_decay: float = 5e-4, seed: int = 0, hug_options=None) -> NetResult:
    """Train :class:`CosineMLP` on ``data`` with ``loss`` ("ce" or "hug"), ``noise`` label noise (drawn with
    ``seed``), SGD with momentum, cosine learning rate; ``hug_options`` go to :func:`gnc_teach.hug.hug_loss`
    (default: Riesz s = 2, both weights 1). Runs on the data's device and dtype. Returns :class:`NetResult`.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got loss={loss!r}.")
    d, width = check_int(d, "d", minimum=1), check_int(width, "width", minimum=1)
    epochs, batch_size = check_int(epochs, "epochs", minimum=1), check_int(batch_size, "batch_size", minimum=1)
    tau, lr = check_positive(tau, "tau"), check_positive(lr, "lr")
    momentum = check_positive(momentum, "momentum", allow_zero=True)
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    seed = check_int(seed, "seed", minimum=0)
    y_fit = noisy_labels(data.y_train, noise, data.K, seed=seed)
    torch.manual_seed(seed)
    X = data.X_train
    model = CosineMLP(X.shape[1], d, data.K, width=width).to(device=X.device, dtype=X.dtype)
    f = _objective(model, loss, tau, dict(hug_options or {}))
    params = list(model.parameters())
    # no weight decay on P: it is used normalised, and shrinking it would only inflate its effective step
    decay = [0.0 if p is model.P else weight_decay for p in params]
    buf = [torch.zeros_like(p) for p in params]
    g = torch.Generator().manual_seed(seed)
    N, t0 = len(X), time.perf_counter()
    steps, t = epochs * math.ceil(N / batch_size), 0
    with one_cpu_thread(X.device.type == "cpu"):
        for _ in range(epochs):
            for idx in torch.randperm(N, generator=g).split(batch_size):
                lr_t = 0.5 * lr * (1 + math.cos(math.pi * t / steps))
                grads = torch.autograd.grad(f(X[idx], y_fit[idx]), params)
                with torch.no_grad():
                    for p, gr, b, wd in zip(params, grads, buf, decay):
                        b.mul_(momentum).add_(gr + wd * p)
                        p.sub_(lr_t * b)
                t += 1
        acc = lambda Xs, ys: float((model.predict(Xs) == ys).float().mean()) if len(ys) else math.nan  # noqa: E731
        flipped = y_fit != data.y_train
        return NetResult(loss=loss, noise=float(noise), seed=seed, test_acc=acc(data.X_test, data.y_test),
                         train_acc=acc(X, y_fit), clean_train_acc=acc(X, data.y_train),
                         memorized=acc(X[flipped], y_fit[flipped]), seconds=time.perf_counter() - t0, model=model)


def compare_losses(*, seeds=(0, 1, 2), noise_rates=(0.0, 0.4), losses=LOSSES, data_seed: int = 0,
                   **train_options) -> list[dict]:
    """Train every (loss, noise rate, seed) once on the same digits split (``data_seed``) and return one
    row per run: ``loss, noise, seed, test_acc, train_acc, clean_train_acc, memorized, seconds``."""
    data = load_digits(seed=data_seed)
    rows = []
    for noise in noise_rates:
        for loss in losses:
            for seed in seeds:
                r = train_network(data, loss=loss, noise=noise, seed=seed, **train_options)
                rows.append({k: getattr(r, k) for k in ("loss", "noise", "seed", "test_acc", "train_acc",
                                                        "clean_train_acc", "memorized", "seconds")})
    return rows


def summarize(rows, key: str = "test_acc") -> list[dict]:
    """Per (loss, noise): ``n`` runs, ``mean`` and ``sd`` of ``key`` and the standard error ``se = sd/√n``."""
    out = []
    for loss, noise in dict.fromkeys((r["loss"], r["noise"]) for r in rows):
        v = np.array([r[key] for r in rows if r["loss"] == loss and r["noise"] == noise])
        sd = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        out.append(dict(loss=loss, noise=noise, n=len(v), mean=float(v.mean()), sd=sd, se=sd / math.sqrt(len(v))))
    return out

"""The hyperspherical uniformity gap (HUG) loss: intra-class variability and inter-class uniformity,
each with its own weight (Liu, Yu, Weller & Schölkopf, ICLR 2023; proxy form of a public implementation).

Features ``h_i`` (any nonzero norm; normalised inside, ``ĥ_i = h_i/||h_i||``), labels ``y_i`` and unit class
proxies ``p_k`` (rows of ``proxies (K, d)``)::

    intra = (1/N) Σ_i || ĥ_i - sg(p_{y_i}) ||        sg = stop-gradient: the proxies get no gradient here
    inter = U(p_1, ..., p_K)                         a uniformity energy (gnc_teach.uniformity, mean reduction)
    loss  = intra_weight * intra + inter_weight * inter

Small ``intra`` = little intra-class variability; small ``inter`` = uniformly spread classes; HUG is the gap
between the two uniformities and the loss closes it. With the stop-gradient the two terms act on disjoint
parameters: the proxies move only by ``inter`` (they solve the uniformity problem on their own) and the
features only by ``intra`` (they are pulled to their proxy). Prediction: ``argmax_k <ĥ, p_k>``.

Proxy-free (``proxies=None``): ``p_k`` = the normalised mean of the class-k features of the batch (detached
in ``intra`` like a proxy, differentiable in ``inter``); classes absent from the batch are left out.

:func:`hug_loss` is a plain function of ``(features, labels, proxies)``: any training loop can call it.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ._tensor import as_labels, check_int, check_positive
from .uniformity import _energy, check_measure, check_unit_rows

__all__ = ["HUGTerms", "hug_loss", "batch_proxies", "predict"]


class HUGTerms(NamedTuple):
    """``loss = intra_weight * intra + inter_weight * inter`` and its two (unweighted) terms, 0-d tensors."""
    loss: torch.Tensor
    intra: torch.Tensor
    inter: torch.Tensor


def _normalise(H):
    return H / H.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(H.dtype).tiny)


def batch_proxies(features, labels, K: int):
    """Proxy-free proxies: normalised class means of the normalised ``features (..., N, d)``.

    Returns ``(P (..., K, d), present (K,) bool)``; rows of absent classes are zero. Differentiable."""
    Hn = _normalise(features)
    M = torch.zeros(*Hn.shape[:-2], K, Hn.shape[-1], dtype=Hn.dtype, device=Hn.device)
    M = M.index_add(-2, labels, Hn)
    present = torch.bincount(labels, minlength=K) > 0
    return _normalise(M), present


def _terms(Hn, y, P, name, s, gamma):
    """``(intra, inter)`` per batch entry for normalised features ``Hn (..., N, d)`` and unit ``P (..., K, d)``."""
    intra = (Hn - P.detach()[..., y, :]).norm(dim=-1).mean(-1)
    return intra, _energy(P, name, s, gamma, True)


def _check_inputs(features, labels, proxies, num_classes):
    if not isinstance(features, torch.Tensor) or not features.is_floating_point():
        raise TypeError("features must be a floating-point torch tensor of shape (N, d), "
                        f"got {type(features).__name__}.")
    if features.dim() != 2 or features.shape[0] < 1:
        raise ValueError(f"features must have shape (N, d) with N >= 1, got {tuple(features.shape)}.")
    if not torch.isfinite(features.detach()).all():
        raise ValueError("features contain NaN or infinite entries.")
    if (features.detach().norm(dim=1) == 0).any():
        raise ValueError("features contain a zero vector, which has no direction on the sphere.")
    y = as_labels(labels, "labels", n=features.shape[0], device=features.device)
    if proxies is not None:
        P = check_unit_rows(proxies, "proxies")
        if P.dim() != 2 or P.shape[1] != features.shape[1]:
            raise ValueError(f"proxies must have shape (K, d) with d = {features.shape[1]} (the feature "
                             f"dimension), got {tuple(P.shape)}.")
        K = P.shape[0]
    else:
        K = int(y.max()) + 1 if num_classes is None else check_int(num_classes, "num_classes", minimum=2)
    if int(y.max()) >= K:
        raise ValueError(f"labels must lie in 0..K-1 with K = {K}, got label {int(y.max())}.")
    return y, K


def hug_loss(features, labels, proxies=None, *, measure: str = "riesz", s: float = 2.0, gamma: float = 1.0,
             intra_weight: float = 1.0, inter_weight: float = 1.0, num_classes: int | None = None,
             return_terms: bool = False):
    """HUG loss of a batch (see the module docstring): a 0-d tensor, or :class:`HUGTerms`.

    ``features (N, d)`` (normalised inside), ``labels (N,)`` in 0..K-1, ``proxies (K, d)`` unit rows (pass
    ``F.normalize(P, dim=1)`` for an unconstrained parameter ``P``) or None (proxy-free: class means of the
    batch; ``num_classes`` K defaults to max label + 1). ``measure``, ``s``, ``gamma``: the inter-class
    energy (default: Riesz s = 2, the MHE energy). Both weights must be >= 0.
    """
    name, s, gamma = check_measure(measure, s, gamma)
    intra_weight = check_positive(intra_weight, "intra_weight", allow_zero=True)
    inter_weight = check_positive(inter_weight, "inter_weight", allow_zero=True)
    y, K = _check_inputs(features, labels, proxies, num_classes)
    Hn = _normalise(features)
    if proxies is None:
        P, present = batch_proxies(features, y, K)
        if int(present.sum()) < 2:
            raise ValueError("proxy-free HUG needs at least two classes in the batch; use larger or "
                             "class-balanced batches, or learnable proxies.")
        intra = (Hn - P.detach()[y]).norm(dim=-1).mean()
        inter = _energy(P[present], name, s, gamma, True)
    else:
        intra, inter = _terms(Hn, y, proxies, name, s, gamma)
    loss = intra_weight * intra + inter_weight * inter
    return HUGTerms(loss, intra, inter) if return_terms else loss


def predict(features, proxies) -> torch.Tensor:
    """Class predictions ``argmax_k <h_i, p_k>`` (nearest proxy in angle) for ``features (N, d)``."""
    return (features @ proxies.T).argmax(dim=1)

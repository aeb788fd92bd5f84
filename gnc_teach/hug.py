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

from ._solvers.sphere_opt import normalize
from ._tensor import as_labels, as_matrix, check_bool, check_int, check_positive
from .uniformity import _energy, check_measure, check_pairs_memory, check_unit_rows

__all__ = ["HUGTerms", "hug_loss", "batch_proxies", "predict"]


class HUGTerms(NamedTuple):
    """``loss = intra_weight * intra + inter_weight * inter`` and its two (unweighted) terms, 0-d tensors."""
    loss: torch.Tensor
    intra: torch.Tensor
    inter: torch.Tensor


def batch_proxies(features, labels, K: int):
    """Proxy-free proxies: normalised class means of the normalised ``features (N, d)``, labels in 0..K-1.

    Returns ``(P (K, d), present (K,) bool)``; rows of absent classes are zero. Differentiable."""
    K = check_int(K, "K", minimum=1)
    H = _features(features)
    return _batch_proxies(H, as_labels(labels, "labels", n=H.shape[0], K=K, device=H.device), K)


def _batch_proxies(features, labels, K):
    """:func:`batch_proxies` without the checks, for ``features (..., N, d)`` (the trainers' batches)."""
    Hn = normalize(features)
    M = torch.zeros(*Hn.shape[:-2], K, Hn.shape[-1], dtype=Hn.dtype, device=Hn.device)
    M = M.index_add(-2, labels, Hn)
    present = torch.bincount(labels, minlength=K) > 0
    return normalize(M), present


def _terms(Hn, y, P, name, s, gamma):
    """``(intra, inter)`` per batch entry for normalised features ``Hn (..., N, d)`` and unit ``P (..., K, d)``."""
    intra = (Hn - P.detach()[..., y, :]).norm(dim=-1).mean(-1)
    return intra, _energy(P, name, s, gamma, True)


def _features(features):
    """``features (N, d)`` validated (autograd graph kept): finite, N >= 1, no zero row."""
    H = as_matrix(features, "features", keep_grad=True)
    if (H.detach().norm(dim=1) == 0).any():
        raise ValueError("features contain a zero vector, which has no direction on the sphere.")
    return H


def _check_inputs(features, labels, proxies, num_classes):
    H = _features(features)
    if proxies is not None:
        P = check_unit_rows(proxies, "proxies")
        if P.dim() != 2 or P.shape[1] != H.shape[1]:
            raise ValueError(f"proxies must have shape (K, d) with d = {H.shape[1]} (the feature "
                             f"dimension), got {tuple(P.shape)}.")
        K = P.shape[0]
        check_pairs_memory(1, K, dtype=P.dtype, device=P.device, what="hug_loss")
    else:
        K = None if num_classes is None else check_int(num_classes, "num_classes", minimum=2)
        P = None
    y = as_labels(labels, "labels", n=H.shape[0], K=K, device=H.device)
    return H, y, P, int(y.max()) + 1 if K is None else K


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
    return_terms = check_bool(return_terms, "return_terms")
    H, y, P, K = _check_inputs(features, labels, proxies, num_classes)
    Hn = normalize(H)
    if P is None:
        P, present = _batch_proxies(H, y, K)
        if int(present.sum()) < 2:
            raise ValueError("proxy-free HUG needs at least two classes among the labels of the batch; use "
                             "larger or class-balanced batches, or learnable proxies.")
        check_pairs_memory(1, int(present.sum()), dtype=P.dtype, device=P.device, what="hug_loss")
        intra = (Hn - P.detach()[y]).norm(dim=-1).mean()
        inter = _energy(P[present], name, s, gamma, True)
    else:
        intra, inter = _terms(Hn, y, P, name, s, gamma)
    loss = intra_weight * intra + inter_weight * inter
    return HUGTerms(loss, intra, inter) if return_terms else loss


def predict(features, proxies) -> torch.Tensor:
    """Class predictions ``argmax_k <h_i, p_k>`` (nearest proxy in angle) for ``features (N, d)`` and
    ``proxies (K, d)``."""
    H = as_matrix(features, "features")
    P = as_matrix(proxies, "proxies", cols=H.shape[1], device=H.device, dtype=H.dtype)
    return (H @ P.T).argmax(dim=1)

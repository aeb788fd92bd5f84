"""Self-checks for lesson 05 (networks trained on real data).

Each check tests properties (an attained equality case, a lower bound on random configurations, the
outcome of a training run against the package's own run), never a printed answer.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._core import Fail, as_array, as_scalar, call_student, checker

__all__ = ["ce_floor", "training_loop", "pairs_challenge"]

F64 = torch.float64


# ----------------------------------------------------------------------------- the loss floor
def _mean_ce(W, H, y, tau):
    """Mean CE of the cosine logits <w_j, h_i>/τ (rows of W and H normalised here), float64."""
    W, H = F.normalize(W.to(F64), dim=1), F.normalize(H.to(F64), dim=1)
    return float(F.cross_entropy(H @ W.T / tau, y))


def _balanced_random(K, d, n, seed):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(K, d, generator=g, dtype=F64)
    H = torch.randn(K * n, d, generator=g, dtype=F64)
    return W, H, torch.arange(K).repeat_interleave(n)


@checker
def ce_floor(fn):
    """``fn(K, tau) -> float``: the smallest mean cross-entropy that K balanced classes can reach with unit
    classifier rows, unit features and logits <w_j, h>/τ. Checks that it is attained (by a configuration
    in d = K-1) and that random balanced configurations in several dimensions never go below it."""
    from ..geometry import simplex_etf

    cases = [(2, 1.0), (3, 0.5), (10, 1.0), (10, 0.1), (100, 1.0), (100, 1 / 7), (7, 0.2)]
    for K, tau in cases:
        v = as_scalar(call_student(fn, K, tau), f"your function({K}, {tau:g})")
        W = simplex_etf(K)
        attained = _mean_ce(W, W, torch.arange(K), tau)
        if v > attained * (1 + 1e-9) + 1e-12:
            raise Fail(f"at K={K}, tau={tau:g} your floor {v:.6g} is above the mean CE {attained:.6g} that one "
                       "configuration reaches, so it is not a lower bound. Hint: look for the configuration "
                       "where every logit gap is the same.")
        if v < attained * (1 - 1e-9) - 1e-12:
            raise Fail(f"at K={K}, tau={tau:g} your value {v:.6g} is below what the best configuration reaches "
                       f"({attained:.6g}): a valid bound, but not the smallest loss. Hint: which inequality in "
                       "your proof is not tight at the optimum?")
    for K, d, n, tau, seed in ((4, 2, 3, 0.5, 0), (10, 3, 5, 1.0, 1), (10, 12, 2, 0.1, 2), (30, 5, 2, 0.3, 3)):
        W, H, y = _balanced_random(K, d, n, seed)
        H = 0.7 * F.normalize(H, dim=1) + F.normalize(W, dim=1)[y]       # features near their class row
        ce = _mean_ce(W, H, y, tau)
        v = as_scalar(call_student(fn, K, tau), f"your function({K}, {tau:g})")
        if ce < v - 1e-12:
            raise Fail(f"a balanced configuration with K={K} in d={d} reaches mean CE {ce:.6g} < your floor "
                       f"{v:.6g} at tau={tau:g}.")
    return "attained by the best configuration (to 1e-9) and below every random configuration tried."


# ----------------------------------------------------------------------------- a training loop
LOOP_OPTIONS = dict(data="digits", d=3, tau=0.2, epochs=30, batch_size=64, lr=0.05, weight_decay=5e-3, seed=0)


@checker
def training_loop(fn):
    """``fn(model, X, y, *, epochs, batch_size, lr, weight_decay, seed) -> list`` of the training accuracy
    after each epoch. The check trains a fresh digits network (d = 3, tau = 0.2) with your loop and with
    ``gnc_teach.training.train`` on the same options, and compares the outcomes: training accuracy, test
    accuracy and rho of the normalised classifier."""
    from ..training import build_model, load_data, make_config, train
    from ..metrics import gnc2

    cfg = make_config(**LOOP_OPTIONS)
    data = load_data(cfg)
    model = build_model(cfg, data, device="cpu")
    X, y = data.inputs(data.X_train), data.y_train
    start = [p.detach().clone() for p in model.parameters()]
    accs = call_student(fn, model, X.clone(), y.clone(), epochs=cfg.epochs, batch_size=cfg.batch_size,
                        lr=cfg.lr, weight_decay=cfg.weight_decay, seed=cfg.seed)
    accs = as_array(list(accs) if isinstance(accs, (list, tuple)) else accs, "your function",
                    shape=(cfg.epochs,))
    if (accs < 0).any() or (accs > 1).any():
        raise Fail("accuracies must lie in [0, 1]. Hint: divide the number of correct predictions by the "
                   "number of samples.")
    if all(torch.equal(a, b) for a, b in zip(start, model.parameters())):
        raise Fail("the model's parameters did not change: train the model you are given, in place.")
    with torch.no_grad():
        model.eval()
        train_acc = float((model(X).argmax(1) == y).double().mean())
        test_acc = float((model(data.inputs(data.X_test)).argmax(1) == data.y_test).double().mean())
    if train_acc < 0.98:
        raise Fail(f"after {cfg.epochs} epochs your model classifies {train_acc:.1%} of the training set; the "
                   "package's loop reaches 100%. Hint: is the loss going down every epoch? Check the sign of "
                   "the update and that the gradients are reset between steps.")
    if abs(accs[-1] - train_acc) > 0.03:
        raise Fail(f"your last reported accuracy {accs[-1]:.3f} is not the trained model's {train_acc:.3f} "
                   "on the training set.")
    ref = train(cfg, device="cpu", progress=False, eval_every=cfg.epochs)
    ratio = gnc2(model.W) / ref.rho_ref
    want = ref.final["rho_ratio"] - 0.1
    if ratio < want:
        raise Fail(f"rho of your classifier is {ratio:.3f} of the best code's, the package's loop gets "
                   f"{ref.final['rho_ratio']:.3f}. Hint: the learning rate should fall to 0 by the last epoch, "
                   "and weight decay belongs to every parameter.")
    if test_acc < ref.final["test_acc"] - 0.03:
        raise Fail(f"test accuracy {test_acc:.3f} against the package's {ref.final['test_acc']:.3f}.")
    return (f"train accuracy {train_acc:.1%}, test {test_acc:.1%}, rho/rho* = {ratio:.3f} "
            f"(package: {ref.final['rho_ratio']:.3f}, test {ref.final['test_acc']:.1%}).")


# ----------------------------------------------------------------------------- the open-ended task
CHALLENGE = dict(K=100, d=10, rho=0.57, test_acc=0.95, max_epochs=60, max_width=256, per_class=40)
_FIXED = dict(data="digit-pairs", d=CHALLENGE["d"])
_FREE = ("tau", "epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov", "weight_decay", "schedule",
         "width", "depth", "bias", "seed")


@checker
def pairs_challenge(options):
    """Judge a training recipe for the K = 100, d = 10 digit-pairs task. ``options`` is a dict of training
    options (or a function returning one) (any of tau, epochs, batch_size, optimizer, lr, momentum, nesterov, weight_decay, schedule,
    width, depth, bias, seed); data, d, arch (mlp) and the data size are fixed. The judge trains it and
    passes when rho of the normalised classifier is >= CHALLENGE['rho'] and the test accuracy >=
    CHALLENGE['test_acc'], within CHALLENGE['max_epochs'] epochs and width <= CHALLENGE['max_width']."""
    from ..training import train

    if callable(options):   # a function that returns the options (the exercise's my_options)
        options = call_student(options)
    if not isinstance(options, dict):
        raise Fail(f"pass a dict of training options, e.g. {{'tau': 0.2, 'epochs': 40}}, got {type(options).__name__}.")
    unknown = sorted(set(options) - set(_FREE))
    if unknown:
        raise Fail(f"options {unknown} are fixed by the challenge or unknown; you may set {list(_FREE)}.")
    epochs = options.get("epochs", 40)
    if not isinstance(epochs, int) or not 1 <= epochs <= CHALLENGE["max_epochs"]:
        raise Fail(f"epochs must be an integer from 1 to {CHALLENGE['max_epochs']}, got {epochs!r}.")
    width = options.get("width", 128)
    if not isinstance(width, int) or width > CHALLENGE["max_width"]:
        raise Fail(f"width must be an integer <= {CHALLENGE['max_width']}, got {width!r}.")
    if options.get("tau", 1.0) is None:
        raise Fail("this task is about the normalised classifier: give a temperature tau > 0.")
    run = train({"tau": 1.0, "epochs": 40} | options | _FIXED | {"arch": "mlp", "per_class": CHALLENGE["per_class"]},
                device="cpu", progress=False, eval_every=epochs)
    rho, acc = run.final["gnc2"], run.final["test_acc"]
    if not (math.isfinite(rho) and math.isfinite(acc)):
        raise Fail("the run produced NaN (diverged?). Hint: a smaller learning rate.")
    if rho < CHALLENGE["rho"] or acc < CHALLENGE["test_acc"]:
        raise Fail(f"rho = {rho:.4f} (need >= {CHALLENGE['rho']}) and test accuracy {acc:.1%} (need >= "
                   f"{CHALLENGE['test_acc']:.0%}). Not yet: think about what limits rho at your tau.")
    return (f"rho = {rho:.4f} ({rho / run.rho_ref:.1%} of the best code known to the package), test accuracy "
            f"{acc:.1%}, in {len(run.history['epoch'])} epochs.")

"""What to train: :class:`TrainConfig` (data, network, optimiser, schedule) and the named configurations.

Every field is checked by :func:`make_config` before anything is loaded or trained, with a ValueError or
TypeError that names the field (and its command-line option).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .._tensor import check_bool, check_fraction, check_int, check_positive, check_seed
from ..datasets import DATASETS
from ..models.networks import ARCHITECTURES

__all__ = ["TrainConfig", "CONFIGS", "make_config", "LOSSES"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "constant")
#: "ce": cross-entropy of the logits; "hug": the HUG loss (gnc_teach.hug.hug_loss) of the features with the
#: normalised classifier rows as learnable proxies (Riesz s = 2, both weights 1)
LOSSES = ("ce", "hug")


@dataclass(frozen=True)
class TrainConfig:
    """A training run. ``tau=None`` trains a plain linear classifier z = W h + b; a number τ > 0 trains
    normalised features and classifier with logits cos(w_k, h)/τ (``bias`` defaults to False then).
    ``loss``: "ce" (cross-entropy of the logits) or "hug" (:func:`gnc_teach.hug.hug_loss` of the features,
    with the normalised classifier rows as learnable proxies; needs a τ, which then only scales the
    logits whose CE is recorded as train/test loss). ``label_noise``: the fraction of training labels
    replaced by a random other class (drawn with ``seed``; test labels stay clean).

    data / network: ``data`` (one of ``datasets.DATASETS``), ``data_dir`` (CIFAR folder), ``K`` (keep
    classes 0..K-1; None = all), ``per_class`` (digit-pairs: training pairs per class), ``arch``
    (mlp, cnn, resnet18), ``d`` (feature dimension), ``width``/``depth`` (None = the family's default).
    optimisation: ``epochs``, ``batch_size`` (global: split over the processes under torchrun),
    ``optimizer`` (sgd with ``momentum``/``nesterov``, or adam), ``lr``, ``weight_decay`` (on every
    parameter), ``schedule`` (cosine decay to 0 over the epochs, or constant), ``augment`` (random
    shift/flip/rotation of images), ``seed``.
    records: ``eval_every`` (epochs between evaluations of accuracy, loss and NC/GNC metrics; 0 = never:
    only the mean training loss per epoch), ``eval_samples`` (metrics on at most this many training
    samples; None = all), ``checkpoint_every`` (epochs between checkpoints; 0 = only at the end).
    """
    data: str = "digits"
    data_dir: str | None = None
    K: int | None = None
    per_class: int | None = None
    arch: str = "mlp"
    d: int = 3
    width: int | None = None
    depth: int | None = None
    tau: float | None = None
    bias: bool | None = None
    loss: str = "ce"
    label_noise: float = 0.0
    epochs: int = 100
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: bool = False
    seed: int = 0
    eval_every: int = 1
    eval_samples: int | None = None
    checkpoint_every: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "TrainConfig":
        return make_config(self, **changes)


# The paper's CIFAR-100 setting follows the official GNC code's README command (ResNet-18, feature_dim 10,
# 200 epochs, batch 250 per GPU on two GPUs, SGD lr 0.1 with Nesterov momentum 0.9, weight decay 5e-4,
# cosine annealing, crop/flip/rotation augmentation, "temperature" 7, i.e. tau = 1/7).
CONFIGS = {
    "digits-nc": TrainConfig(data="digits", arch="mlp", d=16, tau=0.2, epochs=100, batch_size=128, lr=0.03,
                             weight_decay=5e-3),
    "digits-gnc": TrainConfig(data="digits", arch="mlp", d=3, tau=0.1, epochs=100, batch_size=64, lr=0.05,
                              weight_decay=5e-3),
    "pairs-gnc": TrainConfig(data="digit-pairs", arch="mlp", width=256, d=10, tau=1 / 7, epochs=40, batch_size=128,
                             lr=0.05, weight_decay=5e-3),
    "cifar100-resnet18": TrainConfig(data="cifar100", arch="resnet18", d=10, tau=1 / 7, bias=False, epochs=200,
                                     batch_size=500, optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True,
                                     weight_decay=5e-4, schedule="cosine", augment=True),
    "cifar10-resnet18": TrainConfig(data="cifar10", arch="resnet18", d=10, tau=None, bias=True, epochs=200,
                                    batch_size=500, optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True,
                                    weight_decay=5e-4, schedule="cosine", augment=True),
}
def _option(name):
    return f"{name} (--{name.replace('_', '-')})"


def _choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{_option(name)}={value!r} is not known; use one of {list(choices)}.")
    return value


def _bool(value, name):
    return check_bool(value, _option(name))


def make_config(config=None, /, **overrides) -> TrainConfig:
    """A validated :class:`TrainConfig` from ``config`` (None, a name in :data:`CONFIGS`, a TrainConfig or a
    dict) with ``overrides`` applied. Raises ValueError/TypeError naming the bad field."""
    if config is None:
        base = TrainConfig()
    elif isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(f"config={config!r} is not a named configuration; use one of {list(CONFIGS)}.")
        base = CONFIGS[config]
    elif isinstance(config, TrainConfig):
        base = config
    elif isinstance(config, dict):
        base, overrides = TrainConfig(), {**config, **overrides}
    else:
        raise TypeError(f"config must be None, a configuration name, a TrainConfig or a dict, "
                        f"got {type(config).__name__}.")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"unknown training option(s) {unknown}; the options are {sorted(fields)}.")
    c = dataclasses.replace(base, **overrides)
    values = dict(
        data=_choice(c.data, "data", DATASETS),
        data_dir=None if c.data_dir is None else str(c.data_dir),
        K=None if c.K is None else check_int(c.K, "K", minimum=2),
        per_class=None if c.per_class is None else check_int(c.per_class, "per_class", minimum=1),
        arch=_choice(c.arch, "arch", ARCHITECTURES),
        d=check_int(c.d, "d", minimum=1),
        width=None if c.width is None else check_int(c.width, "width", minimum=2),
        depth=None if c.depth is None else check_int(c.depth, "depth", minimum=0),
        tau=None if c.tau is None else check_positive(c.tau, "tau"),
        bias=None if c.bias is None else _bool(c.bias, "bias"),
        loss=_choice(c.loss, "loss", LOSSES),
        label_noise=check_fraction(c.label_noise, _option("label_noise"), allow_zero=True),
        epochs=check_int(c.epochs, "epochs", minimum=1),
        batch_size=check_int(c.batch_size, "batch_size", minimum=1),
        optimizer=_choice(c.optimizer, "optimizer", OPTIMIZERS),
        lr=check_positive(c.lr, "lr"),
        momentum=check_positive(c.momentum, "momentum", allow_zero=True),
        nesterov=_bool(c.nesterov, "nesterov"),
        weight_decay=check_positive(c.weight_decay, "weight_decay", allow_zero=True),
        schedule=_choice(c.schedule, "schedule", SCHEDULES),
        augment=_bool(c.augment, "augment"),
        seed=check_seed(c.seed, _option("seed")),
        eval_every=check_int(c.eval_every, "eval_every", minimum=0),
        eval_samples=None if c.eval_samples is None else check_int(c.eval_samples, "eval_samples", minimum=2),
        checkpoint_every=check_int(c.checkpoint_every, "checkpoint_every", minimum=0),
    )
    if values["momentum"] >= 1:
        raise ValueError(f"momentum (--momentum) must be in [0, 1), got {values['momentum']}.")
    if values["nesterov"] and values["optimizer"] == "sgd" and values["momentum"] == 0:
        values["nesterov"] = False  # Nesterov needs momentum; plain SGD is what momentum=0 asks for
    if values["per_class"] is not None and values["data"] != "digit-pairs":
        raise ValueError(f"per_class (--per-class) applies to data='digit-pairs' only, got data={values['data']!r}.")
    if values["augment"] and values["data"] in ("digits", "digit-pairs"):
        raise ValueError("augment (--augment) is for the CIFAR images; the 8x8 digits are used as they are.")
    if values["loss"] == "hug" and values["tau"] is None:
        raise ValueError("loss (--loss) 'hug' needs the normalised classifier: give tau (--tau), e.g. 0.1 "
                         "(HUG itself has no temperature; tau scales the logits whose CE is recorded).")
    return TrainConfig(**values)

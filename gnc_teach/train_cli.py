"""``gnc-teach train``: train a network on real data and record NC/GNC metrics every epoch.

    gnc-teach train --data digits --d 3 --tau 0.1 --epochs 100 --out runs/digits-d3
    gnc-teach train --config pairs-gnc --tau 0.333 --out runs/pairs-tau3
    gnc-teach train --config cifar100-resnet18 --data-dir ~/data --out runs/c100      (on a GPU)
    torchrun --nproc_per_node=4 -m gnc_teach -- train --config cifar100-resnet18 --data-dir ~/data --out runs/c100

Writes OUT/metrics.json (configuration, per-epoch history, final classifier W), OUT/metrics.csv (one row
per epoch) and OUT/checkpoint.pt; `gnc_teach.training.load_run(OUT)` reads them back. --tau is the real
temperature: logits are cos(w_k, h)/tau (the official GNC code's "temperature 7" is --tau 0.142857).
--tau none trains a plain linear classifier W h + b. Options left out come from --config (default: the
built-in defaults, digits with an MLP). Under torchrun, put `--` before `train` (torchrun's own
parser would otherwise read --d as an abbreviation of one of its options), or write --feature-dim.
"""
from __future__ import annotations

# Only the standard library at import time, so that building the command-line parser stays fast;
# run() imports torch and the training code.
import argparse
import sys

__all__ = ["add_arguments", "run"]

# Kept in step with gnc_teach.datasets.DATASETS, models.networks.ARCHITECTURES and training.config.CONFIGS
# (tests/test_training_cli.py checks it), so that --help needs no torch import.
DATA = ("digits", "digit-pairs", "cifar10", "cifar100")
ARCHS = ("mlp", "cnn", "resnet18")
LOSSES = ("ce", "hug")
CONFIG_HELP = {
    "digits-nc": "NC on digits: K = 10, d = 16 >= K-1, normalised classifier, tau = 0.2, 100 epochs",
    "digits-gnc": "GNC on digits: K = 10, bottleneck d = 3, normalised classifier, tau = 0.1, 100 epochs",
    "pairs-gnc": "CPU twin of CIFAR-100: two-digit numbers, K = 100, d = 10, tau = 1/7, 40 epochs",
    "cifar100-resnet18": "the paper's setting (GPU): CIFAR-100, ResNet-18, d = 10, tau = 1/7, 200 epochs",
    "cifar10-resnet18": "NC on CIFAR-10 (GPU): ResNet-18, d = 10, plain classifier, 200 epochs",
}
CONFIG_NAMES = tuple(CONFIG_HELP)


def _number(name, kind, *, minimum=None, strict=False):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a{'n integer' if kind is int else ' number'}, "
                                             f"got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{name} must be finite, got {text}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            raise argparse.ArgumentTypeError(f"{name} must be {'>' if strict else '>='} {minimum}, got {text}")
        return value
    return parse


def _tau(text):
    if text.lower() == "none":
        return "none"
    return _number("--tau", float, minimum=0, strict=True)(text)


def _yes_no(text):
    if text.lower() in ("yes", "true", "1"):
        return True
    if text.lower() in ("no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register the options of ``gnc-teach train``; returns ``p``. Every option defaults to None, meaning
    "as in --config"."""
    g = p.add_argument_group("what to train")
    g.add_argument("--config", choices=CONFIG_NAMES, default=None, metavar="NAME",
                   help="a named configuration to start from (the options below override it): "
                        + "; ".join(f"{k}: {v}" for k, v in CONFIG_HELP.items()))
    g.add_argument("--data", choices=DATA, default=None, help="dataset (default digits)")
    g.add_argument("--data-dir", default=None, metavar="DIR",
                   help="CIFAR only: folder with the python-format batches (never downloaded)")
    g.add_argument("--K", type=_number("--K", int, minimum=2), default=None,
                   help="keep classes 0..K-1 (default: all classes of the data)")
    g.add_argument("--per-class", type=_number("--per-class", int, minimum=1), default=None,
                   help="digit-pairs only: training pairs per class (default 40)")
    g.add_argument("--arch", choices=ARCHS, default=None, help="network (default mlp)")
    g.add_argument("--d", "--feature-dim", dest="d", type=_number("--d", int, minimum=1), default=None,
                   help="feature dimension")
    g.add_argument("--width", type=_number("--width", int, minimum=2), default=None,
                   help="hidden width (mlp), channels (cnn) or base channels (resnet18, 64 = standard)")
    g.add_argument("--depth", type=_number("--depth", int, minimum=0), default=None, help="hidden layers (mlp)")
    g.add_argument("--tau", type=_tau, default=None,
                   help="temperature > 0: normalised features and classifier, logits cos/tau; 'none' = a "
                        "plain classifier W h + b (the default unless --config sets a tau)")
    g.add_argument("--bias", type=_yes_no, default=None, metavar="yes|no",
                   help="classifier bias (default: yes for a plain classifier, no with --tau)")
    g.add_argument("--loss", choices=LOSSES, default=None,
                   help="ce: cross-entropy (default); hug: the HUG loss with the classifier rows as proxies "
                        "(needs --tau)")
    g.add_argument("--label-noise", type=_number("--label-noise", float, minimum=0), default=None, metavar="RATE",
                   help="fraction of training labels replaced by a random other class (default 0)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=_number("--epochs", int, minimum=1), default=None)
    g.add_argument("--batch-size", type=_number("--batch-size", int, minimum=1), default=None,
                   help="global batch size (split over the processes under torchrun)")
    g.add_argument("--optimizer", choices=("sgd", "adam"), default=None)
    g.add_argument("--lr", type=_number("--lr", float, minimum=0, strict=True), default=None)
    g.add_argument("--momentum", type=_number("--momentum", float, minimum=0), default=None)
    g.add_argument("--weight-decay", type=_number("--weight-decay", float, minimum=0), default=None)
    g.add_argument("--schedule", choices=("cosine", "constant"), default=None, help="learning-rate schedule")
    g.add_argument("--augment", type=_yes_no, default=None, metavar="yes|no",
                   help="random shift/flip/rotation (CIFAR)")
    g.add_argument("--seed", type=_number("--seed", int, minimum=0), default=None)
    g = p.add_argument_group("records and output")
    g.add_argument("--out", required=True, metavar="DIR",
                   help="folder for metrics.json, metrics.csv and checkpoint.pt (created if missing)")
    g.add_argument("--eval-every", type=_number("--eval-every", int, minimum=0), default=None,
                   help="epochs between evaluations (0 = never; default 1)")
    g.add_argument("--eval-samples", type=_number("--eval-samples", int, minimum=2), default=None,
                   help="compute the metrics on at most this many training samples")
    g.add_argument("--checkpoint-every", type=_number("--checkpoint-every", int, minimum=0), default=None,
                   help="epochs between checkpoints (0 = only at the end)")
    g.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    g.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


_FIELDS = ("data", "data_dir", "K", "per_class", "arch", "d", "width", "depth", "tau", "bias", "loss", "label_noise",
           "epochs",
           "batch_size", "optimizer", "lr", "momentum", "weight_decay", "schedule", "augment", "seed",
           "eval_every", "eval_samples", "checkpoint_every")


def run(args) -> int:
    """Run ``gnc-teach train``; returns the exit code (2 with a one-line message for bad arguments)."""
    import os
    import warnings

    from ._tensor import resolve
    from .training import train

    try:
        resolve(args.device, args.dtype)
    except (ValueError, TypeError) as exc:
        print(f"gnc-teach train: error: --device {args.device}: {exc}", file=sys.stderr)
        return 2
    options = {k: getattr(args, k) for k in _FIELDS if getattr(args, k) is not None}
    if options.get("tau") == "none":
        options["tau"] = None
    main = int(os.environ.get("RANK", "0")) == 0
    try:
        with warnings.catch_warnings():   # the summary says "interrupted" itself
            warnings.filterwarnings("ignore", message=".*was interrupted", category=RuntimeWarning)
            result = train(args.config, device=args.device, dtype=args.dtype, out=args.out,
                           progress=main and not args.no_progress and sys.stderr.isatty(), resume=args.resume,
                           **options)
    except (ValueError, TypeError) as exc:
        print(f"gnc-teach train: error: {exc}", file=sys.stderr)
        return 2
    if main:
        print(result.summary())
        print(f"  wrote {result.out}/metrics.json, metrics.csv and checkpoint.pt")
    return 130 if result.interrupted else 0

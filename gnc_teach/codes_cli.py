"""``gnc-teach code {softmax,tammes,thomson}``: compute a numerical code and print its certified numbers.

    gnc-teach code softmax --K 8 --d 3                    rho, min angle, energy, bound/gap, runtime
    gnc-teach code thomson --K 12 --d 3 --s 2 --json      one JSON object, including "W" as rows
    gnc-teach code tammes --K 13 --d 3 --save W.npy       also write W (K, d) with numpy.save
    gnc-teach code tammes --K 50 --d 3 --budget 60        search for 60 s (Ctrl-C: the best so far)
"""
from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["add_arguments", "run"]


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {value}")
        return value
    return parse


def _positive_float_named(name):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text}")
        return value
    return parse


_positive_float = _positive_float_named("--s")


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register the options of ``gnc-teach code``; returns ``p``."""
    p.add_argument("kind", choices=["softmax", "tammes", "thomson"],
                   help="softmax: max rho (one-vs-rest distance); tammes: max min angle; "
                        "thomson: min Riesz s-energy")
    p.add_argument("--K", type=_positive_int("--K"), required=True, help="number of unit vectors (>= 2)")
    p.add_argument("--d", type=_positive_int("--d"), required=True, help="dimension (>= 1)")
    p.add_argument("--restarts", type=_positive_int("--restarts"), default=None,
                   help="restarts run as one batch (default: depends on K)")
    p.add_argument("--steps", type=_positive_int("--steps"), default=None, help="smooth-phase steps")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto = CUDA when available, else CPU")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--s", type=_positive_float, default=1.0,
                   help="Riesz exponent for thomson (default 1 = Coulomb); energies are reported at this s")
    p.add_argument("--fast", action="store_true",
                   help="fewer steps and restarts, only the best one polished (quick look)")
    p.add_argument("--budget", type=_positive_float_named("--budget"), default=None, metavar="SECONDS",
                   help="keep searching (basin hops, fresh restarts) for this long; Ctrl-C returns the best so far")
    p.add_argument("--effort", type=_positive_int("--effort"), default=None, metavar="ROUNDS",
                   help="rounds of search after the first (the same rounds on every machine)")
    p.add_argument("--target", type=float, default=None,
                   help="with --budget/--effort: stop once the objective reaches this (rho, min angle in "
                        "degrees, or energy)")
    p.add_argument("--json", action="store_true", help="print one JSON object (with W as a list of rows)")
    p.add_argument("--save", metavar="PATH", default=None, help="save W (K, d) as a .npy file")
    return p


def run(args) -> int:
    """Run ``gnc-teach code``; returns the exit code (2 for bad arguments, with a one-line message)."""
    import numpy as np

    from . import codes

    if args.K < 2:
        return _fail("--K must be >= 2")
    if args.seed < 0:
        return _fail("--seed must be >= 0")
    if args.s != 1.0 and args.kind != "thomson":
        return _fail("--s is the Riesz exponent of the thomson code; drop it for softmax/tammes")
    if args.save is not None:
        folder = os.path.dirname(os.path.abspath(args.save))
        if not os.path.isdir(folder):
            return _fail(f"--save: folder {folder!r} does not exist")
    solver = {"softmax": codes.softmax_code, "tammes": codes.tammes_code, "thomson": codes.thomson_code}[args.kind]
    kw = dict(restarts=args.restarts, steps=args.steps, seed=args.seed, device=args.device,
              dtype=args.dtype, fast=args.fast, progress=(not args.json) and sys.stderr.isatty())
    if args.kind == "thomson":
        kw["s"] = args.s
    if args.budget is not None or args.effort is not None or args.target is not None:
        kw.update(budget=args.budget, effort=args.effort, target=args.target)
    try:
        res = solver(args.K, args.d, **kw)
    except (ValueError, TypeError) as exc:
        return _fail(str(exc))
    if args.save is not None:
        np.save(args.save, res.W.detach().cpu().numpy())
    if args.json:
        print(json.dumps(res.to_dict(with_W=True)))
    else:
        print(res.summary())
        cert = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.certificate.items())
        print(f"  certificate: {cert}")
        if args.save is not None:
            print(f"  saved W ({res.K}, {res.d}) to {args.save}")
    return 0


def _fail(message: str) -> int:
    print(f"gnc-teach code: error: {message}", file=sys.stderr)
    return 2

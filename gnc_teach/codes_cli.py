"""``gnc-teach code {softmax,tammes,thomson}``: compute a numerical code and print its certified numbers.

    gnc-teach code softmax --K 8 --d 3                    rho, min angle, energy, bound/gap, runtime
    gnc-teach code thomson --K 12 --d 3 --s 2 --json      one JSON object, including "W" as rows
    gnc-teach code tammes --K 13 --d 3 --save W.npy       also write W (K, d) with numpy.save
    gnc-teach code tammes --K 50 --d 3 --budget 60        search for 60 s (Ctrl-C: the best so far)

Every option is checked before the solve starts (including that --save can be written); the summary is
printed before W is saved, and W is written atomically. Ctrl-C stops the search and prints (and saves)
the best code found so far, exit status 130.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings

__all__ = ["add_arguments", "run"]

#: the largest seed (gnc_teach._tensor.SEED_MAX, not imported here: that module loads torch)
SEED_MAX = 2 ** 63 - 1


def _int_option(name, minimum, maximum=None):
    """An argparse type: an integer in [minimum, maximum], the one rule for ``name``, stated in --help."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{name} must be <= {maximum}, got {value}")
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
    p.add_argument("--K", type=_int_option("--K", 2), required=True, help="number of unit vectors, >= 2")
    p.add_argument("--d", type=_int_option("--d", 1), required=True, help="dimension, >= 1")
    p.add_argument("--restarts", type=_int_option("--restarts", 1), default=None,
                   help="restarts run as one batch, >= 1 (default: depends on K)")
    p.add_argument("--steps", type=_int_option("--steps", 1), default=None, help="smooth-phase steps, >= 1")
    p.add_argument("--seed", type=_int_option("--seed", 0, SEED_MAX), default=0,
                   help="random seed, 0 <= seed < 2**63 (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto = CUDA when available, else CPU")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--s", type=_positive_float, default=1.0,
                   help="Riesz exponent for thomson (default 1 = Coulomb); energies are reported at this s")
    p.add_argument("--fast", action="store_true",
                   help="fewer steps and restarts, only the best one polished (quick look)")
    p.add_argument("--budget", type=_positive_float_named("--budget"), default=None, metavar="SECONDS",
                   help="keep searching (basin hops, fresh restarts) for this long; Ctrl-C returns the best so far")
    p.add_argument("--effort", type=_int_option("--effort", 0), default=None, metavar="ROUNDS",
                   help="rounds of search after the first (the same rounds on every machine)")
    p.add_argument("--target", type=float, default=None,
                   help="with --budget/--effort: stop once the objective reaches this (rho, min angle in "
                        "degrees, or energy)")
    p.add_argument("--json", action="store_true", help="print one JSON object (with W as a list of rows)")
    p.add_argument("--save", metavar="PATH", default=None,
                   help="save W (K, d) as a .npy file (a folder: KIND_K{K}_d{d}.npy in it; .npy is added "
                        "when missing)")
    return p


def save_path(path: str, kind: str, K: int, d: int) -> str:
    """Where ``--save PATH`` writes: into a folder as ``KIND_K{K}_d{d}.npy``, else PATH with ``.npy`` added
    when missing (what numpy.save would do, made explicit so that the message names the real file)."""
    if os.path.isdir(path):
        return os.path.join(path, f"{kind}_K{K}_d{d}.npy")
    return path if path.endswith(".npy") else path + ".npy"


def _as_options(message: str) -> str:
    """A solver's message in the command line's terms: ``restarts=4`` -> ``--restarts 4``."""
    message = re.sub(r"\bdtype=torch\.(float32|float64)", r"--dtype \1", message)
    return re.sub(r"(?<![\w.-])(K|d|restarts|steps|seed|s)=(?=\w)", r"--\1 ", message)


def run(args) -> int:
    """Run ``gnc-teach code``; returns the exit code (2 for bad arguments, with a one-line message;
    130 after Ctrl-C, with the best code found until then printed and saved)."""
    if args.s != 1.0 and args.kind != "thomson":
        return _fail("--s is the Riesz exponent of the thomson code; drop it for softmax/tammes")
    save = None
    if args.save is not None:
        from ._io import check_writable
        save = save_path(args.save, args.kind, args.K, args.d)
        try:
            check_writable(save, name="--save")
        except ValueError as exc:
            return _fail(str(exc))

    import numpy as np

    from . import codes

    solver = {"softmax": codes.softmax_code, "tammes": codes.tammes_code, "thomson": codes.thomson_code}[args.kind]
    kw = dict(restarts=args.restarts, steps=args.steps, seed=args.seed, device=args.device,
              dtype=args.dtype, fast=args.fast, progress=(not args.json) and sys.stderr.isatty())
    if args.kind == "thomson":
        kw["s"] = args.s
    if args.budget is not None or args.effort is not None or args.target is not None:
        kw.update(budget=args.budget, effort=args.effort, target=args.target)
    try:
        with warnings.catch_warnings():   # the summary below says "interrupted" itself
            warnings.filterwarnings("ignore", message=".*was interrupted", category=RuntimeWarning)
            res = solver(args.K, args.d, **kw)
    except (ValueError, TypeError) as exc:
        return _fail(_as_options(str(exc)))
    if args.json:
        print(json.dumps(res.to_dict(with_W=True), allow_nan=False))
    else:
        print(res.summary())
        cert = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.certificate.items())
        print(f"  certificate: {cert}")
    if save is not None:
        _save(save, np.asarray(res.W.detach().cpu().numpy()), quiet=args.json)
    return 130 if res.interrupted else 0


def _save(path, W, *, quiet):
    """Write W atomically to ``path``; if that fails after all, to the temporary folder, and say where."""
    import tempfile

    import numpy as np

    from ._io import write_atomic

    try:
        write_atomic(path, lambda f: np.save(f, W))
    except OSError as exc:
        fallback = os.path.join(tempfile.gettempdir(), os.path.basename(path))
        write_atomic(fallback, lambda f: np.save(f, W))
        print(f"gnc-teach code: could not write {path} ({exc.strerror or exc}); saved W to {fallback} instead",
              file=sys.stderr)
        return
    print(f"  saved W {W.shape} to {path}", file=sys.stderr if quiet else sys.stdout)


def _fail(message: str) -> int:
    print(f"gnc-teach code: error: {message}", file=sys.stderr)
    return 2

"""Command-line registration of ``gnc-teach site build`` and ``gnc-teach app``.

Only argparse here: Sphinx, myst-nb and Voilà are imported by ``run_site`` / ``run_app``, so that
``gnc-teach --help`` stays fast.

    gnc-teach site build [--execute] [--with-solutions] [--out DIR] [--repo-url URL]
    gnc-teach app [--port N] [--open]
"""
from __future__ import annotations

import argparse
import sys
import time

from ..codes_cli import _int_option
from ._checks import check_folder, check_url

__all__ = ["add_site_arguments", "run_site", "add_app_arguments", "run_app"]


def _option(check):
    """An argparse ``type`` from a check of ``_checks``: its message becomes argparse's (exit status 2)."""
    def convert(text):
        try:
            return check(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = check.__name__
    return convert


def _parser(p) -> argparse.ArgumentParser:
    if not isinstance(p, argparse.ArgumentParser):
        raise TypeError(f"p must be an argparse.ArgumentParser, got {type(p).__name__}.")
    return p


def _namespace(args) -> argparse.Namespace:
    if not isinstance(args, argparse.Namespace):
        raise TypeError(f"args must be the argparse.Namespace that the parser returned, got {type(args).__name__}.")
    return args


def add_site_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register ``gnc-teach site build``'s options on ``p``; returns ``p``."""
    sub = _parser(p).add_subparsers(dest="action", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="build the course website into a folder any static host can serve",
                       description="Build the course website (lessons with stored outputs, kernel-free explorer "
                                   "twins, exercises, reading list, search) into a static folder.")
    b.add_argument("--execute", action="store_true",
                   help="re-run every lesson (and solution) first instead of using the stored outputs")
    b.add_argument("--with-solutions", action="store_true", help="include the solution notebooks (instructors)")
    b.add_argument("--out", metavar="DIR", default=None, help="output folder (default: ROOT/build/site)")
    b.add_argument("--root", metavar="DIR", default=".", type=_option(lambda t: check_folder(t, "root")), help="repository root holding lessons/ (default: .)")
    b.add_argument("--repo-url", metavar="URL", default=None, type=_option(lambda t: check_url(t, "repo_url")),
                   help="public address of the repository (e.g. https://github.com/OWNER/REPO): adds Binder "
                        "launch links and a repository button")
    b.add_argument("--branch", default="main", help="branch for the launch links (default: main)")
    b.add_argument("--binderhub", metavar="URL", default="https://mybinder.org",
                   type=_option(lambda t: check_url(t, "binderhub")),
                   help="BinderHub for the launch links (default: https://mybinder.org)")
    return p


def run_site(args) -> int:
    """Run ``gnc-teach site build``; prints where the site is and how long it took."""
    from .build import build_site
    _namespace(args)
    t0 = time.perf_counter()
    try:
        res = build_site(args.root, args.out, execute=args.execute, with_solutions=args.with_solutions,
                         repo_url=args.repo_url, branch=args.branch, binderhub=args.binderhub)
    except (ValueError, RuntimeError) as exc:
        print(f"gnc-teach site build: error: {exc}", file=sys.stderr)
        return 1
    twins = sum(len(v) for v in res.twins.values())
    print(f"built {len(res.pages)} pages with {twins} explorer twins in {time.perf_counter() - t0:.1f} s: "
          f"{res.out / 'index.html'}")
    if res.warnings:
        print(f"{len(res.warnings)} Sphinx warnings:", *res.warnings[:20], sep="\n  ")
    return 0


def add_app_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register ``gnc-teach app``'s options on ``p``; returns ``p``."""
    _parser(p).add_argument("--port", type=_int_option("--port", 0, 65535), default=0,
                            help="port on 127.0.0.1, 0..65535 (default 0: a free one)")
    p.add_argument("--open", action="store_true", help="also open the dashboard in the default web browser")
    return p


def run_app(args) -> int:
    """Run ``gnc-teach app`` until Ctrl-C."""
    from .app import serve
    return serve(port=_namespace(args).port, open_browser=args.open)

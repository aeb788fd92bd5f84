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

__all__ = ["add_site_arguments", "run_site", "add_app_arguments", "run_app"]


def add_site_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register ``gnc-teach site build``'s options on ``p``; returns ``p``."""
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="build the course website into a folder any static host can serve",
                       description="Build the course website (lessons with stored outputs, kernel-free explorer "
                                   "twins, exercises, reading list, search) into a static folder.")
    b.add_argument("--execute", action="store_true",
                   help="re-run every lesson (and solution) first instead of using the stored outputs")
    b.add_argument("--with-solutions", action="store_true", help="include the solution notebooks (instructors)")
    b.add_argument("--out", metavar="DIR", default=None, help="output folder (default: ROOT/build/site)")
    b.add_argument("--root", metavar="DIR", default=".", help="repository root holding lessons/ (default: .)")
    b.add_argument("--repo-url", metavar="URL", default=None,
                   help="public address of the repository (e.g. https://github.com/OWNER/REPO): adds Binder "
                        "launch links and a repository button")
    b.add_argument("--branch", default="main", help="branch for the launch links (default: main)")
    b.add_argument("--binderhub", metavar="URL", default="https://mybinder.org",
                   help="BinderHub for the launch links (default: https://mybinder.org)")
    return p


def run_site(args) -> int:
    """Run ``gnc-teach site build``; prints where the site is and how long it took."""
    from .build import build_site
    t0 = time.perf_counter()
    try:
        res = build_site(args.root, args.out, execute=args.execute, with_solutions=args.with_solutions,
                         repo_url=args.repo_url, branch=args.branch, binderhub=args.binderhub)
    except (FileNotFoundError, RuntimeError) as exc:
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
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--open", action="store_true", help="also open the dashboard in the default web browser")
    return p


def run_app(args) -> int:
    """Run ``gnc-teach app`` until Ctrl-C."""
    from .app import serve
    if not 0 <= args.port < 65536:
        print(f"gnc-teach app: error: --port must be in 0..65535, got {args.port}", file=sys.stderr)
        return 2
    return serve(port=args.port, open_browser=args.open)

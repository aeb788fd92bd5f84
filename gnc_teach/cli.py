"""The ``gnc-teach`` command line: one subcommand per task.

    gnc-teach exercises [--check] [--root DIR]   regenerate exercises/ from solutions/
    gnc-teach code softmax --K 8 --d 3 [--json]   compute a softmax / tammes / thomson code
    gnc-teach site build [--execute]              build the course website into build/site
    gnc-teach app                                 every explorer live in a local Voila dashboard

Each subcommand registers its options with ``add_arguments(parser)`` and runs with ``run(args)``
(returning the exit code), so the module that owns the work also owns its command line.
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gnc-teach", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from . import exercises
    p = sub.add_parser("exercises", help="generate exercises/NN_*.ipynb from solutions/NN_*.ipynb",
                       description="Generate exercise notebooks from the solution notebooks.")
    exercises.add_arguments(p).set_defaults(run=exercises.run)

    from . import codes_cli
    p = sub.add_parser("code", help="compute a softmax / Tammes / Thomson code and print rho, angle, energy",
                       description=codes_cli.__doc__.splitlines()[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=codes_cli.__doc__)
    codes_cli.add_arguments(p).set_defaults(run=codes_cli.run)

    from .site import cli as site_cli  # argparse only; Sphinx and Voila load in run_site / run_app
    p = sub.add_parser("site", help="build the course website (static HTML with kernel-free explorers)",
                       description="The course as a static website.")
    site_cli.add_site_arguments(p).set_defaults(run=site_cli.run_site)
    p = sub.add_parser("app", help="serve every explorer live in a local Voila dashboard",
                       description="Every explorer of the course, live, in a local Voila dashboard on 127.0.0.1.")
    site_cli.add_app_arguments(p).set_defaults(run=site_cli.run_app)

    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""The ``gnc-teach`` command line: one subcommand per task.

    gnc-teach exercises [--check] [--root DIR]   annotate solutions/ for nbgrader, regenerate exercises/
    gnc-teach course DIR [--lessons 01 02]        set up an nbgrader course from solutions/
    gnc-teach code softmax --K 8 --d 3 [--json]   compute a softmax / tammes / thomson code
    gnc-teach train --data digits --d 3 --tau 0.1 --out run/   train a network, record NC/GNC metrics
    gnc-teach site build [--execute]              build the course website into build/site
    gnc-teach app                                 every explorer live in a local Voila dashboard

Each subcommand registers its options with ``add_arguments(parser)`` and runs with ``run(args)``
(returning the exit code), so the module that owns the work also owns its command line. Building the
parser imports neither torch nor nbformat (``--help`` and argument errors answer at once); the work
itself imports them. Ctrl-C outside a solver's own handling ends with exit status 130, no traceback.
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gnc-teach", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from . import exercises
    p = sub.add_parser("exercises", help="annotate solutions/NN_*.ipynb for nbgrader and generate exercises/ from them",
                       description="Annotate the solution notebooks for nbgrader and generate the exercise notebooks.")
    exercises.add_arguments(p).set_defaults(run=exercises.run)

    from . import course
    p = sub.add_parser("course", help="set up an nbgrader course (config + source/) from solutions/",
                       description=course.__doc__.splitlines()[0])
    course.add_arguments(p).set_defaults(run=course.run)

    from . import codes_cli
    p = sub.add_parser("code", help="compute a softmax / Tammes / Thomson code and print rho, angle, energy",
                       description=codes_cli.__doc__.splitlines()[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=codes_cli.__doc__)
    codes_cli.add_arguments(p).set_defaults(run=codes_cli.run)

    from . import train_cli  # light: imports torch only when the command runs
    p = sub.add_parser("train", help="train a network on real data and record NC/GNC metrics every epoch",
                       description=train_cli.__doc__.splitlines()[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=train_cli.__doc__)
    train_cli.add_arguments(p).set_defaults(run=train_cli.run)
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
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("gnc-teach: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

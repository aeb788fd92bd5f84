"""Set up an nbgrader course from the repository: ``gnc-teach course DIR``.

Writes ``DIR/nbgrader_config.py`` and, for every solution notebook that carries nbgrader metadata
(``gnc-teach exercises`` derives it), ``DIR/source/lessonNN/NN_name.ipynb``: one assignment per lesson,
the solution notebook copied unchanged. Then, in ``DIR``::

    nbgrader generate_assignment lesson01      # the student version, in release/lesson01/
    nbgrader autograde lesson01                # after collecting submissions into submitted/<student>/

``tests/test_nbgrader.py`` runs exactly this with the real nbgrader on every annotated notebook.
Existing files are left alone when identical and refused when different (``--force`` overwrites them);
every file is written atomically.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._io import write_atomic

__all__ = ["make_course", "CONFIG"]

CONFIG = '''\
# nbgrader configuration for a gnc-teach course (written by `gnc-teach course`; edit freely).
import os

c = get_config()  # noqa: F821  (nbgrader defines it)
c.CourseDirectory.course_id = {course_id!r}
# A check may run a student's function for 30 s (the open-ended judges up to 90 s), and some notebooks train
# small networks; nbgrader's default of 30 s per cell would cut them off.
c.Execute.timeout = 300
# Notebook kernels inherit this: one BLAS/OpenMP thread per kernel. On a busy 2-core machine, exercise-sized
# torch code ran 25x slower with two threads than with one (92 s against 3.4 s).
os.environ.setdefault("OMP_NUM_THREADS", "1")
'''


def _annotated(path: Path) -> bool:
    from .exercises import _read, is_annotated
    return is_annotated(_read(path))


def make_course(directory, *, root=".", lessons=None, course_id: str = "gnc-teach", force: bool = False) -> list[Path]:
    """Write the nbgrader course in ``directory`` from ``root/solutions``; return the files written.

    ``lessons``: two-digit lesson numbers to include (default: every annotated solution notebook). A lesson
    whose notebook has no nbgrader metadata is refused with the command that adds it. ValueError when a
    file exists with other content and ``force`` is false (nothing is written then).
    """
    directory, solutions = Path(directory), Path(root) / "solutions"
    found = {p.name[:2]: p for p in sorted(solutions.glob("[0-9][0-9]_*.ipynb"))}
    if not found:
        raise ValueError(f"root: no solution notebooks solutions/NN_*.ipynb under {Path(root).resolve()}.")
    if lessons is None:
        chosen = [p for p in found.values() if _annotated(p)]
    else:
        unknown = [n for n in lessons if n not in found]
        if unknown:
            raise ValueError(f"lessons: no solution notebook for {unknown}; there are {sorted(found)}.")
        chosen = [found[n] for n in lessons]
        bare = [p.name for p in chosen if not _annotated(p)]
        if bare:
            raise ValueError(f"lessons: {bare} have no nbgrader metadata yet (no `# Autograded: N points` cell); "
                             "convert them to the exercise conventions and run `gnc-teach exercises`.")
    files = {directory / "nbgrader_config.py": CONFIG.format(course_id=course_id).encode()}
    for p in chosen:
        files[directory / "source" / f"lesson{p.name[:2]}" / p.name] = p.read_bytes()
    clash = [str(path) for path, data in files.items() if path.exists() and path.read_bytes() != data]
    if clash and not force:
        raise ValueError(f"directory: {clash} exist with other content; pass force=True (--force) to overwrite.")
    written = []
    for path, data in files.items():
        if not (path.exists() and path.read_bytes() == data):
            write_atomic(path, data, sources=chosen, name="course file")
            written.append(path)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``gnc-teach course``."""
    parser.add_argument("directory", help="the course folder to create or update")
    parser.add_argument("--root", default=".", help="repository root holding solutions/")
    parser.add_argument("--lessons", nargs="+", metavar="NN", help="lesson numbers, e.g. 01 02 (default: all annotated)")
    parser.add_argument("--course-id", default="gnc-teach", help="nbgrader's course id")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist with other content")
    return parser


def run(args) -> int:
    """Run the command for parsed ``args``; return the exit code."""
    try:
        written = make_course(args.directory, root=args.root, lessons=args.lessons, course_id=args.course_id,
                              force=args.force)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    assignments = sorted(p.name for p in (Path(args.directory) / "source").glob("lesson*"))
    print(f"course in {args.directory}: assignments {', '.join(assignments) or 'none'}. Next: cd {args.directory} "
          "&& nbgrader generate_assignment <assignment>")
    return 0

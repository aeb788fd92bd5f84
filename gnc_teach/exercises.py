"""Annotate the solution notebooks for nbgrader and generate the exercise notebooks from them.

``solutions/NN_name.ipynb`` is the single source; its cells follow the conventions of
:mod:`gnc_teach.nbgrader_cells` (solution regions, ``# Autograded: N points`` test cells with optional
hidden tests, written answers with a ``**Mark scheme (N points).**`` line). ``gnc-teach exercises``

1. stores in every solution notebook the nbgrader cell metadata derived from those markers, so that
   ``nbgrader generate_assignment`` takes the notebook as it is (the rest of the notebook is untouched);
2. writes ``exercises/NN_name.ipynb``: nbgrader's student version of it (the same stubs, hidden tests
   removed, the same cell metadata with checksums), with all outputs, execution counts and widget state
   cleared.

``--check`` writes nothing and exits 1 when stored metadata or an exercise is stale or missing, or an
exercise has no solution notebook. The output is deterministic (nbformat 4.5, sorted keys, trailing newline).

No lost work: every notebook is read, checked and converted before any file is written (one broken
notebook leaves every file as it was, and the error lists every offending cell of every notebook); each
file is written atomically (temporary file + rename), and only when its bytes change; an exercise path
that resolves to a solution notebook (``exercises/`` a link to ``solutions/``) is refused.

CLI: ``gnc-teach exercises [--check] [--root DIR]`` or ``python -m gnc_teach.exercises``.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from pathlib import Path

from ._io import refuse_source, write_atomic
from .nbgrader_cells import AUTOGRADED, cell_metadata, regions, release_metadata, student_source

__all__ = ["annotate", "is_annotated", "make_exercise", "make_all", "exercise_text", "solution_regions", "main"]

NOTEBOOK_NAME = re.compile(r"^\d\d_.*\.ipynb$")
# Cell metadata written by Jupyter while running: not part of the exercise.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "widgets", "ExecuteTime")


def exercise_text(source: str, cell_type: str = "code", *, where: str = "cell") -> tuple[str, int]:
    """The student version of one cell's source (as nbgrader writes it) and the number of solution regions
    it replaced. Markers that break the conventions raise ValueError naming ``where`` and the line."""
    text = student_source(cell_type, source, where=where)
    return text, len(solution_regions(source, cell_type, where=where))


def solution_regions(source: str, cell_type: str = "code", *, where: str = "cell") -> list[list[str]]:
    """The lines strictly between each ``### BEGIN SOLUTION`` / ``### END SOLUTION`` pair (one list per region)."""
    return regions(cell_type, source, where=where)[0]


def _cell_id(index: int, source: str) -> str:
    # Deterministic id for notebooks written before nbformat 4.5 (which have none).
    return hashlib.sha1(f"{index}:{source}".encode()).hexdigest()[:8]


def _read(path):
    """The notebook at ``path`` (nbformat 4), or an error that names the file."""
    import nbformat

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook file.")
    try:
        nb = nbformat.read(path, as_version=4)
        cells = nb.cells
    except Exception as exc:  # noqa: BLE001  (nbformat raises several types for a broken file)
        raise ValueError(f"{path}: not a valid Jupyter notebook ({type(exc).__name__}: {exc})"[:400]) from None
    if not isinstance(cells, list):
        raise ValueError(f"{path}: not a valid Jupyter notebook (no list of cells).")
    return nb


def _check_notebook(nb):
    if not isinstance(getattr(nb, "cells", None), list):
        raise TypeError(f"nb must be a notebook read with nbformat (with a list of cells), got {type(nb).__name__}.")


def is_annotated(nb) -> bool:
    """Whether the solution notebook ``nb`` follows the nbgrader conventions: it has an autograded test cell
    (a code cell whose first line is ``# Autograded: N points``)."""
    _check_notebook(nb)
    return any(c.cell_type == "code" and isinstance(c.source, str) and AUTOGRADED.match(c.source.split("\n")[0])
               for c in nb.cells)


def annotate(nb, *, where: str = "notebook"):
    """A copy of the solution notebook ``nb`` whose cells carry the nbgrader metadata derived from their
    markers (and no stale nbgrader metadata elsewhere). ValueError lists every cell that breaks a rule."""
    _check_notebook(nb)
    nb = copy.deepcopy(nb)
    for cell, meta in zip(nb.cells, cell_metadata(nb.cells, where=where)):
        if meta is None:
            cell.metadata.pop("nbgrader", None)
        else:
            cell.metadata["nbgrader"] = meta
    return nb


def _student(nb, where):
    """nbgrader's student version of the annotated notebook ``nb``, outputs and run-time state cleared."""
    if not is_annotated(nb):
        raise ValueError(f"{where}: not an nbgrader solution notebook: it needs at least one autograded test "
                         "cell (a code cell whose first line is `# Autograded: N points`); see the README's "
                         "section on writing exercises.")
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for key in ("widgets", "celltoolbar"):
        nb.metadata.pop(key, None)
    for i, cell in enumerate(nb.cells):
        cell.source = student_source(cell.cell_type, cell.source, where=f"{where}: cell {i}")
        cell.setdefault("id", _cell_id(i, cell.source))
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "nbgrader" in cell.metadata:
            cell.metadata.update(release_metadata(cell.cell_type, cell.source, cell.metadata["nbgrader"]))
    return nb


def make_exercise(src_path, dst_path=None):
    """Read the solution notebook ``src_path``, return its exercise version (an ``nbformat.NotebookNode``);
    write it to ``dst_path`` (atomically).

    Raises ``ValueError`` (naming the file, the cell and the line) for markers that break the conventions,
    for an invalid notebook, and for a ``dst_path`` that is ``src_path`` or a link to it.
    """
    src_path = Path(src_path)
    if dst_path is not None:
        refuse_source(dst_path, [src_path], name="dst_path")
    where, nb = str(src_path), _read(src_path)
    nb = _student(annotate(nb, where=where), where)
    if dst_path is not None:
        write_atomic(dst_path, _to_bytes(nb), sources=[src_path], name="dst_path")
    return nb


def _to_bytes(nb) -> bytes:
    import nbformat

    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def _pairs(root: Path):
    for src in sorted((root / "solutions").glob("*.ipynb")):
        if NOTEBOOK_NAME.match(src.name):
            yield src, root / "exercises" / src.name


def make_all(root=".", *, check: bool = False) -> list[Path]:
    """Annotate every ``solutions/NN_*.ipynb`` under ``root`` and regenerate ``exercises/NN_*.ipynb``.

    Writes only files whose bytes change and returns them (solution notebooks first). With ``check=True``
    writes nothing and returns the stale files: solutions whose stored nbgrader metadata differs from what
    their markers give, exercises that are stale or missing, exercises without a solution (orphans).
    Every notebook is converted before any is written; a ValueError lists the problems of all of them.
    """
    root = Path(root)
    pairs = list(_pairs(root))
    sources = [src for src, _ in pairs]
    for _, dst in pairs:
        refuse_source(dst, sources, name="exercise notebook")
    errors, planned = [], []
    for src, dst in pairs:
        try:
            original = _read(src)
            annotated = annotate(original, where=str(src))
            exercise = _student(annotated, str(src))
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if annotated != original:
            planned.append((src, _to_bytes(annotated)))
        data = _to_bytes(exercise)
        if not (dst.exists() and dst.read_bytes() == data):
            planned.append((dst, data))
    if errors:
        raise ValueError("\n".join(errors))
    planned.sort(key=lambda item: item[0].parent.name != "solutions")
    if not check:
        for path, data in planned:
            write_atomic(path, data, sources=[] if path in sources else sources, name="notebook")
    stale = [path for path, _ in planned]
    if check:
        names = {src.name for src in sources}
        stale += [p for p in sorted((root / "exercises").glob("*.ipynb"))
                  if NOTEBOOK_NAME.match(p.name) and p.name not in names]
    return stale


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``gnc-teach exercises`` (shared with ``python -m gnc_teach.exercises``)."""
    parser.add_argument("--check", action="store_true",
                        help="write nothing; list stale nbgrader metadata in solutions/ and stale or missing "
                             "exercise notebooks, and exit 1 if there are any")
    parser.add_argument("--root", default=".", help="repository root holding solutions/ and exercises/")
    return parser


def _describe(path: Path, root: Path) -> str:
    if path.parent.name == "solutions":
        return f"stale nbgrader metadata: {path}"
    if (root / "solutions" / path.name).exists():
        return f"stale or missing: {path}"
    return f"no solution notebook for: {path}"


def run(args) -> int:
    """Run the command for parsed ``args``; return the exit code."""
    root = Path(args.root)
    if not any(_pairs(root)):
        print(f"error: no solution notebooks solutions/NN_*.ipynb under {root.resolve()}; "
              "pass --root with the repository root.", file=sys.stderr)
        return 2
    try:
        paths = make_all(root, check=args.check)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(_describe(p, root) if args.check else
              f"{'annotated' if p.parent.name == 'solutions' else 'wrote'} {p}")
    if not paths:
        print("solutions and exercises are up to date.")
    elif args.check:
        print("run `gnc-teach exercises` to update them.")
    return 1 if paths and args.check else 0


def main(argv=None) -> int:
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m gnc_teach.exercises",
        description="Annotate solutions/NN_*.ipynb for nbgrader and generate exercises/NN_*.ipynb from them."))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""Generate exercise notebooks from solution notebooks (nbgrader-style markers).

``solutions/NN_name.ipynb`` is the single source; ``exercises/NN_name.ipynb`` is derived from it:

* every code region between a line ``### BEGIN SOLUTION`` and a line ``### END SOLUTION`` becomes one
  line ``raise NotImplementedError("Exercise: <hint>")`` at the indentation of the BEGIN line. The
  hint is the text after the marker (``### BEGIN SOLUTION: build the Gram matrix``), else
  "fill in this part";
* in markdown cells a ``### BEGIN SOLUTION`` region becomes "*Your answer here.*" and an
  ``=== BEGIN MARK SCHEME ===`` / ``=== END MARK SCHEME ===`` region is dropped;
* all outputs, execution counts and widget state are cleared; cells that held a solution get
  nbgrader metadata (``"solution": true``) so the exercise also opens cleanly in nbgrader.

The output is deterministic (nbformat 4.5, sorted keys, trailing newline), so a test can compare
``exercises/`` with a fresh run. Unbalanced markers raise ``ValueError`` naming the file and cell.

No lost work: a destination that resolves to a solution notebook (``dst = src``, or ``exercises/`` a link
to ``solutions/``) is refused; :func:`make_all` converts and checks every notebook before it writes any,
and writes each file atomically (temporary file + rename). No leaks: solution markers in a raw cell,
or any marker left over after the conversion (one not on a line of its own), are an error naming the
file and cell. An unreadable notebook is reported with its path.

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

__all__ = ["make_exercise", "make_all", "exercise_text", "solution_regions", "main"]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)###\s*BEGIN SOLUTION\b[:\s-]*(?P<hint>.*?)\s*$")
END = re.compile(r"^[ \t]*###\s*END SOLUTION\b.*$")
BEGIN_MS = re.compile(r"^\s*===\s*BEGIN MARK SCHEME\s*===\s*$")
END_MS = re.compile(r"^\s*===\s*END MARK SCHEME\s*===\s*$")
# a marker anywhere in a line (not only on a line of its own): none may survive into an exercise
LEFTOVER = re.compile(r"###\s*(BEGIN|END) SOLUTION|===\s*(BEGIN|END) MARK SCHEME")
NOTEBOOK_NAME = re.compile(r"^\d\d_.*\.ipynb$")
DEFAULT_HINT = "fill in this part"
MARKDOWN_STUB = "*Your answer here.*"
# Cell metadata written by Jupyter while running: not part of the exercise.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "widgets", "ExecuteTime")


def _regions(lines, begin, end, where):
    """Yield ``(start, stop, match)`` for every begin/end pair; raise ValueError if unbalanced."""
    start = None
    for i, line in enumerate(lines):
        if begin.match(line):
            if start is not None:
                raise ValueError(f"{where}: line {i + 1} opens a region before the one opened at "
                                 f"line {start + 1} is closed; add the missing END marker.")
            start, match = i, begin.match(line)
        elif end.match(line):
            if start is None:
                raise ValueError(f"{where}: line {i + 1} closes a region that was never opened; "
                                 "add the matching BEGIN marker or remove this line.")
            yield start, i, match
            start = None
    if start is not None:
        raise ValueError(f"{where}: the region opened at line {start + 1} is never closed; add the "
                         "END marker on its own line.")


def _check_source(source):
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of a cell (a str), got {type(source).__name__}.")


def solution_regions(source: str, *, where: str = "cell") -> list[list[str]]:
    """The lines strictly between each BEGIN/END SOLUTION pair of ``source`` (one list per region)."""
    _check_source(source)
    lines = source.splitlines()
    return [lines[a + 1:b] for a, b, _ in _regions(lines, BEGIN, END, where)]


def _replace(source: str, begin, end, stub, where: str) -> tuple[str, int]:
    """Replace every region of ``source`` by ``stub(match)`` (a list of lines); return (text, count)."""
    lines = source.splitlines()
    out, last, count = [], 0, 0
    for a, b, match in _regions(lines, begin, end, where):
        out += lines[last:a] + stub(match)
        last, count = b + 1, count + 1
    out += lines[last:]
    text = "\n".join(out)
    return (text + "\n" if source.endswith("\n") and out else text), count


def _code_stub(match) -> list[str]:
    hint = (match.group("hint") or DEFAULT_HINT).replace("\\", "\\\\").replace('"', '\\"')
    return [f'{match.group("indent")}raise NotImplementedError("Exercise: {hint}")']


def exercise_text(source: str, cell_type: str = "code", *, where: str = "cell") -> tuple[str, int]:
    """The exercise version of one cell's source and the number of solution regions replaced
    (mark-scheme regions are dropped but not counted). A raw cell with a solution marker is an error:
    nbgrader replaces solutions only in code and markdown cells, so it would be copied verbatim."""
    _check_source(source)
    if cell_type == "code":
        text, count = _replace(source, BEGIN, END, _code_stub, where)
    elif cell_type == "markdown":
        text, _ = _replace(source, BEGIN_MS, END_MS, lambda m: [], where + " (mark scheme)")
        text, count = _replace(text, BEGIN, END, lambda m: [MARKDOWN_STUB], where)
    elif cell_type == "raw":
        if LEFTOVER.search(source):
            raise ValueError(f"{where} is a raw cell with a solution marker; its text would reach the exercise "
                             "unchanged. Make it a markdown or code cell.")
        return source, 0
    else:
        raise ValueError(f"cell_type must be 'code', 'markdown' or 'raw', got {cell_type!r}.")
    left = LEFTOVER.search(text)
    if left:
        raise ValueError(f"{where}: the marker {left.group(0)!r} is not on a line of its own, so the solution "
                         "around it would leak into the exercise. Put each marker on its own line.")
    return text, count


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


def make_exercise(src_path, dst_path=None):
    """Read the solution notebook ``src_path``, return its exercise version (an ``nbformat.NotebookNode``);
    write it to ``dst_path`` (atomically).

    Raises ``ValueError`` (naming the file and the cell index) for unbalanced or leaking markers, for an
    invalid notebook, and for a ``dst_path`` that is ``src_path`` or a link to it.
    """
    src_path = Path(src_path)
    if dst_path is not None:
        refuse_source(dst_path, [src_path], name="dst_path")
    nb = copy.deepcopy(_read(src_path))
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        where = f"{src_path}: cell {i}"
        cell.source, count = exercise_text(cell.source, cell.cell_type, where=where)
        cell.setdefault("id", _cell_id(i, cell.source))
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if count:
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": f"cell-{cell['id']}",
                                         "locked": False, "schema_version": 3, "solution": True,
                                         "task": False}
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
    """Regenerate ``exercises/NN_*.ipynb`` from every ``solutions/NN_*.ipynb`` under ``root``.

    Writes only files whose bytes change and returns them. With ``check=True`` writes nothing and
    returns the exercise files that are stale, missing, or have no solution notebook (orphans).
    Every notebook is converted before any is written (one broken solution leaves ``exercises/`` as it
    was), a destination that resolves to a solution notebook is refused, and each file is written
    atomically.
    """
    root = Path(root)
    pairs = list(_pairs(root))
    sources = [src for src, _ in pairs]
    for _, dst in pairs:
        refuse_source(dst, sources, name="exercise notebook")
    made = [(dst, _to_bytes(make_exercise(src))) for src, dst in pairs]
    stale = []
    for dst, data in made:
        if dst.exists() and dst.read_bytes() == data:
            continue
        stale.append(dst)
        if not check:
            write_atomic(dst, data, sources=sources, name="exercise notebook")
    if check:
        sources = {src.name for src, _ in _pairs(root)}
        stale += [p for p in sorted((root / "exercises").glob("*.ipynb"))
                  if NOTEBOOK_NAME.match(p.name) and p.name not in sources]
    return stale


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``gnc-teach exercises`` (shared with ``python -m gnc_teach.exercises``)."""
    parser.add_argument("--check", action="store_true",
                        help="write nothing; list stale or missing exercise notebooks and exit 1 if any")
    parser.add_argument("--root", default=".", help="repository root holding solutions/ and exercises/")
    return parser


def run(args) -> int:
    """Run the command for parsed ``args``; return the exit code."""
    if not any(_pairs(Path(args.root))):
        print(f"error: no solution notebooks solutions/NN_*.ipynb under {Path(args.root).resolve()}; "
              "pass --root with the repository root.", file=sys.stderr)
        return 2
    try:
        paths = make_all(args.root, check=args.check)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for p in paths:
            print(f"stale or missing: {p}" if (Path(args.root) / "solutions" / p.name).exists()
                  else f"no solution notebook for: {p}")
        if not paths:
            print("exercises are up to date.")
        return 1 if paths else 0
    for p in paths:
        print(f"wrote {p}")
    if not paths:
        print("exercises are up to date.")
    return 0


def main(argv=None) -> int:
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m gnc_teach.exercises",
        description="Generate exercises/NN_*.ipynb from solutions/NN_*.ipynb."))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

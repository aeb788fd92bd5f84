"""The exercise format before the nbgrader conventions: kept only for solution notebooks not yet converted.

A notebook that has no autograded test cell (no line ``# Autograded: N points``) is still converted the
old way, so that its exercise stays as it was: ``### BEGIN SOLUTION: hint`` regions become
``raise NotImplementedError("Exercise: hint")``, markdown regions ``*Your answer here.*``, and
``=== BEGIN MARK SCHEME ===`` blocks are dropped. nbgrader cannot read such a notebook (it rejects
both the mark-scheme blocks and, without cell metadata, the solution regions), so it is neither annotated
nor part of the nbgrader round trip. Delete this module once every solution notebook is converted.
"""
from __future__ import annotations

import re

__all__ = ["legacy_text", "solution_regions"]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)###\s*BEGIN SOLUTION\b[:\s-]*(?P<hint>.*?)\s*$")
END = re.compile(r"^[ \t]*###\s*END SOLUTION\b.*$")
BEGIN_MS = re.compile(r"^\s*===\s*BEGIN MARK SCHEME\s*===\s*$")
END_MS = re.compile(r"^\s*===\s*END MARK SCHEME\s*===\s*$")
# a marker anywhere in a line (not only on a line of its own): none may survive into an exercise
LEFTOVER = re.compile(r"###\s*(BEGIN|END) SOLUTION|===\s*(BEGIN|END) MARK SCHEME")
DEFAULT_HINT = "fill in this part"
MARKDOWN_STUB = "*Your answer here.*"


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


def legacy_text(source: str, cell_type: str = "code", *, where: str = "cell") -> tuple[str, int]:
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


"""The exercise conventions in nbgrader's terms: what each cell of a solution notebook is, its nbgrader
metadata, and its student version.

A solution notebook marks its exercises with lines that nbgrader understands (each alone on its line):

* a **code solution cell** holds one or more regions ``### BEGIN SOLUTION`` … ``### END SOLUTION``;
* an **autograded test cell** starts with the line ``# Autograded: N points``; it may hold a region
  ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` that students never see;
* a **written answer cell** (markdown) holds a solution region with the model answer and one line
  ``**Mark scheme (N points).**`` inside it.

nbgrader finds a delimiter wherever its phrase occurs in a line ("BEGIN SOLUTION" inside a sentence
counts) and drops the whole line, text after the marker included. So any line that contains one of the
phrases must be exactly a marker line; anything else is an error here, before nbgrader meets it.

From the markers, :func:`cell_metadata` derives nbgrader's cell metadata (schema 3): solution cells are
"autograded answers", test cells "autograder tests" (locked, with points), answer cells "manually graded
answers" (with the mark scheme's points). Grade ids are ``ex<N>-code``, ``ex<N>-tests``, ``ex<N>-answer``
(``-2``, ``-3`` … for more of a kind), N from the last "Exercise N" heading above the cell.

:func:`student_source` is nbgrader's ``generate_assignment`` rewrite of one cell: a solution region
becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (code) or ``YOUR ANSWER HERE`` (markdown),
indented like its BEGIN line; a hidden-tests region disappears. :func:`release_metadata` adds what
nbgrader adds to the student version (``checksum``, ``cell_type``, the locks). The nbgrader round-trip
test (``tests/test_nbgrader.py``) checks both against the real package.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["CellRole", "cell_role", "cell_metadata", "student_source", "release_metadata", "regions",
           "secret_lines", "CODE_STUB", "TEXT_STUB"]

# The phrases nbgrader looks for anywhere in a line (its default delimiters).
PHRASES = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
MARKER = re.compile(r"^(?P<indent>[ \t]*)### (?P<what>BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|"
                    r"END HIDDEN TESTS)[ \t]*$")
AUTOGRADED = re.compile(r"^#[ \t]*Autograded:[ \t]*(?P<points>\d+(?:\.\d+)?)[ \t]+points?[ \t]*$")
MARK_SCHEME = re.compile(r"^[ \t]*\*\*Mark scheme \((?P<points>\d+(?:\.\d+)?) points?\)\.\*\*")
MARK_SCHEME_ANYWHERE = re.compile(r"\*\*\s*Mark scheme", re.IGNORECASE)
EXERCISE = re.compile(r"^[ \t]*(?:#+[ \t]*|\*\*)Exercise[ \t]+(?P<n>\d+)", re.MULTILINE)
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")   # nbgrader's defaults (python)
TEXT_STUB = ("YOUR ANSWER HERE",)
SCHEMA_VERSION = 3


@dataclass(frozen=True)
class CellRole:
    """What a cell is for nbgrader: ``kind`` is "code" (solution), "tests" (autograded), "answer" (written,
    manually graded) or None; ``points`` for "tests" and "answer"."""

    kind: str | None
    points: float | None = None


def _lines(source: str) -> list[str]:
    return source.split("\n")   # as nbgrader splits: a trailing newline gives a last empty line


def _markers(lines, where):
    """``[(line index, 'BEGIN SOLUTION' | ..., indent)]``; a line with a delimiter phrase that is not a
    canonical marker line is an error."""
    found = []
    for i, line in enumerate(lines):
        phrase = next((p for p in PHRASES if p in line), None)
        if phrase is None:
            continue
        m = MARKER.match(line)
        if m is None:
            if "MARK SCHEME" in phrase:
                raise ValueError(f"{where}, line {i + 1}: a {phrase!r} block. nbgrader accepts it only in a task "
                                 "cell; put the mark scheme inside the answer's solution region instead, as a line "
                                 "`**Mark scheme (N points).**` followed by the points per step.")
            raise ValueError(f"{where}, line {i + 1}: {line.strip()[:80]!r} contains {phrase!r}. nbgrader takes "
                             f"every such line for a marker and drops all of it; write the marker alone on its "
                             f"line (`### {phrase}`) and move any other text off that line.")
        found.append((i, m.group("what"), m.group("indent")))
    return found


def _regions(markers, kind, where):
    """``[(begin, end, indent)]`` of the ``kind`` regions ("SOLUTION" or "HIDDEN TESTS"), balanced."""
    out, start = [], None
    for i, what, indent in markers:
        if not what.endswith(kind):
            if start is not None:
                raise ValueError(f"{where}, line {i + 1}: a {what!r} marker inside the {kind} region opened at "
                                 f"line {start[0] + 1}; regions must not nest or overlap.")
            continue
        if what.startswith("BEGIN"):
            if start is not None:
                raise ValueError(f"{where}, line {i + 1}: opens a {kind} region before the one opened at "
                                 f"line {start[0] + 1} is closed; add the missing `### END {kind}`.")
            start = (i, indent)
        else:
            if start is None:
                raise ValueError(f"{where}, line {i + 1}: closes a {kind} region that was never opened; add "
                                 f"the matching `### BEGIN {kind}` or remove this line.")
            out.append((start[0], i, start[1]))
            start = None
    if start is not None:
        raise ValueError(f"{where}, line {start[0] + 1}: the {kind} region opened here is never closed; add "
                         f"`### END {kind}` on its own line.")
    return out


def _parse(cell_type: str, source: str, where: str):
    """``(role, solution regions, hidden regions, lines)`` of one cell, or ValueError naming the problem."""
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of a cell (a str), got {type(source).__name__}.")
    if cell_type not in ("code", "markdown", "raw"):
        raise ValueError(f"cell_type must be 'code', 'markdown' or 'raw', got {cell_type!r}.")
    lines = _lines(source)
    markers = _markers(lines, where)
    if cell_type == "raw":
        if markers:
            raise ValueError(f"{where} is a raw cell with a marker; nbgrader rejects it (and a raw cell is copied "
                             "to students as it is). Make it a markdown or code cell.")
        return CellRole(None), [], [], lines
    solutions = _regions(markers, "SOLUTION", where)
    hidden = _regions(markers, "HIDDEN TESTS", where)
    header = AUTOGRADED.match(lines[0]) if cell_type == "code" else None
    late = next((i for i, ln in enumerate(lines[1:], 1) if AUTOGRADED.match(ln)), None) if cell_type == "code" else None
    if late is not None:
        raise ValueError(f"{where}, line {late + 1}: `# Autograded: N points` must be the first line of its cell.")
    if hidden and not header:
        raise ValueError(f"{where}: hidden tests outside an autograded test cell; start the cell with the line "
                         "`# Autograded: N points`.")
    if header:
        if solutions:
            raise ValueError(f"{where}: an autograded test cell with a solution region; the solution goes in its "
                             "own cell, right above the test cell.")
        points = float(header.group("points"))
        if points <= 0:
            raise ValueError(f"{where}: an autograded test cell worth {points:g} points; give it at least 1.")
        return CellRole("tests", points), solutions, hidden, lines
    if cell_type == "markdown":
        inside = {i for a, b, _ in solutions for i in range(a, b + 1)}
        schemes = [(i, MARK_SCHEME.match(ln)) for i, ln in enumerate(lines) if MARK_SCHEME_ANYWHERE.search(ln)]
        for i, m in schemes:
            if i not in inside:
                raise ValueError(f"{where}, line {i + 1}: a mark scheme outside the solution region would reach the "
                                 "students; move it between `### BEGIN SOLUTION` and `### END SOLUTION`.")
            if m is None:
                raise ValueError(f"{where}, line {i + 1}: write the mark scheme's first line as "
                                 "`**Mark scheme (N points).**` (nbgrader takes the points from it).")
        if solutions:
            if len(schemes) != 1:
                raise ValueError(f"{where}: a written answer needs exactly one `**Mark scheme (N points).**` line "
                                 f"inside its solution region (found {len(schemes)}).")
            points = float(schemes[0][1].group("points"))
            if points <= 0:
                raise ValueError(f"{where}: a mark scheme worth {points:g} points; give it at least 1.")
            return CellRole("answer", points), solutions, hidden, lines
        return CellRole(None), solutions, hidden, lines
    return CellRole("code" if solutions else None), solutions, hidden, lines


def cell_role(cell_type: str, source: str, *, where: str = "cell") -> CellRole:
    """The :class:`CellRole` of one cell; ValueError (naming ``where`` and the line) when its markers break
    the conventions or would make nbgrader fail or leak."""
    return _parse(cell_type, source, where)[0]


def regions(cell_type: str, source: str, *, where: str = "cell") -> tuple[list[list[str]], list[list[str]]]:
    """``(solution regions, hidden-test regions)``: the lines strictly between each pair of markers."""
    _, solutions, hidden, lines = _parse(cell_type, source, where)
    return ([lines[a + 1:b] for a, b, _ in solutions], [lines[a + 1:b] for a, b, _ in hidden])


def secret_lines(cell_type: str, source: str, *, where: str = "cell") -> list[str]:
    """The lines students must not see: inside solution and hidden-test regions, markers excluded."""
    solutions, hidden = regions(cell_type, source, where=where)
    return [line for region in solutions + hidden for line in region]


def student_source(cell_type: str, source: str, *, where: str = "cell") -> str:
    """The cell's text in the student version, exactly as nbgrader's ``generate_assignment`` writes it."""
    _, solutions, hidden, lines = _parse(cell_type, source, where)
    stub = CODE_STUB if cell_type == "code" else TEXT_STUB
    cut = {a: [indent + s for s in stub] for a, _, indent in solutions}
    cut.update({a: [] for a, _, _ in hidden})
    drop = {i for a, b, _ in solutions + hidden for i in range(a, b + 1)}
    out = []
    for i, line in enumerate(lines):
        if i in cut:
            out += cut[i]
        elif i not in drop:
            out.append(line)
    return "\n".join(out)


def _number(points: float):
    return int(points) if float(points).is_integer() else float(points)


def cell_metadata(cells, *, where: str = "notebook") -> list[dict | None]:
    """nbgrader's ``metadata["nbgrader"]`` for each of ``cells`` (dicts or NotebookNodes with ``cell_type``
    and ``source``), None for a cell without a role. ValueError lists every cell that breaks a rule."""
    if isinstance(cells, (str, bytes, dict)) or not all(
            isinstance(c, dict) and "cell_type" in c and "source" in c for c in cells):
        raise TypeError("cells must be a list of notebook cells (dicts with 'cell_type' and 'source'), got "
                        f"{type(cells).__name__}.")
    errors, roles = [], []
    for i, cell in enumerate(cells):
        try:
            roles.append(cell_role(cell["cell_type"], cell["source"], where=f"{where}: cell {i}"))
        except (ValueError, TypeError) as exc:
            errors.append(str(exc))
            roles.append(CellRole(None))
    if errors:
        raise ValueError("\n".join(errors))
    out, exercise, used = [], 0, {}
    for cell, role in zip(cells, roles):
        if cell["cell_type"] == "markdown" and role.kind is None:
            m = EXERCISE.search(cell["source"])
            exercise = int(m.group("n")) if m else exercise
        if role.kind is None:
            out.append(None)
            continue
        base = f"ex{exercise}-{role.kind}"
        used[base] = used.get(base, 0) + 1
        meta = {"grade": role.kind != "code", "grade_id": base if used[base] == 1 else f"{base}-{used[base]}",
                "locked": role.kind == "tests", "schema_version": SCHEMA_VERSION,
                "solution": role.kind != "tests", "task": False}
        if role.points is not None:
            meta["points"] = _number(role.points)
        out.append(meta)
    return out


def release_metadata(cell_type: str, student: str, meta: dict) -> dict:
    """The metadata nbgrader gives a cell of the student version: ``{"nbgrader": meta + checksum +
    cell_type, "deletable": False[, "editable": False]}``. The checksum is nbgrader's: an MD5 over the
    student source, the cell type, the grade/solution/locked flags, the grade id and (grade cells) the
    points as a float."""
    if not isinstance(meta, dict) or not {"grade", "solution", "locked", "grade_id"} <= set(meta) or (
            meta["grade"] and "points" not in meta):
        raise ValueError("meta must be a cell's nbgrader metadata (from cell_metadata), with grade, solution, "
                         f"locked, grade_id and, for a grade cell, points; got {meta!r}"[:300])
    digest = hashlib.md5()
    parts = [student, cell_type, str(meta["grade"]), str(meta["solution"]), str(meta["locked"]), meta["grade_id"]]
    if meta["grade"]:
        parts.append(str(float(meta["points"])))
    for part in parts:
        digest.update(part.encode("utf-8"))
    out = {"nbgrader": dict(meta, checksum=digest.hexdigest(), cell_type=cell_type), "deletable": False}
    if not meta["solution"]:
        out["editable"] = False   # test cells are read-only; answers stay editable
    return out

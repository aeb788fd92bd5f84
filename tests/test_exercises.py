"""The exercise conventions, their nbgrader annotation, the generator, and EVERY shipped exercise notebook.

The notebook tests are parametrised over ``solutions/NN_*.ipynb``, so a new lesson is covered as soon as
its solution notebook lands. (That the solutions themselves run and pass their checks is covered by nbval,
which runs ``solutions/`` with ``GNC_TEACH_STRICT_CHECKS=1`` from the root conftest; that nbgrader takes
them unchanged and grades them right is ``tests/test_nbgrader.py``.)
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from gnc_teach import exercises
from gnc_teach.exercises import annotate, exercise_text, is_annotated, make_all, make_exercise, solution_regions
from gnc_teach.nbgrader_cells import cell_metadata, cell_role, release_metadata, secret_lines, student_source

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(p for p in (ROOT / "solutions").glob("*.ipynb") if re.match(r"^\d\d_", p.name))
STUB = "raise NotImplementedError()"          # nbgrader's code stub

SOLUTION_CELL = "def f(x):\n    '''x squared.'''\n    ### BEGIN SOLUTION\n    y = x * x\n    return y\n    ### END SOLUTION\n"
TEST_CELL = "# Autograded: 2 points\ncheck(f)\n### BEGIN HIDDEN TESTS\nassert f(3) == 9\n### END HIDDEN TESTS"
ANSWER_CELL = "### BEGIN SOLUTION\nBecause of the rank.\n\n**Mark scheme (3 points).** Rank (2), conclusion (1).\n### END SOLUTION"


def _write(tmp_path, cells, name="01_demo.ipynb"):
    nb = new_notebook(cells=cells)
    path = tmp_path / "solutions" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _exercise_cells():
    return [new_markdown_cell("## Exercise 1 — squares (from scratch, ≈ 5 min)"), new_code_cell(SOLUTION_CELL),
            new_code_cell(TEST_CELL), new_markdown_cell("## Exercise 2 — why (proof, ≈ 5 min)"),
            new_markdown_cell(ANSWER_CELL)]


# ---------------------------------------------------------------- the conventions, cell by cell

def test_code_stub_is_nbgraders_at_the_indentation_of_the_marker():
    text, n = exercise_text(SOLUTION_CELL)
    assert n == 1
    assert text == "def f(x):\n    '''x squared.'''\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert solution_regions(SOLUTION_CELL) == [["    y = x * x", "    return y"]]


def test_answer_becomes_nbgraders_text_stub_and_the_mark_scheme_goes_with_it():
    md = "Intro stays.\n" + ANSWER_CELL + "\nOutro stays."
    assert student_source("markdown", md) == "Intro stays.\nYOUR ANSWER HERE\nOutro stays."
    assert any("Mark scheme" in line for line in secret_lines("markdown", md))


def test_hidden_tests_disappear_and_count_as_secret():
    assert student_source("code", TEST_CELL) == "# Autograded: 2 points\ncheck(f)"
    assert secret_lines("code", TEST_CELL) == ["assert f(3) == 9"]


def test_roles_and_points():
    assert cell_role("code", SOLUTION_CELL).kind == "code"
    assert cell_role("code", TEST_CELL) == cell_role("code", "# Autograded: 2 points\ncheck(f)")
    assert cell_role("code", TEST_CELL).points == 2
    assert cell_role("markdown", ANSWER_CELL).points == 3
    assert cell_role("code", "# Autograded: 1 point\nx").points == 1
    assert cell_role("markdown", "## Exercise 1").kind is None
    assert cell_role("code", "x = 1  # no markers").kind is None


@pytest.mark.parametrize("cell_type, source, match", [
    ("code", "### BEGIN SOLUTION: square it\nx = 1\n### END SOLUTION", r"line 1.*alone on its"),
    ("code", "x = 1\ny = 2  ### END SOLUTION", r"line 2.*contains 'END SOLUTION'"),
    ("markdown", "We never write BEGIN SOLUTION in prose.", r"line 1.*contains 'BEGIN SOLUTION'"),
    ("markdown", "### BEGIN SOLUTION\nx\n### END SOLUTION\n=== BEGIN MARK SCHEME ===\n1 mark\n=== END MARK SCHEME ===",
     r"'BEGIN MARK SCHEME' block"),
    ("markdown", "### BEGIN SOLUTION\nanswer\n### END SOLUTION", r"exactly one `\*\*Mark scheme"),
    ("markdown", "**Mark scheme (2 points).** leaked\n### BEGIN SOLUTION\nx\n**Mark scheme (2 points).**\n### END SOLUTION",
     r"line 1: a mark scheme outside the solution region"),
    ("markdown", "### BEGIN SOLUTION\nx\n**Mark scheme.** 2 points\n### END SOLUTION", r"first line as"),
    ("code", "### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS", r"hidden tests outside an autograded"),
    ("code", "x = 1\n# Autograded: 2 points", r"must be the first line"),
    ("code", "# Autograded: 2 points\n### BEGIN SOLUTION\nx\n### END SOLUTION", r"with a solution region"),
    ("code", "# Autograded: 0 points\ncheck(f)", r"at least 1"),
    ("code", "### BEGIN SOLUTION\nx = 1\n", r"line 1: the SOLUTION region opened here is never closed"),
    ("code", "x = 1\n### END SOLUTION\n", r"line 2: closes a SOLUTION region that was never opened"),
    ("code", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", r"line 2: opens a SOLUTION region before"),
    ("code", "# Autograded: 1 point\n### BEGIN HIDDEN TESTS\n### BEGIN SOLUTION\n### END SOLUTION\n### END HIDDEN TESTS",
     r"must not nest"),
    ("raw", "### BEGIN SOLUTION\nx\n### END SOLUTION", r"raw cell with a marker"),
])
def test_a_broken_convention_is_an_error_naming_cell_and_line(cell_type, source, match):
    with pytest.raises(ValueError, match=match):
        cell_role(cell_type, source, where="cell 7")
    with pytest.raises(ValueError, match="cell 7"):
        student_source(cell_type, source, where="cell 7")


def test_metadata_grade_ids_follow_the_exercise_headings():
    cells = _exercise_cells() + [new_code_cell("### BEGIN SOLUTION\nz = 1\n### END SOLUTION")]
    meta = cell_metadata(cells)
    assert [m and m["grade_id"] for m in meta] == [None, "ex1-code", "ex1-tests", None, "ex2-answer", "ex2-code"]
    assert meta[1] == {"grade": False, "grade_id": "ex1-code", "locked": False, "schema_version": 3,
                       "solution": True, "task": False}
    assert meta[2] == {"grade": True, "grade_id": "ex1-tests", "locked": True, "points": 2, "schema_version": 3,
                       "solution": False, "task": False}
    assert meta[4] == {"grade": True, "grade_id": "ex2-answer", "locked": False, "points": 3, "schema_version": 3,
                       "solution": True, "task": False}
    twice = cell_metadata([new_code_cell(SOLUTION_CELL), new_code_cell(SOLUTION_CELL)])
    assert [m["grade_id"] for m in twice] == ["ex0-code", "ex0-code-2"]


def test_metadata_errors_list_every_broken_cell():
    cells = [new_code_cell("### BEGIN SOLUTION: hint\n### END SOLUTION"), new_code_cell("ok = 1"),
             new_markdown_cell("### BEGIN SOLUTION\nno scheme\n### END SOLUTION")]
    with pytest.raises(ValueError) as err:
        cell_metadata(cells, where="nb")
    assert "nb: cell 0" in str(err.value) and "nb: cell 2" in str(err.value)


def test_release_metadata_locks_and_checksum():
    test_meta = cell_metadata([new_code_cell(TEST_CELL)])[0]
    out = release_metadata("code", "# Autograded: 2 points\ncheck(f)", test_meta)
    assert out["deletable"] is False and out["editable"] is False
    assert re.fullmatch(r"[0-9a-f]{32}", out["nbgrader"]["checksum"]) and out["nbgrader"]["cell_type"] == "code"
    answer = release_metadata("markdown", "YOUR ANSWER HERE", cell_metadata([new_markdown_cell(ANSWER_CELL)])[0])
    assert answer["deletable"] is False and "editable" not in answer
    other = release_metadata("code", "# Autograded: 2 points\ncheck(g)", test_meta)
    assert other["nbgrader"]["checksum"] != out["nbgrader"]["checksum"]


# ---------------------------------------------------------------- the generator on whole notebooks

def test_annotate_and_make_exercise(tmp_path):
    path = _write(tmp_path, _exercise_cells())
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].metadata["nbgrader"] = {"stale": True}          # metadata without a marker is removed
    assert is_annotated(nb)
    done = annotate(nb)
    assert "nbgrader" not in done.cells[0].metadata and done.cells[2].metadata["nbgrader"]["points"] == 2
    assert "nbgrader" not in nb.cells[2].metadata               # the input is not modified
    ex = make_exercise(path, tmp_path / "out.ipynb")
    assert [c.source for c in ex.cells][1:] == [
        "def f(x):\n    '''x squared.'''\n    # YOUR CODE HERE\n    raise NotImplementedError()\n",
        "# Autograded: 2 points\ncheck(f)", "## Exercise 2 — why (proof, ≈ 5 min)", "YOUR ANSWER HERE"]
    assert ex.cells[2].metadata["editable"] is False and "checksum" in ex.cells[2].metadata["nbgrader"]


def test_outputs_counts_and_widget_state_cleared(tmp_path):
    cell = new_code_cell(SOLUTION_CELL, execution_count=7, outputs=[nbformat.v4.new_output("stream", text="2\n")],
                         metadata={"tags": ["keep"], "execution": {"iopub.status.idle": "2024-01-01T00:00:00Z"},
                                   "scrolled": True})
    path = _write(tmp_path, [cell, new_code_cell(TEST_CELL, execution_count=8)])
    nb = nbformat.read(path, as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, path)
    ex = make_exercise(path, tmp_path / "out.ipynb")
    assert "widgets" not in ex.metadata
    for c in ex.cells:
        assert c.outputs == [] and c.execution_count is None
    assert ex.cells[0].metadata["tags"] == ["keep"]
    assert "execution" not in ex.cells[0].metadata and "scrolled" not in ex.cells[0].metadata
    assert nbformat.read(path, as_version=4).cells[0].outputs      # the source notebook is untouched


def test_output_is_deterministic_and_ends_with_newline(tmp_path):
    path = _write(tmp_path, [new_code_cell(SOLUTION_CELL), new_code_cell(TEST_CELL)])
    nb = nbformat.read(path, as_version=4)
    nb.nbformat_minor = 4  # an old notebook without cell ids still gets stable ids
    for c in nb.cells:
        c.pop("id", None)
    nbformat.write(nb, path)
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    make_exercise(path, a)
    make_exercise(path, b)
    assert a.read_bytes() == b.read_bytes() and a.read_bytes().endswith(b"}\n")
    assert nbformat.read(a, as_version=4).nbformat_minor == 5


def test_a_notebook_without_autograded_cells_is_refused(tmp_path):
    # The old marker format (a hint after `### BEGIN SOLUTION:`, no autograded cell) is no longer converted.
    path = _write(tmp_path, [new_code_cell("### BEGIN SOLUTION\ny = x * x\n### END SOLUTION")])
    assert not is_annotated(nbformat.read(path, as_version=4))
    with pytest.raises(ValueError, match=r"01_demo.ipynb: not an nbgrader solution notebook.*# Autograded: N points"):
        make_exercise(path)
    with pytest.raises(ValueError, match="not an nbgrader solution notebook"):
        make_all(tmp_path)
    assert not (tmp_path / "exercises").exists() or not any((tmp_path / "exercises").iterdir())
    raw = _write(tmp_path, [new_raw_cell("### BEGIN SOLUTION\nx\n### END SOLUTION")], "02_raw.ipynb")
    with pytest.raises(ValueError, match="raw cell"):
        make_exercise(raw)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_solution_notebook_is_annotated(solution):
    assert is_annotated(nbformat.read(solution, as_version=4)), (
        f"{solution.name} has no autograded test cell (`# Autograded: N points`)")


def test_make_all_annotates_writes_then_check_reports_stale_missing_and_orphans(tmp_path, capsys):
    src = _write(tmp_path, _exercise_cells(), "01_a.ipynb")
    _write(tmp_path, [new_code_cell("# Autograded: 1 points\nassert 2 == 2")], "02_b.ipynb")
    _write(tmp_path, [new_code_cell("z = 3")], "notes.ipynb")  # not NN_*: ignored
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stale nbgrader metadata: " in out and "stale or missing" in out
    written = make_all(tmp_path)
    assert [f"{p.parent.name}/{p.name}" for p in written] == [
        "solutions/01_a.ipynb", "solutions/02_b.ipynb", "exercises/01_a.ipynb", "exercises/02_b.ipynb"]
    assert nbformat.read(src, as_version=4).cells[2].metadata["nbgrader"]["grade_id"] == "ex1-tests"
    assert not (tmp_path / "exercises" / "notes.ipynb").exists()
    assert make_all(tmp_path, check=True) == [] and make_all(tmp_path) == []
    nb = nbformat.read(src, as_version=4)                       # someone edits the points by hand
    nb.cells[2].metadata["nbgrader"]["points"] = 5
    nbformat.write(nb, src)
    (tmp_path / "exercises" / "03_orphan.ipynb").write_text("{}")
    assert [p.name for p in make_all(tmp_path, check=True)] == ["01_a.ipynb", "03_orphan.ipynb"]
    assert nbformat.read(src, as_version=4).cells[2].metadata["nbgrader"]["points"] == 5   # check writes nothing
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 1
    assert "no solution notebook for" in capsys.readouterr().out
    assert exercises.main(["--root", str(tmp_path)]) == 0
    assert nbformat.read(src, as_version=4).cells[2].metadata["nbgrader"]["points"] == 2
    (tmp_path / "exercises" / "03_orphan.ipynb").unlink()
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 0


def test_one_broken_notebook_writes_nothing_and_all_errors_are_listed(tmp_path, capsys):
    good = _write(tmp_path, _exercise_cells(), "01_a.ipynb")
    before = good.read_bytes()
    _write(tmp_path, [new_code_cell(TEST_CELL), new_code_cell("### BEGIN SOLUTION: hint\n### END SOLUTION")], "02_b.ipynb")
    _write(tmp_path, [new_code_cell(TEST_CELL), new_markdown_cell("### BEGIN SOLUTION\nx\n### END SOLUTION")], "03_c.ipynb")
    assert exercises.main(["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "02_b.ipynb: cell 1, line 1" in err and "03_c.ipynb: cell 1" in err
    assert good.read_bytes() == before and not (tmp_path / "exercises").exists()


def test_cli_without_solutions_is_an_error(tmp_path, capsys):
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 2
    assert "no solution notebooks" in capsys.readouterr().err


def test_gnc_teach_cli_has_exercises_subcommand(tmp_path):
    cli = pytest.importorskip("gnc_teach.cli")
    _write(tmp_path, _exercise_cells())
    assert cli.main(["exercises", "--check", "--root", str(tmp_path)]) == 1
    assert cli.main(["exercises", "--root", str(tmp_path)]) == 0
    assert cli.main(["exercises", "--check", "--root", str(tmp_path)]) == 0


def test_module_entry_point(tmp_path):
    import subprocess
    import sys
    _write(tmp_path, _exercise_cells())
    run = subprocess.run([sys.executable, "-m", "gnc_teach.exercises", "--check", "--root", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "stale nbgrader metadata" in run.stdout


# ---------------------------------------------------------------- the shipped exercise notebooks

def test_every_solution_has_up_to_date_metadata_and_exercise():
    stale = make_all(ROOT, check=True)
    assert stale == [], (f"stale: {[str(p) for p in stale]}; run `gnc-teach exercises` and commit solutions/ "
                         "and exercises/.")


def _secret_lines(nb) -> set[str]:
    """Non-trivial stripped lines inside solution (and hidden-test) regions that do not also appear outside."""
    inside, outside = set(), set()
    for cell in nb.cells:
        secret = {ln.strip() for ln in secret_lines(cell.cell_type, cell.source)}
        inside |= secret
        outside |= {ln.strip() for ln in cell.source.splitlines()} - secret
    trivial = re.compile(r"^([#)\]}\s:,]*|pass|return|else:|break|continue)$")
    return {ln for ln in inside - outside if not trivial.match(ln) and not ln.startswith("#") and len(ln) >= 6}


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_exercise_hides_solutions_and_ships_no_outputs(solution):
    exercise = ROOT / "exercises" / solution.name
    assert exercise.exists(), f"{exercise} is missing; run `gnc-teach exercises`."
    ex = nbformat.read(exercise, as_version=4)
    sol = nbformat.read(solution, as_version=4)
    ex_lines = {ln.strip() for c in ex.cells for ln in c.source.splitlines()}
    leaked = sorted(_secret_lines(sol) & ex_lines)
    assert leaked == [], f"solution lines leaked into {exercise.name}: {leaked}"
    assert any(STUB in c.source for c in ex.cells), f"{exercise.name} has no stub"
    for c in ex.cells:
        assert "BEGIN SOLUTION" not in c.source and "MARK SCHEME" not in c.source and "HIDDEN TESTS" not in c.source
        assert not re.search(r"(?i)\*\*\s*mark scheme", c.source), f"a mark scheme leaked into {exercise.name}"
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
    assert "widgets" not in ex.metadata


# "## Exercise N — title (kind, ≈ T min)" or, under a heading, "**Exercise N (kind, ≈ T min).**"
KIND = re.compile(r"^(?:#+ |\*\*)Exercise (\d+)\b.*?\((proof|from scratch|open-ended), ≈ (\d+) min\)", re.M)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_annotated_notebook_follows_the_conventions(solution):
    nb = nbformat.read(solution, as_version=4)
    cells = nb.cells
    roles = [cell_role(c.cell_type, c.source).kind for c in cells]
    stated = {}                                     # exercise number -> (kind, minutes), first statement
    for c in cells:
        for m in KIND.finditer(c.source) if c.cell_type == "markdown" else ():
            stated.setdefault(int(m.group(1)), (m.group(2), int(m.group(3))))
    assert stated, f"{solution.name}: no exercise states its kind and time, e.g. '(proof, ≈ 25 min)'"
    kinds = {kind for kind, _ in stated.values()}
    assert kinds == {"proof", "from scratch", "open-ended"}, f"{solution.name}: kinds {kinds}"
    minutes = sum(t for _, t in stated.values())
    assert 60 <= minutes <= 120, f"{solution.name}: exercises take {minutes} min; a lesson's take 1–2 hours"
    assert list(stated) == list(range(1, len(stated) + 1)), f"{solution.name}: exercises numbered {list(stated)}"
    for i, role in enumerate(roles):
        if role == "tests":
            assert roles[i - 1] == "code", f"{solution.name}: cell {i}, a test cell not right after a solution cell"
        if role == "code":
            assert roles[i + 1] == "tests", f"{solution.name}: cell {i}, a solution cell without its test cell"
            assert re.search(r"^\s*def \w+\(.*\):\n\s+(\"\"\"|''')", cells[i].source, re.M), (
                f"{solution.name}: cell {i}, a solution cell without a def and its docstring")
        if role == "answer":   # its question is in the markdown cell above, or above the region in this one
            asked = cells[i - 1].cell_type == "markdown" or not cells[i].source.lstrip().startswith("### BEGIN")
            assert asked, f"{solution.name}: cell {i}, a written answer without its question right above it"
    assert "answer" in roles, f"{solution.name}: no written answer with a mark scheme"


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts += [str(v) for k, v in out.data.items() if k.startswith("text/")]
        elif out.output_type == "error":
            parts.append(out.evalue)
    return "".join(parts)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_exercise_runs_to_its_first_stub_and_its_checks_fail(solution, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "exercises" / solution.name, as_version=4)
    env = dict(os.environ, GNC_TEACH_STRICT_CHECKS="0", MPLBACKEND="Agg")
    # Own kernel and a private working directory: safe under pytest-xdist.
    client = NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)

    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    stub = STUB
    first_stub = next(i for i, c in code if stub in c.source)
    errors = [(i, out) for i, c in code for out in c.outputs if out.output_type == "error"]
    for i, out in errors:
        assert i >= first_stub, (f"cell {i} (before the first stub, cell {first_stub}) raised "
                                 f"{out.ename}: {out.evalue}")
    if errors:
        i, out = errors[0]
        assert out.ename == "NotImplementedError", f"first error, cell {i}: {out.ename}: {out.evalue}"
    text = "\n".join(_output_text(c) for _, c in code)
    assert "✅" not in text, f"a check passed on a stub:\n{text}"
    assert "❌" in text or errors, "neither a failed check nor a raising stub: what does the exercise test?"
    # every autograded test cell fails on the stubs, with feedback
    tests = [(i, c) for i, c in code if cell_role("code", c.source).kind == "tests"]
    quiet = [i for i, c in tests if "❌" not in _output_text(c) and not any(
        o.output_type == "error" for o in c.outputs)]
    assert not quiet, f"test cells {quiet} neither failed a check nor raised on the stubs"

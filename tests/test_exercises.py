"""The exercise generator, and the generated exercises of EVERY solution notebook present.

The notebook tests are parametrised over ``solutions/NN_*.ipynb``, so a new lesson is covered as soon
as its solution notebook lands. (That the solutions themselves run and pass their checks is covered
by nbval, which runs ``solutions/`` with ``GNC_TEACH_STRICT_CHECKS=1`` from the root conftest.)
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gnc_teach import exercises
from gnc_teach.exercises import exercise_text, make_all, make_exercise, solution_regions

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(p for p in (ROOT / "solutions").glob("*.ipynb") if re.match(r"^\d\d_", p.name))
STUB = 'raise NotImplementedError("Exercise:'


def _write(tmp_path, cells, name="01_demo.ipynb"):
    nb = new_notebook(cells=cells)
    path = tmp_path / "solutions" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------- unit tests of the generator

def test_stub_keeps_indentation_and_hint():
    src = ("def f(x):\n"
           "    ### BEGIN SOLUTION: square it\n"
           "    y = x * x\n"
           "    return y\n"
           "    ### END SOLUTION\n")
    text, n = exercise_text(src)
    assert n == 1
    assert text == 'def f(x):\n    raise NotImplementedError("Exercise: square it")\n'


def test_multiple_regions_and_default_hint():
    src = ("a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3\n"
           "for i in range(2):\n\t### BEGIN SOLUTION\n\tc += i\n\t### END SOLUTION\nprint(c)")
    text, n = exercise_text(src)
    assert n == 2
    assert text.splitlines() == [
        "a = 1", 'raise NotImplementedError("Exercise: fill in this part")', "c = 3",
        "for i in range(2):", '\traise NotImplementedError("Exercise: fill in this part")', "print(c)"]
    assert solution_regions(src) == [["b = 2"], ["\tc += i"]]


def test_hint_with_quotes_is_valid_python():
    text, _ = exercise_text('### BEGIN SOLUTION say "hi" \\ now\nx = 1\n### END SOLUTION')
    compile(text, "<stub>", "exec")
    with pytest.raises(NotImplementedError, match=r'Exercise: say "hi" \\ now'):
        exec(text, {})


def test_text_without_markers_is_unchanged():
    src = "x = 1\n# BEGIN SOLUTION is only a comment here\n"
    assert exercise_text(src) == (src, 0)


@pytest.mark.parametrize("src, match", [
    ("### BEGIN SOLUTION\nx = 1\n", r"cell 0: the region opened at line 1 is never closed"),
    ("x = 1\n### END SOLUTION\n", r"cell 0: line 2 closes a region that was never opened"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
     r"cell 0: line 2 opens a region before the one opened at line 1 is closed"),
])
def test_unbalanced_markers_name_file_and_cell(tmp_path, src, match):
    path = _write(tmp_path, [new_markdown_cell("intro"), new_code_cell(src)])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*cell 1"):
        make_exercise(path)
    with pytest.raises(ValueError, match=match):
        exercise_text(src, where="cell 0")


def test_markdown_mark_scheme_dropped_and_answer_stubbed(tmp_path):
    md = ("Why?\n=== BEGIN MARK SCHEME ===\nBecause of the rank.\n=== END MARK SCHEME ===\nNext.\n"
          "### BEGIN SOLUTION\nThe rank is K-1.\n### END SOLUTION")
    nb = make_exercise(_write(tmp_path, [new_markdown_cell(md)]))
    assert nb.cells[0].source == "Why?\nNext.\n*Your answer here.*"
    unbalanced = _write(tmp_path, [new_markdown_cell("=== BEGIN MARK SCHEME ===\nsecret")], "02_x.ipynb")
    with pytest.raises(ValueError, match="cell 0 \\(mark scheme\\)"):
        make_exercise(unbalanced)


def test_outputs_counts_and_widget_state_cleared(tmp_path):
    cell = new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nprint(2)", execution_count=7,
                         outputs=[nbformat.v4.new_output("stream", text="2\n")],
                         metadata={"tags": ["keep"], "execution": {"iopub.status.idle": "2024-01-01T00:00:00Z"}, "scrolled": True})
    path = _write(tmp_path, [cell, new_code_cell("y = 2", execution_count=8)])
    nb = nbformat.read(path, as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, path)
    ex = make_exercise(path, tmp_path / "out.ipynb")
    assert "widgets" not in ex.metadata
    for c in ex.cells:
        assert c.outputs == [] and c.execution_count is None
    assert ex.cells[0].metadata["tags"] == ["keep"]
    assert "execution" not in ex.cells[0].metadata and "scrolled" not in ex.cells[0].metadata
    assert ex.cells[0].metadata["nbgrader"]["solution"] is True
    assert "nbgrader" not in ex.cells[1].metadata
    # The source notebook is untouched.
    assert nbformat.read(path, as_version=4).cells[0].outputs


def test_output_is_deterministic_and_ends_with_newline(tmp_path):
    path = _write(tmp_path, [new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    nb = nbformat.read(path, as_version=4)
    nb.nbformat_minor = 4  # an old notebook without cell ids still gets stable ids
    for c in nb.cells:
        c.pop("id", None)
    nbformat.write(nb, path)
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    make_exercise(path, a)
    make_exercise(path, b)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes().endswith(b"}\n")
    assert nbformat.read(a, as_version=4).nbformat_minor == 5


def test_make_all_writes_then_check_reports_stale_missing_and_orphans(tmp_path, capsys):
    _write(tmp_path, [new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "01_a.ipynb")
    _write(tmp_path, [new_code_cell("y = 2")], "02_b.ipynb")
    _write(tmp_path, [new_code_cell("z = 3")], "notes.ipynb")  # not NN_*: ignored
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 1
    assert "stale or missing" in capsys.readouterr().out
    written = make_all(tmp_path)
    assert [p.name for p in written] == ["01_a.ipynb", "02_b.ipynb"]
    assert not (tmp_path / "exercises" / "notes.ipynb").exists()
    assert make_all(tmp_path, check=True) == []
    assert make_all(tmp_path) == []  # nothing rewritten when nothing changed
    (tmp_path / "exercises" / "01_a.ipynb").write_text("{}")
    (tmp_path / "exercises" / "03_orphan.ipynb").write_text("{}")
    stale = make_all(tmp_path, check=True)
    assert [p.name for p in stale] == ["01_a.ipynb", "03_orphan.ipynb"]
    assert (tmp_path / "exercises" / "01_a.ipynb").read_text() == "{}"  # check writes nothing
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 1
    assert "no solution notebook for" in capsys.readouterr().out
    assert exercises.main(["--root", str(tmp_path)]) == 0
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 1  # the orphan stays
    (tmp_path / "exercises" / "03_orphan.ipynb").unlink()
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 0


def test_cli_without_solutions_is_an_error(tmp_path, capsys):
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 2
    assert "no solution notebooks" in capsys.readouterr().err


def test_cli_reports_unbalanced_markers(tmp_path, capsys):
    _write(tmp_path, [new_code_cell("### BEGIN SOLUTION\nx = 1")])
    assert exercises.main(["--root", str(tmp_path)]) == 2
    assert "never closed" in capsys.readouterr().err


def test_gnc_teach_cli_has_exercises_subcommand(tmp_path):
    cli = pytest.importorskip("gnc_teach.cli")
    _write(tmp_path, [new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    assert cli.main(["exercises", "--check", "--root", str(tmp_path)]) == 1
    assert cli.main(["exercises", "--root", str(tmp_path)]) == 0
    assert cli.main(["exercises", "--check", "--root", str(tmp_path)]) == 0


# ---------------------------------------------------------------- the shipped exercise notebooks

def test_every_solution_has_an_up_to_date_exercise():
    stale = make_all(ROOT, check=True)
    assert stale == [], (f"exercises are stale or missing: {[str(p) for p in stale]}; "
                         "run `gnc-teach exercises` and commit exercises/.")


def _secret_lines(nb) -> set[str]:
    """Non-trivial stripped lines inside solution regions that do not also appear outside them."""
    inside, outside = set(), set()
    for cell in nb.cells:
        lines = cell.source.splitlines()
        regions = solution_regions(cell.source) if cell.cell_type in ("code", "markdown") else []
        secret = {ln.strip() for r in regions for ln in r}
        inside |= secret
        outside |= {ln.strip() for ln in lines} - secret
    trivial = re.compile(r"^([#)\]}\s:,]*|pass|return|else:|break|continue)$")
    return {ln for ln in inside - outside
            if not trivial.match(ln) and not ln.startswith("#") and len(ln) >= 6}


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_exercise_hides_solutions_and_ships_no_outputs(solution):
    exercise = ROOT / "exercises" / solution.name
    assert exercise.exists(), f"{exercise} is missing; run `gnc-teach exercises`."
    ex = nbformat.read(exercise, as_version=4)
    sol = nbformat.read(solution, as_version=4)
    ex_lines = {ln.strip() for c in ex.cells for ln in c.source.splitlines()}
    leaked = sorted(_secret_lines(sol) & ex_lines)
    assert leaked == [], f"solution lines leaked into {exercise.name}: {leaked}"
    assert any(STUB in c.source for c in ex.cells), f"{exercise.name} has no exercise stub"
    for c in ex.cells:
        assert "BEGIN SOLUTION" not in c.source and "MARK SCHEME" not in c.source
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
    assert "widgets" not in ex.metadata


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts += [str(v) for k, v in out.data.items() if k.startswith("text/")]
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
    first_stub = next(i for i, c in code if STUB in c.source)
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


def test_module_entry_point(tmp_path):
    import subprocess
    import sys
    _write(tmp_path, [new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    run = subprocess.run([sys.executable, "-m", "gnc_teach.exercises", "--check", "--root", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "stale or missing" in run.stdout

"""The nbgrader round trip: every annotated solution notebook imports into nbgrader unchanged.

With the real nbgrader (the `instructor` extra), in a throwaway course built by ``gnc-teach course``:
``nbgrader generate_assignment`` for every lesson; submit (a) the solution notebook itself and (b)
nbgrader's student version, for one student each; ``nbgrader autograde`` both; then

* (a) gets every autograded point, and its written answers wait for manual grading;
* (b) gets 0 on every autograded cell and on every (unanswered) written answer;
* hidden tests are absent from the student version and back in the graded notebooks;
* ``gnc-teach exercises`` agrees with nbgrader's student version cell by cell: same sources (stubs, hidden
  tests removed), same nbgrader metadata (checksums included), same locks.

The kernels run without ``GNC_TEACH_STRICT_CHECKS``: a failed check must make its cell fail because
nbgrader is grading (``NBGRADER_EXECUTION``), as it will on an instructor's machine. Parametrised over
``solutions/NN_*.ipynb``; a notebook without nbgrader metadata yet is skipped with that reason. Without
nbgrader installed the tests skip, unless ``GNC_TEACH_REQUIRE_NBGRADER=1`` (CI) makes that a failure.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from gnc_teach.course import make_course
from gnc_teach.exercises import is_annotated

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(p for p in (ROOT / "solutions").glob("*.ipynb") if re.match(r"^\d\d_", p.name))
ANNOTATED = [p for p in SOLUTIONS if is_annotated(nbformat.read(p, as_version=4))]
pytestmark = pytest.mark.nbgrader
CELL_TIMEOUT = 120      # seconds per cell (nbgrader's Execute.timeout)
RUN_TIMEOUT = 900       # seconds for one nbgrader command

if os.environ.get("GNC_TEACH_REQUIRE_NBGRADER") != "1":
    pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[instructor]'")


def _nbgrader(course: Path, *args: str) -> str:
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("GNC_TEACH_STRICT_CHECKS", None)     # grading itself must make failed checks fail
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--Execute.timeout={CELL_TIMEOUT}"],
                         cwd=course, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stderr[-3000:]}"
    return run.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course after generate_assignment and autograde of both submissions, and its scores."""
    if not ANNOTATED:
        pytest.skip("no solution notebook carries nbgrader metadata yet")
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("course")
    make_course(root, root=ROOT)
    t0 = time.perf_counter()
    _nbgrader(root, "generate_assignment", "*")
    for src in ANNOTATED:
        lesson = f"lesson{src.name[:2]}"
        for student, origin in (("solution", root / "source"), ("stub", root / "release")):
            dst = root / "submitted" / student / lesson / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes((origin / lesson / src.name).read_bytes())
    log = _nbgrader(root, "autograde", "*")
    seconds = time.perf_counter() - t0
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for src in ANNOTATED:
            for student in ("solution", "stub"):
                nb = gb.find_submission_notebook(src.stem, f"lesson{src.name[:2]}", student)
                scores[src.name, student] = [(g.name, g.auto_score, g.max_score, g.needs_manual_grade,
                                              g.cell.cell_type) for g in nb.grades]
    print(f"nbgrader round trip of {len(ANNOTATED)} notebooks: {seconds:.0f} s")
    for (name, student), grades in scores.items():
        auto = [(g[1] or 0, g[2]) for g in grades if g[4] == "code"]
        written = [(g[1], g[2]) for g in grades if g[4] == "markdown"]
        print(f"  {name:40s} {student:8s} autograded {sum(a for a, _ in auto):g}/{sum(m for _, m in auto):g}, "
              f"written {'pending' if any(a is None for a, _ in written) else sum(a for a, _ in written)}"
              f"/{sum(m for _, m in written):g}")
    return {"root": root, "scores": scores, "log": log, "seconds": seconds}


def _params():
    return [pytest.param(p, id=p.stem) for p in ANNOTATED]


def _graded(course, src, student):
    return nbformat.read(course["root"] / "autograded" / student / f"lesson{src.name[:2]}" / src.name, as_version=4)


@pytest.mark.parametrize("src", _params())
def test_the_solution_gets_every_autograded_point(course, src):
    grades = course["scores"][src.name, "solution"]
    auto = [g for g in grades if g[4] == "code"]
    assert auto, f"{src.name}: no autograded cell"
    missed = [(name, score, top) for name, score, top, _, _ in auto if score != top]
    assert not missed, f"{src.name}: the solution lost points in {missed}"
    written = [g for g in grades if g[4] == "markdown"]
    assert all(g[3] and g[1] is None for g in written), f"{src.name}: written answers not left for manual grading"
    errors = [(i, o.ename) for i, c in enumerate(_graded(course, src, "solution").cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert not errors, f"{src.name}: the solution notebook raised or wrote to stderr under nbgrader: {errors}"


@pytest.mark.parametrize("src", _params())
def test_the_stubs_get_zero(course, src):
    grades = course["scores"][src.name, "stub"]
    scored = [(name, score) for name, score, _, _, _ in grades if score != 0]
    assert not scored, f"{src.name}: the unanswered student version scored in {scored}"
    assert not any(g[3] for g in grades), f"{src.name}: an unanswered written answer was left for manual grading"


@pytest.mark.parametrize("src", _params())
def test_our_exercise_is_nbgraders_student_version(course, src):
    ours = nbformat.read(ROOT / "exercises" / src.name, as_version=4)
    theirs = nbformat.read(course["root"] / "release" / f"lesson{src.name[:2]}" / src.name, as_version=4)
    assert len(ours.cells) == len(theirs.cells)
    for i, (a, b) in enumerate(zip(ours.cells, theirs.cells)):
        assert (a.cell_type, a.source) == (b.cell_type, b.source), f"{src.name}: cell {i} differs from nbgrader's"
        for key in ("nbgrader", "deletable", "editable"):
            assert a.metadata.get(key) == b.metadata.get(key), f"{src.name}: cell {i} metadata {key!r} differs"


@pytest.mark.parametrize("src", _params())
def test_hidden_tests_are_hidden_from_students_and_run_at_grading(course, src):
    solution = nbformat.read(src, as_version=4)
    hidden = [i for i, c in enumerate(solution.cells) if "### BEGIN HIDDEN TESTS" in c.source]
    if not hidden:
        pytest.skip(f"{src.name} has no hidden tests")
    release = nbformat.read(course["root"] / "release" / f"lesson{src.name[:2]}" / src.name, as_version=4)
    graded = _graded(course, src, "stub")
    for i in hidden:
        assert "HIDDEN TESTS" not in release.cells[i].source
        assert graded.cells[i].source == solution.cells[i].source, f"{src.name}: cell {i} not restored for grading"


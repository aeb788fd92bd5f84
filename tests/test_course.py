"""`gnc-teach course`: an nbgrader course folder from the solution notebooks (no nbgrader needed here;
tests/test_nbgrader.py runs nbgrader on what it writes)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gnc_teach.cli import main
from gnc_teach.course import make_course

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path):
    """A repository with one annotated solution notebook (01) and one that is not (03)."""
    (tmp_path / "solutions").mkdir()
    shutil.copy(ROOT / "solutions" / "01_simplex_etf.ipynb", tmp_path / "solutions")
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    nbformat.write(new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]),
                   tmp_path / "solutions" / "03_old.ipynb")
    return tmp_path


def test_course_has_config_and_one_assignment_per_annotated_lesson(repo, tmp_path):
    course = tmp_path / "course"
    written = make_course(course, root=repo)
    assert sorted(p.relative_to(course).as_posix() for p in written) == [
        "nbgrader_config.py", "source/lesson01/01_simplex_etf.ipynb"]
    assert (course / "source" / "lesson01" / "01_simplex_etf.ipynb").read_bytes() == \
        (repo / "solutions" / "01_simplex_etf.ipynb").read_bytes()          # unchanged
    config = (course / "nbgrader_config.py").read_text()
    assert "c.Execute.timeout = 300" in config and "course_id = 'gnc-teach'" in config
    compile(config, "nbgrader_config.py", "exec")
    assert make_course(course, root=repo) == []                             # nothing to do the second time


def test_course_refuses_to_overwrite_and_to_take_an_unannotated_lesson(repo, tmp_path, capsys):
    course = tmp_path / "course"
    make_course(course, root=repo)
    (course / "nbgrader_config.py").write_text("# mine\n")
    with pytest.raises(ValueError, match="other content"):
        make_course(course, root=repo)
    assert (course / "nbgrader_config.py").read_text() == "# mine\n"
    assert main(["course", str(course), "--root", str(repo), "--force"]) == 0
    assert "Execute.timeout" in (course / "nbgrader_config.py").read_text()
    assert main(["course", str(course), "--root", str(repo), "--lessons", "03"]) == 2
    assert "no nbgrader metadata yet" in capsys.readouterr().err
    assert main(["course", str(course), "--root", str(repo), "--lessons", "09"]) == 2
    assert "no solution notebook for ['09']" in capsys.readouterr().err
    assert main(["course", str(course), "--root", str(tmp_path / "nowhere")]) == 2

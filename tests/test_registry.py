"""The explorer registry: every lesson explorer is registered (so the site, the app and the browser tests
see it), every entry builds, and lesson cells are parsed for explorer calls."""
import inspect
from pathlib import Path

import nbformat
import pytest

from gnc_teach.site.notebooks import is_widget_output
from gnc_teach.views.registry import EXPLORERS, Explorer, explorer_calls, load

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def test_explorer_calls_reads_literal_arguments():
    src = "%matplotlib inline\nfrom x import etf_explorer\nbox = etf_explorer(5, d=3, max_K=n)\nbox"
    assert explorer_calls(src) == [("etf_explorer", {0: 5, "d": 3})]
    assert explorer_calls("w.code_explorer(kind='tammes')\ntau_explorer()") == \
        [("code_explorer", {"kind": "tammes"}), ("tau_explorer", {})]
    assert explorer_calls("def etf_explorer(:") == []  # not Python: no call
    assert explorer_calls("etf_view(4, 3)") == []


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_entry_builds_a_widget_and_a_twin(name):
    e = EXPLORERS[name]
    assert isinstance(e, Explorer) and e.lesson.isdigit() and len(e.lesson) == 2
    # draw=False where the widget takes it: the wiring is what is checked here, not matplotlib
    widget = e.build_widget(**({"draw": False} if "draw" in inspect.signature(load(e.widget)).parameters else {}))
    assert hasattr(widget, "children") and hasattr(widget, "add_class")  # an ipywidgets box
    assert len(e.build_twin()) > 1


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_widget_a_lesson_shows_is_registered(lesson):
    """A cell whose stored output is a widget must call a registered explorer: otherwise the website
    would show it as text and the app would miss it. Add one entry to EXPLORERS for a new explorer."""
    nb = nbformat.read(lesson, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(is_widget_output(o) for o in cell.get("outputs", [])):
            assert explorer_calls(cell.source), (
                f"{lesson.name} cell {i} shows a widget but calls no explorer of gnc_teach.views.registry."
                f"EXPLORERS ({sorted(EXPLORERS)}): register it there with its twin")


def test_every_registered_explorer_is_called_by_its_lesson():
    for name, e in EXPLORERS.items():
        paths = sorted((ROOT / "lessons").glob(f"{e.lesson}_*.ipynb"))
        if not paths:
            continue  # the lesson is not in this checkout yet
        cells = nbformat.read(paths[0], as_version=4).cells
        assert any(n == name for c in cells if c.cell_type == "code" for n, _ in explorer_calls(c.source)), \
            f"EXPLORERS[{name!r}] says lesson {e.lesson}, but {paths[0].name} never calls {name}()"

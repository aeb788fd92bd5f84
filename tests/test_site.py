"""The course website's sources and build (``gnc-teach site build``) and the app's notebook, without a
browser (tests/browser/ checks them in Chromium)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

from gnc_teach.cli import main  # noqa: E402
from gnc_teach.site import notebooks as nbs  # noqa: E402
from gnc_teach.site import pages  # noqa: E402
from gnc_teach.site.app import app_notebook  # noqa: E402
from gnc_teach.site.build import binder_base, stage_sources  # noqa: E402
from gnc_teach.views.registry import EXPLORERS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _widget_cell(source, *extra):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [*extra, nbformat.v4.new_output("execute_result", data={"text/plain": "VBox(children=(HBox(…"},
                                                  execution_count=1)]
    return cell


def test_add_twins_replaces_widget_text_and_keeps_other_outputs():
    printed = nbformat.v4.new_output("stream", name="stdout", text="hello\n")
    nb = nbformat.v4.new_notebook(cells=[_widget_cell("etf_explorer(K=5, d=3)", printed),
                                         _widget_cell("print(1)")])
    assert nbs.add_twins(nb) == ["etf_explorer"]
    outs = nb.cells[0].outputs
    assert outs[0] == printed and len(outs) == 2
    assert 'class="gnc-twin"' in outs[1]["data"]["text/html"] and outs[1]["metadata"]["gnc_teach"]["twin"] == "etf_explorer"
    assert '"initial":[3,2]' in outs[1]["data"]["text/html"]  # K=5 is the 4th of 2..10, d=3 the 3rd of 1..10
    assert nb.cells[1].outputs[0]["data"]["text/plain"].startswith("VBox")  # no explorer call: untouched


def test_plotly_outputs_become_self_contained_twins():
    out = nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json":
                                                        {"data": [{"type": "scatter", "x": [1]}], "layout": {}},
                                                        "text/plain": "Figure"})
    new = nbs.plotly_output(out)
    assert set(new["data"]) == {"text/html", "text/plain"} and '"states":{"":' in new["data"]["text/html"]
    assert nbs.plotly_output(nbformat.v4.new_output("stream", name="stdout", text="x")) is None


def test_live_box_and_binder_links():
    base = binder_base("https://github.com/o/r.git", "dev")
    assert base == "https://mybinder.org/v2/gh/o/r/dev"
    assert binder_base(None) is None and "/v2/git/" in binder_base("https://gitlab.com/o/r")
    box = nbs.live_box("lessons/01_x.ipynb", binder_url=base + "?urlpath=lab/tree/lessons/01_x.ipynb")
    assert "jupyter lab lessons/01_x.ipynb" in box and "gnc-teach app" in box and "launch on Binder" in box
    assert "Binder" not in nbs.live_box("lessons/01_x.ipynb").split("More in")[0]


def test_readme_lesson_map_links_are_rewritten_for_the_site():
    have = {"lessons/01_a.ipynb", "exercises/index.md"}
    text = "[01](lessons/01_a.ipynb), [ex](exercises/), [sol](solutions/), [b](benchmarks/R.md), [w](https://x.org)"
    assert pages.rewrite_links(text, have) == \
        "[01](lessons/01_a.ipynb), [ex](exercises/index.md), sol, b, [w](https://x.org)"
    readme = (ROOT / "README.md").read_text()
    section = pages.readme_section(readme, "Lesson map")
    assert section and all(f"lessons/{p.name}" in section for p in LESSONS)


def test_home_page_without_a_lesson_map_lists_the_lessons(tmp_path):
    (tmp_path / "README.md").write_text("# x\n\nIntro.\n\n## Setup\n\npip\n")
    lesson = tmp_path / "lessons" / "01_a.ipynb"
    lesson.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lesson A")]), lesson)
    home = pages.home_page(tmp_path, {"lessons/01_a.ipynb"}, lessons=["lessons/01_a.ipynb"], practice=[], more=[])
    assert "| [Lesson A](lessons/01_a.ipynb) |" in home and "Intro." in home and "lessons/01_a\n" in home


def test_staged_sources_hold_every_lesson_and_no_solutions_by_default(tmp_path):
    twins = stage_sources(ROOT, tmp_path, log=lambda *a: None)
    assert sorted(p.name for p in (tmp_path / "lessons").glob("[0-9][0-9]_*.ipynb")) == [p.name for p in LESSONS]
    assert not (tmp_path / "solutions").exists()
    assert (tmp_path / "_static" / "plotly.min.js").exists()
    for page in ("appendix_proofs.md", "reading_list.md"):  # the repository's own pages, as they are
        assert (tmp_path / "lessons" / page).read_bytes() == (ROOT / "lessons" / page).read_bytes()
    home = (tmp_path / "index.md").read_text()
    assert "lessons/appendix_proofs\nlessons/reading_list\n" in home and "[Appendix](lessons/appendix_proofs.md)" in home
    shown = sorted(n for names in twins.values() for n in names)
    assert shown == sorted(EXPLORERS)  # each explorer appears once in the course
    nb = nbformat.read(tmp_path / "lessons" / LESSONS[0].name, as_version=4)
    assert "Run this lesson live" in nb.cells[1].source


def test_cli_builds_a_static_site_with_solutions(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["site", "build", "--with-solutions", "--out", str(out), "--repo-url", "https://github.com/o/r"]) == 0
    assert f"pages with {len(EXPLORERS)} explorer twins" in capsys.readouterr().out
    for rel in ["index.html", "search.html", "searchindex.js", "run_live.html", "lessons/reading_list.html",
                "lessons/appendix_proofs.html",
                "exercises/index.html", "solutions/index.html", "_static/plotly.min.js", "_static/gnc-twin.js",
                "_static/mathjax/tex-svg-full.js", ".nojekyll"]:
        assert (out / rel).exists(), rel
    for p in LESSONS:
        html = (out / "lessons" / p.name.replace(".ipynb", ".html")).read_text()
        assert "VBox(children" not in html and "cdn." not in html
        assert f"mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/lessons/{p.name}" in html
        assert (out / "_sources" / "lessons" / p.name).read_bytes() == p.read_bytes()  # the download button
    lesson01 = (out / "lessons" / LESSONS[0].name.replace(".ipynb", ".html")).read_text()
    appendix = (out / "lessons" / "appendix_proofs.html").read_text()
    anchors = re.findall(r'href="appendix_proofs\.html#([\w-]+)"', lesson01)  # a lesson's links to its proofs
    assert anchors and all(f'id="{a}"' in appendix for a in anchors), anchors
    meta = json.loads((out / "site.json").read_text())
    assert sum(len(v) for v in meta["twins"].values()) == len(EXPLORERS)


@pytest.mark.slow
def test_cli_build_execute_reruns_the_lessons(tmp_path):
    assert main(["site", "build", "--execute", "--out", str(tmp_path / "site")]) == 0  # MPLBACKEND=Agg here
    html = (tmp_path / "site" / "lessons" / LESSONS[0].name.replace(".ipynb", ".html")).read_text()
    assert '<img alt="_images/' in html.replace("../", "") and 'class="gnc-twin"' in html  # figures kept


def test_app_notebook_has_one_cell_per_explorer():
    nb = app_notebook()
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in EXPLORERS:
        assert f"EXPLORERS[{name!r}].build_widget()" in code and f"gnc-explorer-{name}" in code


@pytest.mark.parametrize("argv", [["app", "--port", "70000"], ["app", "--port", "x"],
                                  ["site", "build", "--root", "/no/such/dir"], ["site", "build", "--repo-url", "x"]])
def test_bad_options_exit_2_naming_the_option(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and f"argument {argv[-2]}:" in capsys.readouterr().err


def test_site_and_app_commands_import_nothing_heavy():
    code = ("import sys, gnc_teach.site.cli; "
            "print(sorted(m for m in ('sphinx', 'myst_nb', 'voila', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

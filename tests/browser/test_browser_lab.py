"""Every lesson, run through JupyterLab's UI in Chromium: every cell runs, no error output (with
GNC_TEACH_STRICT_CHECKS=1 in the kernel, as under nbval), every explorer rendered as widgets (not their
text fallback), and one control of each explorer changes its figure. With GNC_TEACH_REQUIRE_BROWSER=1
(CI) this test is what executes lessons/: conftest.py leaves them out of nbval.

One JupyterLab server (127.0.0.1, free port, temporary token) serves a copy of ``lessons/`` (never the
repository's files: nothing can be autosaved over them); each lesson is opened, its outputs cleared and
"Run > Run All Cells" clicked. Lessons are found by glob, so a new ``lessons/NN_*.ipynb`` is covered
at once. Screenshots: ``test-artifacts/browser/lab/<lesson>/``.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from browserkit import ROOT, artifacts, control_changes_figure, evidence, free_port, kernel_env, wait_http
from gnc_teach.views.registry import explorer_calls

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
# a lesson may take up to ~90 s on CI's two cores (README); the UI adds a few seconds
LESSON_TIMEOUT = float(os.environ.get("GNC_TEACH_LESSON_TIMEOUT", 420))
SETTINGS = {  # JupyterLab user settings for the test server
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},  # all cells in the DOM
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server over a copy of lessons/; yields (base URL, token, root folder)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "lessons", root / "lessons", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = root / ".settings"
    for rel, value in SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = kernel_env() | {"JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(root / ".ws"),
                          "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
           "--allow-root"]  # CI runs as root
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/api/status?token={token}", timeout=120, proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}; server log:\n{(root / 'server.log').read_text()[-3000:]}") from None
        yield base, token, root
    finally:
        proc.terminate()  # jupyter_server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


_READY = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.content && w.context.isReady && k && k.status === 'idle'); }"""
# done: every non-empty code cell has an execution count, or an error stopped the run
_STATE = """() => { const w = window.jupyterapp.shell.currentWidget; const cells = w.content.model.cells;
  const out = {pending: 0, errors: [], widgets: [], status: w.sessionContext.session.kernel.status};
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    if (c.sharedModel.getSource().trim() && c.executionCount === null) out.pending++;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j);
      if (o.type === 'error') out.errors.push({cell: i, ename: o.toJSON().ename, evalue: o.toJSON().evalue});
      if (o.data && o.data['application/vnd.jupyter.widget-view+json']) out.widgets.push(i);
    } }
  return out; }"""


_KERNEL_PRINT = """async code => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = k.requestExecute({code: code, silent: false, store_history: false});
  let out = ""; future.onIOPub = msg => { if (msg.header.msg_type === "stream") out += msg.content.text; };
  await future.done; return out.trim(); }"""


def kernel_print(page, code: str) -> str:
    """What ``code`` prints in the kernel of the open notebook (run outside the notebook's cells)."""
    return page.evaluate(_KERNEL_PRINT, code)


def open_notebook(page, base, token, rel):
    """Open ``rel`` alone (``reset``: no tabs from earlier tests) and wait for its idle kernel; returns
    a locator of the notebook's panel."""
    page.goto(f"{base}/lab/tree/{rel}?reset&token={token}")
    page.wait_for_function(_READY, timeout=120_000, polling=250)
    return page.locator("#" + page.evaluate("() => window.jupyterapp.shell.currentWidget.id"))


def close_notebook(page):
    """Shut the notebook's kernel down (idle kernels of earlier lessons would only hold memory)."""
    try:
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    except Exception:  # the page may already be broken; the test's own error is what matters
        pass


def run_all(page, timeout: float) -> dict:
    """Clear outputs, click Run > Run All Cells, wait for the kernel; returns the notebook state."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE)
        if state["status"] == "idle" and (state["pending"] == 0 or state["errors"]):
            return state
        time.sleep(0.5)
    raise AssertionError(f"the notebook did not finish within {timeout:.0f} s: {page.evaluate(_STATE)}")


def explorer_cells(path) -> dict[int, list[str]]:
    """{cell index: registered explorers it calls} from the notebook's sources."""
    nb = nbformat.read(path, as_version=4)
    return {i: [n for n, _ in calls] for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (calls := explorer_calls(c.source))}


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_jupyterlab_with_live_explorers(lab, browser, lesson):
    base, token, _ = lab
    folder = artifacts("lab", lesson.stem)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        with evidence(page, folder):
            t0 = time.perf_counter()
            panel = open_notebook(page, base, token, f"lessons/{lesson.name}")
            state = run_all(page, LESSON_TIMEOUT)
            (folder / "timing.txt").write_text(f"open + run all: {time.perf_counter() - t0:.1f} s\n")
            page.screenshot(path=str(folder / "notebook.png"))
            # what nbval asserts for lessons/ (CI runs the lessons here only; see conftest.py): every cell
            # ran without error, in a kernel whose self-checks raise on failure
            assert not state["errors"], f"error output in {lesson.name}: {state['errors']}"
            assert state["pending"] == 0, f"{state['pending']} code cells of {lesson.name} never ran"
            strict = kernel_print(page, "import os; print(os.environ.get('GNC_TEACH_STRICT_CHECKS'))")
            assert strict == "1", f"the kernel ran without GNC_TEACH_STRICT_CHECKS=1 (it has {strict!r})"
            expected = explorer_cells(lesson)
            missing = sorted(set(expected) - set(state["widgets"]))
            assert not missing, f"cells {missing} call {[expected[i] for i in missing]} but show no widget"
            cells = panel.locator(".jp-Notebook .jp-Cell")
            for i in sorted(set(state["widgets"]) | set(expected)):
                cell = cells.nth(i)
                cell.scroll_into_view_if_needed()
                widget = cell.locator(".jp-OutputArea-output .jupyter-widgets.widget-container").first
                widget.wait_for(state="visible", timeout=60_000)  # the widget DOM, not its text fallback
                assert "VBox(children" not in cell.locator(".jp-Cell-outputArea").first.inner_text()
                if i not in expected:
                    continue  # not a registered explorer (tests/test_registry.py reports it)
                failure = control_changes_figure(cell, folder, f"cell{i:02d}")
                assert failure is None, f"cell {i} ({expected.get(i)}): {failure}"
    finally:
        close_notebook(page)
        page.close()


def test_a_3d_twin_rotates_in_jupyterlab(lab, browser):
    """The plotly view of a twin renders in JupyterLab (its labextension ships with plotly) and a drag
    rotates the 3-D code."""
    base, token, root = lab
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from gnc_teach.views.twins.codes import code_twin\ncode_twin(K=12, d=3)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "twin_3d.ipynb")
    folder = artifacts("lab", "twin_3d")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        with evidence(page, folder):
            panel = open_notebook(page, base, token, "twin_3d.ipynb")
            state = run_all(page, 120)
            assert not state["errors"], state["errors"]
            plot = panel.locator(".jp-RenderedPlotly").first  # jupyterlab-plotly's mimetype renderer
            plot.wait_for(timeout=60_000)
            plot.locator("canvas").first.wait_for(timeout=30_000)  # the WebGL canvas of the 3-D scene
            box = plot.bounding_box()
            before = plot.screenshot(path=str(folder / "before.png"))
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 120, y + 40, steps=8)
            page.mouse.up()
            page.wait_for_timeout(500)
            after = plot.screenshot(path=str(folder / "after.png"))
            camera = plot.evaluate("""el => { const gd = el.classList.contains('js-plotly-plot') ? el
                : el.querySelector('.js-plotly-plot'); return JSON.stringify(gd.layout.scene.camera || null); }""")
            assert after != before and camera != "null", f"dragging the 3-D code did not rotate it (camera {camera})"
    finally:
        close_notebook(page)
        page.close()

"""Notebooks as they appear on the course website: explorer twins in place of widget text, plotly
outputs made self-contained, and a "run this lesson live" box under the title.

Pure functions over ``nbformat`` notebooks (a copy is changed, never the repository's file).
"""
from __future__ import annotations

import copy
import numbers
import re

from ._checks import check_folder, check_mapping, check_notebook, check_text, check_url

__all__ = ["is_widget_output", "twin_output", "plotly_output", "add_twins", "add_live_box", "live_box",
           "execute"]

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_WIDGET_TEXT = re.compile(r"^(VBox|HBox|Box|GridBox|Tab|Accordion|Stack|Output|Button|\w+Slider)\(")


def is_widget_output(output) -> bool:
    """Whether a stored output is an ipywidget (its view, or the text a notebook keeps without a kernel)."""
    data = check_mapping(output, "output").get("data", {})
    if _WIDGET_MIME in data:
        return True
    text = data.get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return output.get("output_type") in ("execute_result", "display_data") and bool(_WIDGET_TEXT.match(text))


def twin_output(twin, *, name: str) -> dict:
    """A ``display_data`` output that shows ``twin`` on the website (HTML read by ``twin.js``)."""
    import nbformat

    from ..views.twins.twin import Twin
    if not isinstance(twin, Twin):
        raise TypeError(f"twin must be a gnc_teach.views.twins.Twin, got {type(twin).__name__}.")
    check_text(name, "name")
    plain = f"{name}: kernel-free twin ({len(twin)} precomputed states); run the notebook for the live explorer"
    return nbformat.v4.new_output("display_data", data={"text/html": twin.to_html(), "text/plain": plain},
                                  metadata={"gnc_teach": {"twin": name}})


def plotly_output(output) -> dict | None:
    """A stored plotly figure (``application/vnd.plotly.v1+json``, e.g. ``code_figure(W)`` or a twin shown in
    JupyterLab) as a self-contained one-state twin, or None when ``output`` is not one."""
    from ..views.twins.twin import PLOTLY_MIME, Twin
    fig = check_mapping(output, "output").get("data", {}).get(PLOTLY_MIME)
    if fig is None:
        return None
    twin = Twin("figure", [], {(): {"data": fig.get("data", []), "layout": {}}}, layout=fig.get("layout", {}))
    out = copy.deepcopy(output)
    out["data"] = {"text/html": twin.to_html(), "text/plain": out["data"].get("text/plain", "plotly figure")}
    return out


def add_twins(nb, explorers=None) -> list[str]:
    """Replace the widget outputs of every cell that calls a registered explorer by its twin (other
    outputs of the cell stay) and make plotly outputs self-contained. Changes ``nb``; returns the names
    of the explorers found, in order."""
    from ..views.registry import EXPLORERS, explorer_calls
    check_notebook(nb)
    explorers = EXPLORERS if check_mapping(explorers, "explorers", optional=True) is None else explorers
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = [plotly_output(o) or o for o in cell.get("outputs", [])]
        calls = explorer_calls(cell.source, explorers)
        if calls:
            outputs = [o for o in outputs if not is_widget_output(o)]
            outputs += [twin_output(explorers[name].build_twin(args), name=name) for name, args in calls]
            found += [name for name, _ in calls]
        cell["outputs"] = outputs
    return found


def live_box(path: str, *, binder_url: str | None = None, kind: str = "lesson", depth: int = 1) -> str:
    """MyST markdown of the box under a notebook's title: how to run ``path`` (repository-relative) live."""
    check_text(path, "path"), check_url(binder_url, "binder_url", optional=True)
    if kind not in ("lesson", "exercise", "solution"):
        raise ValueError(f"kind must be 'lesson', 'exercise' or 'solution', got {kind!r}.")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an int >= 0 (folders below the site root), got {depth!r}.")
    up = "../" * depth
    lines = [":::{admonition} Run this " + kind + " live", ":class: tip",
             "This page shows the notebook with its stored outputs; its explorers are kernel-free twins "
             "(precomputed states). With live computation:",
             "",
             f"- **JupyterLab, locally**: in the repository, `python -m pip install -e \".[test]\"`, then "
             f"`jupyter lab {path}`;",
             "- **all explorers in one page**: `gnc-teach app` (a local Voilà dashboard, no code shown);"]
    if binder_url:
        lines.append(f"- **in the browser, nothing installed**: [launch on Binder]({binder_url}) "
                     "(builds the environment from `environment.yml`; the first start takes minutes).")
    lines += ["", f"More in [Run the course live]({up}run_live.md).", ":::"]
    return "\n".join(lines)


def add_live_box(nb, box: str) -> None:
    """Insert the markdown ``box`` after the first markdown cell holding a ``# `` title (else first)."""
    import nbformat
    check_notebook(nb), check_text(box, "box")
    at = next((i + 1 for i, c in enumerate(nb.cells)
               if c.cell_type == "markdown" and re.search(r"^# ", c.source, flags=re.M)), 0)
    nb.cells.insert(at, nbformat.v4.new_markdown_cell(box))


def execute(nb, *, cwd, timeout: int = 300) -> None:
    """Run ``nb`` top to bottom in a fresh kernel, in directory ``cwd``; raises on the first error, or
    when one cell runs longer than ``timeout`` seconds (a lesson takes ~90 s at most in all)."""
    import os

    from nbclient import NotebookClient
    check_notebook(nb), check_folder(cwd, "cwd")
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the inline backend, so figures are kept
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute(env=env)

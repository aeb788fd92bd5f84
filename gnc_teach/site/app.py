"""``gnc-teach app``: every explorer of the course, live, in one Voilà dashboard on 127.0.0.1.

The dashboard is a notebook written from :data:`gnc_teach.views.registry.EXPLORERS` (one section per
lesson, one cell per explorer) and served by Voilà in this process: code cells are hidden, widgets
compute in a kernel. Ctrl-C stops the server and shuts its kernels down. The page uses the template
``gnc-lab`` (``site/jupyter/voila/templates``): Voilà's lab template without the stylesheets it would
fetch from a CDN, so that the app runs offline with no failed request.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

from ._checks import check_mapping, check_path, check_port

__all__ = ["TEMPLATE", "app_notebook", "lesson_titles", "free_port", "serve"]

#: JupyterLab extensions the app does not load: Voilà loads every installed one by default, and these
#: (nbgrader's, the notebook app's, Voilà's own preview button) need JupyterLab itself and log errors
LAB_EXTENSIONS_OFF = ("@jupyter/nbgrader", "@jupyter-notebook/lab-extension", "@voila-dashboards/jupyterlab-preview")
#: the Voilà template of the app, found through JUPYTER_PATH (``<dir>/voila/templates/gnc-lab``)
TEMPLATE = "gnc-lab"
_JUPYTER_DIR = Path(__file__).with_name("jupyter")


def lesson_titles(root=".") -> dict[str, str]:
    """``{"01": "Lesson 01 — ...", ...}`` from ``root/lessons/NN_*.ipynb`` (empty outside a checkout)."""
    from .pages import notebook_title, notebooks
    return {p.name[:2]: notebook_title(p) for p in notebooks(check_path(root, "root"), "lessons")}


def app_notebook(explorers=None, titles=None):
    """The dashboard notebook: a title, then per lesson a heading (``titles[NN]`` or "Lesson NN") and
    one cell per explorer. Each explorer's widget carries the CSS classes ``gnc-explorer`` and
    ``gnc-explorer-<name>``."""
    import nbformat
    from ..views.registry import EXPLORERS
    explorers = EXPLORERS if check_mapping(explorers, "explorers", optional=True) is None else explorers
    titles = check_mapping(titles, "titles", optional=True) or {}
    cells = [nbformat.v4.new_markdown_cell(
                 "# gnc-teach: the explorers, live\n\nEvery explorer of the course, computing as you move "
                 "the controls. The lessons explain what they show: open them with `jupyter lab lessons/`."),
             nbformat.v4.new_code_cell("%matplotlib inline\nfrom gnc_teach.views.registry import EXPLORERS")]
    lesson = None
    for name, e in sorted(explorers.items(), key=lambda kv: kv[1].lesson):
        if e.lesson != lesson:
            lesson = e.lesson
            cells.append(nbformat.v4.new_markdown_cell(f"## {titles.get(lesson, f'Lesson {lesson}')}"))
        cells.append(nbformat.v4.new_markdown_cell(f"### {e.title}"))
        cells.append(nbformat.v4.new_code_cell(
            f"_w = EXPLORERS[{name!r}].build_widget()\n"
            f"_w.add_class('gnc-explorer')\n_w.add_class('gnc-explorer-{name}')\n_w"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*, port: int = 0, open_browser: bool = False, log=print) -> int:
    """Serve the dashboard on ``http://127.0.0.1:port/`` (``port=0``: a free one) until Ctrl-C or SIGTERM.
    Prints the address once the server listens; returns the exit code."""
    port = check_port(port) or free_port()
    import nbformat
    import tornado.ioloop
    from voila.app import Voila

    from ..views.registry import EXPLORERS
    url = f"http://127.0.0.1:{port}/"
    tmp = Path(tempfile.mkdtemp(prefix="gnc-teach-app-"))
    try:
        path = tmp / "explorers.ipynb"
        nbformat.write(app_notebook(titles=lesson_titles()), path)
        # Voilà finds templates in the Jupyter data folders: add the app's own, first
        extra = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(_JUPYTER_DIR)] + ([extra] if extra else []))
        app = Voila()
        off = [f"--VoilaConfiguration.extension_denylist={name}" for name in LAB_EXTENSIONS_OFF]
        app.initialize([str(path), f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                        "--theme=light", f"--template={TEMPLATE}"] + off + ([] if open_browser else ["--no-browser"]))
        tornado.ioloop.IOLoop.current().add_callback(
            lambda: log(f"gnc-teach app: {len(EXPLORERS)} explorers live at {url}  (Ctrl-C stops)", flush=True))
        app.start()  # returns after Ctrl-C (KeyboardInterrupt) or SIGTERM, kernels shut down
        log("gnc-teach app: stopped", flush=True)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

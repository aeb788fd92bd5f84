"""Build the course website: stage the sources, then one Sphinx (myst-nb, sphinx-book-theme) build.

Everything comes from the repository and installed packages: the theme, MathJax (from
``jupyter-server-mathjax``) and plotly.js (from ``plotly``) are copied into the site, so the build needs
no network and the result opens from disk or from any static host.

    build_site(root=".", out="build/site", execute=False, with_solutions=False, repo_url=None)
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import notebooks as nbs
from . import pages
from ._checks import check_path, check_text, check_url

__all__ = ["SiteResult", "build_site", "binder_base"]

_CSS = Path(__file__).with_name("site.css")
_FAVICON = Path(__file__).with_name("favicon.svg")


@dataclass
class SiteResult:
    """Where the site went, what it holds and how long it took (``twins``: page -> explorer names)."""
    out: Path
    pages: list[str]
    twins: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def binder_base(repo_url: str | None, branch: str = "main", *, binderhub: str = "https://mybinder.org") -> str | None:
    """Binder launch URL of a repository (GitHub: ``/v2/gh/OWNER/REPO/BRANCH``; other hosts: ``/v2/git/``)."""
    repo_url = check_url(repo_url or None, "repo_url", optional=True)
    check_text(branch, "branch")
    binderhub = check_url(binderhub, "binderhub")
    if repo_url is None:
        return None
    from urllib.parse import quote
    url = repo_url.removesuffix(".git")
    if url.startswith("https://github.com/"):
        return f"{binderhub}/v2/gh/{url.removeprefix('https://github.com/')}/{branch}"
    return f"{binderhub}/v2/git/{quote(url, safe='')}/{branch}"


def _conf(*, repo_url, branch, binderhub, title) -> str:
    theme = dict(home_page_in_toc=False, use_download_button=True, show_toc_level=2,
                 use_repository_button=bool(repo_url))
    if repo_url:
        theme.update(repository_url=repo_url, repository_branch=branch, path_to_docs="",
                     launch_buttons=dict(binderhub_url=binderhub, notebook_interface="jupyterlab"))
    conf = dict(
        project="gnc-teach", author="the gnc-teach authors", html_title=title, copyright="the gnc-teach authors",
        extensions=["myst_nb", "gnc_teach.site.sphinx_ext"],
        exclude_patterns=["_build", ".doctrees", "**.ipynb_checkpoints"],
        html_theme="sphinx_book_theme", html_theme_options=theme, html_static_path=["_static"],
        html_css_files=["gnc-site.css"], html_show_sourcelink=False, html_favicon="_static/favicon.svg",
        html_context={"default_mode": "light"},  # pydata-sphinx-theme logs an error for an unset mode
        nb_execution_mode="off",  # outputs are stored, or executed before staging (--execute)
        myst_enable_extensions=["dollarmath", "amsmath", "colon_fence"], myst_heading_anchors=3,
        # MathJax 3 from the sphinx-mathjax-offline package (no CDN): the self-contained TeX + SVG bundle,
        # which draws glyphs from paths it carries (no web fonts to fetch). MyST adds processHtmlClass.
        mathjax_path="mathjax/tex-svg-full.js",
        mathjax3_config={"svg": {"fontCache": "global"}},
        suppress_warnings=["mystnb.unknown_mime_type", "myst.header"],
    )
    return "".join(f"{k} = {v!r}\n" for k, v in conf.items())


def _static(stage: Path) -> None:
    import plotly.offline
    from ..views.twins.twin import TWIN_JS
    static = stage / "_static"
    static.mkdir(parents=True)
    (static / "plotly.min.js").write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    shutil.copy(TWIN_JS, static / "gnc-twin.js")
    shutil.copy(_CSS, static / "gnc-site.css")
    shutil.copy(_FAVICON, static / "favicon.svg")
    shutil.copytree(mathjax_dir(), static / "mathjax", ignore=shutil.ignore_patterns(
        "node-main.js", "mml-*", "tex-chtml*", "tex-mml-*", "tex-svg.js", "chtml*", "*.md"))


def mathjax_dir() -> Path:
    """The MathJax 3 distribution (es5 components) shipped by the sphinx-mathjax-offline package."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        files = distribution("sphinx-mathjax-offline").files or []
    except PackageNotFoundError:
        files = []
    bundle = next((f for f in files if f.name == "tex-svg-full.js"), None)
    if bundle is None:
        raise RuntimeError("MathJax not found: install the site tools with `python -m pip install -e \".[site]\"` "
                           "(the package sphinx-mathjax-offline ships MathJax for offline builds).")
    return Path(bundle.locate()).parent


def _notebook(src: Path, dst: Path, *, root: Path, execute: bool, twins: bool, box: str | None) -> list[str]:
    import nbformat
    nb = nbformat.read(src, as_version=4)
    if execute:
        nbs.execute(nb, cwd=src.parent)
    found = nbs.add_twins(nb) if twins else []
    if box:
        nbs.add_live_box(nb, box)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return found


def _lessons(root) -> list[Path]:
    """The lessons under ``root``, or a ValueError naming ``root`` when it holds none."""
    lessons = pages.notebooks(check_path(root, "root"), "lessons")
    if not lessons:
        raise ValueError(f"root={str(Path(root).resolve())!r} holds no lessons/NN_*.ipynb: pass the repository "
                         "root (the folder with lessons/).")
    return lessons


def stage_sources(root: Path, stage: Path, *, execute: bool = False, with_solutions: bool = False,
                  repo_url: str | None = None, branch: str = "main", binderhub: str = "https://mybinder.org",
                  log=print) -> dict[str, list[str]]:
    """Write the Sphinx sources of the site into ``stage``; returns {page: explorers shown as twins}."""
    binder = binder_base(repo_url, branch, binderhub=binderhub)
    lessons = _lessons(root)
    exercises = pages.notebooks(root, "exercises")
    solutions = pages.notebooks(root, "solutions") if with_solutions else []
    twins = {}
    for folder, paths, kind in (("lessons", lessons, "lesson"), ("exercises", exercises, "exercise"),
                                ("solutions", solutions, "solution")):
        for src in paths:
            rel = f"{folder}/{src.name}"
            url = f"{binder}?urlpath=lab/tree/{rel}" if binder else None
            log(f"  {rel}" + (" (executing)" if execute and kind != "exercise" else ""))
            found = _notebook(src, stage / rel, root=root, execute=execute and kind != "exercise",
                              twins=kind != "exercise", box=nbs.live_box(rel, binder_url=url, kind=kind))
            if found:
                twins[rel] = found
    extra = pages.markdown_pages(root, "lessons")  # the appendix and the reading list, as they are
    for src in extra:
        shutil.copy(src, stage / "lessons" / src.name)
    site_pages = {f"{p.parent.name}/{p.name}" for p in lessons + exercises + solutions + extra}
    site_pages |= {"run_live.md", "exercises/index.md"}
    practice = ["exercises/index"]
    (stage / "exercises").mkdir(exist_ok=True)
    (stage / "exercises" / "index.md").write_text(pages.index_page(
        "Exercises", "Each exercise is a notebook with stubs to fill in and self-checks that answer with a hint, "
        "never the answer. Download one (button at the top of its page) or open it in JupyterLab: "
        "`jupyter lab exercises/`.", [(pages.notebook_title(p), p.name) for p in exercises]))
    if solutions:
        site_pages.add("solutions/index.md")
        practice.append("solutions/index")
        (stage / "solutions" / "index.md").write_text(pages.index_page(
            "Solutions", "Instructor build: the solution notebooks, from which the exercises are generated.",
            [(pages.notebook_title(p), p.name) for p in solutions]))
    (stage / "run_live.md").write_text(pages.run_live_page(binder_base=binder))
    lesson_paths = [f"lessons/{p.name}" for p in lessons]
    (stage / "index.md").write_text(pages.home_page(root, site_pages, lessons=lesson_paths, practice=practice,
                                                    more=["run_live"] + [f"lessons/{p.stem}" for p in extra]))
    (stage / "conf.py").write_text(_conf(repo_url=repo_url, branch=branch, binderhub=binderhub,
                                         title="gnc-teach: neural collapse"))
    _static(stage)
    return twins


def build_site(root=".", out=None, *, execute: bool = False, with_solutions: bool = False,
               repo_url: str | None = None, branch: str = "main", binderhub: str = "https://mybinder.org",
               keep_sources: bool = False, log=print) -> SiteResult:
    """Build the website of the repository at ``root`` into ``out`` (default ``root/build/site``).

    ``execute``: re-run the lessons (and solutions) first instead of using their stored outputs.
    ``with_solutions``: include the solution notebooks (instructors). ``repo_url``: the repository's
    public address, for Binder launch links. Sphinx warnings are returned, never fatal.
    """
    t0 = time.perf_counter()
    _lessons(root)  # the arguments are checked before anything is written
    binder_base(repo_url, branch, binderhub=binderhub)
    root = Path(root).resolve()
    out = (root / "build" / "site") if out is None else check_path(out, "out").resolve()
    with tempfile.TemporaryDirectory(prefix="gnc-site-") as tmp:
        stage = Path(tmp) / "src"
        log(f"staging sources in {stage}")
        twins = stage_sources(root, stage, execute=execute, with_solutions=with_solutions, repo_url=repo_url,
                              branch=branch, binderhub=binderhub, log=log)
        if out.exists():
            shutil.rmtree(out)
        warnings = Path(tmp) / "warnings.txt"
        log("running sphinx-build")
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-d", str(Path(tmp) / "doctrees"),
               "-w", str(warnings), str(stage), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"sphinx-build failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        if keep_sources:
            shutil.copytree(stage, out.parent / (out.name + "-sources"), dirs_exist_ok=True)
        lines = [ln for ln in warnings.read_text().splitlines() if ln.strip()] if warnings.exists() else []
    # the pages' download buttons serve _sources/: give readers the repository's notebooks, not the
    # staged copies (whose twin outputs and "run live" box belong to the website)
    for folder in ("lessons", "exercises", "solutions"):
        for src in pages.notebooks(root, folder):
            if (out / "_sources" / folder / src.name).exists():
                shutil.copy(src, out / "_sources" / folder / src.name)
    built = sorted(str(p.relative_to(out)) for p in out.rglob("*.html") if "_static" not in p.parts)
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and friends as they are
    (out / "site.json").write_text(json.dumps(dict(twins=twins, pages=built), indent=1))
    return SiteResult(out=out, pages=built, twins=twins, warnings=lines, seconds=time.perf_counter() - t0)

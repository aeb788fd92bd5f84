"""The website's own pages (MyST markdown): the home page built from the README's lesson map, the
exercise and solution indexes and "run the course live"; the markdown pages of ``lessons/`` (the
appendix of proofs, the reading list) are shown as they are.

Pure functions of the repository's files; lessons and their markdown pages are found by glob, so a new
``lessons/NN_*.ipynb`` or ``lessons/*.md`` appears without any change here.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ._checks import check_file, check_path, check_text

__all__ = ["notebooks", "markdown_pages", "notebook_title", "readme_section", "rewrite_links", "home_page",
           "index_page", "run_live_page"]

_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def notebooks(root: Path, folder: str) -> list[Path]:
    """``folder/NN_*.ipynb`` under ``root``, sorted (lesson number first)."""
    return sorted((check_path(root, "root") / check_text(folder, "folder")).glob("[0-9][0-9]_*.ipynb"))


def markdown_pages(root: Path, folder: str = "lessons") -> list[Path]:
    """The markdown pages ``folder/*.md`` under ``root`` (the appendix, the reading list), sorted."""
    return sorted((check_path(root, "root") / check_text(folder, "folder")).glob("*.md"))


def notebook_title(path: Path) -> str:
    """The first ``# `` heading of a notebook's markdown cells (else its file name)."""
    try:
        cells = json.loads(check_file(path, "path").read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"path={str(path)!r} is not a notebook (JSON with a list of cells).") from None
    for cell in cells:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^# +(.+?)\s*$", "".join(cell["source"]), flags=re.M)
            if m:
                return m.group(1)
    return Path(path).stem


def readme_section(readme: str, heading: str) -> str | None:
    """The body of ``## heading`` in the README (up to the next ``## ``), or None."""
    check_text(readme, "readme"), check_text(heading, "heading")
    m = re.search(rf"^## {re.escape(heading)}\s*\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    return m.group(1).strip() if m else None


def readme_intro(readme: str) -> str:
    """The README's text between its title and its first ``## `` heading."""
    body = re.split(r"^## ", readme, maxsplit=1, flags=re.M)[0]
    return re.sub(r"^# .*\n", "", body, count=1).strip()


def rewrite_links(text: str, pages: set[str]) -> str:
    """Keep links to pages of the site (``pages``: source paths such as ``lessons/01_x.ipynb``), turn a
    folder link ``exercises/`` into ``exercises/index.md`` when that page exists, and unlink the rest
    (files of the repository that the site does not carry). External links stay."""
    check_text(text, "text")
    pages = _pages(pages)

    def fix(m):
        label, target = m.group(1), m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        if path in pages:
            return m.group(0)
        if f"{path.rstrip('/')}/index.md" in pages:
            return f"[{label}]({path.rstrip('/')}/index.md{'#' + anchor if anchor else ''})"
        return label
    return _LINK.sub(fix, text)


def _pages(pages) -> set[str]:
    if isinstance(pages, (str, bytes)) or not isinstance(pages, (set, frozenset, list, tuple)) \
            or not all(isinstance(p, str) for p in pages):
        raise TypeError(f"pages must be a set of page paths such as {{'lessons/01_x.ipynb'}}, got {type(pages).__name__}.")
    return set(pages)


def _names(values, name: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) \
            or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{name} must be a list of page paths (str), got {type(values).__name__}.")
    return list(values)


def _toctree(caption: str, entries: list[str]) -> str:
    return "\n".join([":::{toctree}", ":hidden:", f":caption: {caption}", "", *entries, ":::"])


def home_page(root: Path, pages: set[str], *, lessons: list[str], practice: list[str], more: list[str]) -> str:
    """index.md: the README's introduction and lesson map (links rewritten for the site), then how to use
    the site; the navigation lists every page. Without a lesson map in the README, a table of the
    lessons found is written instead."""
    root, pages = check_path(root, "root"), _pages(pages)
    lessons, practice, more = _names(lessons, "lessons"), _names(practice, "practice"), _names(more, "more")
    readme = (root / "README.md").read_text(encoding="utf-8") if (root / "README.md").exists() else ""
    lesson_map = readme_section(readme, "Lesson map")
    if lesson_map is None:
        rows = [f"| [{notebook_title(root / p)}]({p}) |" for p in lessons]
        lesson_map = "\n".join(["| lesson |", "|---|", *rows])
    parts = ["# gnc-teach: neural collapse, a course", "", rewrite_links(readme_intro(readme), pages), "",
             "## Lesson map", "", rewrite_links(lesson_map, pages), "",
             "## Using this site", "",
             "- Every lesson is shown with its stored outputs. Its explorers are **kernel-free twins**: the "
             "same computations, precomputed over a grid of the controls, so sliders and menus respond "
             "without Python; 3-D codes can be rotated with the mouse.",
             "- To change anything, run the lesson live: see [Run the course live](run_live.md).",
             "- Exercises are notebooks with self-checks: [Exercises](exercises/index.md).",
             *(f"- {what}: [{label}]({page})." for what, label, page in (
                 ("Proofs too long for a lesson", "Appendix", "lessons/appendix_proofs.md"),
                 ("Papers behind the lessons", "Reading list", "lessons/reading_list.md")) if page in pages),
             "",
             _toctree("Lessons", [p.removesuffix(".ipynb") for p in lessons]), "",
             _toctree("Practice", practice), "", _toctree("More", more), ""]
    return "\n".join(parts)


def index_page(title: str, intro: str, entries: list[tuple[str, str]]) -> str:
    """A page listing notebooks: ``entries`` = [(title, path relative to the page)]."""
    check_text(title, "title"), check_text(intro, "intro")
    if not isinstance(entries, (list, tuple)) or not all(
            isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in entries):
        raise ValueError("entries must be a list of (title, path) pairs of strings, e.g. "
                         "[('Lesson 01', '01_simplex_etf.ipynb')].")
    items = [f"- [{t}]({p})" for t, p in entries]
    return "\n".join([f"# {title}", "", intro, "", *items, "",
                      _toctree(title, [p.removesuffix(".ipynb") for _, p in entries]), ""])


def run_live_page(*, binder_base: str | None) -> str:
    """run_live.md: JupyterLab locally, a Binder launch from environment.yml, and the live app."""
    check_text(binder_base, "binder_base", optional=True)
    binder = (f"The lesson pages link to Binder: `{binder_base}?urlpath=lab/tree/lessons/NN_name.ipynb` "
              "starts JupyterLab on that lesson." if binder_base else
              "This copy of the site was built without a repository address, so its pages carry no Binder "
              "link; build it with `gnc-teach site build --repo-url https://github.com/OWNER/REPO` to add them.")
    return "\n".join([
        "# Run the course live", "",
        "The pages of this site are static: each explorer is a twin that replays precomputed states. "
        "Running a lesson gives the live explorers, every cell editable.", "",
        "## JupyterLab on your computer", "",
        "In a clone of the repository, with Python 3.10 or newer:", "",
        "```bash",
        "python -m venv .venv && . .venv/bin/activate",
        "python -m pip install -e \".[test]\"",
        "jupyter lab lessons/",
        "```", "",
        "Conda users: `conda env create -f environment.yml && conda activate gnc-teach`, then `jupyter lab lessons/`.", "",
        "## Binder: in the browser, nothing installed", "",
        "[Binder](https://mybinder.org) builds the repository's conda environment from `.binder/environment.yml` "
        "(the packages of `environment.yml`; a test keeps the two equal) and installs `gnc_teach` with "
        "`.binder/postBuild`, then opens JupyterLab. The first launch of a new version takes several "
        "minutes; later ones start from the cached image.", "", binder, "",
        "## Every explorer in one page", "",
        "```bash",
        "gnc-teach app",
        "```", "",
        "starts a local [Voilà](https://voila.readthedocs.io) dashboard on 127.0.0.1 with the explorers of every "
        "lesson, computing live, no code shown; it prints its address. Ctrl-C stops it.", "",
        "## Rebuilding this site", "",
        "```bash",
        "gnc-teach site build                  # stored outputs, into build/site",
        "gnc-teach site build --execute        # re-run every lesson first",
        "gnc-teach site build --with-solutions # instructors: include the solutions",
        "```", "",
        "The folder it writes is plain HTML: open `index.html`, or serve it from any static host.", ""])


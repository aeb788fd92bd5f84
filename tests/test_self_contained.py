"""The course is self-contained: nothing a student or a maintainer reads points outside the repository.

Two checks over README.md, lessons/, solutions/, exercises/, gnc_teach/, tests/ and benchmarks/:

* no reference to a file that is not shipped (the developers' digest MATH.md, a ``shared`` folder next to
  the repository, absolute paths of a particular machine);
* every relative link in a markdown file or a notebook's markdown cell resolves to an existing file
  inside the repository.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lessons", "solutions", "exercises", "gnc_teach", "tests", "benchmarks")
SUFFIXES = {".py", ".md", ".ipynb", ".csv", ".txt", ".toml", ".json", ".yml", ".yaml", ".cfg"}
FORBIDDEN = {
    r"MATH\.md": "the developers' digest MATH.md is not part of the repository",
    r"\.\./shared|(?<![\w.])shared/reference": "a folder outside the repository",
    r"/work/|/home/\w|/Users/\w|[A-Z]:\\\\Users": "an absolute path of one machine",
    r"file://": "a local file URL",
}
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _files():
    yield ROOT / "README.md"
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts \
                    and not any(part.startswith(".") for part in path.relative_to(ROOT).parts):
                yield path


FILES = [p for p in _files() if p != Path(__file__).resolve()]


def _text(path: Path) -> str:
    """The text a reader sees: for a notebook, its cell sources and text outputs."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts.append("".join(out.get("data", {}).get("text/plain", "")))
            parts.append("".join(out.get("data", {}).get("text/markdown", "")))
    return "\n".join(parts)


def _markdown(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_the_scan_covers_the_course():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert "README.md" in names and "lessons/01_simplex_etf.ipynb" in names
    assert any(n.startswith("gnc_teach/") and n.endswith(".py") for n in names)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_outside_the_repository(path):
    text = _text(path)
    found = [(m.group(0), why) for pattern, why in FORBIDDEN.items() for m in re.finditer(pattern, text)]
    assert not found, f"{path.relative_to(ROOT)} refers to {found[0][0]!r}: {found[0][1]}"


LINKED = [p for p in FILES if p.suffix in (".md", ".ipynb")]


@pytest.mark.parametrize("path", LINKED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(path):
    for target in LINK.findall(_markdown(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:, attachment:) or an anchor on the same page
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve()
        assert ROOT in resolved.parents or resolved == ROOT, \
            f"{path.relative_to(ROOT)} links to {target!r}, outside the repository"
        assert resolved.exists(), f"{path.relative_to(ROOT)} links to {target!r}, which does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{path.relative_to(ROOT)} links to {target!r}: no such heading"


def _anchors(md: Path) -> set:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    heads = re.findall(r"^#+\s+(.+?)\s*$", md.read_text(encoding="utf-8"), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def test_anchors_follow_github_rules():
    anchors = _anchors(ROOT / "lessons" / "appendix_proofs.md")
    assert {"a-rankins-orthoplex-bound", "f-riemannian-gradient-and-hessian-on-spheres"} <= anchors


def test_the_checks_would_catch_a_reference():
    text = "see ../shared/MATH.md §3 and [the digest](/work/shared/MATH.md)"
    assert all(re.search(p, text) for p in FORBIDDEN if p != r"file://")
    assert LINK.findall('[a](x.md), [b](../y.md "title") and [c](https://z)') == ["x.md", "../y.md", "https://z"]

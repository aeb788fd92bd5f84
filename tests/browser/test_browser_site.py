"""The built course website in Chromium: every page loads without console errors or failed requests,
no internal link is broken, each lesson page shows its figures and its twins, maths is typeset, search
finds a lesson, and moving a slider of a kernel-free twin changes its figure.

The site is built once (stored outputs, ``gnc_teach.site.build.build_site``) into a temporary folder
and served by a plain static HTTP server on 127.0.0.1. Screenshots: ``test-artifacts/browser/site/``.
"""
from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from browserkit import ROOT, PageLog, artifacts, evidence
from gnc_teach.site.build import build_site


class _Quiet(http.server.SimpleHTTPRequestHandler):
    # keep-alive: one connection per page instead of one per file, so the browser does not churn
    # through ephemeral ports that kernels started by other tests are about to bind
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(built SiteResult, base URL of a static server over it)."""
    t0 = time.perf_counter()
    res = build_site(ROOT, tmp_path_factory.mktemp("site") / "html", log=lambda *a: None)
    folder = artifacts("site", "build")
    (folder / "timing.txt").write_text(f"site build (stored outputs): {time.perf_counter() - t0:.1f} s\n"
                                       f"pages: {len(res.pages)}\nwarnings: {len(res.warnings)}\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(res.out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield res, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _settle(page):
    """Wait for MathJax (when the page has maths) and for every twin to draw its plot."""
    page.wait_for_load_state("load")
    page.wait_for_function("""() => !window.MathJax || !MathJax.startup || !MathJax.startup.promise
        ? true : MathJax.startup.promise.then(() => true)""", timeout=60_000)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('div.gnc-twin'))
        .every(t => t.querySelector('.gnc-twin-plot .main-svg'))""", timeout=60_000)


def test_every_page_loads_without_console_errors(site, browser):
    res, base = site
    folder = artifacts("site", "pages")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page)
    with evidence(page, folder):
        for rel in res.pages:
            log.problems.clear()
            page.goto(base + rel)
            _settle(page)
            page.screenshot(path=str(folder / (rel.replace("/", "__") + ".png")))
            assert not log.problems, f"{rel}: {log.problems}"
    page.close()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") in ("canonical",)):
                self.links.append(attrs[key])


def test_no_broken_internal_links(site):
    res, _ = site
    parsed = {}

    def parse(path):
        if path not in parsed:
            parsed[path] = _Links()
            parsed[path].feed(path.read_text(encoding="utf-8"))
        return parsed[path]

    broken, checked = [], 0
    for path in (res.out / rel for rel in res.pages):  # the pages (not the theme's template files in _static)
        p = parse(path)
        for link in p.links:
            url = urlparse(link)
            if url.scheme or url.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue  # external: Binder, papers, the theme's repository button
            checked += 1
            target, frag = urldefrag(link)
            dest = (path.parent / unquote(target.split("?")[0])).resolve() if target else path
            if dest.is_dir():
                dest = dest / "index.html"
            if not dest.exists():
                broken.append(f"{path.relative_to(res.out)}: {link}")
            elif frag and dest.suffix == ".html" and frag not in parse(dest).ids:
                broken.append(f"{path.relative_to(res.out)}: {link} (no #{frag})")
    assert checked > 20 * len(res.pages), f"only {checked} internal links found: is the parser reading the pages?"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:30])


def test_lesson_pages_show_figures_twins_and_maths(site, browser):
    res, base = site
    lessons = [p for p in res.pages if p.startswith("lessons/") and p[8:10].isdigit()]
    assert len(lessons) == len(list((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))), lessons
    folder = artifacts("site", "lessons")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    with evidence(page, folder):
        for rel in lessons:
            page.goto(base + rel)
            _settle(page)
            images = page.evaluate("""() => Array.from(document.querySelectorAll('.cell_output img'))
                .map(i => i.complete && i.naturalWidth > 0)""")
            assert images and all(images), f"{rel}: stored figures missing or not loaded ({images})"
            expected = res.twins.get(rel.replace(".html", ".ipynb"), [])
            assert page.locator("div.gnc-twin .main-svg").count() >= len(expected), f"{rel}: twins {expected}"
            assert page.locator("mjx-container").count() > 0 and page.locator("mjx-merror").count() == 0, \
                f"{rel}: maths not typeset"
            assert "VBox(children" not in page.inner_text("main"), f"{rel}: a widget shown as text"
    page.close()


def test_moving_a_twin_slider_changes_its_figure(site, browser):
    res, base = site
    assert res.twins, "no explorer twin on any lesson page"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for nb, names in res.twins.items():
        rel = nb.replace(".ipynb", ".html")
        folder = artifacts("site", Path(rel).stem)
        with evidence(page, folder):
            page.goto(base + rel)
            _settle(page)
            twins = page.locator("div.gnc-twin")
            for i, name in enumerate(names):
                twin = twins.nth(i)
                twin.scroll_into_view_if_needed()
                slider = twin.locator("input[type=range]").first
                data = "el => JSON.stringify(el.querySelector('.gnc-twin-plot').data.map(t => [t.x, t.y, t.z]))"
                before, state = twin.evaluate(data), twin.get_attribute("data-state")
                twin.screenshot(path=str(folder / f"{name}-before.png"))
                at_end = slider.evaluate("el => el.value === el.max")
                slider.focus()
                slider.press("ArrowLeft" if at_end else "ArrowRight")
                page.wait_for_function("([el, s]) => el.dataset.state !== s", arg=[twin.element_handle(), state])
                twin.screenshot(path=str(folder / f"{name}-after.png"))
                assert twin.evaluate(data) != before, f"{rel}: moving the slider of {name} left its figure unchanged"
    page.close()


def test_search_finds_a_lesson(site, browser):
    res, base = site
    page = browser.new_page()
    log = PageLog(page)
    with evidence(page, artifacts("site", "search")):
        page.goto(base + "search.html?q=simplex")
        page.wait_for_selector("#search-results ul.search li", timeout=30_000)
        hits = page.locator("#search-results ul.search li").all_inner_texts()
        assert any("Lesson 01" in h for h in hits), hits
        assert not log.problems, log.problems
    page.close()


def test_site_index_lists_the_explorers_it_shows(site):
    res, _ = site
    meta = json.loads((res.out / "site.json").read_text())
    assert meta["twins"] == res.twins
    for nb, names in res.twins.items():
        html = (res.out / nb.replace(".ipynb", ".html")).read_text()
        assert html.count('class="gnc-twin"') == len(names)

"""Helpers of the real-browser tests (see conftest.py): where Chromium is, how it is started, screenshot
folders, page logs, local servers, and how to move an explorer's control and see its figure change."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("GNC_TEACH_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
# Chromium on this closed network: no background connections (they are refused, many at a time, and
# slow every start), no sandbox (CI runs as root), software WebGL for the 3-D plotly figures.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    env = os.environ.get("GNC_TEACH_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: python -m pip install -e \".[test]\""
    if chromium_path() is None:
        return ("no Chromium found (set GNC_TEACH_CHROMIUM, or `apt-get install chromium`); "
                "Playwright's own browser download does not work offline")
    return None


def artifacts(surface: str, name: str) -> Path:
    """A fresh folder ``test-artifacts/browser/<surface>/<name>/`` for screenshots."""
    path = ARTIFACTS / surface / re.sub(r"[^\w.-]+", "_", name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


class PageLog:
    """Console errors, uncaught exceptions, failed requests and HTTP errors of a page."""

    def __init__(self, page, *, ignore=()):
        self.problems, self.ignore = [], tuple(ignore)
        page.on("console", lambda m: m.type == "error" and self._add(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self._add(f"uncaught exception: {e}"))
        page.on("requestfailed", lambda r: self._add(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self._add(f"HTTP {r.status}: {r.url}"))

    def _add(self, text):
        if not any(pat in text for pat in self.ignore):
            self.problems.append(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers 200 (or ``proc`` exits, or ``timeout`` seconds pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def kernel_env() -> dict:
    """The environment for servers that start kernels: the inline matplotlib backend (the test run
    sets MPLBACKEND=Agg, under which explorers would draw nothing)."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    return env


# ------------------------------------------------------------------- explorers in a widget page
FIGURE_SIGNATURE = """el => Array.from(el.querySelectorAll('img, svg.main-svg, canvas'))
    .map(n => n.tagName === 'IMG' ? n.src : n.tagName === 'CANVAS' ? n.toDataURL() : n.outerHTML).join('|')"""


def move_first_control(container) -> str:
    """Move the first control of the ipywidgets explorer in ``container``: an arrow key on its first
    slider handle (towards the side with room), else the next option of its first dropdown, else an
    unselected toggle button. Returns a description of the move."""
    handle = container.locator(".noUi-handle")
    if handle.count():
        handle = handle.first
        handle.scroll_into_view_if_needed()
        now, hi = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
        key = "ArrowLeft" if now >= hi else "ArrowRight"
        handle.focus()
        handle.press(key)
        return f"{key} on the slider at {now}"
    select = container.locator(".widget-dropdown select")
    if select.count():
        options = select.first.locator("option").all_inner_texts()
        current = select.first.evaluate("el => el.selectedIndex")
        select.first.select_option(index=(current + 1) % len(options))
        return f"option {options[(current + 1) % len(options)]!r} of the dropdown"
    toggle = container.locator(".widget-toggle-button:not(.mod-active), .widget-toggle-buttons button:not(.mod-active)")
    if toggle.count():
        label = toggle.first.inner_text()
        toggle.first.click()
        return f"toggle {label!r}"
    raise AssertionError("the explorer has no slider, dropdown or toggle button to move")


def control_changes_figure(container, folder: Path, name: str, *, timeout: float = 60) -> str | None:
    """Move the first control of the explorer in ``container`` and wait for its figure to change;
    screenshots ``<name>-before.png`` / ``-after.png`` in ``folder``. None when it changed, else what failed."""
    container.locator("img, svg.main-svg, canvas").first.wait_for(timeout=60_000)  # the figure is drawn
    before = container.evaluate(FIGURE_SIGNATURE)
    container.screenshot(path=str(folder / f"{name}-before.png"))
    how = move_first_control(container)
    after = wait_figure_change(container, before, timeout=timeout)
    container.screenshot(path=str(folder / f"{name}-after.png"))
    return None if after != before else f"{how} did not change the figure"


def wait_figure_change(container, before: str, *, timeout: float) -> str:
    """Wait until the figure signature of ``container`` differs from ``before``; returns the new one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = container.evaluate(FIGURE_SIGNATURE)
        if now and now != before:
            return now
        time.sleep(0.25)
    return before


class evidence:
    """Context manager: on failure, screenshot ``page`` into ``folder`` and name the folder in the error."""

    def __init__(self, page, folder: Path):
        self.page, self.folder = page, folder

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or not isinstance(exc, Exception):
            return False
        try:
            self.page.screenshot(path=str(self.folder / "failure.png"), full_page=True)
        except Exception:  # the page may be gone; the original error matters more
            pass
        raise AssertionError(f"{exc}\nscreenshots: {self.folder}") from exc

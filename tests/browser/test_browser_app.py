"""``gnc-teach app`` in Chromium: it prints its address, shows every registered explorer as live widgets,
one control of each changes its figure, and Ctrl-C stops it with its kernels shut down.
Screenshots: ``test-artifacts/browser/app/``.
"""
from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from browserkit import ROOT, artifacts, control_changes_figure, evidence, kernel_env
from gnc_teach.views.registry import EXPLORERS


@pytest.fixture(scope="module")
def app():
    """The running ``python -m gnc_teach app`` process, its URL and a queue of its output lines."""
    proc = subprocess.Popen([sys.executable, "-m", "gnc_teach", "app"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=kernel_env(), cwd=ROOT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    log, url, deadline = [], None, time.monotonic() + 120
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        log.append(line)
        m = re.search(r"live at (http://127\.0\.0\.1:\d+/)", line)
        url = m and m.group(1)
    try:
        assert url, "gnc-teach app printed no address:\n" + "".join(log)
        yield dict(proc=proc, url=url, lines=lines, log=log)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_app_shows_every_explorer_and_its_controls_work(app, browser):
    folder = artifacts("app", "explorers")
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    with evidence(page, folder):
        page.goto(app["url"])
        for name in EXPLORERS:
            page.locator(f".gnc-explorer-{name}").wait_for(timeout=180_000)
        page.screenshot(path=str(folder / "app.png"), full_page=True)
        assert page.locator(".gnc-explorer").count() == len(EXPLORERS)
        assert "build_widget" not in page.inner_text("body"), "the app shows its code cells"
        for name in EXPLORERS:
            box = page.locator(f".gnc-explorer-{name}")
            box.scroll_into_view_if_needed()
            failure = control_changes_figure(box, folder, name)
            assert failure is None, f"{name}: {failure}"
    page.close()


def test_ctrl_c_stops_the_app_and_its_kernels(app):
    proc = app["proc"]
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    while not app["lines"].empty():
        app["log"].append(app["lines"].get())
    text = "".join(app["log"])
    assert proc.returncode == 0, text[-2000:]
    assert "gnc-teach app: stopped" in text
    started = set(re.findall(r"Kernel started: ([\w-]+)", text))
    assert started and started <= set(re.findall(r"Kernel shutdown: ([\w-]+)", text)), text[-2000:]

"""``gnc-teach app`` in Chromium: it prints its address, shows every registered explorer as live widgets,
one control of each changes its figure, the page logs no console error and fetches nothing that fails
(the app works offline), and Ctrl-C stops it with its kernels shut down.
Screenshots: ``test-artifacts/browser/app/``; the server's log: ``test-artifacts/browser/app/server/app.log``.
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

from browserkit import ROOT, PageLog, artifacts, control_changes_figure, evidence, kernel_env
from gnc_teach.views.registry import EXPLORERS


@pytest.fixture(scope="module")
def app():
    """The running ``python -m gnc_teach app`` process, its URL and a queue of its output lines."""
    # SIGINT at its default in the app, as in a terminal: a test run started in the background ignores it,
    # and a child would inherit that (then the Ctrl-C test below could not stop the app)
    proc = subprocess.Popen([sys.executable, "-m", "gnc_teach", "app"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=kernel_env(), cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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
        while not lines.empty():
            log.append(lines.get())
        (artifacts("app", "server") / "app.log").write_text("".join(log))  # Voilà's and the kernels' output


def test_app_shows_every_explorer_and_its_controls_work(app, browser):
    folder = artifacts("app", "explorers")
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    log = PageLog(page)
    with evidence(page, folder):
        # Voilà streams the page while its kernel runs the explorers' cells (~1 min on two busy cores):
        # wait for the explorers, not for the page's load event
        page.goto(app["url"], wait_until="commit")
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
        assert not log.problems, f"the app page logged: {log.problems}"
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

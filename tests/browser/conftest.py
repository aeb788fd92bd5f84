"""Real-browser tests: Playwright (Python) driving Debian's Chromium.

Playwright's own browser download cannot work on a closed network, so the tests use a system
Chromium: ``$GNC_TEACH_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH.
Without it, or without the playwright package, every test here is skipped with that reason, except
when ``GNC_TEACH_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a missing browser is a failure.

Every test in this folder carries the ``browser`` marker: ``python -m pytest -m browser`` runs them
alone, ``-m "not browser"`` leaves them out. Screenshots go to ``test-artifacts/browser/<surface>/...``
under the repository root (``$GNC_TEACH_ARTIFACTS`` overrides the root folder); a failure names them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from browserkit import CHROMIUM_ARGS, chromium_path, missing


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    why = missing()
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if why and os.environ.get("GNC_TEACH_REQUIRE_BROWSER") != "1":
                item.add_marker(pytest.mark.skip(reason=f"browser test: {why}"))


@pytest.fixture(scope="module")
def browser():
    why = missing()
    if why:  # only reached with GNC_TEACH_REQUIRE_BROWSER=1
        pytest.fail(f"GNC_TEACH_REQUIRE_BROWSER=1 but {why}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()



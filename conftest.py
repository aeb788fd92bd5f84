"""Root pytest configuration, shared by the unit tests and the notebooks run by nbval."""
import os
from pathlib import Path

import pytest

LESSONS = Path(__file__).resolve().parent / "lessons"
# With GNC_TEACH_REQUIRE_BROWSER=1 (CI) the JupyterLab test runs every lesson through the UI and asserts
# what nbval asserts (every cell runs without error, GNC_TEACH_STRICT_CHECKS=1 in the kernel), so nbval
# leaves lessons/ to it: running each lesson twice would not fit CI's 15 minutes (README, Test).
# Solutions always run under nbval; without a browser, lessons do too.
BROWSER_RUNS_LESSONS = ("lessons/ run through JupyterLab's UI instead, by tests/browser/test_browser_lab.py "
                        "(GNC_TEACH_REQUIRE_BROWSER=1): every cell without error, GNC_TEACH_STRICT_CHECKS=1")

# Solution notebooks must pass their self-checks: in strict mode a failed check raises.
os.environ["GNC_TEACH_STRICT_CHECKS"] = "1"
# Two xdist workers share CI's two cores: one BLAS/OpenMP thread each (also inherited by notebook kernels)
# avoids oversubscription, which made small torch problems several times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Matplotlib must never try to open a window in CI.
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the long known-answer sweeps marked @pytest.mark.slow")


@pytest.hookimpl(trylast=True)  # after `-m` and `-k` have chosen the items
def pytest_collection_modifyitems(config, items):
    if not config.getoption("--run-slow"):
        skip = pytest.mark.skip(reason="slow known-answer sweep: run with `pytest --run-slow`")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
    if os.environ.get("GNC_TEACH_REQUIRE_BROWSER") != "1":
        return
    if not any(item.nodeid.startswith("tests/browser/test_browser_lab.py::test_lesson_runs") for item in items):
        return  # the JupyterLab test is not in this run (`-m "not browser"`, a single file): nbval runs lessons
    skip = pytest.mark.skip(reason=BROWSER_RUNS_LESSONS)
    for item in items:
        if LESSONS in Path(str(item.fspath)).parents:
            item.add_marker(skip)

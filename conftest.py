"""Root pytest configuration, shared by the unit tests and the notebooks run by nbval."""
import os

import pytest

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


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow known-answer sweep: run with `pytest --run-slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

"""Smoke test of benchmarks/: the scripts import, every peer runs a tiny case, scoring is exact.

No timing assertions (speed is measured in benchmarks/RESULTS.md, not asserted). geoopt and pymanopt
live in the optional ``bench`` extra, so the test skips with a reason when they are missing.
"""
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("geoopt", reason="geoopt is in the optional 'bench' extra: pip install -e '.[bench]'")
pytest.importorskip("pymanopt", reason="pymanopt is in the optional 'bench' extra: pip install -e '.[bench]'")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_codes  # noqa: E402
import bench_common  # noqa: E402
import bench_one_vs_rest  # noqa: E402
import bench_peers  # noqa: E402
import bench_report  # noqa: E402

PENTAGON_RHO = 1 - math.cos(2 * math.pi / 5)      # rho* for d=2, K=5 (regular pentagon)


def test_nnls_loop_is_exact_on_the_pentagon():
    t = np.arange(5) * 2 * np.pi / 5
    W = np.stack([np.cos(t), np.sin(t)], axis=1)
    upper, lower = bench_common.nnls_one_vs_rest(W)
    assert np.allclose(upper, PENTAGON_RHO, atol=1e-8)
    assert np.all(upper - lower <= 1e-8)


@pytest.mark.parametrize("name", sorted(bench_peers.PEERS))
def test_each_peer_runs_a_tiny_case(name):
    rec = bench_common.Recorder(0.2, growth=2.0)     # few snapshots: scoring stays cheap
    info = bench_peers.PEERS[name](5, 2, rec, seed=0)
    assert isinstance(info, dict) and "skipped" not in info
    trace = bench_common.score_trace(rec.snaps)
    assert trace, "a peer must leave at least its final snapshot"
    assert all(0 <= r <= PENTAGON_RHO + 1e-9 for _, _, r in trace)
    assert all(t2 >= t1 for (t1, _, _), (t2, _, _) in zip(trace, trace[1:]))


def test_time_to_target_and_ratio():
    trace = [(0.1, 0.1, 0.2), (0.5, 0.4, 0.5), (1.0, 0.9, 0.6)]
    assert bench_common.time_to_target(trace, 0.45) == (0.5, 0.4)
    assert bench_common.time_to_target(trace, 0.7) == (None, None)
    assert bench_codes.ratio_text(2.0, 0.5, 10) == "4"
    assert bench_codes.ratio_text(None, 0.5, 10) == ">= 20"
    assert bench_codes.ratio_text(1.0, None, 10) == "ours did not reach"


def test_same_value_ratio_reads_the_peer_traces():
    z = {"cap_s": 10.0,
         "ours": {"defaults": {"rho": 0.5, "seconds": 0.5, "cpu_seconds": 0.5},
                  "fast=True": {"rho": 0.7, "seconds": 0.25, "cpu_seconds": 0.25}},
         "peers": {"slow": {"trace": [(1.0, 1.0, 0.3), (2.0, 1.5, 0.5 - 1e-12), (9.0, 8.0, 0.6)]},
                   "never": {"trace": [(0.1, 0.1, 0.2), (9.5, 9.5, 0.4)]}}}
    defaults, fast = bench_report.same_value_md(z)
    # 0.5 - 1e-12 counts as the same value (exact scorers agree to ~1e-14): 2.0 s / 0.5 s
    assert "fastest peer slow 2 s vs ours 0.5 s, ratio 4 (NOT met)" in defaults
    assert "CPU: fastest peer slow 1.5 s" in defaults
    # no peer reaches 0.7: the cap gives a lower bound, 10 s / 0.25 s = 40
    assert "wall: no peer reached it within its cap, ratio >= 40 (met)" in fast


@pytest.mark.slow
def test_run_peer_in_a_subprocess_keeps_snapshots():
    # Spawns a fresh interpreter (imports torch): a few seconds, hence slow.
    r = bench_codes.run_peer("hardmax_subgradient", 5, 2, 0.3)
    assert r["final"] <= PENTAGON_RHO + 1e-9
    assert r["trace"][-1][2] == r["final"]


def test_one_vs_rest_bench_small_case():
    pytest.importorskip("gnc_teach.margins")
    from gnc_teach import margins
    out = bench_one_vs_rest.bench_size(20, 3, repeat=1, budget_s=0)
    assert out["max_abs_diff"] < 1e-6
    assert out["ratio"] > 0 and out["ours_torch_s"] > 0
    assert out["ours_runs"] == out["nnls_loop_runs"] == 1
    assert margins._compiled() is not None  # the torch-only timing restores the compiled path

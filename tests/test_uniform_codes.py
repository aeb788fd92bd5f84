"""Optimal codes of the uniformity measures: proved optima recognised, published values reproduced,
certificates that mean something, the comparison table and the cached search."""
import math

import pytest
import torch

from gnc_teach.geometry import cross_polytope, simplex_etf
from gnc_teach.margins import rho
from gnc_teach.metrics import code_distance
from gnc_teach.uniform_codes import (code_values, compare_codes, icosahedron, load_search, optimal_code,
                                     proved_optimum)
from gnc_teach.uniformity import energy

F64 = torch.float64
SMOOTH = [("log", 0.0), ("riesz", 1.0), ("riesz", 2.0), ("gram_det", 2.0)]


@pytest.mark.parametrize("measure, s", SMOOTH + [("min_separation", 2.0)])
def test_simplex_is_found_and_proved_for_every_measure(measure, s):
    c = optimal_code(4, 3, measure=measure, s=s)
    prefix = "proved optimal (simplex" if measure != "min_separation" else "proved optimal (closed form"
    assert c.status.startswith(prefix)
    assert code_distance(c.W, simplex_etf(4, 3)) < 1e-8
    if measure != "min_separation":
        assert c.certificate["grad_norm"] < 1e-10 and c.certificate["hessian_min_eig"] > 1e-3


def test_sharp_codes_are_proved_for_the_riesz_family_only():
    for s in (0.0, 1.0, 2.0):
        c = optimal_code(12, 3, measure="riesz", s=s)
        assert c.status == "proved optimal (icosahedron, universally optimal (Cohn & Kumar 2007))"
        assert code_distance(c.W, icosahedron()) < 1e-8
    assert optimal_code(6, 3, measure="riesz", s=1.0).status.startswith("proved optimal (cross-polytope")
    g = optimal_code(6, 3, measure="gram_det")          # found, but no proof for the Gram determinant
    assert g.status == "best found" and code_distance(g.W, cross_polytope(3)) < 1e-8
    assert proved_optimum(6, 3, "gram_det") is None and proved_optimum(12, 3, "min_separation")[1].startswith("ico")


def test_thomson_values_match_the_published_table():
    # lowest known Coulomb energies (Wikipedia 'Thomson problem', 9 decimals)
    for K, E in [(7, 14.452977414), (8, 19.675287861), (9, 25.759986531)]:
        c = optimal_code(K, 3, measure="riesz", s=1.0)
        assert c.value == pytest.approx(E, abs=2e-9) and c.status == "best found"


def test_each_code_wins_its_own_column_at_8_3():
    codes = {m: optimal_code(8, 3, measure=m, s=s).W for m, s in SMOOTH + [("min_separation", 2.0)]}
    rows = {r["name"]: r for r in compare_codes(codes)}
    own = {"log": "E_0 (log)", "riesz": "E_2", "gram_det": "-logdet G", "min_separation": "min_angle"}
    for m, col in own.items():
        assert col in rows[m]["best"], (m, rows[m]["best"])
    assert rows["min_separation"]["rho"] == pytest.approx(1 - 1 / (1 + 2 * math.sqrt(2)), abs=1e-9)
    assert rows["riesz"]["rho"] == pytest.approx(0.734796418539, abs=1e-9)   # the s = 2 code: smaller rho
    v = code_values(codes["riesz"])
    assert v["E_2"] == pytest.approx(float(energy(codes["riesz"], "riesz", s=2)))


def test_degenerate_hessian_is_reported_not_hidden():
    c = optimal_code(7, 3, measure="riesz", s=2.0)                 # pentagonal bipyramid: a flat pair at s = 2
    assert c.value == pytest.approx(10.25, abs=1e-10) and abs(c.certificate["hessian_min_eig"]) < 1e-6
    assert rho(c.W) == pytest.approx(1 - math.cos(2 * math.pi / 5), abs=1e-9)


def test_float32_and_cpu_device():
    c = optimal_code(5, 3, measure="log", dtype=torch.float32, device="cpu")
    assert c.W.dtype == torch.float32 and c.W.device.type == "cpu"
    assert c.value == pytest.approx(optimal_code(5, 3, measure="log").value, abs=1e-9)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch():
    c = optimal_code(8, 3, measure="gram_det", device="cuda")
    assert c.W.device.type == "cuda" and c.certificate["grad_norm"] < 1e-10


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(K=1, d=3), ValueError, "K must be >= 2"),
    (dict(K=4, d=1), ValueError, "d must be >= 2"),
    (dict(K=4, d=3, measure="energy"), ValueError, "measure must be one of"),
    (dict(K=4, d=3, s=-0.5), ValueError, "s must be >= 0"),
    (dict(K=4, d=3, restarts=0), ValueError, "restarts"),
    (dict(K=4.0, d=3), TypeError, "K must be an integer"),
])
def test_bad_input(kwargs, exc, match):
    K, d = kwargs.pop("K"), kwargs.pop("d")
    with pytest.raises(exc, match=match):
        optimal_code(K, d, **kwargs)


def test_cached_search_is_consistent():
    rows = load_search()
    assert [r["K"] for r in rows] == list(range(4, 17)) and {r["d"] for r in rows} == {3}
    for r in rows:
        for c in ("min_separation", "log", "riesz1", "riesz2", "gram"):
            assert r[f"rho_{c}"] <= r["rho_softmax"] + 1e-9          # nothing beats the softmax code's rho
        assert r["max_gap"] == pytest.approx(max(r["rho_softmax"] - r[f"rho_{c}"]
                                                 for c in ("min_separation", "log", "riesz1", "riesz2", "gram")))
    worst = max(rows, key=lambda r: r["max_gap"])
    bipyramid = 1 - math.cos(2 * math.pi / 5)                        # rho of the pentagonal bipyramid
    assert worst["K"] == 7 and worst["max_gap"] == pytest.approx(0.7898616873 - bipyramid, abs=1e-8)
    assert sorted(r["K"] for r in rows if r["max_gap"] < 1e-9) == [4, 5, 6, 12]

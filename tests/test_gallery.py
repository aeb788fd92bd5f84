"""The gallery of precomputed codes: every stored code is a unit code whose stored numbers are right,
and is at least as good as the proved closed form / reference value where one is known."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gnc_teach import gallery
from gnc_teach.codes import riesz_energy
from gnc_teach.gallery import DATA_PATH, GRID, KINDS, gallery_code, gallery_entry, stored_keys
from gnc_teach.geometry import min_angle
from gnc_teach.margins import known_rho_star, one_vs_rest_distance, rho_upper_bound

# Best known values (d = 3) that the stored codes must reach: the square antiprism (Sloane's Tammes
# table, K = 8) and the icosahedron 1 - 1/sqrt(5) (K = 12), as one-vs-rest distances.
REFERENCE_RHO_D3 = {8: 0.7387961, 12: 1 - 1 / math.sqrt(5)}


def test_data_file_is_small_and_covers_the_grid():
    assert DATA_PATH.exists(), "run `python -m gnc_teach.gallery --rebuild`"
    assert DATA_PATH.stat().st_size < 400_000
    keys = set(stored_keys())
    for d, K_max in GRID.items():
        for K in range(2, K_max + 1):
            for kind in KINDS:
                assert (kind, K, d) in keys


@pytest.mark.parametrize("kind", KINDS)
def test_stored_codes_are_unit_and_their_numbers_are_right(kind):
    for k, K, d in stored_keys():
        if k != kind:
            continue
        e = gallery_entry(kind, K, d)
        W = torch.as_tensor(e["W"])
        assert W.dtype == torch.float64 and W.shape == (K, d)
        assert torch.allclose(W.norm(dim=1), torch.ones(K, dtype=torch.float64), atol=1e-12)
        assert abs(float(one_vs_rest_distance(W).min()) - e["rho"]) < 1e-10, (kind, K, d)
        assert abs(min_angle(W) - e["min_angle"]) < 1e-8
        assert abs(e["upper_bound"] - rho_upper_bound(K, d)) < 1e-15
        assert abs(e["gap"] - (e["upper_bound"] - e["rho"])) < 1e-12
        assert e["lower_bound"] - 1e-10 <= e["rho"] <= e["upper_bound"] + 1e-10
        assert abs(riesz_energy(W) - e["energy"]) < 1e-8 * max(1.0, e["energy"])


def test_softmax_entries_reach_closed_forms_and_references():
    for kind, K, d in stored_keys():
        if kind != "softmax":
            continue
        rho = gallery_entry(kind, K, d)["rho"]
        star = known_rho_star(K, d)
        if star is not None:
            assert abs(rho - star) < 1e-9, (K, d, rho, star)
        if d == 3 and K in REFERENCE_RHO_D3:
            assert rho >= REFERENCE_RHO_D3[K] - 1e-7, (K, rho)


def test_tammes_entries_reach_sloane_angles_d3():
    # Best-known Tammes angles in degrees for d = 3 (Sloane's tables, truncated to 4 decimals).
    sloane = {5: 90.0, 6: 90.0, 7: 77.8695, 8: 74.8584, 12: 63.4349}
    for K, angle in sloane.items():
        assert gallery_entry("tammes", K, 3)["min_angle"] >= angle - 1e-3, K


def test_thomson_entries_have_reference_energies_d3():
    # Lowest known Coulomb energies (the Thomson table), 9 decimals as printed.
    energies = {4: 3.674234614, 6: 9.985281374, 8: 19.675287861, 12: 49.165253058}
    for K, U in energies.items():
        assert gallery_entry("thomson", K, 3)["energy"] <= U + 1e-6, K


def test_gallery_code_and_errors():
    W = gallery_code("softmax", 7, 2, device="cpu", dtype=torch.float32)
    assert W.shape == (7, 2) and W.dtype == torch.float32
    e = gallery_entry("softmax", 7, 2)
    e["W"][:] = 0                                   # entries are copies: the cache is not modified
    assert np.allclose(np.linalg.norm(gallery_entry("softmax", 7, 2)["W"], axis=1), 1)
    with pytest.raises(ValueError, match="kind="):
        gallery_code("cube", 8, 3)
    with pytest.raises(ValueError, match="K must be >= 2"):
        gallery_code("softmax", 1, 3)
    with pytest.raises(TypeError, match="K must be an integer"):
        gallery_code("softmax", 2.5, 3)


def test_missing_entry_is_computed_on_demand_and_cached(monkeypatch, tmp_path):
    monkeypatch.setattr(gallery, "DATA_PATH", tmp_path / "absent.npz")
    gallery._stored.cache_clear()
    try:
        e = gallery_entry("softmax", 5, 4)            # K = d+1: the exact simplex, no solver needed
        assert not e["stored"] and abs(e["rho"] - 5 / 4) < 1e-12
        assert gallery._on_demand.cache_info().currsize >= 1
    finally:
        gallery._stored.cache_clear()


def test_rebuild_writes_a_loadable_file(monkeypatch, tmp_path):
    path = tmp_path / "g.npz"
    gallery.rebuild(path, grid={2: 4, 3: 4}, verbose=False)
    monkeypatch.setattr(gallery, "DATA_PATH", path)
    gallery._stored.cache_clear()
    try:
        assert sorted(stored_keys()) == sorted((k, K, d) for d in (2, 3) for K in (2, 3, 4) for k in KINDS)
        assert abs(gallery_entry("thomson", 4, 3)["rho"] - 4 / 3) < 1e-12
        before = gallery_entry("softmax", 4, 2)
        gallery.refresh(path)                     # same codes, numbers re-evaluated
        after = gallery_entry("softmax", 4, 2)
        assert np.array_equal(before["W"], after["W"]) and abs(before["rho"] - after["rho"]) < 1e-12
    finally:
        gallery._stored.cache_clear()

"""Tests for gnc_teach.references: the shipped tables load, carry their sources, and agree with geometry."""
import math

import pytest
import torch

from gnc_teach import references
from gnc_teach.margins import one_vs_rest_distance


def test_tammes_table():
    t = references.tammes_d3()
    assert sorted(t) == list(range(2, 31))
    assert t[4]["min_angle_deg"] == pytest.approx(math.degrees(math.acos(-1 / 3)), abs=1e-7)
    assert t[12]["min_angle_deg"] == pytest.approx(math.degrees(math.acos(1 / math.sqrt(5))), abs=1e-7)
    assert t[13]["status"] == "proved" and t[15]["status"] == "best_known"
    assert any("Sloane" in line for line in references.source("tammes_d3"))


def test_thomson_table():
    t = references.thomson_d3()
    assert min(t) == 2 and max(t) == 470 and all(N in t for N in range(2, 31))
    assert t[2]["energy"] == 0.5
    assert t[4]["energy"] == pytest.approx(6 / math.sqrt(8 / 3), abs=1e-9)
    assert t[12]["symmetry"] == "Ih"
    assert any("Thomson" in line for line in references.source("thomson_d3"))


def test_known_codes_consistent():
    rows = references.known_codes()
    concrete = [r for r in rows if isinstance(r["d"], int) and isinstance(r["K"], int)]
    assert {(r["d"], r["K"]) for r in concrete} >= {(3, 12), (4, 10), (4, 24), (5, 16)}
    for r in concrete:   # every listed code has rho = 1 - max cos (header of the table)
        assert r["rho_value"] == pytest.approx(1 - r["max_cos_value"], abs=1e-9)
    families = [r for r in rows if r not in concrete]
    assert families and all(r["rho_value"] is None for r in families)


def test_icosahedron_value_matches_exact_rho():
    p = (1 + math.sqrt(5)) / 2
    V = torch.tensor([[0, s1, s2 * p] for s1 in (1, -1) for s2 in (1, -1)], dtype=torch.float64)
    W = torch.cat([V, V[:, [1, 2, 0]], V[:, [2, 0, 1]]])
    W = W / W.norm(dim=1, keepdim=True)
    row = next(r for r in references.known_codes() if r["name"] == "icosahedron")
    assert float(one_vs_rest_distance(W).min()) == pytest.approx(row["rho_value"], abs=1e-12)


def test_unknown_table():
    with pytest.raises(ValueError, match="no reference table"):
        references.source("nope")

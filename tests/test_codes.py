"""Tests for gnc_teach.codes: closed forms, d = 3 reference tables, symmetric codes, certificates,
invariances, dtypes, the chunked objective and input validation.

Reference values come from gnc_teach/data (copied with their sources); tolerances are stated per test.
Sloane's Tammes angles are truncated to 7 decimals, so the true value lies in [table, table + 1e-7).
"""
import functools
import math

import numpy as np
import pytest
import torch

from gnc_teach import codes, references
from gnc_teach._solvers.sphere_opt import riesz_energy_grad, softmin_margins
from gnc_teach.geometry import random_rotation, simplex_etf
from gnc_teach.margins import one_vs_rest_distance

F64 = torch.float64
TAMMES = references.tammes_d3()
THOMSON = references.thomson_d3()


def closed_form(K, d):
    if K <= d + 1:
        return K / (K - 1)
    if d == 2:
        return 1 - math.cos(2 * math.pi / K)
    if K <= 2 * d:
        return 1.0
    raise ValueError


def rho_tammes(K):
    return 1 - math.cos(math.radians(TAMMES[K]["min_angle_deg"]))


# ----------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("K,d", [(3, 2), (5, 2), (4, 3), (5, 4), (6, 4)])
def test_softmax_closed_forms(K, d):
    res = codes.softmax_code(K, d, restarts=8, steps=600, dtype=F64)
    assert res.W.shape == (K, d)
    assert torch.allclose(res.W.norm(dim=1), torch.ones(K, dtype=F64), atol=1e-12)
    assert abs(res.rho - closed_form(K, d)) <= 1e-9
    assert res.status.startswith("proved optimal")


@pytest.mark.slow
@pytest.mark.parametrize("K,d", [(K, 2) for K in range(3, 13)] + [(K, d) for d in range(3, 7)
                                                                   for K in range(2, 2 * d + 1)])
def test_softmax_closed_forms_sweep(K, d):
    res = codes.softmax_code(K, d)
    assert abs(res.rho - closed_form(K, d)) <= 1e-9


# ----------------------------------------------------------------------------- d = 3 references
@pytest.mark.parametrize("K", [4, 5, 6, 8, 12, 13])
def test_softmax_d3_matches_tammes(K):
    # numerically the softmax code coincides with the Tammes code for d = 3, K <= 16 (lesson 02)
    res = codes.softmax_code(K, 3, seed=0)
    assert abs(res.rho - rho_tammes(K)) <= 1e-7
    assert res.certificate["kkt_residual"] <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("K", range(4, 31))
def test_softmax_d3_sweep(K):
    res = codes.softmax_code(K, 3)      # the defaults: that is what the targets are about
    if K <= 16:
        assert abs(res.rho - rho_tammes(K)) <= 1e-7
    else:  # a Tammes code is feasible with rho >= 1 - max cos
        assert res.rho >= rho_tammes(K) - 1e-7


@pytest.mark.parametrize("K", [5, 8, 12])
def test_tammes_d3(K):
    res = codes.tammes_code(K, 3)
    ref = TAMMES[K]["min_angle_deg"]
    assert ref - 1e-6 <= res.min_angle <= ref + 1e-7 + 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("K", range(4, 31))
def test_tammes_d3_sweep(K):
    res = codes.tammes_code(K, 3)
    assert res.min_angle >= TAMMES[K]["min_angle_deg"] - 1e-6


def test_tammes_basin_hopping_only_improves_and_is_recorded():
    # a deliberately short phase 1 (few restarts and steps) leaves room for the hops to improve on
    short = dict(restarts=2, steps=60, seed=3)
    base = codes.tammes_code(13, 3, hops=0, **short)
    hopped = codes.tammes_code(13, 3, hops=24, **short)
    assert "hops" not in base.certificate
    assert hopped.certificate["hops"] == 24 and 0 <= hopped.certificate["hops_accepted"] <= 24
    assert hopped.min_angle > base.min_angle                    # 56.81 -> 57.137 deg (the record) here
    assert hopped.min_angle <= TAMMES[13]["min_angle_deg"] + 1e-6
    with pytest.raises(ValueError, match="hops"):
        codes.tammes_code(5, 3, hops=-1)


@pytest.mark.parametrize("K", [5, 8, 12])
def test_thomson_d3(K):
    res = codes.thomson_code(K, 3)
    ref = THOMSON[K]["energy"]
    assert abs(res.energy - ref) <= 1e-9 * ref + 1e-9   # the table prints 9 decimals
    assert res.certificate["grad_norm"] <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("K", range(2, 31))
def test_thomson_d3_sweep(K):
    res = codes.thomson_code(K, 3)
    ref = THOMSON[K]["energy"]
    assert abs(res.energy - ref) <= 1e-9 * ref + 1e-9


# ----------------------------------------------------------------------------- symmetric codes
def test_petersen_code_d4_k10():
    res = codes.softmax_code(10, 4)
    assert res.rho >= 5 / 6 - 1e-7
    assert res.status == "best found"           # not a proved optimum: never called optimal


@pytest.mark.slow
@pytest.mark.parametrize("K,d,value", [(24, 4, 0.5), (16, 5, 0.8), (27, 6, 0.75)])
def test_symmetric_codes(K, d, value):
    assert codes.softmax_code(K, d).rho >= value - 1e-7


@pytest.mark.slow
def test_large_k_beats_reference_lines():
    assert codes.softmax_code(100, 10).rho > 0.61416
    assert codes.softmax_code(200, 10).rho > 0.5052


# ----------------------------------------------------------------------------- certificates, invariances
@pytest.fixture(scope="module")
def code_8_3():
    return codes.softmax_code(8, 3, restarts=16, steps=800)


def test_certificates(code_8_3):
    res = code_8_3
    c = res.certificate
    det = one_vs_rest_distance(res.W.double(), return_details=True)
    assert torch.all(det.lower <= det.rho + 1e-12) and torch.all(det.rho <= det.upper + 1e-12)
    assert c["one_vs_rest_gap"] <= 1e-9
    assert 1 - math.cos(math.radians(res.min_angle)) - 1e-12 <= res.rho <= res.upper_bound
    assert res.gap == pytest.approx(res.upper_bound - res.rho)
    assert c["kkt_residual"] <= 1e-8 and c["binding_pairs"] >= 8
    assert c["smooth_lower_bound"] <= res.rho + 1e-9
    assert res.energy == pytest.approx(codes.riesz_energy(res.W), rel=1e-12)
    assert res.kind == "softmax" and res.seconds > 0 and res.restarts == 16


def test_invariance_rotation_permutation(code_8_3):
    W = code_8_3.W.double()
    Q = random_rotation(3, seed=3, dtype=F64)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    other = codes.describe_code(W[perm] @ Q.T)
    assert other.rho == pytest.approx(code_8_3.rho, abs=1e-12)
    assert other.min_angle == pytest.approx(code_8_3.min_angle, abs=1e-9)
    assert other.energy == pytest.approx(code_8_3.energy, rel=1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="device='auto' means CUDA on this machine")
def test_auto_device_on_a_cpu_machine_is_the_cpu_path(monkeypatch):
    # "auto" resolves to the CPU here, so a small code must run as with device="cpu": on one thread
    threads, smooth = [], codes._smooth_phase
    monkeypatch.setattr(codes, "_smooth_phase",
                        lambda *a, **k: threads.append(torch.get_num_threads()) or smooth(*a, **k))
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a = codes.softmax_code(9, 3, device="auto", fast=True)
        b = codes.softmax_code(9, 3, device="cpu", fast=True)
    finally:
        torch.set_num_threads(old)
    assert threads == [1, 1] and torch.equal(a.W, b.W)


def test_float32_run():
    res = codes.softmax_code(8, 3, dtype=torch.float32, restarts=16, steps=800)
    assert res.W.dtype == torch.float32 and res.W.shape == (8, 3)
    assert abs(res.rho - 0.7387961253) <= 1e-5       # float32 rounding of the returned rows


def test_result_dict_and_summary(code_8_3):
    out = code_8_3.to_dict()
    assert np.asarray(out["W"]).shape == (8, 3)
    assert "best found" in code_8_3.summary() and "optimal" not in code_8_3.summary()


def test_riesz_energy_simplex():
    # 4 vertices of the regular tetrahedron: 6 pairs at distance sqrt(8/3)
    assert codes.riesz_energy(simplex_etf(4, 3)) == pytest.approx(6 / math.sqrt(8 / 3), rel=1e-14)
    assert codes.riesz_energy(simplex_etf(4, 3), s=2) == pytest.approx(6 / (8 / 3), rel=1e-14)


# ----------------------------------------------------------------------------- the chunked objective
@pytest.mark.parametrize("taus", [(0.05, 0.2), (1e-4, 2e-4)])  # the second: most weights underflow
def test_chunked_softmin_equals_dense_and_autograd(taus):
    g = torch.Generator().manual_seed(0)
    W = torch.nn.functional.normalize(torch.randn(2, 11, 4, generator=g, dtype=F64), dim=-1)
    H = torch.nn.functional.normalize(torch.randn(2, 11, 4, generator=g, dtype=F64), dim=-1)
    tau = torch.tensor(taus, dtype=F64)
    dense = softmin_margins(W, H, tau, chunk=4096)
    for chunk in (3, 1):  # chunk = 1: every diagonal block holds only the excluded k = j
        for a, b in zip(dense, softmin_margins(W, H, tau, chunk=chunk)):
            assert torch.allclose(a, b, atol=1e-13)
    Wr, Hr = W.clone().requires_grad_(), H.clone().requires_grad_()
    M = (Hr * Wr).sum(-1)[:, :, None] - Hr @ Wr.transpose(1, 2)
    M = M.masked_fill(torch.eye(11, dtype=torch.bool), math.inf)
    f = -tau * torch.logsumexp((-M / tau[:, None, None]).flatten(1), 1)
    f.sum().backward()
    assert torch.allclose(f.detach(), dense[0], atol=1e-13)
    assert torch.allclose(Wr.grad, dense[2], atol=1e-12) and torch.allclose(Hr.grad, dense[3], atol=1e-12)
    assert torch.allclose(dense[1], M.detach().flatten(1).amin(1))


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("tau", [0.05, 1e-4])
def test_compiled_softmin_gradient_equals_torch(tied, tau):
    # the compiled kernel's objective and gradient are the same formulas as softmin_margins
    g = torch.Generator().manual_seed(2)
    W = torch.nn.functional.normalize(torch.randn(1, 11, 4, generator=g, dtype=F64), dim=-1)
    H = W if tied else torch.nn.functional.normalize(torch.randn(1, 11, 4, generator=g, dtype=F64), dim=-1)
    f, mmin, gW, gH = softmin_margins(W, H, tau)
    kernels = codes._kernels()

    def kernel(cut):     # the kernel's transposed layout: W^T, H^T (d, K); tied: one array
        WT = np.ascontiguousarray(W[0].numpy().T)
        HT = WT if tied else np.ascontiguousarray(H[0].numpy().T)
        S = kernels._scratch(4, 11)
        fk, mk = kernels._softmin_grad(WT, HT, tau, S, cut)
        G = (S[5] + S[6]).T if tied else np.vstack([S[5].T, S[6].T])
        return fk, mk, G

    fk, mk, G = kernel(kernels._LOG_TINY)
    assert fk == pytest.approx(f.item(), abs=1e-14) and mk == pytest.approx(mmin.item(), abs=1e-15)
    expected = (gW + gH)[0] if tied else torch.cat([gW, gH], 1)[0]
    assert np.allclose(G, expected.numpy(), atol=1e-13)
    # the default cut skips weights that together are below half an ulp of their sum (each <= 1)
    f2, m2, G2 = kernel(kernels._LOG_HALF_ULP - 2 * math.log(11))
    assert abs(f2 - fk) <= 2 * np.finfo(float).eps * abs(fk) and m2 == mk
    assert np.abs(G2 - G).max() <= 2 * np.finfo(float).eps


def test_compiled_exp_is_libm_exp_to_rounding():
    # the kernel's vectorisable exp: within 2e-15 relative of numpy's on [cut, 0], exactly 0 below the cut
    kernels = codes._kernels()
    x = np.concatenate([np.linspace(kernels._LOG_TINY, 0.0, 200_001), -np.logspace(-300, 0, 1001), [0.0]])
    out, bits = np.empty_like(x), np.empty(len(x), np.int64)
    kernels._exp_row(x, out, bits, kernels._LOG_TINY)
    assert np.all(np.isfinite(out)) and np.abs(out / np.exp(x) - 1).max() <= 2e-15
    kernels._exp_row(x, out, bits, -30.0)
    assert np.all(out[x < -30.0] == 0.0) and np.abs(out[x >= -30] / np.exp(x[x >= -30]) - 1).max() <= 2e-15


@pytest.mark.parametrize("tied", [False, True])
def test_compiled_smooth_phase_matches_torch(tied, monkeypatch):
    K, d, R = 9, 3, 4
    W0 = codes._start(K, d, R, 0, "cpu", F64)
    X0 = W0 if tied else torch.cat([W0, W0], 1)
    taus = codes._taus((0.3, 2e-4), None, R, "cpu", F64, K)
    X, proxy = codes._smooth_phase(X0, steps=150, lr=(0.05, 1e-4), tau=taus, tied=tied, chunk=2048, bar=None)
    assert torch.allclose(X.norm(dim=-1), torch.ones(R, X.shape[1], dtype=F64), atol=1e-14)
    # with every weight kept, as in torch: the same method in a different order of float64 operations,
    # equal to rounding amplified over 150 steps
    Xa, proxya = codes._kernels().adam_softmin(X0.numpy(), 150, 0.05, 1e-4, taus[0].numpy(), taus[1], tied,
                                               True)
    monkeypatch.setattr(codes, "_kernels", lambda: None)
    Xt, proxyt = codes._smooth_phase(X0, steps=150, lr=(0.05, 1e-4), tau=taus, tied=tied, chunk=2048, bar=None)
    assert torch.allclose(torch.from_numpy(Xa), Xt, atol=1e-8)
    assert torch.allclose(torch.from_numpy(proxya), proxyt, atol=1e-9)


@pytest.mark.parametrize("tied", [False, True])
def test_compiled_smooth_phase_pruning(tied):
    # after prune_at steps only the restarts with m_r + c tau_r >= max m run on, exactly as without pruning;
    # the others are returned as they were then
    K, d, R, steps, at, c = 13, 3, 16, 400, 250, codes.PRUNE_C
    W0 = codes._start(K, d, R, 0, "cpu", F64)
    X0 = (W0 if tied else torch.cat([W0, W0], 1)).numpy()
    taus, t1 = codes._taus((0.3, 2e-4), None, R, "cpu", F64, K)
    run = functools.partial(codes._kernels().adam_softmin, X0, steps, 0.05, 1e-4, taus.numpy(), t1, tied, False)
    Xa, ma = run(0, c, 0.9, 0.999, 1e-12)                 # no pruning
    Xc, mc = run(at, -math.inf, 0.9, 0.999, 1e-12)        # every restart stops at the checkpoint
    Xb, mb = run(at, c, 0.9, 0.999, 1e-12)
    tau_at = taus.numpy() * (t1 / taus.numpy()) ** (at / (steps - 1))
    kept = mc + c * tau_at >= mc.max()
    assert 0 < kept.sum() < R                              # it prunes, and keeps the leader
    assert np.array_equal(Xb[kept], Xa[kept]) and np.array_equal(mb[kept], ma[kept])
    assert np.array_equal(Xb[~kept], Xc[~kept]) and np.array_equal(mb[~kept], mc[~kept])
    assert np.argmax(mb) == np.argmax(ma)                  # here the best restart survives
    # codes use it with fast=True, top=1 only
    assert codes.softmax_code(K, d, fast=True).rho == pytest.approx(rho_tammes(K), abs=1e-7)


def test_compiled_smooth_phase_is_available():
    assert codes._kernels() is not None   # numba is a dependency: the default CPU install compiles it


def test_smooth_phase_without_numba_reaches_the_same_code(monkeypatch):
    monkeypatch.setattr(codes, "_kernels", lambda: None)
    res = codes.softmax_code(13, 3, fast=True)
    assert abs(res.rho - rho_tammes(13)) <= 1e-7


def test_chunked_riesz_equals_dense():
    X = torch.nn.functional.normalize(torch.randn(2, 9, 3, generator=torch.Generator().manual_seed(1),
                                                  dtype=F64), dim=-1)
    E1, G1 = riesz_energy_grad(X, 1.0, chunk=4096)
    E2, G2 = riesz_energy_grad(X, 1.0, chunk=2)
    assert torch.allclose(E1, E2, atol=1e-12) and torch.allclose(G1, G2, atol=1e-12)
    assert E1[0].item() == pytest.approx(codes.riesz_energy(X[0]), rel=1e-12)


def test_large_k_chunked_path_runs():
    res = codes.softmax_code(400, 6, restarts=2, steps=3, chunk=96, polish=False, dtype=torch.float32)
    assert res.W.shape == (400, 6) and res.rho > 0


@pytest.mark.slow
def test_scale_k20000_d64_cpu():
    # memory O(K d + chunk^2): no K x K matrix is ever formed
    res = codes.softmax_code(20000, 64, restarts=1, steps=5, chunk=2048, polish=False, dtype=torch.float32)
    assert res.W.shape == (20000, 64) and res.rho > 0


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(K=1, d=3), ValueError, "K must be >= 2"),
    (dict(K=2.5, d=3), TypeError, "K must be an integer"),
    (dict(K="8", d=3), TypeError, "K must be an integer"),
    (dict(K=8, d=0), ValueError, "d must be >= 1"),
    (dict(K=8, d=3, restarts=-1), ValueError, "restarts must be >= 1"),
    (dict(K=8, d=3, steps=0), ValueError, "steps must be >= 1"),
    (dict(K=8, d=3, seed=-2), ValueError, "seed must be >= 0"),
    (dict(K=8, d=3, tau=(float("nan"), 1e-3)), ValueError, r"tau\[0\]"),
    (dict(K=8, d=3, tau=0.1), TypeError, "tau must be a"),
    (dict(K=8, d=3, tau_spread=-1.0), ValueError, "tau_spread"),
    (dict(K=8, d=3, device="tpu"), ValueError, "device"),
    (dict(K=8, d=3, dtype=torch.int64), TypeError, "dtype"),
])
def test_bad_inputs_softmax(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        codes.softmax_code(**kwargs)


@pytest.mark.parametrize("s,exc", [(-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError)])
def test_bad_s_thomson(s, exc):
    with pytest.raises(exc, match="s must be"):
        codes.thomson_code(6, 3, s=s)


def test_bad_inputs_tammes_and_energy():
    with pytest.raises(ValueError, match="K must be >= 2"):
        codes.tammes_code(1, 3)
    with pytest.raises(ValueError, match="W must be 2-D"):
        codes.riesz_energy(torch.ones(3))


def test_softmax_code_random_h_start_is_independent_of_w_and_reaches_the_antiprism():
    # h_start="random": H is drawn independently of W, so reaching the square antiprism (a Tammes code)
    # is not inherited from a Tammes-like start; the value is the proved-by-computation record 0.7387961
    r = codes.softmax_code(8, 3, h_start="random")
    assert abs(r.rho - 0.7387961250362585) < 1e-9
    with pytest.raises(ValueError, match="h_start"):
        codes.softmax_code(8, 3, h_start="tammes")

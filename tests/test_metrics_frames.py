"""The lesson-07 metrics: the three target frames, per-class lengths and NC1 at every layer."""
import math

import pytest
import torch

from gnc_teach import geometry, metrics

F64 = torch.float64


def _rotation(d, seed):
    return geometry.random_rotation(d, seed=seed).to(F64)


def test_orthogonal_frame_error():
    Q = _rotation(6, 0)
    A = 3.0 * torch.eye(4, 6, dtype=F64) @ Q                 # 4 orthogonal rows of length 3 in R^6
    assert metrics.orthogonal_frame_error(A) < 1e-14
    B = A.clone()
    B[0] *= 1.01                                              # unequal lengths: not an orthogonal frame
    assert 1e-3 < metrics.orthogonal_frame_error(B) < 1e-2
    assert metrics.orthogonal_frame_error(geometry.simplex_etf(4, 3)) > 0.5


def test_simplex_etf_error():
    W = 2.5 * geometry.simplex_etf(5, 7, seed=1).to(F64)
    assert metrics.simplex_etf_error(W) < 1e-14
    assert metrics.simplex_etf_error(torch.eye(5, dtype=F64)) > 0.3
    with pytest.raises(ValueError, match="zero"):
        metrics.simplex_etf_error(torch.zeros(3, 2))


def test_gram_error_against_predicted_lengths():
    lengths2 = torch.tensor([4.0, 2.0, 0.5, 0.0], dtype=F64)
    A = torch.diag(lengths2.sqrt()) @ _rotation(4, 2)        # general orthogonal frame, one zero row
    assert metrics.gram_error(A, torch.diag(lengths2)) < 1e-14
    assert metrics.gram_error(A, torch.diag(lengths2 * 1.001)) == pytest.approx(1e-3 / 1.001, rel=1e-6)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        metrics.gram_error(A, torch.eye(3))
    with pytest.raises(ValueError, match="zero matrix"):
        metrics.gram_error(A, torch.zeros(4, 4))


def test_class_lengths_and_alignment():
    y = torch.tensor([0, 0, 1, 1, 2])
    H = torch.tensor([[1.0, 0], [3.0, 0], [0, 1.0], [0, 1.0], [0, 0]], dtype=F64)
    W = torch.tensor([[2.0, 0], [0, -1.0], [1.0, 1.0]], dtype=F64)
    w2, h2, inner = metrics.class_lengths(W, H, y)
    assert w2.tolist() == [4.0, 1.0, 2.0] and h2.tolist() == [4.0, 1.0, 0.0] and inner.tolist() == [4.0, -1.0, 0.0]
    cos = metrics.class_alignment(W, H, y)
    assert cos[:2].tolist() == [1.0, -1.0] and math.isnan(cos[2])


def test_nc1_layers():
    y = torch.arange(3).repeat_interleave(4)
    means = torch.eye(3, 5, dtype=F64)
    H = means[y] + 1e-3 * torch.randn(12, 5, generator=torch.Generator().manual_seed(0), dtype=F64)
    W1 = torch.eye(4, 5, dtype=F64)
    W2 = torch.zeros(3, 4, dtype=F64)                        # kills everything after layer 2
    W3 = torch.ones(3, 3, dtype=F64)
    out = metrics.nc1_layers([W1, W2, W3], H, y)
    assert len(out) == 3 and 0 < out[0] < 1e-4 and 0 < out[1] < 1e-4 and math.isnan(out[2])
    Hc = means[y]
    assert metrics.nc1_layers([W1, W2], Hc, y)[0] == 0.0
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        metrics.nc1_layers([W1, torch.zeros(3, 5)], H, y)
    with pytest.raises(TypeError, match="layers"):
        metrics.nc1_layers(W1, H, y)

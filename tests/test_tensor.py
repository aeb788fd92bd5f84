"""Device/dtype resolution and boundary validation (gnc_teach._tensor)."""
import math

import numpy as np
import pytest
import torch

from gnc_teach import default_device
from gnc_teach._tensor import as_labels, as_matrix, check_int, check_positive, one_cpu_thread, resolve


def test_default_device_follows_cuda_availability():
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_resolve_defaults_and_names():
    device, dtype = resolve()
    assert device == default_device() and dtype == torch.float64
    assert resolve("cpu", "float32") == (torch.device("cpu"), torch.float32)
    assert resolve("auto", torch.float64)[0] == default_device()


def test_resolve_rejects_bad_device_and_dtype():
    with pytest.raises(ValueError, match="device="):
        resolve("not-a-device")
    with pytest.raises(TypeError, match="dtype="):
        resolve("cpu", torch.int64)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error message")
def test_resolve_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve("cuda")


def test_as_matrix_accepts_tensors_arrays_lists():
    A = as_matrix([[1, 2], [3, 4]], "W")
    assert A.dtype == torch.float64 and A.shape == (2, 2)
    B = as_matrix(np.eye(3, dtype=np.float32), "W")
    assert B.dtype == torch.float32
    C = as_matrix(torch.ones(2, 3), "W", dtype=torch.float64)
    assert C.dtype == torch.float64


@pytest.mark.parametrize("bad, exc, msg", [
    ("abc", TypeError, "W must be"),
    ([["a", "b"]], TypeError, "W must be a real"),
    (np.ones(3), ValueError, "W must be 2-D"),
    (np.ones((2, 2, 2)), ValueError, "W must be 2-D"),
    (np.array([[1.0, np.nan]]), ValueError, "NaN"),
    (np.array([[1.0, np.inf]]), ValueError, "NaN or infinite"),
    (torch.ones(2, 2, dtype=torch.complex64), TypeError, "real-valued"),
])
def test_as_matrix_rejects_bad_input_naming_the_parameter(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        as_matrix(bad, "W")


def test_as_matrix_min_rows_and_cols():
    with pytest.raises(ValueError, match="at least 2 rows"):
        as_matrix(np.ones((1, 3)), "W", min_rows=2)
    with pytest.raises(ValueError, match="must have 4 columns"):
        as_matrix(np.ones((2, 3)), "H", cols=4)


def test_as_labels():
    y = as_labels(np.array([0, 1, 1]), "y", n=3)
    assert y.dtype == torch.long
    with pytest.raises(TypeError, match="integer class labels"):
        as_labels(np.array([0.0, 1.0]), "y", n=2)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        as_labels([0, 1], "y", n=3)
    with pytest.raises(ValueError, match="negative"):
        as_labels([0, -1], "y", n=2)


def test_check_int_and_positive():
    assert check_int(np.int64(3), "K", minimum=2) == 3
    with pytest.raises(TypeError, match="K must be an integer"):
        check_int(3.0, "K")
    with pytest.raises(TypeError, match="K must be an integer"):
        check_int(True, "K")
    with pytest.raises(ValueError, match="K must be >= 2, got K=1"):
        check_int(1, "K", minimum=2)
    assert check_positive(0.5, "tau") == 0.5
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tau must be a finite number > 0"):
            check_positive(bad, "tau")
    with pytest.raises(TypeError, match="tau must be a real number"):
        check_positive("0.1", "tau")


def test_one_cpu_thread_sets_one_thread_and_restores():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_cpu_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with one_cpu_thread(False):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError):
            with one_cpu_thread():
                raise RuntimeError("restored even on error")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


def test_compiled_kernels_fall_back_to_none():
    from gnc_teach._tensor import compiled_kernels
    assert compiled_kernels("_solvers.active_set") is not None      # numba is installed in the test environment
    assert compiled_kernels("no_such_kernels") is None       # an import failure means: use the torch path


def test_seed_pair_vector_rules():
    from gnc_teach._tensor import SEED_MAX, as_vector, check_pair, check_seed
    assert check_seed(0) == 0 and check_seed(SEED_MAX) == SEED_MAX and check_seed(np.int64(5)) == 5
    for bad, exc in [(-1, ValueError), (SEED_MAX + 1, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(exc, match="seed"):
            check_seed(bad)
    assert check_pair((0.05, 1e-4), "lr", example="(0.05, 1e-4)") == (0.05, 1e-4)
    for bad, exc in [(0.1, TypeError), ((0.1,), TypeError), ("ab", TypeError), ((float("nan"), 1), ValueError)]:
        with pytest.raises(exc, match=r"lr"):
            check_pair(bad, "lr", example="(0.05, 1e-4)")
    assert torch.equal(as_vector([1, 2], "b", n=2), torch.tensor([1.0, 2.0], dtype=torch.float64))
    for bad in ([1.0], [[1.0, 2.0]], [float("inf"), 0.0]):
        with pytest.raises(ValueError, match="b "):
            as_vector(bad, "b", n=2)


def test_unit_rows_and_power_of_two_scale_are_exact_for_ordinary_rows():
    from gnc_teach._tensor import power_of_two_scale, unit_rows
    A = torch.randn(50, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(unit_rows(A, "A"), A / A.norm(dim=1, keepdim=True))      # bit for bit
    for c in (1e160, 1e-200):
        assert torch.allclose(unit_rows(c * A, "A"), A / A.norm(dim=1, keepdim=True), atol=1e-15)
        s = power_of_two_scale(c * A)
        assert 0.5 <= float((c * A).abs().max()) / s < 1 and math.frexp(s)[0] == 0.5   # an exact power of 2
    with pytest.raises(ValueError, match="A has a zero row"):
        unit_rows(torch.zeros(2, 3), "A")

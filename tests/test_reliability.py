"""Reliability (issue 17): no lost files or finished work, bounded memory and time, clear errors.

One test (or a few) per item; the fuzz table (tests/test_fuzz.py) covers the remaining bad inputs.
"""
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import gnc_teach as gt
from gnc_teach import codes, exercises, gallery, geometry, metrics
from gnc_teach.check import _core
from gnc_teach.cli import main
from gnc_teach.models import deep_linear, hug_ufm, ufm
from test_fuzz import quitter, sleeper, spinner         # the fuzz table's student functions

ROOT = Path(__file__).resolve().parents[1]
F64 = torch.float64
SQUARE = torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]], dtype=F64)   # rho = 1 exactly
NB = {"cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "outputs": [], "execution_count": None,
                 "source": "x = 1\n### BEGIN SOLUTION\nx = 42\n### END SOLUTION\n"},
                {"cell_type": "code", "id": "t0", "metadata": {}, "outputs": [], "execution_count": None,
                 "source": "# Autograded: 1 points\nassert x == 42\n"}],
      "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _solutions(root, **notebooks):
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        (root / "solutions" / f"{name}.ipynb").write_text(nb if isinstance(nb, str) else json.dumps(nb))
    return root / "solutions"


# ============================================================================ 1. no lost files or work
def test_make_exercise_refuses_to_write_over_its_source(tmp_path):
    src = _solutions(tmp_path, **{"01_a": NB}) / "01_a.ipynb"
    before = src.read_bytes()
    with pytest.raises(ValueError, match="dst_path .* is the source file"):
        exercises.make_exercise(src, src)
    link = tmp_path / "link.ipynb"
    link.symlink_to(src)
    with pytest.raises(ValueError, match="source file"):
        exercises.make_exercise(src, link)
    assert src.read_bytes() == before            # the solution regions are still there


def test_exercises_command_refuses_an_exercises_folder_linked_to_solutions(tmp_path, capsys):
    sol = _solutions(tmp_path, **{"01_a": NB})
    before = (sol / "01_a.ipynb").read_bytes()
    (tmp_path / "exercises").symlink_to(sol, target_is_directory=True)
    assert main(["exercises", "--root", str(tmp_path)]) == 2
    assert "source file" in capsys.readouterr().err
    assert (sol / "01_a.ipynb").read_bytes() == before


def test_exercises_are_all_converted_before_any_is_written(tmp_path, capsys):
    # one stale exercise and one broken solution: nothing may be rewritten, and the error names the file
    _solutions(tmp_path, **{"01_a": NB, "02_b": "{ not json"})
    (tmp_path / "exercises").mkdir()
    stale = tmp_path / "exercises" / "01_a.ipynb"
    stale.write_text("stale\n")
    assert main(["exercises", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "02_b.ipynb" in err and "not a valid Jupyter notebook" in err and "Traceback" not in err
    assert stale.read_text() == "stale\n"
    assert sorted(p.name for p in (tmp_path / "exercises").iterdir()) == ["01_a.ipynb"]  # no temp files left


def test_write_atomic_keeps_the_old_file_when_writing_fails_and_keeps_its_mode(tmp_path):
    from gnc_teach._io import write_atomic
    path = tmp_path / "f.txt"
    path.write_text("old")
    path.chmod(0o640)

    def broken(f):
        f.write(b"half of the new")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, broken)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]
    write_atomic(path, "new")
    assert path.read_text() == "new" and (path.stat().st_mode & 0o777) == 0o640


def test_solution_marker_in_a_raw_cell_or_inside_a_line_is_refused_not_leaked(tmp_path):
    raw = json.loads(json.dumps(NB))
    raw["cells"].insert(1, {"cell_type": "raw", "id": "c1", "metadata": {},
                         "source": "### BEGIN SOLUTION\nthe answer is 42\n### END SOLUTION\n"})
    inline = json.loads(json.dumps(NB))
    inline["cells"][0]["source"] = "x = 42  ### BEGIN SOLUTION (not on a line of its own)\nsecret = 1\n"
    sol = _solutions(tmp_path, **{"01_raw": raw, "02_inline": inline})
    with pytest.raises(ValueError, match=r"01_raw.ipynb: cell 1 is a raw cell with a marker; nbgrader rejects it"):
        exercises.make_exercise(sol / "01_raw.ipynb")
    with pytest.raises(ValueError, match=r"02_inline.ipynb: cell 0, line 1: .*contains 'BEGIN SOLUTION'.*alone on its line"):
        exercises.make_exercise(sol / "02_inline.ipynb")


def test_an_invalid_notebook_is_reported_with_its_path(tmp_path):
    sol = _solutions(tmp_path, **{"01_a": "{ not json"})
    with pytest.raises(ValueError, match=r"01_a.ipynb: not a valid Jupyter notebook"):
        exercises.make_exercise(sol / "01_a.ipynb")
    with pytest.raises(FileNotFoundError, match="missing.ipynb"):
        exercises.make_exercise(sol / "missing.ipynb")


def test_gallery_refresh_refreshes_the_file_it_was_given(tmp_path):
    mine = tmp_path / "my_gallery.npz"
    gallery.rebuild(mine, grid={2: 3}, kinds=("softmax",), verbose=False)
    keys = set(gallery._load(mine))
    assert keys == {"softmax_d2_K2", "softmax_d2_K3"}
    gallery.refresh(mine)
    assert set(gallery._load(mine)) == keys        # not replaced by the packaged gallery (~200 codes)
    assert len(gallery._load(gallery.DATA_PATH)) > len(keys)
    with pytest.raises(FileNotFoundError, match="no gallery file"):
        gallery.refresh(tmp_path / "none.npz")


def test_cli_checks_that_save_can_be_written_before_solving(tmp_path, monkeypatch, capsys):
    def never(*a, **k):
        raise AssertionError("the solver ran although --save cannot be written")
    monkeypatch.setattr(codes, "softmax_code", never)
    (tmp_path / "file").write_text("x")
    bad_paths = ["/no/such/dir/W.npy", str(tmp_path / "file" / "W.npy")]
    if os.path.isdir("/proc"):      # a folder that exists but where nobody, not even root, can create a file
        bad_paths.append("/proc/W.npy")
    for bad in bad_paths:
        assert main(["code", "softmax", "--K", "5", "--d", "3", "--save", bad]) == 2
        assert "--save" in capsys.readouterr().err


@pytest.mark.parametrize("given,written", [(".", "softmax_K5_d2.npy"), ("W", "W.npy"), ("W.npy", "W.npy")])
def test_cli_saves_where_its_message_says_after_printing_the_summary(tmp_path, monkeypatch, capsys, given,
                                                                     written):
    monkeypatch.chdir(tmp_path)
    assert main(["code", "softmax", "--K", "5", "--d", "2", "--fast", "--save", given]) == 0
    out = capsys.readouterr().out
    assert out.index("rho") < out.index("saved W")                 # the numbers come first
    path = out.split("saved W (5, 2) to ")[1].strip()
    assert os.path.samefile(path, tmp_path / written) and np.load(path).shape == (5, 2)
    assert sorted(os.listdir(tmp_path)) == [written]


def test_cli_save_falls_back_to_the_temporary_folder_when_the_write_fails(tmp_path, monkeypatch, capsys):
    import gnc_teach._io as io
    real = io.write_atomic
    calls = []

    def failing_once(path, data, **kw):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(path, data, **kw)
    monkeypatch.setattr(io, "write_atomic", failing_once)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert main(["code", "softmax", "--K", "5", "--d", "2", "--fast", "--save", str(tmp_path / "W.npy")]) == 0
    captured = capsys.readouterr()
    assert "rho" in captured.out and "No space left" in captured.err
    assert np.load(tmp_path / "tmp" / "W.npy").shape == (5, 2)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_cli_json_is_strict_json_even_with_an_infinite_energy(capsys):
    # K = 3 unit vectors in R^1: two coincide, so the Riesz energy is infinite (JSON has no Infinity)
    assert main(["code", "thomson", "--K", "3", "--d", "1", "--fast", "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert out["energy"] is None and out["W"]


# ============================================================================ 2. bounded memory and time
BIG = torch.randn(80_000, 3, generator=torch.Generator().manual_seed(0), dtype=F64)   # K x K = 51 GB


@pytest.mark.parametrize("call", [
    lambda: geometry.gram(BIG),
    lambda: geometry.simplex_etf(80_000),
    lambda: metrics.code_distance(BIG, BIG),
    lambda: ufm.train_ufm(80_000, 3, 1, steps=2),
    lambda: ufm.train_spherical_ufm(80_000, 3, 1, 0.1, steps=2),
    lambda: gt.plot_gram(BIG),
    lambda: metrics.nc4(BIG, BIG, torch.arange(80_000)),
    lambda: gt.hardmax.gaps(BIG, BIG, torch.arange(80_000)),
    lambda: gt.certify.riemannian_hessian(lambda X: X.sum(), BIG[:8000] / BIG[:8000].norm(dim=1, keepdim=True)),
    lambda: gt.uniformity.energy(BIG / BIG.norm(dim=1, keepdim=True)),
    lambda: gt.hug.hug_loss(BIG[:16], torch.arange(16), BIG / BIG.norm(dim=1, keepdim=True)),
    lambda: gt.uniform_codes.optimal_code(80_000, 3, measure="log", steps=2),
    lambda: hug_ufm.train_hug_ufm(80_000, 3, 1, steps=2),
    lambda: hug_ufm.decoupling_sweep(K=80_000, steps=2),
    lambda: deep_linear.train_deep_linear_ufm([1] * 80_000, max_iter=1),
    lambda: gt.imbalance.deep_linear_optimum([1] * 80_000, 0.01, 0.01),
    lambda: metrics.orthogonal_frame_error(BIG),
], ids=["gram", "simplex_etf", "code_distance", "train_ufm", "train_spherical_ufm", "plot_gram", "nc4",
        "hardmax_gaps", "riemannian_hessian", "uniformity_energy", "hug_loss", "optimal_code", "train_hug_ufm",
        "decoupling_sweep", "train_deep_linear_ufm", "deep_linear_optimum", "orthogonal_frame_error"])
def test_K_by_K_buffers_that_cannot_fit_are_refused_up_front(call, monkeypatch):
    from gnc_teach import _memory
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 8 << 30)   # any machine: 8 GB
    t0 = time.perf_counter()
    with pytest.raises(_memory.MemoryBudgetError, match=r"(K|N|m)=[48]0*.*needs about \d.* GB.*nothing was allocated"):
        call()
    assert time.perf_counter() - t0 < 5      # refused before any work (not after a failed allocation)


def test_the_data_of_a_training_run_must_fit_on_its_device(monkeypatch):
    from gnc_teach import _memory
    from gnc_teach.training import train
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 100_000)        # 100 kB left
    with pytest.raises(_memory.MemoryBudgetError, match=r"the 'digits' data on cpu .*nothing was allocated"):
        train(data="digits", epochs=1, device="cpu", progress=False)


def test_memory_error_is_a_value_error_and_a_memory_error():
    from gnc_teach import _memory
    assert issubclass(_memory.MemoryBudgetError, ValueError) and issubclass(_memory.MemoryBudgetError, MemoryError)
    free = _memory.available_bytes()
    assert free is None or free > 0


def test_solver_refuses_restarts_that_do_not_fit_and_says_how_many_would(monkeypatch, capsys):
    from gnc_teach import _memory
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 16 << 30)
    with pytest.raises(_memory.MemoryBudgetError, match=r"restarts=128.*restarts=\d+ would fit.*float32"):
        codes.softmax_code(8, 1_000_000)
    t0 = time.perf_counter()
    assert main(["code", "softmax", "--K", "8", "--d", "1000000"]) == 2     # was: 16 GB, then a crash
    err = capsys.readouterr().err
    assert "--restarts" in err and "--dtype float32" in err and time.perf_counter() - t0 < 5


def test_pairwise_statistics_stream_in_blocks_and_match_the_dense_formulas(monkeypatch):
    W = geometry.random_sphere(40, 5, seed=3)
    U = W / W.norm(dim=1, keepdim=True)
    iu = torch.triu_indices(40, 40, 1)
    c = (U @ U.T)[iu[0], iu[1]]
    monkeypatch.setattr(metrics, "PAIR_BLOCK", 100)                          # 2 rows per block
    monkeypatch.setattr(geometry, "BLOCK_ENTRIES", 100)
    assert metrics.nc2_equiangle(W) == pytest.approx(float(c.std(unbiased=False)), rel=1e-12)
    assert metrics.nc2_maxangle(W) == pytest.approx(float((c + 1 / 39).abs().mean()), rel=1e-12)
    assert geometry.max_cos(W) == pytest.approx(float(c.max()), abs=1e-15)
    assert geometry.is_simplex_etf(geometry.simplex_etf(40)) and not geometry.is_simplex_etf(W)


def test_max_cos_blocks_are_bounded_by_default():
    # the default block was 4096 rows x K (2.6 GB at K = 80,000); now at most 2^22 entries (32 MB)
    assert geometry._block_rows(80_000) * 80_000 <= geometry.BLOCK_ENTRIES
    assert geometry._block_rows(10) == 10


def test_long_trainings_show_progress_when_asked(capsys):
    ufm.train_ufm(4, 3, 2, steps=30, record_every=0, progress=True)
    ufm.train_spherical_ufm(4, 3, 2, 0.1, steps=30, record_every=0, progress=True)
    err = capsys.readouterr().err
    assert "train_ufm(K=4, d=3, n=2)" in err and "train_spherical_ufm(K=4" in err and "/30 [" in err


def _sigint_at(step):
    """A tau schedule that presses Ctrl-C (SIGINT to this process) when the trainer reaches ``step``."""
    def schedule(t):
        if t == step:
            signal.raise_signal(signal.SIGINT)
        return 0.1
    return schedule


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_training_and_returns_the_state_so_far():
    before = signal.getsignal(signal.SIGINT)   # the default, or what the test process inherited (a worker may ignore it)
    with pytest.warns(RuntimeWarning, match=r"after 11 of 1000 steps.*interrupted"):
        r = ufm.train_spherical_ufm(4, 3, 2, 0.1, steps=1000, schedule=_sigint_at(10), record_every=0)
    assert r.interrupted and len(r.loss) == 11 and r.history["step"] == [11]
    assert torch.isfinite(r.W).all() and signal.getsignal(signal.SIGINT) is before      # restored


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_a_tau_sweep_after_the_current_training_with_one_warning():
    import warnings
    from gnc_teach.hardmax import tau_sweep
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep = tau_sweep(4, 3, 2, [1.0, 0.5, 0.2], steps=300, schedule=_sigint_at(10), record_every=0)
    assert sweep.interrupted and sweep.taus == [1.0] and len(sweep.rho) == 1
    assert [str(w.message).split()[0] for w in caught if "interrupted" in str(w.message)] == ["tau_sweep"]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_a_code_search_and_returns_the_best_code_so_far(monkeypatch, capsys):
    class Bar:  # the progress bar is updated once per step: press Ctrl-C at the 5th
        n = 0

        def update(self, k):
            Bar.n += k
            if Bar.n == 5:
                signal.raise_signal(signal.SIGINT)

        def close(self):
            pass
    monkeypatch.setattr(codes, "_bar", lambda *a: contextlib.nullcontext(Bar()))
    with pytest.warns(RuntimeWarning, match="interrupted"):
        res = codes.softmax_code(12, 3, dtype=torch.float32, restarts=4, steps=2000)   # torch path
    assert res.interrupted and 0 < res.rho <= res.upper_bound and "interrupted" in res.summary()
    Bar.n = 0
    assert main(["code", "tammes", "--K", "12", "--d", "3", "--dtype", "float32", "--steps", "2000"]) == 130
    assert "interrupted" in capsys.readouterr().out


class _CtrlCBar:
    """A progress bar (tqdm's place) that presses Ctrl-C (SIGINT to this process) at its ``at``-th update."""
    at, n = 5, 0

    def __init__(self, *args, **kwargs):
        pass

    def update(self, k=1):
        _CtrlCBar.n += k
        if _CtrlCBar.n == _CtrlCBar.at:
            signal.raise_signal(signal.SIGINT)

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def _long_runs():
    """The long-running trainers of lessons 05-07, each with a run far longer than 5 progress steps, and
    what its state says about where it stopped."""
    from gnc_teach import uniform_codes
    from gnc_teach.training import train
    return {
        "train_hug_ufm": (lambda: hug_ufm.train_hug_ufm(4, 3, 2, steps=1000, record_every=0, progress=True),
                          lambda r: len(r.loss) == 5 and torch.isfinite(r.W).all()),
        "decoupling_sweep": (lambda: hug_ufm.decoupling_sweep((0.0, 1.0), (1.0,), (1.0,), steps=1000, progress=True),
                             lambda r: r["hug_gnc1"].shape == (2, 1) and np.isfinite(r["hug_energy_gap"]).all()),
        "train_deep_linear_ufm": (lambda: deep_linear.train_deep_linear_ufm((200, 100, 50, 50), M=3, restarts=4,
                                                                            progress=True),
                                  lambda r: r.iterations <= 5 and r.grad_norm > 1e-6 and "Ctrl-C" in r.report()),
        "optimal_code": (lambda: uniform_codes.optimal_code(8, 3, measure="log", steps=5000, restarts=4, progress=True),
                         lambda r: math.isfinite(r.value) and "interrupted" in r.summary()),
        "train": (lambda: train(data="digits", K=4, d=3, tau=0.2, epochs=50, width=16, device="cpu", progress=True),
                  lambda r: len(r.history["epoch"]) == 6 and not math.isnan(r.final["test_acc"])
                  and "interrupted" in r.summary()),
    }


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
@pytest.mark.parametrize("name", ["train_hug_ufm", "decoupling_sweep", "train_deep_linear_ufm", "optimal_code", "train"])
def test_ctrl_c_stops_the_new_trainers_and_returns_the_state_so_far(name, monkeypatch):
    import tqdm.auto
    monkeypatch.setattr(tqdm.auto, "tqdm", _CtrlCBar)
    _CtrlCBar.n = 0
    run, state_ok = _long_runs()[name]
    before = signal.getsignal(signal.SIGINT)
    t0 = time.perf_counter()
    with pytest.warns(RuntimeWarning, match=r"interrupted \(Ctrl-C\)"):
        r = run()
    assert (r["interrupted"] if isinstance(r, dict) else r.interrupted) and state_ok(r)
    assert signal.getsignal(signal.SIGINT) is before and time.perf_counter() - t0 < 60          # restored


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_in_training_saves_the_run_and_resuming_finishes_it(tmp_path, monkeypatch, capsys):
    from gnc_teach.training import load_run, loop, train
    real_lr = loop._lr

    def lr_pressing_ctrl_c(cfg, epoch):          # Ctrl-C during epoch 3 (the stop comes after its first batch)
        if epoch == 2:
            signal.raise_signal(signal.SIGINT)
        return real_lr(cfg, epoch)
    monkeypatch.setattr(loop, "_lr", lr_pressing_ctrl_c)
    tiny = dict(data="digits", K=4, d=3, tau=0.2, epochs=6, width=16, device="cpu", progress=False)
    with pytest.warns(RuntimeWarning, match="train in epoch 3 of 6 was interrupted"):
        r = train(out=tmp_path / "run", **tiny)
    assert r.interrupted and r.history["epoch"] == [1, 2, 3] and not math.isnan(r.history["test_acc"][-1])
    saved = load_run(tmp_path / "run")
    assert saved.interrupted and saved.history["epoch"] == [1, 2, 3] and (tmp_path / "run" / "checkpoint.pt").is_file()
    monkeypatch.setattr(loop, "_lr", real_lr)
    done = train(out=tmp_path / "run", resume=True, **tiny)
    assert not done.interrupted and done.history["epoch"] == [1, 2, 3, 4, 5, 6]
    monkeypatch.setattr(loop, "_lr", lr_pressing_ctrl_c)        # the command line: summary, then exit 130
    assert main(["train", "--data", "digits", "--K", "4", "--d", "3", "--tau", "0.2", "--epochs", "6", "--width", "16",
                 "--device", "cpu", "--no-progress", "--out", str(tmp_path / "cli")]) == 130
    out = capsys.readouterr()
    assert "interrupted by Ctrl-C" in out.out and "Traceback" not in out.err


def test_the_new_trainers_show_progress_when_asked(capsys):
    from gnc_teach import uniform_codes
    hug_ufm.train_hug_ufm(4, 3, 2, steps=30, record_every=0, progress=True)
    deep_linear.train_deep_linear_ufm((5, 3), restarts=2, progress=True)
    uniform_codes.optimal_code(5, 3, measure="log", steps=30, restarts=2, progress=True)
    err = capsys.readouterr().err
    assert "train_hug_ufm(K=4, d=3, n=2)" in err and "/30 [" in err
    assert "train_deep_linear_ufm(K=2, M=1)" in err and "log K=5 d=3" in err


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_a_second_ctrl_c_stops_at_once():
    from gnc_teach import _stop
    with _stop.stop_on_interrupt() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop() and stop.interrupted
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    with _stop.stop_on_interrupt(budget=0.0) as stop:
        assert stop() and stop.reason == "time budget" and not stop.interrupted


def test_ctrl_c_in_a_real_gnc_teach_process_ends_without_a_traceback(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "gnc_teach", "code", "softmax", "--K", "300", "--d", "16",
                             "--restarts", "2", "--dtype", "float32", "--steps", "100000",
                             "--save", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(4)      # in the imports or the search: either way the exit must be clean (130, no traceback)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    if "softmax code K=300" in out:    # stopped inside the search: the best code is printed and saved
        assert "interrupted" in out and len(os.listdir(tmp_path)) == 1


# ============================================================================ 3. silent wrong answers
def test_distances_and_energies_far_from_unit_scale():
    for c in (1e160, 1e-200):
        assert torch.allclose(gt.one_vs_rest_distance(c * SQUARE) / c, torch.ones(4, dtype=F64), rtol=1e-12)
        det = gt.one_vs_rest_distance(c * SQUARE, return_details=True)
        assert torch.allclose(det.lower / c, torch.ones(4, dtype=F64), rtol=1e-12)
        assert torch.allclose(det.h.norm(dim=1), torch.ones(4, dtype=F64))
        e = gt.riesz_energy(c * SQUARE)                 # E(cW) = E(W)/c for s = 1
        assert e * c == pytest.approx(gt.riesz_energy(SQUARE), rel=1e-12)
        assert gt.describe_code(c * SQUARE).rho == pytest.approx(1.0, abs=1e-12)
    assert gt.riesz_energy(1e160 * SQUARE, s=0) == pytest.approx(gt.riesz_energy(SQUARE, s=0) - 6 * np.log(1e160),
                                                                rel=1e-12)


def test_spherical_ufm_picks_the_best_restart_by_a_loss_that_does_not_underflow():
    r = ufm.train_spherical_ufm(8, 3, 2, 0.005, restarts=4, steps=400, record_every=0, seed=2)
    assert max(r.restart_losses) < 1e-100                 # CE itself: 0 or subnormal for every restart
    logs = r.restart_log_losses
    assert len(set(logs)) > 1 and r.best == int(np.argmin(logs))
    with torch.no_grad():
        mine = ufm._tau_log_ce(r.W[None], r.H[None], r.y, 0.005)[0]
    assert float(mine) == pytest.approx(min(logs), rel=1e-12)


def test_spherical_ufm_at_tiny_tau_trains_or_is_refused_with_an_error_about_tau():
    for tau in (1e-5, 1e-12):                             # NaN (blamed on "W") before
        r = ufm.train_spherical_ufm(4, 3, 2, tau, steps=50, record_every=0)
        assert torch.isfinite(r.W).all() and np.isfinite(r.loss).all()
    with pytest.raises(ValueError, match="tau=.*below"):
        ufm.train_spherical_ufm(4, 3, 2, 1e-320, steps=5)


def test_nc1_of_a_single_class_is_an_error_not_1e32():
    H = torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    y = torch.zeros(6, dtype=torch.long)
    for f in (metrics.nc1, metrics.gnc1):
        with pytest.raises(ValueError, match="K >= 2"):
            f(H, y)
    # two classes whose means coincide up to rounding: undefined, not a huge number
    y2 = torch.tensor([0, 1, 0, 1])
    H2 = torch.tensor([[1.0, 0], [0, 1], [0, 1], [1, 0]], dtype=F64) + 0.1
    with pytest.raises(ValueError, match="coincide"):
        metrics.nc1(H2, y2)


# ============================================================================ 3b. exercise checks
@pytest.mark.parametrize("student", ["sleep", "spin"])
def test_a_check_stops_a_function_that_never_returns(student, monkeypatch):
    monkeypatch.setenv("GNC_TEACH_CHECK_TIME_LIMIT", "0.5")
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS")

    def fn(K, d):
        if student == "sleep":
            time.sleep(3600)
        while True:
            pass
    t0 = time.perf_counter()
    r = gt.check.spread_points(fn)
    assert not r.passed and "took longer than 0.5 s" in r.message and time.perf_counter() - t0 < 5


@pytest.mark.parametrize("student", [sleeper, spinner, quitter], ids=["sleep", "loop", "sys.exit"])
@pytest.mark.parametrize("check", ["ce_floor", "training_loop", "riesz_descent", "disagreement",
                                   "deep_linear_training", "global_minimum"])
def test_every_check_of_lessons_05_to_07_survives_a_student_that_sleeps_loops_or_exits(check, student, monkeypatch):
    monkeypatch.setenv("GNC_TEACH_CHECK_TIME_LIMIT", "0.5")
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS")
    t0 = time.perf_counter()
    r = getattr(gt.check, check)(student)
    assert not r.passed and time.perf_counter() - t0 < 15
    assert ("called sys.exit(3)" if student is quitter else "took longer than 0.5 s") in r.message


def test_only_the_students_code_counts_against_the_time_limit(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_CHECK_TIME_LIMIT", "0.5")

    @_core.checker
    def slow_reference(fn):           # 1 s of the package's own work, then a fast student function
        time.sleep(1.0)
        return f"got {_core.call_student(fn, 2)}"
    assert slow_reference(lambda x: 2 * x).passed
    monkeypatch.delenv("GNC_TEACH_CHECK_TIME_LIMIT")

    @_core.checker(time_limit=0.3)
    def own_limit(fn):                # a check may declare its own limit; the student's calls add up
        for _ in range(4):
            _core.call_student(fn)
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS")
    r = own_limit(lambda: time.sleep(0.1))
    assert not r.passed and "took longer than 0.3 s" in r.message


def test_a_check_reports_sys_exit_and_ctrl_c_instead_of_ending_the_kernel(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS")
    r = gt.check.rho_from_scratch(lambda W: sys.exit(3))
    assert not r.passed and "sys.exit(3)" in r.message

    def interrupted(W):
        raise KeyboardInterrupt
    r = gt.check.rho_from_scratch(interrupted)
    assert not r.passed and "interrupted" in r.message


def test_a_check_off_the_main_thread_still_has_a_time_limit(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_CHECK_TIME_LIMIT", "0.5")
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=gt.check.spread_points(lambda K, d: time.sleep(3600))))
    t.start()
    t.join(10)
    assert not t.is_alive() and "took longer than 0.5 s" in out["r"].message


def test_the_time_limit_restores_the_previous_alarm_handler():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGALRM handlers live on the main thread")
    before = signal.getsignal(signal.SIGALRM)
    assert _core._run_limited(lambda: 7, (), {}, 1.0) == 7
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ============================================================================ 4. setup and first contact
def test_the_command_line_parser_imports_neither_torch_nor_nbformat():
    code = ("import sys; from gnc_teach.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'nbformat', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_read_only_package_folder_still_gets_compiled_kernels_without_warnings(tmp_path):
    # A read-only install (a shared site-packages, a JupyterHub image) where numba's own fallback, the
    # home folder, is unusable too: simulated by a copy whose _solvers/__pycache__ is a file (no folder
    # can be made there) and a HOME that is a file. The kernels must still compile, cached in a
    # temporary folder, without a warning (numba found no cache folder before: the slow torch path ran).
    import shutil
    pkg = tmp_path / "site" / "gnc_teach"
    shutil.copytree(ROOT / "gnc_teach", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "_solvers" / "__pycache__").write_text("read-only")
    (tmp_path / "home").write_text("not a folder")
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), HOME=str(tmp_path / "home"),
               XDG_CACHE_HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path / "tmp"), PYTHONWARNINGS="error")
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("from gnc_teach._tensor import compiled_kernels; import os; "
            "m = compiled_kernels('_solvers.active_set'); print(m is not None, os.environ['NUMBA_CACHE_DIR'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    loaded, folder = out.stdout.split()
    assert loaded == "True" and Path(folder).is_relative_to(tmp_path / "tmp") and folder.endswith("numba")


def test_numba_cache_goes_to_the_user_cache_folder_when_the_package_is_read_only(tmp_path, monkeypatch):
    import numba
    from gnc_teach import _tensor
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)     # restored afterwards
    real = _tensor._writable
    monkeypatch.setattr(_tensor, "_writable", lambda folder: "_solvers" not in folder.parts and real(folder))
    chosen = _tensor.numba_cache_dir.__wrapped__()
    assert chosen == str(tmp_path / "gnc-teach" / "numba") == os.environ["NUMBA_CACHE_DIR"]
    assert numba.config.CACHE_DIR == chosen
    monkeypatch.setattr(_tensor, "_writable", real)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _tensor.numba_cache_dir.__wrapped__() is None      # writable package folder: numba's default

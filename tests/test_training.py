"""The training loop: records, bitwise reproducibility, run folders, resume, checkpoints, CIFAR files,
bad input (refused before any training), and data parallelism under torchrun (2 CPU processes, gloo)."""
import csv
import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cifar_files import write_fake_cifar
from gnc_teach import metrics
from gnc_teach.geometry import simplex_etf
from gnc_teach.models.networks import Network
from gnc_teach.training import CONFIGS, TrainConfig, collapse_metrics, load_run, make_config, reference_rho, train
from gnc_teach.training import loop as training_loop

TINY = dict(data="digits", K=4, d=3, tau=0.2, epochs=3, batch_size=32, width=16, lr=0.05)


def test_history_has_every_metric_every_epoch():
    r = train(TINY, device="cpu", progress=False)
    h = r.history
    assert h["epoch"] == [1, 2, 3]
    for key in ("lr", "batch_loss", "train_loss", "train_acc", "test_loss", "test_acc", "nc1", "nc2",
                "nc2_equinorm", "nc2_W", "nc3", "nc4", "gnc1", "gnc2", "gnc3", "rho_ratio", "seconds"):
        assert len(h[key]) == 3 and all(math.isfinite(v) for v in h[key]), key
    assert 0 <= min(h["train_acc"]) and max(h["train_acc"]) <= 1
    assert h["train_acc"][-1] > 0.5                     # far above chance (0.25) after 3 short epochs
    assert h["lr"][0] == pytest.approx(0.05) and h["lr"][-1] < h["lr"][0]      # cosine decay
    assert r.rho_ref == pytest.approx(4 / 3) and r.rho_ref_source == "proved optimum"   # K <= d+1: ETF
    assert h["rho_ratio"][-1] == pytest.approx(h["gnc2"][-1] / (4 / 3))
    assert r.W.shape == (4, 3) and r.W.dtype == torch.float64
    assert "GNC2 = rho" in r.summary()


def test_eval_every_and_no_metrics():
    r = train(TINY | dict(epochs=4, eval_every=3), device="cpu", progress=False)
    acc = r.history["train_acc"]
    assert math.isnan(acc[0]) and math.isnan(acc[1]) and not math.isnan(acc[2]) and not math.isnan(acc[3])
    assert r.curves("nc1")["step"] == [3, 4]
    off = train(TINY | dict(eval_every=0), device="cpu", progress=False)
    assert all(math.isnan(v) for v in off.history["nc1"]) and all(v > 0 for v in off.history["batch_loss"])


def test_cpu_runs_are_bitwise_reproducible_and_seeded():
    a = train(TINY, device="cpu", progress=False)
    b = train(TINY, device="cpu", progress=False)
    assert torch.equal(a.W, b.W)
    for k in a.model.state_dict():
        assert torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]), k
    assert {k: v for k, v in a.history.items() if k != "seconds"} == \
           {k: v for k, v in b.history.items() if k != "seconds"}
    c = train(TINY | dict(seed=1), device="cpu", progress=False)
    assert not torch.equal(a.W, c.W)
    # the global RNG is left alone
    torch.manual_seed(123)
    x = torch.rand(3)
    torch.manual_seed(123)
    train(TINY | dict(epochs=1), device="cpu", progress=False)
    assert torch.equal(torch.rand(3), x)


def test_run_folder_round_trip(tmp_path):
    out = tmp_path / "run"
    r = train(TINY, device="cpu", progress=False, out=out)
    assert sorted(os.listdir(out)) == ["checkpoint.pt", "metrics.csv", "metrics.json"]
    back = load_run(out)
    assert torch.equal(back.W, r.W) and back.rho_ref == r.rho_ref and back.config == r.config
    assert back.history["nc1"] == r.history["nc1"] and back.model is None
    with open(out / "metrics.json") as fh:
        data = json.load(fh)
    assert data["config"]["tau"] == 0.2 and data["final"]["train_acc"] == r.final["train_acc"]
    with open(out / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and float(rows[-1]["gnc2"]) == r.history["gnc2"][-1]
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 3 and torch.equal(state["model"]["classifier.weight"].double(), r.W)
    with pytest.raises(ValueError, match="has no metrics.json"):
        load_run(tmp_path)


def test_resume_continues_bitwise(tmp_path):
    cfg = TINY | dict(schedule="constant")   # with a cosine schedule the lr depends on the total epochs
    full = train(cfg | dict(epochs=4), device="cpu", progress=False)
    train(cfg | dict(epochs=2), device="cpu", progress=False, out=tmp_path)
    resumed = train(cfg | dict(epochs=4), device="cpu", progress=False, out=tmp_path, resume=True)
    assert torch.equal(resumed.W, full.W)
    assert resumed.history["gnc2"] == full.history["gnc2"] and resumed.history["epoch"] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"trained with other \['d'\]"):
        train(cfg | dict(epochs=5, d=4), device="cpu", progress=False, out=tmp_path, resume=True)
    with pytest.raises(ValueError, match=r"resume=True needs out"):
        train(cfg, device="cpu", progress=False, resume=True)


def test_checkpoint_every(tmp_path):
    seen = []
    real = training_loop._save_checkpoint
    training_loop._save_checkpoint = lambda path, model, opt, epoch, *a: (seen.append(epoch), real(path, model, opt, epoch, *a))
    try:
        train(TINY | dict(epochs=5, checkpoint_every=2), device="cpu", progress=False, out=tmp_path)
    finally:
        training_loop._save_checkpoint = real
    assert seen == [2, 4, 5]


def test_cifar_path_on_tiny_files(tmp_path):
    write_fake_cifar(tmp_path, classes=10, n_train=8, n_test=6)
    r = train(data="cifar10", data_dir=str(tmp_path), arch="resnet18", width=4, d=3, tau=1 / 7, epochs=1,
              batch_size=16, augment=True, device="cpu", progress=False, out=tmp_path / "run")
    assert r.config["data"] == "cifar10" and r.W.shape == (10, 3)
    assert math.isfinite(r.history["test_acc"][-1]) and math.isfinite(r.history["batch_loss"][-1])
    write_fake_cifar(tmp_path, classes=100, n_train=200, n_test=100)
    r = train(data="cifar100", data_dir=str(tmp_path), K=20, arch="cnn", width=8, d=3, tau=0.2, epochs=1,
              batch_size=50, device="cpu", progress=False)
    assert r.W.shape == (20, 3)


def test_collapse_metrics_at_the_equality_case():
    """Features exactly on a simplex ETF with the classifier equal to it: every NC metric is 0 (to
    rounding) and rho reaches its proved optimum K/(K-1), so rho_ratio = 1."""
    K, d = 5, 4
    W = simplex_etf(K, d)
    y = torch.arange(K).repeat(3)
    for tau, scale in ((None, 3.0), (0.1, 1.0)):
        net = Network(nn.Identity(), d, K, tau=tau, bias=False).double()
        with torch.no_grad():
            net.classifier.weight.copy_(scale * W)
        m = collapse_metrics(net, 2.0 * W[y], y, K / (K - 1))
        for key in ("nc1", "nc2", "nc2_equinorm", "nc2_W", "nc3", "nc4", "gnc1", "gnc3"):
            assert abs(m[key]) < 1e-12, (tau, key, m[key])
        assert m["gnc2"] == pytest.approx(K / (K - 1), abs=1e-12) and m["rho_ratio"] == pytest.approx(1, abs=1e-12)
    # one feature moved off its class mean: NC1 becomes positive, and for a cosine network it is NC1 of
    # the normalised features (what the classifier acts on), i.e. GNC1
    H = 2.0 * W[y]
    H[0] += 0.1
    m = collapse_metrics(net, H, y, K / (K - 1))
    assert m["nc1"] > 1e-6 and m["nc1"] == pytest.approx(metrics.nc1(F.normalize(H, dim=1), y), rel=1e-12)
    assert m["nc1"] == pytest.approx(m["gnc1"], rel=1e-12)


def test_reference_rho():
    assert reference_rho(4, 3) == (pytest.approx(4 / 3), "proved optimum")
    rho, source = reference_rho(10, 3)
    # Tammes N = 10 in R^3: minimal angle 66.1468220 deg; softmax code = Tammes code here (checked numerically)
    assert rho == pytest.approx(1 - math.cos(math.radians(66.1468220)), abs=1e-6)
    assert source == "best code found by softmax_code"


def test_named_configurations():
    assert set(CONFIGS) == {"digits-nc", "digits-gnc", "pairs-gnc", "cifar100-resnet18", "cifar10-resnet18"}
    paper = CONFIGS["cifar100-resnet18"]
    assert (paper.data, paper.arch, paper.d, paper.epochs, paper.bias) == ("cifar100", "resnet18", 10, 200, False)
    assert paper.tau == pytest.approx(1 / 7) and paper.lr == 0.1 and paper.weight_decay == 5e-4 and paper.augment
    assert make_config("digits-gnc", tau=0.5).tau == 0.5
    assert isinstance(make_config({"d": 7}), TrainConfig) and make_config({"d": 7}).d == 7


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: trains a tiny network on the GPU")
def test_training_on_cuda(tmp_path):
    write_fake_cifar(tmp_path, classes=10, n_train=8, n_test=6)
    r = train(data="cifar10", data_dir=str(tmp_path), arch="resnet18", width=8, d=3, tau=1 / 7, epochs=2,
              batch_size=16, augment=True, device="cuda", progress=False, out=tmp_path / "run")
    assert r.device.startswith("cuda") and r.W.shape == (10, 3)
    assert all(math.isfinite(v) for v in r.history["batch_loss"]) and math.isfinite(r.history["gnc2"][-1])
    cpu = train(TINY, device="cpu", dtype=torch.float64, progress=False)
    gpu = train(TINY, device="cuda", dtype=torch.float64, progress=False)
    assert float((cpu.W - gpu.W).abs().max()) < 1e-6      # same computation in float64 on both devices


# ----------------------------------------------------------------------------- bad input
@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the training loop itself is ever entered."""
    def boom(*a, **k):
        raise AssertionError("training started before the input was checked")
    monkeypatch.setattr(training_loop, "_run", boom)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(data="imagenet"), ValueError, r"data \(--data\)='imagenet' is not known"),
    (dict(d=0), ValueError, r"d must be >= 1"),
    (dict(d=2.5), TypeError, r"d must be an integer"),
    (dict(tau=0.0), ValueError, r"tau must be a finite number > 0"),
    (dict(tau=-0.1), ValueError, r"tau must be a finite number > 0"),
    (dict(tau=float("nan")), ValueError, r"tau must be a finite number > 0"),
    (dict(K=11), ValueError, r"K=11 is larger than the 10 classes of the 'digits' data"),
    (dict(data="digit-pairs", K=101), ValueError, r"K=101 is larger than the 100 classes"),
    (dict(data="cifar100"), ValueError, r"needs data_dir \(--data-dir\)"),
    (dict(data="cifar10", data_dir="/no/such/dir"), ValueError, r"data_dir \(--data-dir\) '/no/such/dir' does not exist"),
    (dict(arch="transformer"), ValueError, r"arch \(--arch\)='transformer' is not known"),
    (dict(epochs=0), ValueError, r"epochs must be >= 1"),
    (dict(lr=-1.0), ValueError, r"lr must be a finite number > 0"),
    (dict(momentum=1.0), ValueError, r"momentum \(--momentum\) must be in \[0, 1\)"),
    (dict(bogus=1), TypeError, r"unknown training option\(s\) \['bogus'\]"),
    (dict(augment=True), ValueError, r"augment \(--augment\) is for the CIFAR images"),
])
def test_bad_input_is_refused_before_training(no_training, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        train(TINY | kwargs, device="cpu", progress=False, out=tmp_path / "run")


def test_a_folder_that_is_not_cifar_is_refused_before_training(no_training, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match=r"is not a cifar100 python-format folder"):
        train(data="cifar100", data_dir=str(tmp_path), out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()        # nothing was created for a run that cannot start


def test_an_unwritable_output_folder_is_refused_before_training(no_training, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(ValueError, match=r"out \(--out\) .*file/run' cannot be written"):
        train(TINY, device="cpu", progress=False, out=blocker / "run")


def test_bad_device_and_dtype(no_training):
    with pytest.raises(ValueError, match="device="):
        train(TINY, device="tpu:0", progress=False)
    with pytest.raises(TypeError, match="dtype="):
        train(TINY, device="cpu", dtype=torch.int32, progress=False)


# ----------------------------------------------------------------------------- the HUG loss, label noise, sweeps
def test_hug_loss_trains_the_cosine_network_with_its_classifier_rows_as_proxies():
    r = train(TINY, loss="hug", device="cpu", progress=False)
    assert r.config["loss"] == "hug" and r.final["train_acc"] > 0.5 and math.isfinite(r.final["test_loss"])
    from gnc_teach.training import build_model, load_data
    from gnc_teach.uniformity import energy
    cfg = make_config(TINY, loss="hug")
    start = build_model(cfg, load_data(cfg), device="cpu")          # the same initialisation (seed)
    E = [float(energy(F.normalize(m.W.detach().double(), dim=1))) for m in (start, r.model)]
    assert E[1] < E[0]                   # the inter term spread the proxies (the classifier rows) apart
    assert not torch.equal(r.W, train(TINY, device="cpu", progress=False).W)      # not the CE run
    with pytest.raises(ValueError, match=r"loss \(--loss\) 'hug' needs the normalised classifier"):
        make_config(TINY, loss="hug", tau=None)


def test_label_noise_changes_the_requested_share_and_is_recorded():
    from gnc_teach.training import load_data
    cfg = make_config(TINY, label_noise=0.3)
    data = load_data(cfg)
    changed = data.y_train != data.y_train_clean
    assert int(changed.sum()) == round(0.3 * len(data.y_train)) and int(data.y_train.max()) < 4
    assert torch.equal(load_data(cfg).y_train, data.y_train)                    # seeded
    assert torch.equal(data.y_test, load_data(make_config(TINY)).y_test)        # test labels stay clean
    r = train(TINY, label_noise=0.3, device="cpu", progress=False)
    assert 0 <= r.final["memorized"] <= 1 and 0 <= r.final["clean_train_acc"] <= 1
    assert "memorized" not in train(TINY, device="cpu", progress=False).history     # only with noise
    with pytest.raises(ValueError, match="label_noise"):
        make_config(TINY, label_noise=1.0)


def test_sweep_and_summarize():
    from gnc_teach.training import summarize, sweep
    rows = sweep(TINY | dict(epochs=1), loss=["ce", "hug"], seeds=(0, 1), device="cpu")
    assert [(r["loss"], r["seed"]) for r in rows] == [("ce", 0), ("ce", 1), ("hug", 0), ("hug", 1)]
    s = summarize(rows)
    assert [(r["loss"], r["n"]) for r in s] == [("ce", 2), ("hug", 2)]
    for r in s:
        accs = [x["test_acc"] for x in rows if x["loss"] == r["loss"]]
        assert r["mean"] == pytest.approx(sum(accs) / 2) and r["se"] == pytest.approx(r["sd"] / math.sqrt(2))
        assert r["worst"] == min(accs)
    with pytest.raises(ValueError, match="lr"):          # every setting is checked before the first run
        sweep(TINY, lr=[0.1, -1.0], seeds=(0,), device="cpu")
    with pytest.raises(ValueError, match="by is needed"):
        summarize(list(rows))


# ----------------------------------------------------------------------------- data parallel
DDP_TOL = 1e-10   # float64: the two runs differ only in the order of floating-point sums


def _cli_args(out, loss="ce"):
    return ["train", "--data", "digits", "--K", "4", "--d", "3", "--tau", "0.2", "--epochs", "3",
            "--batch-size", "31", "--width", "16", "--dtype", "float64", "--device", "cpu", "--no-progress",
            "--loss", loss, "--out", str(out)]


@pytest.mark.parametrize("loss", ["ce", "hug"])
def test_ddp_two_cpu_processes_match_one(tmp_path, loss):
    """``torchrun --nproc_per_node=2`` (gloo) and one process give the same weights and history to DDP_TOL.

    540 training images of 4 classes in batches of 31: every batch splits 16 / 15 between the processes and
    the last one (13 samples) 7 / 6, so the loss scaling for unequal shares is exercised (for HUG: the
    intra term per sample, the energy of the proxies once). Measured: max weight difference ~1e-15."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    single = subprocess.run([sys.executable, "-m", "gnc_teach", *_cli_args(tmp_path / "one", loss)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2"]
    double = subprocess.run([*torchrun, "-m", "gnc_teach", "--", *_cli_args(tmp_path / "two", loss)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert double.returncode == 0, double.stderr[-3000:]
    one, two = load_run(tmp_path / "one"), load_run(tmp_path / "two")
    assert one.world_size == 1 and two.world_size == 2
    assert float((one.W - two.W).abs().max()) < DDP_TOL
    a = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=False)["model"]
    for k in a:
        assert float((a[k] - b[k]).abs().max()) < DDP_TOL, k
    for key in ("train_loss", "train_acc", "test_acc", "nc1", "gnc2"):
        assert one.history[key] == pytest.approx(two.history[key], rel=1e-8, abs=DDP_TOL), key
    assert not torch.equal(one.W, torch.zeros_like(one.W))
    shutil.rmtree(tmp_path)

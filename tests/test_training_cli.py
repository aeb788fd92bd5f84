"""``gnc-teach train``: a run writes its folder, bad arguments exit 2 naming the option, and the parser
builds without importing torch or scikit-learn."""
import json
import os
import subprocess
import sys

import pytest

from gnc_teach import datasets, train_cli
from gnc_teach.cli import main
from gnc_teach.models.networks import ARCHITECTURES
from gnc_teach.training import CONFIGS, load_run
from gnc_teach.training.config import LOSSES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--data", "digits", "--K", "4", "--d", "3", "--tau", "0.2", "--epochs", "2", "--width", "16",
        "--device", "cpu", "--no-progress"]


def test_train_writes_metrics_that_load_back(tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "GNC2 = rho" in out and "metrics.json" in out
    run = load_run(tmp_path / "run")
    assert run.config["tau"] == 0.2 and run.config["d"] == 3 and len(run.history["epoch"]) == 2
    with open(tmp_path / "run" / "metrics.json") as fh:
        assert json.load(fh)["config"]["K"] == 4
    assert (tmp_path / "run" / "metrics.csv").read_text().startswith("epoch,lr,batch_loss,")


def test_config_and_overrides(tmp_path):
    assert main(["train", "--config", "digits-gnc", "--epochs", "1", "--K", "5", "--tau", "none",
                 "--feature-dim", "4", "--no-progress", "--device", "cpu", "--out", str(tmp_path)]) == 0
    cfg = load_run(tmp_path).config
    assert cfg["tau"] is None and cfg["d"] == 4 and cfg["K"] == 5 and cfg["weight_decay"] == 5e-3


@pytest.mark.parametrize("argv, message", [
    (["--K", "11"], "K=11 is larger than the 10 classes"),
    (["--data", "cifar100"], "needs data_dir (--data-dir)"),
    (["--data", "cifar10", "--data-dir", "/no/such/dir"], "data_dir (--data-dir) '/no/such/dir' does not exist"),
    (["--augment", "yes"], "augment (--augment) is for the CIFAR images"),
])
def test_bad_values_exit_2_with_a_message(argv, message, tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--no-progress", "--device", "cpu", "--out", str(tmp_path / "r"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unwritable_out_exits_2(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["train", *TINY, "--out", str(tmp_path / "file" / "run")]) == 2
    assert "out (--out)" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--tau", "0"], "--tau must be > 0"),
    (["--tau", "-0.5"], "--tau must be > 0"),
    (["--tau", "nan"], "--tau must be finite"),
    (["--d", "0"], "--d must be >= 1"),
    (["--data", "imagenet"], "invalid choice: 'imagenet'"),
    (["--arch", "vgg"], "invalid choice: 'vgg'"),
    (["--epochs", "x"], "--epochs must be an integer"),
    ([], "--out"),
])
def test_bad_arguments_argparse_exit_2(argv, message, capsys):
    args = ["train", *argv] + ([] if not argv else ["--out", "/tmp/never-used"])
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_choices_match_the_package():
    assert train_cli.DATA == datasets.DATASETS
    assert train_cli.ARCHS == ARCHITECTURES
    assert train_cli.CONFIG_NAMES == tuple(CONFIGS)
    assert train_cli.LOSSES == LOSSES


def test_parser_needs_neither_torch_nor_sklearn():
    """train_cli builds its options with the standard library only (gnc-teach --help stays fast)."""
    code = ("import argparse, importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('train_cli', {os.path.join(ROOT, 'gnc_teach', 'train_cli.py')!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "p = m.add_arguments(argparse.ArgumentParser())\n"
            "p.parse_args(['--out', 'x', '--tau', '0.1', '--d', '3'])\n"
            "print(sorted(k for k in ('torch', 'sklearn', 'numpy') if k in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

"""Tests for the ``gnc-teach code`` subcommand (run in-process through gnc_teach.cli.main)."""
import json

import numpy as np
import pytest

from gnc_teach.cli import main


def test_json_output(capsys):
    assert main(["code", "softmax", "--K", "5", "--d", "2", "--fast", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.asarray(out["W"]).shape == (5, 2)
    assert out["rho"] == pytest.approx(1 - np.cos(2 * np.pi / 5), abs=1e-9)
    assert out["upper_bound"] >= out["rho"] and out["kind"] == "softmax"


def test_text_output_and_save(tmp_path, capsys):
    path = tmp_path / "W.npy"
    assert main(["code", "thomson", "--K", "6", "--d", "3", "--fast", "--save", str(path)]) == 0
    text = capsys.readouterr().out
    assert "rho" in text and "energy" in text and "gap" in text and "time" in text
    assert np.load(path).shape == (6, 3)


def test_tammes_float32(capsys):
    assert main(["code", "tammes", "--K", "4", "--d", "3", "--fast", "--dtype", "float32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["min_angle"] == pytest.approx(109.4712206, abs=1e-4)


@pytest.mark.parametrize("argv,message", [
    (["code", "softmax", "--K", "5", "--d", "3", "--s", "2"], "--s is the Riesz exponent"),
    (["code", "thomson", "--K", "5", "--d", "3", "--save", "/no/such/dir/W.npy"], "does not exist"),
])
def test_bad_values_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv,message", [
    (["code", "softmax", "--K", "x", "--d", "3"], "--K must be an integer"),
    (["code", "softmax", "--K", "0", "--d", "3"], "--K must be >= 2"),
    (["code", "softmax", "--K", "1", "--d", "3"], "--K must be >= 2"),
    (["code", "softmax", "--K", "5", "--d", "3", "--seed", "-1"], "--seed must be >= 0"),
    (["code", "softmax", "--K", "5", "--d", "3", "--seed", str(2 ** 70)], "--seed must be <="),
    (["code", "softmax", "--d", "3"], "--K"),
    (["code", "cube", "--K", "5", "--d", "3"], "invalid choice"),
    (["code", "thomson", "--K", "5", "--d", "3", "--s", "nan"], "--s must be"),
])
def test_bad_arguments_argparse_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_budgeted_search_from_the_command_line(capsys):
    argv = ["code", "thomson", "--K", "6", "--d", "3", "--restarts", "2", "--steps", "30", "--effort", "2", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rounds"] == 2 and out["hops"] > 0 and out["certificate"]["stopped_by"] == "effort"
    assert main(["code", "tammes", "--K", "5", "--d", "3", "--target", "80"]) == 2     # a target needs a budget
    assert "need a budget" in capsys.readouterr().err

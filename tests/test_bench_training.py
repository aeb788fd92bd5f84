"""benchmarks/bench_training.py compares like with like: with one process, train() and the plain torch
loop of the benchmark produce the same weights (so the timing compares the same computation)."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_training  # noqa: E402


def test_plain_loop_and_train_agree():
    options = bench_training.WORKLOADS["digits MLP d=3, tau=0.1, batch 64"] | dict(epochs=2)
    _, _, _, ours = bench_training.time_ours(options)
    _, _, _, plain = bench_training.time_plain(options)
    for (name, a), b in zip(ours.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), name


def test_report_section_renders():
    row = dict(name="w", ours_s=[1.0, 1.2], plain_s=[1.0, 1.1], ours_cpu_s=[0.5], plain_cpu_s=[0.5],
               ratio_median=1.05, ratio_best=1.0, ratio_cpu=1.0, max_weight_diff=0.0)
    sec = dict(machine=dict(date_utc="d", command="c", git_commit="g", cpu="cpu", cores=2,
                            versions=dict(torch="t")), threads=1, repeats=2, rows=[row],
               loadavg_start=(1, 1, 1), loadavg_end=(1, 1, 1))
    text = "\n".join(bench_training.training_md(sec) + bench_training.training_targets(sec))
    assert "| w | 1.100 / 1.050 |" in text and "(met; target <= 1.10)" in text

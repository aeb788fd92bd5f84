"""Smoke test of benchmarks/bench_records.py (the records tables) and its report: rows, references, the
resumable results file. No timing assertions (the records themselves are measured in benchmarks/)."""
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_records  # noqa: E402
import bench_report  # noqa: E402


def test_plan_reads_the_references():
    rows = {k: spec for k, _, spec in bench_records.plan(["tammes", "thomson", "softmax"],
                                                         {}, [0], bench_records.DEFAULT_BUDGET)}
    assert rows["tammes/3/13"]["reference"] == 57.1367031 and "shipped" in rows["tammes/3/13"]["source"]
    assert rows["tammes/3/31"]["reference"] == 37.7098291 and "unverified" in rows["tammes/3/31"]["source"]
    assert rows["tammes/3/51"]["reference"] is None                  # no transcription: reported, not judged
    assert rows["thomson/3/12"]["reference"] == pytest.approx(49.165253058)
    assert rows["softmax/10/100/0"]["reference"] == 0.6680 and rows["softmax/10/200/0"]["reference"] is None
    assert len([k for k in rows if k.startswith("tammes")]) == 97 and len([k for k in rows if k.startswith("thomson")]) == 199


def test_a_row_stops_at_its_target(tmp_path, capsys):
    out = tmp_path / "records.json"
    bench_records.main(["--only", "tammes", "--N", "5,13", "--budget", "30", "--out", str(out)])
    data = json.loads(out.read_text())
    row = data["rows"]["tammes/3/13"]
    assert row["reached"] is True and row["stopped_by"] == "target" and row["gap"] <= 1e-5
    assert row["value"] >= row["target"] and row["kkt_residual"] <= 1e-9 and len(data["runs"]) == 1
    bench_records.main(["--only", "tammes", "--N", "5,13", "--out", str(out)])       # resume: nothing left
    assert "0 rows to run" in capsys.readouterr().out
    assert json.loads(out.read_text())["rows"]["tammes/3/13"] == row


def test_records_report_shows_misses_with_their_gaps():
    def row(kind, K, value, ref, reached, seed=0):
        return {"kind": kind, "K": K, "seed": seed, "reference": ref, "source": "x", "value": value,
                "gap": None if ref is None else ref - value, "reached": reached, "seconds": 1.0, "rounds": 2,
                "hops": 64, "restarts": 36, "stopped_by": "budget", "loadavg_before": [1.0, 1.0, 1.0]}
    data = {"runs": [{"date_utc": "today", "git_commit": "abc", "rows": 3, "jobs": 1, "threads_per_row": 2,
                      "loadavg_start": [1.0, 1.0, 1.0], "loadavg_end": [2.0, 2.0, 2.0]}],
            "rows": {"a": row("tammes", 13, 57.1367032, 57.1367031, True),
                     "b": row("tammes", 43, 32.08, 32.0906244, False),
                     "c": row("tammes", 51, 29.4, None, None)}}
    text = "\n".join(bench_report.records_md(data))
    assert "1 of 2 referenced rows reached" in text and "missed: N = 43 (gap 1.06e-02)" in text
    assert "| 43 | 32.0906244 | 32.0800000 | 1.06e-02 | **no** |" in text
    assert "| 51 |  | 29.4000000 |  | n/a |" in text

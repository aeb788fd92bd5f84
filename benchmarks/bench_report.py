"""Write benchmarks/RESULTS.md from benchmarks/results.json (every number comes from the JSON)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import HERE, load_results, time_to_target  # noqa: E402

RECORDS_JSON = HERE / "records.json"

RESULTS_MD = HERE / "RESULTS.md"


def _machine(m: dict) -> list[str]:
    v = m["versions"]
    dirty = m.get("uncommitted_package_files") or []
    return [f"- Date: {m['date_utc']}; command: `{m['command']}`; git commit {m['git_commit']}"
            + (f" plus uncommitted changes in {', '.join(dirty)}" if dirty else ""),
            f"- Machine: {m['cpu']}, {m['cores']} cores (torch threads {m['torch_threads']}), "
            f"CUDA: {m['cuda'] or 'none'}; Python {m['python']}; {m['platform']}",
            "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items())]


def _s(t, cap=None):
    if t is None:
        return f"> {cap:g} (not reached)" if cap is not None else "not reached"
    return f"{t:.3g}"


def _r(x):
    return "n/a" if x is None else f"{x:.7f}"


def codes_md(sec: dict) -> list[str]:
    L = ["## Softmax codes: time to target", ""]
    L += _machine(sec["machine"])
    L += [f"- Load average (1/5/15 min) at start {tuple(round(x, 2) for x in sec['loadavg_start'])}, "
          f"at end {tuple(round(x, 2) for x in sec['loadavg_end'])}; total run {sec['total_seconds']:.0f} s. "
          "The machine was shared with other jobs during the run, so timings carry that noise.",
          "- Target = best - gap, with best = max(reference lower bound, every final value of this run). "
          "Time = wall seconds until the first snapshot with rho >= target (peers: scoring excluded from "
          "their clock; ours: the whole `softmax_code` call). Ratio = peer time / our time; a peer that "
          "did not reach the target within its cap gives the lower bound >= cap / ours. "
          "The cpu ratio is the same with process CPU time (not reached: >= CPU spent within the cap / ours), "
          "less sensitive to other jobs on the machine. "
          f"Threads per method: {sec.get('threads')}.", ""]
    for z in sec["sizes"]:
        ours = z["ours"]
        L.append(f"### d = {z['d']}, K = {z['K']} (cap {z['cap_s']:g} s per peer)")
        L.append("")
        ref = z["reference"]
        L.append(f"Reference: {_r(ref['value'])} ({ref['source']}); "
                 f"best of this run {z['best']:.7f}.")
        L.append("")
        L.append("| method | final rho | same, by one_vs_rest_distance | starts | " + " | ".join(f"time to best-{g} (s)" for g in z["targets"]) + " |")
        L.append("|---|---|---|---|" + "---|" * len(z["targets"]))
        for label, o in ours.items():
            if "rho" not in o:
                L.append(f"| ours (`{label}`) | {o.get('missing', 'missing')} | | 1 call | "
                         + " | ".join("not reached" for _ in z["targets"]) + " |")
                continue
            cells = [f"{o['seconds']:.3g} (cpu {o['cpu_seconds']:.3g})" if o["rho"] >= r["target"] else "not reached"
                     for r in z["targets"].values()]
            L.append(f"| ours (`{label}`) | {o['rho']:.7f} | {_r(o.get('package_rho'))} | 1 call | "
                     + " | ".join(cells) + " |")
        for name, p in z["peers"].items():
            if "skipped" in p:
                L.append(f"| {name} | not run: {p['skipped']} | | | " + " | " * len(z["targets"]))
                continue
            cells = []
            for r in z["targets"].values():
                q = r["peers"][name]
                cells.append(f"{_s(q['s'], z['cap_s'])} (ratio {q['ratio']}; cpu ratio {q['cpu_ratio']})")
            L.append(f"| {name} | {p['final']:.7f} | {_r(p.get('final_package_rho'))} | {p['starts']} | " + " | ".join(cells) + " |")
        L.append("")
        used = [f"best-{g}: {r['ours_config'] or 'none reached'}" for g, r in z["targets"].items()]
        L.append("Ratios are against the fastest configuration of ours that reached the target (" + "; ".join(used) + ").")
        L.append("")
    return L


def _g(x):
    return "n/a" if x is None else f"{x:.3g}"


def ovr_md(sec: dict) -> list[str]:
    L = ["## One-vs-rest distance: `one_vs_rest_distance` vs a scipy NNLS loop", ""]
    L += _machine(sec["machine"])
    L += [f"- Random unit rows (seeded), {sec.get('threads')} torch and BLAS thread(s) for both methods. Times: the best of as many "
          "runs as fit in 1 s (at least 3 for ours, 1 for the loop; the run counts are given), so that millisecond "
          "calls are not judged by one noisy run; the ratio of the medians is given too, and the ratio of the best "
          "process CPU times (steadier when other jobs share the machine; both methods run on one thread). "
          "max |diff| compares rho_k of both; gaps are each method's own certified upper - lower. "
          "'torch solver only': ours without the compiled CPU path (numba), i.e. the path a GPU runs.", "",
          "| K | d | ours (s) | runs | ours with details (s) | torch solver only (s) | NNLS loop (s) | runs | "
          "ratio loop/ours | ratio of medians | ratio of CPU times | max abs diff | ours max gap | loop max gap | "
          "load avg |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for z in sec["sizes"]:
        L.append(f"| {z['K']} | {z['d']} | {z['ours_s']:.4g} | {z['ours_runs']} | {z['ours_details_s']:.4g} | "
                 f"{z['ours_torch_s']:.4g} | {z['nnls_loop_s']:.4g} | {z['nnls_loop_runs']} | "
                 f"{z['ratio']:.3g} | {z['ratio_median']:.3g} | {_g(z.get('ratio_cpu'))} | {z['max_abs_diff']:.1e} | "
                 f"{z['ours_max_gap']:.1e} | "
                 f"{z['nnls_max_gap']:.1e} | {z['loadavg_1min']:.2f} |")
    L.append("")
    return L


def _best_peer(row: dict, key: str):
    """(name, value) of the fastest peer to the target by ``key`` ('s' or 'cpu_s'); None if none reached."""
    got = [(q[key], n) for n, q in row["peers"].items() if q[key] is not None]
    return min(got)[::-1] if got else None


def _vs_peers(label: str, fastest, ours: float, budget: float) -> str:
    """``fastest`` = (peer name, its time) or None when no peer got there; ``budget`` = the time the
    peers had (then ``budget / ours`` is a lower bound on the ratio). The target is 10x."""
    if fastest is None:
        lb = budget / ours
        return (f"{label}: no peer reached it within its cap, ratio >= {lb:.3g} "
                f"({'met' if lb >= 10 else 'not shown to be met'})")
    name, t = fastest
    return (f"{label}: fastest peer {name} {t:.3g} s vs ours {ours:.3g} s, ratio {t / ours:.3g} "
            f"({'met' if t / ours >= 10 else 'NOT met'})")


def _cpu_budget(z: dict, names) -> float:
    """The least CPU time any of the peers ``names`` spent within its cap (their last snapshot)."""
    return min(z["peers"][n]["trace"][-1][1] for n in names if z["peers"][n].get("trace"))


SAME_VALUE_TOL = 1e-9   # peers' snapshots and ours are scored by different exact solvers (agree to ~1e-14)


def same_value_md(z: dict) -> list[str]:
    """Time for each peer to reach the value that ours reached (the issue's "to the same value", read from
    our side): per configuration of ours, the fastest peer's first snapshot with rho >= ours - 1e-9."""
    out = []
    for cfg, o in z["ours"].items():
        if "rho" not in o:
            continue
        first = {n: time_to_target(p.get("trace") or [], o["rho"] - SAME_VALUE_TOL) for n, p in z["peers"].items()}
        parts = []
        for label, col, ours in (("wall", 0, o["seconds"]), ("CPU", 1, o["cpu_seconds"])):
            got = [(t[col], n) for n, t in first.items() if t[col] is not None]
            budget = z["cap_s"] if col == 0 else _cpu_budget(z, z["peers"])
            parts.append(_vs_peers(label, min(got)[::-1] if got else None, ours, budget))
        out.append(f"  - ours (`{cfg}`) rho {o['rho']:.7f}: " + "; ".join(parts) + ".")
    return out


def targets_md(data: dict) -> list[str]:
    """The issue's targets, checked from the numbers: >= 10x the best generic peer to the same value
    (tightest gap), >= 20x the NNLS loop."""
    L = ["## Targets (computed from the numbers below)", ""]
    if "codes" in data:
        for z in data["codes"]["sizes"]:
            gap = list(z["targets"])[-1]
            row = z["targets"][gap]
            head = f"- Softmax code d={z['d']}, K={z['K']}, target best-{gap} = {row['target']:.7f}: "
            if row["ours_s"] is None:
                got = max((o["rho"] for o in z["ours"].values() if "rho" in o), default=float("nan"))
                L.append(head + f"ours did NOT reach it (best of ours {got:.7f}). Target not met.")
                continue
            head += f"ours (`{row['ours_config']}`) "
            parts = []
            for key, ours_key, label in (("s", "ours_s", "wall"), ("cpu_s", "ours_cpu_s", "CPU")):
                budget = z["cap_s"] if key == "s" else _cpu_budget(z, row["peers"])
                parts.append(_vs_peers(label, _best_peer(row, key), row[ours_key], budget))
            L.append(head + "; ".join(parts) + ".")
        L += ["", "The same, to the value that each configuration of ours reached (a peer counts once its "
              "exactly scored rho is within 1e-9 of ours):", ""]
        for z in data["codes"]["sizes"]:
            L.append(f"- Softmax code d={z['d']}, K={z['K']}:")
            L += same_value_md(z)
        L.append("")
    if "one_vs_rest" in data:
        for z in data["one_vs_rest"]["sizes"]:
            cpu = f"; CPU-time ratio {z['ratio_cpu']:.3g}" if "ratio_cpu" in z else ""
            L.append(f"- one_vs_rest_distance K={z['K']}, d={z['d']}: NNLS loop / ours = {z['ratio']:.3g} "
                     f"({'met' if z['ratio'] >= 20 else 'NOT met'}; target >= 20){cpu}, "
                     f"max |diff| {z['max_abs_diff']:.1e}.")
    if "training" in data:
        from bench_training import training_targets
        L += training_targets(data["training"])
    L.append("")
    return L


_RECORD_TABLES = {  # kind: (title, value column, gap column, format of values, the checked range)
    "tammes": ("Tammes, d = 3: max min angle (degrees)", "min angle", "gap (deg)", "{:.7f}", 60),
    "thomson": ("Thomson, d = 3: min Coulomb energy", "energy", "relative gap", "{:.9f}", 100),
    "softmax": ("Softmax codes, d = 10: max rho", "rho", "gap to target", "{:.7f}", None),
}


def _records_summary(kind, rows, upto):
    """One line: reached / missed among the rows with a reference (up to N = ``upto``)."""
    ref = [r for r in rows if r["reached"] is not None and (upto is None or r["K"] <= upto)]
    miss = [r for r in ref if not r["reached"]]
    rng = "" if upto is None else f" with N <= {upto}"
    line = f"- {kind}{rng}: {len(ref) - len(miss)} of {len(ref)} referenced rows reached"
    if ref:
        line += f" (slowest {max(r['seconds'] for r in ref if r['reached']):.1f} s)" if len(ref) > len(miss) else ""
    if miss:
        line += "; missed: " + ", ".join(f"{_row_name(r)} (gap {r['gap']:.2e})" for r in miss)
    return line + "."


def _row_name(r):
    return f"K = {r['K']} seed {r['seed']}" if r["kind"] == "softmax" else f"N = {r['K']}"


def records_md(data: dict) -> list[str]:
    """The records tables (benchmarks/records.json, written by bench_records.py)."""
    L = ["## Records: the budgeted solvers against best-known values", "",
         "Generated from `benchmarks/records.json` (`python benchmarks/bench_records.py`). Each row is one call "
         "with a time budget and the record as its target: it stops at the target (time = the whole call, "
         "certification included) or when the budget is spent (a miss, with its gap). Tammes N <= 30 and Thomson "
         "references are the tables the package ships; Tammes N = 31..100 are transcriptions of Sloane's table "
         "that this project could not check against the source (`benchmarks/tammes_d3_unverified.csv`); rows "
         "without a reference report what was found. Gaps: reference - ours (angles, rho), (ours - reference) / "
         "reference (energies); negative = better than the reference.", ""]
    for run in data.get("runs", []):
        la, lb = run.get("loadavg_start"), run.get("loadavg_end")
        L.append(f"- Run {run['date_utc']}, git {run['git_commit']}"
                 + (f" plus uncommitted changes in {', '.join(run['uncommitted_package_files'])}"
                    if run.get("uncommitted_package_files") else "")
                 + f": {run['rows']} rows, {run['jobs']} at a time with {run['threads_per_row']} thread(s) each; "
                 f"load average at start {tuple(round(x, 2) for x in la)}"
                 + (f", at end {tuple(round(x, 2) for x in lb)}" if lb else " (did not finish)") + ".")
    L.append("")
    rows = data.get("rows", {}).values()
    for kind, (title, vcol, gcol, fmt, upto) in _RECORD_TABLES.items():
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: (r["K"], r["seed"]))
        if not mine:
            continue
        L += [f"### {title}", "", _records_summary(kind, mine, upto)]
        if upto is not None:
            L.append(_records_summary(kind, mine, None))
        L += ["", f"| {'K, seed' if kind == 'softmax' else 'N'} | reference | {vcol} (ours) | {gcol} | reached | "
              "time (s) | rounds | hops | restarts | stopped by | load (1 min) |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in mine:
            ref = "" if r["reference"] is None else fmt.format(r["reference"]) + \
                (" (unverified)" if "unverified" in (r.get("source") or "") else "")
            gap = "" if r["gap"] is None else f"{r['gap']:.2e}"
            reached = {True: "yes", False: "**no**", None: "n/a"}[r["reached"]]
            name = f"{r['K']}, {r['seed']}" if kind == "softmax" else str(r["K"])
            L.append(f"| {name} | {ref} | {fmt.format(r['value'])} | {gap} | {reached} | {r['seconds']:.1f} | "
                     f"{r['rounds']} | {r['hops']} | {r['restarts']} | {r['stopped_by']} | "
                     f"{r['loadavg_before'][0]:.1f} |")
        L.append("")
    return L


def write_markdown() -> Path:
    data = load_results()
    L = ["# Benchmark results", "",
         "Generated by `benchmarks/bench_report.py` from `benchmarks/results.json`; rerun instructions in "
         "`benchmarks/README.md`. Speed is measured here, not asserted in tests.", ""]
    L += targets_md(data)
    if data.get("notes"):      # observations written down by hand after a run (kept in results.json)
        L += ["## Notes on this run", ""] + [f"- {n}" for n in data["notes"]] + [""]
    if "codes" in data:
        L += codes_md(data["codes"])
    if "one_vs_rest" in data:
        L += ovr_md(data["one_vs_rest"])
    if "training" in data:
        from bench_training import training_md   # imports torch and gnc_teach.training
        L += training_md(data["training"])
    if RECORDS_JSON.exists():
        import json
        L += records_md(json.loads(RECORDS_JSON.read_text()))
    RESULTS_MD.write_text("\n".join(L) + "\n")
    return RESULTS_MD


if __name__ == "__main__":
    print(write_markdown())

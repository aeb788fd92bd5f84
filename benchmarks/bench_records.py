"""Best-known records: how close the budgeted solvers of gnc_teach.codes get, and how fast.

    python benchmarks/bench_records.py                                 # every table (hours on 2 cores)
    python benchmarks/bench_records.py --only tammes --N 4-60          # one table, some rows
    python benchmarks/bench_records.py --only softmax --budget 30
    python benchmarks/bench_records.py --redo --only thomson --N 56    # recompute rows already saved

Rows (d = 3 unless said): Tammes N = 4..100 (max min angle; target: the best-known angle - 1e-5 deg),
Thomson N = 2..200 (min Coulomb energy; target: the best-known energy to 1e-9 relative), softmax codes
d = 10, K = 100 and 200, seeds 0-4 (max rho; target 0.6680 at K = 100). Every row is one call of the
solver with ``budget`` seconds and ``target``: it stops when it reaches the target (the time to the
record is then the whole call, certification included) or when the budget is spent (a miss, reported
with its gap). A row without a reference value runs the whole budget and reports what it found.

References: Tammes N <= 30 and Thomson from the tables the package ships (gnc_teach.references, with
their sources); Tammes N = 31..100 from benchmarks/tammes_d3_unverified.csv (transcriptions of Sloane's
table, not checked against the source; see its header). Rows without any stay unreferenced.

Each row is written to benchmarks/records.json when it is done (with the load average before and
after it), so an interrupted run resumes where it stopped: rows already saved are skipped unless
``--redo``. ``--jobs 2`` runs two rows at a time (one thread each); timings are then under contention.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import HERE, machine_info  # noqa: E402

RECORDS_JSON = HERE / "records.json"
TAMMES_GAP_DEG = 1e-5
THOMSON_RTOL = 1e-9
SOFTMAX_TARGET = {100: 0.6680}
DEFAULT_BUDGET = {"tammes": 60.0, "thomson": 60.0, "softmax": 30.0}
DEFAULT_N = {"tammes": "4-100", "thomson": "2-200", "softmax": "100,200"}


def _tammes_references():
    from gnc_teach import references

    out = {N: (r["min_angle_deg"], "Sloane (shipped table)") for N, r in references.tammes_d3().items()}
    with open(HERE / "tammes_d3_unverified.csv") as fh:
        for r in csv.DictReader(ln for ln in fh if not ln.startswith("#")):
            out.setdefault(int(r["N"]), (float(r["min_angle_deg"]), "Sloane, transcription (unverified)"))
    return out


def _parse_range(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def plan(only, Ns, seeds, budget):
    """The rows to run: (key, kind, spec) with spec the solver call and its reference."""
    rows = []
    if "tammes" in only:
        ref = _tammes_references()
        for N in Ns.get("tammes", _parse_range(DEFAULT_N["tammes"])):
            value, source = ref.get(N, (None, None))
            rows.append((f"tammes/3/{N}", "tammes", {"K": N, "d": 3, "seed": 0, "reference": value,
                                                      "source": source, "budget": budget["tammes"]}))
    if "thomson" in only:
        from gnc_teach import references
        table = references.thomson_d3()
        for N in Ns.get("thomson", _parse_range(DEFAULT_N["thomson"])):
            rows.append((f"thomson/3/{N}", "thomson", {"K": N, "d": 3, "seed": 0, "budget": budget["thomson"],
                                                        "reference": table[N]["energy"] if N in table else None,
                                                        "source": "Wikipedia 'Thomson problem' (shipped table)"}))
    if "softmax" in only:
        for K in Ns.get("softmax", _parse_range(DEFAULT_N["softmax"])):
            for s in seeds:
                rows.append((f"softmax/10/{K}/{s}", "softmax", {"K": K, "d": 10, "seed": s,
                                                                 "budget": budget["softmax"],
                                                                 "reference": SOFTMAX_TARGET.get(K),
                                                                 "source": "target of issue 18"}))
    return rows


def _target(kind, ref):
    if ref is None:
        return None
    return {"tammes": ref - TAMMES_GAP_DEG, "thomson": ref * (1 + THOMSON_RTOL), "softmax": ref}[kind]


def run_row(args):
    """One solver call (in a worker process): the result and how it was found."""
    key, kind, spec = args
    from gnc_teach import codes

    solver = {"tammes": codes.tammes_code, "thomson": codes.thomson_code, "softmax": codes.softmax_code}[kind]
    target = _target(kind, spec["reference"])
    load0 = os.getloadavg()
    t, c = time.perf_counter(), time.process_time()
    res = solver(spec["K"], spec["d"], seed=spec["seed"], device="cpu", budget=spec["budget"], target=target)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    value = {"tammes": res.min_angle, "thomson": res.energy, "softmax": res.rho}[kind]
    ref = spec["reference"]
    if ref is None:
        gap, reached = None, None
    elif kind == "tammes":
        gap, reached = ref - value, value >= target
    elif kind == "thomson":
        gap, reached = (value - ref) / ref, value <= target
    else:
        gap, reached = ref - value, value >= target
    return key, dict(spec, kind=kind, target=target, value=value, gap=gap, reached=reached, seconds=wall,
                     cpu_seconds=cpu, rounds=res.rounds, hops=res.hops, restarts=res.restarts,
                     stopped_by=res.certificate.get("stopped_by"), interrupted=res.interrupted,
                     kkt_residual=res.certificate.get("kkt_residual"), grad_norm=res.certificate.get("grad_norm"),
                     history=res.history, loadavg_before=load0, loadavg_after=os.getloadavg(),
                     date_utc=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))


def _init_worker(threads):
    import torch
    torch.set_num_threads(threads)
    from gnc_teach import codes
    if codes._kernels() is not None:                      # the searches' restarts run on numba's threads
        codes._kernels().set_threads(threads)
    for solver in (codes.tammes_code, codes.thomson_code, codes.softmax_code):   # compile/load the kernels
        solver(6, 3, device="cpu", effort=1, restarts=2, steps=20)


def load_records(path=RECORDS_JSON) -> dict:
    return json.loads(Path(path).read_text()) if Path(path).exists() else {"rows": {}, "runs": []}


def update_records(path, *, rows=None, run=None, run_index=None):
    """Add rows and/or a run (or update run ``run_index``) in the results file, under a lock: the file
    is read again first, so two runs of this script (say, Tammes and softmax) can share it. The file
    is replaced at once, never left half written. Returns the index of the run."""
    import fcntl

    with open(str(path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load_records(path)
        data["rows"].update(rows or {})
        if run is not None:
            if run_index is None:
                data["runs"].append(run)
                run_index = len(data["runs"]) - 1
            else:
                data["runs"][run_index].update(run)
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
        tmp.replace(path)
    return run_index


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="tammes,thomson,softmax", help="tables to run (default: all three)")
    ap.add_argument("--N", default="", help="rows, e.g. '4-60' or '35,50' (with a single --only)")
    ap.add_argument("--seeds", default="0-4", help="softmax seeds (default %(default)s)")
    ap.add_argument("--budget", type=float, default=None, help="seconds per row (default 60; softmax 30)")
    ap.add_argument("--jobs", type=int, default=1, help="rows run at once (default 1: the timed setting)")
    ap.add_argument("--redo", action="store_true", help="recompute rows already in the results file")
    ap.add_argument("--out", default=str(RECORDS_JSON))
    ap.add_argument("--report", action="store_true", help="rewrite RESULTS.md afterwards")
    args = ap.parse_args(argv)
    only = [k for k in args.only.split(",") if k]
    Ns = {only[0]: _parse_range(args.N)} if args.N and len(only) == 1 else {}
    budget = {k: args.budget or v for k, v in DEFAULT_BUDGET.items()}
    done = load_records(args.out)["rows"]
    todo = [r for r in plan(only, Ns, _parse_range(args.seeds), budget) if args.redo or r[0] not in done]
    cores = os.cpu_count() or 1
    threads = max(1, cores // max(1, args.jobs))
    run = update_records(args.out, run=dict(machine_info(), loadavg_start=os.getloadavg(), rows=len(todo),
                                            jobs=args.jobs, threads_per_row=threads, tables=only))
    print(f"{len(todo)} rows to run, {args.jobs} at a time, {threads} thread(s) each", flush=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.jobs, initializer=_init_worker, initargs=(threads,), maxtasksperchild=20) as pool:
        for key, row in pool.imap_unordered(run_row, todo):
            row["run"] = run
            update_records(args.out, rows={key: row})
            mark = {True: "reached", False: "MISSED", None: "no reference"}[row["reached"]]
            gap = "" if row["gap"] is None else f" gap {row['gap']:.2e}"
            print(f"{key}: {row['value']:.10g} ({mark}{gap}) in {row['seconds']:.1f} s, {row['rounds']} rounds, "
                  f"load {row['loadavg_before'][0]:.1f}", flush=True)
    update_records(args.out, run={"loadavg_end": os.getloadavg()}, run_index=run)
    if args.report:
        from bench_report import write_markdown
        write_markdown()


if __name__ == "__main__":
    main()

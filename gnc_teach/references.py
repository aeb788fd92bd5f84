"""Reference tables shipped with the package (``gnc_teach/data/*.csv``), as plain dicts and lists.

Each csv starts with ``#`` lines naming its source; :func:`source` returns them. Nothing here touches
the network: the tables were copied once from the sources they name.

* :func:`tammes_d3` — best known minimal angles of N points on S^2 (Sloane et al.), N = 2..30;
* :func:`thomson_d3` — lowest known Coulomb energies of N points on S^2, N = 2..470;
* :func:`known_codes` — spherical codes with exactly known one-vs-rest distance rho.
"""
from __future__ import annotations

import csv
import io
import math
from importlib import resources

__all__ = ["tammes_d3", "thomson_d3", "known_codes", "source", "read_table"]

_FILES = {"tammes_d3": "tammes_d3.csv", "thomson_d3": "thomson_d3_full.csv", "known_codes": "known_codes.csv"}


def _text(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of a reference table, one of {sorted(_FILES)}; got "
                        f"{type(name).__name__}.")
    fname = _FILES.get(name, name)
    try:
        return resources.files("gnc_teach").joinpath("data", fname).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"no reference table {name!r}; available: {sorted(_FILES)}.") from exc


def source(name: str) -> list[str]:
    """The ``#`` header lines of a table (its source and caveats), without the ``#``."""
    return [line[1:].strip() for line in _text(name).splitlines() if line.startswith("#")]


def read_table(name: str) -> list[dict]:
    """Rows of a table as dicts of strings (the header line after the ``#`` lines names the columns)."""
    lines = [line for line in _text(name).splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def tammes_d3() -> dict[int, dict]:
    """``{N: {"min_angle_deg": float, "status": "proved" | "best_known"}}`` for N = 2..30.

    Sloane's angles are truncated (not rounded) to 7 decimals: the true best-known angle lies in
    ``[value, value + 1e-7)``.
    """
    return {int(r["N"]): {"min_angle_deg": float(r["min_angle_deg"]), "status": r["status"]}
            for r in read_table("tammes_d3")}


def thomson_d3() -> dict[int, dict]:
    """``{N: {"energy", "symmetry", "dipole_norm", "theta1_deg"}}``: lowest known Coulomb energy
    ``sum_{i<j} 1/||x_i - x_j||`` of N unit vectors in R^3 (9 decimals as printed by the source)."""
    return {int(r["N"]): {"energy": float(r["energy"]), "symmetry": r["symmetry"],
                          "dipole_norm": float(r["dipole_norm"]), "theta1_deg": float(r["theta1_deg"])}
            for r in read_table("thomson_d3")}


_NAMES = {"sqrt": math.sqrt, "cos": math.cos, "pi": math.pi}


def _value(expr: str):
    """A float for a closed-form entry such as ``1-1/sqrt(5)``; None when it depends on K or d."""
    try:
        return float(eval(expr, {"__builtins__": {}}, dict(_NAMES)))  # noqa: S307 (our own data file)
    except (NameError, SyntaxError, TypeError, ZeroDivisionError):
        return None


def known_codes() -> list[dict]:
    """Rows ``{"d", "K", "name", "max_cos", "rho", "status", "rho_value", "max_cos_value"}``.

    ``d``/``K`` are ints for concrete codes and strings (``"d"``, ``"K<=d+1"`` ...) for families;
    ``rho_value``/``max_cos_value`` are floats for concrete codes and None for families.
    """
    out = []
    for r in read_table("known_codes"):
        row = dict(r)
        for key in ("d", "K"):
            row[key] = int(r[key]) if r[key].strip().isdigit() else r[key]
        concrete = isinstance(row["d"], int) and isinstance(row["K"], int)
        row["rho_value"] = _value(r["rho"]) if concrete else None
        row["max_cos_value"] = _value(r["max_cos"]) if concrete else None
        out.append(row)
    return out

"""Explorer states too slow to compute at every site build, shipped as package data (``gnc_teach/data``).

A :class:`StoredSweep` ties one JSON file ``{"params": ..., "runs": [...], "source": command}`` to the
explorer defaults it was made for (``params()``, read from the explorer's signature) and to the function
that recomputes it (``compute(params)``). Loading refuses a file made for other defaults and names the
command that rebuilds it, so a changed explorer can never show stale twins; each twin's tests also
recompute one stored state and compare it with the file. ``python -m gnc_teach.views.twins.<name>
--rebuild`` rewrites a file (CPU, float64, seconds to minutes).
"""
from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

__all__ = ["DATA_DIR", "StoredSweep", "jsonable"]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def jsonable(value):
    """``value`` with tuples as lists, numpy arrays and scalars as Python numbers and ±inf as a string,
    as it reads back from JSON (so that stored and current ``params`` compare equal)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"value holds a {type(value).__name__}, which JSON cannot store (use numbers, text, lists, dicts).")


class StoredSweep:
    """A JSON file of precomputed explorer runs: ``filename`` in ``gnc_teach/data``, rebuilt by
    ``python -m module --rebuild``; ``params()`` the explorer defaults the runs must have been made for,
    ``compute(params)`` the list of runs (plain JSON-able dicts)."""

    def __init__(self, filename: str, module: str, params, compute):
        if not (isinstance(filename, str) and filename.endswith(".json") and "/" not in filename):
            raise ValueError(f"filename must be a file name ending in .json, got {filename!r}.")
        if not isinstance(module, str):
            raise TypeError(f"module must be the module's dotted name (str), got {type(module).__name__}.")
        for name, fn in (("params", params), ("compute", compute)):
            if not callable(fn):
                raise TypeError(f"{name} must be a function, got {type(fn).__name__}.")
        self.path, self.module, self.params, self.compute = DATA_DIR / filename, module, params, compute
        self._cache: dict = {}

    @property
    def command(self) -> str:
        return f"python -m {self.module} --rebuild"

    def load(self, path=None) -> dict:
        """The stored ``{"params", "runs", "source"}``; RuntimeError if it was made for other parameters."""
        path = self._path(path)
        if path not in self._cache:
            if not path.is_file():
                raise FileNotFoundError(f"path={str(path)!r}: no such file; run `{self.command}`.")
            try:
                self._cache[path] = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ValueError(f"path={str(path)!r} is not JSON; run `{self.command}`.") from None
            if not isinstance(self._cache[path], dict):
                raise ValueError(f"path={str(path)!r} holds no stored runs; run `{self.command}`.")
        data, now = self._cache[path], jsonable(self.params())
        if data.get("params") != now:
            raise RuntimeError(f"{path.name} was made for {data.get('params')}, but the explorer now has "
                               f"{now}; run `{self.command}`.")
        return data

    def _path(self, path) -> Path:
        if path is None:
            return self.path
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}.")
        return Path(path)

    def cache_clear(self) -> None:
        self._cache.clear()

    def rebuild(self, path=None) -> Path:
        """Recompute every run for the current ``params()`` and write the file (compact JSON)."""
        path = self._path(path)
        if not path.parent.is_dir():
            raise ValueError(f"path={str(path)!r}: its folder does not exist.")
        params = self.params()
        data = dict(params=jsonable(params), runs=jsonable(self.compute(params)), source=self.command)
        path.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n", encoding="utf-8")
        self.cache_clear()
        return path

    def main(self, argv=None, *, describe=None) -> int:
        """``python -m module [--rebuild]``: rebuild when asked, then print ``describe(data)`` lines."""
        parser = argparse.ArgumentParser(prog=f"python -m {self.module}",
                                         description=f"Show or rebuild the stored runs in {self.path.name}.")
        parser.add_argument("--rebuild", action="store_true", help=f"recompute and rewrite {self.path.name}")
        args = parser.parse_args(argv)
        if args.rebuild:
            print(f"wrote {self.rebuild()}")
        data = self.load()
        for line in (describe(data) if describe else [f"{len(data['runs'])} runs for {data['params']}"]):
            print(line)
        return 0

"""Boundary checks of the website and app functions: text, folders, URLs and notebooks get a
``ValueError``/``TypeError`` naming the argument. Pure Python (no torch), so that the command line
stays fast; numbers and arrays are checked by :mod:`gnc_teach._tensor`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["check_text", "check_path", "check_folder", "check_file", "check_url", "check_port", "check_notebook",
           "check_mapping"]


def _of_type(value, name: str, kind: type, what: str, optional: bool):
    if value is None and optional:
        return None
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r:.60}.")
    return value


def check_text(value, name: str, *, optional: bool = False) -> str | None:
    """``value`` if it is a string (or None with ``optional``), else a TypeError naming ``name``."""
    return _of_type(value, name, str, "a string", optional)


def check_path(value, name: str) -> Path:
    """``value`` (str or os.PathLike) as a Path, existing or not, else a TypeError naming ``name``."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {type(value).__name__}.")
    return Path(value)


def check_folder(value, name: str) -> Path:
    """``value`` as a Path to an existing folder, else a TypeError/ValueError naming ``name``."""
    path = check_path(value, name)
    if not path.is_dir():
        raise ValueError(f"{name}={str(path)!r} is not a folder.")
    return path


def check_file(value, name: str) -> Path:
    """``value`` as a Path to an existing file, else TypeError, or FileNotFoundError naming ``name``."""
    path = check_path(value, name)
    if not path.is_file():
        raise FileNotFoundError(f"{name}={str(path)!r}: no such file.")
    return path


def check_url(value, name: str, *, optional: bool = False) -> str | None:
    """An ``http(s)://host/...`` address (None allowed with ``optional``), trailing slash removed."""
    if check_text(value, name, optional=optional) is None:
        return None
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError(f"{name} must be an http(s) address such as https://github.com/OWNER/REPO, got {value!r}.")
    return value.rstrip("/")


def check_port(value, name: str = "port") -> int:
    """A TCP port number 0..65535 (0: let the system choose a free one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (a TCP port 0..65535), got {type(value).__name__} {value!r:.40}.")
    if not 0 <= value < 65536:
        raise ValueError(f"{name} must be in 0..65535 (0: a free port), got {value}.")
    return value


def check_notebook(nb, name: str = "nb"):
    """A notebook (``nbformat.NotebookNode`` or its dict) with a list of cells, else a TypeError."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(f"{name} must be a notebook read with nbformat (a dict with a list of 'cells'), "
                        f"got {type(nb).__name__}.")
    return nb


def check_mapping(value, name: str, *, optional: bool = False) -> dict | None:
    """``value`` if it is a dict (or None with ``optional``), else a TypeError naming ``name``."""
    return _of_type(value, name, dict, "a dict", optional)

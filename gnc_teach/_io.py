"""Writing files safely: check the destination before the work, write atomically after it.

:func:`write_atomic` writes into a temporary file in the destination's folder and renames it over the
destination (``os.replace``), so a reader sees the old file or the new one, never half of one, and an
error (a full disk, a bug in the caller's writer) leaves the old file as it was. It refuses a
destination that resolves to one of the ``sources`` it was computed from (the same path, a symbolic
link, a linked folder), which would overwrite the input with its own output.

:func:`check_writable` and :func:`check_folder` check a destination before the work that will fill it, and
create nothing. :func:`table_row` and :func:`read_table` write and read the CSV tables that cache long
searches (a header line, ``#`` comment lines, one row per computed case).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "check_writable", "check_folder", "write_error", "refuse_source", "table_row", "read_table"]


def refuse_source(dst, sources, *, name: str = "destination") -> None:
    """Raise ValueError when ``dst`` is (or resolves to) one of ``sources``."""
    dst = Path(dst)
    real = dst.resolve()
    for src in sources:
        src = Path(src)
        same = real == src.resolve()
        if not same and dst.exists() and src.exists():
            same = os.path.samefile(dst, src)
        if same:
            raise ValueError(f"{name} {str(dst)!r} is the source file {str(src)!r} (or a link to it); writing "
                             "there would overwrite the source. Choose another destination.")


def check_writable(path, *, name: str = "path") -> Path:
    """Raise ValueError unless a file can be created at ``path`` (its folder exists and is writable, and
    ``path`` is not a folder). Probes with a temporary file, which is removed."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{name}: {str(path)!r} is a folder; give a file name.")
    if not folder.is_dir():
        raise ValueError(f"{name}: folder {str(folder.resolve())!r} does not exist.")
    error = write_error(folder)
    if error:
        raise ValueError(f"{name}: cannot write in {str(folder.resolve())!r} ({error}).")
    return path


def write_error(folder) -> str | None:
    """Why no file can be created in the existing ``folder`` (probed with a temporary file, removed), or
    None when one can."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def write_atomic(path, data, *, sources=(), name: str = "destination") -> Path:
    """Write ``data`` (bytes, str, or a callable that writes to a binary file object) to ``path``
    atomically; refuse a ``path`` that resolves to one of ``sources``. Returns ``path``.

    The new file gets the permissions of the file it replaces (or the usual ones for a new file).
    """
    path = Path(path)
    refuse_source(path, sources, name=name)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    target = path.resolve() if path.is_symlink() else path   # replace the file a link points to, not the link
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def check_folder(folder, *, name: str = "folder") -> str:
    """The absolute path of ``folder`` if files can be written in it, creating nothing: an existing folder
    must be writable; a missing one must have a writable nearest existing parent folder (``write_atomic``
    creates the missing folders at the first write). ValueError naming ``name`` otherwise."""
    path = Path(os.path.abspath(os.fspath(folder)))
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{name} {str(path)!r} cannot be written: {str(probe)!r} is a file, not a folder.")
    error = write_error(probe)
    if error:
        raise ValueError(f"{name} {str(path)!r} cannot be written: no write permission in {str(probe)!r} "
                         f"({error}); give a folder you can write to.")
    return str(path)


def table_row(values: dict, fields) -> str:
    """One CSV line of ``values`` in the order of ``fields``: floats with 15 significant digits, None empty."""
    def cell(v):
        if v is None:
            return ""
        return f"{v:.15g}" if isinstance(v, float) else str(v)
    return ",".join(cell(values[f]) for f in fields)


def read_table(path, parse=None, *, name: str = "path") -> list:
    """The rows of a CSV table (lines starting with ``#`` are comments, the first other line is the header) as
    dicts; ``parse(key, text)`` turns one field into a value (default: keep the text). A missing file raises
    FileNotFoundError, a file without a header ValueError, both naming ``name`` and the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no table at {str(path)!r}.")
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    if not lines:
        raise ValueError(f"{name}: {str(path)!r} holds no table (no header line).")
    head = lines[0].split(",")
    parse = parse or (lambda key, text: text)
    try:
        return [{k: parse(k, v) for k, v in zip(head, ln.split(","))} for ln in lines[1:]]
    except ValueError as exc:
        raise ValueError(f"{name}: {str(path)!r} is not a table of this kind ({exc}).") from None

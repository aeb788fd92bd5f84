"""Writing files safely: check the destination before the work, write atomically after it.

:func:`write_atomic` writes into a temporary file in the destination's folder and renames it over the
destination (``os.replace``), so a reader sees the old file or the new one, never half of one, and an
error (a full disk, a bug in the caller's writer) leaves the old file as it was. It refuses a
destination that resolves to one of the ``sources`` it was computed from (the same path, a symbolic
link, a linked folder), which would overwrite the input with its own output.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "check_writable", "refuse_source"]


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
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"{name}: cannot write in {str(folder.resolve())!r} ({exc.strerror or exc}).") from None
    return path


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

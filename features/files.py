"""Atomic files: every output Opspor writes goes through here.

A file is written to a temporary name in its own folder and then moved into
place with ``os.replace``, so a reader sees the old file or the new one, never
half of either, and a crash leaves no partial output behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text"]


def atomic_write(
    path: Path, write: Callable[[Path], object], *, mode: int | None = None
) -> Path:
    """Write a file via a temp file in the same folder, then ``os.replace``.

    Parameters
    ----------
    path : Path
        Final location; its folder is created.
    write : callable
        Writes the whole file to the temp path it is given.
    mode : int, optional
        Permission bits; by default the temp file's private ``0o600`` is kept,
        which suits files with person-level rows (lists, users).

    Returns
    -------
    Path
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = 0o644) -> Path:
    """Write ``data`` atomically; readable by others by default (aggregate outputs)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), mode=mode)


def atomic_write_text(path: Path, text: str, *, mode: int | None = 0o644) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)

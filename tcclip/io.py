"""Atomic file writes: the one way this project writes a file that something else reads.

A crash, a kill or a full disk must never leave a half-written file under the final name:
every writer here writes a temporary file in the same folder (so the rename stays on one
file system), flushes it to disk, then ``os.replace``s it over the target. Temporary names
start with ``.`` and end with ``.tmp``; :func:`remove_stale_temporaries` cleans up the ones a
killed process left behind.

Hand-written rather than taken from a library: the standard library has no atomic write, and
the few lines below are simpler than a dependency (``atomicwrites`` is unmaintained).
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "atomic_write_json", "atomic_torch_save", "atomic_copy",
           "remove_stale_temporaries"]

TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    For writers that insist on a file name (``torch.save``, ``fig.savefig``, ffmpeg). The
    temporary file keeps ``path``'s suffix, so tools that pick a format from the name still do.
    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f"{path.suffix}{TEMP_SUFFIX}")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:  # the data must be on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _write_with(path: PathLike, mode: str, write: Callable[[IO], None], **open_kwargs: Any) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as fh:
            write(fh)
    return Path(path)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    return _write_with(path, "w", lambda fh: fh.write(text), encoding=encoding, newline="")


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    return _write_with(path, "wb", lambda fh: fh.write(data))


def atomic_write_json(path: PathLike, payload: Any, indent: int = 2) -> Path:
    """JSON with a trailing newline; objects JSON cannot represent are written with ``str``."""
    return atomic_write_text(path, json.dumps(payload, indent=indent, default=str) + "\n")


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def remove_stale_temporaries(folder: PathLike, older_than_s: float = 0.0) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``folder``.

    Only names this module makes (``.<stem>.<random><suffix>.tmp``) are touched, and only those
    last modified more than ``older_than_s`` seconds ago (another process may be writing one).
    Returns the removed paths.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    removed = []
    for p in folder.iterdir():
        if p.is_file() and p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX):
            try:
                if now - p.stat().st_mtime >= older_than_s:
                    p.unlink()
                    removed.append(p)
            except FileNotFoundError:  # removed by its writer in the meantime
                continue
    return removed


def atomic_copy(src: PathLike, dst: PathLike) -> Path:
    """Make ``dst`` a copy of ``src`` atomically: a hard link when the file system allows (no data
    is copied; a later atomic replace of ``src`` leaves ``dst`` holding the old contents), else a copy."""
    import shutil

    with atomic_path(dst) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
    return Path(dst)

"""Atomic file writes: readers never see half a file, and a failed write leaves the old file as it was.

Every file multicam rewrites in place (manifests, reports, prompts, game files, snapshots, cached
features, downloaded checkpoints, rendered videos) goes through :func:`atomic_path`::

    with atomic_path(out / "mosaic.mp4") as tmp:
        write_video(tmp)            # any writer that takes a path
    write_json_atomic(run / "manifest.json", data)

This module is at the bottom of the package: it imports nothing from multicam.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces ``path`` when the block ends without an error.

    The temporary name is hidden (leading dot), unique to the process and thread (two writers of
    the same file never share it) and keeps ``path``'s suffix (so writers that pick a format by
    suffix still work). On an error (or Ctrl-C) the temporary file is removed and ``path`` is left
    untouched. An existing file's permission bits are kept.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp{path.suffix}")
    try:
        yield tmp
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON (2-space indent, one trailing newline) atomically (see :func:`atomic_path`)."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")

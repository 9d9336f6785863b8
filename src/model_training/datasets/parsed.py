"""Parsed feature files of this process, by path, with the size and mtime they
were read at.

A run loads train_features for about ten nodes, and at a million rows each
parse costs tens of seconds. An unchanged file is parsed once; a rewritten one
(new size or mtime) is read again. The stage never changes a polars frame in
place, so the nodes can share one. At most a few files are kept (the three
splits and a file to score); the least recently used goes first.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

MAX_FILES = 4
_PARSED: dict[str, tuple[tuple[int, int], pl.DataFrame]] = {}


def _key(path: Path) -> tuple[str, tuple[int, int]]:
    stat = path.stat()
    return str(path.resolve()), (stat.st_size, stat.st_mtime_ns)


def cached(path: Path) -> pl.DataFrame | None:
    """The frame parsed from ``path`` as it is now, if any."""
    key, stamp = _key(path)
    hit = _PARSED.get(key)
    if hit is None or hit[0] != stamp:
        return None
    _PARSED[key] = _PARSED.pop(key)  # the most recently used is kept longest
    return hit[1]


def remember(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """Keep ``frame`` as ``path``'s parse; forget the least recently used
    beyond MAX_FILES (a million-row run wrote and read its predictions and
    SHAP tables late, and with the oldest forgotten first, the training split
    every node reads was parsed again: 13 s before the package)."""
    key, stamp = _key(path)
    _PARSED.pop(key, None)
    _PARSED[key] = (stamp, frame)
    while len(_PARSED) > MAX_FILES:
        _PARSED.pop(next(iter(_PARSED)))
    return frame

"""Where tsqr keeps what it computes once and reuses (BM25 indexes, reasoning caches), and the one check every
output path passes so a name a visitor chose can never write outside its folder.

One place decides, so the app, the CLI and the trainers share one cache: `$TSQR_CACHE` when set,
else `~/.cache/tsqr`.
"""
from __future__ import annotations

import os
from pathlib import Path


class UnsafePathError(ValueError):
    """A file name that would leave the folder it is meant for ("../x", "/tmp/x", a symlink out)."""


def cache_dir(kind: str = "") -> Path:
    """The cache folder for `kind` ("index", "reasoning", ...), created on first use."""
    root = Path(os.environ.get("TSQR_CACHE") or Path.home() / ".cache" / "tsqr")
    path = root / kind if kind else root
    path.mkdir(parents=True, exist_ok=True)
    return path


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, after checking that it resolves (symlinks followed) to a path strictly inside `folder`;
    UnsafePathError otherwise. Names from uploads, zips and domain names go through here before anything is
    written."""
    root = Path(folder).resolve()
    target = (root / name).resolve()
    if root not in target.parents:
        raise UnsafePathError(f"{name!r}: refused as a file name: it leads outside {folder} (to {target})")
    return Path(folder) / name

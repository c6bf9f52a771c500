"""Where tsqr keeps what it computes once and reuses (BM25 indexes, reasoning caches), and the one check every
output path passes so a name a visitor chose can never write outside its folder.

One place decides, so the app, the CLI and the trainers share one cache: `$TSQR_CACHE` when set,
else `~/.cache/tsqr`.
"""
from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
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


def write_folder_atomically(folder: Path, write: Callable[[Path], object], what: str) -> None:
    """Fill `folder` by calling `write` on a private temporary folder, then rename it into place: a crash or a
    concurrent writer never leaves half a cache entry. A folder that cannot be written costs a warning naming
    `what`, not the caller's result (another writer that won the race is no failure at all)."""
    temporary = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    try:
        temporary.mkdir(parents=True, exist_ok=True)
        write(temporary)
        if folder.exists():
            shutil.rmtree(folder)
        os.rename(temporary, folder)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if not (folder / "meta.json").is_file():
            warnings.warn(f"could not cache {what} in {folder}: {error}", stacklevel=4)


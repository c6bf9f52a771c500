"""Where tsqr keeps what it computes once and reuses (BM25 indexes, reasoning caches, embeddings), how those
caches stay within their disk caps, and the one check every output path passes so a name a visitor chose can
never write outside its folder.

One place decides, so the app, the CLI and the trainers share one cache: `$TSQR_CACHE` when set,
else `~/.cache/tsqr`. Every cache is pruned the same way (`prune_cache`): entries (files or folders) ranked by
mtime, which `mark_used` refreshes on every use, least recently used removed first until the cache fits its
cap (tsqr.limits: TSQR_INDEX_CACHE_MB, TSQR_REASONING_CACHE_MB, TSQR_EMBEDDING_CACHE_MB).
"""
from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path


class UnsafePathError(ValueError):
    """A file name that would leave the folder it is meant for ("../x", "/tmp/x", a symlink out)."""


CACHE_ENV = "TSQR_CACHE"


def _cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "tsqr")


def check_cache_root() -> Path:
    """The cache root, refused with one line (NotADirectoryError naming TSQR_CACHE) when something other than
    a folder is in the way; nothing is created."""
    root = _cache_root()
    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                raise NotADirectoryError(f"{CACHE_ENV}={str(root)!r}: {path} is a file, not a folder: point "
                                         f"{CACHE_ENV} at a folder")
            break
    return root


def cache_dir(kind: str = "") -> Path:
    """The cache folder for `kind` ("index", "reasoning", ...), created on first use; NotADirectoryError
    naming TSQR_CACHE when a file is in the way."""
    root = check_cache_root()
    path = root / kind if kind else root
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(f"{CACHE_ENV}={str(root)!r}: {path} is a file, not a folder") from None
    return path


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, after checking that it resolves (symlinks followed) to a path strictly inside `folder`;
    UnsafePathError otherwise. Names from uploads, zips and domain names go through here before anything is
    written."""
    root = Path(folder).resolve()
    target = (root / name).resolve()
    if root not in target.parents:
        raise UnsafePathError(f"{name!r}: refused as a file name: it leads outside its folder")
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



def mark_used(entry: Path) -> None:
    """Record that a cache entry (file or folder) was just used: its mtime is what `prune_cache` ranks by."""
    try:
        os.utime(entry)
    except OSError:  # removed meanwhile by another process's pruning: nothing to mark
        pass


def _entry_size(entry: Path) -> int:
    if entry.is_file():
        return entry.stat().st_size
    return sum(path.stat().st_size for path in entry.rglob("*") if path.is_file())


def _is_complete_folder(entry: Path) -> bool:
    return entry.is_dir() and (entry / "meta.json").is_file()


def prune_cache(root: Path, max_bytes: int, is_entry: Callable[[Path], bool] = _is_complete_folder) -> list[Path]:
    """Remove entries of `root` (by default: complete cache folders, those holding meta.json), least recently
    used first, until they take at most `max_bytes` (an entry larger than the cap on its own goes too: 0 keeps
    nothing). Entries being written (`*.tmp-*`) are left alone. Returns the entries removed."""
    entries = []
    for entry in root.iterdir() if root.is_dir() else ():
        try:
            if ".tmp-" not in entry.name and is_entry(entry):
                entries.append((entry.stat().st_mtime_ns, entry.name, entry, _entry_size(entry)))
        except OSError:  # vanished while we looked
            continue
    total = sum(size for *_, size in entries)
    removed = []
    for _, _, entry, size in sorted(entries):
        if total <= max_bytes:
            break
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        total -= size
        removed.append(entry)
    return removed

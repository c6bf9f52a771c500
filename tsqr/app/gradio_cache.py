"""The app's own Gradio cache folder (uploads, files it serves), and what dead runs left emptied at start-up.

Usage:
    folder = own_gradio_cache()     # before the interface is built: sets $GRADIO_TEMP_DIR to a folder of this run's
    sweep_gradio_caches(folder)     # at launch: the folders of tsqr apps no longer running go, however they ended

Gradio deletes its cache when it shuts down cleanly, but not after SIGKILL, an out-of-memory kill or a crash, so
visitors' uploads and downloads piled up across restarts (441 files, 552 MB over two restarts were measured).
Each run keeps its files in `tsqr-gradio-<pid>` inside $GRADIO_TEMP_DIR (or the system temporary folder when
unset) and holds an exclusive lock on `tsqr-gradio-<pid>.lock` beside it for as long as it lives; the kernel
drops the lock however the process ends. At launch, every `tsqr-gradio-*` folder whose lock can be taken belongs
to a run that is gone, and is removed. So the sweep never deletes another program's files (only these names),
nor those of another tsqr app still running on the same machine (its lock is held), and a restart on another
port cleans up as well as one on the same port. Gradio reads $GRADIO_TEMP_DIR when an interface is built and when
it serves, so the variable is set before both. Without `fcntl` (Windows) nothing is swept.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import IO

TEMP_ENV, PREFIX, LOCK_SUFFIX = "GRADIO_TEMP_DIR", "tsqr-gradio-", ".lock"
_held: dict[Path, IO] = {}  # this process's locks, open for its lifetime


def _lock(path: Path) -> IO | None:
    """An open handle holding an exclusive lock on `path`, or None when another live process holds it."""
    import fcntl

    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def own_gradio_cache(env: MutableMapping[str, str] | None = None) -> Path:
    """Point $GRADIO_TEMP_DIR at this run's own folder (created, its lock held) and return it; calling it again,
    or in a child of the app, keeps the folder already set."""
    env = os.environ if env is None else env
    base = Path(env.get(TEMP_ENV) or tempfile.gettempdir())
    if base.name.startswith(PREFIX):
        return base
    folder = base / f"{PREFIX}{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _held.setdefault(folder, _lock(folder.with_name(folder.name + LOCK_SUFFIX)))
    except ImportError:  # no fcntl: the folder is used, never swept
        pass
    env[TEMP_ENV] = str(folder)
    return folder


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_gradio_caches(own: Path) -> int:
    """Empty `own` (this run's folder: a reused pid may find files in it) and remove the folders of tsqr runs
    that are gone; returns the entries removed. Refuses a folder `own_gradio_cache` did not name."""
    if not own.name.startswith(PREFIX):
        raise ValueError(f"{own} is not a tsqr Gradio cache folder ({PREFIX}<pid>)")
    removed = 0
    for entry in own.iterdir() if own.is_dir() else ():
        _remove(entry)
        removed += 1
    try:
        locks = sorted(own.parent.glob(f"{PREFIX}*{LOCK_SUFFIX}"))
        for lock in [lock for lock in locks if lock.with_suffix("") != own]:
            handle = _lock(lock)
            if handle is None:  # a tsqr app still running
                continue
            folder = lock.with_suffix("")
            if folder.is_dir():
                removed += 1 + sum(1 for _ in folder.rglob("*"))
                _remove(folder)
            lock.unlink(missing_ok=True)
            handle.close()
    except ImportError:
        pass
    return removed

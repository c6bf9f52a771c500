"""The app's own Gradio cache folder (uploads, files it serves), emptied whenever the app starts.

Usage:
    folder = own_gradio_cache()     # before the interface is built: sets $GRADIO_TEMP_DIR to a folder of tsqr's
    empty_gradio_cache(folder)      # at launch: what a previous run left there goes, however that run ended

Gradio deletes its cache when it shuts down cleanly, but not after SIGKILL, an out-of-memory kill or a crash, so
visitors' uploads and downloads piled up across restarts (441 files, 552 MB over two restarts were measured). The
folder is `tsqr-gradio-<port>` inside $GRADIO_TEMP_DIR (or the system temporary folder when unset): a name only
this app uses, one per served port, so emptying it never deletes another program's files, nor those of another
tsqr app on the same machine serving another port. Gradio reads $GRADIO_TEMP_DIR when an interface is built and
when it serves, so the variable is set before both.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

TEMP_ENV, PORT_ENV, DEFAULT_PORT = "GRADIO_TEMP_DIR", "GRADIO_SERVER_PORT", "7860"
PREFIX = "tsqr-gradio-"


def own_gradio_cache(env: MutableMapping[str, str] | None = None) -> Path:
    """Point $GRADIO_TEMP_DIR at this app's own folder (created) and return it; calling it again keeps it."""
    env = os.environ if env is None else env
    base = Path(env.get(TEMP_ENV) or tempfile.gettempdir())
    if base.name.startswith(PREFIX):  # already this app's folder (imported twice, or a child of the app)
        folder = base
    else:
        port = (env.get(PORT_ENV) or DEFAULT_PORT).strip()
        folder = base / f"{PREFIX}{port if port.isdigit() else DEFAULT_PORT}"
    folder.mkdir(parents=True, exist_ok=True)
    env[TEMP_ENV] = str(folder)
    return folder


def empty_gradio_cache(folder: Path) -> int:
    """Remove everything inside `folder`, one of this app's own (see `own_gradio_cache`); returns the entries
    removed. Refuses any other folder, so a wrong argument cannot delete someone else's files."""
    if not folder.name.startswith(PREFIX):
        raise ValueError(f"{folder} is not a tsqr Gradio cache folder ({PREFIX}<port>)")
    removed = 0
    for entry in folder.iterdir() if folder.is_dir() else ():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed

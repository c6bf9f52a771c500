"""Where tsqr keeps what it computes once and reuses: BM25 indexes and reasoning caches.

One place decides, so the app, the CLI and the trainers share one cache: `$TSQR_CACHE` when set,
else `~/.cache/tsqr`.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str = "") -> Path:
    """The cache folder for `kind` ("index", "reasoning", ...), created on first use."""
    root = Path(os.environ.get("TSQR_CACHE") or Path.home() / ".cache" / "tsqr")
    path = root / kind if kind else root
    path.mkdir(parents=True, exist_ok=True)
    return path

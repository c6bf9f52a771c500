"""Never pay twice for a reasoning: an append-only JSONL cache, one file per model, keyed by everything that
decides the text.

Usage:
    cache = ReasoningCache.for_model(identity)          # cache_dir("reasoning")/<model>.jsonl
    key = reasoning_key(identity.name, template, settings, query)
    row = cache.get(key)                                 # CacheRow or None
    cache.append([CacheRow(...), ...])                   # written and flushed at once

This module owns the cache's JSONL format (`read_rows`, `append`); moving reasonings between a cache and
TongSearch's JSON is tsqr.reasonings' job (`export_cache`, `import_into_cache`), the owner of reasoning files.

Appending and flushing after every batch means an evaluation killed by a crash or Ctrl-C resumes where it
stopped. A process killed mid-write leaves at most one truncated last line: reading skips it with a warning
and the next append starts on a fresh line, so no finished row is ever damaged.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tsqr.paths import cache_dir
from tsqr.reasoner.identity import ModelIdentity
from tsqr.reasoner.prompts import PromptTemplate
from tsqr.reasoner.settings import GenerationSettings


def reasoning_key(model: str, template: PromptTemplate, settings: GenerationSettings, query: str) -> str:
    """The cache key: a hash of model identity, template (name and exact words), output settings and query."""
    payload = json.dumps(
        {"model": model, "template": template.name, "template_hash": template.fingerprint,
         "settings": settings.output_fields(), "query": query},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheRow:
    """One cached reasoning, exactly as stored on a JSONL line."""

    key: str
    query: str
    text: str
    model: str
    template: str
    settings: dict[str, Any] = field(default_factory=dict)
    new_tokens: int = 0
    seconds: float = 0.0

    @classmethod
    def from_json(cls, data: Any, where: str) -> "CacheRow":
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
        missing = [name for name in ("key", "query", "text") if not isinstance(data.get(name), str)]
        if missing:
            raise ValueError(f"{where}: field(s) {', '.join(missing)} missing or not a string")
        return cls(key=data["key"], query=data["query"], text=data["text"], model=str(data.get("model", "")),
                   template=str(data.get("template", "")), settings=dict(data.get("settings") or {}),
                   new_tokens=int(data.get("new_tokens", 0)), seconds=float(data.get("seconds", 0.0)))


class ReasoningCache:
    """Rows of one JSONL file, loaded once and kept in memory by key; later rows win over earlier ones."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._rows: dict[str, CacheRow] | None = None

    @classmethod
    def for_model(cls, identity: ModelIdentity, folder: Path | None = None) -> "ReasoningCache":
        return cls((folder or cache_dir("reasoning")) / f"{identity.slug}.jsonl")

    @classmethod
    def find(cls, name: str, folder: Path | None = None) -> "ReasoningCache":
        """The cache a user names: a .jsonl path, or a cache's file name (with or without .jsonl) in the cache
        folder; FileNotFoundError lists what was tried and which caches exist."""
        folder = folder or cache_dir("reasoning")
        candidates = [Path(name), folder / name, folder / f"{name}.jsonl"]
        for path in candidates:
            if path.is_file():
                return cls(path)
        known = sorted(path.stem for path in folder.glob("*.jsonl")) if folder.is_dir() else []
        raise FileNotFoundError(f"no reasoning cache {name!r} (tried {', '.join(map(str, candidates))}); "
                                f"caches in {folder}: {', '.join(known) or 'none'}")

    def _load(self) -> dict[str, CacheRow]:
        if self._rows is None:
            self._rows = {row.key: row for row in read_rows(self.path)} if self.path.exists() else {}
        return self._rows

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: str) -> bool:
        return key in self._load()

    def get(self, key: str) -> CacheRow | None:
        return self._load().get(key)

    def rows(self) -> list[CacheRow]:
        return list(self._load().values())

    def append(self, rows: Sequence[CacheRow]) -> None:
        """Write rows at the end of the file and flush them to disk before returning."""
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(asdict(row), ensure_ascii=False) + "\n" for row in rows)
        with self.path.open("a+b") as handle:
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    lines = "\n" + lines  # close a line a killed writer left open
            handle.write(lines.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        loaded = self._load()
        for row in rows:
            loaded[row.key] = row


def read_rows(path: Path) -> Iterable[CacheRow]:
    """Rows of a cache file; a truncated or damaged line is skipped with a warning naming file and line."""
    with Path(path).open("r", encoding="utf-8", errors="replace") as handle:
        lines = handle.read().split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield CacheRow.from_json(json.loads(line), where)
        except json.JSONDecodeError as error:
            # Only the final segment can lack its newline: that is a write cut short, not a damaged file.
            truncated = number == len(lines)
            reason = "truncated last line (a writer was interrupted)" if truncated else f"not JSON ({error.msg})"
            warnings.warn(f"reasoning cache {where}: {reason}; line skipped", stacklevel=2)
        except ValueError as error:
            warnings.warn(f"reasoning cache {error}; line skipped", stacklevel=2)

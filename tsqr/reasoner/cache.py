"""Never pay twice for a reasoning: an append-only JSONL cache, one file per model, keyed by everything that
decides the text.

Usage:
    cache = ReasoningCache.for_model(identity)          # cache_dir("reasoning")/<model>.jsonl
    key = reasoning_key(identity.name, template, settings, query)
    row = cache.get(key)                                 # CacheRow or None
    cache.append([CacheRow(...), ...])                   # written and flushed at once

This module owns the cache's JSONL format (`CacheRow.from_json`, `parse_line`, `append`); moving reasonings
between a cache and TongSearch's JSON is tsqr.reasonings' job (`export_cache`, `import_into_cache`), the owner
of reasoning files.

The cache is shared by every visitor of a public app, so it is bounded like any upload (tsqr.limits): a line
longer than TSQR_MAX_LINE_MB is skipped without being held in memory, a row is checked field by field and one
whose query or reasoning passes TSQR_MAX_EXAMPLE_QUERY_CHARS / TSQR_MAX_REASONING_CHARS is neither read nor
written (its reasoning is still returned, just not kept), and the shared folder of cache files (never a file
a user keeps elsewhere) is pruned to TSQR_REASONING_CACHE_MB after each append, least recently used model
file first (tsqr.paths.prune_cache, as
BM25 indexes are). Bad rows are skipped with a warning naming file:line and the field, never raised: one bad
row must not make a whole cache unusable.

Appending and flushing after every batch means an evaluation killed by a crash or Ctrl-C resumes where it
stopped. A process killed mid-write leaves at most one truncated last line: reading skips it (with a warning
once it has been left alone for INTERRUPTED_AFTER_S) and the next append starts on a fresh line, so no finished
row is ever damaged. Several processes may append to one file at once: each batch is one O_APPEND write, and
every cache object reads the rows others appended before it reports a miss.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from tsqr.limits import MIB, Limits
from tsqr.paths import cache_dir, check_cache_root, mark_used, prune_cache
from tsqr.reasoner.identity import ModelIdentity
from tsqr.reasoner.prompts import PromptTemplate
from tsqr.reasoner.settings import GenerationSettings

REASONING_FOLDER = "reasoning"  # cache_dir(REASONING_FOLDER): the shared cache, the one folder pruned
# An unterminated last line untouched this long was left by a writer that died; a younger one is being written.
INTERRUPTED_AFTER_S = 10.0


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

    @property
    def reached_token_limit(self) -> bool:
        """True when generation wrote max_new_tokens tokens: it was stopped there, so the text is likely cut (the
        rule an OpenAI server's finish_reason "length" follows; rows of imported reasonings record no count)."""
        limit = self.settings.get("max_new_tokens")
        return isinstance(limit, int) and self.new_tokens > 0 and self.new_tokens >= limit

    @classmethod
    def from_json(cls, data: Any, where: str, limits: Limits | None = None) -> "CacheRow":
        """The row a parsed JSON line holds; ValueError naming `where` and the first field that is missing, of
        the wrong type or past its cap (key, query, text: strings; model, template: strings if present;
        settings: an object of plain values; new_tokens: a whole number >= 0; seconds: a number >= 0)."""
        limits = limits or Limits.from_env()
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
        for name in ("key", "query", "text"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"{where}: field {name!r}: missing or not a string")
        for name in ("model", "template"):
            if not isinstance(data.get(name, ""), str):
                raise ValueError(f"{where}: field {name!r}: expected a string, got {type(data[name]).__name__}")
        settings = data.get("settings") or {}
        if not isinstance(settings, dict) or not all(isinstance(value, (str, int, float, bool, type(None)))
                                                     for value in settings.values()):
            raise ValueError(f"{where}: field 'settings': expected an object of plain values")
        new_tokens, seconds = data.get("new_tokens", 0), data.get("seconds", 0.0)
        if isinstance(new_tokens, bool) or not isinstance(new_tokens, int) or new_tokens < 0:
            raise ValueError(f"{where}: field 'new_tokens': expected a whole number >= 0, got {new_tokens!r:.40}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:
            raise ValueError(f"{where}: field 'seconds': expected a number >= 0, got {seconds!r:.40}")
        row = cls(key=data["key"], query=data["query"], text=data["text"], model=data.get("model", ""),
                  template=data.get("template", ""), settings=settings, new_tokens=new_tokens,
                  seconds=float(seconds))
        if problem := row.over_cap(limits):
            raise ValueError(f"{where}: {problem}")
        return row

    def over_cap(self, limits: Limits) -> str | None:
        """Which field passes its cap ("field 'text': 70,000 characters, more than ..."), or None."""
        for name, cap in (("key", "id_chars"), ("query", "query_chars"), ("text", "reasoning_chars"),
                          ("model", "id_chars"), ("template", "id_chars")):
            value = getattr(self, name)
            if len(value) > getattr(limits, cap):
                return f"field {name!r}: {len(value):,} characters, more than {limits.describe(cap)}"
        return None


class ReasoningCache:
    """Rows of one JSONL file by key, later rows winning, kept in step with the file.

    Several processes may append to one file (two evaluations of one model, the app and the CLI), so a lookup
    that misses reads whatever was appended since the last read before answering, and `len` / `rows` always
    do: a long-lived cache never regenerates a reasoning another process already wrote. Reading stops at the
    last complete line: a line without its newline is a write still in flight (or one a killed writer left),
    not yet a row.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._rows: dict[str, CacheRow] = {}
        self._file: tuple[int, int] | None = None  # (device, inode) of the file read so far
        self._offset = 0  # bytes read, always just after a newline
        self._lines = 0  # complete lines read, for warnings that name a line
        self._reported_tail = -1  # offset whose unterminated tail was already reported as interrupted

    @classmethod
    def for_model(cls, identity: ModelIdentity, folder: Path | None = None) -> "ReasoningCache":
        return cls((folder or cache_dir(REASONING_FOLDER)) / f"{identity.slug}.jsonl")

    @classmethod
    def find(cls, name: str, folder: Path | None = None) -> "ReasoningCache":
        """The cache a user names: a .jsonl path, or a cache's file name (with or without .jsonl) in the cache
        folder; FileNotFoundError lists what was tried and which caches exist."""
        folder = folder or cache_dir(REASONING_FOLDER)
        candidates = [Path(name), folder / name, folder / f"{name}.jsonl"]
        for path in candidates:
            if path.is_file():
                return cls(path)
        known = sorted(path.stem for path in folder.glob("*.jsonl")) if folder.is_dir() else []
        raise FileNotFoundError(f"no reasoning cache {name!r} (tried {', '.join(map(str, candidates))}); "
                                f"caches in {folder}: {', '.join(known) or 'none'}")

    def _refresh(self) -> dict[str, CacheRow]:
        """Read what was appended since the last read (a stat when nothing was); start over when the file was
        replaced or shortened."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._file, self._rows, self._offset, self._lines = None, {}, 0, 0
            return self._rows
        if (stat.st_dev, stat.st_ino) != self._file or stat.st_size < self._offset:
            self._file, self._rows, self._offset, self._lines = (stat.st_dev, stat.st_ino), {}, 0, 0
        if stat.st_size > self._offset:
            limits = Limits.from_env()
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                for line, size in complete_lines(handle, limits.line_bytes):
                    self._lines += 1
                    self._offset += size
                    row = parse_line(line, f"{self.path}:{self._lines}", limits)
                    if row is not None:
                        self._rows[row.key] = row
                tail = handle.read(MIB)
            self._report_interrupted(tail, stat.st_mtime)
        return self._rows

    def _report_interrupted(self, tail: bytes, modified: float) -> None:
        """Warn once about an unterminated last line nobody has touched for INTERRUPTED_AFTER_S: its writer died
        mid-line. A younger one is a write in flight, and saying "interrupted" about it would be false."""
        if tail.strip() and time.time() - modified > INTERRUPTED_AFTER_S and self._reported_tail != self._offset:
            self._reported_tail = self._offset
            warnings.warn(f"reasoning cache {self.path}:{self._lines + 1}: truncated last line (a writer was "
                          "interrupted); line skipped", stacklevel=3)

    def _get_fresh(self, key: str) -> CacheRow | None:
        row = self._rows.get(key)
        row = row if row is not None else self._refresh().get(key)
        if row is not None:
            mark_used(self.path)  # what prune_cache ranks this file by
        return row

    def __len__(self) -> int:
        return len(self._refresh())

    def __contains__(self, key: str) -> bool:
        return self._get_fresh(key) is not None

    def get(self, key: str) -> CacheRow | None:
        return self._get_fresh(key)

    def rows(self) -> list[CacheRow]:
        return list(self._refresh().values())

    def append(self, rows: Sequence[CacheRow]) -> None:
        """Write rows at the end of the file and flush them to disk before returning.

        All rows go out in one write() on a descriptor opened with O_APPEND: the kernel places it at the end of
        the file in one piece, so rows from two processes never interleave within a line.
        """
        limits = Limits.from_env()
        kept = []
        for row in rows:
            if problem := row.over_cap(limits):
                warnings.warn(f"reasoning cache {self.path}: row not cached: {problem}", stacklevel=2)
            else:
                kept.append(row)
        if not kept:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(asdict(row), ensure_ascii=False) + "\n" for row in kept).encode("utf-8")
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only
        descriptor = os.open(self.path, flags, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            if size and os.lseek(descriptor, size - 1, os.SEEK_SET) >= 0 and os.read(descriptor, 1) != b"\n":
                data = b"\n" + data  # close a line a killed writer left open (at worst a blank line)
            written = os.write(descriptor, data)
            while written < len(data):  # only on a full disk or a signal; the rest follows as soon as it can
                written += os.write(descriptor, data[written:])
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self._refresh()
        for row in kept:  # ours are on disk; a row another process wrote after them still wins on the next read
            self._rows.setdefault(row.key, row)
        if self.path.parent.resolve() == (check_cache_root() / REASONING_FOLDER).resolve():
            prune_cache(self.path.parent, limits.reasoning_cache_bytes, is_entry=_is_cache_file)


def _is_cache_file(path: Path) -> bool:
    return path.suffix == ".jsonl" and path.is_file()


def complete_lines(handle: IO[bytes], cap: int) -> Iterator[tuple[bytes | None, int]]:
    """(line, its size in bytes) for each newline-terminated line from the handle's position on; the line is
    None when it is longer than `cap` bytes, which is skipped reading at most `cap` + 1 MiB at a time. Stops
    before an unterminated last line (a write in flight), leaving the handle at its start."""
    while True:
        start = handle.tell()
        raw = handle.readline(cap + 1)
        if raw.endswith(b"\n"):
            yield raw, len(raw)
            continue
        if len(raw) <= cap:  # end of file, or an unterminated last line
            handle.seek(start)
            return
        size = len(raw)
        while not (chunk := handle.readline(MIB)).endswith(b"\n"):
            if not chunk:  # a long line still being written
                handle.seek(start)
                return
            size += len(chunk)
        yield None, size + len(chunk)


def parse_line(line: bytes | None, where: str, limits: Limits) -> CacheRow | None:
    """The row of one complete cache line, or None (with a warning naming `where`, i.e. file:line, and the
    field) for a blank line, one over the line cap (None), one that is not JSON (a line a killed writer left,
    closed by the next append) and one whose fields are wrong or past their caps."""
    if line is None:
        warnings.warn(f"reasoning cache {where}: longer than {limits.describe('line_bytes')}; line skipped",
                      stacklevel=4)
        return None
    text = line.decode("utf-8", errors="replace")
    if not text.strip():
        return None
    try:
        return CacheRow.from_json(json.loads(text), where, limits)
    except json.JSONDecodeError as error:
        warnings.warn(f"reasoning cache {where}: not JSON ({error.msg}); line skipped", stacklevel=4)
    except RecursionError:
        warnings.warn(f"reasoning cache {where}: nested too deeply; line skipped", stacklevel=4)
    except ValueError as error:
        warnings.warn(f"reasoning cache {error}; line skipped", stacklevel=4)
    return None

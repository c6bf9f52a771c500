"""How much tsqr agrees to unpack, read and keep: the caps that make a public upload box safe.

Usage:
    from tsqr.limits import Limits, check_environment, cut_query
    check_environment()                 # at start-up (app and CLI): a bad variable is one line, before any visitor
    limits = Limits.from_env()          # read once per load; every field has a default
    limits.unpacked_bytes               # 1 GiB unless TSQR_MAX_UNPACKED_MB says otherwise
    query, note = cut_query(text, limits.query_chars, limits.variable("query_chars"))

A 3 MB zip can hold 3 GiB of zeros and a 1.5 MB .gz one 2.5 GiB line, so sizes are checked while data streams
(tsqr.bright.bounded), not after. Bytes are not the only cost: a 4.3 MB parquet of 6 M tiny rows became 2.5 GB
of Python objects and minutes of indexing, so rows, ids and text fields are counted too. Every cap is an
environment variable, so a host sets them once for the CLI and the app alike:

    TSQR_MAX_UNPACKED_MB  1024   bytes one file may expand to once decompressed (a .gz, a parquet's declared
                                 column data), and all members of one zip together
    TSQR_MAX_RATIO        200    most decompressed bytes per compressed byte; checked only past the first
                                 MiB, where real text (3-10x) never comes close
    TSQR_MAX_ENTRIES      10000  most members in one zip
    TSQR_MAX_LINE_MB      64     longest line of a JSONL / TSV / qrels file or of a reasoning cache (read at
                                 most this much at a time)
    TSQR_MAX_JSON_MB      256    largest .json document, which is parsed whole (JSONL streams line by line)
    TSQR_MAX_EXAMPLES     10000  most examples (queries) in one domain; BRIGHT's largest has 194
    TSQR_MAX_DOCUMENTS    1000000  most documents in one domain's corpus; BRIGHT's largest (leetcode) has 413,932
    TSQR_MAX_ID_CHARS     512    longest query or document id; BRIGHT's longest is 121 characters. Every search
                                 shows ids, so a 10 MB id would make every result page 10 MB
    TSQR_MAX_EXAMPLE_QUERY_CHARS  32000  longest query of a loaded example; longer ones are cut, as typed
                                 queries are (BRIGHT's longest is 19,341 characters, so BRIGHT is never cut).
                                 Reasoning files' query keys are cut the same way, so they still match
    TSQR_MAX_DOCUMENT_CHARS  10000000  longest document text
    TSQR_MAX_REASONING_CHARS  64000  longest reasoning in a reasoning file or the reasoning cache (TongSearch's
                                 longest is under 3,000)
    TSQR_INDEX_CACHE_MB   2048   on-disk BM25 index cache; least recently used indexes are removed past it
                                 (0 keeps no index on disk)
    TSQR_REASONING_CACHE_MB  1024  on-disk reasoning cache (one file per model); least recently used files go
    TSQR_EMBEDDING_CACHE_MB  4096  on-disk dense-embedding cache; least recently used corpora's vectors go

A value that is not a finite number (counts: a whole number) within its range is an error naming the variable:
a host's typo must not silently lift a cap, and `check_environment` says so when the app or CLI starts rather
than to the first visitor who uploads something.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import NamedTuple

from tsqr.paths import check_cache_root

MIB = 1 << 20
RATIO_GRACE_BYTES = MIB  # small files of repetitive text may compress well: the ratio applies beyond this


class ConfigurationError(ValueError):
    """An environment variable of this host that tsqr cannot use; the message names it."""


class _Cap(NamedTuple):
    variable: str
    default: float
    unit: int  # bytes per unit of the variable (MIB for "_MB" variables), 1 for plain numbers
    whole: bool  # counts must be whole numbers
    minimum: int


_CAPS = {
    "unpacked_bytes": _Cap("TSQR_MAX_UNPACKED_MB", 1024, MIB, False, 0),
    "ratio": _Cap("TSQR_MAX_RATIO", 200, 1, False, 0),
    "entries": _Cap("TSQR_MAX_ENTRIES", 10_000, 1, True, 0),
    "line_bytes": _Cap("TSQR_MAX_LINE_MB", 64, MIB, False, 0),
    "json_bytes": _Cap("TSQR_MAX_JSON_MB", 256, MIB, False, 0),
    "examples": _Cap("TSQR_MAX_EXAMPLES", 10_000, 1, True, 1),
    "documents": _Cap("TSQR_MAX_DOCUMENTS", 1_000_000, 1, True, 1),
    "id_chars": _Cap("TSQR_MAX_ID_CHARS", 512, 1, True, 1),
    "query_chars": _Cap("TSQR_MAX_EXAMPLE_QUERY_CHARS", 32_000, 1, True, 1),
    "document_chars": _Cap("TSQR_MAX_DOCUMENT_CHARS", 10_000_000, 1, True, 1),
    "reasoning_chars": _Cap("TSQR_MAX_REASONING_CHARS", 64_000, 1, True, 1),
    "index_cache_bytes": _Cap("TSQR_INDEX_CACHE_MB", 2048, MIB, False, 0),
    "reasoning_cache_bytes": _Cap("TSQR_REASONING_CACHE_MB", 1024, MIB, False, 0),
    "embedding_cache_bytes": _Cap("TSQR_EMBEDDING_CACHE_MB", 4096, MIB, False, 0),
}


@dataclass(frozen=True)
class Limits:
    """The caps in bytes (or plain counts); `variable(field)` names the environment variable behind each."""

    unpacked_bytes: int = 1024 * MIB
    ratio: float = 200
    entries: int = 10_000
    line_bytes: int = 64 * MIB
    json_bytes: int = 256 * MIB
    examples: int = 10_000
    documents: int = 1_000_000
    id_chars: int = 512
    query_chars: int = 32_000
    document_chars: int = 10_000_000
    reasoning_chars: int = 64_000
    index_cache_bytes: int = 2048 * MIB
    reasoning_cache_bytes: int = 1024 * MIB
    embedding_cache_bytes: int = 4096 * MIB

    @classmethod
    def from_env(cls) -> "Limits":
        """The caps as the environment sets them, defaults elsewhere (MB values may be fractions: 0.5);
        ConfigurationError naming the variable for anything else (words, inf, nan, negatives, 1.5 rows)."""
        return cls(**{field: _read(cap) for field, cap in _CAPS.items()})

    @staticmethod
    def variable(field: str) -> str:
        """The environment variable that sets `field` ("unpacked_bytes" -> "TSQR_MAX_UNPACKED_MB")."""
        return _CAPS[field].variable

    def describe(self, field: str) -> str:
        """A cap as messages quote it: "1024 MB (TSQR_MAX_UNPACKED_MB)", "200 (TSQR_MAX_RATIO)"."""
        value = getattr(self, field)
        unit = _CAPS[field].unit
        shown = f"{value / unit:g} MB" if unit == MIB else (f"{value:,}" if _CAPS[field].whole else f"{value:g}")
        return f"{shown} ({self.variable(field)})"


def _read(cap: _Cap) -> float | int:
    text = os.environ.get(cap.variable, "").strip()
    if not text:
        return cap.default if cap.unit == 1 else int(cap.default * cap.unit)
    expected = f"expected a {'whole ' if cap.whole else ''}number >= {cap.minimum}"
    try:
        number = float(text)
    except ValueError:
        raise ConfigurationError(f"{cap.variable}={text!r}: {expected}") from None
    if not math.isfinite(number) or number < cap.minimum or (cap.whole and not number.is_integer()):
        raise ConfigurationError(f"{cap.variable}={text!r}: {expected}")
    return number if cap.unit == 1 and not cap.whole else int(number * cap.unit)


def check_environment() -> Limits:
    """Every cap variable and the cache location, checked once at start-up (the app's launch, the CLI's main):
    ConfigurationError with one line naming the variable, instead of a failure at a visitor's first upload."""
    limits = Limits.from_env()
    try:
        check_cache_root()
    except NotADirectoryError as error:
        raise ConfigurationError(str(error)) from None
    return limits


def cut_query(query: str, max_chars: int, variable: str) -> tuple[str, str]:
    """(`query` cut to `max_chars` characters, a note saying so naming `variable`, or "" when it was not cut).
    The one cut for every query tsqr searches or reasons about (typed, or from a loaded example), so the CLI and
    the app search, reason about and cache exactly the same text."""
    if len(query) <= max_chars:
        return query, ""
    return query[:max_chars], (f"query cut from {len(query):,} to {max_chars:,} characters ({variable}); the rest "
                               "was neither searched nor reasoned about")

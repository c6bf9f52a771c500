"""How much tsqr agrees to unpack, read and keep: the caps that make a public upload box safe.

Usage:
    from tsqr.limits import Limits
    limits = Limits.from_env()          # read once per load; every field has a default
    limits.unpacked_bytes               # 1 GiB unless TSQR_MAX_UNPACKED_MB says otherwise

A 3 MB zip can hold 3 GiB of zeros and a 1.5 MB .gz one 2.5 GiB line, so sizes are checked while data streams
(tsqr.bright.bounded), not after. Every cap is an environment variable, so a host sets them once for the CLI
and the app alike:

    TSQR_MAX_UNPACKED_MB  1024   bytes one file may expand to once decompressed (a .gz, a parquet's declared
                                 column data), and all members of one zip together
    TSQR_MAX_RATIO        200    most decompressed bytes per compressed byte; checked only past the first
                                 MiB, where real text (3-10x) never comes close
    TSQR_MAX_ENTRIES      10000  most members in one zip
    TSQR_MAX_LINE_MB      64     longest line of a JSONL / TSV / qrels file (read at most this much at a time)
    TSQR_MAX_JSON_MB      256    largest .json document, which is parsed whole (JSONL streams line by line)
    TSQR_INDEX_CACHE_MB   2048   on-disk BM25 index cache; least recently used indexes are removed past it
                                 (0 keeps no index on disk)

A value that is not a number >= 0 is an error naming the variable: a host's typo must not silently lift a cap.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

MIB = 1 << 20
RATIO_GRACE_BYTES = MIB  # small files of repetitive text may compress well: the ratio applies beyond this

_VARIABLES = {  # field -> (environment variable, default, unit in bytes or 1 for plain numbers)
    "unpacked_bytes": ("TSQR_MAX_UNPACKED_MB", 1024, MIB),
    "ratio": ("TSQR_MAX_RATIO", 200, 1),
    "entries": ("TSQR_MAX_ENTRIES", 10_000, 1),
    "line_bytes": ("TSQR_MAX_LINE_MB", 64, MIB),
    "json_bytes": ("TSQR_MAX_JSON_MB", 256, MIB),
    "index_cache_bytes": ("TSQR_INDEX_CACHE_MB", 2048, MIB),
}


@dataclass(frozen=True)
class Limits:
    """The caps in bytes (or plain counts); `variable(field)` names the environment variable behind each."""

    unpacked_bytes: int = 1024 * MIB
    ratio: float = 200
    entries: int = 10_000
    line_bytes: int = 64 * MIB
    json_bytes: int = 256 * MIB
    index_cache_bytes: int = 2048 * MIB

    @classmethod
    def from_env(cls) -> "Limits":
        """The caps as the environment sets them, defaults elsewhere (MB values may be fractions: 0.5)."""
        values = {}
        for field, (variable, default, unit) in _VARIABLES.items():
            text = os.environ.get(variable, "").strip()
            try:
                number = float(text) if text else float(default)
            except ValueError:
                raise ValueError(f"{variable}={text!r}: expected a number >= 0") from None
            if not number >= 0:  # also refuses nan
                raise ValueError(f"{variable}={text!r}: expected a number >= 0")
            values[field] = number if field == "ratio" else int(number * unit)
        return cls(**values)

    @staticmethod
    def variable(field: str) -> str:
        """The environment variable that sets `field` ("unpacked_bytes" -> "TSQR_MAX_UNPACKED_MB")."""
        return _VARIABLES[field][0]

    def describe(self, field: str) -> str:
        """A cap as messages quote it: "1024 MB (TSQR_MAX_UNPACKED_MB)", "200 (TSQR_MAX_RATIO)"."""
        value = getattr(self, field)
        unit = _VARIABLES[field][2]
        shown = f"{value / unit:g} MB" if unit == MIB else f"{value:g}"
        return f"{shown} ({self.variable(field)})"

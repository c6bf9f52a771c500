"""Which domain names tsqr accepts: they become parts of output file names (`<domain>.raw.trec`), so a name a
visitor typed must not be able to climb out of the output folder or hide a file.

Usage:
    name = safe_name(text)        # returns it unchanged, or raises DataError saying the rule
"""
from __future__ import annotations

import re

from tsqr.errors import DataError

MAX_NAME_LENGTH = 64
_SAFE = re.compile(r"[A-Za-z0-9_.-]+")
RULE = (f"use letters, digits, '_', '.' and '-' only, not starting with '.', at most {MAX_NAME_LENGTH} "
        f"characters")


def safe_name(name: str) -> str:
    """`name` itself when it is safe as part of a file name (letters, digits, `_.-`, no leading dot, at most
    64 characters), else a DataError naming the value and the rule."""
    if not isinstance(name, str) or not name:
        raise DataError(f"domain name {name!r}: empty; {RULE}")
    if len(name) > MAX_NAME_LENGTH:
        raise DataError(f"domain name {name[:MAX_NAME_LENGTH]!r}...: {len(name)} characters; {RULE}")
    if not _SAFE.fullmatch(name) or name.startswith("."):
        raise DataError(f"domain name {name!r}: not allowed; {RULE}")
    return name

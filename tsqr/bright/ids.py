"""The rule every id passes where it enters tsqr (examples, documents, gold and excluded ids, topics, qrels,
exclusion lists, reasoning files), so a bad one is refused with its file and row instead of surfacing later.

Usage:
    problem = id_problem(value, limits)                    # None, or why the id is refused
    check_id(value, label, "line 3", "id", limits)         # DataError naming file, row and field

Why these rules: runs end up in TREC files, which cannot hold whitespace and must not hold control characters
(tsqr.trec.id_problem owns that rule); every search shows ids, so a 10 MB id would make every result page
megabytes long (TSQR_MAX_ID_CHARS).
"""
from __future__ import annotations

from tsqr.errors import DataError
from tsqr.limits import Limits
from tsqr.trec import id_problem as trec_id_problem

SHOWN_CHARS = 60  # how much of a refused id a message repeats


def shown(value: str) -> str:
    """An id as messages quote it: repr, cut after SHOWN_CHARS characters."""
    return repr(value) if len(value) <= SHOWN_CHARS else repr(value[:SHOWN_CHARS]) + "..."


def id_problem(value: str, limits: Limits, *, spaces: bool = False) -> str | None:
    """Why `value` cannot be an id (too long, whitespace, an unprintable character), or None. `spaces`: allow
    whitespace (excluded ids are never written to TREC files), still refusing control characters."""
    if len(value) > limits.id_chars:
        return f"is {len(value):,} characters long, more than {limits.describe('id_chars')}"
    return trec_id_problem("".join(value.split()) if spaces else value)


def id_message(where: str, field: str, value: str, problem: str) -> str:
    return f"{where}: field {field!r}: id {shown(value)} {problem}"


def check_id(value: str, label: str, where: str, field: str, limits: Limits, *, spaces: bool = False) -> None:
    """DataError naming the file (`label`), the row (`where`) and the field when `value` breaks the id rules."""
    problem = id_problem(value, limits, spaces=spaces)
    if problem:
        raise DataError(f"{label}: {id_message(where, field, value, problem)}")

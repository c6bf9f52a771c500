"""The error family of input data: one base class every reader raises, so callers catch one type.

BRIGHT files (tsqr.bright), TREC runs and qrels (tsqr.trec) and reasoning files (tsqr.reasonings) all raise
DataError or a subclass; messages name the file, the line or row, and the field at fault.
"""
from __future__ import annotations


class DataError(ValueError):
    """Input data that tsqr cannot use; the message names the file, the row and the field at fault."""

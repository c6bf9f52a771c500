"""The one error type of BRIGHT loading, in a module of its own so every reader can raise it without cycles."""
from __future__ import annotations


class DataError(ValueError):
    """Input data that tsqr cannot use; the message names the file, the row and the field at fault."""

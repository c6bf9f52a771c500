"""Reading files whose size a stranger chose: decompression is counted while it streams and lines are read
with a cap, so a bomb is refused after at most one cap's worth of work, never after filling memory.

Usage:
    for number, line in numbered_lines(path, "upload.jsonl.gz", Limits.from_env()): ...
    text = read_whole_text(path, "reasonings.json", limits)      # a .json document, parsed whole by the caller

Both drop a UTF-8 byte-order mark and report text that is not UTF-8 by line number (an editor's view of the
file), not by a byte offset into a decompressed stream.
"""
from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from tsqr.errors import DataError
from tsqr.limits import MIB, RATIO_GRACE_BYTES, Limits

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = MIB
READ_ERRORS = (OSError, EOFError, zlib.error)  # gzip raises all three for broken or truncated data


def cannot_read(label: str, error: BaseException) -> DataError:
    """The DataError for a file that cannot be opened or read (no permission, a folder, broken gzip data). It
    names the file by `label` and gives the system's reason without the path, which for an upload is a
    temporary file on the server that a visitor must not learn."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return DataError(f"{label}: cannot be read ({reason})")


def read_start(path: Path, size: int, label: str) -> bytes:
    """The first `size` bytes of a file as stored (no decompression), or DataError naming `label`."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise cannot_read(label, error) from None


def is_gzipped(path: Path, label: str | None = None) -> bool:
    return read_start(path, 2, label or str(path)) == GZIP_MAGIC


class Bounded:
    """A file's bytes (gunzipped when its first bytes say gzip, whatever its name says), counted as they are
    handed out: past `limits.unpacked_bytes`, or past `limits.ratio` times the compressed size, it raises a
    DataError naming the file and the cap. Plain files are not counted: nothing in them expands."""

    def __init__(self, path: Path, label: str, limits: Limits) -> None:
        self.label = label
        self.limits = limits
        self.gzipped = is_gzipped(path, label)
        self.produced = 0
        try:
            self.compressed_size = path.stat().st_size
            self._handle: IO[bytes] = gzip.open(path, "rb") if self.gzipped else path.open("rb")
        except OSError as error:
            raise cannot_read(label, error) from None

    def __enter__(self) -> "Bounded":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._handle.close()

    def _count(self, data: bytes) -> bytes:
        if not self.gzipped:
            return data
        self.produced += len(data)
        if self.produced > self.limits.unpacked_bytes:
            raise DataError(f"{self.label}: expands to more than {self.limits.describe('unpacked_bytes')} once "
                            f"decompressed: refused")
        if self.produced > RATIO_GRACE_BYTES and self.produced > self.limits.ratio * self.compressed_size:
            raise DataError(f"{self.label}: decompresses to more than {self.limits.describe('ratio')} times its "
                            f"{self.compressed_size} compressed bytes: refused as a decompression bomb")
        return data

    def read(self, size: int) -> bytes:
        """At most `size` bytes (fewer only at the end)."""
        try:
            return self._count(self._handle.read(size))
        except READ_ERRORS as error:
            raise cannot_read(self.label, error) from None

    def readline(self, size: int) -> bytes:
        """One line with its newline, or its first `size` bytes when it is longer."""
        try:
            return self._count(self._handle.readline(size))
        except READ_ERRORS as error:
            raise cannot_read(self.label, error) from None


def _decode(data: bytes | bytearray, label: str, start_line: int = 1) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = start_line + data.count(b"\n", 0, error.start)
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise DataError(f"{label}: line {line}: not UTF-8 text (byte 0x{data[error.start]:02x} at byte {column} "
                        f"of the line); save the file as UTF-8") from None


def numbered_lines(path: Path, label: str, limits: Limits) -> Iterator[tuple[int, str]]:
    """(line number, line without its line ending) for every line, blank ones included; a line longer than
    `limits.line_bytes` is refused without reading more of it than the cap."""
    with Bounded(path, label, limits) as stream:
        number = 0
        while raw := stream.readline(limits.line_bytes + 1):
            number += 1
            if len(raw) > limits.line_bytes and not raw.endswith(b"\n"):
                raise DataError(f"{label}: line {number}: longer than {limits.describe('line_bytes')}: refused")
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            yield number, _decode(raw, label, number).rstrip("\r\n")


def read_head(path: Path, size: int, limits: Limits) -> str:
    """The first `size` bytes as text (a broken last character dropped): enough to sniff a format."""
    with Bounded(path, str(path), limits) as stream:
        data = stream.read(size)
    return data.decode("utf-8", errors="ignore").lstrip("\ufeff")


def read_whole_bytes(path: Path, label: str, limits: Limits, cap: int, cap_field: str) -> bytearray:
    """All of a file's (decompressed) bytes, refused once they pass `cap` (the `limits` field `cap_field`)."""
    data = bytearray()
    with Bounded(path, label, limits) as stream:
        while chunk := stream.read(min(CHUNK, cap + 1 - len(data))):
            data += chunk
            if len(data) > cap:
                raise DataError(f"{label}: larger than {limits.describe(cap_field)}: refused")
    return data


def read_whole_text(path: Path, label: str, limits: Limits) -> str:
    """A whole text file up to `limits.json_bytes` (a .json document must be parsed whole), BOM dropped."""
    data = read_whole_bytes(path, label, limits, limits.json_bytes, "json_bytes")
    if data.startswith(codecs.BOM_UTF8):
        del data[:len(codecs.BOM_UTF8)]
    return _decode(data, label)

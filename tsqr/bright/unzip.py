"""Unpacking an uploaded zip without trusting it: member count, declared sizes and the bytes actually
written are all capped (tsqr.limits), member names cannot leave the target folder, and a refused archive
leaves nothing behind.

Usage:
    root = unpack_zip(Path("upload.zip"), scratch / "source")   # the folder holding the zip's content

Declared sizes alone are not enough (an archive's headers are the attacker's to write), so every member is
streamed and counted too, and a write that would pass a cap is never made. Messages name the archive by its
label and members by their names in the archive, never the server folder they are unpacked into.
"""
from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path

from tsqr.bright.bounded import cannot_read
from tsqr.errors import DataError
from tsqr.limits import MIB, RATIO_GRACE_BYTES, Limits
from tsqr.paths import UnsafePathError, inside

_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError)


def _check_declared(members: list[zipfile.ZipInfo], archive_size: int, label: str, limits: Limits) -> None:
    """Refuse before writing anything when the archive's own headers already pass a cap."""
    if len(members) > limits.entries:
        raise DataError(f"{label}: {len(members)} members, more than {limits.describe('entries')}: refused")
    declared = sum(member.file_size for member in members)
    if declared > limits.unpacked_bytes:
        raise DataError(f"{label}: declares {declared / MIB:.0f} MB once unpacked, more than "
                        f"{limits.describe('unpacked_bytes')}: refused")
    if declared > RATIO_GRACE_BYTES and declared > limits.ratio * archive_size:
        raise DataError(f"{label}: declares {declared / max(archive_size, 1):.0f} times its own size once "
                        f"unpacked, more than {limits.describe('ratio')}: refused as a decompression bomb")


def _member_target(into: Path, name: str, label: str) -> Path:
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise DataError(f"{label}: member {name!r} points outside the archive: refused")
    try:
        return inside(into, "/".join(parts))
    except UnsafePathError:
        raise DataError(f"{label}: member {name!r} points outside the archive: refused") from None


class _Budget:
    """Bytes written so far, against the archive-wide cap and each member's ratio."""

    def __init__(self, archive_size: int, label: str, limits: Limits) -> None:
        self.archive_size, self.label, self.limits = archive_size, label, limits
        self.total = 0

    def allow(self, member: zipfile.ZipInfo, member_written: int, size: int) -> None:
        """Raise before `size` more bytes of `member` (already `member_written`) would pass a cap."""
        total, mine = self.total + size, member_written + size
        if total > self.limits.unpacked_bytes:
            raise DataError(f"{self.label}: unpacks to more than {self.limits.describe('unpacked_bytes')}: "
                            f"refused")
        over_member = mine > self.limits.ratio * max(member.compress_size, 1)
        over_archive = total > self.limits.ratio * self.archive_size
        if total > RATIO_GRACE_BYTES and (over_member or over_archive):
            raise DataError(f"{self.label}: member {member.filename!r} unpacks to more than "
                            f"{self.limits.describe('ratio')} times its compressed size: refused as a "
                            f"decompression bomb")
        self.total = total


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], into: Path, budget: _Budget) -> None:
    for member in members:
        target = _member_target(into, member.filename, budget.label)
        try:
            _extract_member(archive, member, target, budget)
        except OSError as error:  # e.g. "sub/x" after a file "sub": the system's message quotes the server path
            reason = error.strerror or type(error).__name__
            if isinstance(error, (FileExistsError, NotADirectoryError, IsADirectoryError)):
                reason = "the archive holds a file and a folder of the same name"
            raise DataError(f"{budget.label}: member {member.filename!r} cannot be unpacked ({reason})") from None


def _extract_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: _Budget) -> None:
    if member.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(member) as source, target.open("wb") as sink:
        while chunk := source.read(MIB):
            budget.allow(member, written, len(chunk))
            sink.write(chunk)
            written += len(chunk)


def unpack_zip(path: Path, into: Path, label: str | None = None, limits: Limits | None = None) -> Path:
    """Extract a zip into `into` (a new folder: it is removed again if the archive is refused) and return the
    folder that holds its content (a lone top folder is entered)."""
    label = label or str(path)
    limits = limits or Limits.from_env()
    try:
        archive = zipfile.ZipFile(path)
    except PermissionError as error:
        raise cannot_read(label, error) from None
    except _ZIP_ERRORS as error:
        raise DataError(f"{label}: not a readable zip archive ({error})") from None
    with archive:
        members = archive.infolist()
        archive_size = path.stat().st_size
        _check_declared(members, archive_size, label, limits)
        into.mkdir(parents=True, exist_ok=True)
        try:
            _extract(archive, members, into, _Budget(archive_size, label, limits))
        except BaseException as error:  # whatever stopped it, leave no partial output
            shutil.rmtree(into, ignore_errors=True)
            if isinstance(error, _ZIP_ERRORS):
                raise DataError(f"{label}: not a readable zip archive ({error})") from None
            raise
    entries = [p for p in into.iterdir() if p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into

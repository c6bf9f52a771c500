"""Decompression bombs of the sizes seen in the wild, built in seconds without ever holding their content, and
what tsqr's loaders do with them: the peak memory (VmHWM) of a fresh process and the bytes it wrote.

Usage: python bench/bombs.py        (about 15 s; builds in a temporary folder, removes it afterwards)

The builders are also what tests/test_bright_bombs.py and the app's live tests use. A bomb's deflate stream is
written as one block per repeated chunk: after a full flush the compressor starts afresh, so every repeat of
the chunk compresses to the same bytes and a 3 GB member costs 3 MB to write. CRCs and sizes are the real
ones, so each file is a valid archive that really expands to that size.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere
MIB = 1 << 20


class Member(NamedTuple):
    """Content prefix + chunk * repeats + suffix, never materialised."""

    name: str
    prefix: bytes = b""
    chunk: bytes = b""
    repeats: int = 0
    suffix: bytes = b""

    @property
    def size(self) -> int:
        return len(self.prefix) + len(self.chunk) * self.repeats + len(self.suffix)

    def crc(self) -> int:
        crc = zlib.crc32(self.prefix)
        for _ in range(self.repeats):
            crc = zlib.crc32(self.chunk, crc)
        return zlib.crc32(self.suffix, crc) & 0xFFFFFFFF

    def deflated(self) -> tuple[bytes, bytes, bytes]:
        """(head, block, tail) of a raw deflate stream: head + block * repeats + tail."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = compressor.compress(self.prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
        block = compressor.compress(self.chunk) + compressor.flush(zlib.Z_FULL_FLUSH) if self.repeats else b""
        tail = compressor.compress(self.suffix) + compressor.flush()
        return head, block, tail


def _write_deflated(handle, member: Member) -> int:
    head, block, tail = member.deflated()
    handle.write(head)
    for _ in range(member.repeats):
        handle.write(block)
    handle.write(tail)
    return len(head) + len(block) * member.repeats + len(tail)


def gzip_bomb(path: Path, member: Member) -> Path:
    """A gzip file whose content is `member` (its name is ignored)."""
    with path.open("wb") as handle:
        handle.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
        _write_deflated(handle, member)
        handle.write(struct.pack("<II", member.crc(), member.size & 0xFFFFFFFF))
    return path


def zip_bomb(path: Path, members: list[Member], *, declared_sizes: list[int] | None = None) -> Path:
    """A zip of deflated members (each under 4 GiB: no zip64). `declared_sizes` makes the headers lie about the
    uncompressed sizes, as a hostile archive may."""
    central = b""
    with path.open("wb") as handle:
        for index, member in enumerate(members):
            name, crc = member.name.encode(), member.crc()
            size = declared_sizes[index] if declared_sizes else member.size
            offset = handle.tell()
            handle.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, 0, size, len(name), 0))
            handle.write(name)
            compressed = _write_deflated(handle, member)
            end = handle.tell()
            handle.seek(offset + 18)
            handle.write(struct.pack("<I", compressed))
            handle.seek(end)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, compressed, size,
                                   len(name), 0, 0, 0, 0, 0o100644 << 16, offset) + name
        start = handle.tell()
        handle.write(central)
        handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0))
    return path


class Measured(NamedTuple):
    """What one load did in a fresh process: its outcome (the error line, or "loaded"), its peak resident
    memory before and after the load, and the bytes it passed to write() during the load."""

    outcome: str
    baseline_mb: float
    peak_mb: float
    written_mb: float


_HARNESS = """
import json, sys
def wchar():
    return int(next(l for l in open('/proc/self/io') if l.startswith('wchar')).split()[1])
def hwm():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024
exec(sys.argv[1])
baseline, start = hwm(), wchar()
try:
    exec(sys.argv[2])
    outcome = 'loaded'
except Exception as error:
    outcome = f'{type(error).__name__}: {error}'
written = wchar() - start
print(json.dumps([outcome, baseline, hwm(), written / 1048576]))
"""


def measure(code: str, setup: str = "import tsqr.bright", env: dict[str, str] | None = None) -> Measured:
    """Run `code` (after `setup`, which is not measured) in a fresh Python and report what it cost (Linux)."""
    result = subprocess.run([sys.executable, "-c", _HARNESS, setup, code], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, **(env or {})}, timeout=300)
    if result.returncode:
        raise RuntimeError(f"measuring process failed: {result.stderr.strip()[-2000:]}")
    return Measured(*json.loads(result.stdout.strip().splitlines()[-1]))


def issue_bombs(folder: Path) -> dict[str, tuple[Path, str]]:
    """The bombs of issue 9 at full size: (file, the loader call that met it)."""
    line = Member("docs.jsonl", b'{"id": "d1", "content": "', b"a" * MIB, 2560, b'"}\n')  # one 2.5 GiB line
    zeros = Member("biology/documents.jsonl", chunk=bytes(MIB), repeats=3000)  # 3 GiB (2.9 GiB) of zeros
    return {
        "zip of 3 GB of zeros (load_domain)": (zip_bomb(folder / "zeros.zip", [zeros]), "load_domain"),
        "zip holding one 2.5 GiB line (load_domain)": (zip_bomb(folder / "line.zip", [line]), "load_domain"),
        "gz holding one 2.5 GiB line (load_documents, the Search tab)": (
            gzip_bomb(folder / "docs.jsonl.gz", line), "load_documents"),
    }


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tsqr-bombs-") as scratch:
        for title, (path, loader) in issue_bombs(Path(scratch)).items():
            call = (f"from tsqr.bright import {loader}; from pathlib import Path; "
                    f"{loader}([Path({str(path)!r})], 'biology', progress=False)")
            measured = measure(call)
            print(f"{title}: {path.stat().st_size / MIB:.1f} MB file -> peak RSS {measured.peak_mb:.0f} MB "
                  f"(baseline {measured.baseline_mb:.0f} MB), {measured.written_mb:.1f} MB written\n"
                  f"    {measured.outcome}")


if __name__ == "__main__":
    main()

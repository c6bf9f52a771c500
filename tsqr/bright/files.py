"""Reading the files BRIGHT data arrives in, with errors a user can act on.

Users bring BRIGHT (or corpora shaped like it) as parquet, JSONL or JSON, each maybe gzipped, as zips of the
hub's folder layout, or as Anserini's topics TSVs and TREC qrels. Every reader here turns its file into plain rows
and turns every parser failure (pyarrow, json, gzip, zip) into a `DataError` that names the file and, where there
is one, the line: a user uploading a broken file should read what is wrong with it, not a library's stack trace.
"""
from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

TABLE_FORMATS = ("parquet", "jsonl", "json")
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"


class DataError(ValueError):
    """Input data that tsqr cannot use; the message names the file, the row and the field at fault."""


@dataclass
class Table:
    """Rows read from one file. `label` is how the file is named in messages; `unit` is "line" for JSONL (so
    positions match an editor's line numbers, blank lines included, via `numbers`) and "row" (1-based) otherwise."""

    label: str
    rows: list[dict[str, Any]]
    unit: str = "row"
    numbers: list[int] | None = None

    @property
    def columns(self) -> set[str]:
        """Every field the first rows have (JSON rows need not all share the same keys)."""
        names: set[str] = set()
        for row in self.rows[:1000]:
            names.update(row)
        return names

    def where(self, index: int) -> str:
        """The position of row `index` as a user would find it in the file: "line 12" or "row 3"."""
        return f"{self.unit} {self.numbers[index] if self.numbers else index + 1}"


def _head(path: Path, size: int = 4) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def is_gzipped(path: Path) -> bool:
    return _head(path, 2) == _GZIP_MAGIC


def _base_name(path: Path) -> str:
    """The lower-case file name without a trailing .gz: what says which format lies inside."""
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def detect_format(path: Path) -> str:
    """One of parquet, jsonl, json, zip, tsv (Anserini topics), qrels, exclusions; by name first, then by the
    file's first bytes (the app may hand over uploads under temporary names)."""
    name = _base_name(path)
    for suffix, kind in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"),
                         (".zip", "zip"), (".tsv", "tsv")):
        if name.endswith(suffix):
            return kind
    if name.startswith("exclude") and name.endswith(".txt"):
        return "exclusions"
    if name.startswith("qrels") or name.endswith(".qrels"):
        return "qrels"
    head = _head(path)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    try:
        with open_text(path) as handle:
            start = handle.read(1024).lstrip()
    except (UnicodeDecodeError, OSError, EOFError):
        start = ""
    if start.startswith("["):
        return "json"
    if start.startswith("{"):
        return "jsonl"
    first = _fields(start.splitlines()[0]) if start else []
    if len(first) == 4 and first[3].strip().lstrip("-").isdigit():
        return "qrels"
    raise DataError(f"{path}: unrecognised file type: expected parquet, jsonl, json (optionally .gz), zip, "
                    f"an Anserini topics .tsv or a TREC qrels .txt")


def open_text(path: Path) -> IO[str]:
    """Open a text file, gunzipping it when its first bytes say it is gzip (whatever its name says)."""
    if is_gzipped(path):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _read_parquet(path: Path, label: str) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if is_gzipped(path):
            with gzip.open(path, "rb") as handle:
                table = pq.read_table(pa.BufferReader(handle.read()))
        else:
            table = pq.read_table(path)
    except (pa.ArrowException, OSError, EOFError) as error:
        raise DataError(f"{label}: not a readable parquet file ({error})") from None
    return Table(label, table.to_pylist())


def _json_lines(handle: IO[str], label: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{label}: line {number}: not valid JSON ({error.msg} at column {error.colno})") from None


def _read_jsonl(path: Path, label: str) -> Table:
    rows = []
    numbers = []
    try:
        with open_text(path) as handle:
            for number, row in _json_lines(handle, label):
                if not isinstance(row, dict):
                    raise DataError(f"{label}: line {number}: expected a JSON object, got {type(row).__name__}")
                rows.append(row)
                numbers.append(number)
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"{label}: cannot be read as UTF-8 JSON lines ({error})") from None
    return Table(label, rows, unit="line", numbers=numbers)


def read_json_value(path: Path, label: str) -> Any:
    """The parsed content of a .json[.gz] file (any JSON value), errors named after the file."""
    try:
        with open_text(path) as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise DataError(f"{label}: line {error.lineno}: not valid JSON ({error.msg})") from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"{label}: cannot be read as UTF-8 JSON ({error})") from None


def _read_json(path: Path, label: str) -> Table:
    try:
        value = read_json_value(path, label)
    except DataError as error:
        if "Extra data" in str(error):  # one object per line under a .json name: read it as JSONL
            return _read_jsonl(path, label)
        raise
    if not isinstance(value, list):
        raise DataError(f"{label}: expected a JSON list of records, got a JSON {type(value).__name__}")
    for index, row in enumerate(value):
        if not isinstance(row, dict):
            raise DataError(f"{label}: row {index + 1}: expected a JSON object, got {type(row).__name__}")
    return Table(label, value)


_TABLE_READERS: dict[str, Callable[[Path, str], Table]] = {
    "parquet": _read_parquet, "jsonl": _read_jsonl, "json": _read_json,
}


def require_file(path: Path, label: str | None = None) -> None:
    if not path.is_file():
        raise DataError(f"{label or path}: file not found")


def read_table(path: Path, label: str | None = None, kind: str | None = None) -> Table:
    """Rows of a parquet / JSONL / JSON-list file (each maybe gzipped); `label` names it in messages."""
    label = label or str(path)
    require_file(path, label)
    kind = kind or detect_format(path)
    if kind not in _TABLE_READERS:
        raise DataError(f"{label}: expected a parquet, jsonl or json file, got {kind}")
    return _TABLE_READERS[kind](path, label)


def _text_lines(path: Path, label: str) -> Iterator[tuple[int, str]]:
    require_file(path, label)
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield number, line
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"{label}: cannot be read as UTF-8 text ({error})") from None


def _fields(line: str) -> list[str]:
    """Tab-separated when the line has tabs (ids with spaces survive), else whitespace-separated."""
    return line.split("\t") if "\t" in line else line.split()


def read_topics_tsv(path: Path, label: str | None = None) -> list[tuple[str, str, int]]:
    """Anserini topics: (query id, query text, line number) from "id<TAB>query" lines."""
    label = label or str(path)
    topics = []
    for number, line in _text_lines(path, label):
        qid, tab, query = line.partition("\t")
        if not tab:
            raise DataError(f"{label}: line {number}: expected 'query id<TAB>query text', found no tab")
        if not query.strip():
            raise DataError(f"{label}: line {number}: field 'query': empty query for id {qid.strip()!r}")
        topics.append((qid.strip(), query, number))
    return topics


def read_qrels(path: Path, label: str | None = None) -> dict[str, list[str]]:
    """Relevant document ids per query, in file order, from TREC qrels ("qid iteration docid relevance");
    judgements with relevance <= 0 are not relevant and are left out, as trec_eval does for binary measures."""
    label = label or str(path)
    relevant: dict[str, list[str]] = {}
    for number, line in _text_lines(path, label):
        parts = _fields(line)
        if len(parts) != 4:
            raise DataError(f"{label}: line {number}: expected 4 fields 'qid 0 docid relevance', got {len(parts)}")
        qid, _, doc_id, grade = (part.strip() for part in parts)
        try:
            relevance = int(grade)
        except ValueError:
            raise DataError(f"{label}: line {number}: field 'relevance': {grade!r} is not an integer") from None
        docs = relevant.setdefault(qid, [])
        if relevance > 0 and doc_id not in docs:
            docs.append(doc_id)
    return relevant


def read_exclusions(path: Path, label: str | None = None) -> dict[str, list[str]]:
    """Excluded document ids per query from Anserini's "qid docid" exclusion lists."""
    label = label or str(path)
    excluded: dict[str, list[str]] = {}
    for number, line in _text_lines(path, label):
        parts = _fields(line)
        if len(parts) != 2:
            raise DataError(f"{label}: line {number}: expected 2 fields 'qid docid', got {len(parts)}")
        excluded.setdefault(parts[0].strip(), []).append(parts[1].strip())
    return excluded


def unpack_zip(path: Path, into: Path, label: str | None = None) -> Path:
    """Extract a zip into `into` and return the folder that holds its content (a lone top folder is entered)."""
    label = label or str(path)
    into.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(into)  # zipfile drops absolute parts and "..", so members stay inside `into`
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{label}: not a readable zip archive ({error})") from None
    entries = [p for p in into.iterdir() if p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


def data_files(folder: Path) -> list[Path]:
    """The files of a folder (not its subfolders) that tsqr can read, in name order; hidden files skipped."""
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            detect_format(path)
        except DataError:
            continue
        found.append(path)
    return found

"""Reading the files BRIGHT data arrives in, with errors a user can act on.

Users bring BRIGHT (or corpora shaped like it) as parquet, JSONL or JSON, each maybe gzipped, as zips of the
hub's folder layout, or as Anserini's topics TSVs and TREC qrels. Every reader here turns its file into plain rows
and turns every parser failure (pyarrow, json, gzip, zip) into a `DataError` that names the file and, where there
is one, the line: a user uploading a broken file should read what is wrong with it, not a library's stack trace.
Every read goes through tsqr.bright.bounded, so the caps of tsqr.limits hold for uploads (decompression bombs,
endless lines, JSON nested past Python's recursion limit are refused by name). Rows are counted as they are
read (`max_rows`): a parquet file whose metadata declares too many is refused before a row is decoded, JSONL and
JSON as soon as the count passes, because every row costs hundreds of bytes of Python objects however few bytes
it takes on disk.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsqr.bright.bounded import (
    cannot_read,
    is_gzipped,
    numbered_lines,
    read_head,
    read_start,
    read_whole_bytes,
    read_whole_text,
)
from tsqr.bright.ids import check_id, id_problem, shown
from tsqr.errors import DataError
from tsqr.limits import MIB, RATIO_GRACE_BYTES, Limits
from tsqr.trec import parse_qrels_lines

TABLE_FORMATS = ("parquet", "jsonl", "json")
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_PARQUET_BATCH_ROWS = 1024
_TOO_DEEP = "nested too deeply for Python's JSON parser (more than about 1000 levels)"


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
    head = read_start(path, 4, str(path))
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    try:
        start = read_head(path, 1024, Limits.from_env()).lstrip()
    except DataError:
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


def _check_parquet_size(metadata: Any, stored: int, label: str, limits: Limits) -> None:
    """Refuse a parquet file whose own metadata declares more column data than the caps allow."""
    declared = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        columns = sum(row_group.column(c).total_uncompressed_size for c in range(row_group.num_columns))
        declared += max(row_group.total_byte_size, columns)
    if declared > limits.unpacked_bytes:
        raise DataError(f"{label}: declares {declared / MIB:.0f} MB of column data, more than "
                        f"{limits.describe('unpacked_bytes')}: refused")
    if declared > RATIO_GRACE_BYTES and declared > limits.ratio * stored:
        raise DataError(f"{label}: declares {declared / max(stored, 1):.0f} times its own size of column data, "
                        f"more than {limits.describe('ratio')}: refused as a decompression bomb")


def _decoded_bytes(batch: Any) -> int:
    """What a batch of rows takes once its dictionary-encoded columns are expanded, as `to_pylist` will."""
    import pyarrow as pa

    return sum((column.dictionary_decode() if pa.types.is_dictionary(column.type) else column).nbytes
               for column in batch.columns)


def max_rows(limits: Limits) -> int:
    """The most rows one file may hold: a domain's examples or its corpus, whichever cap is larger."""
    return max(limits.examples, limits.documents)


def too_many_rows(label: str, limits: Limits) -> DataError:
    return DataError(f"{label}: more than {max_rows(limits):,} rows: refused (a domain holds at most "
                     f"{limits.describe('documents')} documents and {limits.describe('examples')} examples)")


def _read_parquet(path: Path, label: str) -> Table:
    """In batches of rows, after the metadata's row count and sizes pass the caps; what is decoded is counted
    too (rows, and bytes against the size and the ratio caps), so a file whose metadata lies, or whose
    dictionary encoding turns a few stored bytes into gigabytes of strings, is stopped within one batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    limits = Limits.from_env()
    rows: list[dict[str, Any]] = []
    try:
        if is_gzipped(path, label):
            data = read_whole_bytes(path, label, limits, limits.unpacked_bytes, "unpacked_bytes")
            source, stored = pa.BufferReader(pa.py_buffer(data)), path.stat().st_size
        else:
            source, stored = path, path.stat().st_size
        with pq.ParquetFile(source) as parquet:
            if parquet.metadata.num_rows > max_rows(limits):
                raise too_many_rows(label, limits)
            _check_parquet_size(parquet.metadata, stored, label, limits)
            decoded = 0
            for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                if len(rows) + batch.num_rows > max_rows(limits):
                    raise too_many_rows(label, limits)
                decoded += _decoded_bytes(batch)
                if decoded > limits.unpacked_bytes:
                    raise DataError(f"{label}: decodes to more than {limits.describe('unpacked_bytes')}: refused")
                if decoded > RATIO_GRACE_BYTES and decoded > limits.ratio * stored:
                    raise DataError(f"{label}: decodes to more than {limits.describe('ratio')} times its "
                                    f"{stored} stored bytes: refused as a decompression bomb")
                rows.extend(batch.to_pylist())
    except PermissionError as error:
        raise cannot_read(label, error) from None
    except (pa.ArrowException, OSError, EOFError) as error:
        raise DataError(f"{label}: not a readable parquet file ({_without_path(str(error), path)})") from None
    return Table(label, rows)


def _without_path(message: str, path: Path) -> str:
    """A library's message with the file's server path taken out (pyarrow quotes it)."""
    return message.replace(str(path), path.name)


class _ObjectCounter:
    """An object_hook that refuses a JSON document once it has decoded more objects than `most`: the count
    stops a list of millions of tiny rows while it is parsed, not after it filled memory."""

    def __init__(self, most: int, label: str, limits: Limits) -> None:
        self.left, self.label, self.limits = most, label, limits

    def __call__(self, value: dict) -> dict:
        self.left -= 1
        if self.left < 0:
            raise too_many_rows(self.label, self.limits)
        return value


def _parse_json(text: str, label: str, line: int | None = None, object_hook: Callable | None = None) -> Any:
    """json.loads with errors that name the file and line; JSON nested past the recursion limit included."""
    where = f"line {line}" if line is not None else ""
    try:
        return json.loads(text, object_hook=object_hook)
    except json.JSONDecodeError as error:
        at = where or f"line {error.lineno}"
        column = f" at column {error.colno}" if line is not None else ""
        raise DataError(f"{label}: {at}: not valid JSON ({error.msg}{column})") from None
    except RecursionError:
        raise DataError(f"{label}: {where + ': ' if where else ''}{_TOO_DEEP}") from None


def _read_jsonl(path: Path, label: str) -> Table:
    limits = Limits.from_env()
    rows = []
    numbers = []
    for number, line in numbered_lines(path, label, limits):
        if not line.strip():
            continue
        row = _parse_json(line, label, number)
        if not isinstance(row, dict):
            raise DataError(f"{label}: line {number}: expected a JSON object, got {type(row).__name__}")
        if len(rows) == max_rows(limits):
            raise too_many_rows(label, limits)
        rows.append(row)
        numbers.append(number)
    return Table(label, rows, unit="line", numbers=numbers)


def read_json_value(path: Path, label: str, max_objects: int | None = None) -> Any:
    """The parsed content of a .json[.gz] file (any JSON value), errors named after the file; bounded by
    TSQR_MAX_JSON_MB since a JSON document is parsed whole, and by `max_objects` JSON objects when given."""
    limits = Limits.from_env()
    hook = None if max_objects is None else _ObjectCounter(max_objects, label, limits)
    return _parse_json(read_whole_text(path, label, limits), label, object_hook=hook)


def _read_json(path: Path, label: str) -> Table:
    try:
        value = read_json_value(path, label, max_rows(Limits.from_env()))
    except DataError as error:
        if "Extra data" in str(error):  # one object per line under a .json name: read it as JSONL
            return _read_jsonl(path, label)
        raise
    if not isinstance(value, list):
        raise DataError(f"{label}: expected a JSON list of records, got a JSON {type(value).__name__}")
    if len(value) > max_rows(Limits.from_env()):
        raise too_many_rows(label, Limits.from_env())
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
    read_start(path, 0, label or str(path))  # opens it: an unreadable file is one line naming it, here


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
    for number, line in numbered_lines(path, label, Limits.from_env()):
        if line.strip():
            yield number, line


def _fields(line: str) -> list[str]:
    """Tab-separated when the line has tabs (ids with spaces survive), else whitespace-separated."""
    return line.split("\t") if "\t" in line else line.split()


def read_topics_tsv(path: Path, label: str | None = None) -> list[tuple[str, str, int]]:
    """Anserini topics: (query id, query text, line number) from "id<TAB>query" lines."""
    label = label or str(path)
    limits = Limits.from_env()
    topics = []
    for number, line in _text_lines(path, label):
        qid, tab, query = line.partition("\t")
        if not tab:
            raise DataError(f"{label}: line {number}: expected 'query id<TAB>query text', found no tab")
        if not query.strip():
            raise DataError(f"{label}: line {number}: field 'query': empty query for id {qid.strip()!r}")
        check_id(qid.strip(), label, f"line {number}", "id", limits)
        if len(topics) == limits.examples:
            raise DataError(f"{label}: more than {limits.describe('examples')} topics: refused")
        topics.append((qid.strip(), query, number))
    return topics


def read_qrels(path: Path, label: str | None = None) -> dict[str, list[str]]:
    """Relevant document ids per query, in file order, from TREC qrels ("qid iteration docid relevance");
    judgements with relevance <= 0 are not relevant and are left out, as trec_eval does for binary measures."""
    label = label or str(path)
    judged = parse_qrels_lines(_text_lines(path, label), label)  # tsqr.trec's parser on size-capped lines
    limits = Limits.from_env()
    for qid, documents in judged.items():
        for field, value in (("qid", qid), *(("docid", doc_id) for doc_id in documents)):
            if problem := id_problem(value, limits):
                raise DataError(f"{label}: query {shown(qid)}: field {field!r}: id {shown(value)} {problem}")
    return {qid: [doc_id for doc_id, relevance in documents.items() if relevance > 0]
            for qid, documents in judged.items()}


def read_exclusions(path: Path, label: str | None = None) -> dict[str, list[str]]:
    """Excluded document ids per query from Anserini's "qid docid" exclusion lists."""
    label = label or str(path)
    limits = Limits.from_env()
    excluded: dict[str, list[str]] = {}
    for number, line in _text_lines(path, label):
        parts = [part.strip() for part in _fields(line)]
        if len(parts) != 2:
            raise DataError(f"{label}: line {number}: expected 2 fields 'qid docid', got {len(parts)}")
        for field, value in zip(("qid", "docid"), parts):
            check_id(value, label, f"line {number}", field, limits, spaces=True)
        excluded.setdefault(parts[0], []).append(parts[1])
    return excluded


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

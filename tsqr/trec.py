"""Read and write TREC run files and qrels, the plain-text formats trec_eval, Anserini and BRIGHT's tools share.

A run line is `qid Q0 docid rank score tag`; a qrels line is `qid iteration docid relevance`. Fields are
separated by any whitespace, blank lines are skipped, and files ending in `.gz` are (de)compressed on the fly.
Anything malformed raises `TrecFormatError` naming the file, the line and the field, so a user who uploads a
broken file learns what to fix instead of reading a stack trace. Ids hold no whitespace (it separates the
fields) and no control or other unprintable character (`id_problem`: a NUL or an escape sequence in a run file
breaks the tools that read it and the terminals that show it); loaders apply the same rule where ids enter.

Runs come back as `{query id: [Hit, ...]}` ordered by the rank column (file order among equal ranks), which
is the best-first order `write_run` wrote. trec_eval itself ignores ranks and re-ranks by score;
`tsqr.metrics.evaluate` does the same, so the rank column only matters for display. A query whose hit list is
empty has no line to write and is absent after a round trip.

Usage:
    run = read_run("runs/biology.reasoned.trec")      # {qid: [Hit(doc_id, score), ...]}
    write_run(run, "copy.trec.gz", tag="tsqr")
    qrels = read_qrels("qrels.bright-biology.txt")     # {qid: {doc_id: relevance}}
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from tsqr.errors import DataError
from tsqr.records import Hit, Qrels, Run

RUN_FIELDS = "qid Q0 docid rank score tag"
QRELS_FIELDS = "qid iteration docid relevance"


class TrecFormatError(DataError):
    """A line of a run or qrels file that cannot be read; the message names the file, line and field."""


def id_problem(value: str) -> str | None:
    """Why `value` cannot be an id in a TREC file ("contains whitespace ...", "contains the unprintable character
    U+0000 ..."), or None when it can. Unprintable: what `str.isprintable` refuses (control, format, surrogate,
    private-use and unassigned characters, line and paragraph separators)."""
    if value.isprintable() and " " not in value:  # the fast path: both checks run in C
        return None
    bad = next(character for character in value if character.isspace() or not character.isprintable())
    if bad.isspace():  # the ASCII space is the one printable whitespace character
        return "contains whitespace, which TREC run and qrels files cannot hold"
    return f"contains the unprintable character U+{ord(bad):04X}, which ids may not hold"


def _where(source: str, line_number: int) -> str:
    return f"{source}: line {line_number}"


def _shown(line: str) -> str:
    return repr(line if len(line) <= 120 else line[:117] + "...")


def _open_binary(path: Path, mode: str, compressed: bool) -> IO[bytes]:
    return gzip.open(path, mode) if compressed else path.open(mode)


def _numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a UTF-8 file, decoding line by line so a bad byte is
    reported with its line number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with _open_binary(path, "rb", compressed=path.suffix == ".gz") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise TrecFormatError(f"{_where(str(path), number)}: not UTF-8 text "
                                          f"(byte {error.start}: {raw[error.start:error.start + 1]!r})") from None
                if text.strip():
                    yield number, text
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise TrecFormatError(f"{path}: not a readable gzip file ({error})") from None
    except OSError as error:  # no permission, a device error: one line naming the file, no traceback
        raise TrecFormatError(f"{path}: cannot be read ({error.strerror or type(error).__name__})") from None


def _split(lines: str | Iterable[str]) -> Iterator[tuple[int, str]]:
    """Number the non-blank lines of text or of an iterable of lines, as `_numbered_lines` does for files."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _fields(source: str, number: int, line: str, expected: int, layout: str) -> list[str]:
    fields = line.split()
    if len(fields) != expected and len(line.rstrip("\r\n").split("\t")) == expected:
        raise TrecFormatError(f"{_where(source, number)}: an id contains whitespace, which TREC files cannot hold "
                              f"(fields are separated by any whitespace): {_shown(line.rstrip())}")
    if len(fields) != expected:
        raise TrecFormatError(f"{_where(source, number)}: expected {expected} fields '{layout}', "
                              f"found {len(fields)}: {_shown(line.rstrip())}")
    for name, value in zip(layout.split(), fields):
        problem = id_problem(value) if name in ("qid", "docid") else None
        if problem:
            raise TrecFormatError(f"{_where(source, number)}: field {name!r}: {value[:60]!r} {problem}")
    return fields


def _parse_run_lines(numbered: Iterable[tuple[int, str]], source: str) -> Run:
    rows: dict[str, list[tuple[int, Hit]]] = {}
    first_line: dict[tuple[str, str], int] = {}
    for number, line in numbered:
        qid, _, doc_id, rank_text, score_text, _ = _fields(source, number, line, 6, RUN_FIELDS)
        try:
            rank = int(rank_text)
        except ValueError:
            raise TrecFormatError(f"{_where(source, number)}: field 'rank' (4) must be an integer, "
                                  f"got {rank_text!r}") from None
        try:
            score = float(score_text)
        except ValueError:
            score = math.nan
        if math.isnan(score):
            raise TrecFormatError(f"{_where(source, number)}: field 'score' (5) must be a number, "
                                  f"got {score_text!r}")
        earlier = first_line.setdefault((qid, doc_id), number)
        if earlier != number:
            raise TrecFormatError(f"{_where(source, number)}: document {doc_id!r} is listed again for query "
                                  f"{qid!r} (first on line {earlier})")
        rows.setdefault(qid, []).append((rank, Hit(doc_id, score)))
    # sorted() is stable, so hits with equal ranks keep their file order.
    return {qid: [hit for _, hit in sorted(hits, key=lambda pair: pair[0])] for qid, hits in rows.items()}


def parse_qrels_lines(numbered: Iterable[tuple[int, str]], source: str) -> Qrels:
    """Qrels from (line number, text) pairs: the one qrels parser, which readers with their own way of getting
    lines (tsqr.bright's size-capped reader) build on."""
    qrels: Qrels = {}
    first_line: dict[tuple[str, str], int] = {}
    for number, line in numbered:
        qid, _, doc_id, relevance_text = _fields(source, number, line, 4, QRELS_FIELDS)
        try:
            relevance = int(relevance_text)
        except ValueError:
            raise TrecFormatError(f"{_where(source, number)}: field 'relevance' (4) must be an integer, "
                                  f"got {relevance_text!r}") from None
        earlier = first_line.setdefault((qid, doc_id), number)
        if earlier != number:
            raise TrecFormatError(f"{_where(source, number)}: document {doc_id!r} is judged again for query "
                                  f"{qid!r} (first on line {earlier})")
        qrels.setdefault(qid, {})[doc_id] = relevance
    return qrels


def parse_run(lines: str | Iterable[str], source: str = "<run text>") -> Run:
    """A run from text already in memory (an upload, a test string); `source` names it in errors."""
    return _parse_run_lines(_split(lines), source)


def read_run(path: str | Path) -> Run:
    """A run file (plain or .gz) as {query id: hits best first}."""
    return _parse_run_lines(_numbered_lines(path), str(path))


def parse_qrels(lines: str | Iterable[str], source: str = "<qrels text>") -> Qrels:
    """Qrels from text already in memory; `source` names it in errors."""
    return parse_qrels_lines(_split(lines), source)


def read_qrels(path: str | Path) -> Qrels:
    """A qrels file (plain or .gz) as {query id: {doc id: relevance}}; the iteration column is ignored."""
    return parse_qrels_lines(_numbered_lines(path), str(path))


def _check_token(value: str, what: str) -> str:
    """Ids and tags become whitespace-separated fields: an empty one, or one with spaces or control characters,
    would corrupt the file, so refuse it before anything is written."""
    if not isinstance(value, str) or not value or id_problem(value):
        raise ValueError(f"{what} {str(value)[:60]!r} cannot be written to a TREC file: it must be a non-empty "
                         "string without whitespace or unprintable characters")
    return value


def format_run(run: Mapping[str, Sequence[Hit]], tag: str = "tsqr") -> Iterator[str]:
    """The lines of a run file: hits keep their list order and get ranks 1, 2, ...; scores are written with
    `repr` so they read back as the same float."""
    _check_token(tag, "run tag")
    for qid, hits in run.items():
        _check_token(qid, "query id")
        for rank, (doc_id, score) in enumerate(hits, start=1):
            value = float(score)
            if math.isnan(value):
                raise ValueError(f"query {qid!r}: document {doc_id!r} has a NaN score")
            yield f"{qid} Q0 {_check_token(doc_id, f'query {qid!r}: document id')} {rank} {value!r} {tag}\n"


def format_qrels(qrels: Mapping[str, Mapping[str, int]]) -> Iterator[str]:
    """The lines of a qrels file, iteration column 0."""
    for qid, judged in qrels.items():
        _check_token(qid, "query id")
        for doc_id, relevance in judged.items():
            if isinstance(relevance, bool) or not isinstance(relevance, int):
                raise ValueError(f"query {qid!r}: relevance of {doc_id!r} must be an integer, got {relevance!r}")
            yield f"{qid} 0 {_check_token(doc_id, f'query {qid!r}: document id')} {relevance}\n"


def _write_lines(lines: Iterable[str], path: str | Path) -> None:
    """Write to a temporary sibling and rename, so a failure midway never leaves a truncated file behind
    (or destroys the previous one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with _open_binary(partial, "wb", compressed=path.suffix == ".gz") as handle:
            for line in lines:
                handle.write(line.encode("utf-8"))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_run(run: Run, path: str | Path, tag: str = "tsqr") -> None:
    """Write a run as a TREC run file (gzip-compressed when `path` ends in .gz)."""
    _write_lines(format_run(run, tag), path)


def write_qrels(qrels: Qrels, path: str | Path) -> None:
    """Write qrels as a TREC qrels file (gzip-compressed when `path` ends in .gz)."""
    _write_lines(format_qrels(qrels), path)

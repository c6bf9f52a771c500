"""Readers for the shapes training data arrives in, each turning its rows into `TrainExample`s and documents.

- TongSearch QR's JSON (the input of their scripts/data_process/build_dataset.py): one object mapping each
  question to its positive document text, or a list of them. Questions that still carry TongSearch's
  instruction prefix ("Instructions: 1. ... Question: ...", as their StackExchange sampler writes them) are cut
  back to the question, since the trainer adds the prompt itself.
- Plain rows (JSONL, a JSON list or parquet): {"id"?, "query", "positives"?, "positive_ids"?, "negatives"?,
  "negative_ids"?}; a positive/negative is a text, an {"id", "content"} object, or (in *_ids) an id defined by
  another row or by a corpus file.
- Corpus files: rows of {"id", "content"} (BRIGHT's documents shape).
- BRIGHT-format data through tsqr.bright.load_domain, gold_ids as positives. The 12 BRIGHT domains are what
  tsqr evaluates on, so they are refused unless `force` is set: training on them leaks test queries.

A row that cannot be used is skipped with its file, row and reason (never silently); a file that cannot be read
at all, or two different texts under one document id, stop the build with a `DataError` naming both places.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.dataset import TrainExample
from tsqr.bright import BRIGHT_DOMAINS, DataError, canonical_domain, load_domain, read_json_value, read_table
from tsqr.reasoner.prompts import TONGSEARCH_INSTRUCTIONS
from tsqr.records import Document


@dataclass(frozen=True)
class Skipped:
    """A row left out of the training set, where it was and why."""

    where: str
    reason: str


@dataclass
class Collected:
    """Everything read so far: examples (their ids resolved later), documents by id, skipped rows."""

    examples: list[TrainExample] = field(default_factory=list)
    documents: dict[str, Document] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)

    def add_document(self, doc_id: str, content: str, where: str) -> str:
        known = self.documents.get(doc_id)
        if known is not None and known.content != content:
            raise DataError(f"{where}: document id {doc_id!r} has a different text than at {self.origins[doc_id]}")
        if known is None:
            self.documents[doc_id] = Document(doc_id, content)
            self.origins[doc_id] = where
        return doc_id

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append(Skipped(where, reason))


def content_id(content: str) -> str:
    """A stable id for a document given only as text: the same text from two sources becomes one document."""
    return "doc-" + hashlib.sha1(content.encode("utf-8")).hexdigest()[:16]


def clean_query(text: str) -> str:
    """The question itself, without TongSearch's instruction block when a source embedded it in the text."""
    stripped = text.strip()
    if stripped.startswith(TONGSEARCH_INSTRUCTIONS.strip()):
        rest = stripped[len(TONGSEARCH_INSTRUCTIONS.strip()):].lstrip()
        for label in ("Question:", "Query:"):
            if rest.startswith(label):
                return rest[len(label):].strip()
        return rest
    return stripped


def _documents_from(value: Any, collected: Collected, where: str, field_name: str) -> list[str] | str:
    """Ids of the documents a field lists (registering inline ones), or a reason string when it is malformed."""
    items = [value] if isinstance(value, (str, dict)) else value
    if not isinstance(items, list):
        return f"field {field_name!r} must be a list of texts or {{id, content}} objects, got {type(value).__name__}"
    ids = []
    for position, item in enumerate(items):
        if isinstance(item, str):
            if item.strip():
                ids.append(collected.add_document(content_id(item), item, f"{where} {field_name}[{position}]"))
        elif isinstance(item, dict) and isinstance(item.get("content"), str):
            doc_id = str(item.get("id") or content_id(item["content"]))
            ids.append(collected.add_document(doc_id, item["content"], f"{where} {field_name}[{position}]"))
        else:
            return f"{field_name}[{position}] is neither a text nor an {{id, content}} object"
    return ids


def _ids_from(value: Any, field_name: str) -> list[str] | str:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, (str, int)) for item in value):
        return f"field {field_name!r} must be a list of document ids"
    return [str(item) for item in value]


def read_tongsearch_json(path: Path, collected: Collected, max_query_chars: int = 16000) -> None:
    """TongSearch QR's {question: document text | [document texts]} JSON."""
    label = str(path)
    value = read_json_value(path, label)
    if not isinstance(value, dict):
        raise DataError(f"{label}: expected TongSearch QR's JSON object mapping each question to its document(s), "
                        f"got a JSON {type(value).__name__}; use --jsonl for a list of rows")
    collected.rows_read[label] = len(value)
    for number, (question, answer) in enumerate(value.items(), start=1):
        where = f"{label}: entry {number}"
        query = clean_query(question)
        if not query:
            collected.skip(where, "empty question")
            continue
        if len(query) > max_query_chars:
            collected.skip(where, f"question longer than {max_query_chars} characters ({len(query)})")
            continue
        ids = _documents_from(answer, collected, where, "documents")
        if isinstance(ids, str):
            collected.skip(where, ids)
            continue
        if not ids:
            collected.skip(where, "no positive document text")
            continue
        collected.examples.append(TrainExample(f"{path.stem}-{number}", query, tuple(ids), (), label))


def read_plain_rows(path: Path, collected: Collected, max_query_chars: int = 16000) -> None:
    """Rows with a query and positives (texts, {id, content} objects, or ids), optional negatives and id."""
    table = read_table(path)
    collected.rows_read[table.label] = len(table.rows)
    for index, row in enumerate(table.rows):
        where = f"{table.label}: {table.where(index)}"
        query = row.get("query", row.get("question"))
        if not isinstance(query, str) or not clean_query(query):
            collected.skip(where, "missing or empty 'query' field")
            continue
        query = clean_query(query)
        if len(query) > max_query_chars:
            collected.skip(where, f"query longer than {max_query_chars} characters ({len(query)})")
            continue
        lists = {}
        for kind in ("positive", "negative"):
            inline = _documents_from(row.get(f"{kind}s") or [], collected, where, f"{kind}s")
            by_id = _ids_from(row.get(f"{kind}_ids"), f"{kind}_ids")
            problem = next((item for item in (inline, by_id) if isinstance(item, str)), None)
            if problem:
                lists = None
                collected.skip(where, problem)
                break
            lists[kind] = tuple(dict.fromkeys(inline + by_id))
        if lists is None:
            continue
        if not lists["positive"]:
            collected.skip(where, "no positives (give 'positives' texts/objects or 'positive_ids')")
            continue
        example_id = str(row.get("id") or f"{path.name.split('.')[0]}-{index + 1}")
        collected.examples.append(TrainExample(example_id, query, lists["positive"], lists["negative"], table.label))


def read_corpus(path: Path, collected: Collected) -> int:
    """Documents by id ({"id", "content"} rows) that plain rows may reference; returns how many were read."""
    table = read_table(path)
    count = 0
    for index, row in enumerate(table.rows):
        where = f"{table.label}: {table.where(index)}"
        doc_id, content = row.get("id"), row.get("content")
        if doc_id is None or not isinstance(content, str):
            collected.skip(where, "corpus row needs an 'id' and a text 'content'")
            continue
        collected.add_document(str(doc_id), content, where)
        count += 1
    return count


def read_bright(source: str | Sequence[str], domain: str, collected: Collected, *, documents: Any = None,
                force: bool = False) -> None:
    """A BRIGHT-format domain: its queries with gold_ids as positives, and its corpus for mining negatives."""
    name = canonical_domain(domain)
    if name in BRIGHT_DOMAINS and not force:
        raise DataError(f"{name!r} is a BRIGHT evaluation domain: training on it puts the test queries into the "
                        "policy and inflates every score measured on it. Train on other data, or pass --force "
                        "if you mean to (e.g. a leave-one-domain-out study), and never report that domain.")
    loaded = load_domain(source, name, documents=documents)
    label = f"{loaded.source} [{name}]"
    collected.rows_read[label] = len(loaded.examples)
    for doc in loaded.documents:
        collected.add_document(doc.id, doc.content, f"{label} document {doc.id!r}")
    for example in loaded.examples:
        if not example.gold_ids:
            collected.skip(f"{label} query {example.id!r}", "no gold_ids")
            continue
        collected.examples.append(TrainExample(f"{name}-{example.id}", clean_query(example.query),
                                               tuple(example.gold_ids), (), label))

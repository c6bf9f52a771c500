"""Turning rows of BRIGHT files into checked `Example` and `Document` records.

BRIGHT's rows carry quirks every consumer must undo the same way: ids may arrive as numbers, `excluded_ids` and
`gold_ids_long` hold the placeholder ["N/A"] when a domain has none, and `gold_ids` repeats ids in
theoremqa_questions. Ids follow tsqr.bright.ids (no whitespace or control characters: TREC files, where runs
end up, cannot represent them, and finding out only when the run is written wastes the whole scoring; at most
TSQR_MAX_ID_CHARS). The caps of tsqr.limits on rows and text hold here: more examples or documents than a
domain may have, or a document text past TSQR_MAX_DOCUMENT_CHARS, is refused; a query past
TSQR_MAX_EXAMPLE_QUERY_CHARS is cut (tsqr.limits.cut_query, as typed queries are) and `check_domain` says so.
The checks collect every problem of a file (up to a limit) and raise one `DataError` that names the file, the
row and the field, so one round of fixes is enough.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tsqr.errors import DataError
from tsqr.bright.files import Table
from tsqr.bright.ids import id_message, id_problem
from tsqr.limits import Limits, cut_query
from tsqr.records import Document, Example

PLACEHOLDER = "N/A"
EXAMPLE_FIELDS = ("id", "query", "gold_ids")
DOCUMENT_FIELDS = ("id", "content")
_SHOWN_PROBLEMS = 10


class Problems:
    """Problems found in one file, raised together as one `DataError`; only the first few are kept (a file of
    a million bad rows must not become a million messages in memory), the rest are counted."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.messages: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.messages) < _SHOWN_PROBLEMS:
            self.messages.append(message)

    def raise_if_any(self) -> None:
        if not self.count:
            return
        more = self.count - len(self.messages)
        lines = [f"{self.label}: {message}" for message in self.messages]
        if more:
            lines.append(f"{self.label}: ... and {more} more problems")
        raise DataError("\n".join(lines))


def table_kind(table: Table) -> str:
    """"examples" (query + gold_ids columns) or "documents" (id + content): how uploaded files are told apart."""
    columns = table.columns
    if {"query", "gold_ids"} <= columns:
        return "examples"
    if {"id", "content"} <= columns:
        return "documents"
    found = ", ".join(sorted(columns)) or "no columns (empty file)"
    raise DataError(f"{table.label}: cannot tell what this file holds: examples need the columns "
                    f"query and gold_ids (and id), documents need id and content; found {found}")


def _as_id(value: Any) -> str | None:
    """Ids are strings in BRIGHT, but numbers are accepted (parquet/JSON writers turn "12" into 12)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _id_list(value: Any, field: str, where: str, problems: Problems, limits: Limits, *, required: bool,
             spaces: bool = False) -> tuple[str, ...]:
    """A list of ids, first occurrences kept in order, duplicates and BRIGHT's "N/A" placeholder dropped; ids
    breaking tsqr.bright.ids' rules are a problem, whitespace only unless `spaces` (excluded ids are never
    written to TREC files)."""
    if value is None and not required:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        problems.add(f"{where}: field {field!r}: expected a list of ids, got {_type_name(value)}")
        return ()
    ids = []
    for item in value:
        doc_id = _as_id(item)
        if doc_id is None:
            problems.add(f"{where}: field {field!r}: expected ids as strings, got {_type_name(item)} {item!r}")
            return ()
        if problem := id_problem(doc_id, limits, spaces=spaces):
            problems.add(id_message(where, field, doc_id, problem))
            return ()
        ids.append(doc_id)
    return tuple(doc_id for doc_id in dict.fromkeys(ids) if doc_id != PLACEHOLDER)


def _text(row: dict[str, Any], field: str, where: str, problems: Problems) -> str:
    value = row.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(f"{where}: field {field!r}: expected text, got {_type_name(value)}")
        return ""
    return value


def _example(row: dict[str, Any], where: str, problems: Problems, limits: Limits) -> Example | None:
    before = problems.count
    for field in EXAMPLE_FIELDS:
        if field not in row:
            problems.add(f"{where}: missing field {field!r}")
    if problems.count > before:
        return None
    qid = _as_id(row["id"])
    if qid is None or not qid.strip():
        problems.add(f"{where}: field 'id': expected a non-empty string id, got {_type_name(row['id'])} {row['id']!r}")
    elif problem := id_problem(qid, limits):
        problems.add(id_message(where, "id", qid, problem))
    query = row["query"]
    if not isinstance(query, str):
        problems.add(f"{where}: field 'query': expected text, got {_type_name(query)}")
    elif not query.strip():
        problems.add(f"{where}: field 'query': empty query")
    else:
        query, _ = cut_query(query, limits.query_chars, limits.variable("query_chars"))
    gold = _id_list(row["gold_ids"], "gold_ids", where, problems, limits, required=True)
    excluded = _id_list(row.get("excluded_ids"), "excluded_ids", where, problems, limits, required=False,
                        spaces=True)
    gold_long = _id_list(row.get("gold_ids_long"), "gold_ids_long", where, problems, limits, required=False)
    reasoning = _text(row, "reasoning", where, problems)
    answer = _text(row, "gold_answer", where, problems)
    clash = sorted(set(gold) & set(excluded), key=gold.index)
    if clash:
        problems.add(f"{where}: field 'excluded_ids': a gold document cannot be excluded, but "
                     f"{len(clash)} excluded ids are also gold ids: {', '.join(clash[:3])}")
    if problems.count > before:
        return None
    return Example(id=qid, query=query, gold_ids=gold, excluded_ids=excluded, gold_ids_long=gold_long,
                   reasoning=reasoning, gold_answer=answer)


def examples_from_tables(tables: Sequence[Table]) -> list[Example]:
    """Checked examples from one or more files (shards of one split); ids must be unique across all of them."""
    limits = Limits.from_env()
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for table in tables:
        problems = Problems(table.label)
        if not table.rows:
            problems.add("no examples in this file")
        for index, row in enumerate(table.rows):
            where = table.where(index)
            if len(examples) >= limits.examples:
                raise DataError(f"{table.label}: {where}: more than {limits.describe('examples')} examples in "
                                f"this domain: refused")
            example = _example(row, where, problems, limits)
            if example is None:
                continue
            if example.id in seen:
                problems.add(f"{where}: field 'id': duplicate example id {example.id!r} (first at {seen[example.id]})")
                continue
            seen[example.id] = f"{table.label} {where}"
            examples.append(example)
        problems.raise_if_any()
    return examples


def documents_from_tables(tables: Sequence[Table], *, progress: bool = True) -> list[Document]:
    """Checked documents from one or more files (corpus shards); ids must be unique across all of them.
    Empty contents are kept (BRIGHT has a few): `check_domain` reports them instead of refusing the corpus."""
    from tqdm.auto import tqdm

    limits = Limits.from_env()
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for table in tables:
        problems = Problems(table.label)
        if not table.rows:
            problems.add("no documents in this file")
        rows = tqdm(table.rows, desc=f"checking {table.label}", unit="doc", leave=False,
                    disable=not progress or len(table.rows) < 20_000)
        for index, row in enumerate(rows):
            where = table.where(index)
            missing = [field for field in DOCUMENT_FIELDS if field not in row]
            if missing:
                problems.add(f"{where}: missing field {missing[0]!r}")
                continue
            doc_id, content = _as_id(row["id"]), row["content"]
            if doc_id is None or not doc_id.strip():
                problems.add(f"{where}: field 'id': expected a non-empty string id, got {_type_name(row['id'])}")
                continue
            if problem := id_problem(doc_id, limits):
                problems.add(id_message(where, "id", doc_id, problem))
                continue
            if not isinstance(content, str):
                problems.add(f"{where}: field 'content': expected text, got {_type_name(content)}")
                continue
            if len(content) > limits.document_chars:
                problems.add(f"{where}: field 'content': {len(content):,} characters, more than "
                             f"{limits.describe('document_chars')}")
                continue
            if len(documents) >= limits.documents:
                raise DataError(f"{table.label}: {where}: more than {limits.describe('documents')} documents in "
                                f"this domain: refused")
            if doc_id in seen:
                problems.add(f"{where}: field 'id': duplicate document id {doc_id!r} (first at {seen[doc_id]})")
                continue
            seen[doc_id] = f"{table.label} {where}"
            documents.append(Document(doc_id, content))
        problems.raise_if_any()
    return documents


def examples_from_topics(
    topics: Sequence[tuple[str, str, int]],
    label: str,
    relevant: dict[str, list[str]],
    excluded: dict[str, list[str]] | None = None,
) -> list[Example]:
    """Examples from Anserini topics (id, query, line) with gold ids from qrels and optional exclusion lists."""
    problems = Problems(label)
    limits = Limits.from_env()
    examples = []
    seen: dict[str, int] = {}
    for qid, query, line in topics:
        query, _ = cut_query(query, limits.query_chars, limits.variable("query_chars"))
        if qid in seen:
            problems.add(f"line {line}: field 'id': duplicate query id {qid!r} (first at line {seen[qid]})")
            continue
        seen[qid] = line
        gold = tuple(relevant.get(qid, ()))
        skip = tuple(d for d in dict.fromkeys((excluded or {}).get(qid, ())) if d != PLACEHOLDER)
        clash = sorted(set(gold) & set(skip), key=gold.index)
        if clash:
            problems.add(f"line {line}: query {qid!r}: {len(clash)} excluded ids are also relevant in the qrels: "
                         f"{', '.join(clash[:3])}")
        examples.append(Example(id=qid, query=query, gold_ids=gold, excluded_ids=skip))
    problems.raise_if_any()
    return examples

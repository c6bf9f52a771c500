"""The demo corpus in tsqr/data/demo: valid BRIGHT-format data, and a real showcase of why reasoning helps BM25.

The app and the CLI load these files with `tsqr.bright.load_domain`, so they must parse there and in BRIGHT's own
schema (placeholders included). Beyond validity, the corpus exists to show a property: BM25 on the raw post is
fooled by documents sharing its words, while BM25 on the human reasoning finds the gold documents. These tests
check that property on the files as written, so an edit that leaks query words into gold documents (or breaks the
reasoning fields) fails here rather than quietly flattening the demo.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsqr.bright import check_domain, load_domain
from tsqr.records import Domain

DEMO = Path(__file__).resolve().parents[1] / "tsqr" / "data" / "demo"
EXAMPLE_FIELDS = {"id", "query", "reasoning", "gold_ids", "excluded_ids", "gold_ids_long", "gold_answer"}
SUBJECTS = {"biology", "earth_science", "economics", "psychology", "robotics", "sustainable_living"}


def _rows(name: str) -> list[dict]:
    rows = []
    with open(DEMO / name, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            assert line.strip(), f"{name} line {number}: blank line"
            row = json.loads(line)
            assert isinstance(row, dict), f"{name} line {number}: not a JSON object"
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    return _rows("examples.jsonl")


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return _rows("documents.jsonl")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return load_domain(DEMO, "demo", progress=False)


def _words(text: str) -> int:
    return len(text.split())


def test_examples_follow_brights_schema(examples):
    assert len(examples) >= 24
    for row in examples:
        where = f"examples.jsonl id {row.get('id')!r}"
        assert set(row) == EXAMPLE_FIELDS, f"{where}: fields {sorted(row)}"
        for field in ("id", "query", "reasoning", "gold_answer"):
            assert isinstance(row[field], str) and row[field].strip(), f"{where}: empty or non-text {field}"
        assert isinstance(row["gold_ids"], list) and 1 <= len(row["gold_ids"]) <= 3, f"{where}: gold_ids"
        assert all(isinstance(doc_id, str) for doc_id in row["gold_ids"]), f"{where}: gold id not a string"
        assert row["excluded_ids"] == ["N/A"], f"{where}: excluded_ids should be BRIGHT's placeholder"
        assert row["gold_ids_long"] == ["N/A"], f"{where}: gold_ids_long should be BRIGHT's placeholder"
        assert 40 <= _words(row["query"]) <= 120, f"{where}: query has {_words(row['query'])} words"


def test_documents_follow_brights_schema(documents):
    assert len(documents) >= 240
    for row in documents:
        where = f"documents.jsonl id {row.get('id')!r}"
        assert set(row) == {"id", "content"}, f"{where}: fields {sorted(row)}"
        assert isinstance(row["id"], str) and isinstance(row["content"], str), where
        assert 60 <= _words(row["content"]) <= 150, f"{where}: {_words(row['content'])} words"


def test_ids_are_unique_and_queries_never_share_an_id_with_a_document(examples, documents):
    query_ids = [row["id"] for row in examples]
    doc_ids = [row["id"] for row in documents]
    assert len(set(query_ids)) == len(query_ids)
    assert len(set(doc_ids)) == len(doc_ids)
    assert not set(query_ids) & set(doc_ids)


def test_every_gold_id_is_a_document_of_the_querys_subject(examples, documents):
    doc_ids = {row["id"] for row in documents}
    for row in examples:
        subject = row["id"].rsplit("-", 1)[0]
        assert subject in SUBJECTS, f"query {row['id']}: unknown subject prefix"
        for gold in row["gold_ids"]:
            assert gold in doc_ids, f"query {row['id']}: gold id {gold} is not in documents.jsonl"
            assert gold.split("/", 1)[0] == subject, f"query {row['id']}: gold {gold} from another subject"


def test_every_subject_has_queries_and_many_more_distractors_than_gold(examples, documents):
    for subject in SUBJECTS:
        queries = [row for row in examples if row["id"].startswith(subject + "-")]
        gold = {doc_id for row in queries for doc_id in row["gold_ids"]}
        in_subject = [row for row in documents if row["id"].startswith(subject + "/")]
        assert len(queries) >= 4, subject
        assert len(in_subject) >= 4 * len(gold), f"{subject}: {len(in_subject)} documents for {len(gold)} gold"


def test_the_project_loader_reads_it_without_warnings(domain, examples, documents):
    assert [ex.id for ex in domain.examples] == [row["id"] for row in examples]
    assert [doc.id for doc in domain.documents] == [row["id"] for row in documents]
    assert check_domain(domain).warnings() == []
    first = domain.examples[0]
    assert first.excluded_ids == () and first.gold_ids_long == ()  # the "N/A" placeholders are dropped
    assert first.reasoning and first.gold_answer
    assert all(domain.qrels()[ex.id] == {doc_id: 1 for doc_id in ex.gold_ids} for ex in domain.examples)


@pytest.fixture(scope="module")
def index(domain):
    from tsqr.bm25 import Index

    return Index.build(domain.documents, progress=False)


@pytest.fixture(scope="module")
def ndcg_by_field(domain, index) -> dict[str, dict[str, dict[str, float]]]:
    """Per-query nDCG@10 of BM25 (BRIGHT scoring) with each text field of the examples used as the query."""
    from tsqr.metrics import evaluate

    scores = {}
    for field in ("query", "reasoning"):
        run = {ex.id: index.search(getattr(ex, field), k=100) for ex in domain.examples}
        scores[field] = evaluate(domain.qrels(), run, ["nDCG@10"])
    return scores


def test_bm25_with_the_reasoning_clearly_beats_the_raw_query(ndcg_by_field):
    from tsqr.metrics import mean_scores

    raw, reasoned = ndcg_by_field["query"], ndcg_by_field["reasoning"]
    raw_mean, reasoned_mean = mean_scores(raw)["nDCG@10"], mean_scores(reasoned)["nDCG@10"]
    assert raw_mean < 0.45, f"raw posts already find the gold documents (nDCG@10 {raw_mean:.3f}): nothing to show"
    assert reasoned_mean >= raw_mean + 0.3, f"reasoning {reasoned_mean:.3f} vs raw {raw_mean:.3f}: the gap is gone"
    wins = sum(reasoned[qid]["nDCG@10"] > raw[qid]["nDCG@10"] for qid in raw)
    losses = sum(reasoned[qid]["nDCG@10"] < raw[qid]["nDCG@10"] for qid in raw)
    assert wins > 3 * losses, f"reasoning wins {wins} queries and loses {losses}"


def test_surface_distractors_take_the_top_spot_for_most_raw_queries(domain, index):
    fooled = [ex.id for ex in domain.examples if index.search(ex.query, k=1)[0].doc_id not in ex.gold_ids]
    found = [ex.id for ex in domain.examples if index.search(ex.reasoning, k=1)[0].doc_id in ex.gold_ids]
    half = len(domain.examples) / 2
    assert len(fooled) > half, f"raw BM25 ranks a gold document first for {len(domain.examples) - len(fooled)} queries"
    assert len(found) > half, f"reasoned BM25 ranks a gold document first for only {len(found)} queries"

"""The real BRIGHT queries and judgements in ../shared/data (Anserini's release) load completely and agree with
their own qrels and exclusion files; skipped, with the reason, where that data is absent."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from tsqr.bright import BRIGHT_DOMAINS, LONG_DOCUMENT_DOMAINS, check_domain, load_domain

# Row counts of BRIGHT's `examples` config (= the Anserini -original topics), from bright/SOURCES.md.
EXPECTED_QUERIES = {
    "biology": 103, "earth_science": 116, "economics": 103, "psychology": 101, "robotics": 101,
    "stackoverflow": 117, "sustainable_living": 108, "leetcode": 142, "pony": 112, "aops": 111,
    "theoremqa_questions": 194, "theoremqa_theorems": 76,
}
# Unique (query, gold document) pairs per domain, also from SOURCES.md.
EXPECTED_GOLD_PAIRS = {
    "biology": 372, "earth_science": 585, "economics": 800, "psychology": 692, "robotics": 520,
    "stackoverflow": 478, "sustainable_living": 576, "leetcode": 262, "pony": 2219, "aops": 524,
    "theoremqa_questions": 439, "theoremqa_theorems": 151,
}


@pytest.fixture(scope="module")
def anserini(shared_data: Path) -> Path:
    return shared_data / "bright" / "anserini-tools"


@pytest.fixture(scope="module")
def domains(anserini: Path) -> dict:
    return {name: load_domain(anserini, name) for name in BRIGHT_DOMAINS}


def trec_qrels(path: Path) -> dict[str, dict[str, int]]:
    """An independent reading of a qrels file, kept deliberately simple."""
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        qid, _, doc_id, relevance = line.split()
        qrels.setdefault(qid, {})[doc_id] = int(relevance)
    return qrels


def test_all_twelve_domains_load_with_the_published_row_counts(domains):
    assert {name: len(d.examples) for name, d in domains.items()} == EXPECTED_QUERIES
    assert sum(len(d.examples) for d in domains.values()) == 1384
    for domain in domains.values():
        assert domain.documents == [] and "Anserini topics" in domain.source
        assert all(ex.query.strip() and ex.gold_ids and "N/A" not in ex.excluded_ids for ex in domain.examples)


def test_qrels_equal_gold_ids(domains, anserini):
    for name, domain in domains.items():
        expected = trec_qrels(anserini / "qrels" / f"qrels.bright-{name.replace('_', '-')}.txt")
        assert domain.qrels() == expected, name
        assert sum(len(ex.gold_ids) for ex in domain.examples) == EXPECTED_GOLD_PAIRS[name]


def test_placeholders_and_duplicates_are_normalised(domains, anserini):
    # theoremqa_questions lists 617 gold ids of which 439 are distinct: duplicates dropped, first order kept.
    with gzip.open(anserini / "topics" / "topics.bright-theoremqa-questions-original.jsonl.gz", "rt") as handle:
        raw = [json.loads(line) for line in handle]
    assert sum(len(row["gold_ids"]) for row in raw) == 617
    for row, ex in zip(raw, domains["theoremqa_questions"].examples):
        assert ex.gold_ids == tuple(dict.fromkeys(row["gold_ids"]))
    # Long-document judgements exist exactly for BRIGHT's 8 long-document domains; exclusions for the other 4.
    for name, domain in domains.items():
        has_long = all(ex.gold_ids_long for ex in domain.examples)
        assert has_long == (name in LONG_DOCUMENT_DOMAINS), name
        assert not any(ex.gold_ids_long for ex in domain.examples) or has_long
    assert sum(len(ex.excluded_ids) for ex in domains["leetcode"].examples) == 33485
    assert domains["aops"].examples[0].id == "aops_2019_AMC_12A_Problems/Problem_17"
    assert len(domains["aops"].examples[0].excluded_ids) == 9205


def test_hyphenated_names_and_the_tsv_topics_give_the_same_judgements(domains, anserini, tmp_path):
    """Anserini's id<TAB>query topics + qrels (+ leetcode's exclusion list) against the full topics."""
    (tmp_path / "topics").mkdir()
    shutil.copytree(anserini / "qrels", tmp_path / "qrels")
    for path in (anserini / "topics").glob("*.tsv.gz"):
        shutil.copy(path, tmp_path / "topics")
    for name, full in domains.items():
        tsv = load_domain(tmp_path, name.replace("_", "-"))
        assert tsv.name == name and tsv.qrels() == full.qrels(), name
        assert [" ".join(ex.query.split()) for ex in tsv.examples] == \
               [" ".join(ex.query.split()) for ex in full.examples]
    leetcode = load_domain(tmp_path, "leetcode")
    assert [ex.excluded_ids for ex in leetcode.examples] == [ex.excluded_ids for ex in domains["leetcode"].examples]


def test_check_domain_on_real_queries_with_a_partial_corpus(domains):
    from tsqr.records import Document, Domain

    biology = domains["biology"]
    first = biology.examples[0]
    corpus = [Document(doc_id, "text") for doc_id in first.gold_ids]
    report = check_domain(Domain("biology", biology.examples, corpus))
    assert report.gold_total == EXPECTED_GOLD_PAIRS["biology"]
    present = set(first.gold_ids)
    assert first.id not in report.missing_gold
    assert report.missing_gold_total == sum(g not in present for ex in biology.examples for g in ex.gold_ids)
    assert len(report.missing_gold) == sum(any(g not in present for g in ex.gold_ids) for ex in biology.examples)

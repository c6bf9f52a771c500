"""The Search tab's comparison on a corpus built here: ranks, gold marks, nDCG@10 and gold movements must be the
ones BM25 and the evaluation protocol give, for dataset queries and for typed ones."""
from __future__ import annotations

import math
import pytest

from tsqr.bm25 import Index
from tsqr.app.search import GoldMove, compare, find_example
from tsqr.records import Document, Domain, Example

QUERY = "my bread dough smells sour and weird after two days, what happened"
REASONING = "wild yeast lactobacillus fermentation produces lactic acid and acetic acid in sourdough starter"


def _domain() -> Domain:
    documents = [
        Document("gold-ferment", "Lactobacillus bacteria and wild yeast ferment flour, producing lactic acid and "
                                 "acetic acid: the tang of a sourdough starter."),
        Document("gold-yeast", "Wild yeast fermentation releases carbon dioxide and ethanol in a starter."),
        Document("excluded-twin", "my bread dough smells sour and weird after two days what happened bread dough"),
    ]
    documents += [Document(f"forum-{i}", f"my bread dough {'smells weird' if i % 2 else 'after two days'} post {i}")
                  for i in range(8)]
    examples = [Example("q-sour", QUERY, ("gold-ferment", "gold-yeast"), excluded_ids=("excluded-twin",)),
                Example("q-nogold", "an unjudged question about bread", ())]
    return Domain("toy", examples, documents)


@pytest.fixture(scope="module")
def corpus():
    domain = _domain()
    return domain, Index.build(domain.documents, progress=False)


def test_dataset_query_is_found_by_text_ignoring_whitespace(corpus):
    domain, _ = corpus
    assert find_example(domain, "  my bread dough smells sour\nand weird after two days, what happened ").id == "q-sour"
    assert find_example(domain, QUERY + " please") is None


def test_raw_side_alone_before_the_reasoning_exists(corpus):
    domain, index = corpus
    comparison = compare(domain, index, QUERY, None, k=5)
    assert comparison.reasoned is None and comparison.gold_moves == []
    assert [row.rank for row in comparison.raw.rows] == [1, 2, 3, 4, 5]
    expected = [hit.doc_id for hit in index.search(QUERY, k=5, exclude=["excluded-twin"])]
    assert [row.doc_id for row in comparison.raw.rows] == expected


def test_reasoning_moves_gold_documents_up_and_scores_both_sides(corpus):
    domain, index = corpus
    comparison = compare(domain, index, QUERY, REASONING, k=10)
    assert comparison.example.id == "q-sour"
    assert all(row.doc_id != "excluded-twin" for row in comparison.raw.rows + comparison.reasoned.rows)

    reasoned_ids = [row.doc_id for row in comparison.reasoned.rows]
    assert reasoned_ids[:2] == ["gold-ferment", "gold-yeast"]
    assert comparison.reasoned.ndcg == pytest.approx(1.0)
    for row in comparison.raw.rows + comparison.reasoned.rows:
        assert row.gold == row.doc_id.startswith("gold-")

    # nDCG@10 of the raw side from its own ranks: two gold documents, binary gains.
    raw_ranks = {row.doc_id: row.rank for row in comparison.raw.rows}
    dcg = sum(1 / math.log2(raw_ranks[d] + 1) for d in ("gold-ferment", "gold-yeast") if d in raw_ranks)
    assert comparison.raw.ndcg == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert comparison.raw.ndcg < comparison.reasoned.ndcg

    moves = {move.doc_id: move for move in comparison.gold_moves}
    assert moves["gold-ferment"].reasoned_rank == 1 and moves["gold-yeast"].reasoned_rank == 2
    full_raw = [hit.doc_id for hit in index.search(QUERY, k=1000, exclude=["excluded-twin"])]
    assert moves["gold-ferment"].raw_rank == full_raw.index("gold-ferment") + 1
    assert moves["gold-ferment"].improvement == moves["gold-ferment"].raw_rank - 1


def test_snippets_highlight_each_sides_own_query_terms(corpus):
    domain, index = corpus
    comparison = compare(domain, index, QUERY, REASONING, k=3)
    top_reasoned = comparison.reasoned.rows[0]
    assert {"lactobacillu", "ferment", "lactic"} <= set(top_reasoned.snippet.matched_terms)
    assert "<mark>Lactobacillus</mark>" in top_reasoned.snippet.html
    assert comparison.reasoned.searched_text == REASONING
    assert {"bread", "dough"} <= set(comparison.raw.rows[0].snippet.matched_terms)
    assert not comparison.raw.rows[0].gold


def test_typed_query_has_runs_but_no_scores(corpus):
    domain, index = corpus
    comparison = compare(domain, index, "sour dough fermentation", REASONING, k=4)
    assert comparison.example is None and comparison.gold_moves == []
    assert comparison.raw.ndcg is None and comparison.reasoned.ndcg is None
    assert len(comparison.raw.rows) == 4 and not any(row.gold for row in comparison.reasoned.rows)


def test_example_without_gold_documents_is_searched_unscored(corpus):
    domain, index = corpus
    comparison = compare(domain, index, "an unjudged question about bread", "bread", k=3)
    assert comparison.example.id == "q-nogold" and comparison.raw.ndcg is None


def test_fusion_reasoned_side_fuses_the_raw_and_the_reasoned_rankings(corpus):
    domain, index = corpus
    separate = compare(domain, index, QUERY, REASONING, k=20)
    fused = compare(domain, index, QUERY, REASONING, k=20, composition="fuse")
    raw_rank = {row.doc_id: row.rank for row in separate.raw.rows}
    reasoned_rank = {row.doc_id: row.rank for row in separate.reasoned.rows}
    for row in fused.reasoned.rows:  # reciprocal rank fusion, k=60, of the two BM25 rankings shown separately
        assert row.score == pytest.approx(1 / (60 + raw_rank[row.doc_id]) + 1 / (60 + reasoned_rank[row.doc_id]))
    assert [row.doc_id for row in fused.raw.rows] == [row.doc_id for row in separate.raw.rows]
    moves = {move.doc_id: move for move in fused.gold_moves}
    assert moves["gold-ferment"].reasoned_rank < moves["gold-ferment"].raw_rank


def test_gold_document_below_the_depth_reports_no_rank():
    move = GoldMove("d", None, 3)
    assert move.improvement is None


def test_bad_requests_are_refused_with_a_reason(corpus):
    domain, index = corpus
    with pytest.raises(ValueError, match="empty"):
        compare(domain, index, "   ", None)
    with pytest.raises(ValueError, match="k must be positive"):
        compare(domain, index, QUERY, None, k=0)
    with pytest.raises(ValueError, match="unknown scoring"):
        compare(domain, index, QUERY, None, scoring="tfidf")

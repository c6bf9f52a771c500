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


def test_a_released_reasoning_is_matched_by_text_or_by_id_and_a_query_it_lacks_is_said(corpus, monkeypatch):
    import dataclasses
    import hashlib
    import json

    from tsqr.app.search import released_reasoning
    from tsqr.released import RELEASED, ReleasedUnavailable, released_reasonings

    domain, _ = corpus
    payload = json.dumps({QUERY: REASONING}).encode()
    entry = dataclasses.replace(RELEASED["tongsearch-qr-1.5b"], sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(RELEASED, entry.name, entry)
    entry.cached_path(None).parent.mkdir(parents=True)
    entry.cached_path(None).write_bytes(payload)
    released_reasonings.cache_clear()
    try:
        assert released_reasoning(entry.name, domain, " ".join(QUERY.split(" "))) == REASONING
        with pytest.raises(ReleasedUnavailable, match="no reasoning for this query"):
            released_reasoning(entry.name, domain, "a question nobody released a reasoning for")
        with pytest.raises(ReleasedUnavailable, match="cover BRIGHT's 12 domains"):  # "toy" is not a BRIGHT domain
            released_reasoning("bright-gpt4", domain, QUERY)
    finally:
        released_reasonings.cache_clear()


def test_labels_say_what_a_visitor_is_looking_at():
    from tsqr.app.choices import checked_source, labelled_models, looking_at

    assert ("SmolLM2-135M, untrained (offline placeholder)", "default") in labelled_models(["default", "x/y"])
    assert ("x/y", "x/y") in labelled_models(["default", "x/y"])
    assert "untrained" in looking_at("default", "live") and "not TongSearch QR" in looking_at("default", "live")
    assert "TongSearch-QR-7B" in looking_at("default", "tongsearch-qr-7b") and "without generating" in \
        looking_at("default", "tongsearch-qr-7b")
    assert "(trained)" in looking_at("TongSearch/TongSearch-QR-1.5B", "live")
    with pytest.raises(ValueError, match="unknown reasoning source"):
        checked_source("http://example.com/reasonings.json")


def test_the_cost_line_names_the_retriever_and_a_cut_reasoning_says_so():
    from tsqr.app.render import cost_markdown
    from tsqr.reasoner import CacheRow

    def row(new_tokens):
        return CacheRow("k", "q", "t", "m", "x", {"max_new_tokens": 64}, new_tokens=new_tokens, seconds=2.0)

    cut = cost_markdown(row(64), True, "CPU", "dense", 0.0123)
    assert "64 tokens in 2.0 s (32.0 tokens/s) on CPU; dense 12.3 ms" in cut and "Cut at the token limit" in cut
    assert "Cut" not in cost_markdown(row(40), False, "CPU", "BM25", 0.001)
    assert cost_markdown(None, False, "CPU", "hybrid", 0.002, released="TongSearch-QR-7B") == \
        "_Cost: no generation (TongSearch-QR-7B); hybrid 2.0 ms._"


def test_a_reasoning_that_made_things_worse_says_so(corpus):
    from tsqr.app.render import scores_markdown

    documents = [Document("gold", "the moon pulls the tides")] + [Document(f"n{i}", f"weather report {i}")
                                                                  for i in range(3)]
    domain = Domain("tides", [Example("q", "why do tides follow the moon", ("gold",))], documents)
    index = Index.build(documents, progress=False)
    worse = compare(domain, index, "why do tides follow the moon", "weather report", k=4)
    assert worse.reasoned.ndcg < worse.raw.ndcg and "made this query worse" in scores_markdown(worse)
    better = compare(*corpus, QUERY, REASONING, k=10)
    assert better.reasoned.ndcg > better.raw.ndcg and "worse" not in scores_markdown(better)


def test_labels_are_cut_at_a_word_boundary_and_errors_listed_one_per_line():
    from tsqr.app.render import clip_words, error_markdown

    assert clip_words("q1: why does  my\nsourdough starter smell", 24) == "q1: why does my\u2026"
    assert clip_words("short one", 24) == "short one"
    assert clip_words("x" * 30, 10) == "x" * 9 + "\u2026"  # one long word: cut inside it
    assert error_markdown("examples.jsonl: row 2: no id") == "**Error**: examples.jsonl: row 2: no id"
    assert error_markdown("a.jsonl: row 1: x\na.jsonl: row 4: y\n") == \
        "**Error**:\n- a.jsonl: row 1: x\n- a.jsonl: row 4: y"


def test_background_work_reports_its_progress_and_hands_back_its_value_or_error():
    import threading

    from tsqr.app.background import Background

    counted, release = threading.Event(), threading.Event()

    def work(on_progress):
        on_progress(0, 2500)
        on_progress(500, 2500)
        counted.set()
        release.wait(30)
        on_progress(1000, 2500)
        counted.set()
        release.wait(30)
        return "built"

    running = Background(work)
    assert counted.wait(30)
    assert running.figure() == "500/2,500 documents"  # one batch gives no rate yet
    counted.clear()
    release.set()
    assert counted.wait(30)
    assert running.figure().startswith("1,000/2,500 documents, about ") and running.figure().endswith(" s left")
    assert running.result() == "built" and list(running.figures(0.01)) == []  # finished: no more figures

    def failing(on_progress):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        Background(failing).result()

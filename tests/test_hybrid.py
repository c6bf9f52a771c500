"""Hybrid retrieval: fusion of whole-corpus score vectors worked out by hand, then BM25 + MiniLM end to end
against a fusion the test computes itself from each retriever's own scores."""
from __future__ import annotations

import numpy as np
import pytest

from tsqr.bm25 import Index
from tsqr.fusion import fuse_scores
from tsqr.records import Document
from tsqr.retrieval import DenseRetriever, HybridRetriever, build_retriever

BM25 = np.array([3.0, 2.0, 1.0, 0.0, 0.0], dtype=np.float32)
DENSE = np.array([0.1, 0.9, 0.5, 0.2, 0.3], dtype=np.float32)


def order(fused: np.ndarray) -> list[int]:
    return sorted(range(len(fused)), key=lambda i: (-fused[i], i))


def test_rrf_of_score_vectors_by_hand() -> None:
    fused = fuse_scores([BM25, DENSE], [0.5, 0.5], "rrf")
    # BM25 ranks 1 2 3 4 4 (the two zeros share rank 4), dense ranks 5 1 2 4 3
    expected = [0.5 / 61 + 0.5 / 65, 0.5 / 62 + 0.5 / 61, 0.5 / 63 + 0.5 / 62, 0.5 / 64 + 0.5 / 64,
                0.5 / 64 + 0.5 / 63]
    assert fused.tolist() == pytest.approx(expected, rel=1e-12)
    assert order(fused) == [1, 2, 0, 4, 3]  # second in BM25 and first in dense beats first in BM25, last in dense
    assert order(fuse_scores([BM25, DENSE], [1.0, 0.0], "rrf")) == [0, 1, 2, 3, 4]
    assert order(fuse_scores([BM25, DENSE], [0.0, 1.0], "rrf", k=0)) == [1, 2, 4, 3, 0]


def test_min_max_score_fusion_by_hand() -> None:
    # BM25 stretched: 1, 2/3, 1/3, 0, 0; dense stretched: 0, 1, 1/2, 1/8, 1/4
    even = fuse_scores([BM25, DENSE], [0.5, 0.5], "score")
    assert even.tolist() == pytest.approx([0.5, 5 / 6, 5 / 12, 1 / 16, 1 / 8])
    assert order(even) == [1, 0, 2, 4, 3]
    dense_heavy = fuse_scores([BM25, DENSE], [0.1, 0.9], "score")
    assert dense_heavy.tolist() == pytest.approx([0.1, 0.1 * 2 / 3 + 0.9, 0.1 / 3 + 0.45, 0.9 / 8, 0.9 / 4])
    assert order(dense_heavy) == [1, 2, 4, 3, 0]
    constant = fuse_scores([np.zeros(5), DENSE], [0.5, 0.5], "score")  # a query BM25 matches nowhere
    assert constant.tolist() == pytest.approx([0.0, 0.5, 0.25, 1 / 16, 1 / 8])


def test_excluded_documents_move_nobody_else() -> None:
    excluded = np.array([1])
    rrf = fuse_scores([BM25, DENSE], [0.5, 0.5], "rrf", excluded=excluded)
    # without document 1: BM25 ranks 1 - 2 3 3, dense ranks 4 - 1 3 2
    assert rrf[1] == -np.inf
    assert [rrf[i] for i in (0, 2, 3, 4)] == pytest.approx([0.5 / 61 + 0.5 / 64, 0.5 / 62 + 0.5 / 61,
                                                            0.5 / 63 + 0.5 / 63, 0.5 / 63 + 0.5 / 62])
    score = fuse_scores([BM25, DENSE], [0.5, 0.5], "score", excluded=excluded)
    # dense min and max now 0.1 and 0.5: 0, -, 1, 1/4, 1/2
    assert [score[i] for i in (0, 2, 3, 4)] == pytest.approx([0.5, 0.5 / 3 + 0.5, 0.125, 0.25])
    assert np.all(fuse_scores([BM25], [1.0], "score", excluded=np.arange(5)) == -np.inf)


def test_fuse_scores_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown fusion method 'max'"):
        fuse_scores([BM25], [1.0], "max")
    with pytest.raises(ValueError, match="one weight per score vector"):
        fuse_scores([BM25, DENSE], [1.0])
    with pytest.raises(ValueError, match="differ in length"):
        fuse_scores([BM25, DENSE[:3]], [0.5, 0.5])
    with pytest.raises(ValueError, match="weights must be >= 0"):
        fuse_scores([BM25], [-1.0])


DOCUMENTS = [
    Document("pasta", "Boil the pasta in salted water for ten minutes, then drain it."),
    Document("both", "Cats purr by rapidly twitching the muscles of the larynx, which makes the vocal folds vibrate."),
    Document("lexical", "Purr is the name of our cafe: purr latte, purr muffins and purr cookies every morning."),
    Document("semantic", "A contented feline makes a low rumbling vibration from its voice box."),
    Document("markets", "Stock markets fell sharply after the central bank raised interest rates."),
    Document("dogs", "Dogs wag their tails when they are happy to see their owners."),
]
QUERY = "why does my cat purr"


@pytest.fixture(scope="module")
def retrievers(tmp_path_factory):
    index = Index.build(DOCUMENTS, progress=False)
    dense = DenseRetriever(DOCUMENTS, "default", cache=tmp_path_factory.mktemp("embeddings"), progress=False)
    return index, dense


def by_hand(bm25: np.ndarray, dense: np.ndarray, weight: float) -> list[str]:
    """RRF over the whole corpus, the slow obvious way: rank = 1 + how many score strictly higher."""
    def rank(scores, i):
        return 1 + sum(1 for s in scores if s > scores[i])

    fused = [(1 - weight) / (60 + rank(bm25, i)) + weight / (60 + rank(dense, i)) for i in range(len(bm25))]
    return [DOCUMENTS[i].id for i in sorted(range(len(fused)), key=lambda i: (-fused[i], i))]


@pytest.mark.slow
def test_hybrid_puts_the_document_both_retrievers_like_first(retrievers) -> None:
    index, dense = retrievers
    hybrid = HybridRetriever(index, dense)
    hits = hybrid.search(QUERY, k=len(DOCUMENTS))
    assert hits[0].doc_id == "both"
    assert index.search(QUERY, k=2)[0].doc_id in ("both", "lexical") and dense.search(QUERY, k=2)[0].doc_id in (
        "both", "semantic")
    for weight in (0.0, 0.3, 0.5, 1.0):
        got = HybridRetriever(index, dense, weight=weight).search(QUERY, k=len(DOCUMENTS))
        assert [h.doc_id for h in got] == by_hand(index.scores(QUERY), dense.scores(QUERY), weight)
    assert [h.doc_id for h in HybridRetriever(index, dense, weight=1.0).search(QUERY, k=4)] == \
        [h.doc_id for h in dense.search(QUERY, k=4)]
    assert [h.doc_id for h in HybridRetriever(index, dense, "score", weight=0.0).search(QUERY, k=3)] == \
        [h.doc_id for h in index.search(QUERY, k=3)]


@pytest.mark.slow
def test_hybrid_excludes_before_the_cut_and_batches_like_single_searches(retrievers) -> None:
    index, dense = retrievers
    hybrid = HybridRetriever(index, dense, method="score", weight=0.6)
    full = [h.doc_id for h in hybrid.search(QUERY, k=len(DOCUMENTS))]
    top2 = hybrid.search(QUERY, k=2, exclude=["both"])
    assert len(top2) == 2 and "both" not in [h.doc_id for h in top2]
    assert hybrid.search(QUERY, k=10, exclude=full) == []
    queries = [QUERY, "interest rates and the stock market", "cooking noodles"]
    runs = hybrid.search_many(queries, k=3, excludes=[["both"], [], ["pasta"]], progress=False)
    singles = [hybrid.search(q, k=3, exclude=e) for q, e in zip(queries, [["both"], [], ["pasta"]])]
    # a query encoded in a batch is padded, which moves its vector in the 7th digit, never its ranking here
    assert [[h.doc_id for h in run] for run in runs] == [[h.doc_id for h in run] for run in singles]
    assert [h.score for run in runs for h in run] == pytest.approx([h.score for run in singles for h in run],
                                                                   abs=1e-5)
    assert runs[1][0].doc_id == "markets" and "pasta" not in [h.doc_id for h in runs[2]]


@pytest.mark.slow
def test_hybrid_refuses_mismatched_corpora_and_bad_options(retrievers, tmp_path) -> None:
    index, dense = retrievers
    other = Index.build(DOCUMENTS[::-1], progress=False)
    with pytest.raises(ValueError, match="same corpus in the same order"):
        HybridRetriever(other, dense)
    with pytest.raises(ValueError, match="unknown hybrid method 'sum'"):
        HybridRetriever(index, dense, method="sum")
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got 1.5"):
        HybridRetriever(index, dense, weight=1.5)
    with pytest.raises(ValueError, match="unknown BM25 scoring"):
        HybridRetriever(index, dense, scoring="tfidf")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):  # refused before any document is embedded
        build_retriever("hybrid", DOCUMENTS, bm25_index=index, weight=-0.1, cache=tmp_path)
    assert not any(tmp_path.iterdir())
    built = build_retriever("hybrid", DOCUMENTS, bm25_index=index, method="score", weight=0.25, cache=tmp_path,
                            progress=False)
    assert isinstance(built, HybridRetriever) and built.bm25 is index
    assert (built.method, built.weight) == ("score", 0.25)

"""tsqr.bm25 scoring and ranking, checked against independent references on corpora the tests generate.

- "bright" against gensim's LuceneBM25Model + SparseMatrixSimilarity used exactly as BRIGHT's retrieval_bm25
  uses them (and BRIGHT's own sort-and-cut ranking);
- "classic" against a plain Python loop over Lucene's BM25 formula;
- "rank_bm25" against rank_bm25's own BM25Okapi.get_scores.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from conftest import require_reference

from tsqr.bm25 import Index, rank_indices
from tsqr.records import Document

K1, B = 0.9, 0.4


def zipf_corpus(seed: int = 7, n_docs: int = 300) -> tuple[list[str], list[list[str]], list[str]]:
    """Random Zipfian documents: heavy term repetition, some empty documents, unicode terms.
    Returns (doc ids, token lists, the word list queries draw from)."""
    rng = np.random.default_rng(seed)
    words = [f"t{i}" for i in range(2000)] + ["café", "naïve", "日本", "straße", "ελληνικά", "🙂"]
    rng.shuffle(words)
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.07
    weights /= weights.sum()
    token_lists = []
    for position in range(n_docs):
        length = 0 if position % 41 == 5 else int(rng.integers(1, 400))
        token_lists.append([str(w) for w in rng.choice(words, size=length, p=weights)])
    token_lists.append(list(token_lists[10]))  # an exact duplicate of an earlier document: a guaranteed tie
    doc_ids = [f"doc-{i:03d}" for i in range(len(token_lists))]
    return doc_ids, token_lists, words


def random_queries(words: list[str], seed: int = 11, n: int = 40) -> list[list[str]]:
    """Short and reasoning-length queries with repeated terms, out-of-vocabulary terms, and one empty query."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(words) + 1) ** 0.9
    weights /= weights.sum()
    queries = [[], ["never-seen-term"]]
    for i in range(n):
        length = int(rng.integers(1, 8)) if i % 2 else int(rng.integers(200, 600))
        query = [str(w) for w in rng.choice(words, size=length, p=weights)]
        query.append(f"oov-{i}")
        queries.append(query)
    return queries


@pytest.fixture(scope="module")
def corpus():
    return zipf_corpus()


@pytest.fixture(scope="module")
def index(corpus):
    doc_ids, token_lists, _ = corpus
    return Index.from_tokens(doc_ids, token_lists, k1=K1, b=B)


@pytest.fixture(scope="module")
def gensim_bright(corpus):
    """BRIGHT's retrieval_bm25 pipeline on our tokens: returns query tokens -> similarities."""
    require_reference("gensim", "gensim, the reference for BRIGHT's BM25 (pip install gensim)")
    from gensim.corpora import Dictionary
    from gensim.models import LuceneBM25Model
    from gensim.similarities import SparseMatrixSimilarity

    _, token_lists, _ = corpus
    dictionary = Dictionary(token_lists)
    model = LuceneBM25Model(dictionary=dictionary, k1=K1, b=B)
    similarity = SparseMatrixSimilarity(model[list(map(dictionary.doc2bow, token_lists))], num_docs=len(token_lists),
                                        num_terms=len(dictionary), normalize_queries=False, normalize_documents=False)
    return lambda tokens: similarity[model[dictionary.doc2bow(tokens)]]


def bright_ranking(doc_ids, similarities, excluded, cut=1000):
    """BRIGHT's ranking, as retrieval_bm25 writes it: a dict, excluded ids popped, stable sort, top 1000."""
    scores = dict(zip(doc_ids, similarities.tolist()))
    for doc_id in set(excluded):
        scores.pop(doc_id)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)[:cut]


def test_bright_scores_and_rankings_equal_gensim_used_the_bright_way(corpus, index, gensim_bright):
    doc_ids, _, words = corpus
    for number, query in enumerate(random_queries(words)):
        expected = gensim_bright(query)
        got = index.scores(query)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=0, err_msg=f"query {number}")
        excluded = doc_ids[number % 7:: 29]
        for cut in (1000, 10):
            hits = index.search(query, k=cut, exclude=excluded)
            assert [(h.doc_id, h.score) for h in hits] == bright_ranking(doc_ids, expected, excluded, cut), number


def test_every_query_term_matters_and_unknown_terms_do_not(index, corpus):
    _, token_lists, _ = corpus
    query = token_lists[3][:20]
    baseline = index.scores(query)
    assert baseline.max() > 0
    np.testing.assert_array_equal(index.scores(query + ["nowhere-in-corpus"] * 5), baseline)
    assert not np.array_equal(index.scores(query + [token_lists[4][0]]), baseline)
    np.testing.assert_array_equal(index.scores([]), np.zeros(len(token_lists), dtype=np.float32))


def classic_by_loop(token_lists, query, k1=K1, b=B):
    """Lucene BM25, term by term: idf = log(1 + (N - df + 0.5) / (df + 0.5)), each query token occurrence adds
    idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))."""
    n = len(token_lists)
    avgdl = sum(len(tokens) for tokens in token_lists) / n
    df = Counter(term for tokens in token_lists for term in set(tokens))
    scores = []
    for tokens in token_lists:
        tf = Counter(tokens)
        score = 0.0
        for term in query:
            if tf[term]:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(tokens) / avgdl))
        scores.append(score)
    return np.array(scores)


def test_classic_scores_equal_a_loop_over_the_lucene_formula(corpus, index):
    _, token_lists, words = corpus
    for query in random_queries(words, seed=3, n=6):
        np.testing.assert_allclose(index.scores(query, scoring="classic"), classic_by_loop(token_lists, query),
                                   rtol=1e-5, atol=1e-12)


def test_bright_differs_from_classic_by_weighting_the_query(index, corpus):
    _, token_lists, _ = corpus
    query = token_lists[7][:50]
    assert not np.allclose(index.scores(query), index.scores(query, scoring="classic"), rtol=1e-3)


def test_rank_bm25_backend_equals_rank_bm25_itself(corpus, index):
    from rank_bm25 import BM25Okapi

    _, token_lists, words = corpus
    reference = BM25Okapi(token_lists, k1=K1, b=B)
    for query in random_queries(words, seed=5, n=4):
        np.testing.assert_allclose(index.scores(query, scoring="rank_bm25"), reference.get_scores(query),
                                   rtol=1e-10, atol=1e-12)


def test_ranking_breaks_ties_in_corpus_order_and_cuts_through_them():
    index = Index.from_tokens(["z", "b", "a", "c", "d"], [["x"], ["y", "x"], ["x"], ["x"], ["w"]])
    assert [h.doc_id for h in index.search(["x"], k=5)] == ["z", "a", "c", "b", "d"]
    assert [h.doc_id for h in index.search(["x"], k=2)] == ["z", "a"]
    assert [h.doc_id for h in index.search(["x"], k=2, exclude=["z"])] == ["a", "c"]


@pytest.mark.parametrize("seed", range(5))
def test_rank_indices_equals_a_full_stable_sort(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=200).astype(np.float32)  # many ties
    excluded = rng.choice(200, size=15, replace=False)
    expected = [i for i in sorted(range(200), key=lambda i: -scores[i]) if i not in set(excluded.tolist())]
    for k in (1, 7, 50, 185, 500):
        assert rank_indices(scores, k, excluded).tolist() == expected[:k]
        assert rank_indices(scores, k).tolist() == sorted(range(200), key=lambda i: -scores[i])[:k]


def test_exclusion_happens_before_the_cut(index, corpus):
    doc_ids, token_lists, _ = corpus
    query = token_lists[20][:30]
    full = index.search(query, k=len(doc_ids))
    top3 = [h.doc_id for h in full[:3]]
    hits = index.search(query, k=5, exclude=top3 + ["not-a-doc"])
    assert hits == full[3:8]
    assert len(index.search(query, k=10_000, exclude=top3)) == len(doc_ids) - 3
    assert index.search(query, k=10, exclude=top3[0])[0] == full[1]  # a lone id string, not its characters


def test_search_many_equals_search_query_by_query(index, corpus):
    doc_ids, token_lists, _ = corpus
    queries = [token_lists[1][:10], token_lists[2][:40], []]
    excludes = [doc_ids[:2], (), doc_ids[5:9]]
    many = index.search_many(queries, k=20, excludes=excludes, scoring="classic", progress=False)
    assert many == [index.search(q, 20, ex, "classic") for q, ex in zip(queries, excludes)]


def test_build_analyzes_text_with_tsqr_analyzer():
    from tsqr.bm25.analysis import Analyzer

    documents = [Document("d1", "Cats are running through the gardens."), Document("d2", "A dog sleeps."),
                 Document("d3", ""), Document("d4", "The garden's cat runs; cats RUN!")]
    index = Index.build(documents, progress=False)
    assert [h.doc_id for h in index.search("running cat", k=2)] == ["d4", "d1"]
    analyzer = Analyzer()
    same = Index.from_tokens([d.id for d in documents], analyzer.analyze_many([d.content for d in documents]))
    for query in ("running cat", "sleeping dogs in gardens", "the"):
        np.testing.assert_array_equal(index.scores(query), same.scores(query))
    assert index.scores("the").max() == 0  # a stop word leaves nothing to search with


def test_bad_input_gets_clear_errors(index):
    with pytest.raises(ValueError, match="empty corpus"):
        Index.from_tokens([], [])
    with pytest.raises(ValueError, match="empty corpus"):
        Index.build([])
    with pytest.raises(ValueError, match="duplicate document id 'a' at positions 0 and 2"):
        Index.from_tokens(["a", "b", "a"], [["x"], ["y"], ["z"]])
    with pytest.raises(TypeError, match="token_lists\\[1\\] is a str"):
        Index.from_tokens(["a", "b"], [["x"], "y z"])
    with pytest.raises(TypeError, match="position 1"):
        Index.from_tokens(["a", 2], [["x"], ["y"]])
    with pytest.raises(ValueError, match="2 document ids but 1 token lists"):
        Index.from_tokens(["a", "b"], [["x"]])
    with pytest.raises(TypeError, match="documents\\[1\\]"):
        Index.build([Document("a", "text"), ("b", "text")])
    for k in (0, -3):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            index.search(["t1"], k=k)
    with pytest.raises(ValueError, match="unknown scoring 'bm42'"):
        index.scores(["t1"], scoring="bm42")
    with pytest.raises(ValueError, match="unknown scoring"):
        index.search_many([["t1"]], scoring="bm42", progress=False)
    with pytest.raises(ValueError, match="2 queries but 1 exclusion lists"):
        index.search_many([["t1"], ["t2"]], excludes=[()], progress=False)


def test_a_vocabulary_gensim_would_prune_is_kept_with_a_warning(monkeypatch):
    from tsqr.bm25 import counts as bm25_counts

    monkeypatch.setattr(bm25_counts, "GENSIM_PRUNE_AT", 3)
    with pytest.warns(UserWarning, match="would have pruned the vocabulary to 3"):
        index = Index.from_tokens(["a", "b"], [["w1", "w2"], ["w3", "w4", "w1"]])
    assert index.counts.vocabulary == ["w1", "w2", "w3", "w4"]
    assert index.search(["w4"], k=1)[0].doc_id == "b"


# -- edges mutation testing found unguarded (tests/README.md) ----------------------------------------------
def test_parameters_in_range_are_accepted_and_others_refused():
    for k1, b in ((0.0, 0.0), (0.5, 1.0), (2.0, 0.3)):
        index = Index.from_tokens(["d1", "d2"], [["a", "b"], ["a"]], k1=k1, b=b)
        assert (index.k1, index.b) == (k1, b)
    for k1, b in ((-0.1, 0.4), (0.9, -0.1), (0.9, 1.5), (-1.0, 2.0)):
        with pytest.raises(ValueError, match="k1 >= 0 and 0 <= b <= 1"):
            Index.from_tokens(["d1"], [["a"]], k1=k1, b=b)


def test_a_single_document_corpus_and_trailing_empty_documents():
    single = Index.build([Document("only", "Cats purr.")], progress=False)
    assert [hit.doc_id for hit in single.search("cat", k=5)] == ["only"]
    tail = Index.from_tokens(["a", "b", "c"], [["x"], [], []])
    assert tail.scores("x".split()).shape == (3,) and len(tail.search(["x"], k=3)) == 3


def test_weights_are_float32_as_gensim_stores_them():
    index = Index.from_tokens(["d1", "d2"], [["a", "b"], ["a"]])
    assert index.weights.dtype == np.float32 and index.scores(["a"]).dtype == np.float32
    assert index.scores(["a"], "classic").dtype == np.float64


def test_defaults_return_a_thousand_hits_and_every_scoring_reaches_the_ranking():
    index = Index.from_tokens([f"d{i}" for i in range(1001)], [["x"] * (1 + i % 3) for i in range(1001)])
    assert len(index.search(["x"])) == 1000
    assert [len(hits) for hits in index.search_many([["x"], ["y"]], progress=False)] == [1000, 1000]
    assert index.search_many([["x", "x"]], k=5, progress=False) == [index.search(["x", "x"], k=5)]
    classic = index.search(["x", "x"], k=3, scoring="classic")
    assert [hit.score for hit in classic] == sorted(index.scores(["x", "x"], "classic").tolist(), reverse=True)[:3]
    assert classic != index.search(["x", "x"], k=3)


def test_excluding_every_document_leaves_nothing():
    index = Index.from_tokens(["d1", "d2"], [["a"], ["b"]])
    assert index.search(["a"], k=5, exclude=["d1", "d2"]) == []


def test_from_tokens_keeps_its_analyzer_and_an_all_empty_corpus_scores_zeros():
    from tsqr.bm25.analysis import Analyzer

    unstemmed = Analyzer(stemmer="none")
    index = Index.from_tokens(["d1"], [["dancing"]], analyzer=unstemmed)
    assert index.query_tokens("Dancing") == ["dancing"] and index.search("dancing", k=1)[0].score > 0
    empty = Index.from_tokens(["a", "b"], [[], []])
    assert empty.weights.dtype == np.float32 and empty.weights.shape == (2, 0)
    assert empty.scores(["x"]).tolist() == [0.0, 0.0] and len(empty.search(["x"], k=5)) == 2

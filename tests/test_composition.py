"""Several sampled reasonings per query: composed into one text (MuGI-style) or searched one by one and fused by
RRF, on a hand-made corpus where each sample points at one obvious document."""
from __future__ import annotations

import pytest

from tsqr.bm25 import Index
from tsqr.composition import compose_samples, sample_texts, search_samples
from tsqr.records import Document

DOCUMENTS = [
    Document("apple", "Apple orchards need cold winters before the trees blossom."),
    Document("banana", "Banana plants grow from underground corms in tropical plantations."),
    Document("cherry", "Cherry blossom festivals celebrate the short flowering season."),
    Document("grape", "Grape vines are pruned hard in winter to control the harvest."),
]


@pytest.fixture(scope="module")
def index() -> Index:
    return Index.build(DOCUMENTS, progress=False)


def test_concatenation_puts_the_query_first_in_concat_mode() -> None:
    samples = ["first sample", "  ", "second sample"]
    assert compose_samples("the query", samples, mode="concat") == "the query first sample second sample"
    assert compose_samples("the query", samples, mode="concat", repeat=2) == \
        "the query the query first sample second sample"
    assert compose_samples("the query", samples, mode="replace") == "first sample second sample"
    assert compose_samples("the query", ["", " "], mode="replace") == "the query"  # nothing usable: the query
    assert compose_samples("the query", [], mode="concat") == "the query"
    assert sample_texts("q", ["a", "", "b"], mode="concat") == ["q a", "q b"]
    assert sample_texts("q", [], mode="replace") == ["q"]
    with pytest.raises(TypeError, match="not one string"):
        compose_samples("q", "a single reasoning")
    with pytest.raises(ValueError, match="unknown compose mode"):
        compose_samples("q", ["a"], mode="append")


def test_rrf_ranks_first_what_most_samples_find(index) -> None:
    # two samples point at the apple document, one at the cherry document, none at the others
    samples = ["apple orchards in winter", "apple trees", "cherry blossom festival"]
    [fused] = search_samples(index, ["which fruit?"], [samples], k=4, combine="rrf")
    assert [h.doc_id for h in fused[:2]] == ["apple", "cherry"]
    runs = [index.search(text, k=4) for text in samples]
    rank = {sample: {h.doc_id: r for r, h in enumerate(run, start=1)} for sample, run in zip(samples, runs)}
    assert fused[0].score == pytest.approx(sum(1 / (60 + rank[s]["apple"]) for s in samples))


def test_concat_searches_one_text_made_of_every_sample(index) -> None:
    samples = ["grape vines", "pruned in winter", ""]
    [hits] = search_samples(index, ["which plant?"], [samples], k=2, combine="concat", mode="concat")
    assert hits == index.search("which plant? grape vines pruned in winter", k=2)
    assert hits[0].doc_id == "grape"


def test_excluded_ids_never_come_back_and_k_results_do(index) -> None:
    samples = ["apple orchards", "apple blossom"]
    for combine in ("rrf", "concat"):
        runs = search_samples(index, ["q1", "q2"], [samples, []], k=3, excludes=[["apple"], ["banana"]],
                              combine=combine, progress=False)
        assert len(runs[0]) == 3 and "apple" not in [h.doc_id for h in runs[0]]
        assert len(runs[1]) == 3 and "banana" not in [h.doc_id for h in runs[1]]
    # a query without samples is searched as itself
    [alone] = search_samples(index, ["banana plantations"], [[]], k=1, combine="rrf")
    assert alone[0].doc_id == "banana"


def test_bad_arguments_are_refused(index) -> None:
    with pytest.raises(ValueError, match="unknown sample combination 'vote'"):
        search_samples(index, ["q"], [["a"]], combine="vote")
    with pytest.raises(ValueError, match="2 queries but 1 lists of reasonings"):
        search_samples(index, ["q", "r"], [["a"]])
    with pytest.raises(ValueError, match="1 queries but 2 exclusion lists"):
        search_samples(index, ["q"], [["a"]], excludes=[[], []])

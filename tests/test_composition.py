"""tsqr.composition: how a reasoning meets the retriever (replace, concat, fuse), and several sampled reasonings per
query composed into one text (MuGI-style) or searched one by one and fused by RRF, on a hand-made corpus where each
sample points at one obvious document."""
from __future__ import annotations

import pytest

from tsqr.bm25 import Index
from tsqr.composition import Composition, compose_query, compose_samples, sample_texts
from tsqr.fusion import reciprocal_rank_fusion
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


def test_replace_searches_with_the_reasoning_alone_and_falls_back_to_the_query_when_blank():
    assert compose_query("tides?", "The moon pulls the ocean.") == "The moon pulls the ocean."
    assert compose_query("tides?", "  \n") == "tides?"
    assert compose_query("tides?", "The moon.", "fuse") == "The moon."  # fuse searches the reasoning alone


def test_concat_repeats_the_query_before_the_reasoning():
    assert compose_query("tides?", "moon gravity", "concat") == "tides? moon gravity"
    assert compose_query("tides?", "moon gravity", "concat", repeat=3) == "tides? tides? tides? moon gravity"
    assert compose_query("tides?", "", "concat", repeat=2) == "tides? tides?"


@pytest.mark.parametrize("composition, repeat, message", [("append", 1, "unknown composition 'append'; choose one "
                                                                        "of replace, concat, fuse"),
                                                           ("concat", 0, "repeat must be at least 1")])
def test_bad_compositions_are_refused(composition, repeat, message):
    with pytest.raises(ValueError, match=message):
        compose_query("q", "r", composition, repeat)
    with pytest.raises(ValueError, match=message):
        Composition(composition, repeat)


def test_concatenation_puts_the_query_first_in_concat_mode() -> None:
    samples = ("first sample", "  ", "second sample")
    assert compose_samples("the query", samples, "concat") == "the query first sample second sample"
    assert compose_samples("the query", samples, "concat", repeat=2) == \
        "the query the query first sample second sample"
    assert compose_samples("the query", samples, "replace") == "first sample second sample"
    assert compose_samples("the query", ("", " "), "replace") == "the query"  # nothing usable: the query
    assert compose_samples("the query", (), "concat") == "the query"
    assert sample_texts("q", ("a", "", "b"), "concat") == ["q a", "q b"]
    assert sample_texts("q", (), "replace") == ["q"]
    with pytest.raises(TypeError, match="not one string"):
        compose_samples("q", "a single reasoning")


def test_rrf_ranks_first_what_most_samples_find(index) -> None:
    # two samples point at the apple document, one at the cherry document, none at the others
    samples = ("apple orchards in winter", "apple trees", "cherry blossom festival")
    [fused] = Composition(combination="rrf").search(index, ["which fruit?"], [samples], k=4)
    assert [h.doc_id for h in fused[:2]] == ["apple", "cherry"]
    runs = [index.search(text, k=4) for text in samples]
    rank = {sample: {h.doc_id: r for r, h in enumerate(run, start=1)} for sample, run in zip(samples, runs)}
    assert fused[0].score == pytest.approx(sum(1 / (60 + rank[s]["apple"]) for s in samples))


def test_one_sample_is_searched_as_it_is_whatever_the_combination(index) -> None:
    [alone] = Composition(combination="rrf").search(index, ["which fruit?"], [("apple trees",)], k=4)
    assert alone == index.search("apple trees", k=4)


def test_concat_searches_one_text_made_of_every_sample(index) -> None:
    samples = ("grape vines", "pruned in winter", "")
    [hits] = Composition("concat").search(index, ["which plant?"], [samples], k=2)
    assert hits == index.search("which plant? grape vines pruned in winter", k=2)
    assert hits[0].doc_id == "grape"


def test_fuse_merges_the_reasoned_run_with_the_raw_run(index) -> None:
    raw = index.search("cherry blossom", k=4)
    [fused] = Composition("fuse").search(index, ["cherry blossom"], [("apple orchards",)], k=4, raw_runs=[raw])
    assert fused == reciprocal_rank_fusion([raw, index.search("apple orchards", k=4)], depth=4)
    with pytest.raises(ValueError, match="fuse composition needs the raw run"):
        Composition("fuse").search(index, ["q"], [("a",)])


def test_excluded_ids_never_come_back_and_k_results_do(index) -> None:
    samples = ("apple orchards", "apple blossom")
    for combination in ("rrf", "concat"):
        runs = Composition(combination=combination).search(index, ["q1", "q2"], [samples, ()], k=3,
                                                           excludes=[["apple"], ["banana"]], progress=False)
        assert len(runs[0]) == 3 and "apple" not in [h.doc_id for h in runs[0]]
        assert len(runs[1]) == 3 and "banana" not in [h.doc_id for h in runs[1]]
    # a query without samples is searched as itself
    [alone] = Composition(combination="rrf").search(index, ["banana plantations"], [()], k=1)
    assert alone[0].doc_id == "banana"


def test_bad_arguments_are_refused(index) -> None:
    with pytest.raises(ValueError, match="unknown sample combination 'vote'"):
        Composition(combination="vote")
    with pytest.raises(ValueError, match="2 queries but 1 tuples of samples"):
        Composition().search(index, ["q", "r"], [("a",)])
    with pytest.raises(ValueError, match="1 queries but 2 exclusion lists"):
        Composition().search(index, ["q"], [("a",)], excludes=[[], []])

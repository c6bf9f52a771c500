"""Reciprocal-rank fusion on hand-made rankings whose fused order and scores are worked out by hand."""
from __future__ import annotations

import pytest

from tsqr.fusion import reciprocal_rank_fusion
from tsqr.records import Hit


def hits(*doc_ids: str) -> list[Hit]:
    """A ranking of the given ids, best first, with made-up decreasing scores (RRF ignores them)."""
    return [Hit(doc_id, 100.0 - rank) for rank, doc_id in enumerate(doc_ids)]


def test_two_rankings_fuse_by_sum_of_reciprocal_ranks():
    fused = reciprocal_rank_fusion([hits("d1", "d2", "d3"), hits("d3", "d1", "d4")])
    # d1: ranks 1 and 2; d3: ranks 3 and 1; d2: rank 2 only; d4: rank 3 only
    assert [h.doc_id for h in fused] == ["d1", "d3", "d2", "d4"]
    assert [h.score for h in fused] == pytest.approx([1 / 61 + 1 / 62, 1 / 63 + 1 / 61, 1 / 62, 1 / 63], rel=1e-15)


def test_scores_ignore_the_input_scores_and_use_k():
    low = [Hit("a", 0.001), Hit("b", 0.0005)]
    high = [Hit("b", 900.0), Hit("c", 800.0)]
    fused = reciprocal_rank_fusion([low, high], k=1)
    assert [(h.doc_id, h.score) for h in fused] == [("b", pytest.approx(1 / 3 + 1 / 2)), ("a", pytest.approx(1 / 2)),
                                                    ("c", pytest.approx(1 / 3))]


def test_ties_go_to_the_better_best_rank_then_the_smaller_id():
    # with k=0: n scores 1/1, z scores 1/1, m scores 1/2 + 1/2 = 1 -> a three-way tie at exactly 1.0
    first, second = hits("n", "m"), hits("z", "m")
    expected = [("n", 1.0), ("z", 1.0), ("m", 1.0)]
    assert [tuple(h) for h in reciprocal_rank_fusion([first, second], k=0)] == expected
    assert [tuple(h) for h in reciprocal_rank_fusion([second, first], k=0)] == expected


def test_a_single_ranking_keeps_its_order():
    ranking = hits("q", "c", "x", "a")
    fused = reciprocal_rank_fusion([ranking])
    assert [h.doc_id for h in fused] == ["q", "c", "x", "a"]
    assert [h.score for h in fused] == pytest.approx([1 / 61, 1 / 62, 1 / 63, 1 / 64])


def test_depth_cuts_the_fused_list_and_duplicates_count_once():
    fused = reciprocal_rank_fusion([hits("a", "b", "a", "c"), hits("c", "b")], depth=2)
    # a: rank 1 only (its repeat at rank 3 is ignored); b: 2 + 2; c: 4 + 1
    assert [h.doc_id for h in fused] == ["b", "c"]
    assert fused[0].score == pytest.approx(2 / 62)
    assert fused[1].score == pytest.approx(1 / 64 + 1 / 61)


def test_runs_fuse_query_by_query_over_every_query_id():
    raw = {"q1": hits("a", "b"), "q2": hits("x")}
    reasoned = {"q1": hits("b", "c"), "q3": hits("y", "z")}
    fused = reciprocal_rank_fusion([raw, reasoned])
    assert list(fused) == ["q1", "q2", "q3"]
    assert [h.doc_id for h in fused["q1"]] == ["b", "a", "c"]
    assert [h.doc_id for h in fused["q2"]] == ["x"]
    assert [h.doc_id for h in fused["q3"]] == ["y", "z"]
    assert fused["q3"][0].score == pytest.approx(1 / 61)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="non-empty sequence"):
        reciprocal_rank_fusion([])
    with pytest.raises(ValueError, match="non-empty sequence"):
        reciprocal_rank_fusion({"q1": hits("a")})
    with pytest.raises(TypeError, match="mix of Runs"):
        reciprocal_rank_fusion([{"q1": hits("a")}, hits("a")])
    with pytest.raises(ValueError, match="k must be >= 0"):
        reciprocal_rank_fusion([hits("a")], k=-1)
    for depth in (0, -5, 2.5):
        with pytest.raises(ValueError, match="depth must be a positive integer"):
            reciprocal_rank_fusion([hits("a")], depth=depth)

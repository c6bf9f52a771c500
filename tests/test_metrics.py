"""tsqr.metrics against hand-computed values and against pytrec_eval itself.

The small cases are TREC text written here, with every expected value derived in the comments, so a reader
can check the conventions (tie order, gain = relevance, P@k over k, ...) without running trec_eval. The
randomized cases then demand equality with pytrec_eval, BRIGHT's own evaluator, over thousands of queries.
"""
from __future__ import annotations

import math
import random

import pytest
from conftest import require_reference

from tsqr.metrics import (
    AP, RR, Measure, P, QueryDelta, R, evaluate, mean_scores, nDCG, parse_measure, per_query_deltas, trec_order,
)
from tsqr.records import Hit
from tsqr.trec import parse_qrels, parse_run

BASIC_QRELS = """
q1 0 d1 1
q1 0 d2 1
q1 0 d3 0
q1 0 d4 1
"""
# Ranked: 1 d5 (not judged), 2 d1 (rel), 3 d3 (judged 0), 4 d2 (rel), 5 d6 (not judged); d4 never retrieved.
BASIC_RUN = """
q1 Q0 d5 1 5.0 t
q1 Q0 d1 2 4.0 t
q1 Q0 d3 3 3.0 t
q1 Q0 d2 4 2.0 t
q1 Q0 d6 5 1.0 t
"""


def _scores(qrels_text: str, run_text: str, measures, **kwargs) -> dict[str, dict[str, float]]:
    return evaluate(parse_qrels(qrels_text), parse_run(run_text), measures, **kwargs)


def test_binary_measures_by_hand():
    got = _scores(BASIC_QRELS, BASIC_RUN,
                  ["P@1", "P@5", "P@10", "R@1", "R@5", "R@100", "RR", "RR@1", "RR@2", "AP", "AP@2",
                   "nDCG@2", "nDCG@5", "nDCG"])["q1"]
    # 3 relevant documents (d1, d2, d4); relevant hits at ranks 2 and 4.
    assert got["P@1"] == 0.0
    assert got["P@5"] == pytest.approx(2 / 5)
    assert got["P@10"] == pytest.approx(2 / 10)      # divided by k although only 5 were retrieved
    assert got["R@1"] == 0.0
    assert got["R@5"] == pytest.approx(2 / 3)        # divided by all 3 relevant, retrieved or not
    assert got["R@100"] == pytest.approx(2 / 3)
    assert got["RR"] == pytest.approx(1 / 2)
    assert got["RR@1"] == 0.0                        # the first relevant hit lies below rank 1
    assert got["RR@2"] == pytest.approx(1 / 2)
    assert got["AP"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert got["AP@2"] == pytest.approx((1 / 2) / 3)  # map_cut still divides by all relevant
    # DCG = 1/log2(3) + 1/log2(5); the ideal puts the 3 relevant documents first: 1 + 1/log2(3) + 1/log2(4).
    assert got["nDCG@2"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    ideal_5 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert got["nDCG@5"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal_5)
    assert got["nDCG"] == pytest.approx(got["nDCG@5"])


def test_equal_scores_rank_by_descending_doc_id_whatever_the_file_says():
    qrels = "q 0 a 1\n"
    # All three scores tie. File order would put "a" 2nd (RR 1/2), ascending ids 1st (RR 1); trec_eval ranks
    # c, b, a, so RR = 1/3.
    run = "q Q0 b 1 1.0 t\nq Q0 a 2 1.0 t\nq Q0 c 3 1.0 t\n"
    got = _scores(qrels, run, ["RR", "P@1", "P@3", "nDCG@3"])["q"]
    assert got["RR"] == pytest.approx(1 / 3)
    assert got["P@1"] == 0.0 and got["P@3"] == pytest.approx(1 / 3)
    assert got["nDCG@3"] == pytest.approx(1 / math.log2(4))


def test_rank_column_and_list_order_are_ignored():
    hits = [Hit("d1", 0.5), Hit("d9", 3.0), Hit("d2", 0.5), Hit("d7", 2.0), Hit("d3", 0.1)]
    qrels = {"q": {"d2": 1, "d3": 2}}
    reference = evaluate(qrels, {"q": hits}, ["nDCG@3", "AP", "RR"])
    for seed in range(5):
        shuffled = hits[:]
        random.Random(seed).shuffle(shuffled)
        assert evaluate(qrels, {"q": shuffled}, ["nDCG@3", "AP", "RR"]) == reference
    # Ranked d9, d7, then the 0.5 tie as d2 before d1, then d3: d2 is rank 3.
    assert reference["q"]["RR"] == pytest.approx(1 / 3)


def test_trec_order_sorts_scores_then_ids_descending():
    hits = [Hit("a", 1.0), Hit("z", 0.0), Hit("b", 2.0), Hit("c", 1.0), Hit("é", 1.0), Hit("B", 1.0)]
    # Ties compare as UTF-8 bytes, which str ordering matches: "é" > "c" > "a" > "B".
    assert trec_order("q", hits) == ["b", "é", "c", "a", "B", "z"]
    assert trec_order("q", []) == []


def test_graded_gain_is_the_relevance_value():
    qrels = "q 0 a 2\nq 0 b 1\nq 0 c 3\nq 0 z 0\n"
    run = "q Q0 a 1 3.0 t\nq Q0 x 2 2.0 t\nq Q0 c 3 1.0 t\n"
    got = _scores(qrels, run, ["nDCG@3", "nDCG@1"])["q"]
    # DCG@3 = 2/1 + 0 + 3/log2(4) = 3.5; ideal order c, a, b: 3 + 2/log2(3) + 1/2 (2^rel-1 gains would differ).
    assert got["nDCG@3"] == pytest.approx(3.5 / (3 + 2 / math.log2(3) + 0.5))
    assert got["nDCG@1"] == pytest.approx(2 / 3)


def test_relevance_level_moves_the_relevance_threshold_but_not_ndcg_gains():
    qrels = "q 0 a 2\nq 0 b 1\nq 0 c 3\n"
    run = "q Q0 b 1 3.0 t\nq Q0 a 2 2.0 t\nq Q0 c 3 1.0 t\n"
    level_1 = _scores(qrels, run, ["P@3", "R@2", "RR", "nDCG@3"])["q"]
    level_2 = _scores(qrels, run, ["P@3", "R@2", "RR", "nDCG@3"], relevance_level=2)["q"]
    assert level_1["P@3"] == pytest.approx(1.0) and level_1["RR"] == 1.0
    # With level 2 only a and c count: b at rank 1 no longer does.
    assert level_2["P@3"] == pytest.approx(2 / 3)
    assert level_2["R@2"] == pytest.approx(1 / 2)
    assert level_2["RR"] == pytest.approx(1 / 2)
    assert level_2["nDCG@3"] == level_1["nDCG@3"]
    with pytest.raises(ValueError, match="relevance_level"):
        _scores(qrels, run, ["P@3"], relevance_level=0)


def test_negative_and_zero_relevance_are_not_relevant():
    qrels = "q 0 a -1\nq 0 b 0\nq 0 c 1\n"
    run = "q Q0 a 1 3.0 t\nq Q0 b 2 2.0 t\nq Q0 c 3 1.0 t\n"
    got = _scores(qrels, run, ["RR", "nDCG@3", "R@3", "P@2"])["q"]
    assert got["RR"] == pytest.approx(1 / 3)
    assert got["nDCG@3"] == pytest.approx(1 / math.log2(4))   # ideal = the single relevant doc at rank 1
    assert got["R@3"] == 1.0 and got["P@2"] == 0.0


def test_which_queries_are_scored_and_how_means_count_them():
    qrels = {"hit": {"d1": 1}, "judged_nonrel": {"d1": 0}, "not_in_run": {"d1": 1}, "empty_hits": {"d1": 1},
             "no_judgements": {}}
    run = {"hit": [Hit("d1", 1.0)], "judged_nonrel": [Hit("d1", 1.0)], "not_in_qrels": [Hit("d1", 1.0)],
           "empty_hits": [], "no_judgements": [Hit("d1", 1.0)]}
    per_query = evaluate(qrels, run, ["nDCG@10", "R@10"])
    # As pytrec_eval: the run's order; queries without judgements or absent from either side are left out.
    assert list(per_query) == ["hit", "judged_nonrel", "empty_hits"]
    assert per_query["hit"] == {"nDCG@10": 1.0, "R@10": 1.0}
    assert per_query["judged_nonrel"] == {"nDCG@10": 0.0, "R@10": 0.0}
    assert per_query["empty_hits"] == {"nDCG@10": 0.0, "R@10": 0.0}
    assert mean_scores(per_query) == pytest.approx({"nDCG@10": 1 / 3, "R@10": 1 / 3})
    # trec_eval -c style: average over the judged queries, the missing one counting 0.
    judged = ["hit", "judged_nonrel", "not_in_run", "empty_hits"]
    assert mean_scores(per_query, queries=judged) == pytest.approx({"nDCG@10": 1 / 4, "R@10": 1 / 4})
    assert mean_scores(per_query, queries=["hit"]) == {"nDCG@10": 1.0, "R@10": 1.0}
    assert evaluate(qrels, {}, ["nDCG@10"]) == {}
    assert mean_scores({}) == {}


def test_mean_scores_refuses_mixed_measures():
    with pytest.raises(ValueError, match="'b'.*AP"):
        mean_scores({"a": {"AP": 1.0, "RR": 1.0}, "b": {"RR": 0.5}})


def test_measure_values_and_names():
    assert nDCG @ 10 == Measure("nDCG", 10) == parse_measure("nDCG@10")
    assert {str(m) for m in (nDCG @ 10, R @ 100, P @ 5, AP, AP @ 100, RR, RR @ 10)} == \
        {"nDCG@10", "R@100", "P@5", "AP", "AP@100", "RR", "RR@10"}
    spellings = {
        "ndcg@10": "nDCG@10", "NDCG_cut_10": "nDCG@10", "ndcg_cut.10": "nDCG@10", "nDCG": "nDCG",
        "recall@100": "R@100", "recall_100": "R@100", "R.100": "R@100", "P_5": "P@5", "precision@5": "P@5",
        "map": "AP", "MAP@100": "AP@100", "map_cut_100": "AP@100", "recip_rank": "RR", "MRR@10": "RR@10",
    }
    for text, canonical in spellings.items():
        measure = parse_measure(text)
        assert str(measure) == canonical and parse_measure(str(measure)) == measure
    assert len({nDCG @ 10, parse_measure("ndcg_cut_10"), nDCG @ 5}) == 2   # hashable values


@pytest.mark.parametrize("text, message", [
    ("P", "needs a cutoff"), ("recall", "needs a cutoff"), ("ndcg_cut", "needs a cutoff"),
    ("nDCG@0", "at least 1"), ("bpref", "unknown measure"), ("nDCG@ten", "unknown measure"), ("", "unknown"),
])
def test_bad_measure_names_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_measure(text)


def test_bad_measures_and_runs_are_refused_clearly():
    with pytest.raises(ValueError, match="needs a cutoff"):
        evaluate({"q": {"a": 1}}, {"q": []}, [P])
    with pytest.raises(ValueError, match="no measures"):
        evaluate({"q": {"a": 1}}, {"q": []}, [])
    with pytest.raises(ValueError, match="positive integer"):
        nDCG @ -1
    with pytest.raises(ValueError, match="already has a cutoff"):
        (nDCG @ 10) @ 5
    with pytest.raises(ValueError, match="'q'.*'a'.*more than once"):
        evaluate({"q": {"a": 1}}, {"q": [Hit("a", 2.0), Hit("b", 1.0), Hit("a", 0.5)]}, ["AP"])
    with pytest.raises(ValueError, match="'q'.*'b'.*NaN"):
        evaluate({"q": {"a": 1}}, {"q": [Hit("a", 2.0), Hit("b", math.nan)]}, ["AP"])
    with pytest.raises(ValueError, match=r"'q'.*\(doc_id, score\) pairs.*'high'"):
        evaluate({"q": {"a": 1}}, {"q": [("a", "high")]}, ["AP"])
    with pytest.raises(ValueError, match=r"\(doc_id, score\) pairs"):
        evaluate({"q": {"a": 1}}, {"q": [("a", 1.0, "extra")]}, ["AP"])
    with pytest.raises(ValueError, match="qrels query 'q': relevance of 'a' must be an integer, got '1'"):
        evaluate({"q": {"a": "1"}}, {"q": [("a", 1.0)]}, ["AP"])


def test_pytrec_eval_style_runs_are_accepted():
    hits = {"q": [Hit("a", 1.0), Hit("b", 3.0), Hit("c", 1.0)]}
    as_mapping = {"q": {"a": 1.0, "b": 3.0, "c": 1.0}}
    qrels = {"q": {"a": 1, "c": 2}}
    assert evaluate(qrels, as_mapping, ["nDCG@2", "AP"]) == evaluate(qrels, hits, ["nDCG@2", "AP"])
    assert trec_order("q", as_mapping["q"]) == ["b", "c", "a"]


def test_per_query_deltas_rank_gains_first_and_losses_last():
    before = {"q1": {"nDCG@10": 0.2}, "q2": {"nDCG@10": 0.5}, "q3": {"nDCG@10": 0.4}, "q4": {"nDCG@10": 0.1}}
    after = {"q1": {"nDCG@10": 0.9}, "q2": {"nDCG@10": 0.1}, "q3": {"nDCG@10": 0.4}, "q5": {"nDCG@10": 0.3}}
    deltas = per_query_deltas(before, after, "ndcg@10")
    # q4 is missing after (counts 0: -0.1), q5 missing before (+0.3); q3 unchanged.
    assert [d.query_id for d in deltas] == ["q1", "q5", "q3", "q4", "q2"]
    assert deltas[0] == QueryDelta("q1", 0.2, 0.9) and deltas[0].delta == pytest.approx(0.7)
    assert deltas[-1].delta == pytest.approx(-0.4)
    ties = per_query_deltas({"b": {"AP": 0.0}, "a": {"AP": 0.0}}, {"b": {"AP": 1.0}, "a": {"AP": 1.0}}, AP)
    assert [d.query_id for d in ties] == ["a", "b"]
    with pytest.raises(ValueError, match="after scores of query 'q1' have no 'RR'"):
        per_query_deltas({"q1": {"RR": 1.0}}, {"q1": {"AP": 1.0}}, RR)


# --- randomized agreement with pytrec_eval --------------------------------------------------------------

# Our measure -> pytrec_eval's key. RR@k has no trec_eval equivalent and is compared separately.
TREC_NAMES = {
    "nDCG@1": "ndcg_cut_1", "nDCG@5": "ndcg_cut_5", "nDCG@10": "ndcg_cut_10", "nDCG@100": "ndcg_cut_100",
    "nDCG": "ndcg", "P@1": "P_1", "P@5": "P_5", "P@10": "P_10", "P@100": "P_100", "R@5": "recall_5",
    "R@10": "recall_10", "R@100": "recall_100", "AP": "map", "AP@5": "map_cut_5", "AP@100": "map_cut_100",
    "RR": "recip_rank",
}


def _random_case(rng: random.Random) -> tuple[dict, dict]:
    """Qrels and a run over a small shared vocabulary of ids, so ties, unjudged hits, judged-but-unretrieved
    documents, graded and negative relevance, empty hit lists and non-ASCII ids all occur often."""
    docs = list(dict.fromkeys(f"d{rng.randint(0, 150)}{rng.choice(['', 'a', 'B', 'é', '_x', '中'])}"
                              for _ in range(rng.randint(1, 120))))
    qrels, run = {}, {}
    for number in range(rng.randint(1, 10)):
        qid = f"q{number}"
        if rng.random() < 0.9:
            judged = {doc: rng.choice([-1, 0, 0, 1, 1, 1, 2, 3])
                      for doc in rng.sample(docs, rng.randint(0, min(12, len(docs))))}
            # Leave out qrels whose judgements are all negative: trec_eval then reads stale per-query state
            # (undefined behaviour that can hang pytrec_eval), so there is nothing defined to compare with.
            if judged and max(judged.values()) < 0:
                judged[rng.choice(docs)] = 0
            qrels[qid] = judged
        if rng.random() < 0.9:
            tied = rng.random() < 0.5
            run[qid] = [Hit(doc, float(rng.choice([0, 1, 2, 2.5])) if tied else rng.uniform(-5, 30))
                        for doc in rng.sample(docs, rng.randint(0, len(docs)))]
    return qrels, run


def _pytrec(qrels, run, names, **kwargs):
    pytrec_eval = require_reference("pytrec_eval", "pytrec_eval (pip install pytrec-eval-terrier)")
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(names), **kwargs)
    return evaluator.evaluate({qid: {hit.doc_id: hit.score for hit in hits} for qid, hits in run.items()})


@pytest.mark.parametrize("relevance_level", [1, 2])
def test_identical_to_pytrec_eval_on_random_runs(relevance_level):
    rng = random.Random(20250612 + relevance_level)
    compared = 0
    for _ in range(150):
        qrels, run = _random_case(rng)
        ours = evaluate(qrels, run, list(TREC_NAMES), relevance_level=relevance_level)
        reference = _pytrec(qrels, run, TREC_NAMES.values(), relevance_level=relevance_level)
        assert list(ours) == list(reference)
        for qid, scores in ours.items():
            for name, trec_name in TREC_NAMES.items():
                assert scores[name] == reference[qid][trec_name], (name, qid, qrels[qid], run[qid])
                compared += 1
    assert compared > 5000


def _many_judged_case(rng: random.Random, judged_retrieved: int) -> tuple[dict, dict]:
    """One query with `judged_retrieved` graded judgements among its hits (pooled qrels, as BRIGHT's queries
    with dozens of gold ids), a few more judged but not retrieved, as many unjudged hits, and tied scores."""
    unretrieved = judged_retrieved // 20 + 1
    docs = [f"doc{n:04d}{rng.choice(['', 'x', 'é'])}" for n in range(2 * judged_retrieved + unretrieved + 50)]
    judged_docs = rng.sample(docs, judged_retrieved + unretrieved)
    judged = {doc: rng.choice([-1, 0, 0, 1, 1, 2, 3]) for doc in judged_docs}
    judged[judged_docs[0]] = 2  # at least one relevant document at every relevance level compared
    missing = set(judged_docs[-unretrieved:])
    run = [Hit(doc, float(rng.choice([0.5, 1, 1, 2, 3.25])) if rng.random() < 0.6 else rng.uniform(0, 40))
           for doc in docs if doc not in missing]
    return {"q": judged}, {"q": run}


@pytest.mark.parametrize("relevance_level", [1, 2])
def test_identical_to_pytrec_eval_with_hundreds_of_judged_documents(relevance_level):
    """Past 64 judged hits, ranks of judged documents come from a position map instead of list scans: that
    path must give pytrec_eval's numbers too (the random runs above never judge that many)."""
    rng = random.Random(90 + relevance_level)
    for judged_count in (65, 66, 80, 100, 150, 300):
        qrels, run = _many_judged_case(rng, judged_count)
        present = {hit.doc_id for hit in run["q"]}
        assert sum(doc in present for doc in qrels["q"]) == judged_count  # > 64: the branch under test
        ours = evaluate(qrels, run, list(TREC_NAMES), relevance_level=relevance_level)
        reference = _pytrec(qrels, run, TREC_NAMES.values(), relevance_level=relevance_level)
        assert {name: ours["q"][name] for name in TREC_NAMES} == \
            {name: reference["q"][trec] for name, trec in TREC_NAMES.items()}, judged_count
        assert 0 < ours["q"]["nDCG@10"] < 1  # a real ranking, neither empty nor perfect


def test_rr_at_k_equals_pytrec_eval_on_the_top_k():
    rng = random.Random(7)
    for _ in range(60):
        qrels, run = _random_case(rng)
        for k in (1, 3, 10):
            ours = evaluate(qrels, run, [RR @ k])
            # The top k by trec_eval's rule, written out independently: score, then doc id, both descending.
            top_k = {qid: sorted(hits, key=lambda h: (h.score, h.doc_id), reverse=True)[:k]
                     for qid, hits in run.items()}
            reference = _pytrec(qrels, top_k, ["recip_rank"])
            assert {q: s[f"RR@{k}"] for q, s in ours.items()} == {q: s["recip_rank"] for q, s in reference.items()}


def test_identical_to_pytrec_eval_on_real_bright_qrels(shared_data):
    from tsqr.trec import read_qrels

    qrels = read_qrels(shared_data / "bright" / "anserini-tools" / "qrels" / "qrels.bright-biology.txt")
    rng = random.Random(3)
    pool = sorted({doc for judged in qrels.values() for doc in judged})
    # BM25-like runs: 1000 hits mixing gold ids of every query with distractors, many tied scores.
    run = {qid: [Hit(doc, round(rng.expovariate(0.5), 1)) for doc in rng.sample(pool, min(1000, len(pool)))]
           for qid in qrels}
    names = ["nDCG@10", "nDCG@100", "R@100", "P@10", "AP", "RR"]
    ours = evaluate(qrels, run, names)
    reference = _pytrec(qrels, run, [TREC_NAMES[n] for n in names])
    assert len(ours) == len(qrels) > 50
    assert ours == {qid: {n: reference[qid][TREC_NAMES[n]] for n in names} for qid in reference}


# -- edges mutation testing found unguarded (tests/README.md) ----------------------------------------------
def test_cutoffs_must_be_positive_whole_numbers_and_become_plain_ints():
    import numpy as np

    measure = Measure("nDCG", np.int64(10))
    assert type(measure.cutoff) is int and measure == nDCG @ 10  # numpy counts (argparse, arrays) are accepted
    for bad in (0, -3, 2.5, "10", True):
        with pytest.raises(ValueError, match="positive integer"):
            Measure("P", bad)


def test_non_text_measure_names_and_boolean_relevance_levels_are_refused():
    with pytest.raises(ValueError, match="unknown measure 10"):
        parse_measure(10)
    with pytest.raises(ValueError, match="relevance_level"):
        evaluate({"q": {"a": 1}}, {"q": [Hit("a", 1.0)]}, ["AP"], relevance_level=True)


def test_mean_over_no_queries_is_empty_not_a_division_by_zero():
    assert mean_scores({"a": {"AP": 1.0}}, queries=[]) == {}
    assert mean_scores({"a": {}}) == {}


def test_errors_name_the_duplicate_document_and_the_side_missing_a_measure():
    with pytest.raises(ValueError, match="document 'a' is listed more than once"):
        trec_order("q", [Hit("b", 3.0), Hit("a", 2.0), Hit("a", 1.0)])
    with pytest.raises(ValueError, match=r"before scores of query 'q1' have no 'RR' \(they have AP\)"):
        per_query_deltas({"q1": {"AP": 1.0}}, {"q1": {"RR": 1.0}}, RR)
    with pytest.raises(ValueError, match=r"have no 'RR' \(they have nothing\)"):
        per_query_deltas({"q1": {}}, {"q1": {"RR": 1.0}}, RR)

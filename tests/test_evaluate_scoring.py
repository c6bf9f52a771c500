"""The evaluation runner on a corpus built here: reasoning that names the hidden concept must win, and the
outputs a user downloads must be complete and consistent with the in-memory report."""
from __future__ import annotations

import csv
import json

import pytest

from tsqr.bm25 import Index
from tsqr.evaluate import EvaluationConfig, evaluate_domain, format_table, summary_rows, write_outputs
from tsqr.records import Document, Domain, Example
from tsqr.retrieval import BM25Retriever
from tsqr.trec import read_run

TOPICS = {
    "enzyme": "lactase enzyme digests lactose sugar in milk intestine",
    "tides": "moon gravity pulls ocean water causing tides twice daily",
    "inflation": "central bank raises interest rates to curb inflation prices",
    "sleep": "circadian rhythm melatonin regulates sleep wake cycle",
}


def _domain() -> Domain:
    docs = [Document(f"{name}-gold", text) for name, text in TOPICS.items()]
    # Distractors repeat the words users actually type, so raw queries prefer them.
    docs += [Document(f"{name}-distractor-{i}", f"my stomach hurts after breakfast question {i} {name}")
             for name in TOPICS for i in range(3)]
    docs += [Document("shared-distractor", "why does this happen every morning stomach breakfast")]
    examples = [
        Example(id=f"q-{name}", query=f"why does my stomach hurt after breakfast every morning ({i})",
                gold_ids=(f"{name}-gold",), excluded_ids=("shared-distractor",) if i == 0 else ())
        for i, name in enumerate(TOPICS)
    ]
    return Domain(name="toy", examples=examples, documents=docs)


@pytest.fixture(scope="module")
def domain_and_index():
    domain = _domain()
    return domain, BM25Retriever(Index.build(domain.documents, progress=False))


def test_reasoning_that_names_the_concept_beats_the_raw_query(domain_and_index):
    domain, index = domain_and_index
    reasonings = {f"q-{name}": (text,) for name, text in TOPICS.items()}
    report = evaluate_domain(domain, index, reasonings, progress=False)
    raw, reasoned = report.raw.mean, report.reasoned.mean
    assert reasoned["nDCG@10"] == pytest.approx(1.0)
    assert raw["nDCG@10"] < 0.9
    assert report.missing_reasoning == []
    # Excluded ids never reach the run, as in BRIGHT's protocol.
    assert all(hit.doc_id != "shared-distractor" for hit in report.raw.run["q-enzyme"])
    assert any(hit.doc_id == "shared-distractor" for hit in report.raw.run["q-tides"])


def test_missing_reasonings_fall_back_to_the_raw_query(domain_and_index):
    domain, index = domain_and_index
    report = evaluate_domain(domain, index, {"q-enzyme": (TOPICS["enzyme"],)}, progress=False)
    assert sorted(report.missing_reasoning) == ["q-inflation", "q-sleep", "q-tides"]
    for qid in report.missing_reasoning:
        assert report.reasoned.run[qid] == report.raw.run[qid]


def test_fusion_and_concat_modes_keep_gold_in_the_run(domain_and_index):
    domain, index = domain_and_index
    reasonings = {f"q-{name}": (text,) for name, text in TOPICS.items()}
    for config in (EvaluationConfig(composition="fuse"), EvaluationConfig(composition="concat", repeat=2),
                   EvaluationConfig(scoring="classic")):
        retriever = BM25Retriever(index.index, config.scoring)
        report = evaluate_domain(domain, retriever, reasonings, config, progress=False)
        assert report.reasoned.mean["R@100"] == pytest.approx(1.0)
        assert report.reasoned.mean["nDCG@10"] >= report.raw.mean["nDCG@10"]


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="scoring"):
        EvaluationConfig(scoring="dense")


def test_a_retriever_built_with_another_scoring_than_the_config_is_refused(domain_and_index):
    domain, index = domain_and_index
    with pytest.raises(ValueError, match="ranks with BM25 scoring 'bright', the config says 'classic'"):
        evaluate_domain(domain, index, None, EvaluationConfig(scoring="classic"), progress=False)


def test_outputs_match_the_report(domain_and_index, tmp_path):
    domain, index = domain_and_index
    reasonings = {f"q-{name}": (text,) for name, text in TOPICS.items()}
    report = evaluate_domain(domain, index, reasonings, progress=False)
    rows = summary_rows([report, report])
    assert [r.domain for r in rows if r.measure == "nDCG@10"] == ["toy", "toy", "average"]
    assert "nDCG@10" in format_table(rows)

    written = write_outputs([report], tmp_path)
    names = {path.name for path in written}
    assert {"results.json", "summary.csv", "per_query.csv", "toy.raw.trec", "toy.reasoned.trec"} <= names
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["toy"]["mean"]["reasoned"]["nDCG@10"] == pytest.approx(report.reasoned.mean["nDCG@10"])
    with (tmp_path / "per_query.csv").open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 2 * len(domain.examples) * len(report.config.measures)
    run = read_run(tmp_path / "toy.reasoned.trec")
    assert [h.doc_id for h in run["q-tides"]] == [h.doc_id for h in report.reasoned.run["q-tides"]]


def test_several_samples_are_joined_or_their_runs_fused(domain_and_index):
    """Two samples per query, one naming the concept and one off topic: joined, the good one still finds the gold
    document; fused by RRF, the run equals the fusion of the two samples' own runs."""
    from tsqr.fusion import reciprocal_rank_fusion

    domain, index = domain_and_index
    samples = {f"q-{name}": (text, "unrelated words about weather and football") for name, text in TOPICS.items()}
    joined = evaluate_domain(domain, index, samples, EvaluationConfig(), progress=False)
    assert joined.reasoned.mean["R@100"] == pytest.approx(1.0)
    assert joined.reasoned.searched["q-tides"] == f"{TOPICS['tides']} unrelated words about weather and football"

    fused = evaluate_domain(domain, index, samples, EvaluationConfig(sample_combination="rrf"), progress=False)
    for ex in domain.examples:
        runs = [index.search(text, k=1000, exclude=ex.excluded_ids) for text in samples[ex.id]]
        assert fused.reasoned.run[ex.id] == reciprocal_rank_fusion(runs, depth=1000)
    with pytest.raises(ValueError, match="sample combination"):
        EvaluationConfig(sample_combination="vote")

"""One pipeline: the CLI and the Evaluate tab give the same results.json for the same inputs, and the pipeline's
events say what the two front ends show (warnings, a finished domain's report, the files written)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsqr.__main__ import main
from tsqr.app.corpora import CorpusStore
from tsqr.app.evaluation import DataChoice, EvaluationJob, ReasoningChoice
from tsqr.bright import DataError
from tsqr.evaluate import DomainSource, EvaluationConfig, ReasoningPlan, run
from tsqr.reasonings import write_tongsearch_json

DEMO = Path(__file__).resolve().parents[1] / "tsqr" / "data" / "demo"


def demo_reasonings(path: Path, every: int = 2) -> Path:
    """The demo's own human-written reasoning for every `every`-th query: a partial file, as released ones can be."""
    rows = [json.loads(line) for line in (DEMO / "examples.jsonl").read_text().splitlines() if line.strip()]
    return write_tongsearch_json({row["query"]: row["reasoning"] for row in rows[::every]}, path)


@pytest.mark.parametrize("mode", ["replace", "fuse"])
def test_the_cli_and_the_app_write_the_same_results(tmp_path, capsys, mode):
    reasonings = demo_reasonings(tmp_path / "reasonings.json")
    cli_out, app_out = tmp_path / "cli", tmp_path / "app"
    assert main(["evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", str(reasonings),
                 "--mode", mode, "--out", str(cli_out)]) == 0
    cli_warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning")]

    job = EvaluationJob(CorpusStore(index_cache=tmp_path / "indexes"), app_out, EvaluationConfig(composition=mode),
                        ReasoningChoice(file=reasonings))
    *_, last = job.run(DataChoice(files=(DEMO / "examples.jsonl", DEMO / "documents.jsonl"), name="demo"))
    assert last.done and not last.error

    cli_results = json.loads((cli_out / "results.json").read_text())
    app_results = json.loads((app_out / "results.json").read_text())
    assert cli_results == app_results
    assert cli_results["demo"]["missing_reasoning"]  # the partial file really left queries raw
    assert [f"warning {w}" for w in last.warnings] == cli_warnings
    for name in ("summary.csv", "per_query.csv", "demo.raw.trec", "demo.reasoned.trec"):
        assert (cli_out / name).read_bytes() == (app_out / name).read_bytes(), name


def test_events_carry_each_finished_domain_and_the_files_written(tmp_path):
    plan = ReasoningPlan.from_spec(str(demo_reasonings(tmp_path / "r.json", every=1)))
    assert plan.source is not None and plan.model is None
    events = list(run([DomainSource(str(DEMO), "demo")], plan, out_dir=tmp_path / "out", limit=5))
    [finished] = [event for event in events if event.report is not None]
    assert finished.report.n_queries == 5 and finished.report.reasoned is not None
    assert {path.name for path in finished.files} >= {"results.json", "demo.raw.trec", "demo.reasoned.trec"}
    fractions = [event.fraction for event in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    query_id, searched = next(iter(finished.report.reasoned.searched.items()))
    assert searched == finished.report.reasonings[query_id]  # replace: the side searched the reasoning itself


def test_a_reasoning_file_matching_no_query_is_an_error_in_both(tmp_path, capsys):
    stray = write_tongsearch_json({"a question nobody asked": "text"}, tmp_path / "stray.json")
    assert main(["evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", str(stray),
                 "--out", str(tmp_path / "cli")]) == 2
    assert "no reasoning matches any query" in capsys.readouterr().err
    with pytest.raises(DataError, match="no reasoning matches any query"):
        list(run([DomainSource(str(DEMO), "demo")], ReasoningPlan(source=stray)))


def test_a_model_spec_is_a_model_and_a_negative_limit_is_refused(tmp_path):
    assert ReasoningPlan.from_spec("default").model == "default"
    assert ReasoningPlan.from_spec("none").model == "none"
    assert ReasoningPlan.from_spec(None).reasons is False
    with pytest.raises(ValueError, match="limit"):
        list(run([DomainSource(str(DEMO), "demo")], ReasoningPlan(), limit=-1))


def test_a_run_without_a_model_never_asks_for_the_hardware():
    asked: list[int] = []
    events = list(run([DomainSource(str(DEMO), "demo")], ReasoningPlan.from_spec("none"), limit=2,
                      hardware=lambda: asked.append(1) or "CUDA (imagined)"))
    [cost] = [event.report.cost for event in events if event.report is not None]
    assert asked == [] and cost.hardware == "" and (cost.reasonings, cost.new_tokens) == (2, 0)


@pytest.mark.slow
def test_reasoning_cost_is_recorded_per_domain_and_priced(tmp_path, monkeypatch, capsys):
    """The embedded model, 8 new tokens, 2 queries: results.json and the CLI say what the reasonings cost; a rerun
    takes them from the cache and still reports what they cost when written."""
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path / "cache"))
    command = ["evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", "default", "--limit", "2",
               "--max-new-tokens", "8", "--price-per-mtok", "10", "--out", str(tmp_path / "out")]
    assert main(command) == 0
    printed = capsys.readouterr().out
    cost = json.loads((tmp_path / "out" / "results.json").read_text())["demo"]["cost"]
    assert cost["reasonings"] == 2 and cost["from_cache"] == 0 and 2 <= cost["new_tokens"] <= 16
    assert cost["seconds"] > 0 and cost["tokens_per_second"] == pytest.approx(cost["new_tokens"] / cost["seconds"],
                                                                              rel=0.01)
    assert cost["price"] == pytest.approx(cost["new_tokens"] / 1e6 * 10) and cost["hardware"].startswith(("CPU", "CUDA"))
    assert f"demo: 2 reasonings (0 from the cache), {cost['new_tokens']} new tokens" in printed

    assert main(command) == 0
    again = json.loads((tmp_path / "out" / "results.json").read_text())["demo"]["cost"]
    assert again["from_cache"] == 2 and again["new_tokens"] == cost["new_tokens"]


@pytest.mark.slow
def test_dense_and_hybrid_retrievers_run_through_the_cli_and_say_so(tmp_path, monkeypatch, capsys):
    """The offline MiniLM: the CLI's dense scores are those of the dense retriever's own runs, and every output
    names the retriever that produced it."""
    from tsqr.bright import load_domain
    from tsqr.metrics import evaluate, mean_scores
    from tsqr.retrieval import build_retriever

    monkeypatch.setenv("TSQR_CACHE", str(tmp_path / "cache"))
    reasonings = demo_reasonings(tmp_path / "reasonings.json", every=1)
    for retriever in ("dense", "hybrid"):
        out = tmp_path / retriever
        assert main(["evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", str(reasonings),
                     "--retriever", retriever, "--out", str(out)]) == 0
        assert f"demo                  {retriever}" in capsys.readouterr().out
        results = json.loads((out / "results.json").read_text())["demo"]
        assert results["config"]["retriever"] == retriever
        assert all(line.split(",")[1] == retriever for line in (out / "summary.csv").read_text().splitlines()[1:])

    domain = load_domain(str(DEMO), "demo")
    dense = build_retriever("dense", domain.documents, domain="demo", progress=False)
    hits = dense.search_many([ex.query for ex in domain.examples], k=1000,
                             excludes=[ex.excluded_ids for ex in domain.examples], progress=False)
    raw = mean_scores(evaluate(domain.qrels(), {ex.id: h for ex, h in zip(domain.examples, hits)}, ["nDCG@10"]))
    cli = json.loads((tmp_path / "dense" / "results.json").read_text())["demo"]["mean"]["raw"]["nDCG@10"]
    assert cli == pytest.approx(raw["nDCG@10"], abs=1e-12)


@pytest.mark.slow
def test_samples_from_the_cli_are_each_cached_and_counted(tmp_path, monkeypatch):
    """--samples 2 with TongSearch's sampling: 2 queries x 2 reasonings generated and cached on their own; a rerun
    generates nothing."""
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path / "cache"))
    command = ["evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", "default", "--limit", "2",
               "--sampling", "tongsearch", "--max-new-tokens", "8", "--samples", "2", "--sample-combination", "rrf",
               "--seed", "3", "--out", str(tmp_path / "out")]
    assert main(command) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())["demo"]
    assert results["cost"]["reasonings"] == 4 and results["cost"]["from_cache"] == 0
    assert results["config"]["sample_combination"] == "rrf" and len(results["reasonings"]) == 2
    assert main(command) == 0
    again = json.loads((tmp_path / "out" / "results.json").read_text())["demo"]
    assert again["cost"]["from_cache"] == 4 and again["reasonings"] == results["reasonings"]

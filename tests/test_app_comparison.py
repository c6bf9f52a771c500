"""The Evaluate tab's comparison job on uploads built here: several reasoning files and a model under two
retrievers give one table with every system, the same numbers as the CLI's runner, a frontier and a per-query
scatter of any two systems; public mode refuses too many systems and too many generated reasonings, saying so."""
from __future__ import annotations

import pytest
from test_app_evaluation import TOPICS, write_subset, write_tongsearch

from tsqr.app.charts import systems_scatter
from tsqr.app.comparison import ComparisonJob, SystemsChoice, comparison_markdown, frontier_chart
from tsqr.app.corpora import CorpusStore
from tsqr.app.evaluation import DataChoice
from tsqr.reasoner import GenerationSettings
from tsqr.serve.simulate import Latency, Simulator

SETTINGS = GenerationSettings(max_new_tokens=16, max_retries=0)


@pytest.fixture
def store(tmp_path):
    return CorpusStore(index_cache=tmp_path / "indexes")


@pytest.fixture
def model_url():
    with Simulator(latency=Latency("fixed", 0.0, 0.0), capacity=8) as sim:
        yield sim.url


def _files(tmp_path):
    good = write_tongsearch(tmp_path / "good.json")
    half = write_tongsearch(tmp_path / "half.json", topics=list(TOPICS)[:2])
    return good, half


@pytest.mark.slow
def test_several_files_and_a_model_under_two_retrievers(tmp_path, store, model_url):
    good, half = _files(tmp_path)
    choice = SystemsChoice(models=(model_url,), files=(good, half), retrievers=("bm25", "dense"), settings=SETTINGS)
    job = ComparisonJob(store, tmp_path / "out", choice, public=False)
    updates = list(job.run(DataChoice(files=write_subset(tmp_path / "upload"))))
    state = updates[-1]
    assert state.done and not state.error, state.error
    labels = [s.label for s in state.experiment.systems]
    assert len(labels) == 8 and labels[0] == "raw@bm25" and "good.json@dense" in labels
    markdown = comparison_markdown(state.experiment)
    for label in labels:
        assert f"| {label} |" in markdown
    good_bm25 = state.experiment.runs[("good.json@bm25", "uploaded")]
    assert good_bm25.mean["nDCG@10"] == 1.0                       # every reasoning names its gold document
    assert {p.name for p in state.files} >= {"results.json", "table.md", "table.tex", "table.csv", "frontier.html"}
    figure = frontier_chart(state.experiment)
    assert "half.json@bm25" in figure.layout.title.text          # a file's cost is unknown: named, not drawn
    scatter = systems_scatter(state.experiment.scores(), "raw@bm25", "good.json@bm25")
    assert [round(y) for y in scatter.data[1].y] == [100] * len(TOPICS)


def test_public_mode_bounds_systems_and_generated_reasonings(tmp_path, store, model_url):
    good, half = _files(tmp_path)
    many = SystemsChoice(files=(good, half), retrievers=("bm25", "dense", "hybrid"), modes=("replace", "concat"))
    with pytest.raises(ValueError, match="at most 12 systems per run; the choice makes 15"):
        ComparisonJob(store, tmp_path / "out", many, public=True)
    ComparisonJob(store, tmp_path / "out", many, public=False)   # the host's own app is not bounded
    generating = SystemsChoice(models=(model_url,), settings=SETTINGS)
    job = ComparisonJob(store, tmp_path / "out", generating, public=True, max_generated=3)
    state = list(job.run(DataChoice(files=write_subset(tmp_path / "upload"))))[-1]
    assert "at most 3 reasonings per comparison" in state.error and not state.done

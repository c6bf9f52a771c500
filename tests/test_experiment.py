"""Several systems in one run: the same scores as one run per system, the index and each model's reasonings
computed once per domain, stored runs reused (a rerun with one more system computes only that one, counted in
reasoner and retriever calls), and results.json holding the comparison's own numbers."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tsqr.compare import compare
from tsqr.evaluate import DomainSource, EvaluationConfig, ReasoningPlan, run
from tsqr.evaluate.pipeline import build_retriever_for, load_or_build_for
from tsqr.evaluate.runner import run_systems
from tsqr.evaluate.systems import System, expand_systems, load_systems_file
from tsqr.reasoner import GenerationSettings
from tsqr.serve.simulate import Latency, Simulator

DEMO = DomainSource(Path(__file__).resolve().parents[1] / "tsqr" / "data" / "demo", "demo")
LIMIT = 8
SETTINGS = GenerationSettings(max_new_tokens=32, concurrency=4, max_retries=0)


@pytest.fixture
def model_url():
    with Simulator(latency=Latency("fixed", 0.0, 0.0), capacity=8) as sim:
        yield sim.url


class Counted:
    """The runner's hooks around the real index, retrievers and reasoner, counting what each is asked."""

    def __init__(self) -> None:
        self.indexes = self.reason_calls = self.searches = 0

    def index_for(self, domain):
        self.indexes += 1
        return load_or_build_for(domain)

    def retriever_for(self, domain, index, config):
        retriever, counter = build_retriever_for(domain, index, config), self

        class Counting:
            def __getattr__(self, name):  # everything else (its scoring, ...) is the real retriever's
                return getattr(retriever, name)

            def search_many(self, *args, **kwargs):
                counter.searches += 1
                return retriever.search_many(*args, **kwargs)

        return Counting()

    def reason_chunk(self, reasoner, queries):
        self.reason_calls += 1
        return reasoner.reason(queries, progress=False)


def _run(systems, counted=None, **options):
    counted = counted or Counted()
    events = list(run_systems([DEMO], systems, limit=LIMIT, index_for=counted.index_for,
                              retriever_for=counted.retriever_for, reason_chunk=counted.reason_chunk, **options))
    return events[-1].experiment, counted


def test_one_run_of_three_systems_scores_as_three_single_runs(model_url):
    systems = expand_systems([model_url, "human"], ["bm25"], SETTINGS, EvaluationConfig())
    assert [s.label for s in systems][0] == "raw"
    experiment, _ = _run(systems)
    for system in systems:
        single = [e.report for e in run([DEMO], system.plan, system.config, limit=LIMIT) if e.report][0]
        side = single.reasoned if system.plan.reasons else single.raw
        together = experiment.runs[(system.label, "demo")]
        assert together.per_query == side.per_query and together.mean == side.mean, system.label


def test_index_and_reasonings_are_computed_once_per_domain(model_url):
    systems = expand_systems([model_url], ["bm25"], SETTINGS, EvaluationConfig(), modes=["replace", "concat"])
    assert len(systems) == 3
    _, counted = _run(systems)
    assert counted.indexes == 1
    assert counted.reason_calls == 1                       # replace and concat share one generation
    assert counted.searches == 1 + 2 + 2                   # raw; each reasoned system searches raw and reasoned


def test_rerun_with_one_more_system_computes_only_that_one(model_url, tmp_path):
    three = expand_systems([model_url, "human"], ["bm25"], SETTINGS, EvaluationConfig())
    first, counted = _run(three, out_dir=tmp_path)
    assert (counted.indexes, counted.reason_calls, counted.searches) == (1, 1, 5)
    fourth = System("sim+concat", three[1].plan, replace(three[1].config, composition="concat"))
    second, counted = _run([*three, fourth], out_dir=tmp_path)
    assert (counted.indexes, counted.reason_calls, counted.searches) == (1, 1, 2)
    assert [second.runs[(s.label, "demo")].reused for s in [*three, fourth]] == [True, True, True, False]
    for system in three:
        assert second.runs[(system.label, "demo")].per_query == first.runs[(system.label, "demo")].per_query
    relabelled = [System(f"renamed {s.label}", s.plan, s.config) for s in [*three, fourth]]
    _, counted = _run(relabelled, out_dir=tmp_path)
    assert (counted.indexes, counted.reason_calls, counted.searches) == (0, 0, 0)


def test_changed_data_is_not_reused(tmp_path):
    systems = expand_systems(["human"], ["bm25"], SETTINGS, EvaluationConfig())
    _run(systems, out_dir=tmp_path)
    events = list(run_systems([DEMO], systems, limit=LIMIT - 1, out_dir=tmp_path))
    assert not any(r.reused for r in events[-1].experiment.runs.values())


def test_results_json_keeps_per_query_scores_and_the_comparison(tmp_path):
    systems = expand_systems(["human"], ["bm25"], SETTINGS, EvaluationConfig(measures=("nDCG@10", "R@100")))
    experiment, _ = _run(systems, out_dir=tmp_path, test="wilcoxon", alpha=0.1)
    document = json.loads((tmp_path / "results.json").read_text())
    assert (document["baseline"], document["test"], document["correction"], document["alpha"]) == \
        ("raw", "wilcoxon", "holm", 0.1)
    scores = {label: {"demo": document["runs"]["demo"][label]["per_query"]} for label in ("raw", "human")}
    expected = compare(scores, "raw", ["nDCG@10"], test="wilcoxon", alpha=0.1)[0].cell("human", "demo")
    stored = document["comparison"]["nDCG@10"]["human"]["columns"]["demo"]
    assert stored["p_value"] == pytest.approx(expected.p_value) and stored["p_holm"] == pytest.approx(expected.adjusted)
    assert stored["significant"] is expected.significant is True
    for name in ("table.md", "table.tex", "table.csv", "frontier.html"):
        assert (tmp_path / name).is_file(), name
    assert "human" in (tmp_path / "table.md").read_text()


def test_a_baseline_that_is_not_a_system_is_refused():
    systems = expand_systems(["human"], ["bm25"], SETTINGS, EvaluationConfig())
    with pytest.raises(ValueError, match="baseline 'gpt' is not one of the systems"):
        list(run_systems([DEMO], systems, baseline="gpt"))


def test_systems_file_names_systems_one_by_one(tmp_path):
    (tmp_path / "mine.json").write_text(json.dumps({"a query": "a reasoning"}))
    path = tmp_path / "systems.toml"
    path.write_text('[[system]]\nlabel = "raw"\n\n[[system]]\nlabel = "mine, concat"\nreasoned = "mine.json"\n'
                    'mode = "concat"\nretriever = "bm25"\n\n[[system]]\nreasoned = "human"\nmax_new_tokens = 64\n')
    systems = load_systems_file(path, SETTINGS, EvaluationConfig())
    assert [s.label for s in systems] == ["raw", "mine, concat", "human+replace@bm25"]
    assert systems[1].plan.source == str(tmp_path / "mine.json") and systems[1].config.composition == "concat"
    path.write_text('[[system]]\nreasoned = "human"\nflavour = "x"\n')
    with pytest.raises(ValueError, match="system 1: unknown key.*flavour"):
        load_systems_file(path, SETTINGS, EvaluationConfig())
    path.write_text('[[system]]\nlabel = "a"\n[[system]]\nlabel = "a"\nreasoned = "human"\n')
    with pytest.raises(ValueError, match="two systems are labelled 'a'"):
        load_systems_file(path, SETTINGS, EvaluationConfig())
    path.write_text("system = 3")
    with pytest.raises(ValueError, match=r"\[\[system\]\] tables"):
        load_systems_file(path, SETTINGS, EvaluationConfig())


def test_identity_follows_what_changes_scores(model_url):
    base = expand_systems([model_url], ["bm25"], SETTINGS, EvaluationConfig())[1]
    longer = System(base.label, replace(base.plan, settings=SETTINGS.with_changes(max_new_tokens=64)), base.config)
    faster = System(base.label, replace(base.plan, settings=SETTINGS.with_changes(concurrency=16)), base.config)
    assert longer.key != base.key and faster.key == base.key    # transport settings do not change the text
    raw = System("raw", ReasoningPlan(), EvaluationConfig(composition="concat"))
    assert raw.key == System("x", ReasoningPlan(), EvaluationConfig()).key   # the raw query has no composition


def test_systems_file_takes_a_template_file_beside_it(tmp_path, model_url):
    (tmp_path / "mine.txt").write_text("Think about {query}\n")
    path = tmp_path / "systems.toml"
    path.write_text(f'[[system]]\nreasoned = "{model_url}"\ntemplate = "mine.txt"\n\n'
                    f'[[system]]\nlabel = "bright"\nreasoned = "{model_url}"\ntemplate = "bright"\n')
    custom, named = load_systems_file(path, SETTINGS, EvaluationConfig())
    assert custom.plan.settings.template.user == "Think about {query}\n"
    assert named.plan.settings.template == "bright" and custom.key != named.key

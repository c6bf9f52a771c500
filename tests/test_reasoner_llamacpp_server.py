"""The server backend against a real OpenAI-compatible peer: llama.cpp's own server (xllamacpp), serving the
embedded SmolLM2 GGUF on a loopback port it binds itself, offline.

tsqr's own server (tests/test_reasoner_tiny.py) was written beside the client, so it could share the client's
misreadings of the protocol; llama.cpp's server was not. The reference for the answers is tsqr's in-process
llama.cpp backend on the same GGUF: same weights, same kernels, so greedy text must match token for token.

The server runs with one slot and without prompt-cache reuse, as tsqr's backend does: llama.cpp evaluates a
reused prompt prefix's continuation on its own, which rounds differently from evaluating the whole prompt, so
the same request sent twice could otherwise continue differently (seen here: "...often misunderstood smell",
then "...often overlooked ingredient"). One slot makes concurrent requests queue instead of decoding side by
side (batched kernels round differently too).
"""
from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import missing_reference, require_reference

from tsqr.reasoner import GenerationSettings, default_gguf_path, load_reasoner
from tsqr.reasoner.backend_llamacpp import LlamaCppReasoner
from tsqr.reasoner.backend_server import ServerReasoner

pytestmark = pytest.mark.slow

QUERIES = ["Why does my sourdough starter smell like nail polish remover?",
           "Why are there two high tides a day when the moon passes overhead only once?"]
# Greedy, no repetition penalty (servers differ in how far back they apply one), one thread whatever the load.
SETTINGS = GenerationSettings(max_new_tokens=16, batch_size=2, repetition_penalty=1.0, threads=1)
CONTEXT = 1024


@pytest.fixture(scope="module")
def gguf() -> Path:
    try:
        return default_gguf_path()
    except FileNotFoundError as error:
        missing_reference(f"the embedded model is missing: {error}")


@pytest.fixture(scope="module")
def llama_server(gguf: Path) -> Iterator[str]:
    """llama.cpp's HTTP server in this process; port 0 lets it bind a free port itself, read back afterwards."""
    xllamacpp = require_reference("xllamacpp", "xllamacpp (requirements.txt), llama.cpp's server")
    if not hasattr(xllamacpp, "Server"):
        pytest.skip(f"xllamacpp {getattr(xllamacpp, '__version__', '?')} has no Server API to start llama.cpp's server")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.port = 0
    params.n_parallel = 1
    params.n_ctx = CONTEXT
    params.cache_prompt = False
    params.use_jinja = True  # the GGUF's own chat template, as tsqr's llama.cpp backend renders it
    params.verbosity = -1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
    server = xllamacpp.Server(params)
    address = server.listening_address
    assert address.startswith("http://127.0.0.1:") and not address.endswith(":0")
    yield address
    del server


@pytest.fixture(scope="module")
def in_process(gguf: Path) -> Iterator[LlamaCppReasoner]:
    reasoner = LlamaCppReasoner(gguf, SETTINGS.with_changes(batch_size=1), cache=False)
    yield reasoner
    reasoner.close()


def test_the_client_names_the_model_the_server_lists(llama_server, gguf):
    with urllib.request.urlopen(f"{llama_server}/v1/models", timeout=30) as response:
        listed = json.loads(response.read())["data"][0]["id"]
    client = load_reasoner(llama_server, SETTINGS, cache=False)
    assert isinstance(client, ServerReasoner)
    assert client.model == listed and Path(listed).name == gguf.name
    assert client.name == f"{listed} (server)"
    named = load_reasoner(f"{llama_server}/v1#mine", SETTINGS, cache=False)
    assert named.model == "mine"  # a model named after '#' is sent as is, without asking the server


def test_greedy_answers_equal_the_in_process_backend_on_the_same_gguf(llama_server, in_process):
    client = load_reasoner(llama_server, SETTINGS, cache=False)  # batch_size 2: two concurrent requests
    answers = client.reason(QUERIES, progress=False)
    expected = in_process.reason(QUERIES, progress=False)
    assert [(a.text, a.new_tokens) for a in answers] == [(e.text, e.new_tokens) for e in expected]
    assert all(a.text.strip() and a.new_tokens == SETTINGS.max_new_tokens for a in answers)


def test_greedy_text_does_not_depend_on_what_was_decoded_before(gguf):
    """tsqr's llama.cpp backend keys its cache on model, settings and query only, so a query must get the same
    text whatever the slot decoded before it (with prompt-cache reuse, the first query asked again after the
    second continued differently)."""
    reasoner = LlamaCppReasoner(gguf, SETTINGS.with_changes(batch_size=1), cache=False)
    try:
        first = [reasoner.reason([query], progress=False)[0].text for query in QUERIES]
        again = [reasoner.reason([query], progress=False)[0].text for query in QUERIES]
        repeated = reasoner.reason(QUERIES[1:], progress=False)[0].text
        streamed = "".join(reasoner.stream(QUERIES[1]))
    finally:
        reasoner.close()
    assert again == first and repeated == streamed == first[1]


def test_streamed_pieces_join_to_the_answer(llama_server):
    client = load_reasoner(llama_server, SETTINGS, cache=False)
    pieces = list(client.stream(QUERIES[1]))
    assert len(pieces) > 1
    assert "".join(pieces) == client.reason([QUERIES[1]], progress=False)[0].text


def test_the_cache_key_follows_the_server_model(llama_server, tmp_path):
    from tsqr.reasoner.cache import ReasoningCache

    cache = ReasoningCache(tmp_path / "server.jsonl")
    first = load_reasoner(llama_server, SETTINGS, cache=cache).reason(QUERIES[:1], progress=False)
    again = load_reasoner(llama_server, SETTINGS, cache=ReasoningCache(tmp_path / "server.jsonl"))
    [cached] = again.reason(QUERIES[:1], progress=False)
    assert cached.cached and cached.text == first[0].text
    assert cached.model.endswith(" (server)")


def test_an_over_long_prompt_is_the_servers_clear_refusal(llama_server):
    client = load_reasoner(llama_server, SETTINGS, cache=False)
    with pytest.raises(ValueError, match=r"HTTP 400 Bad Request\): a prompt longer than the model.s context"):  # no body shown
        client.reason(["Why do tides rise? " * 400], progress=False)

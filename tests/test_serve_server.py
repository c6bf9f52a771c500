"""`tsqr serve` (tsqr/serve/server.py), the OpenAI-compatible server, with tsqr's server backend as its client:
on conftest's tiny random Llama it answers what the model it serves writes, refuses an over-long prompt with a
clear error, and the client retries a server that comes up late and gives up on one that never does."""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import TINY_QUERIES as QUERIES
from conftest import TINY_SETTINGS as SETTINGS

from tsqr.reasoner import GenerationSettings, load_reasoner
from tsqr.reasoner import backend_server
from tsqr.reasoner.backend_server import ServerUnavailableError
from tsqr.reasoner.backend_transformers import TransformersReasoner
from tsqr.serve.server import MicroBatcher, make_handler, make_server


@pytest.fixture(scope="module")
def reasoner(tiny_model: Path) -> TransformersReasoner:
    loaded = load_reasoner(str(tiny_model), SETTINGS, cache=False)
    assert isinstance(loaded, TransformersReasoner)
    return loaded


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

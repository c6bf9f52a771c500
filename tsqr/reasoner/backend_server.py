"""The server backend: reason through any OpenAI-compatible chat-completions server (vLLM, TGI, llama.cpp's
llama-server, or `python -m tsqr.reasoner.serve`).

Usage:
    reasoner = ServerReasoner("http://127.0.0.1:8000/v1")          # model: the server's first /v1/models entry
    reasoner = ServerReasoner("http://gpu-box:8000/v1#TongSearch/TongSearch-QR-7B")   # or named after '#'

A 7B reasoner on a GPU box is how whole-benchmark evaluation stays affordable, so this client is built to be
left running: a batch goes out as `batch_size` concurrent requests, transient failures (connection refused,
timeouts, 429 and 5xx answers) are retried with exponential backoff a bounded number of times, and every
request has a timeout, so a dead server ends in a clear error instead of a hang. Requests the server rejects
(4xx) are not retried: the error names what it said.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tsqr.reasoner.base import Completion, GeneratingReasoner, Messages, ReasonerError
from tsqr.reasoner.cache import ReasoningCache
from tsqr.reasoner.identity import ModelIdentity
from tsqr.reasoner.settings import GenerationSettings

BACKEND = "server"
RETRIABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
T = TypeVar("T")


class ServerUnavailableError(ReasonerError, ConnectionError):
    """The server could not be reached or kept failing after every retry."""


def split_server_spec(spec: str) -> tuple[str, str | None]:
    """'http://host:8000[/v1][#model]' -> ('http://host:8000/v1', 'model' or None)."""
    url, _, model = spec.partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) server URL: {spec!r}")
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base, model or None


def request_body(messages: Messages, model: str, settings: GenerationSettings, stream: bool) -> dict[str, Any]:
    """An OpenAI chat-completions body; repetition penalty and top_k go under both names servers use
    (vLLM and tsqr: repetition_penalty; llama.cpp: repeat_penalty), others ignore what they do not know."""
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": settings.max_new_tokens,
                            "temperature": settings.temperature, "top_p": settings.top_p, "stream": stream}
    if not settings.greedy:
        body["seed"] = settings.seed
    if settings.top_k:
        body["top_k"] = settings.top_k
    if settings.repetition_penalty != 1.0:
        body["repetition_penalty"] = body["repeat_penalty"] = settings.repetition_penalty
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


class ServerReasoner(GeneratingReasoner):
    """Client of an OpenAI-compatible server; the model's identity is the name the server gives it."""

    def __init__(self, spec: str, settings: GenerationSettings | None = None,
                 cache: bool | ReasoningCache = True) -> None:
        import httpx

        settings = settings or GenerationSettings()
        self.base_url, model = split_server_spec(spec)
        self._client = httpx.Client(timeout=httpx.Timeout(settings.request_timeout,
                                                          connect=min(10.0, settings.request_timeout)))
        self.settings = settings
        self.model = model or self._first_model()
        super().__init__(ModelIdentity(label=self.model, fingerprint="", backend=BACKEND), settings, cache)

    # -- transport -----------------------------------------------------------------------------------------
    def _with_retries(self, what: str, attempt_once: Callable[[], T]) -> T:
        """Run `attempt_once`, retrying transient failures with exponential backoff; never more than
        1 + max_retries attempts, each bounded by the request timeout."""
        import httpx

        attempts = 1 + self.settings.max_retries
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.settings.retry_backoff * 2 ** (attempt - 1))
            try:
                return attempt_once()
            except httpx.HTTPStatusError as error:
                if error.response.status_code not in RETRIABLE_STATUS:
                    raise self._rejected(error.response) from None
                last = error
            except (httpx.TransportError, httpx.TimeoutException) as error:
                last = error
        raise ServerUnavailableError(
            f"{what} at {self.base_url} failed after {attempts} attempt(s) "
            f"(timeout {self.settings.request_timeout:g} s each): {type(last).__name__}: {last}. "
            f"Is the server running? Start one with `python -m tsqr.reasoner.serve MODEL`.")

    def _rejected(self, response: Any) -> Exception:
        try:
            detail = response.json().get("error", response.text)
            detail = detail.get("message", detail) if isinstance(detail, dict) else detail
        except (ValueError, AttributeError):
            detail = response.text
        return ValueError(f"server {self.base_url} rejected the request (HTTP {response.status_code}): {detail}")

    def _first_model(self) -> str:
        def attempt() -> str:
            response = self._client.get(f"{self.base_url}/models")
            response.raise_for_status()
            models = response.json().get("data") or []
            if not models:
                raise ReasonerError(f"server {self.base_url} lists no models at /v1/models")
            return str(models[0]["id"])

        return self._with_retries("listing models", attempt)

    # -- generation ----------------------------------------------------------------------------------------
    def _complete_one(self, messages: Messages, settings: GenerationSettings) -> Completion:
        def attempt() -> dict[str, Any]:
            response = self._client.post(f"{self.base_url}/chat/completions",
                                         json=request_body(messages, self.model, settings, stream=False))
            response.raise_for_status()
            return response.json()

        answer = self._with_retries("chat completion", attempt)
        try:
            text = answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ReasonerError(f"server {self.base_url} sent an answer without choices[0].message.content: "
                                f"{json.dumps(answer)[:300]}") from None
        return Completion(text=text, new_tokens=int((answer.get("usage") or {}).get("completion_tokens", 0)))

    def complete(self, conversations: Sequence[Messages], settings: GenerationSettings | None = None
                 ) -> list[Completion]:
        settings = settings or self.settings
        with ThreadPoolExecutor(max_workers=max(1, min(len(conversations), self.settings.batch_size))) as pool:
            return list(pool.map(lambda messages: self._complete_one(messages, settings), conversations))

    def stream_messages(self, messages: Messages, settings: GenerationSettings | None = None
                        ) -> Generator[str, None, int]:
        """Server-sent events; connecting is retried like any request, a stream cut midway is an error."""
        settings = settings or self.settings
        body = request_body(messages, self.model, settings, stream=True)

        def connect() -> Any:
            request = self._client.build_request("POST", f"{self.base_url}/chat/completions", json=body)
            response = self._client.send(request, stream=True)
            if response.status_code >= 400:
                response.read()
                response.close()
                response.raise_for_status()
            return response

        import httpx

        response = self._with_retries("streaming chat completion", connect)
        new_tokens = pieces = 0
        try:
            for line in _lines_or_error(response, self.base_url, httpx.TransportError):
                if not line.startswith("data:"):
                    continue
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    raise ReasonerError(f"server {self.base_url} failed while streaming: {chunk['error']}")
                choices = chunk.get("choices") or [{}]
                text = (choices[0].get("delta") or {}).get("content")
                if text:
                    pieces += 1
                    yield text
                if chunk.get("usage"):
                    new_tokens = int(chunk["usage"].get("completion_tokens", 0))
        finally:
            response.close()
        return new_tokens or pieces

    def close(self) -> None:
        self._client.close()


def _lines_or_error(response: Any, base_url: str, transport_error: type[Exception]) -> Iterator[str]:
    """The response's lines; a connection that breaks midway becomes a ServerUnavailableError naming the server."""
    try:
        yield from response.iter_lines()
    except transport_error as error:
        raise ServerUnavailableError(f"server {base_url} dropped the stream midway: {type(error).__name__}: "
                                     f"{error}") from error

"""The server backend: reason through OpenAI-compatible chat-completions servers (vLLM, SGLang, TGI, llama.cpp's
llama-server, or `python -m tsqr serve`), one or several replicas of one model.

Usage:
    reasoner = ServerReasoner("http://127.0.0.1:8000/v1")          # model: the server's first /v1/models entry
    reasoner = ServerReasoner("http://gpu-box:8000/v1#TongSearch/TongSearch-QR-7B")   # or named after '#'
    reasoner = ServerReasoner("http://gpu1:8000/v1,http://gpu2:8000/v1")              # replicas, one cache
    reasoner.endpoint_stats                                          # per endpoint: answered, failures by kind

Evaluating a checkpoint on all of BRIGHT is about 1.4M generated tokens, so this client is built to keep engines
with continuous batching full: `settings.concurrency` requests stay in flight at each endpoint (a sliding window,
see tsqr.reasoner.window), each reasoning is cached the moment it arrives, and each request goes to the replica
with the fewest in flight (tsqr.reasoner.endpoints). Transient failures (connection refused, timeouts, 429 and
5xx answers) are retried, on another replica when there is one, a bounded number of times; every request has a
timeout, and probing `/v1/models` has a short one, so a dead or silent server ends in a clear error instead of
a hang (TSQR_SERVER_PROBE_SECONDS, default 5, lengthens it for a server that is slow to list its models, e.g.
one waking from scale-to-zero). Requests a server rejects (4xx) are not retried. Errors show a server's HTTP status and reason phrase,
never its response body: the URL may come from someone else, and its body is theirs to say, not ours to show.
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Generator, Sequence
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tsqr.reasoner.base import Completion, Finished, GeneratingReasoner, Job, Messages, ReasonerError
from tsqr.reasoner.cache import ReasoningCache
from tsqr.reasoner.endpoints import Endpoint, EndpointPool, EndpointStats
from tsqr.reasoner.http_transport import HttpTransport, Stream, TransportFailure
from tsqr.reasoner.identity import ModelIdentity
from tsqr.reasoner.settings import GenerationSettings
from tsqr.reasoner.window import sliding_window

BACKEND = "server"
RETRIABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
PROBE_TIMEOUT_S = 5.0  # connect and first-byte limit for GET /v1/models: a live server answers it at once
PROBE_TIMEOUT_ENV = "TSQR_SERVER_PROBE_SECONDS"  # a host's own limit for that probe, read at each probe
T = TypeVar("T")


def probe_timeout() -> float:
    """The connect and first-byte limit for GET /v1/models: $TSQR_SERVER_PROBE_SECONDS, else PROBE_TIMEOUT_S.
    A host whose server answers its model list slowly (waking from scale-to-zero) can wait longer, and a test can
    keep a silent server's load in progress for as long as it observes it. Anything but a positive finite number
    is a ValueError naming the variable: a typo must not turn the limit off."""
    text = os.environ.get(PROBE_TIMEOUT_ENV, "").strip()
    if not text:
        return PROBE_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{PROBE_TIMEOUT_ENV}={text!r}: expected a number of seconds > 0")
    return seconds


class ServerUnavailableError(ReasonerError, ConnectionError):
    """A server could not be reached, did not answer, or kept failing after every retry."""


class ServerMismatchError(ReasonerError, ValueError):
    """Endpoints given as replicas do not serve the same model."""


class EndpointFailureWarning(UserWarning):
    """Some requests failed at an endpoint and were retried (the run itself succeeded)."""


def split_server_spec(spec: str) -> tuple[str, str | None]:
    """'http://host:8000[/v1][#model]' -> ('http://host:8000/v1', 'model' or None)."""
    url, _, model = spec.strip().partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) server URL: {spec!r}")
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base, model or None


def split_server_specs(spec: str) -> tuple[list[str], str | None]:
    """'http://a:8000/v1,http://b:8000/v1[#model]' -> ([base URLs], model or None); one model for all."""
    pieces = [split_server_spec(piece) for piece in spec.split(",") if piece.strip()]
    if not pieces:
        raise ValueError(f"no server URL in {spec!r}")
    urls = [url for url, _ in pieces]
    repeated = sorted({url for url in urls if urls.count(url) > 1})
    if repeated:
        raise ValueError(f"server URL listed more than once: {', '.join(repeated)}")
    models = sorted({model for _, model in pieces if model})
    if len(models) > 1:
        raise ValueError(f"replicas must serve one model, but the URLs name {', '.join(map(repr, models))}")
    return urls, models[0] if models else None


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


def status_text(status: int) -> str:
    """'HTTP 503 Service Unavailable': the status and its standard phrase, nothing the server wrote."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {status} {phrase}"


def rejection(url: str, status: int) -> ValueError:
    """The error for a request a server refused (4xx): status and reason phrase, and where to look."""
    hints = {400: "a prompt longer than the model's context is the usual cause",
             401: "the server wants credentials", 403: "the server refuses this client",
             404: "is the model name right? GET /v1/models lists what the server serves"}
    hint = hints.get(status, "its log may say why")
    return ValueError(f"server {url} rejected the request ({status_text(status)}): {hint}")


class _Status(Exception):
    """An HTTP error status, raised inside one attempt so the retry loop can decide."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ServerReasoner(GeneratingReasoner):
    """Client of one or more OpenAI-compatible servers serving one model; its identity is the model's name."""

    def __init__(self, spec: str, settings: GenerationSettings | None = None,
                 cache: bool | ReasoningCache = True) -> None:
        settings = settings or GenerationSettings()
        self.urls, model = split_server_specs(spec)
        self.window = settings.concurrency * len(self.urls)
        self._http = HttpTransport()
        self._connect_timeout = min(10.0, settings.request_timeout)
        self.settings = settings
        self.pool = EndpointPool(self.urls, settings.concurrency, settings.retry_backoff)
        try:
            self.model = self._check_models(model)
        except BaseException:
            self._http.close()
            raise
        self.last_run: tuple[EndpointStats, ...] = ()
        super().__init__(ModelIdentity(label=self.model, fingerprint="", backend=BACKEND), settings, cache)

    @property
    def endpoint_stats(self) -> tuple[EndpointStats, ...]:
        """Every endpoint's answered requests and failures since this reasoner was created."""
        return self.pool.stats()

    # -- the model every endpoint serves ---------------------------------------------------------------------
    def _check_models(self, named: str | None) -> str:
        listed = {url: self._list_models(url) for url in self.urls}
        if named:
            missing = [f"{url} (lists {', '.join(ids[:3])})" for url, ids in listed.items() if named not in ids]
            if missing and len(self.urls) > 1:
                raise ServerMismatchError(f"replicas must serve one model, but {named!r} is not listed by: "
                                          + "; ".join(missing))
            return named
        first = {url: ids[0] for url, ids in listed.items()}
        if len(set(first.values())) > 1:
            raise ServerMismatchError("replicas must serve one model, but the endpoints serve: "
                                      + "; ".join(f"{url}: {model!r}" for url, model in first.items()))
        return next(iter(first.values()))

    def _list_models(self, url: str) -> list[str]:
        """The model ids a server lists. Connection failures are retried (a server still starting); a server
        that accepts and then says nothing within probe_timeout() fails at once, since waiting longer on
        a model list would only hold up whoever asked."""
        limit = min(probe_timeout(), self.settings.request_timeout)
        attempts, last = 1 + self.settings.max_retries, ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.settings.retry_backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request("GET", f"{url}/models", read_timeout=limit, connect_timeout=limit)
            except TransportFailure as failure:
                if failure.kind == "ConnectTimeout":
                    raise ServerUnavailableError(f"server {url} did not accept a connection within {limit:g} s "
                                                 "(GET /v1/models)") from None
                if failure.kind == "ReadTimeout":
                    raise ServerUnavailableError(
                        f"server {url} accepted the connection but sent no answer to GET /v1/models within "
                        f"{limit:g} s: is it an OpenAI-compatible model server, and is it healthy?") from None
                last = str(failure)
                continue
            if response.status in RETRIABLE_STATUS:
                last = status_text(response.status)
                continue
            if response.status >= 400:
                raise ServerUnavailableError(f"server {url} answered GET /v1/models with "
                                             f"{status_text(response.status)}: is it an OpenAI-compatible server "
                                             "(base URL ending in /v1)?")
            try:
                ids = [str(entry["id"]) for entry in response.json().get("data") or []]
            except (ValueError, AttributeError, KeyError, TypeError):
                raise ReasonerError(f"server {url} answered GET /v1/models with something other than a model "
                                    "list: is it an OpenAI-compatible server?") from None
            if not ids:
                raise ReasonerError(f"server {url} lists no models at /v1/models")
            return ids
        raise ServerUnavailableError(f"listing models at {url} failed after {attempts} attempt(s): {last}. "
                                     "Is the server running? Start one with `python -m tsqr serve MODEL`.")

    # -- transport -------------------------------------------------------------------------------------------
    def _acquired(self, what: str, attempt_once: Callable[[str], T]) -> tuple[Endpoint, T]:
        """Run `attempt_once(base_url)` at the best endpoint, retrying transient failures elsewhere when
        possible; never more than 1 + max_retries attempts, each bounded by the request timeout. Returns the
        endpoint still held (the caller releases it) and the result."""
        attempts, tried, failures = 1 + self.settings.max_retries, [], []
        for _ in range(attempts):
            endpoint = self.pool.acquire(avoid=tried)
            try:
                return endpoint, attempt_once(endpoint.url)
            except _Status as error:
                if error.status not in RETRIABLE_STATUS:
                    self.pool.release(endpoint, None)  # it answered; the request is what is wrong
                    raise rejection(endpoint.url, error.status) from None
                failure = detail = status_text(error.status)
            except TransportFailure as error:  # refused, reset, timed out
                failure, detail = error.kind, str(error)
            except BaseException:
                self.pool.release(endpoint, "error")
                raise
            self.pool.release(endpoint, failure)
            failures.append(f"{endpoint.url}: {detail}")
            tried.append(endpoint.url)
        raise ServerUnavailableError(
            f"{what} failed after {attempts} attempt(s) (timeout {self.settings.request_timeout:g} s each): "
            f"{'; '.join(failures)}. Is the server running? Start one with `python -m tsqr serve MODEL`.")

    def _call(self, what: str, attempt_once: Callable[[str], T]) -> T:
        endpoint, result = self._acquired(what, attempt_once)
        self.pool.release(endpoint, None)
        return result

    # -- generation ------------------------------------------------------------------------------------------
    def _complete_one(self, messages: Messages, settings: GenerationSettings) -> Completion:
        body = request_body(messages, self.model, settings, stream=False)
        answered: dict[str, str] = {}

        def attempt(url: str) -> Any:
            response = self._http.request("POST", f"{url}/chat/completions", body,
                                          read_timeout=self.settings.request_timeout,
                                          connect_timeout=self._connect_timeout)
            if response.status >= 400:
                raise _Status(response.status)
            answered["url"] = url
            try:
                return response.json()
            except ValueError:
                raise ReasonerError(f"server {url} answered a chat completion with something other than JSON") \
                    from None

        answer = self._call("chat completion", attempt)
        try:
            text = answer["choices"][0]["message"]["content"] or ""
            new_tokens = int((answer.get("usage") or {}).get("completion_tokens", 0))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise ReasonerError(f"server {answered['url']} sent an answer without choices[0].message.content "
                                "(not an OpenAI-compatible chat completion)") from None
        return Completion(text=text, new_tokens=new_tokens)

    def complete(self, conversations: Sequence[Messages], settings: GenerationSettings | None = None
                 ) -> list[Completion]:
        """Every conversation through the sliding window; answers in input order."""
        settings = settings or self.settings
        answers: dict[int, Completion] = {}
        for index, completion in sliding_window(conversations, lambda m: self._complete_one(m, settings),
                                                self.window):
            answers[index] = completion
        return [answers[index] for index in range(len(conversations))]

    def generate(self, jobs: Sequence[Job]) -> Generator[list[Finished], None, None]:
        """One request per job, `concurrency` in flight per endpoint, each handed back the moment it arrives
        (so the caller caches it at once); ends with an EndpointFailureWarning if any request had to be
        retried, whose numbers stay readable in `last_run`."""
        def work(job: Job) -> Finished:
            began = time.perf_counter()
            completion = self._complete_one(self.messages_for(job.query, job.label), job.settings)
            return job, completion, time.perf_counter() - began

        before = self.pool.stats()
        try:
            for _, finished in sliding_window(jobs, work, self.window):
                yield [finished]
        finally:
            self.last_run = run_stats(before, self.pool.stats())
            failed = [stats for stats in self.last_run if stats.failed]
            if failed:
                warnings.warn("endpoint failures in this run: " + "; ".join(s.describe() for s in failed),
                              EndpointFailureWarning, stacklevel=2)

    def stream_messages(self, messages: Messages, settings: GenerationSettings | None = None
                        ) -> Generator[str, None, int]:
        """Server-sent events; connecting is retried like any request, a stream cut midway is an error."""
        settings = settings or self.settings
        body = request_body(messages, self.model, settings, stream=True)

        def connect(url: str) -> Stream:
            opened = self._http.stream("POST", f"{url}/chat/completions", body,
                                       read_timeout=self.settings.request_timeout,
                                       connect_timeout=self._connect_timeout)
            if opened.status >= 400:
                opened.close()
                raise _Status(opened.status)
            return opened

        endpoint, opened = self._acquired("streaming chat completion", connect)
        new_tokens = pieces = 0
        failure: str | None = None  # a consumer that stops early (a UI's stop button) is no endpoint failure
        try:
            for line in opened.lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    break
                chunk = _event(data, endpoint.url)
                choices = chunk.get("choices") or [{}]
                text = (choices[0].get("delta") or {}).get("content")
                if text:
                    pieces += 1
                    yield text
                if chunk.get("usage"):
                    new_tokens = int(chunk["usage"].get("completion_tokens", 0))
        except TransportFailure as error:
            failure = error.kind
            raise ServerUnavailableError(f"server {endpoint.url} dropped the stream midway: {error}") from None
        finally:
            opened.close()
            self.pool.release(endpoint, failure)
        return new_tokens or pieces

    def close(self) -> None:
        self._http.close()


def run_stats(before: Sequence[EndpointStats], after: Sequence[EndpointStats]) -> tuple[EndpointStats, ...]:
    """What each endpoint did between two `EndpointPool.stats()` snapshots."""
    changes = []
    for old, new in zip(before, after, strict=True):
        earlier = dict(old.failures)
        failures = tuple((kind, count - earlier.get(kind, 0)) for kind, count in new.failures
                         if count > earlier.get(kind, 0))
        changes.append(EndpointStats(new.url, new.completed - old.completed, failures))
    return tuple(changes)


def _event(data: str, url: str) -> dict[str, Any]:
    """One server-sent event's JSON; an error event or a malformed one names the server, not what it said."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ReasonerError(f"server {url} sent a stream event that is not JSON") from None
    if not isinstance(chunk, dict):
        raise ReasonerError(f"server {url} sent a stream event that is not a JSON object")
    if "error" in chunk:
        raise ReasonerError(f"server {url} failed while streaming (it sent an error event; its log says why)")
    return chunk

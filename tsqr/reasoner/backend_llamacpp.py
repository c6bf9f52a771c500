"""The llama.cpp backend (xllamacpp): fast CPU inference of GGUF models, the default for the embedded SmolLM2.

Measured on this project's 2-core machine with SmolLM2-135M-Instruct Q4_1 (bench/reasoner_speed.py), llama.cpp
writes several times more tokens per second than transformers on the dequantised float model, and loads in
about a second instead of fifteen. Its output is not bit-identical to the float model that train/ optimises
(quantised kernels), which is why the backend is part of every cache key and why `transformers:` stays
available for exact agreement with training.

xllamacpp embeds llama.cpp's own server: a batch is sent as concurrent requests that its slots decode together
(continuous batching), one slot per `batch_size`. Each slot gets its own context of up to
SLOT_CONTEXT tokens, because the key-value cache is allocated up front for every slot. Greedy output is
deterministic for a given batch, but a query decoded beside others can differ slightly from the same query
decoded alone (batched kernels round differently); the transformers backend is the one whose batched output
equals one-by-one output.
"""
from __future__ import annotations

import json
import queue
import threading
import urllib.request
from collections.abc import Generator, Sequence
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tsqr.reasoner.base import Completion, Finished, GeneratingReasoner, Job, Messages, ReasonerError
from tsqr.reasoner.cache import ReasoningCache
from tsqr.reasoner.identity import ModelIdentity, path_identity
from tsqr.reasoner.settings import GenerationSettings
from tsqr.reasoner.threads import cpu_threads

BACKEND = "llama.cpp"
SLOT_CONTEXT = 4096


def llamacpp_available() -> bool:
    """True when the xllamacpp wheel is importable (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("xllamacpp") is not None


class LlamaCppReasoner(GeneratingReasoner):
    """A GGUF model served in-process by llama.cpp; batches decode together in parallel slots."""

    def __init__(self, gguf_path: Path, settings: GenerationSettings | None = None,
                 cache: bool | ReasoningCache = True, identity: ModelIdentity | None = None) -> None:
        gguf_path = Path(gguf_path)
        super().__init__(identity or path_identity(gguf_path, BACKEND), settings, cache)
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(gguf_path)
        params.n_parallel = self.settings.batch_size
        params.n_ctx = SLOT_CONTEXT * self.settings.batch_size
        params.use_jinja = True  # render the GGUF's own chat template, as transformers does
        # No prompt-cache reuse: a reused prefix's KV rounds differently from a full evaluation, so greedy text
        # would depend on what the slot decoded before (tests/test_reasoner_llamacpp_server.py shows it).
        params.cache_prompt = False
        params.verbosity = -1
        threads = cpu_threads(self.settings.threads)  # see tsqr.reasoner.threads: spinning threads hate sharing
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as error:
            raise ReasonerError(f"llama.cpp could not load {gguf_path}: {error}") from error
        self._address = self._server.listening_address
        meta = self._local("/v1/models", None)["data"][0].get("meta", {})
        self._context = min(int(meta.get("n_ctx", SLOT_CONTEXT)), int(meta.get("n_ctx_train") or SLOT_CONTEXT))

    # -- llama.cpp's utility endpoints (tokenizer, chat template), on the loopback port it listens on ------
    def _local(self, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self._address + path, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    @property
    def context_length(self) -> int:
        return self._context

    def render(self, messages: Messages) -> str:
        """The prompt text llama.cpp builds from the GGUF's chat template."""
        return self._local("/apply-template", {"messages": messages})["prompt"]

    def count_tokens(self, messages: Messages) -> int:
        return len(self._local("/tokenize", {"content": self.render(messages), "parse_special": True})["tokens"])

    def drop_tail_tokens(self, text: str, count: int) -> str:
        tokens = self._local("/tokenize", {"content": text})["tokens"]
        kept = tokens[: max(0, len(tokens) - count)]
        return self._local("/detokenize", {"tokens": kept})["content"] if kept else ""

    # -- generation ----------------------------------------------------------------------------------------
    def _request(self, messages: Messages, settings: GenerationSettings, stream: bool) -> dict[str, Any]:
        return {
            "messages": messages, "max_tokens": settings.max_new_tokens, "temperature": settings.temperature,
            "top_p": settings.top_p, "top_k": settings.top_k, "min_p": 0.0, "seed": settings.seed,
            # Penalise repeats over the whole context, as transformers and vLLM do (llama.cpp defaults to 64).
            "repeat_penalty": settings.repetition_penalty, "repeat_last_n": self._context,
            "stream": stream,
        }

    def _check(self, response: dict[str, Any]) -> dict[str, Any]:
        error = response.get("error") or (response if "choices" not in response else None)
        if error:
            message = error.get("message", error) if isinstance(error, dict) else error
            if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
                raise ValueError(f"{self.name}: {message}")
            raise ReasonerError(f"{self.name} failed: {message}")
        return response

    def _complete_one(self, messages: Messages, settings: GenerationSettings) -> Completion:
        response = self._check(self._server.handle_chat_completions(self._request(messages, settings, False)))
        return Completion(text=response["choices"][0]["message"]["content"] or "",
                          new_tokens=int(response["usage"]["completion_tokens"]))

    def complete(self, conversations: Sequence[Messages], settings: GenerationSettings | None = None
                 ) -> list[Completion]:
        settings = settings or self.settings
        if len(conversations) == 1:
            return [self._complete_one(conversations[0], settings)]
        with ThreadPoolExecutor(max_workers=min(len(conversations), self.settings.batch_size)) as pool:
            return list(pool.map(lambda messages: self._complete_one(messages, settings), conversations))

    def generate(self, jobs: Sequence[Job]) -> Generator[list[Finished], None, None]:
        """The base class's batches (`batch_size` jobs with one set of settings, decoded together in the slots),
        each reasoning handed back the moment its slot finishes rather than with its whole batch: the cache
        keeps it at once and progress moves per query. Its seconds are the wall time since the previous one
        finished, so they still add up to the batches' time."""
        groups: dict[GenerationSettings, list[Job]] = {}
        for job in jobs:
            groups.setdefault(job.settings, []).append(job)
        size = self.settings.batch_size
        with ThreadPoolExecutor(max_workers=size) as pool:
            for settings, group in groups.items():
                for start in range(0, len(group), size):
                    last = time.perf_counter()
                    running = {pool.submit(self._complete_one, self.messages_for(job.query, job.label), settings): job
                               for job in group[start:start + size]}
                    for future in as_completed(running):
                        completion = future.result()
                        now = time.perf_counter()
                        yield [(running[future], completion, now - last)]
                        last = now

    def stream_messages(self, messages: Messages, settings: GenerationSettings | None = None
                        ) -> Generator[str, None, int]:
        """llama.cpp calls back once per token from a worker thread; a queue hands the pieces to the caller.

        Returning True from the callback tells llama.cpp to stop, which is how an abandoned stream ends.
        """
        settings = settings or self.settings
        pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            pieces.put(("chunk", chunk))
            return cancelled.is_set()

        def work() -> None:
            try:
                self._server.handle_chat_completions(self._request(messages, settings, True), on_chunk)
            except Exception as error:  # surfaced in the caller's thread below
                pieces.put(("error", error))
            pieces.put(("end", None))

        worker = threading.Thread(target=work, name="tsqr-llamacpp-stream", daemon=True)
        worker.start()
        new_tokens = 0
        try:
            while True:
                kind, item = pieces.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise ReasonerError(f"{self.name} failed while streaming: {item}") from item
                if "error" in item:
                    self._check(item)
                choice = (item.get("choices") or [{}])[0]
                text = (choice.get("delta") or {}).get("content")
                if text:
                    new_tokens += 1
                    yield text
                if item.get("usage"):
                    new_tokens = int(item["usage"].get("completion_tokens", new_tokens))
        finally:
            cancelled.set()
            worker.join()
        return new_tokens

    def close(self) -> None:
        """Stop llama.cpp's threads and free the model now rather than at interpreter exit."""
        self._server = None

"""Which reasoning model the app runs, loaded lazily and shared, and where it runs (ZeroGPU, CUDA or CPU).

Usage:
    settings = GenerationSettings(max_new_tokens=256)
    with POOL.lease(configured_model(), settings) as reasoner:      # loads once, in the main process
        for piece in on_gpu(stream_reasoning)(configured_model(), settings, "Why do cats purr?"): ...

A model is loaded the first time a user asks for it, never at import: `import app` (tests, the Spaces builder)
stays fast, and a Space whose users only evaluate precomputed reasonings never pays for weights. Loaded
reasoners are kept, at most `capacity` of them besides the pinned ones (the host's, in public mode), and shared by
every session; one search and one evaluation generate at a time (SEARCH_TURNS, EVALUATION_TURNS: see
tsqr.app.turns), so concurrent users wait their turn instead of exhausting memory, while work that needs no
generation never waits.

On Hugging Face ZeroGPU the `spaces` package grants a GPU only inside functions decorated with `spaces.GPU`,
so the generation entry points (`stream_reasoning`, `reason_pooled`) are wrapped with `on_gpu`; elsewhere the
wrapper is the identity and the reasoner's own device choice applies (CUDA when available, else CPU). Callers
lease the model in the main process first, so it is loaded there once (on ZeroGPU, weights load before a GPU
is attached) and cannot be evicted while the decorated function runs.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from tsqr.app.turns import Turns
from tsqr.reasoner.hardware import zero_gpu_available

if TYPE_CHECKING:
    from tsqr.reasoner import GenerationSettings, Reasoner
    from tsqr.records import Reasoning

MODEL_ENV = "TSQR_MODEL"
DEFAULT_MODEL = "default"
# Offered in the model selectors; any hub id, local folder, .gguf path or server URL can be typed instead.
# The three TongSearch QR sizes are those the "Available Models" list of github.com/bigai-nlco/TongSearch-QR names.
SUGGESTED_MODELS = ("default", "none", "TongSearch/TongSearch-QR-1.5B", "TongSearch/TongSearch-QR-3B",
                    "TongSearch/TongSearch-QR-7B")
GPU_SECONDS = 120  # ZeroGPU's budget per call: one streamed reasoning or one batch of an evaluation

F = TypeVar("F", bound=Callable)


def configured_model() -> str:
    """The model the app starts with: $TSQR_MODEL, else the embedded SmolLM2 ("default")."""
    return os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL


def model_choices() -> list[str]:
    """The selector's suggestions, the configured model first."""
    return list(dict.fromkeys([configured_model(), *SUGGESTED_MODELS]))


def on_gpu(function: F, duration: int = GPU_SECONDS) -> F:
    """`function` wrapped with `spaces.GPU` when the spaces package is present, else unchanged."""
    if not zero_gpu_available():
        return function
    import spaces

    return spaces.GPU(duration=duration)(function)


LOAD_FIELDS = ("batch_size", "threads", "device", "request_timeout")  # settings a model is loaded with


def load_key(spec: str, settings: "GenerationSettings") -> tuple:
    """What decides a loaded model: its spec and the settings used while loading it (slots, threads, device)."""
    return (spec, *(getattr(settings, name) for name in LOAD_FIELDS))


class ReasonerPool:
    """Loaded reasoners keyed by model spec (and load settings), shared by every session.

    Callers borrow a reasoner with `lease`; beyond `capacity` unpinned models the least recently used one is
    dropped, and closed as soon as no running search or evaluation is still using it. Pinned specs (the host's
    models in public mode) are never dropped, so a visitor cannot make the pool forget them. Loading takes only
    a lock of its own spec: a model that takes minutes to load, or a server that never answers, holds up the
    callers of that model and nobody else; the pool's lock is held only for bookkeeping.
    """

    def __init__(self, capacity: int = 2, loader: Callable[..., "Reasoner"] | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._loader = loader
        self._loaded: OrderedDict[tuple, "Reasoner"] = OrderedDict()
        self._loading: dict[tuple, threading.Lock] = {}  # one per model being loaded
        self._pinned: frozenset[str] = frozenset()
        self._users: dict[int, int] = {}  # id(reasoner) -> running leases
        self._dropped: dict[int, "Reasoner"] = {}  # evicted while leased: closed by the last release
        self._lock = threading.Lock()

    def pin(self, specs: Iterable[str]) -> None:
        """Never evict these specs once loaded (they do not count against `capacity`)."""
        with self._lock:
            self._pinned = frozenset(spec.strip() for spec in specs)

    def loaded(self) -> list[str]:
        """Names of the models kept loaded, least recently used first."""
        with self._lock:
            return [reasoner.name for reasoner in self._loaded.values()]

    @contextmanager
    def lease(self, spec: str, settings: "GenerationSettings") -> Iterator["Reasoner"]:
        """The reasoner for `spec` with `settings` (loaded on first use, its reasoning cache on) for a block."""
        reasoner = self._acquire(spec, settings)
        try:
            yield reasoner.with_settings(settings)
        finally:
            self._release(reasoner)

    def _acquire(self, spec: str, settings: "GenerationSettings") -> "Reasoner":
        spec = spec.strip()
        if not spec:
            raise ValueError('no model given: choose "default", "none", a hub id, a local folder, a .gguf file '
                             "or an http(s) URL of an OpenAI-compatible server")
        key = load_key(spec, settings)
        with self._lock:
            if key in self._loaded:
                return self._hand_out(key)
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # two users asking for one model load it once; other models do not wait
            with self._lock:
                if key in self._loaded:
                    return self._hand_out(key)
            try:
                reasoner = self._load(spec, settings)
            except BaseException:  # the callers waiting for this load try again themselves
                with self._lock:
                    self._loading.pop(key, None)
                raise
            with self._lock:
                self._loading.pop(key, None)
                if key in self._loaded:  # loaded meanwhile by a caller who came after a failed load
                    reasoner.close()
                else:
                    self._loaded[key] = reasoner
                return self._hand_out(key)

    def _hand_out(self, key: tuple) -> "Reasoner":
        """Count a user of the loaded model under `key` and evict beyond capacity (the pool lock is held)."""
        reasoner = self._loaded[key]
        self._loaded.move_to_end(key)
        self._users[id(reasoner)] = self._users.get(id(reasoner), 0) + 1
        unpinned = [other for other in self._loaded if other[0] not in self._pinned]
        for evicted_key in unpinned[: max(0, len(unpinned) - self.capacity)]:
            evicted = self._loaded.pop(evicted_key)
            if self._users.get(id(evicted)):
                self._dropped[id(evicted)] = evicted
            else:
                evicted.close()
        return reasoner

    def _release(self, reasoner: "Reasoner") -> None:
        with self._lock:
            self._users[id(reasoner)] -= 1
            if self._users[id(reasoner)] == 0:
                del self._users[id(reasoner)]
                dropped = self._dropped.pop(id(reasoner), None)
                if dropped is not None:
                    dropped.close()

    def _load(self, spec: str, settings: "GenerationSettings") -> "Reasoner":
        loader = self._loader
        if loader is None:
            from tsqr.reasoner import load_reasoner as loader
        return loader(spec, settings)

    def close(self) -> None:
        """Free every loaded model that is not in use (llama.cpp threads, GPU memory)."""
        with self._lock:
            while self._loaded:
                _, reasoner = self._loaded.popitem(last=False)
                if self._users.get(id(reasoner)):
                    self._dropped[id(reasoner)] = reasoner
                else:
                    reasoner.close()


POOL = ReasonerPool()  # the process's models, shared by every session
SEARCH_TURNS, EVALUATION_TURNS = Turns(), Turns()  # one search and one evaluation generate at a time


def needs_model(spec: str) -> bool:
    """False for the "none" model (raw query, nothing loaded or generated): it never waits in the model's line."""
    return spec.strip().lower() != "none"


def stream_reasoning(spec: str, settings: "GenerationSettings", query: str) -> Iterator[str]:
    """The reasoning of one query piece by piece, by the pooled model for `spec` (run under `on_gpu`).

    Takes a spec rather than a reasoner: ZeroGPU runs a decorated function in a worker process and sends it the
    arguments pickled, which a loaded model is not; the worker finds the model in its copy of POOL.
    """
    with POOL.lease(spec, settings) as reasoner:
        yield from reasoner.stream(query)


def reason_pooled(spec: str, settings: "GenerationSettings", queries: list[str]) -> list["Reasoning"]:
    """The pooled model's reasonings for `queries` (run under `on_gpu`; Reasoning records pickle, models do not)."""
    with POOL.lease(spec, settings) as reasoner:
        return reasoner.reason(queries)

"""The reasoner interface, and the machinery every model backend shares: validation, batching, cache, progress.

Usage:
    reasoner = load_reasoner("default")                 # see tsqr.reasoner.loading
    results = reasoner.reason(["Why do tides ...?"], on_progress=lambda done, total: ...)
    for piece in reasoner.stream("Why do tides ...?"):
        print(piece, end="")
    samples = reasoner.reason_samples(["Why do tides ...?"], 4)   # 4 sampled reasonings per query (temperature > 0)

A backend only says how to turn chat messages into text (`complete` for a batch, `stream_messages` for one
conversation); `GeneratingReasoner` does the rest once, so every backend caches, resumes, reports progress and
rejects bad queries the same way. How the work is scheduled is one overridable method, `generate`: batches of
`batch_size` in `batch_order` for local models, a sliding window of requests for servers; either way each
reasoning is cached the moment it is handed back. The message-level methods are public because
`tsqr.serve.server` exposes them over HTTP.
"""
from __future__ import annotations

import copy
import hashlib
import time
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

from tsqr.reasoner.cache import CacheRow, ReasoningCache, reasoning_key
from tsqr.reasoner.identity import ModelIdentity
from tsqr.reasoner.prompts import PromptTemplate, get_template
from tsqr.reasoner.settings import GenerationSettings
from tsqr.records import Reasoning

Messages = list[dict[str, str]]
ProgressCallback = Callable[[int, int], None]


class ReasonerError(RuntimeError):
    """A reasoner could not be loaded or could not answer; the message says what was tried."""


class ModelNotFoundError(ReasonerError, FileNotFoundError):
    """No model behind a spec; the message lists every interpretation that was tried."""


class ContextTruncationWarning(UserWarning):
    """A prompt was longer than the model's context and lost tokens from the end of its query."""


@dataclass(frozen=True)
class Completion:
    """What a backend wrote for one conversation."""

    text: str
    new_tokens: int


@dataclass(frozen=True)
class Job:
    """One reasoning to write: its cache key, query, a label for messages ("query 3"), and its settings
    (a later sample of a query differs from the first only in its seed)."""

    key: str
    query: str
    label: str
    settings: GenerationSettings
    sample: int = 0


Finished = tuple[Job, Completion, float]  # a job, what was written, and the seconds it took (a batch's share)


def check_queries(queries: Sequence[str]) -> list[str]:
    """The queries as a list, or a ValueError naming the first empty or non-text one by its index."""
    if isinstance(queries, str):
        raise ValueError("queries must be a sequence of strings, got a single string (wrap it in a list)")
    checked = list(queries)
    for index, query in enumerate(checked):
        if not isinstance(query, str):
            raise ValueError(f"query {index} is {type(query).__name__}, not a string")
        if not query.strip():
            raise ValueError(f"query {index} is empty or whitespace only: there is nothing to reason about")
    return checked


def truncation_message(query: str, dropped: int, prompt_tokens: int, budget: int) -> str:
    return (f"{query[:50]!r}...: the prompt is {prompt_tokens} tokens but the model's context leaves "
            f"{budget} for it after the answer's max_new_tokens; dropped {dropped} tokens from the end of the query")


class Reasoner(ABC):
    """Anything that turns queries into reasonings: `name` identifies the model in results and caches.

    Besides reasoning it answers what its callers plan with: a query's cached reasoning (`cached`), whether a
    query would be generated (`needs_generation`), how many requests it keeps in flight (`window`), and the same
    loaded model with other output settings (`with_settings`).
    """

    name: str
    window: int = 0  # requests a server backend keeps in flight; 0 for a model in this process

    def cached(self, query: str) -> CacheRow | None:
        """The cached reasoning of `query` with the current settings, or None (never generated, or no cache)."""
        return None

    def needs_generation(self, query: str) -> bool:
        """Whether reasoning about `query` makes the model write (False: a cached reasoning, or no model at all)."""
        return False

    def with_settings(self, settings: GenerationSettings) -> "Reasoner":
        """This reasoner writing with `settings`; one without a model has no settings to change."""
        return self

    @abstractmethod
    def reason(self, queries: Sequence[str], *, on_progress: ProgressCallback | None = None,
               progress: bool = True) -> list[Reasoning]:
        """One Reasoning per query, in order; `on_progress(done, total)` as reasonings finish (for UIs)."""

    @abstractmethod
    def stream(self, query: str) -> Iterator[str]:
        """The reasoning for one query as text pieces while it is written; the pieces join to reason()'s text."""

    def close(self) -> None:
        """Free the model (threads, servers); the default has nothing to free."""

    def __enter__(self) -> "Reasoner":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class GeneratingReasoner(Reasoner):
    """A reasoner backed by a language model: subclasses implement `complete` and `stream_messages`."""

    def __init__(self, identity: ModelIdentity, settings: GenerationSettings | None = None,
                 cache: bool | ReasoningCache = True) -> None:
        self.identity = identity
        self.settings = settings or GenerationSettings()
        self.cache: ReasoningCache | None
        if isinstance(cache, ReasoningCache):
            self.cache = cache
        else:
            self.cache = ReasoningCache.for_model(identity) if cache else None

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.identity.name

    @property
    def template(self) -> PromptTemplate:
        return get_template(self.settings.template)

    @abstractmethod
    def complete(self, conversations: Sequence[Messages], settings: GenerationSettings | None = None
                 ) -> list[Completion]:
        """Generate one answer per conversation, as one batch where the backend can."""

    @abstractmethod
    def stream_messages(self, messages: Messages, settings: GenerationSettings | None = None
                        ) -> Generator[str, None, int]:
        """Yield the answer to one conversation piece by piece; the generator returns the new-token count."""

    @property
    def context_length(self) -> int | None:
        """Tokens the model can attend to (prompt + answer), or None when the backend cannot tell (a server)."""
        return None

    def count_tokens(self, messages: Messages) -> int:
        """Prompt tokens of a conversation once the chat template is applied (backends with a context_length)."""
        raise NotImplementedError

    def drop_tail_tokens(self, text: str, count: int) -> str:
        """`text` without its last `count` tokens (backends with a context_length)."""
        raise NotImplementedError

    def prompt_budget(self, settings: GenerationSettings | None = None) -> int | None:
        """Prompt tokens left once the answer's max_new_tokens is reserved; None when unknown."""
        limit = self.context_length
        if limit is None:
            return None
        budget = limit - (settings or self.settings).max_new_tokens
        if budget <= 0:
            raise ValueError(f"max_new_tokens={(settings or self.settings).max_new_tokens} leaves no room for a "
                             f"prompt in {self.name}'s context of {limit} tokens")
        return budget

    def messages_for(self, query: str, label: str = "query") -> Messages:
        """The template's messages for `query`, its end cut (with a warning) if the prompt overflows the context.

        Only the query is shortened, never the instructions, so an over-long query still gets a proper prompt.
        """
        messages = self.template.messages(query)
        budget = self.prompt_budget()
        if budget is None:
            return messages
        original = count = self.count_tokens(messages)
        shortened = query
        for _ in range(4):  # detokenising and retokenising can shift a token or two: converge in a few rounds
            if count <= budget:
                break
            shortened = self.drop_tail_tokens(shortened, count - budget)
            messages = self.template.messages(shortened)
            count = self.count_tokens(messages)
        if count > budget:
            raise ValueError(f"{label}: even an empty query does not fit {self.name}'s context of "
                             f"{self.context_length} tokens with max_new_tokens={self.settings.max_new_tokens}")
        if count != original:
            warnings.warn(f"{label}: " + truncation_message(query, original - count, original, budget),
                          ContextTruncationWarning, stacklevel=3)
        return messages

    def key(self, query: str) -> str:
        """The cache key of `query`'s reasoning: the model, the template's words, the output settings, the query."""
        return reasoning_key(self.name, self.template, self.settings, query)

    def cached(self, query: str) -> CacheRow | None:
        return self._cached(self.key(query))

    def needs_generation(self, query: str) -> bool:
        return self.cached(query) is None

    def with_settings(self, settings: GenerationSettings) -> "GeneratingReasoner":
        """A shallow copy writing with `settings`, sharing the weights, server, client and cache.

        Backends read the output settings (max_new_tokens, sampling, template) at every call, so one loaded model
        serves every setting; loading a copy per max_new_tokens would let one visitor fill memory.
        """
        if settings == self.settings:
            return self
        view = copy.copy(self)
        view.settings = settings
        return view

    def sample_key(self, query: str, sample: int) -> str:
        """The cache key of sample number `sample` of a query; sample 0 is the plain key, so `reason()` and
        the first of `reason_samples()` share a reasoning."""
        key = self.key(query)
        return key if sample == 0 else hashlib.sha256(f"{key}#sample={sample}".encode()).hexdigest()

    def _cached(self, key: str) -> CacheRow | None:
        return self.cache.get(key) if self.cache is not None else None

    def _row(self, job: Job, text: str, new_tokens: int, seconds: float) -> CacheRow:
        settings = job.settings.output_fields() | ({"sample": job.sample} if job.sample else {})
        return CacheRow(key=job.key, query=job.query, text=text, model=self.name, template=self.template.name,
                        settings=settings, new_tokens=new_tokens, seconds=round(seconds, 4))

    @staticmethod
    def _reasoning(row: CacheRow, cached: bool) -> Reasoning:
        return Reasoning(query=row.query, text=row.text, model=row.model, template=row.template,
                         new_tokens=row.new_tokens, seconds=row.seconds, cached=cached,
                         truncated=row.reached_token_limit)

    def reason(self, queries: Sequence[str], *, on_progress: ProgressCallback | None = None,
               progress: bool = True) -> list[Reasoning]:
        """Reason about every query, generating only what the cache lacks (see `generate` for how).

        Every finished reasoning is appended to the cache as soon as the backend hands it back, so an
        interrupted run loses only what was in flight. Repeated query texts are generated once.
        """
        checked = check_queries(queries)
        jobs = [Job(self.key(q), q, f"query {i}", self.settings) for i, q in enumerate(checked)]
        found = self._run(jobs, on_progress, progress)
        return [found[job.key] for job in jobs]

    def reason_samples(self, queries: Sequence[str], n: int, *, on_progress: ProgressCallback | None = None,
                       progress: bool = True) -> list[list[Reasoning]]:
        """`n` sampled reasonings per query, each cached on its own (the sample number is part of its key).

        Sample i is drawn with `settings.for_sample(i)`, so a seeded server still writes n different texts.
        Greedy decoding would write the same text n times, so n > 1 needs a temperature above 0.
        """
        if n < 1:
            raise ValueError(f"samples must be at least 1, got {n}")
        if n > 1 and self.settings.greedy:
            raise ValueError(f"{n} samples per query need sampling (temperature > 0): greedy decoding writes the "
                             "same text every time")
        checked = check_queries(queries)
        jobs = [[Job(self.sample_key(q, s), q, f"query {i} sample {s}", self.settings.for_sample(s), s)
                 for s in range(n)] for i, q in enumerate(checked)]
        found = self._run([job for row in jobs for job in row], on_progress, progress)
        return [[found[job.key] for job in row] for row in jobs]

    def _run(self, jobs: list[Job], on_progress: ProgressCallback | None, progress: bool) -> dict[str, Reasoning]:
        """Reasonings for every job by key: the cache's, then what `generate` writes, cached as it arrives."""
        from tqdm.auto import tqdm

        found: dict[str, Reasoning] = {}
        for job in jobs:
            row = self._cached(job.key)
            if row is not None:
                found[job.key] = self._reasoning(row, cached=True)
        copies = Counter(job.key for job in jobs)
        todo: dict[str, Job] = {}
        for job in jobs:
            if job.key not in found:
                todo.setdefault(job.key, job)
        total, done = len(jobs), sum(copies[key] for key in found)
        if on_progress:
            on_progress(done, total)
        bar = tqdm(total=len(todo), desc=f"reasoning with {self.name}", unit="query",
                   disable=not progress or not todo)
        with bar:
            batches = self.generate(list(todo.values()))
            try:
                for finished in batches:
                    rows = [self._row(job, completion.text, completion.new_tokens, seconds)
                            for job, completion, seconds in finished]
                    if self.cache is not None:
                        self.cache.append(rows)
                    for row in rows:
                        found[row.key] = self._reasoning(row, cached=False)
                        done += copies[row.key]
                    bar.update(len(rows))
                    if on_progress:
                        on_progress(done, total)
            finally:
                batches.close()  # stops a backend's workers when we leave early (an error, Ctrl-C)
        return found

    def generate(self, jobs: Sequence[Job]) -> Generator[list[Finished], None, None]:
        """Write every job, yielding finished ones as they come: here, batches of `batch_size` with one set
        of settings, in `batch_order`; the server backend overrides this with a sliding window of requests."""
        groups: dict[GenerationSettings, list[Job]] = {}
        for job in jobs:
            groups.setdefault(job.settings, []).append(job)
        size = self.settings.batch_size
        for settings, group in groups.items():
            prompts = self.batch_order([(job, self.messages_for(job.query, job.label)) for job in group])
            for start in range(0, len(prompts), size):
                batch = prompts[start:start + size]
                began = time.perf_counter()
                completions = self.complete([messages for _, messages in batch], settings)
                share = (time.perf_counter() - began) / len(batch)
                yield [(job, completion, share) for (job, _), completion in zip(batch, completions, strict=True)]

    def batch_order(self, prompts: list[tuple[Job, Messages]]) -> list[tuple[Job, Messages]]:
        """The order prompts are batched in; results are matched back by key, so any order is safe."""
        return prompts

    def stream(self, query: str) -> Iterator[str]:
        """Pieces of the reasoning as they are written (a cached reasoning comes as one piece).

        The reasoning is cached only when the stream runs to its end: a consumer that stops early (a UI's stop
        button) leaves no partial text behind.
        """
        query = check_queries([query])[0]
        job = Job(self.key(query), query, "query", self.settings)
        row = self._cached(job.key)
        if row is not None:
            yield row.text
            return
        began = time.perf_counter()
        pieces: list[str] = []
        generator = self.stream_messages(self.messages_for(query))
        while True:
            try:
                piece = next(generator)
            except StopIteration as finished:
                new_tokens = int(finished.value or 0)
                break
            pieces.append(piece)
            yield piece
        if self.cache is not None:
            self.cache.append([self._row(job, "".join(pieces), new_tokens, time.perf_counter() - began)])

"""The Evaluate tab's job: the chosen uploads and hub domains through tsqr.evaluate.run, as UI updates.

Usage:
    job = EvaluationJob(store, out_dir, EvaluationConfig(scoring="bright"), ReasoningChoice(file=path))
    for update in job.run(DataChoice(files=(examples, documents))):
        show(update.fraction, update.message)     # update.reports: every domain finished so far
    update.files                                  # results.json, summary.csv, per_query.csv, TREC runs

The pipeline is `tsqr.evaluate.run`, the CLI's; this module turns the tab's choices into its inputs and its
events into one accumulating Update the UI renders. What the app adds is sharing: indexes come from the
CorpusStore every session uses (and a loaded domain becomes searchable), models are leased from the pool, and
generation runs under `on_gpu` on ZeroGPU. Stopping (abandoning the generator) loses nothing the pipeline keeps.
Uploaded queries are cut to the app's query bound (`max_query_chars`) like typed ones, with a warning, before any
reasoning: three 1.8 MB queries once held the model for six minutes and went whole into the shared cache. Hub
domains keep their queries whole (BRIGHT has queries of 19k characters, which its scores depend on).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tsqr.app.corpora import CorpusStore, shown_error
from tsqr.app.public import MAX_QUERY_ENV
from tsqr.app.models import EVALUATION_TURNS, POOL, on_gpu, reason_pooled
from tsqr.app.turns import in_turn
from tsqr.bm25 import Index
from tsqr.bright import BRIGHT_DOMAINS
from tsqr.evaluate import DomainReport, DomainSource, EvaluationConfig, ReasoningPlan, run
from tsqr.reasoner import GenerationSettings
from tsqr.reasoner.hardware import hardware
from tsqr.records import Domain
from tsqr.retrieval import Retriever

UPLOAD_NAME = "uploaded"


@dataclass(frozen=True)
class DataChoice:
    """What to evaluate: uploaded files (examples + documents, a zip, or Anserini topics + qrels with
    `corpus_files`), and/or BRIGHT domains from the hub. `limit` keeps the first N queries of each domain."""

    files: tuple[Path, ...] = ()
    corpus_files: tuple[Path, ...] = ()
    name: str = ""
    hub_domains: tuple[str, ...] = ()
    limit: int = 0

    @property
    def uploads(self) -> tuple[Path, ...]:
        return self.files + self.corpus_files


@dataclass(frozen=True)
class ReasoningChoice:
    """Where the reasoned queries come from: a precomputed file, else a model run with `settings`."""

    model: str = "none"
    file: Path | None = None
    settings: GenerationSettings | None = None


@dataclass
class Update:
    """One step of a run, for the UI: progress, a line of status, and everything finished so far."""

    fraction: float
    message: str
    reports: list[DomainReport] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    corpus_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    done: bool = False


def upload_domain_name(files: Sequence[Path], given: str = "") -> str:
    """The domain name for uploaded files: the one given, else a BRIGHT domain all file names agree on
    (e.g. biology-00000-of-00001.parquet), else "uploaded"."""
    if given.strip():
        return given.strip()
    names = [file.name.lower().replace("-", "_") for file in files]
    found = [domain for domain in BRIGHT_DOMAINS if names and all(domain in name for name in names)]
    return max(found, key=len) if found else UPLOAD_NAME  # theoremqa_theorems, not a shorter overlap


def domain_sources(choice: DataChoice) -> list[DomainSource]:
    """The pipeline's sources for a choice: the uploads as one domain, then each hub domain."""
    sources = []
    if choice.files:
        source = choice.files[0] if len(choice.files) == 1 else list(choice.files)
        sources.append(DomainSource(source, upload_domain_name(choice.files, choice.name),
                                    documents=choice.corpus_files or None))
    return sources + [DomainSource("hub", name) for name in choice.hub_domains]


def cut_queries(domain: Domain, cap: int | None) -> str:
    """Cut an uploaded domain's queries to `cap` characters (before any reasoning); the warning saying how many
    ("" when none was cut or there is no cap). The comparison job (tsqr.app.comparison) cuts them alike."""
    if cap is None or not any(len(example.query) > cap for example in domain.examples):
        return ""
    cut = sum(len(example.query) > cap for example in domain.examples)
    domain.examples = [replace(example, query=example.query[:cap]) if len(example.query) > cap else example
                       for example in domain.examples]
    return (f"[{domain.name}] {cut} uploaded quer{'y was' if cut == 1 else 'ies were'} cut to {cap:,} characters "
            f"(this server's {MAX_QUERY_ENV}), as typed queries are; the rest was neither searched nor reasoned about")


class EvaluationJob:
    """One Evaluate-tab run; `run` yields Updates and can be abandoned at any yield."""

    def __init__(self, store: CorpusStore, out_dir: Path, config: EvaluationConfig,
                 reasoning: ReasoningChoice, max_query_chars: int | None = None) -> None:
        self.store = store
        self.out_dir = out_dir
        self.config = config
        self.reasoning = reasoning
        self.max_query_chars = max_query_chars  # None: uploaded queries are kept whole
        self.state = Update(0.0, "starting")
        self._uploads_left = 0  # the uploaded domain comes first in the pipeline; it is cut, hub domains not

    def _cut_queries(self, domain: Domain) -> None:
        warning = cut_queries(domain, self.max_query_chars)
        if warning:
            self.state.warnings.append(warning)

    def plan(self) -> ReasoningPlan:
        choice = self.reasoning
        if choice.file is not None:
            return ReasoningPlan(source=choice.file, shown_name=choice.file.name)
        settings = choice.settings or GenerationSettings()
        return ReasoningPlan(model=choice.model, settings=settings, chunk=max(1, settings.batch_size))

    def _index(self, domain: Domain) -> Index:
        """The pipeline's `index_for` hook: the first call for each loaded domain, before its reasoning."""
        if self._uploads_left:
            self._uploads_left -= 1
            self._cut_queries(domain)
        corpus = self.store.add(domain, f"{domain.name} ({len(domain.examples)} queries)")
        self.state.corpus_ids.append(corpus.id)
        return self.store.index(corpus.id)

    def _retriever(self, domain: Domain, index: Index, config: EvaluationConfig) -> Retriever:
        """The retriever of the corpus `_index` just registered, shared with the Search tab."""
        return self.store.retriever(self.state.corpus_ids[-1], config.retriever, config.scoring)

    def run(self, choice: DataChoice) -> Iterator[Update]:
        """Every chosen domain through the pipeline; the last Update has done=True or an error."""
        state = self.state
        plan = self.plan()
        self._uploads_left = 1 if choice.files else 0
        pooled = in_turn(EVALUATION_TURNS, on_gpu(reason_pooled))  # each chunk takes a turn; loading does not
        events = run(domain_sources(choice), plan, self.config, limit=choice.limit, out_dir=self.out_dir,
                     index_for=self._index, retriever_for=self._retriever, open_reasoner=POOL.lease, hardware=hardware,
                     reason_chunk=lambda _reasoner, queries: pooled(plan.model, plan.settings, queries))
        try:
            for event in events:
                state.fraction = event.fraction
                if event.message:
                    state.message = event.message
                if event.warning:
                    state.warnings.append(event.warning)
                if event.report is not None:
                    state.reports.append(event.report)
                    state.files = list(event.files)
                yield state
        except Exception as error:  # shown in the UI; what finished stays in self.state
            state.error = shown_error(error, (*choice.uploads, *filter(None, [self.reasoning.file])))
            yield state
            return
        state.done = True
        yield state

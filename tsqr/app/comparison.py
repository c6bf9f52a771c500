"""The Evaluate tab's comparison of several systems: the chosen models, reasoning files and retrievers through
tsqr.evaluate.runner.run_systems, as UI updates.

Usage:
    choice = SystemsChoice(models=("default",), files=(path,), retrievers=("bm25", "dense"))
    job = ComparisonJob(store, out_dir, choice, public=False)
    for update in job.run(DataChoice(files=(examples, documents))):
        show(update.message); update.experiment                # the tables, costs and per-query scores so far

What the app adds to the CLI's runner is what evaluation.EvaluationJob adds to one system's: indexes and
retrievers shared with the Search tab, models leased from the pool, generation taking its turn (on ZeroGPU under
`on_gpu`). In public mode a run is bounded: at most MAX_PUBLIC_SYSTEMS systems and MAX_PUBLIC_GENERATED
reasonings asked of models (cached ones count: the bound is on what a visitor may ask for), each refused with a
message that says the bound and what the choice needed.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tsqr.app.corpora import CorpusStore, shown_error
from tsqr.app.evaluation import DataChoice, cut_queries, domain_sources
from tsqr.app.models import EVALUATION_TURNS, POOL, on_gpu, reason_pooled
from tsqr.app.turns import in_turn
from tsqr.bm25 import Index
from tsqr.compare import DEFAULT_ALPHA
from tsqr.evaluate import EvaluationConfig, ReasoningPlan
from tsqr.evaluate.experiment import Experiment
from tsqr.evaluate.plan import HUMAN_REASONING
from tsqr.evaluate.runner import run_systems
from tsqr.evaluate.systems import System, expand_systems
from tsqr.reasoner import GenerationSettings
from tsqr.reasoner.hardware import hardware
from tsqr.records import Domain
from tsqr.retrieval import Retriever

MAX_PUBLIC_SYSTEMS = 12
MAX_PUBLIC_GENERATED = 1000


@dataclass(frozen=True)
class SystemsChoice:
    """The systems to compare: the raw query always, each model and reasoning file (and the corpus's own
    reasoning field when `human`), under every retriever and composition."""

    models: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    human: bool = False
    retrievers: tuple[str, ...] = ("bm25",)
    modes: tuple[str, ...] = ("replace",)
    scoring: str = "bright"
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    test: str = "t"
    alpha: float = DEFAULT_ALPHA

    def systems(self) -> list[System]:
        chunk = max(1, self.settings.batch_size)
        plans = [ReasoningPlan(model=model, settings=self.settings, chunk=chunk)
                 for model in self.models if model != "none"]
        plans += [ReasoningPlan(source=path, shown_name=path.name) for path in self.files]
        plans += [ReasoningPlan(source=HUMAN_REASONING)] if self.human else []
        return expand_systems(plans, self.retrievers, self.settings, EvaluationConfig(scoring=self.scoring),
                              modes=self.modes)


@dataclass
class ComparisonUpdate:
    """One step of a comparison, for the UI: progress, a line of status, the experiment so far."""

    fraction: float
    message: str
    experiment: Experiment | None = None
    files: list[Path] = field(default_factory=list)
    corpus_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    done: bool = False


class ComparisonJob:
    """One comparison run; `run` yields ComparisonUpdates and can be abandoned at any yield."""

    def __init__(self, store: CorpusStore, out_dir: Path, choice: SystemsChoice, *, public: bool,
                 max_systems: int = MAX_PUBLIC_SYSTEMS, max_generated: int = MAX_PUBLIC_GENERATED,
                 max_query_chars: int | None = None) -> None:
        self.store, self.out_dir, self.choice, self.public = store, out_dir, choice, public
        self.max_query_chars = max_query_chars  # None: uploaded queries are kept whole (as EvaluationJob)
        self._uploads_left = 0
        self.max_generated = max_generated
        self.systems = choice.systems()
        if public and len(self.systems) > max_systems:
            raise ValueError(f"this server compares at most {max_systems} systems per run; the choice makes "
                             f"{len(self.systems)} (reasoning sources x compositions x retrievers, plus the raw "
                             "query per retriever): choose fewer")
        self.state = ComparisonUpdate(0.0, "starting")
        self.generated = 0
        self._leased: dict[int, tuple[str, GenerationSettings]] = {}
        self._pooled = in_turn(EVALUATION_TURNS, on_gpu(reason_pooled))

    def _index(self, domain: Domain) -> Index:
        """The runner's `index_for` hook: called once per domain, before any reasoning (the raw query is the
        first system), so an uploaded domain's queries are cut here, as EvaluationJob cuts them."""
        if self._uploads_left:
            self._uploads_left -= 1
            warning = cut_queries(domain, self.max_query_chars)
            if warning:
                self.state.warnings.append(warning)
        corpus = self.store.add(domain, f"{domain.name} ({len(domain.examples)} queries)")
        self.state.corpus_ids.append(corpus.id)
        return self.store.index(corpus.id)

    def _retriever(self, domain: Domain, index: Index, config: EvaluationConfig) -> Retriever:
        return self.store.retriever(self.state.corpus_ids[-1], config.retriever, config.scoring)

    @contextlib.contextmanager
    def _lease(self, spec: str, settings: GenerationSettings):
        with POOL.lease(spec, settings) as reasoner:
            self._leased[id(reasoner)] = (spec, settings)
            yield reasoner

    def _reason_chunk(self, reasoner, queries: list[str]):
        if self.public and self.generated + len(queries) > self.max_generated:
            raise ValueError(f"this server generates at most {self.max_generated} reasonings per comparison; "
                             f"this one asks for more ({self.generated} so far, {len(queries)} next): compare "
                             "fewer models, or fewer queries (the 'first N queries' box)")
        self.generated += len(queries)
        spec, settings = self._leased[id(reasoner)]
        return self._pooled(spec, settings, queries)

    def run(self, data: DataChoice) -> Iterator[ComparisonUpdate]:
        """Every chosen domain under every system; the last update has done=True or an error."""
        state, choice = self.state, self.choice
        self._uploads_left = 1 if data.files else 0
        events = run_systems(domain_sources(data), self.systems, test=choice.test, alpha=choice.alpha,
                             limit=data.limit, out_dir=self.out_dir, index_for=self._index,
                             retriever_for=self._retriever, open_reasoner=self._lease,
                             reason_chunk=self._reason_chunk, hardware=hardware)
        try:
            for event in events:
                state.fraction = event.fraction
                state.message = event.message or state.message
                if event.warning:
                    state.warnings.append(event.warning)
                if event.experiment is not None:
                    state.experiment, state.files = event.experiment, list(event.files) or state.files
                yield state
        except Exception as error:  # shown in the UI; the domains every system finished stay in the experiment
            state.error = shown_error(error, (*data.uploads, *choice.files))
            yield state
            return
        state.done = True
        yield state


def comparison_markdown(experiment: Experiment | None) -> str:
    """The systems-by-domains tables with their marks and legends, as the page shows them."""
    from tsqr.compare import to_markdown

    tables = experiment.tables() if experiment is not None else []
    return to_markdown(tables, experiment.costs()) if tables else ""


def frontier_chart(experiment: Experiment | None):
    """The cost-quality frontier of the finished domains (None before the first domain finishes)."""
    from tsqr.compare.frontier import frontier_figure, frontier_points

    tables = experiment.tables(["nDCG@10"]) if experiment is not None else []
    if not tables:
        return None
    points, unknown = frontier_points(tables[0], experiment.costs())
    return frontier_figure(points, unknown=unknown)


def comparison_status(update: ComparisonUpdate) -> str:
    lines = [f"**Error**: {update.error}" if update.error else f"**{update.message}**"]
    if update.error and update.experiment is not None and update.experiment.finished_domains:
        lines.append(f"The {len(update.experiment.finished_domains)} domain(s) every system finished are kept below.")
    return "\n".join(lines + [f"- {warning}" for warning in update.warnings])

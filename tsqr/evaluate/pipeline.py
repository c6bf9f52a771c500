"""The evaluation pipeline, written once: load, check, index, reason, score, write. The CLI prints its progress
events and the app renders them; neither runs a step of its own, so their results and warnings cannot drift.

Usage:
    sources = [DomainSource("demo", "demo")]
    plan = ReasoningPlan.from_spec("default", GenerationSettings(max_new_tokens=256))
    for event in run(sources, plan, EvaluationConfig(), out_dir=Path("runs/demo")):
        print(event.warning or event.message)          # event.report: a finished domain; event.files: written

It is a generator so a UI can show progress and stop between steps, and stopping loses nothing: a model's
reasonings are asked for in chunks and its cache keeps each one as it completes (a rerun resumes), and the output
files are rewritten after every finished domain.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ContextManager

from tsqr.bm25 import Index, load_or_build
from tsqr.bright import DataError, check_domain, load_domain
from tsqr.evaluate.plan import HUMAN_REASONING, ReasoningPlan
from tsqr.evaluate.results import write_outputs
from tsqr.evaluate.scoring import DomainReport, EvaluationConfig, ReasoningCost, evaluate_domain
from tsqr.reasoner import GenerationSettings, Reasoner, load_reasoner
from tsqr.reasonings import load_reasonings
from tsqr.records import Domain, Reasoning
from tsqr.retrieval import Retriever, build_retriever

if TYPE_CHECKING:
    from tsqr.evaluate.experiment import Experiment
    from tsqr.evaluate.runs import SystemRun

ReasonChunk = Callable[[Reasoner, list[str]], list[Reasoning]]
OpenReasoner = Callable[[str, GenerationSettings], ContextManager[Reasoner]]
RetrieverFor = Callable[[Domain, Index, EvaluationConfig], Retriever]


@dataclass(frozen=True)
class DomainSource:
    """Where one domain comes from: `source` is "hub", a folder, a file or a list of files (tsqr.bright)."""

    source: str | Path | Sequence[str | Path]
    name: str
    documents: tuple[Path, ...] | None = None
    long: bool = False


@dataclass(frozen=True)
class Progress:
    """One step of a run: `fraction` of the whole run done and a line of status; a `warning` to show; a finished
    domain's `report` with every output file written so far; `domain` once a domain is loaded. A run of several
    systems (tsqr.evaluate.runner) reports each finished (system, domain) as `system_run` and carries the
    `experiment` so far with every finished domain."""

    fraction: float
    message: str = ""
    warning: str = ""
    report: DomainReport | None = None
    files: tuple[Path, ...] = ()
    domain: Domain | None = None
    system_run: "SystemRun | None" = None
    experiment: "Experiment | None" = None


def load_domains(sources: Sequence[DomainSource], limit: int = 0, *, progress: bool = True) -> Iterator[Domain]:
    """Each domain loaded and checked to have documents, cut to its first `limit` queries when limit > 0."""
    if limit < 0:
        raise ValueError(f"limit must be 0 (all queries) or positive, got {limit}")
    if not sources:
        raise DataError("nothing to evaluate: give a BRIGHT subset (files, a folder) or hub domains")
    for source in sources:
        domain = load_domain(source.source, source.name, long=source.long,
                             documents=list(source.documents) if source.documents else None, progress=progress)
        if not domain.documents:
            raise DataError(f"{domain.source}: no documents for domain {source.name!r}: upload the corpus (files "
                            "with id and content) beside the queries (--documents on the command line)")
        if limit:
            domain.examples = domain.examples[:limit]
        yield domain


def _cost(reasonings: Sequence[Reasoning], hardware: Callable[[], str] | None) -> ReasoningCost:
    """What the reasonings cost; the hardware is named only when a model wrote them (now or into the cache):
    naming it imports torch, which a run without a model (the "none" reasoner) never needs."""
    written = any(r.cached or r.new_tokens for r in reasonings)
    return ReasoningCost(reasonings=len(reasonings), new_tokens=sum(r.new_tokens for r in reasonings),
                         seconds=sum(r.seconds for r in reasonings),
                         from_cache=sum(1 for r in reasonings if r.cached),
                         hardware=hardware() if hardware is not None and written else "")


class _Run:
    """The state of one run: how far it is, the open reasoner, the finished reports."""

    def __init__(self, plan: ReasoningPlan, total: int, open_reasoner: OpenReasoner, reason_chunk: ReasonChunk,
                 hardware: Callable[[], str] | None, stack: contextlib.ExitStack) -> None:
        self.plan, self.total = plan, max(1, total)
        self.open_reasoner, self.reason_chunk, self.hardware = open_reasoner, reason_chunk, hardware
        self.stack = stack
        self.position = 0
        self.reasoner: Reasoner | None = None

    def at(self, within: float, message: str = "", **fields) -> Progress:
        return Progress(min(1.0, (self.position + within) / self.total), message, **fields)

    def reasonings(self, domain: Domain) -> Iterator[Progress]:
        """Yields progress; returns ({query id: its sampled texts}, cost) or (None, None) when the plan has none."""
        plan = self.plan
        if plan.source == HUMAN_REASONING:
            texts = {ex.id: (ex.reasoning,) for ex in domain.examples if ex.reasoning.strip()}
            yield self.at(0.5, f"[{domain.name}] the corpus's reasoning field: {len(texts)}/{len(domain.examples)} "
                               "queries have one")
            if not texts:
                raise DataError(f"domain {domain.name!r} has no reasoning field to search with")
            return texts, None
        if plan.source is not None:
            source = load_reasonings(plan.source, domain=domain.name, model=plan.source_model)
            shown = plan.shown_name or source.name
            coverage = source.check_usable(domain.examples, f"{shown} (domain {domain.name!r})")
            yield self.at(0.5, f"[{domain.name}] reasonings from {shown}: {coverage}")
            return {qid: (text,) for qid, text in source.texts_for(domain.examples).items()}, None
        if plan.model is None:
            return None, None
        if self.reasoner is None:
            yield self.at(0.0, f"[{domain.name}] loading model {plan.model}")
            self.reasoner = self.stack.enter_context(self.open_reasoner(plan.model, plan.settings))
        unique = list(dict.fromkeys(ex.query for ex in domain.examples))  # theoremqa domains share texts
        cached = sum(1 for query in unique if self.reasoner.cached(query) is not None)
        note = f" ({cached} found in the reasoning cache)" if cached else ""
        # A server keeps `window` requests in flight and refills it as each completes: give it several windows'
        # worth at once, so the engine idles only at the end of a chunk, not after every few requests.
        chunk = max(1, plan.chunk, 4 * self.reasoner.window)
        done: list[list[Reasoning]] = []
        for start in range(0, len(unique), chunk):
            queries = unique[start:start + chunk]
            if plan.samples > 1:
                done += self.reasoner.reason_samples(queries, plan.samples)
            else:
                done += [[reasoning] for reasoning in self.reason_chunk(self.reasoner, queries)]
            yield self.at(0.9 * len(done) / len(unique), f"[{domain.name}] reasoning with {self.reasoner.name}: "
                                                         f"{len(done)}/{len(unique)} queries{note}")
        by_text = {query: tuple(r.text for r in samples) for query, samples in zip(unique, done)}
        cost = _cost([reasoning for samples in done for reasoning in samples], self.hardware)
        return {ex.id: by_text[ex.query] for ex in domain.examples}, cost


def load_or_build_for(domain: Domain) -> Index:
    """The default `index_for`: the domain's BM25 index, from the on-disk cache when it was built before."""
    return load_or_build(domain.documents)


def build_retriever_for(domain: Domain, index: Index, config: EvaluationConfig) -> Retriever:
    """The default `retriever_for`: the config's retriever over the domain (BM25 is `index` itself; dense
    embeddings come from their on-disk cache when the corpus was embedded before)."""
    return build_retriever(config.retriever, domain.documents, bm25_index=index, domain=domain.name,
                           long=config.long_documents, method=config.hybrid_method, weight=config.hybrid_weight,
                           scoring=config.scoring, query_instruction=config.query_instruction)


def _reason_chunk(reasoner: Reasoner, queries: list[str]) -> list[Reasoning]:
    return reasoner.reason(queries)


def run(
    sources: Sequence[DomainSource],
    plan: ReasoningPlan,
    config: EvaluationConfig = EvaluationConfig(),
    *,
    limit: int = 0,
    out_dir: Path | None = None,
    price_per_mtok: float | None = None,
    index_for: Callable[[Domain], Index] = load_or_build_for,
    retriever_for: RetrieverFor = build_retriever_for,
    open_reasoner: OpenReasoner | None = None,
    reason_chunk: ReasonChunk | None = None,
    hardware: Callable[[], str] | None = None,
    progress_bars: bool = False,
) -> Iterator[Progress]:
    """Evaluate every source, yielding Progress; a finished domain's event carries its report and, with `out_dir`,
    the files rewritten with every domain finished so far. Errors (DataError, ReasonerError, ...) propagate:
    the caller shows them, and what finished is already in its events and on disk.

    `index_for`, `retriever_for`, `open_reasoner` and `reason_chunk` let the app share indexes and retrievers
    between sessions, lease models from its pool and run generation on ZeroGPU; the defaults are what a single
    process wants. `hardware` names where generation runs, for the cost (asked only once a model has written).
    """
    reports: list[DomainReport] = []
    with contextlib.ExitStack() as stack:
        state = _Run(plan, len(sources), open_reasoner or load_reasoner, reason_chunk or _reason_chunk, hardware,
                     stack)
        yield state.at(0.0, "loading data")
        for position, domain in enumerate(load_domains(sources, limit, progress=progress_bars)):
            state.position = position
            name = domain.name
            yield state.at(0.0, f"[{name}] {len(domain.examples)} queries, {len(domain.documents)} documents",
                           domain=domain)
            for warning in check_domain(domain, long=config.long_documents).warnings():
                yield state.at(0.0, warning=f"[{name}] {warning}")
            yield state.at(0.0, f"[{name}] indexing {len(domain.documents)} documents")
            index = index_for(domain)
            if config.retriever != "bm25":
                yield state.at(0.0, f"[{name}] preparing the {config.retriever} retriever")
            retriever = retriever_for(domain, index, config)
            reasonings, cost = yield from state.reasonings(domain)
            yield state.at(0.95, f"[{name}] retrieving and scoring {len(domain.examples)} queries")
            report = evaluate_domain(domain, retriever, reasonings, config, cost=cost, progress=progress_bars)
            if report.missing_reasoning:
                yield state.at(0.95, warning=f"[{name}] {len(report.missing_reasoning)} queries have no reasoning and "
                                             f"were searched raw: {', '.join(report.missing_reasoning[:5])}")
            reports.append(report)
            files = tuple(write_outputs(reports, out_dir, price_per_mtok)) if out_dir is not None else ()
            yield state.at(1.0, f"[{name}] done", report=report, files=files)
        state.position = state.total
        yield state.at(0.0, f"finished {len(reports)} domain(s)")

"""Many systems over many domains in one run: each domain loaded, indexed and embedded once whatever the number
of systems, each model's reasonings generated once per domain whatever the number of retrievers and modes that
use them, each (system, domain) stored under the system's key so a rerun computes only what is new.

Usage:
    systems = expand_systems(["default", "human"], ["bm25", "dense"], settings, EvaluationConfig())
    for event in run_systems([DomainSource("demo", "demo")], systems, out_dir=Path("runs/demo")):
        print(event.warning or event.message)        # event.system_run: one finished; event.experiment: so far

It yields tsqr.evaluate.pipeline's Progress events, so the CLI and the app show it as they show one system; the
steps (load, check, index, reason, score) are the pipeline's own.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path

from tsqr.bm25 import Index
from tsqr.bright import check_domain
from tsqr.compare import DEFAULT_ALPHA
from tsqr.evaluate.experiment import Experiment, write_experiment
from tsqr.evaluate.pipeline import (
    DomainSource,
    OpenReasoner,
    Progress,
    ReasonChunk,
    RetrieverFor,
    _reason_chunk,
    _Run,
    build_retriever_for,
    load_domains,
    load_or_build_for,
)
from tsqr.evaluate.results import HEADLINE_MEASURES
from tsqr.evaluate.runs import RunStore, SystemRun, domain_fingerprint
from tsqr.evaluate.scoring import evaluate_domain
from tsqr.evaluate.systems import System, check_labels
from tsqr.reasoner import load_reasoner
from tsqr.records import Domain
from tsqr.retrieval import Retriever

RUNS_FOLDER = "runs"


def default_baseline(systems: Sequence[System]) -> str:
    """The raw query with the first retriever; the first system when no system is raw."""
    return next((s.label for s in systems if s.is_raw), systems[0].label)


def _retriever_key(system: System) -> tuple:
    config = system.config
    return (config.retriever, config.scoring, config.hybrid_method, config.hybrid_weight, config.long_documents,
            config.query_instruction)


def _relay(steps: Generator[Progress, None, tuple], fraction: float) -> Generator[Progress, None, tuple]:
    """The pipeline's reasoning events, re-placed at `fraction` of this run; returns what the steps return."""
    while True:
        try:
            event = next(steps)
        except StopIteration as finished:
            return finished.value
        yield Progress(fraction, event.message, event.warning)


def run_systems(
    sources: Sequence[DomainSource],
    systems: Sequence[System],
    *,
    baseline: str | None = None,
    test: str = "t",
    alpha: float = DEFAULT_ALPHA,
    limit: int = 0,
    out_dir: Path | None = None,
    price_per_mtok: float | None = None,
    table_measures: Sequence[str] = HEADLINE_MEASURES,
    index_for: Callable[[Domain], Index] = load_or_build_for,
    retriever_for: RetrieverFor = build_retriever_for,
    open_reasoner: OpenReasoner | None = None,
    reason_chunk: ReasonChunk | None = None,
    hardware: Callable[[], str] | None = None,
    progress_bars: bool = False,
) -> Iterator[Progress]:
    """Evaluate every system on every source, yielding Progress; each finished (system, domain) comes as
    `system_run`, each finished domain rewrites the output files (with `out_dir`) and carries the `experiment`.
    Errors propagate as in tsqr.evaluate.run: what finished is already stored."""
    systems = check_labels(systems)
    if not systems:
        raise ValueError("no systems to evaluate")
    experiment = Experiment(systems, baseline or default_baseline(systems), test, alpha, price_per_mtok)
    store = RunStore(out_dir / RUNS_FOLDER) if out_dir is not None else None
    steps = max(1, len(sources) * len(systems))
    with contextlib.ExitStack() as stack:
        states: dict[str, _Run] = {}  # one per reasoning source: its reasoner stays open across domains
        yield Progress(0.0, "loading data")
        for position, domain in enumerate(load_domains(sources, limit, progress=progress_bars)):
            name = domain.name
            yield Progress(position * len(systems) / steps,
                           f"[{name}] {len(domain.examples)} queries, {len(domain.documents)} documents", domain=domain)
            for warning in check_domain(domain, long=any(s.config.long_documents for s in systems)).warnings():
                yield Progress(position * len(systems) / steps, warning=f"[{name}] {warning}")
            fingerprint = domain_fingerprint(domain)
            index: Index | None = None
            retrievers: dict[tuple, Retriever] = {}
            reasonings: dict[str, tuple] = {}
            for number, system in enumerate(systems):
                at = (position * len(systems) + number) / steps
                stored = store.load(system.key, name, fingerprint) if store is not None else None
                if stored is not None:
                    stored.label = system.label
                    experiment.add(stored)
                    yield Progress(at, f"[{name}] {system.label}: reused the stored run", system_run=stored)
                    continue
                if index is None:
                    yield Progress(at, f"[{name}] indexing {len(domain.documents)} documents")
                    index = index_for(domain)
                if _retriever_key(system) not in retrievers:
                    if system.config.retriever != "bm25":
                        yield Progress(at, f"[{name}] preparing the {system.config.retriever} retriever")
                    retrievers[_retriever_key(system)] = retriever_for(domain, index, system.config)
                plan_key = system.reasoning_key
                if system.plan.reasons and plan_key not in reasonings:
                    state = states.get(plan_key)
                    if state is None:
                        state = states[plan_key] = _Run(system.plan, 1, open_reasoner or load_reasoner,
                                                        reason_chunk or _reason_chunk, hardware, stack)
                    reasonings[plan_key] = yield from _relay(state.reasonings(domain), at)
                texts, cost = reasonings.get(plan_key, (None, None))
                yield Progress(at, f"[{name}] {system.label}: retrieving and scoring {len(domain.examples)} queries")
                report = evaluate_domain(domain, retrievers[_retriever_key(system)], texts, system.config,
                                         cost=cost, progress=progress_bars)
                side = report.reasoned if report.reasoned is not None else report.raw
                run = SystemRun(system.label, system.key, name, fingerprint, side.searched, side.run, side.per_query,
                                side.mean, report.reasonings, report.missing_reasoning, report.cost)
                if report.missing_reasoning:
                    yield Progress(at, warning=f"[{name}] {system.label}: {len(report.missing_reasoning)} queries "
                                               f"have no reasoning and were searched raw: "
                                               f"{', '.join(report.missing_reasoning[:5])}")
                if store is not None:
                    store.save(run)
                experiment.add(run)
                yield Progress(at, f"[{name}] {system.label}: done", system_run=run)
            files = tuple(write_experiment(experiment, out_dir, table_measures)) if out_dir is not None else ()
            yield Progress((position + 1) * len(systems) / steps, f"[{name}] done", files=files,
                           experiment=experiment)
        yield Progress(1.0, f"finished {len(systems)} system(s) on {len(experiment.finished_domains)} domain(s)",
                       experiment=experiment)

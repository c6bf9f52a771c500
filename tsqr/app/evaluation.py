"""The Evaluate tab's job: load the chosen data, get reasonings, score raw vs reasoned, write the downloads.

Usage:
    job = EvaluationJob(store, out_dir, EvaluationConfig(scoring="bright"), ReasoningChoice(file=path))
    for update in job.run(DataChoice(files=(examples, documents))):
        show(update.fraction, update.message)     # update.reports: every domain finished so far
    update.files                                  # results.json, summary.csv, per_query.csv, TREC runs

The scoring is `tsqr.evaluate` (the CLI's runner); this module only sequences it for a UI. It is a generator so
the UI can show progress and cancel between steps, and it is written so that stopping or failing loses
nothing: a model's reasonings are requested one batch at a time and the reasoner's cache keeps every finished
batch (a rerun resumes where it stopped), and the downloads are rewritten after every finished domain.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tsqr.records import Domain

if TYPE_CHECKING:
    from tsqr.app.corpora import CorpusStore
    from tsqr.evaluate import DomainReport, EvaluationConfig
    from tsqr.reasoner import GenerationSettings, Reasoner

EVALUATION_MEASURES = ("nDCG@10", "R@10", "R@100", "RR", "nDCG@100", "P@10", "AP")
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
    settings: "GenerationSettings | None" = None


@dataclass
class Update:
    """One step of a run, for the UI: progress, a line of status, and everything finished so far."""

    fraction: float
    message: str
    reports: list["DomainReport"] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    corpus_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    done: bool = False


def upload_domain_name(files: Sequence[Path], given: str = "") -> str:
    """The domain name for uploaded files: the one given, else a BRIGHT domain all file names agree on
    (e.g. biology-00000-of-00001.parquet), else "uploaded"."""
    from tsqr.bright import BRIGHT_DOMAINS

    if given.strip():
        return given.strip()
    names = [file.name.lower().replace("-", "_") for file in files]
    found = [domain for domain in BRIGHT_DOMAINS if names and all(domain in name for name in names)]
    return max(found, key=len) if found else UPLOAD_NAME  # theoremqa_theorems, not a shorter overlap


def load_domains(choice: DataChoice) -> Iterator[Domain]:
    """Each chosen domain, loaded and checked to have documents (tsqr.bright.DataError names what is wrong)."""
    from tsqr.bright import DataError, load_domain

    if not choice.files and not choice.hub_domains:
        raise DataError("nothing to evaluate: upload a BRIGHT subset or pick hub domains")
    sources: list[tuple[object, str]] = []
    if choice.files:
        source = choice.files[0] if len(choice.files) == 1 else list(choice.files)
        sources.append((source, upload_domain_name(choice.files, choice.name)))
    sources += [("hub", name) for name in choice.hub_domains]
    for source, name in sources:
        documents = list(choice.corpus_files) if source != "hub" and choice.corpus_files else None
        domain = load_domain(source, name, documents=documents, progress=False)
        if not domain.documents:
            raise DataError(f"{domain.source}: no documents for domain {name!r}: upload the corpus (files with "
                            "id and content) beside the queries")
        if choice.limit > 0:
            domain.examples = domain.examples[: choice.limit]
        yield domain


class EvaluationJob:
    """One Evaluate-tab run; `run` yields Updates and can be abandoned at any yield."""

    def __init__(self, store: "CorpusStore", out_dir: Path, config: "EvaluationConfig",
                 reasoning: ReasoningChoice) -> None:
        self.store = store
        self.out_dir = out_dir
        self.config = config
        self.reasoning = reasoning
        self.state = Update(0.0, "starting")
        self._position, self._total = 0, 1  # which domain is running, of how many

    def _step(self, fraction: float, message: str) -> Update:
        """Report progress `fraction` within the current domain as a fraction of the whole run."""
        self.state.fraction = min(1.0, (self._position + fraction) / self._total)
        self.state.message = message
        return self.state

    def run(self, choice: DataChoice) -> Iterator[Update]:
        """Load, reason, retrieve and score every chosen domain; the last Update has done=True or an error."""
        from tsqr.app.corpora import shown_error

        self._total = max(1, (1 if choice.files else 0) + len(choice.hub_domains))
        try:
            yield self._step(0.0, "loading data")
            for position, domain in enumerate(load_domains(choice)):
                self._position = position
                yield from self._evaluate(domain)
            self._position = self._total
        except Exception as error:  # shown in the UI; what finished stays in self.state
            uploads = (*choice.uploads, *([self.reasoning.file] if self.reasoning.file else []))
            self.state.error = shown_error(error, uploads)
            yield self.state
            return
        self.state.done = True
        yield self._step(0.0, f"finished {len(self.state.reports)} domain(s)")

    def _evaluate(self, domain: Domain) -> Iterator[Update]:
        from tsqr.bright import check_domain
        from tsqr.evaluate import evaluate_domain, write_outputs

        state = self.state
        state.warnings += [f"[{domain.name}] {line}" for line in check_domain(domain).warnings()]
        corpus = self.store.add(domain, f"{domain.name} ({len(domain.examples)} queries)")
        state.corpus_ids.append(corpus.id)
        yield self._step(0.0, f"[{domain.name}] indexing {len(domain.documents)} documents")
        index = self.store.index(corpus.id)
        reasonings = yield from self._reasonings(domain)
        yield self._step(0.95, f"[{domain.name}] retrieving and scoring {len(domain.examples)} queries")
        report = evaluate_domain(domain, index, reasonings, self.config)
        if report.missing_reasoning:
            state.warnings.append(f"[{domain.name}] {len(report.missing_reasoning)} queries have no reasoning and "
                                  f"were searched raw: {', '.join(report.missing_reasoning[:5])}")
        state.reports.append(report)
        state.files = write_outputs(state.reports, self.out_dir)
        yield self._step(1.0, f"[{domain.name}] done")

    def _reasonings(self, domain: Domain) -> Iterator[Update]:
        """{query id: reasoning} from the file or the model; a generator returning the mapping."""
        if self.reasoning.file is not None:
            from tsqr.reasonings import load_reasonings

            source = load_reasonings(self.reasoning.file, domain=domain.name)
            coverage = source.coverage(domain.examples)
            if coverage.found == 0:
                from tsqr.bright import DataError

                raise DataError(f"{self.reasoning.file}: no reasoning matches any query of {domain.name!r} "
                                "(reasonings are matched by query text, or by id for BRIGHT <model>_reason files)")
            yield self._step(0.5, f"[{domain.name}] reasonings from {source.name}: {coverage}")
            return source.texts_for(domain.examples)
        return (yield from self._generate(domain))

    def _generate(self, domain: Domain) -> Iterator[Update]:
        """Ask the model one batch at a time, so a cancelled run keeps (in the cache) every finished batch."""
        from tsqr.app.models import EVALUATION_TURNS, POOL, on_gpu, reason_domain
        from tsqr.app.turns import in_turn
        from tsqr.reasoner import GenerationSettings

        settings = self.reasoning.settings or GenerationSettings()
        spec = self.reasoning.model
        yield self._step(0.0, f"[{domain.name}] loading model {spec}")
        reason = in_turn(EVALUATION_TURNS, on_gpu(reason_domain))  # each batch takes a turn; loading does not
        texts: dict[str, str] = {}
        examples = domain.examples
        with POOL.lease(spec, settings) as reasoner:  # loaded here, in the main process, and kept while we run
            resumed = cached_count(reasoner, [ex.query for ex in examples])
            note = f" ({resumed} found in the reasoning cache)" if resumed else ""
            for start in range(0, len(examples), settings.batch_size):
                batch = Domain(domain.name, examples[start:start + settings.batch_size], source=domain.source)
                texts.update(reason(spec, settings, batch))
                done = min(start + settings.batch_size, len(examples))
                yield self._step(0.9 * done / len(examples), f"[{domain.name}] reasoning with {reasoner.name}: "
                                                             f"{done}/{len(examples)} queries{note}")
        return texts


def cached_count(reasoner: "Reasoner", queries: Sequence[str]) -> int:
    """How many of `queries` the reasoner has cached already: what a resumed run will not generate again."""
    cache = getattr(reasoner, "cache", None)  # generating reasoners have one; "none" has nothing to cache
    if cache is None:
        return 0
    return sum(1 for query in queries if reasoner.key(query) in cache)

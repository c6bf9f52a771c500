"""Systems x domains compared with a baseline: means, paired tests, Holm-adjusted p-values, win/tie/loss.

Usage:
    scores = {"raw": {"biology": {"q1": {"nDCG@10": 0.2}, ...}, ...}, "QR-7B": {...}}   # label -> domain -> query
    tables = compare(scores, baseline="raw", measures=["nDCG@10"], test="t", alpha=0.05)
    cell = tables[0].cell("QR-7B", "biology"); cell.mean, cell.p_value, cell.adjusted, cell.significant

Each column (a domain, and the average) is one family for Holm's correction: the systems compared with the
baseline there. The average column is printed as papers print it (the unweighted mean of the domain means) and
tested over every query of every domain pooled, paired by (domain, query id). Win/tie/loss counts are per query,
pooled over domains.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tsqr.compare.stats import DEFAULT_ALPHA, WinTieLoss, check_alpha, check_test, holm, paired_p_value, win_tie_loss

AVERAGE = "average"
PerQuery = Mapping[str, Mapping[str, float]]          # query id -> measure -> value
Scores = Mapping[str, Mapping[str, PerQuery]]          # system label -> domain -> per-query scores


@dataclass(frozen=True)
class Cell:
    """One system on one column: its mean, and against the baseline the raw and Holm-adjusted p-values."""

    mean: float
    queries: int
    delta: float = 0.0
    p_value: float | None = None
    adjusted: float | None = None
    alpha: float = DEFAULT_ALPHA

    @property
    def significant(self) -> bool:
        return self.adjusted is not None and self.adjusted <= self.alpha and self.delta != 0

    @property
    def direction(self) -> int:
        """+1 significantly better than the baseline, -1 significantly worse, 0 otherwise."""
        return 0 if not self.significant else (1 if self.delta > 0 else -1)


@dataclass(frozen=True)
class MeasureTable:
    """One measure's table: systems as rows (baseline included), the domains then AVERAGE as columns."""

    measure: str
    baseline: str
    systems: tuple[str, ...]
    domains: tuple[str, ...]
    cells: Mapping[tuple[str, str], Cell]
    record: Mapping[str, WinTieLoss]
    test: str
    alpha: float

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.domains, AVERAGE) if len(self.domains) > 1 else self.domains

    def cell(self, system: str, column: str) -> Cell:
        return self.cells[(system, column)]


def _vector(per_query: PerQuery, ids: Sequence[str], measure: str) -> list[float]:
    return [float(per_query[qid].get(measure, 0.0)) for qid in ids]


def _query_ids(scores: Scores, baseline: str, system: str, domain: str) -> list[str]:
    ids = list(scores[baseline][domain])
    if set(scores[system][domain]) != set(ids):
        raise ValueError(f"{system!r} and the baseline {baseline!r} scored different queries on {domain!r}: "
                         "a paired test needs the same queries on both sides")
    return ids


def _domains(scores: Scores, baseline: str) -> tuple[str, ...]:
    domains = tuple(scores[baseline])
    for system, by_domain in scores.items():
        if set(by_domain) != set(domains):
            raise ValueError(f"{system!r} covers domains {sorted(by_domain)}, the baseline covers {sorted(domains)}")
    return domains


def _measure_table(scores: Scores, baseline: str, measure: str, test: str, alpha: float) -> MeasureTable:
    domains = _domains(scores, baseline)
    systems = tuple(scores)
    others = [system for system in systems if system != baseline]
    cells: dict[tuple[str, str], Cell] = {}
    pooled: dict[str, tuple[list[float], list[float]]] = {system: ([], []) for system in systems}
    for domain in domains:
        base_ids = list(scores[baseline][domain])
        base_mean = _mean(_vector(scores[baseline][domain], base_ids, measure))
        cells[(baseline, domain)] = Cell(base_mean, len(base_ids), alpha=alpha)
        vectors = {}
        for system in others:
            ids = _query_ids(scores, baseline, system, domain)
            vectors[system] = (_vector(scores[system][domain], ids, measure),
                               _vector(scores[baseline][domain], ids, measure))
            pooled[system][0].extend(vectors[system][0])
            pooled[system][1].extend(vectors[system][1])
        _add_column(cells, domain, vectors, base_mean, test, alpha, domain_means=None)
    if len(domains) > 1:
        means = {system: _mean([cells[(system, d)].mean for d in domains]) for system in systems}
        total = sum(len(scores[baseline][domain]) for domain in domains)
        cells[(baseline, AVERAGE)] = Cell(means[baseline], total, alpha=alpha)
        _add_column(cells, AVERAGE, {s: pooled[s] for s in others}, means[baseline], test, alpha, domain_means=means)
    record = {system: win_tie_loss(*pooled[system]) for system in others}
    return MeasureTable(measure, baseline, systems, domains, cells, record, test, alpha)


def _add_column(cells: dict, column: str, vectors: Mapping[str, tuple[list[float], list[float]]], base_mean: float,
                test: str, alpha: float, domain_means: Mapping[str, float] | None) -> None:
    systems = list(vectors)
    p_values = [paired_p_value(*vectors[system], test=test) for system in systems]
    for system, p_value, adjusted in zip(systems, p_values, holm(p_values)):
        mean = domain_means[system] if domain_means is not None else _mean(vectors[system][0])
        cells[(system, column)] = Cell(mean, len(vectors[system][0]), mean - base_mean, p_value, adjusted, alpha)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def compare(scores: Scores, baseline: str, measures: Sequence[str], test: str = "t",
            alpha: float = DEFAULT_ALPHA) -> list[MeasureTable]:
    """One MeasureTable per measure, rows in `scores`' order. The baseline must be one of the systems."""
    check_test(test)
    check_alpha(alpha)
    if baseline not in scores:
        raise ValueError(f"baseline {baseline!r} is not one of the systems: {', '.join(scores)}")
    return [_measure_table(scores, baseline, measure, test, alpha) for measure in measures]

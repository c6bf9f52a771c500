"""Paired significance tests of systems against a baseline, Holm's correction, and win/tie/loss counts.

Usage:
    p = paired_p_value(system_scores, baseline_scores, test="t")     # two-sided, per-query vectors in one order
    adjusted = holm([0.01, 0.04, None, 0.03])                         # None (untestable) stays None
    wins, ties, losses = win_tie_loss(system_scores, baseline_scores)

Why these: the TongSearch and BRIGHT tables report no test, while IR toolkits (PyTerrier's Experiment, ranx's
compare) test each system against a baseline on the same queries and correct for comparing several at once.
Scores are paired by query, so the paired t-test (scipy.stats.ttest_rel) and the Wilcoxon signed-rank test
(scipy.stats.wilcoxon) are the two choices; Holm's step-down correction keeps the family-wise error at alpha
without Bonferroni's loss of power. Two degenerate cases scipy answers with NaN get a defined answer here:
identical vectors (every difference zero) have p = 1 (nothing differs, so nothing is marked), and fewer than two
queries have no p-value (None: untestable, never marked).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

TESTS = ("t", "wilcoxon", "none")
CORRECTION = "holm"
DEFAULT_ALPHA = 0.05
TIE_TOLERANCE = 1e-12  # per-query scores closer than this count as a tie (floating-point noise, not a difference)


class WinTieLoss(NamedTuple):
    """How many queries a system scored above, equal to and below the baseline."""

    wins: int
    ties: int
    losses: int

    def __str__(self) -> str:
        return f"{self.wins}/{self.ties}/{self.losses}"


def check_test(test: str) -> str:
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    return test


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return alpha


def _paired(system: Sequence[float], baseline: Sequence[float]) -> None:
    if len(system) != len(baseline):
        raise ValueError(f"paired scores need one value per query on both sides: {len(system)} vs {len(baseline)}")


def paired_p_value(system: Sequence[float], baseline: Sequence[float], test: str = "t") -> float | None:
    """The two-sided p-value of `test` on per-query scores paired by position; None when untestable."""
    _paired(system, baseline)
    if check_test(test) == "none" or len(system) < 2:
        return None
    if all(abs(s - b) <= TIE_TOLERANCE for s, b in zip(system, baseline)):
        return 1.0
    from scipy.stats import ttest_rel, wilcoxon  # deferred: scipy.stats costs a second to import

    with warnings.catch_warnings():  # differences equal on every query: scipy warns, and its p (about 0) is right
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        result = ttest_rel(system, baseline) if test == "t" else wilcoxon(system, baseline)
    p_value = float(result.pvalue)
    return None if math.isnan(p_value) else p_value


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the input's order; None entries are not part of the family.

    Sorted ascending, the i-th smallest of m p-values becomes min(1, max over j <= i of (m - j + 1) * p_j), so the
    adjusted values keep the order of the raw ones and a hypothesis is rejected when its adjusted value <= alpha.
    """
    tested = sorted((p, position) for position, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    family, running = len(tested), 0.0
    for rank, (p_value, position) in enumerate(tested):
        running = max(running, min(1.0, (family - rank) * p_value))
        adjusted[position] = running
    return adjusted


def win_tie_loss(system: Sequence[float], baseline: Sequence[float]) -> WinTieLoss:
    """Per-query comparison counts; differences within TIE_TOLERANCE are ties."""
    _paired(system, baseline)
    wins = sum(1 for s, b in zip(system, baseline) if s - b > TIE_TOLERANCE)
    losses = sum(1 for s, b in zip(system, baseline) if b - s > TIE_TOLERANCE)
    return WinTieLoss(wins, len(system) - wins - losses, losses)

"""What a system's reasoning costs per query: new tokens, seconds, hardware and, when priced, money.

Usage:
    cost = SystemCost.total([report.cost for report in reports])   # None: not recorded (precomputed reasonings)
    cost.tokens_per_query, cost.seconds_per_query, cost.price_per_query(0.6)

The raw query costs nothing (SystemCost.free()); reasonings read from a file carry no record of what they cost,
so their cost is unknown (None) rather than zero, and the frontier chart leaves them out, saying so.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class _DomainCost(Protocol):
    reasonings: int
    new_tokens: int
    seconds: float
    hardware: str


@dataclass(frozen=True)
class SystemCost:
    """Reasoning cost summed over a system's domains; per-query figures divide by the reasonings asked for."""

    reasonings: int
    new_tokens: int
    seconds: float
    hardware: str = ""

    @classmethod
    def free(cls) -> "SystemCost":
        return cls(0, 0, 0.0)

    @classmethod
    def total(cls, costs: Iterable[_DomainCost | None]) -> "SystemCost | None":
        """The sum of per-domain costs; None when any domain's cost is unknown or there is none."""
        costs = list(costs)
        if not costs or any(cost is None for cost in costs):
            return None
        hardware = sorted({cost.hardware for cost in costs if cost.hardware})
        return cls(sum(c.reasonings for c in costs), sum(c.new_tokens for c in costs),
                   sum(c.seconds for c in costs), ", ".join(hardware))

    @property
    def tokens_per_query(self) -> float:
        return self.new_tokens / self.reasonings if self.reasonings else 0.0

    @property
    def seconds_per_query(self) -> float:
        return self.seconds / self.reasonings if self.reasonings else 0.0

    def price_per_query(self, price_per_mtok: float | None) -> float | None:
        """Money per query in the currency of `price_per_mtok` (per million new tokens); None when unpriced."""
        return None if price_per_mtok is None else self.tokens_per_query / 1e6 * price_per_mtok

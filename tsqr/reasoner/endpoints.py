"""Which replica of a served model takes the next request: the one with the fewest requests in flight, skipping
those that just failed, never more than `capacity` at one endpoint.

Usage:
    pool = EndpointPool(["http://a:8000/v1", "http://b:8000/v1"], capacity=64, backoff=1.0)
    endpoint = pool.acquire(avoid={"http://a:8000/v1"})     # blocks while every endpoint is full or cooling
    pool.release(endpoint, failure="HTTP 503 Service Unavailable")   # or failure=None on success
    pool.stats()                                             # per endpoint: completed, failures by kind

A failing endpoint cools down before it is tried again (backoff, doubling with each failure in a row, at most
MAX_COOLDOWN_S), so a dead replica costs one failed request per cooldown instead of one per request; a success
ends the cooldown streak. With one endpoint this is plain exponential backoff between retries.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

MAX_COOLDOWN_S = 60.0


@dataclass(frozen=True)
class EndpointStats:
    """What one endpoint did: requests it answered (4xx rejections included), and failures (no answer, or a
    retriable status) counted by kind ("HTTP 503 Service Unavailable", "ConnectError")."""

    url: str
    completed: int
    failures: tuple[tuple[str, int], ...]

    @property
    def failed(self) -> int:
        return sum(count for _, count in self.failures)

    def describe(self) -> str:
        kinds = ", ".join(f"{kind} x{count}" for kind, count in self.failures)
        return f"{self.url}: {self.completed} completed, {self.failed} failed" + (f" ({kinds})" if kinds else "")


@dataclass
class Endpoint:
    """One base URL and its live counters (changed only under the pool's lock)."""

    url: str
    in_flight: int = 0
    assigned: int = 0
    completed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    streak: int = 0
    cool_until: float = 0.0


class EndpointPool:
    """Thread-safe choice among replicas; every `acquire` must be paired with one `release`."""

    def __init__(self, urls: Sequence[str], capacity: int, backoff: float) -> None:
        if not urls:
            raise ValueError("an endpoint pool needs at least one URL")
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.endpoints = [Endpoint(url) for url in urls]
        self.capacity, self.backoff = capacity, backoff
        self._changed = threading.Condition()

    def acquire(self, avoid: Collection[str] = ()) -> Endpoint:
        """The endpoint with the fewest in flight among those not cooling down and not full; waits while none
        qualifies. A request that failed at some endpoints (`avoid`) waits for a slot at a healthy other one
        rather than going back, and returns to one it failed at only when no other is healthy."""
        with self._changed:
            while True:
                now = time.monotonic()
                healthy = [e for e in self.endpoints if e.cool_until <= now]
                preferred = [e for e in healthy if e.url not in avoid] or healthy
                open_now = [e for e in preferred if e.in_flight < self.capacity]
                if open_now:
                    chosen = min(open_now, key=lambda e: (e.in_flight, e.assigned))
                    chosen.in_flight += 1
                    chosen.assigned += 1
                    return chosen
                cooling = [e.cool_until - now for e in self.endpoints if e.cool_until > now]
                self._changed.wait(timeout=min(cooling) if cooling else None)

    def release(self, endpoint: Endpoint, failure: str | None) -> None:
        """Give the slot back; `failure` names what went wrong (None: the request was answered)."""
        with self._changed:
            endpoint.in_flight -= 1
            now = time.monotonic()
            if failure is None:
                endpoint.completed += 1
                endpoint.streak = 0
            else:
                endpoint.failures[failure] += 1
                if endpoint.cool_until <= now:  # failures of requests sent together count as one
                    endpoint.streak = min(endpoint.streak + 1, 32)
                    endpoint.cool_until = now + min(MAX_COOLDOWN_S, self.backoff * 2 ** (endpoint.streak - 1))
            self._changed.notify_all()

    def stats(self) -> tuple[EndpointStats, ...]:
        with self._changed:
            return tuple(EndpointStats(e.url, e.completed, tuple(sorted(e.failures.items())))
                         for e in self.endpoints)

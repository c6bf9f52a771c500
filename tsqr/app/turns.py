"""Turns at the generating model, first come first served, each waiter knowing how many are ahead of it.

Usage:
    LINE = Line(capacity=8)                          # how many may wait for (or hold) the model at once
    with LINE.place():                               # LineFull at once when 8 are in already
        ...
    SEARCH_TURNS = Turns()
    with SEARCH_TURNS.ticket() as ticket:
        for ahead in ticket.waiting(poll_s=0.5):    # while waiting: how many tickets are ahead (>= 1)
            yield f"{ahead} ahead of you"
        ...                                          # this caller's turn, until the block ends

Why the app does not simply give its search event a Gradio concurrency limit of 1: then a search waits for
someone else's generation before it can even show its raw BM25 results, and a search or evaluation that needs no
model ("none", a reasoning file, a cached reasoning) waits behind a model that takes a minute to load or never
answers. Here the events run side by side; only the generation itself takes turns. `waiting` returns to its
caller every `poll_s` seconds, so a Gradio generator can show its place in line and be stopped while it waits;
leaving the block (done, failed, or a generator closed by Stop) frees the turn or the place in line.

Why the line is bounded (Line): every search waiting for the model holds one of the search event's Gradio slots.
The app gives that event as many slots as the line holds plus its raw capacity, so searches waiting for the model
can never take the slots raw results need; one search more than the line holds is told so at once rather than
queued behind minutes of generation.
"""
from __future__ import annotations

import functools
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

F = TypeVar("F", bound=Callable)


class Turns:
    """At most `slots` holders at once; the others wait in arrival order."""

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.slots = slots
        self._condition = threading.Condition()
        self._waiting: deque[int] = deque()
        self._holding: set[int] = set()
        self._numbers = itertools.count()

    @contextmanager
    def ticket(self) -> Iterator["Ticket"]:
        """A place in line for the duration of the block (the turn itself comes with `Ticket.waiting`)."""
        number = next(self._numbers)
        with self._condition:
            self._waiting.append(number)
            self._admit()
        try:
            yield Ticket(self, number)
        finally:
            with self._condition:
                if number in self._holding:
                    self._holding.remove(number)
                else:
                    self._waiting.remove(number)
                self._admit()
                self._condition.notify_all()

    def _ahead(self, number: int) -> int:
        """0 when ticket `number` holds a turn, else how many tickets hold a turn or wait before it."""
        if number in self._holding:
            return 0
        return len(self._holding) + self._waiting.index(number)

    def _admit(self) -> None:
        while self._waiting and len(self._holding) < self.slots:
            self._holding.add(self._waiting.popleft())

    def _wait(self, number: int, timeout: float | None) -> int:
        with self._condition:
            self._condition.wait_for(lambda: number in self._holding, timeout)
            return self._ahead(number)


class LineFull(RuntimeError):
    """The line is full: the caller is told how many are in it and to come back, rather than queued."""

    def __init__(self, inside: int) -> None:
        super().__init__(f"{inside} visitors are waiting for the model; try again shortly")
        self.inside = inside


class Line:
    """At most `capacity` callers inside at once; one more is refused at once (LineFull), not queued."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._inside = 0
        self._lock = threading.Lock()

    @property
    def inside(self) -> int:
        with self._lock:
            return self._inside

    @contextmanager
    def place(self) -> Iterator[None]:
        """A place for the duration of the block, or LineFull when `capacity` callers are inside."""
        with self._lock:
            if self._inside >= self.capacity:
                raise LineFull(self._inside)
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1


class Ticket:
    """One caller's place in a `Turns` line."""

    def __init__(self, turns: Turns, number: int) -> None:
        self._turns, self.number = turns, number

    def waiting(self, poll_s: float | None = None) -> Iterator[int]:
        """Yields how many are ahead every `poll_s` seconds until this ticket's turn comes (None: just block)."""
        while ahead := self._turns._wait(self.number, poll_s):
            yield ahead


def in_turn(turns: Turns, function: F) -> F:
    """`function`, each call waiting (blocked) for a turn of `turns` and holding it while it runs."""

    @functools.wraps(function)
    def taking_turns(*args, **kwargs):
        with turns.ticket() as ticket:
            for _ in ticket.waiting():
                pass
            return function(*args, **kwargs)

    return taking_turns  # type: ignore[return-value]

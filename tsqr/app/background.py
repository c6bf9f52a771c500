"""Slow work a visitor waits for (embedding a corpus), run in a thread while the page shows how far it got.

Usage:
    work = Background(lambda on_progress: STORE.retriever(corpus_id, "dense", on_progress=on_progress))
    for figure in work.figures(poll_s=0.5):
        yield ..., f"Embedding the corpus for dense retrieval: {figure}", ...
    retriever = work.result()

A Gradio generator cannot yield while it is blocked in a call, so the call runs in a thread and the generator
polls its progress: the visitor sees "1,234/5,000 documents, about 40 s left" instead of a spinner with no reason.
A visitor who stops waiting leaves the thread to finish: what it builds is shared and kept for the next search.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`work(on_progress)` running in a daemon thread; `on_progress(done, total)` is recorded for `figures`."""

    def __init__(self, work: Callable[[Callable[[int, int], None]], T]) -> None:
        self._done = self._total = 0
        self._started = time.monotonic()
        self._first: tuple[float, int] | None = None  # (when, done) of the first batch counted: the rate's origin
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True, name="tsqr-background")
        self._thread.start()

    def _run(self, work: Callable[[Callable[[int, int], None]], T]) -> None:
        try:
            self._value = work(self._record)
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def _record(self, done: int, total: int) -> None:
        if self._first is None and done > 0:  # loading the model and the first batch's warm-up are not the rate
            self._first = (time.monotonic(), done)
        self._done, self._total = done, total

    def figure(self) -> str:
        """How far the work is: "starting" before the first count, then done/total, and the time left once two
        batches give a rate."""
        if not self._total:
            return f"starting ({time.monotonic() - self._started:.0f} s)"
        done, total = self._done, self._total
        figure = f"{done:,}/{total:,} documents"
        if self._first is not None and done > self._first[1]:
            seconds_per_document = (time.monotonic() - self._first[0]) / (done - self._first[1])
            figure += f", about {(total - done) * seconds_per_document:.0f} s left"
        return figure

    def figures(self, poll_s: float = 0.5) -> Iterator[str]:
        """The progress figure every `poll_s` seconds while the work runs (nothing once it has finished)."""
        while True:
            self._thread.join(poll_s)
            if not self._thread.is_alive():
                return
            yield self.figure()

    def result(self) -> T:
        """The work's value once it has finished, or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

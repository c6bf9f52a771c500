"""A sliding window of work in flight: at most `size` items at once, the next one starting the moment any
finishes, results handed back in the order they finish.

Usage:
    for index, result in sliding_window(conversations, ask_server, size=64):
        store(index, result)                    # cached at once: a crash loses only what was in flight

Sending a batch and waiting for its slowest member leaves a continuous-batching engine idle on stragglers;
keeping the window full is what makes such an engine fast. The workers are daemon threads, so leaving the loop
early (an error, Ctrl-C, a consumer that stops) abandons what is in flight instead of waiting for it, and
nothing new starts after that.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar, cast

Item = TypeVar("Item")
Result = TypeVar("Result")


def sliding_window(items: Sequence[Item], work: Callable[[Item], Result], size: int
                   ) -> Iterator[tuple[int, Result]]:
    """(index, work(item)) for every item, as each finishes, with at most `size` calls of `work` running.

    The first exception a call raises is raised here, and no further item starts.
    """
    if size < 1:
        raise ValueError(f"the window size must be at least 1, got {size}")
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        pending.put(index)
    finished: queue.SimpleQueue[tuple[int, bool, object]] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                index = pending.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((index, True, work(items[index])))
            except BaseException as error:  # handed to the consuming thread, which raises it
                finished.put((index, False, error))
                return

    workers = [threading.Thread(target=worker, name=f"tsqr-window-{n}", daemon=True)
               for n in range(min(size, len(items)))]
    for thread in workers:
        thread.start()
    try:
        for _ in range(len(items)):
            index, ok, outcome = finished.get()
            if not ok:
                raise cast(BaseException, outcome)
            yield index, cast(Result, outcome)
    finally:
        stop.set()

"""The two pieces under the server client: the sliding window of work in flight and the replica pool."""
from __future__ import annotations

import threading

import pytest

from tsqr.reasoner.endpoints import EndpointPool
from tsqr.reasoner.window import sliding_window


def test_the_window_bounds_work_in_flight_and_hands_results_back_as_they_finish():
    """The first three items meet at a barrier, so three run at once; the first then waits until the other
    eleven are done, so it must be handed back last (no sleeps: each ordering is an event)."""
    running, peak, lock = [0], [0], threading.Lock()
    three_running = threading.Barrier(3)
    others_done, done_count = threading.Event(), [0]

    def work(item: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        if item < 3:
            three_running.wait(timeout=10)  # BrokenBarrierError if the window never holds three at once
        if item == 0:
            assert others_done.wait(timeout=10)
        with lock:
            running[0] -= 1
            if item != 0:
                done_count[0] += 1
                if done_count[0] == 11:
                    others_done.set()
        return item

    order = [index for index, _ in sliding_window(list(range(12)), work, size=3)]
    assert sorted(order) == list(range(12)) and order[-1] == 0  # the held first item finishes last
    assert peak[0] == 3


def test_the_first_error_is_raised_and_nothing_new_starts():
    """Item 0 fails while item 1 is held in flight; once the error is out, item 1 is let go, and its worker must
    stop instead of taking item 2 (the workers are joined, so nothing can start after the check)."""
    started: list[int] = []
    release = threading.Event()

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            raise KeyError("boom")
        assert release.wait(timeout=10)
        return item

    with pytest.raises(KeyError, match="boom"):
        list(sliding_window(list(range(50)), work, size=2))
    release.set()
    for worker in [t for t in threading.enumerate() if t.name.startswith("tsqr-window-")]:
        worker.join(timeout=10)
        assert not worker.is_alive()
    assert sorted(started) == [0, 1]


def test_the_pool_picks_the_least_loaded_endpoint_and_blocks_when_all_are_full():
    pool = EndpointPool(["a", "b"], capacity=1, backoff=0.0)
    first, second = pool.acquire(), pool.acquire()
    assert {first.url, second.url} == {"a", "b"}
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire().url))
    waiter.start()
    waiter.join(timeout=0.2)  # a wait that never ends can only be checked over a span; a correct pool passes always
    assert waiter.is_alive() and not got  # both endpoints hold their one request
    pool.release(second, None)
    waiter.join(timeout=2)
    assert got == [second.url]


def test_a_failed_request_waits_for_a_healthy_endpoint_rather_than_going_back():
    pool = EndpointPool(["bad", "good"], capacity=1, backoff=0.0)
    busy = pool.acquire(avoid=["bad"])  # "good" is now full
    assert busy.url == "good"
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(avoid=["bad"]).url))
    waiter.start()
    waiter.join(timeout=0.2)
    assert waiter.is_alive() and not got  # "bad" is free, but this request already failed there
    pool.release(busy, None)
    waiter.join(timeout=2)
    assert got == ["good"]


def test_a_failing_endpoint_cools_down_and_failures_are_counted():
    pool = EndpointPool(["flaky", "steady"], capacity=4, backoff=1.0)
    flaky = next(e for e in [pool.acquire(), pool.acquire()] if e.url == "flaky")
    pool.release(flaky, "HTTP 503 Service Unavailable")
    assert [pool.acquire().url for _ in range(3)] == ["steady"] * 3  # flaky is cooling down
    # "steady" is now full (capacity 4), so this acquire can only return once flaky's cooldown has ended: it
    # waits on the pool itself, not on a sleep that guesses how long the cooldown takes.
    assert pool.acquire().url == "flaky"
    stats = {s.url: s for s in pool.stats()}
    assert stats["flaky"].failures == (("HTTP 503 Service Unavailable", 1),) and stats["flaky"].completed == 0

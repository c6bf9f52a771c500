"""The two pieces under the server client: the sliding window of work in flight and the replica pool."""
from __future__ import annotations

import threading
import time

import pytest

from tsqr.reasoner.endpoints import EndpointPool
from tsqr.reasoner.window import sliding_window


def test_the_window_bounds_work_in_flight_and_hands_results_back_as_they_finish():
    running, peak, lock = [0], [0], threading.Lock()

    def work(item: float) -> float:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(item)
        with lock:
            running[0] -= 1
        return item

    delays = [0.3] + [0.01] * 11
    order = [index for index, _ in sliding_window(delays, work, size=3)]
    assert sorted(order) == list(range(12)) and order[-1] == 0  # the slow first item finishes last
    assert peak[0] == 3


def test_the_first_error_is_raised_and_nothing_new_starts():
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 2:
            raise KeyError("boom")
        time.sleep(0.05)
        return item

    with pytest.raises(KeyError, match="boom"):
        list(sliding_window(list(range(50)), work, size=2))
    time.sleep(0.2)
    assert len(started) < 10


def test_the_pool_picks_the_least_loaded_endpoint_and_blocks_when_all_are_full():
    pool = EndpointPool(["a", "b"], capacity=1, backoff=0.0)
    first, second = pool.acquire(), pool.acquire()
    assert {first.url, second.url} == {"a", "b"}
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire().url))
    waiter.start()
    time.sleep(0.1)
    assert not got  # both endpoints hold their one request
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
    time.sleep(0.1)
    assert not got  # "bad" is free, but this request already failed there
    pool.release(busy, None)
    waiter.join(timeout=2)
    assert got == ["good"]


def test_a_failing_endpoint_cools_down_and_failures_are_counted():
    pool = EndpointPool(["flaky", "steady"], capacity=4, backoff=0.3)
    flaky = next(e for e in [pool.acquire(), pool.acquire()] if e.url == "flaky")
    pool.release(flaky, "HTTP 503 Service Unavailable")
    assert [pool.acquire().url for _ in range(3)] == ["steady"] * 3  # flaky is cooling down
    time.sleep(0.35)
    assert pool.acquire().url == "flaky"
    stats = {s.url: s for s in pool.stats()}
    assert stats["flaky"].failures == (("HTTP 503 Service Unavailable", 1),) and stats["flaky"].completed == 0

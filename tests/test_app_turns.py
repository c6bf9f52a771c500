"""Turns at the model: first come first served, each waiter told how many are ahead, a place freed when its
holder leaves (even while still waiting, as a stopped search does)."""
from __future__ import annotations

import threading
import time

import pytest

from tsqr.app.turns import Line, LineFull, Turns, in_turn


def test_waiters_are_served_in_arrival_order_and_see_their_place():
    turns = Turns()
    served: list[str] = []
    places: dict[str, list[int]] = {"b": [], "c": []}
    arrived = {"b": threading.Event(), "c": threading.Event()}
    told_place = {"b": threading.Event(), "c": threading.Event()}

    def visitor(name: str) -> None:
        with turns.ticket() as ticket:
            arrived[name].set()
            for ahead in ticket.waiting(poll_s=0.02):
                places[name].append(ahead)
                told_place[name].set()
            served.append(name)

    with turns.ticket() as first:
        assert list(first.waiting(poll_s=0.02)) == []  # nobody ahead: the turn is at once
        b = threading.Thread(target=visitor, args=("b",))
        b.start()
        assert arrived["b"].wait(5)
        c = threading.Thread(target=visitor, args=("c",))
        c.start()
        assert arrived["c"].wait(5)
        # Each has been told its place at least once, i.e. has been waiting; neither can be served while the
        # first holds the turn (waiting on the events themselves, not on a sleep).
        assert told_place["b"].wait(5) and told_place["c"].wait(5)
        assert served == []  # both wait while the first holds the turn
    b.join(5), c.join(5)
    assert served == ["b", "c"]
    assert places["b"] and set(places["b"]) == {1}
    assert places["c"][0] == 2 and places["c"][-1] in (1, 2)


def test_leaving_the_line_before_ones_turn_frees_the_place():
    turns = Turns()
    with turns.ticket() as holder:
        list(holder.waiting())
        with turns.ticket() as quitter:
            assert next(quitter.waiting(poll_s=0.01)) == 1
        with turns.ticket() as next_one:
            assert next(next_one.waiting(poll_s=0.01)) == 1  # not 2: the quitter is gone
    with turns.ticket() as later:
        assert list(later.waiting(poll_s=0.01)) == []


def test_several_slots_admit_that_many_at_once():
    turns = Turns(slots=2)
    with turns.ticket() as a, turns.ticket() as b, turns.ticket() as c:
        assert list(a.waiting()) == [] and list(b.waiting()) == []
        assert next(c.waiting(poll_s=0.01)) == 2
    with pytest.raises(ValueError, match="at least 1"):
        Turns(slots=0)


def test_in_turn_calls_run_one_at_a_time():
    turns = Turns()
    running, most = [0], [0]
    lock = threading.Lock()

    def work(seconds: float) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(seconds)
        with lock:
            running[0] -= 1
        return "done"

    guarded = in_turn(turns, work)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(guarded(0.05))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == ["done"] * 4 and most[0] == 1


def test_a_full_line_refuses_at_once_saying_how_many_are_in_it():
    line = Line(capacity=2)
    with line.place(), line.place():
        assert line.inside == 2
        with pytest.raises(LineFull, match="^2 visitors are waiting for the model; try again shortly$"):
            with line.place():
                pass
        assert line.inside == 2  # the refused caller took no place
    with line.place():  # leaving (done, failed or stopped) frees the places
        assert line.inside == 1
    assert line.inside == 0
    with pytest.raises(ValueError, match="at least 1"):
        Line(capacity=0)


def test_a_place_is_freed_when_its_block_fails():
    line = Line(capacity=1)
    with pytest.raises(RuntimeError, match="boom"):
        with line.place():
            raise RuntimeError("boom")
    with line.place():
        assert line.inside == 1

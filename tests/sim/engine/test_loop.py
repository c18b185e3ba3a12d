"""The event loop: virtual time, processes that block on it, kills."""

from __future__ import annotations

import time

import pytest

from sim.engine.loop import EventLoop, Process, SimClock

START = 1_000_000.0


def test_given_two_sleeping_processes_when_the_loop_runs_then_they_interleave_in_virtual_time() -> (
    None
):
    loop = EventLoop(START)
    clock = SimClock(loop)
    seen: list[tuple[str, float]] = []

    def worker(name: str, pause: float) -> None:
        for _ in range(3):
            clock.sleep(pause)
            seen.append((name, loop.now - START))

    loop.spawn("a", lambda: worker("a", 40.0))
    loop.spawn("b", lambda: worker("b", 50.0))
    wall = time.monotonic()
    loop.run()

    assert seen == [("a", 40.0), ("b", 50.0), ("a", 80.0), ("b", 100.0), ("a", 120.0), ("b", 150.0)]
    assert time.monotonic() - wall < 5.0
    assert clock.now() == START + 150.0
    assert loop.alive == 0


def test_given_a_sleep_outside_any_process_when_called_then_it_runs_the_due_actions() -> None:
    loop = EventLoop(START)
    fired: list[float] = []
    loop.call_later(5.0, lambda: fired.append(loop.now))
    loop.call_later(15.0, lambda: fired.append(loop.now))

    SimClock(loop).sleep(10.0)

    assert fired == [START + 5.0]
    assert loop.now == START + 10.0


def test_given_equal_times_when_run_then_priority_then_insertion_order_decides() -> None:
    loop = EventLoop(START)
    order: list[str] = []
    loop.call_at(START + 1, lambda: order.append("late-prio"), priority=1)
    loop.call_at(START + 1, lambda: order.append("first"))
    loop.call_at(START + 1, lambda: order.append("second"))
    handle = loop.call_at(START + 1, lambda: order.append("cancelled"))
    handle.cancel()

    loop.run()

    assert order == ["first", "second", "late-prio"]


def test_given_a_kill_time_when_a_process_sleeps_past_it_then_it_wakes_then_and_dies() -> None:
    loop = EventLoop(START)

    class Killed(BaseException):
        pass

    def check(process: Process) -> None:
        if process.kill_at is not None and loop.now >= process.kill_at:
            raise Killed

    progress: list[float] = []

    def body() -> None:
        SimClock(loop).sleep(30.0)
        progress.append(loop.now)
        SimClock(loop).sleep(100.0)
        progress.append(loop.now)

    process = loop.spawn("victim", body)
    process.kill_at = START + 60.0
    process.on_resume.append(check)
    loop.run()

    assert progress == [START + 30.0]
    assert isinstance(process.error, Killed)
    assert loop.now == START + 60.0


def test_given_a_pace_when_run_then_the_loop_waits_in_real_time() -> None:
    loop = EventLoop(START, pace=100.0)  # 100x real time
    loop.call_later(20.0, lambda: None)
    wall = time.monotonic()

    loop.run()

    assert 0.15 <= time.monotonic() - wall < 2.0


def _hand_overs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the processes the loop thread resumes (each resume is a hand-over)."""
    resumed: list[str] = []
    original = Process._run_slice

    def counted(self: Process) -> None:
        resumed.append(self.name)
        original(self)

    monkeypatch.setattr(Process, "_run_slice", counted)
    return resumed


def test_given_a_process_alone_when_it_sleeps_then_its_clock_moves_on_without_a_hand_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resumed = _hand_overs(monkeypatch)
    loop = EventLoop(START)
    seen: list[float] = []

    def body() -> None:
        for _ in range(50):
            SimClock(loop).sleep(0.5)
            seen.append(loop.now - START)

    loop.spawn("alone", body)
    loop.run()

    assert seen == [0.5 * n for n in range(1, 51)]
    assert resumed == ["alone"]  # started once, never parked on the loop


def test_given_an_action_due_during_a_sleep_when_run_then_it_runs_first_in_virtual_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resumed = _hand_overs(monkeypatch)
    loop = EventLoop(START)
    order: list[tuple[str, float]] = []

    def body() -> None:
        SimClock(loop).sleep(5.0)  # the action at +3 runs meanwhile
        order.append(("process", loop.now - START))
        SimClock(loop).sleep(5.0)  # an action exactly at +10, queued first: it runs first
        order.append(("process", loop.now - START))
        SimClock(loop).sleep(5.0)  # one at +15 of a later priority: the process goes first
        order.append(("process", loop.now - START))

    loop.call_at(START + 3, lambda: order.append(("action", loop.now - START)))
    loop.call_at(START + 10, lambda: order.append(("action", loop.now - START)))
    loop.call_at(START + 15, lambda: order.append(("late", loop.now - START)), priority=1)
    loop.spawn("p", body)
    loop.run()

    assert order == [
        ("action", 3.0),
        ("process", 5.0),
        ("action", 10.0),
        ("process", 10.0),
        ("process", 15.0),
        ("late", 15.0),
    ]
    assert resumed == ["p", "p", "p"]  # started, then after each of the first two actions


def _ticking() -> tuple[EventLoop, list[float]]:
    """A loop with one process that sleeps 10 s ten times, noting the time after each."""
    loop = EventLoop(START)
    seen: list[float] = []

    def body() -> None:
        for _ in range(10):
            SimClock(loop).sleep(10.0)
            seen.append(loop.now - START)

    loop.spawn("p", body)
    return loop, seen


def test_given_a_bounded_run_when_a_process_sleeps_past_the_bound_then_the_run_ends_there() -> None:
    loop, seen = _ticking()
    loop.run(until=START + 35)

    assert seen == [10.0, 20.0, 30.0]
    assert loop.now == START + 30.0

    loop.run_until(START + 55)

    assert seen == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert loop.now == START + 55.0


def test_given_a_stop_condition_when_it_holds_then_a_sleeping_process_is_not_resumed() -> None:
    loop, seen = _ticking()
    loop.run(stop=lambda: loop.now >= START + 40)

    assert seen == [10.0, 20.0, 30.0, 40.0]
    assert loop.alive == 1

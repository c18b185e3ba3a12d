"""The sweeper's concurrency port on the simulation loop: parallel calls in virtual time.

:class:`LoopConcurrency` implements ``serverless.ports.Concurrency``: ``map(fn, items,
limit)`` runs ``fn`` over ``items`` in up to ``limit`` child processes on the loop and
parks the caller until every call has returned. A child is part of the caller's Lambda
invocation: it carries the same invocation record (so its AWS calls are charged, logged
and killed as the caller's), the same kill time and the same resume hooks (the container's
App is installed whenever it runs). Children take items in order, one at a time, and the
loop orders everything by (time, sequence), so a seed still fixes the whole run.

Results come back in the order of ``items``; if calls raised, the exception of the first
item (in order) that raised is re-raised once all calls have finished. A child killed
(Lambda timeout, chaos) kills the whole invocation: its siblings and the caller die at
their next resume.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sim.engine.loop import EventLoop, Process

__all__ = ["LoopConcurrency"]

T = TypeVar("T")
R = TypeVar("R")


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class LoopConcurrency:
    """``Concurrency`` port whose workers are loop processes (deterministic)."""

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        #: Most workers that ever ran at once (for tests and benchmarks).
        self.peak = 0

    def map(self, fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
        """``fn(item)`` for every item, at most ``limit`` at once; results in item order."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        work = list(items)
        parent = self._loop.current_process()
        if parent is None or limit == 1 or len(work) <= 1:
            return _inline(fn, work)
        results: list[object] = [None] * len(work)
        queue = iter(range(len(work)))
        workers: list[Process] = []

        def worker() -> None:
            for index in queue:
                try:
                    results[index] = fn(work[index])
                except Exception as error:  # re-raised by the caller, in item order
                    results[index] = _Failed(error)

        def finished(process: Process) -> None:
            if process.error is not None:  # killed: the whole invocation goes down with it
                for other in [parent, *workers]:
                    other.kill_at = min(other.kill_at or self._loop.now, self._loop.now)
            if all(w.done for w in workers):
                parent.wake()

        count = min(limit, len(work))
        self.peak = max(self.peak, count)
        for n in range(count):
            child = self._loop.spawn(f"{parent.name}/{n}", worker)
            child.tag, child.kill_at = parent.tag, parent.kill_at
            child.on_resume.extend(parent.on_resume)
            child.on_exit.append(finished)
            workers.append(child)
        parent.park()
        for process in workers:
            if process.error is not None:
                raise process.error
        for result in results:
            if isinstance(result, _Failed):
                raise result.error
        return results  # type: ignore[return-value]


def _inline(fn: Callable[[T], R], items: list[T]) -> list[R]:
    results: list[R] = []
    first: Exception | None = None
    for item in items:
        try:
            results.append(fn(item))
        except Exception as error:
            first = first or error
    if first is not None:
        raise first
    return results

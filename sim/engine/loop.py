"""A deterministic discrete-event loop whose processes block on a virtual clock.

Everything in the simulation happens as an *action* scheduled at a virtual time. Lambda
invocations run as *processes*: ordinary blocking Python code (the real handlers) on
their own thread, but only one thread ever runs at a time. A process that calls
:meth:`SimClock.sleep` parks itself and hands control back to the loop, which runs every
other occurrence due before the process's wake-up time (ECS transitions, event
deliveries, an overlapping sweeper run) and then resumes it. So two sweeper runs really
overlap in virtual time, as they do in Lambda, and the order of everything is fixed by
(time, priority, sequence number): the same seed gives the same run. When nothing else is
due before a process's wake-up time, the process moves the clock on itself and goes on:
the loop would resume it next anyway, so the order is the same, without the two thread
hand-overs (most of a simulation's AWS calls, each charged its latency as a sleep).

With ``pace`` set, the loop also waits in real time before each occurrence
(``pace=1.0`` is real time), which is the demo's ``--real-time`` mode.
"""

from __future__ import annotations

import contextlib
import contextvars
import faulthandler
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

__all__ = ["EventLoop", "Handle", "Process", "SimClock", "SimulationError"]

#: Real seconds a process may run without yielding before the loop gives up on it.
PROCESS_WATCHDOG_SECONDS = 120.0


class SimulationError(RuntimeError):
    """The simulation itself (not the code under test) is broken or stuck."""


@dataclass(order=True, slots=True)
class _Entry:
    at: float
    priority: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Handle:
    """A scheduled action that can still be cancelled."""

    __slots__ = ("_entry",)

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    @property
    def at(self) -> float:
        """When the action is due (epoch seconds)."""
        return self._entry.at

    def cancel(self) -> None:
        """Do not run the action."""
        self._entry.cancelled = True


class _Carrier:
    """A thread that runs processes one after another: a run starts thousands of short
    processes (every Lambda invocation, every worker of a sweeper run's parallel calls),
    and starting a thread for each was a large share of the simulator's CPU. Only one
    process runs at a time whichever thread carries it, so the order of everything stays
    the loop's (a seed still fixes the run)."""

    _idle: ClassVar[list[_Carrier]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._job: Callable[[], None] | None = None
        self._ready = threading.Semaphore(0)
        threading.Thread(target=self._serve, name="sim:carrier", daemon=True).start()

    @classmethod
    def run(cls, job: Callable[[], None]) -> None:
        """Run ``job`` on an idle carrier (a new one when none is idle)."""
        with cls._lock:
            carrier = cls._idle.pop() if cls._idle else None
        if carrier is None:
            carrier = cls()
        carrier._job = job
        carrier._ready.release()

    def _serve(self) -> None:
        while True:
            self._ready.acquire()
            job, self._job = self._job, None
            if job is not None:
                # A fresh context, as a new thread has (contextvars set by one process,
                # e.g. botocore's or the logger's, must not be seen by the next).
                contextvars.Context().run(job)
            with _Carrier._lock:
                _Carrier._idle.append(self)


class Process:
    """Blocking code run on its own thread, one slice at a time, under the loop's control."""

    def __init__(self, loop: EventLoop, name: str, target: Callable[[], object]) -> None:
        self.loop = loop
        self.name = name
        self._target = target
        self._resume = threading.Semaphore(0)
        self._started = False
        self.done = False
        self.result: object = None
        self.error: BaseException | None = None
        #: Virtual time at which the process is killed (Lambda timeout, chaos kill).
        self.kill_at: float | None = None
        #: Called in the process's thread whenever it resumes (may raise to kill it).
        self.on_resume: list[Callable[[Process], None]] = []
        #: Called in the loop's thread once the process has finished.
        self.on_exit: list[Callable[[Process], None]] = []
        #: Free slot for whoever spawned the process (e.g. the Lambda invocation record).
        self.tag: object = None
        #: While parked by :meth:`park` (no wake-up time): the kill-time resume, if any.
        self._waiting = False
        self._kill_handle: Handle | None = None

    def _main(self) -> None:
        self._resume.acquire()
        self.loop._local.process = self
        try:
            self._check_resume()
            self.result = self._target()
        except BaseException as error:  # recorded; the owner of the process decides
            self.error = error
        finally:
            self.loop._local.process = None
            self.done = True
            self.loop._baton.release()

    def _check_resume(self) -> None:
        for hook in list(self.on_resume):
            hook(self)

    def _run_slice(self) -> None:
        """Loop thread: let the process run until it parks or ends."""
        if not self._started:
            self._started = True
            _Carrier.run(self._main)
        self._resume.release()
        if not self.loop._baton.acquire(timeout=PROCESS_WATCHDOG_SECONDS):
            # Where every thread stands (the stuck process's among them), for the report.
            faulthandler.dump_traceback(all_threads=True)
            raise SimulationError(f"process {self.name} neither yielded nor ended")
        if self.done:
            self.loop._alive.discard(self)
            for callback in self.on_exit:
                callback(self)

    def park_until(self, at: float) -> None:
        """Process thread: yield to the loop until virtual time ``at`` (or the kill time).

        When the loop would resume this process next anyway (nothing else is due before
        the wake-up, and the loop's run would go on), the clock moves on here instead:
        the same order of everything, without two thread hand-overs (most AWS calls'
        latency charges in a world of sparse events).
        """
        wake = at if self.kill_at is None else min(at, self.kill_at)
        if self.loop._advance_if_next(wake):
            self._check_resume()
            return
        self.loop.call_at(wake, self._run_slice)
        self.loop._baton.release()
        self._resume.acquire()
        self._check_resume()

    def park(self) -> None:
        """Process thread: yield until :meth:`wake` is called (or the kill time comes)."""
        self._waiting = True
        if self.kill_at is not None:
            self._kill_handle = self.loop.call_at(self.kill_at, self._resume_waiting)
        self.loop._baton.release()
        self._resume.acquire()
        self._check_resume()

    def wake(self) -> None:
        """Loop thread: resume a process parked by :meth:`park` now (no-op otherwise)."""
        if self._waiting:
            self.loop.call_at(self.loop.now, self._resume_waiting)

    def _resume_waiting(self) -> None:
        if not self._waiting:
            return
        self._waiting = False
        if self._kill_handle is not None:
            self._kill_handle.cancel()
            self._kill_handle = None
        self._run_slice()


class EventLoop:
    """Virtual time and the ordered queue of everything due."""

    def __init__(self, start: float, *, pace: float | None = None) -> None:
        if pace is not None and pace <= 0:
            raise ValueError("pace must be positive")
        self._now = start
        self._start = start
        self._pace = pace
        self._wall_start: float | None = None
        self._queue: list[_Entry] = []
        self._seq = itertools.count()
        self._local = threading.local()
        self._baton = threading.Semaphore(0)
        self._alive: set[Process] = set()
        #: While run() or run_until() runs: its stop predicate and time bound.
        self._bound: tuple[Callable[[], bool] | None, float | None] | None = None

    @property
    def now(self) -> float:
        """Current virtual time, epoch seconds."""
        return self._now

    @property
    def start(self) -> float:
        """Virtual time the loop started at."""
        return self._start

    @property
    def alive(self) -> int:
        """Processes started and not finished."""
        return len(self._alive)

    def _advance_if_next(self, wake: float) -> bool:
        """Process thread: move the clock to ``wake`` if the loop would resume the calling
        process there next (an entry for it would sort after every entry queued now), and
        the running :meth:`run` or :meth:`run_until` would not stop before it."""
        bound = self._bound
        if bound is None:
            return False  # a step() called by hand: the caller decides what runs next
        stop, until = bound
        wake = max(wake, self._now)
        if until is not None and wake > until:
            return False
        head = self.next_at()
        if head is not None:
            first = self._queue[0]
            if head < wake or (head == wake and first.priority <= 0):
                return False
        if stop is not None and stop():
            return False
        self._pace_to(wake)
        self._now = wake
        return True

    def call_at(self, at: float, action: Callable[[], None], *, priority: int = 0) -> Handle:
        """Run ``action`` at virtual time ``at`` (never in the past)."""
        entry = _Entry(max(at, self._now), priority, next(self._seq), action)
        heapq.heappush(self._queue, entry)
        return Handle(entry)

    def call_later(self, delay: float, action: Callable[[], None], *, priority: int = 0) -> Handle:
        """Run ``action`` ``delay`` seconds from now."""
        return self.call_at(self._now + max(0.0, delay), action, priority=priority)

    def spawn(self, name: str, target: Callable[[], object], *, delay: float = 0.0) -> Process:
        """Start ``target`` as a process ``delay`` seconds from now."""
        process = Process(self, name, target)
        self._alive.add(process)
        self.call_later(delay, process._run_slice)
        return process

    def current_process(self) -> Process | None:
        """The process whose thread is calling, if any."""
        process: Process | None = getattr(self._local, "process", None)
        return process

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of virtual time (a process parks; other code runs the loop)."""
        process = self.current_process()
        target = self._now + max(0.0, seconds)
        if process is not None:
            process.park_until(target)
        else:
            self.run_until(target)

    def _pace_to(self, at: float) -> None:
        if self._pace is None:
            return
        if self._wall_start is None:
            self._wall_start = time.monotonic() - (self._now - self._start) / self._pace
        due = self._wall_start + (at - self._start) / self._pace
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def step(self) -> bool:
        """Run the next due action; False when nothing is left."""
        while self._queue:
            entry = heapq.heappop(self._queue)
            if entry.cancelled:
                continue
            self._pace_to(entry.at)
            self._now = max(self._now, entry.at)
            entry.action()
            return True
        return False

    def next_at(self) -> float | None:
        """When the next action is due, if any."""
        while self._queue and self._queue[0].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0].at if self._queue else None

    def run_until(self, at: float) -> None:
        """Run every action due up to ``at``, then set the time to ``at``."""
        with self._bounded(None, at):
            while (due := self.next_at()) is not None and due <= at:
                self.step()
        self._pace_to(at)
        self._now = max(self._now, at)

    def run(self, *, stop: Callable[[], bool] | None = None, until: float | None = None) -> None:
        """Run until the queue is empty, ``stop()`` holds, or the next action is after ``until``."""
        with self._bounded(stop, until):
            while (due := self.next_at()) is not None:
                if stop is not None and stop():
                    return
                if until is not None and due > until:
                    return
                self.step()

    @contextlib.contextmanager
    def _bounded(self, stop: Callable[[], bool] | None, until: float | None) -> Iterator[None]:
        outer, self._bound = self._bound, (stop, until)
        try:
            yield
        finally:
            self._bound = outer


class SimClock:
    """:class:`serverless.domain.clock.Clock` on the loop: what the handlers see as time."""

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        """The loop's virtual time in epoch seconds."""
        return self._loop.now

    def sleep(self, seconds: float) -> None:
        """Advance the simulation by ``seconds`` (park the calling process)."""
        self._loop.sleep(seconds)

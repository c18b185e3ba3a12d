"""Use case of the sweeper function: stop due tasks precisely, once, and confirm the effect.

A run plans from the due index (keys, status and lease only), waits inside the invocation
for deadlines before its horizon, and hands the records that are due to
:class:`serverless.stopping.BatchWorker` in small batches, several at once. It stays only
while a drain is due within its horizon; an early-started run also looks at the ledger once
more :data:`~serverless.policy.EARLY_START_DEBOUNCE_SECONDS` after it started, which covers
the drains whose early start was held back meanwhile. A run whose time runs out while due
drains remain hands over: it asks for the next run at once (an early start), rather than
leaving the backlog to the next tick of the schedule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from serverless.clock import Clock
from serverless.errors import DrainTerminatorError
from serverless.model import DueEntry, RecordStatus
from serverless.observability import logger
from serverless.pacing import ECS_CALL_MAX_SECONDS, LEDGER_CALL_MAX_SECONDS, Pacer
from serverless.policy import EARLY_START_DEBOUNCE_SECONDS
from serverless.ports import Ports
from serverless.services import ServiceDirectory
from serverless.settings import Settings
from serverless.stopping import BatchWorker

__all__ = ["RETRY_SECONDS", "SAFETY_MARGIN_SECONDS", "UNIT_SECONDS", "SweepReport", "Sweeper"]

#: Time kept in reserve at the end of an invocation (finish writes, flush metrics).
SAFETY_MARGIN_SECONDS = 10.0
#: The least time a batch needs: a claim, then a DescribeTasks or StopTask, at their longest.
UNIT_SECONDS = LEDGER_CALL_MAX_SECONDS + ECS_CALL_MAX_SECONDS
#: After a round that claimed nothing (another run holds the records, or the ledger
#: failed), look again this much later instead of at once.
RETRY_SECONDS = 1.0


@dataclass(slots=True)
class SweepReport:
    """What one sweeper run did (returned by the handler, asserted by tests); thread-safe."""

    stopped: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    dry_run: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    lookup_failed: list[str] = field(default_factory=list)
    conflicts: int = 0
    polls: int = 0
    token_takes: int = 0
    handed_over: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, kind: str, task_arn: str) -> None:
        """Note ``task_arn`` under ``kind`` (one of the list fields)."""
        with self._lock:
            getattr(self, kind).append(task_arn)

    def conflict(self) -> None:
        """Count a conditional write or claim that lost to another writer."""
        with self._lock:
            self.conflicts += 1

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly summary."""
        with self._lock:
            return {
                "stopped": list(self.stopped),
                "closed": list(self.closed),
                "deferred": list(self.deferred),
                "dry_run": list(self.dry_run),
                "failed": list(self.failed),
                "lookup_failed": list(self.lookup_failed),
                "conflicts": self.conflicts,
                "polls": self.polls,
                "token_takes": self.token_takes,
                "handed_over": self.handed_over,
            }


class Sweeper:
    """One run: finds due records, re-checks their tasks and stops those still draining."""

    def __init__(
        self,
        ports: Ports,
        services: ServiceDirectory,
        settings: Settings,
        clock: Clock,
        run_id: str,
        *,
        early: bool = False,
    ) -> None:
        self._ports = ports
        self._settings = settings
        self._clock = clock
        self._early = early
        self._report = SweepReport()
        self._pacer = Pacer(ports.ledger, clock)
        self._remaining_ms: Callable[[], int] = lambda: 0
        self._worker = BatchWorker(
            ports,
            services,
            settings,
            clock,
            run_id,
            self._pacer,
            self._report,
            time_left=self._remaining,
        )

    def run(self, remaining_ms: Callable[[], int]) -> SweepReport:
        """Act on every deadline up to the horizon that fits in the invocation's time.

        Deadlines before the horizon are waited for here, so each StopTask lands right after
        its deadline and never before. With nothing open it returns after one read.
        """
        self._remaining_ms = remaining_ms
        start = self._clock.now()
        horizon_end = start + self._settings.sweep_horizon_seconds
        linger_until = start + EARLY_START_DEBOUNCE_SECONDS if self._early else None
        try:
            if self._work_left() <= 0 or (not self._early and not self._ports.ledger.has_open()):
                return self._finish()
        except DrainTerminatorError as error:
            logger.error(
                "ledger unavailable; the next run tries again", extra={"error": str(error)}
            )
            return self._finish()
        # The last read found work due: a read that fails is then tried again even past the
        # horizon, while the invocation has time (the backlog is probably still there).
        backlog = False
        while self._work_left() > 0:
            now = self._clock.now()
            act_until = min(horizon_end, now + self._work_left())
            if linger_until is not None and now >= linger_until:
                linger_until = None  # this query is the early run's last look
            try:
                entries = self._ports.ledger.due(until=act_until)
            except DrainTerminatorError as error:
                logger.warning("due index unavailable; trying again", extra={"error": str(error)})
                entries = None
            self._report.polls += 1
            ready = [] if entries is None else [e for e in entries if self._ready(e, now)]
            if entries is not None:
                backlog = bool(ready)
            if ready:
                if self._worker.process(ready) == 0:
                    self._clock.sleep(RETRY_SECONDS)
                continue
            wake = self._next_wake(entries, now, linger_until, RETRY_SECONDS)
            limit = now + self._work_left() if entries is None and backlog else act_until
            if wake is None or wake > limit:
                break
            self._clock.sleep(wake - now)
        if backlog and self._work_left() <= 0:
            self._hand_over()
        return self._finish()

    def _hand_over(self) -> None:
        """Out of time with drains due: ask for the next run now (Lambda queues it until
        this one has ended, when reserved concurrency is full)."""
        trigger = self._ports.trigger
        if trigger is None:
            return
        try:
            trigger.start()
        except DrainTerminatorError as error:
            logger.warning(
                "could not hand over to the next run; the schedule starts it",
                extra={"error": str(error)},
            )
            return
        self._report.handed_over = True
        logger.info("out of time with drains due: the next run is started now")

    def _remaining(self) -> float:
        """Seconds of the invocation left for work (the safety margin kept back)."""
        return self._remaining_ms() / 1000.0 - SAFETY_MARGIN_SECONDS

    def _work_left(self) -> float:
        """Seconds during which a batch of work can still be started and finished."""
        return self._remaining() - UNIT_SECONDS

    @staticmethod
    def _ready(entry: DueEntry, now: float) -> bool:
        return entry.due_at <= now and not entry.leased(now)

    @staticmethod
    def _next_wake(
        entries: list[DueEntry] | None,
        now: float,
        linger_until: float | None,
        retry: float,
    ) -> float | None:
        """When to look again: the next drain deadline, the expiry of another run's lease on
        a drain (it may have died), the early run's last look; None: nothing keeps the run.
        """
        if entries is None:
            return now + retry
        wakes = [linger_until] if linger_until is not None else []
        for entry in entries:
            if entry.status is not RecordStatus.DRAINING:
                continue  # confirmations do not hold a run; the next one does them
            if entry.leased(now) and entry.lease_until is not None:
                wakes.append(entry.lease_until)
            elif entry.due_at > now:
                wakes.append(entry.due_at)
        return min(wakes) if wakes else None

    def _finish(self) -> SweepReport:
        self._report.token_takes = self._pacer.takes
        return self._report

"""Use case of the sweeper function: stop due tasks precisely, once, and confirm the effect.

A run plans from the due index (keys, status and lease only), waits inside the invocation
for deadlines before its horizon, and hands the records that are due to
:class:`serverless.sweep.batch.BatchWorker` in small batches, several at once. It stays
only while a drain is due within its horizon; an early-started run also looks at the
ledger once more :data:`~serverless.domain.early_start.EARLY_START_DEBOUNCE_SECONDS` after
it started, which covers the drains whose early start was held back meanwhile. A run
whose time runs out while due drains remain hands over: it asks for the next run at once
(an early start), rather than leaving the backlog to the next tick of the schedule.
"""

from __future__ import annotations

from collections.abc import Callable

from serverless.domain.clock import Clock
from serverless.domain.early_start import EARLY_START_DEBOUNCE_SECONDS
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import DueEntry, RecordStatus
from serverless.observability import logger
from serverless.ports import Ports
from serverless.settings import Settings
from serverless.shared.pacing import Pacer
from serverless.shared.services import ServiceDirectory
from serverless.sweep.batch import BatchWorker
from serverless.sweep.report import SweepReport
from serverless.sweep.timing import RETRY_SECONDS, SAFETY_MARGIN_SECONDS, UNIT_SECONDS

__all__ = ["Sweeper"]


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
        # The run's first read covers every partition a record may hold (an earlier layout's
        # too); its later polls read only the partitions this deployment writes.
        first = True
        while self._work_left() > 0 and not self._worker.handing_over:
            now = self._clock.now()
            act_until = min(horizon_end, now + self._work_left())
            if linger_until is not None and now >= linger_until:
                linger_until = None  # this query is the early run's last look
            try:
                entries = self._ports.ledger.due(until=act_until, every_partition=first)
            except DrainTerminatorError as error:
                logger.warning("due index unavailable; trying again", extra={"error": str(error)})
                entries = None
            else:
                first = False
            self._report.polls += 1
            ready = [] if entries is None else [e for e in entries if self._ready(e, now)]
            if entries is not None:
                backlog = bool(ready)
            if ready:
                if self._worker.process(ready) == 0:
                    self._clock.sleep(RETRY_SECONDS)
                    continue
                after = self._worker.left_open(ready)
                if after is None or self._worker.handing_over or self._work_left() <= 0:
                    # Some record's state is unknown: read the index again now (or the run
                    # is out of time: end it and hand over now, not after a wait).
                    continue
                # Every ready record's new state is known (closed, deferred, stop requested):
                # with the entries the read found, they say when to look next. A drain
                # recorded meanwhile is found then, as one recorded while the run waits.
                done = {entry.task_arn for entry in ready}
                entries = [e for e in entries or () if e.task_arn not in done] + after
                now = self._clock.now()
                if any(self._ready(entry, now) for entry in entries):
                    continue  # due meanwhile (or released to be redone now): read and work
            wake = self._next_wake(entries, now, linger_until, RETRY_SECONDS)
            limit = now + self._work_left() if entries is None and backlog else act_until
            if wake is None or wake > limit:
                break
            self._clock.sleep(wake - now)
        if backlog and (self._work_left() <= 0 or self._worker.handing_over):
            # Out of time for the work, or for a step a record needs (a signal step's
            # time bound): the next run starts with the whole invocation.
            self._hand_over()
        return self._finish()

    def _hand_over(self) -> None:
        """Out of time with drains due: ask for the next run now (Lambda queues it until
        this one has ended, when reserved concurrency is full: this one ends at once)."""
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

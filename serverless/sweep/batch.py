"""One batch of due records: claim, re-check, decide, apply — each record on its own.

Everything a StopTask is decided on is current when it is sent: the record was claimed
moments before (a lease that outlives the longest possible StopTask call), the task's state
was read at most :data:`~serverless.sweep.timing.TASK_STATE_MAX_AGE_SECONDS` before
(described again when the checks took longer), and the service's tags, desired count and
health are at most ``DECISION_MAX_AGE_SECONDS`` old. A failure of one lookup defers only
the records that needed it (counted in ``LookupsFailed``, logged at ERROR with the
service); the others go on.

The worker reads (claims, DescribeTasks, the services' views, the guards' reads) and
writes; :func:`serverless.sweep.decide.decide` decides, and :meth:`BatchWorker._apply` is
the one place a decision takes effect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import chain, zip_longest
from typing import assert_never

from serverless.domain.actions import SIGNAL_ACTIONS
from serverless.domain.clock import Clock
from serverless.domain.errors import (
    DrainTerminatorError,
)
from serverless.domain.lifecycle import confirmed, in_drain, released
from serverless.domain.model import (
    DueEntry,
    Outcome,
    RecordStatus,
    StopAction,
    TaskRecord,
    TaskState,
)
from serverless.observability import Metric, count, logger, record_keys
from serverless.ports import Ports
from serverless.settings import Settings
from serverless.shared.pacing import (
    DESCRIBE_SERVICES,
    DESCRIBE_TASKS,
    ECS_CALL_MAX_SECONDS,
    ELB_DESCRIBE,
    STOP_TASK,
    Pacer,
    bucket_key,
    signal_buckets,
)
from serverless.shared.services import ServiceDirectory
from serverless.sweep.decide import (
    CheckGuards,
    Close,
    Confirm,
    Decision,
    DescribeAgain,
    DryRun,
    Limits,
    LookupFailed,
    Release,
    Seen,
    Settle,
    Stop,
    decide,
)
from serverless.sweep.guards import Guards
from serverless.sweep.report import SweepReport
from serverless.sweep.steps import StepTaker
from serverless.sweep.timing import (
    LEASE_MARGIN_SECONDS,
    TASK_STATE_MAX_AGE_SECONDS,
    UNIT_SECONDS,
)
from serverless.sweep.writes import RecordWriter

__all__ = ["CLAIM_BATCH", "MAX_WORKERS", "WORKERS", "WORKERS_PER_ACCOUNT", "BatchWorker"]

#: Records claimed together, right before they are checked and stopped.
CLAIM_BATCH = 10
#: Batches worked on at once: enough to keep StopTask at its account rate (40/s) when a
#: batch of ten takes up to half a second per stop. Throttling and 5xx make botocore back
#: off: under the chaos suite's faults a batch took that long, and with 8 workers a run
#: stopped about 6 tasks a second, too few to clear a 1,000-drain burst in time.
WORKERS = 16
#: Batches worked on at once for each further account (and region) with records due: a
#: hub's member accounts each have their own API buckets, and a third of WORKERS keeps one
#: account at its StopTask rate once its burst is spent. Capped at MAX_WORKERS.
WORKERS_PER_ACCOUNT = 6
MAX_WORKERS = 128
#: How often one record is decided on at most: once, again after a StopTask no run
#: recorded was found, after the guards' verdict, after a signal step's token,
#: after a second DescribeTasks (each at most once).
_MAX_ROUNDS = 5


def _may_stop_task(record: TaskRecord) -> bool:
    """Whether working on ``record`` may send a StopTask (it needs a token): a drain whose
    plan is not chosen yet, or whose next step is StopTask."""
    if record.status is not RecordStatus.DRAINING:
        return False
    return not record.plan or record.next_step is StopAction.STOP_TASK


class BatchWorker:
    """Works on batches of due records for one sweeper run (safe to run concurrently)."""

    def __init__(
        self,
        ports: Ports,
        services: ServiceDirectory,
        settings: Settings,
        clock: Clock,
        run_id: str,
        pacer: Pacer,
        report: SweepReport,
        time_left: Callable[[], float],
    ) -> None:
        self._ports = ports
        self._ledger = ports.ledger
        self._ecs = ports.ecs
        self._services = services
        self._settings = settings
        self._clock = clock
        self._run_id = run_id
        self._pacer = pacer
        self._report = report
        self._time_left = time_left
        self._signal_buckets = signal_buckets(settings)
        #: Set once a step was not taken for lack of invocation time: the run takes no more
        #: work and hands over to a new run (which has the time), instead of claiming and
        #: releasing the same records until its end keeps its concurrency slot busy.
        self.handing_over = False
        self._writes = RecordWriter(ports.ledger, settings, clock, report)
        #: The records the current :meth:`process` claimed.
        self._claimed: set[str] = set()
        self._steps = StepTaker(ports, self._writes, settings, clock, report)
        self._guards = Guards(
            ports.ledger,
            ports.health,
            clock,
            lambda group: pacer.acquire(ELB_DESCRIBE, arn=group),
            ecs=ports.ecs,
            # No published rate for the deployment and revision reads: they are paced in
            # DescribeServices' bucket, the closest documented one.
            before_ecs_call=lambda arn: pacer.acquire(DESCRIBE_SERVICES, arn=arn),
        )
        self._limits = Limits(
            dry_run=settings.dry_run,
            task_state_max_age_seconds=min(
                TASK_STATE_MAX_AGE_SECONDS, float(settings.decision_max_age_seconds)
            ),
            tags_max_age_seconds=float(settings.decision_max_age_seconds),
            lease_margin_seconds=LEASE_MARGIN_SECONDS,
            unit_seconds=UNIT_SECONDS,
            # The steps wired: StopTask always, a signal step where the ports have one.
            enabled_actions=frozenset({StopAction.STOP_TASK, *ports.signals}),
            action_seconds={action: port.time_bound for action, port in ports.signals.items()},
            stop_signal=settings.stop_signal,
            stop_command=settings.stop_command or None,
            escalate_after_seconds=float(settings.escalate_after_seconds),
            confirm_after_seconds=float(settings.confirm_after_seconds),
        )

    def process(self, ready: Sequence[DueEntry]) -> int:
        """Work on ``ready`` in batches of :data:`CLAIM_BATCH`; returns how many records
        were claimed.

        Each batch holds one account's and region's records, and the accounts take turns
        (round robin, each account's records in the order given), so a burst in one
        account neither delays another's stops nor spends its StopTask tokens: up to
        :data:`WORKERS` batches at once, :data:`WORKERS_PER_ACCOUNT` more for each further
        account (at most :data:`MAX_WORKERS`).
        """
        self._claimed = set()
        by_scope: dict[str, list[DueEntry]] = defaultdict(list)
        for entry in ready:
            by_scope[bucket_key(STOP_TASK, entry.task_arn)].append(entry)
        queues = [
            [entries[i : i + CLAIM_BATCH] for i in range(0, len(entries), CLAIM_BATCH)]
            for entries in by_scope.values()
        ]
        batches = [b for b in chain.from_iterable(zip_longest(*queues)) if b is not None]
        limit = min(MAX_WORKERS, WORKERS + WORKERS_PER_ACCOUNT * max(0, len(queues) - 1))
        return sum(self._ports.concurrency.map(self._batch, batches, limit))

    def left_open(self, ready: Sequence[DueEntry]) -> list[DueEntry] | None:
        """What the due index now holds for ``ready`` after :meth:`process`, when this run
        claimed every one of them and its last write of each landed: the open ones' entries
        (the run then needs no new read to know when to look next). None when any state is
        unknown (not claimed, not written, a write failed)."""
        entries: list[DueEntry] = []
        for entry in ready:
            written = self._writes.last_written(entry.task_arn)
            if entry.task_arn not in self._claimed or written is None:
                return None
            if written.status is not RecordStatus.CLOSED:
                entries.append(
                    DueEntry(written.task_arn, written.due_at, written.status, written.lease_until)
                )
        return entries

    # -- one batch ------------------------------------------------------------------------

    def _batch(self, entries: list[DueEntry]) -> int:
        if self._time_left() < UNIT_SECONDS or self.handing_over:
            return 0
        mine: list[TaskRecord] = []
        for entry in entries:
            if self._time_left() < UNIT_SECONDS or self.handing_over:
                break
            now = self._clock.now()
            try:
                record = self._ledger.claim(
                    entry.task_arn, self._run_id, now, now + self._settings.lease_seconds
                )
            except DrainTerminatorError as error:
                logger.warning(
                    "claim failed", extra={"task_arn": entry.task_arn, "error": str(error)}
                )
                continue
            if record is None:
                self._report.conflict()
            else:
                self._writes.forget(record.task_arn)
                self._claimed.add(record.task_arn)
                mine.append(record)
        # StopTask tokens for the drains this run now holds, before their tasks are described
        # (the stops then follow the checks without a pause). Taken after the claims: tokens
        # taken for records another run claimed first would be spent on nothing, and the
        # shared bucket would then pace the account's stops at a fraction of its rate.
        # The tokens come from the bucket of each drain's account and region.
        by_scope: dict[str, list[TaskRecord]] = defaultdict(list)
        for record in mine:
            if _may_stop_task(record):
                by_scope[bucket_key(STOP_TASK, record.task_arn)].append(record)
        without_tokens: set[str] = set()
        for drains in by_scope.values():
            try:
                self._pacer.acquire(STOP_TASK, len(drains), arn=drains[0].task_arn)
            except DrainTerminatorError as error:
                # No StopTask without tokens: the drains go back for a look in a few seconds
                # (left to their leases, two such failures in a row once cost a drain its
                # stop); confirmations need no token and go on.
                for record in drains:
                    self._apply(LookupFailed(record, "StopTask tokens", error), self._clock.now())
                    without_tokens.add(record.task_arn)
        work = [record for record in mine if record.task_arn not in without_tokens]
        by_cluster: dict[str, list[TaskRecord]] = defaultdict(list)
        for record in work:
            by_cluster[record.cluster_arn].append(record)
        for cluster, records in by_cluster.items():
            self._cluster(cluster, records)
        return len(mine)

    def _cluster(self, cluster: str, records: list[TaskRecord]) -> None:
        if self._time_left() < ECS_CALL_MAX_SECONDS:
            return  # the leases expire; a later run takes the records over
        try:
            states, described_at = self._describe(cluster, [r.task_arn for r in records])
        except DrainTerminatorError as error:
            for record in records:
                self._work(Seen(record, error, self._clock.now(), None))
            return
        names = [
            r.service_name
            for r in records
            if r.status is RecordStatus.DRAINING
            and (state := states.get(r.task_arn)) is not None
            and in_drain(r, state)
        ]
        # Views at most half the bound old: the other half is for working the batch, so the
        # tags are still within the bound at its last StopTask.
        views = self._services.fresh(
            cluster,
            names,
            self._settings.decision_max_age_seconds / 2,
            lambda arn: self._pacer.acquire(DESCRIBE_SERVICES, arn=arn),
        )
        for record in records:
            task = states.get(record.task_arn)
            self._work(Seen(record, task, described_at, views.get(record.service_name)))

    # -- one record -----------------------------------------------------------------------

    def _work(self, seen: Seen) -> None:
        """Decide on one record, gathering the facts the decision asks for, and apply it.

        The service's stagger slot, if a guard takes it, is settled when the block ends:
        the next one opens 60/N s after the stop, or at once when no stop happened.
        """
        paced = False
        with self._guards.slot() as slot:
            for _ in range(_MAX_ROUNDS):
                now = self._clock.now()
                decision = decide(seen, self._limits, now, self._time_left())
                if isinstance(decision, Stop) and decision.action in SIGNAL_ACTIONS and not paced:
                    # A token of the step's bucket, then decide again: on the lease, the
                    # time left and the task state's age after the wait.
                    paced = True
                    try:
                        self._pacer.acquire(
                            self._signal_buckets[decision.action], arn=decision.record.task_arn
                        )
                    except DrainTerminatorError as error:
                        tokens = LookupFailed(decision.record, f"{decision.action} tokens", error)
                        slot.stopped_at = self._apply(tokens, now)
                        return
                    seen = replace(seen, record=decision.record)
                elif isinstance(decision, CheckGuards):
                    verdict = self._guards.check(
                        decision.record, decision.policy, decision.info, now, slot
                    )
                    seen = replace(seen, record=decision.record, guards=verdict)
                elif isinstance(decision, DescribeAgain):
                    seen = self._describe_again(replace(seen, record=decision.record))
                elif isinstance(decision, Settle):
                    self._settled(decision)
                    seen = replace(seen, record=decision.record)
                else:
                    slot.stopped_at = self._apply(decision, now)
                    return
            raise AssertionError(f"no decision after {_MAX_ROUNDS} rounds: {seen}")

    def _apply(self, decision: Decision, now: float) -> float | None:
        """Make ``decision`` take effect; returns when a stop (or a dry run's would-be stop)
        happened, else None."""
        record = decision.record
        if isinstance(decision, Confirm):
            closed = confirmed(
                record,
                decision.task,
                now,
                self._settings.record_retention_seconds,
                self._settings.confirm_after_seconds,
            )
            self._writes.write_closed(record, closed)
        elif isinstance(decision, Close):
            self._writes.close(record, decision.outcome, now, seen=decision.seen)
        elif isinstance(decision, LookupFailed):
            self._writes.lookup_failed(record, decision.what, decision.error)
        elif isinstance(decision, Release) and decision.deferred:
            count(Metric.STOPS_DEFERRED)
            self._report.add("deferred", record.task_arn)
            logger.info(
                "early stop deferred",
                extra={**record_keys(record), "until": decision.until, "why": decision.why},
            )
            self._writes.write(
                record, released(record, decision.until, deferred_because=decision.why)
            )
        elif isinstance(decision, Release):
            if decision.hand_over:
                self.handing_over = True
            logger.info(
                decision.why,
                extra={
                    **record_keys(record),
                    "until": decision.until,
                    "wait_seconds": record.wait_seconds,
                },
            )
            self._writes.write(record, released(record, decision.until))
        elif isinstance(decision, DryRun):
            count(Metric.DRY_RUN_STOPS)
            logger.info(
                "dry run: would have stopped the task now",
                extra={**record_keys(record), "would_stop_at": now, "deadline": record.deadline},
            )
            self._report.add("dry_run", record.task_arn)
            self._writes.close(record, Outcome.DRY_RUN, now, seen=decision.seen)
            return now
        elif isinstance(decision, Stop):
            return self._steps.take(decision, now)
        elif isinstance(decision, CheckGuards | DescribeAgain | Settle):
            raise AssertionError(f"{decision} asks for a fact; it is not applied")
        else:
            assert_never(decision)
        return None

    @staticmethod
    def _settled(settle: Settle) -> None:
        """Log a StopTask found on the task but not in the ledger (its write follows with
        the record's next decision)."""
        logger.warning(
            "the task shows our stop reason but no StopTask was recorded (the run that sent "
            "it died or could not write): recorded now, not sent again",
            extra={**record_keys(settle.record), "action": str(StopAction.STOP_TASK)},
        )

    def _describe(self, cluster: str, task_arns: list[str]) -> tuple[dict[str, TaskState], float]:
        """DescribeTasks, paced; the states and when the call was sent (they are no older)."""
        self._pacer.acquire(DESCRIBE_TASKS, arn=cluster)
        asked_at = self._clock.now()
        return self._ecs.describe_tasks(cluster, task_arns), asked_at

    def _describe_again(self, seen: Seen) -> Seen:
        """``seen`` with the task's current state, or the error reading it failed with."""
        record = seen.record
        try:
            states, asked_at = self._describe(record.cluster_arn, [record.task_arn])
        except DrainTerminatorError as error:
            return replace(seen, task=error, described_again=True)
        task = states.get(record.task_arn)
        return replace(seen, task=task, described_at=asked_at, described_again=True)

"""Use case of a backstop run: record the drains of opted-in services that no event reported.

For each service of this minute's slice (:mod:`serverless.backstop.plan`): list its tasks
that ECS is stopping, skip those the ledger knows, describe the others, and record each
one still draining (desiredStatus STOPPED, lastStatus RUNNING or DEACTIVATING) from the
moment the DescribeTasks answer that showed it arrived. Never earlier: nothing in
DescribeTasks dates the start of a drain reliably (``stoppingAt`` is documented as the
move to STOPPING, which comes after the drain; the service's event log says "has begun
draining connections" without naming tasks), so the backstop's own observation is the
earliest start the evidence supports. A drain event that arrives later with an earlier
time moves the start back (it is evidence); the record is otherwise an ordinary one: the
sweeper stops it once its wait is over, with every guard.

Out of scope on purpose: a target an operator deregisters by hand (DeregisterTargets)
leaves the task's desiredStatus RUNNING, so ListTasks(desiredStatus=STOPPED) never lists
it and the backstop leaves it alone (users ask for such a task to stay, as a standby).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from serverless.backstop.plan import MAX_LIST_PAGES, PAGE, ServiceRef, in_slice, service_ref
from serverless.domain.causes import classify, leave_reason, refine
from serverless.domain.clock import Clock
from serverless.domain.errors import ConflictError, DrainTerminatorError
from serverless.domain.lifecycle import close_record, found_drain_record
from serverless.domain.model import Outcome, ServiceSnapshot, TaskState
from serverless.domain.tags import TAG_ENABLED
from serverless.observability import Metric, count, count_cause, count_for_account, logger
from serverless.ports import Ports, ServiceListPort
from serverless.settings import Settings
from serverless.shared.pacing import (
    BACKSTOP_ECS_READS,
    BACKSTOP_SERVICES,
    BACKSTOP_TAGGING,
    DESCRIBE_SERVICES,
    DESCRIBE_TASKS,
    ECS_CALL_MAX_SECONDS,
    LEDGER_CALL_MAX_SECONDS,
    Pacer,
)
from serverless.shared.reporting import report_closed
from serverless.shared.services import ServiceDirectory

__all__ = ["Backstop", "BackstopReport"]

#: A visit is started only with this much of the invocation left: its calls at their
#: longest (two pages, one key read, one DescribeTasks, one DescribeServices, one write).
VISIT_SECONDS = 4 * ECS_CALL_MAX_SECONDS + 2 * LEDGER_CALL_MAX_SECONDS
#: Time kept back at the end of the invocation (as the sweeper's safety margin).
MARGIN_SECONDS = 10.0


@dataclass(slots=True)
class BackstopReport:
    """What one backstop run did (the handler's return value)."""

    opted_in: int = 0
    visited: int = 0
    skipped: int = 0
    found: list[str] = field(default_factory=list)
    not_shortened: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def call(self, name: str, number: int = 1) -> None:
        """Count ``number`` AWS calls of ``name``."""
        self.calls[name] = self.calls.get(name, 0) + number

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly summary."""
        return {
            "backstop": True,
            "opted_in": self.opted_in,
            "visited": self.visited,
            "skipped": self.skipped,
            "found": list(self.found),
            "not_shortened": list(self.not_shortened),
            "failed": list(self.failed),
            "calls": dict(self.calls),
        }


class Backstop:
    """One backstop run over this minute's slice of the opted-in services."""

    def __init__(
        self,
        ports: Ports,
        lister: ServiceListPort,
        services: ServiceDirectory,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._ports = ports
        self._lister = lister
        self._services = services
        self._settings = settings
        self._clock = clock
        self._pacer = Pacer(ports.ledger, clock)
        self._report = BackstopReport()
        #: The earliest deadline of the drains this run recorded.
        self._due: float | None = None

    def run(self, remaining_ms: Callable[[], int]) -> BackstopReport:
        """Visit this minute's slice while the invocation has time for a visit."""
        now = self._clock.now()
        try:
            refs = self._slice(now)
        except DrainTerminatorError as error:
            logger.error("backstop: opted-in services not listed", extra={"error": str(error)})
            return self._report
        for index, ref in enumerate(refs):
            if remaining_ms() / 1000.0 - MARGIN_SECONDS < VISIT_SECONDS:
                skipped = len(refs) - index
                self._report.skipped = skipped
                count(Metric.BACKSTOP_SERVICES_SKIPPED, skipped)
                logger.warning(
                    "backstop: out of time; the rest of the slice waits for the next round",
                    extra={"skipped": skipped},
                )
                break
            try:
                self._visit(ref)
            except DrainTerminatorError as error:
                self._report.failed.append(f"{ref.cluster_arn}#{ref.name}")
                logger.warning(
                    "backstop: service not looked at",
                    extra={
                        "ecs_service": ref.name,
                        "cluster_arn": ref.cluster_arn,
                        "error": str(error),
                    },
                )
            self._report.visited += 1
        self._start_sweeper_if_due()
        return self._report

    def _tagged(self, key: str) -> dict[str, str]:
        """Every service tagged ``key``: the deployment's own account's, then (a hub) each
        member's, listed with its member role. A member that cannot be listed (its role
        broken, its calls failing) is left out of this run and counted with its account
        (``LookupsFailed``); the others are listed. A failure in the own account fails
        the run's listing."""
        tenancy = self._ports.tenancy
        members = sorted(tenancy.tenancy().members) if tenancy is not None else []
        tagged: dict[str, str] = {}
        for account in (None, *members):
            self._pacer.acquire(BACKSTOP_TAGGING)
            self._report.call("GetResources")
            if account is None:
                tagged.update(self._lister.tagged_services(key))
                continue
            try:
                tagged.update(self._lister.tagged_services(key, account))
            except DrainTerminatorError as error:
                count_for_account(Metric.LOOKUPS_FAILED, account)
                logger.warning(
                    "backstop: member account's services not listed; tried again next run",
                    extra={"account": account, "error": str(error)},
                )
        return tagged

    def _slice(self, now: float) -> list[ServiceRef]:
        """This minute's opted-in services, in the module's clusters."""
        key = self._settings.tag_prefix + TAG_ENABLED
        tagged = self._tagged(key)
        scope = set(self._settings.cluster_arns)
        refs: list[ServiceRef] = []
        for arn, value in sorted(tagged.items()):
            ref = service_ref(arn)
            if ref is None or value.strip().lower() != "true":
                continue
            if scope and ref.cluster_arn not in scope:
                continue
            self._report.opted_in += 1
            if in_slice(arn, now, self._settings.backstop_round_minutes):
                refs.append(ref)
        return refs

    def _ecs_read(self, name: str, cluster_arn: str) -> None:
        """Pace one ECS read: a token of the backstop's share, then one of the cluster's
        account's (and region's)."""
        self._pacer.acquire(BACKSTOP_ECS_READS)
        self._pacer.acquire(DESCRIBE_TASKS, arn=cluster_arn)
        self._report.call(name)

    def _visit(self, ref: ServiceRef) -> None:
        ecs, ledger = self._ports.ecs, self._ports.ledger
        listed: list[str] = []
        token: str | None = None
        for _ in range(MAX_LIST_PAGES):
            self._ecs_read("ListTasks", ref.cluster_arn)
            page, token = ecs.list_stopping_tasks(ref.cluster_arn, ref.name, token)
            listed.extend(page)
            if token is None:
                break
        if not listed:
            return
        self._report.call("BatchGetItem", -(-len(listed) // PAGE))
        known = ledger.known(listed)
        unknown = [arn for arn in dict.fromkeys(listed) if arn not in known]
        if not unknown:
            return
        states: dict[str, TaskState] = {}
        seen_at = self._clock.now()
        for start in range(0, len(unknown), PAGE):
            self._ecs_read("DescribeTasks", ref.cluster_arn)
            states.update(ecs.describe_tasks(ref.cluster_arn, unknown[start : start + PAGE]))
            # The answer has arrived: every drain it shows began at or before this moment.
            seen_at = self._clock.now()
        group = f"service:{ref.name}"
        draining = [s for s in states.values() if s.draining and s.group == group]
        if not draining:
            return
        view = self._snapshot(ref)
        if view is None or not view.policy.enabled:
            return
        for task in draining:
            self._record(ref, task, view, seen_at)

    def _snapshot(self, ref: ServiceRef) -> ServiceSnapshot | None:
        views = self._services.fresh(
            ref.cluster_arn,
            [ref.name],
            float(self._settings.tag_cache_seconds),
            self._before_describe_services,
        )
        view = views.get(ref.name)
        if isinstance(view, DrainTerminatorError):
            raise view
        return view

    def _before_describe_services(self, cluster_arn: str) -> None:
        self._pacer.acquire(BACKSTOP_SERVICES)
        self._pacer.acquire(DESCRIBE_SERVICES, arn=cluster_arn)
        self._report.call("DescribeServices")

    def _record(
        self, ref: ServiceRef, task: TaskState, view: ServiceSnapshot, seen_at: float
    ) -> None:
        policy = view.policy
        cause = refine(classify(task.stop_code, task.stopped_reason), task.started_by, view.info)
        record = found_drain_record(task, ref.cluster_arn, ref.name, policy, seen_at, cause)
        leave = leave_reason(cause, policy)
        if leave is not None:
            record = close_record(
                record,
                Outcome.NOT_SHORTENED,
                self._clock.now(),
                self._settings.record_retention_seconds,
                seen=task,
            )
        try:
            written = self._ports.ledger.put(record, expected_rev=None)
        except ConflictError:
            return  # an event (or another run) recorded it meanwhile: that record stands
        count(Metric.DRAINS_FOUND_BY_BACKSTOP)
        count_cause(cause)
        if leave is not None:
            self._report.not_shortened.append(task.task_arn)
            report_closed(written, why=leave)
            return
        self._report.found.append(task.task_arn)
        logger.warning(
            "backstop: drain found that no event reported; recorded from now",
            extra={
                "task_arn": task.task_arn,
                "ecs_service": ref.name,
                "stop_cause": cause.value,
                "drain_started_at": written.drain_started_at,
                "due_at": written.due_at,
                "found_by": "backstop",
            },
        )
        self._due = written.due_at if self._due is None else min(self._due, written.due_at)

    def _start_sweeper_if_due(self) -> None:
        """A found drain whose deadline comes before the next scheduled sweeper run could
        look (its wait is short): start a sweeper run now, once."""
        due = self._due
        trigger = self._ports.trigger
        below = self._settings.early_start_below_seconds
        if due is None or trigger is None or below <= 0 or due - self._clock.now() >= below:
            return
        try:
            trigger.start()
        except DrainTerminatorError as error:
            logger.warning("backstop: could not start a sweeper run", extra={"error": str(error)})

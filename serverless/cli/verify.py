"""``verify``: measure, in the user's account, whether StopTask shortens a drain.

Nobody has documented whether StopTask ends a drain already in progress, so this command
watches one happen: it forces a new deployment of an opted-in service (or waits for the
next natural drain), then polls DescribeTasks and the ledger until a drained task starts
stopping, and compares the measured drain with the target groups' deregistration delay.

The drain start is the ledger's (the time of the first drain event, the one the
terminator's deadline counts from) or, without a record, the poll that first saw the
task draining. "Ours" means the ledger recorded our StopTask for the task. All waiting
goes through the injected clock, so the same code runs in the simulator.

With ``--action`` it measures a stop action instead (``exec``, ``stop-task-then-exec``...):
it sets the service's ``<prefix>stop-action`` tag first, and "ours" is the first stop
step the ledger recorded (``python -m tools.premise`` measures each action this way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from serverless.cli.aws.ecs import ServiceAdmin, TargetGroupReader
from serverless.cli.aws.ledger import LedgerReader
from serverless.cli.explain import explain_record
from serverless.cli.model import ServiceView, TaskView, task_id
from serverless.cli.prerequisites import Assessment
from serverless.cli.render import duration, iso, seconds
from serverless.cli.sidecar import detect
from serverless.domain.clock import Clock
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import Outcome, ServicePolicy, StopAction, TaskRecord
from serverless.domain.tags import TAG_STOP_ACTION, parse_policy

__all__ = ["Verdict", "Verifier", "VerifyPlan", "VerifyRefused"]

POLL_SECONDS = 5.0
_STOPPING = frozenset({"STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"})
#: What each action's first step is called in a verdict.
_FIRST_STEP = {"exec": "ECS Exec signal", "ssm-signal": "SSM signal"}

SHORTENED = "shortened"
NOT_SHORTENED = "not-shortened"
NOT_STOPPED_BY_TERMINATOR = "not-stopped-by-terminator"
TIMEOUT = "timeout"


class VerifyRefused(DrainTerminatorError):
    """verify will not run against this service (not opted in, dry-run, nothing drains)."""


@dataclass(frozen=True, slots=True)
class VerifyPlan:
    """What verify found before changing anything."""

    service: ServiceView
    policy: ServicePolicy
    delays: dict[str, int]
    running: list[str]
    #: The service's stop action and what it lacks, as far as it can be read.
    prerequisites: Assessment | None = None

    @property
    def deregistration_delay(self) -> int:
        """The longest delay of the service's target groups: how long ECS alone drains."""
        return max(self.delays.values())

    def describe(self) -> str:
        """The plan in one paragraph."""
        groups = ", ".join(
            f"{arn.split(':')[-1]} {delay} s" for arn, delay in sorted(self.delays.items())
        )
        text = (
            f"service {self.service.name} in {self.service.cluster_arn}: opted in, "
            f"wait-seconds {self.policy.wait_seconds}; {len(self.running)} running task(s); "
            f"deregistration delay {groups}"
        )
        if self.prerequisites is not None:
            text += f"\nstop action {self.prerequisites.line()}"
        return text


@dataclass(slots=True)
class Verdict:
    """The measurement and what it means."""

    kind: str
    text: str
    task_arn: str | None = None
    deployment_id: str | None = None
    drain_started_at: float | None = None
    drain_start_source: str | None = None
    stop_requested_at: float | None = None
    stopping_at: float | None = None
    measured_seconds: float | None = None
    deregistration_delay: int | None = None
    wait_seconds: int | None = None
    watched_tasks: int = 0
    action: str | None = None

    @property
    def ok(self) -> bool:
        """StopTask demonstrably shortened the drain."""
        return self.kind == SHORTENED

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "verdict": self.kind,
            "text": self.text,
            "task_arn": self.task_arn,
            "deployment_id": self.deployment_id,
            "drain_started_at": iso(self.drain_started_at),
            "drain_start_source": self.drain_start_source,
            "stop_requested_at": iso(self.stop_requested_at),
            "stopping_at": iso(self.stopping_at),
            "measured_seconds": None
            if self.measured_seconds is None
            else round(self.measured_seconds, 1),
            "deregistration_delay_seconds": self.deregistration_delay,
            "wait_seconds": self.wait_seconds,
            "watched_tasks": self.watched_tasks,
            "action": self.action,
        }


@dataclass(slots=True)
class _Watch:
    arn: str
    seen_draining_at: float | None = None
    said: set[str] = field(default_factory=set)


class Verifier:
    """Runs one measurement (see the module docstring)."""

    def __init__(
        self,
        ecs: ServiceAdmin,
        target_groups: TargetGroupReader,
        ledger: LedgerReader,
        clock: Clock,
        *,
        prefix: str,
        default_wait: int,
        default_action: StopAction = StopAction.STOP_TASK,
        progress: Callable[[str], None] = lambda _: None,
        poll_seconds: float = POLL_SECONDS,
        confirm_seconds: float = 60.0,
        sidecar: str | None = None,
        assess: Callable[[ServiceView, ServicePolicy], Assessment] | None = None,
        action: str | None = None,
    ) -> None:
        self._ecs = ecs
        self._target_groups = target_groups
        self._ledger = ledger
        self._clock = clock
        self._prefix = prefix
        self._default_wait = default_wait
        self._default_action = default_action
        self._progress = progress
        self._poll = poll_seconds
        self._confirm = confirm_seconds
        self._sidecar = sidecar
        self._assess = assess
        self._start = 0.0
        # None: the service's own stop action, measured as StopTask (as before --action).
        self._action = action
        self._measured = "StopTask" if action in (None, "stop-task") else f"the {action} action"
        self._step = _FIRST_STEP.get(action or "", "StopTask")

    def plan(self, cluster: str, service: str, *, force: bool) -> VerifyPlan:
        """Check the service can be measured; raises VerifyRefused with the reason."""
        view = self._ecs.describe_service(cluster, service)
        policy = parse_policy(
            view.tags, self._prefix, self._default_wait, self._default_action
        ).policy
        if self._action is not None:  # measured as the action it will be tagged with
            policy = replace(policy, stop_action=StopAction(self._action))
        if not policy.enabled:
            raise VerifyRefused(
                f"service {service!r} has not opted in ({self._prefix}enabled=true is "
                "missing): verify only deploys opted-in services; opt in first with "
                f"drain-terminator tags --cluster {cluster} --service {service}"
            )
        if policy.dry_run:
            raise VerifyRefused(
                f"service {service!r} is in dry-run ({self._prefix}dry-run): the terminator "
                "will not stop its tasks, so there is nothing to measure"
            )
        if not view.target_group_arns:
            raise VerifyRefused(
                f"service {service!r} has no load balancer target group: its tasks do not drain"
            )
        if view.desired_count < 1:
            raise VerifyRefused(f"service {service!r} has a desired count of 0: nothing drains")
        if force and len([d for d in view.deployments if d.status != "INACTIVE"]) > 1:
            raise VerifyRefused(
                f"service {service!r} has a deployment in progress: wait for it to finish, "
                "or measure it with --wait-natural"
            )
        sidecars = detect(
            self._ecs.container_definitions(view.task_definition),
            self._sidecar,
            view.load_balanced_containers or None,
        )
        if sidecars:
            name, how = sidecars[0]
            raise VerifyRefused(
                f"service {service!r} still runs the NLB sidecar ({name!r} in "
                f"{view.task_definition.rsplit('/', 1)[-1]}, recognised by {how}): it would "
                "stop the task itself and hide whether StopTask works; remove it first "
                "(drain-terminator migrate-sidecar)"
            )
        delays = {
            arn: self._target_groups.deregistration_delay(arn) for arn in view.target_group_arns
        }
        if policy.wait_seconds >= max(delays.values()):
            raise VerifyRefused(
                f"wait-seconds {policy.wait_seconds} is not shorter than the deregistration "
                f"delay ({max(delays.values())} s): ECS ends the drain first, nothing to measure"
            )
        running = self._ecs.list_tasks(view.cluster_arn, view.name)
        prerequisites = self._assess(view, policy) if self._assess is not None else None
        return VerifyPlan(view, policy, delays, running, prerequisites)

    def choose_action(self, plan: VerifyPlan) -> None:
        """Tag the service with the action to measure (``<prefix>stop-action``)."""
        if self._action is None:
            return
        key = f"{self._prefix}{TAG_STOP_ACTION}"
        if plan.service.tags.get(key) != self._action:
            self._ecs.tag(plan.service.arn, {key: self._action})
        self._progress(f"stop action: {key}={self._action} on {plan.service.name}")

    def _say(self, watch: _Watch, key: str, text: str, now: float) -> None:
        if key not in watch.said:
            watch.said.add(key)
            self._progress(f"T+{duration(now - self._start):>7}  {text}")

    def run(self, plan: VerifyPlan, *, force: bool, timeout: float) -> Verdict:
        """Force a deployment (or wait), watch, and return the verdict."""
        cluster, service = plan.service.cluster_arn, plan.service.name
        self._start = start = self._clock.now()
        watched = {arn: _Watch(arn) for arn in plan.running}
        deployment = None
        if force:
            deployment = self._ecs.force_new_deployment(cluster, service)
            self._progress(
                f"T+{duration(0):>7}  forced a new deployment {deployment or ''}".rstrip()
            )
        else:
            self._progress(f"T+{duration(0):>7}  waiting for the next drain of {service}")
        while True:
            now = self._clock.now()
            if not force:
                for arn in self._ecs.list_tasks(cluster, service):
                    watched.setdefault(arn, _Watch(arn))
            states = self._ecs.describe_tasks(cluster, list(watched)) if watched else {}
            for arn, watch in watched.items():
                state = states.get(arn)
                if state is None:
                    continue
                verdict = self._check(plan, watch, state, now)
                if verdict is not None:
                    verdict.deployment_id = deployment
                    verdict.watched_tasks = len(watched)
                    verdict.action = self._action
                    return verdict
            if now - start >= timeout:
                seen = sum(1 for w in watched.values() if w.seen_draining_at is not None)
                return Verdict(
                    TIMEOUT,
                    f"no verdict within {seconds(timeout)}: {seen} task(s) seen draining, "
                    "none reached STOPPING; raise --timeout or check with "
                    "drain-terminator status",
                    deployment_id=deployment,
                    deregistration_delay=plan.deregistration_delay,
                    wait_seconds=plan.policy.wait_seconds,
                    watched_tasks=len(watched),
                    action=self._action,
                )
            self._clock.sleep(min(self._poll, max(0.0, start + timeout - now)))

    def _check(
        self, plan: VerifyPlan, watch: _Watch, state: TaskView, now: float
    ) -> Verdict | None:
        short = task_id(watch.arn)
        if state.draining and watch.seen_draining_at is None:
            watch.seen_draining_at = now
            self._say(watch, "drain", f"task {short} draining", now)
        stopping = state.last_status in _STOPPING
        if watch.seen_draining_at is None and not stopping:
            return None
        record = self._ledger.get(watch.arn)
        if record is not None and record.stop_requested_at is not None:
            self._say(
                watch,
                "stop",
                f"task {short}: the terminator sent its {self._step} "
                f"{seconds(record.stop_requested_at - record.drain_started_at)} after drain start",
                now,
            )
        if record is None and watch.seen_draining_at is None:
            return None  # stopped without a drain we saw or the terminator recorded
        if stopping:
            self._say(watch, "stopping", f"task {short} {state.last_status}", now)
            return self._verdict(plan, watch, state, record, now)
        if (
            record is not None
            and record.stop_requested_at is not None
            and (
                now - record.stop_requested_at > self._confirm
                or record.outcome is Outcome.UNCONFIRMED
            )
        ):
            return self._verdict(plan, watch, state, record, now)
        return None

    def _verdict(
        self,
        plan: VerifyPlan,
        watch: _Watch,
        state: TaskView,
        record: TaskRecord | None,
        now: float,
    ) -> Verdict:
        delay = plan.deregistration_delay
        if record is not None:
            drain_start, source = record.drain_started_at, "ledger (first drain event)"
        else:
            assert watch.seen_draining_at is not None
            drain_start, source = (
                watch.seen_draining_at,
                f"first poll that saw it draining (±{self._poll:g} s)",
            )
        our_stop = record.stop_requested_at if record is not None else None
        stopping_at = state.stopping_at or state.stopped_at
        if stopping_at is None and state.last_status in _STOPPING:
            stopping_at = now
        verdict = Verdict(
            NOT_SHORTENED,
            "",
            task_arn=watch.arn,
            drain_started_at=drain_start,
            drain_start_source=source,
            stop_requested_at=our_stop,
            stopping_at=stopping_at,
            measured_seconds=None if stopping_at is None else stopping_at - drain_start,
            deregistration_delay=delay,
            wait_seconds=plan.policy.wait_seconds,
        )
        if our_stop is None:
            why = (
                explain_record(record, now).text
                if record is not None
                else (
                    "the terminator has no record of the drain (is the service's deployment "
                    "receiving events? see docs/operations.md)"
                )
            )
            verdict.kind = NOT_STOPPED_BY_TERMINATOR
            verdict.text = (
                f"inconclusive: the terminator did not stop task {task_id(watch.arn)}; it "
                f"began stopping {seconds(verdict.measured_seconds)} after drain start "
                f"(deregistration delay {delay} s): {why}"
            )
            return verdict
        if stopping_at is None:
            verdict.text = (
                f"{self._measured} did NOT shorten the drain: task {task_id(watch.arn)} was "
                f"still draining {seconds(now - our_stop)} after our {self._step} (sent "
                f"{seconds(our_stop - drain_start)} after drain start; deregistration delay "
                f"{delay} s)"
            )
            return verdict
        measured = stopping_at - drain_start
        took = stopping_at - our_stop
        if measured < delay and took <= self._confirm:
            verdict.kind = SHORTENED
            verdict.text = (
                f"{self._measured} shortened the drain: stopped {seconds(measured)} after drain "
                f"start, deregistration delay {delay} s (task {task_id(watch.arn)} began stopping "
                f"{seconds(took)} after our {self._step}; {seconds(delay - measured)} saved)"
            )
        else:
            verdict.text = (
                f"{self._measured} did NOT shorten the drain: task {task_id(watch.arn)} began "
                f"stopping {seconds(measured)} after drain start, {seconds(took)} after our "
                f"{self._step} "
                f"(deregistration delay {delay} s)"
            )
        return verdict

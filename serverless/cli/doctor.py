"""``doctor``: preflight and health of a deployment, one line per check with its fix.

Checks, in order: the ledger table; each function exists, is active and not throttled to
zero; each rule exists, is enabled and targets its function; task-state events reach the
ledger (every task of an opted-in service that ECS stopped in the last hour has a record);
the dead-letter queue is empty; each opted-in service's tags are valid, it has target
groups, its wait against each group's deregistration delay (not shorter: ECS ends the
drain first; shorter than the NLB's ~2-minute propagation: live traffic is cut), whether
it still runs the NLB sidecar, and the prerequisites of its stop action; the alarms
notify a subscribed topic.

The resource names come from ``terraform output`` (``--from-terraform``) or, with
``--table``, from the module's naming: ``<name_prefix>-task-events`` and so on, where the
name prefix is the table's name without ``-ledger`` (``--name-prefix`` overrides it).
Each check is a value (:class:`Check`); :class:`Doctor` gathers through the adapters and
the ``*_check`` functions decide, without AWS calls.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

from serverless.cli.aws.deployment import (
    AlarmView,
    DeploymentReader,
    FunctionView,
    QueueView,
    RuleView,
    TopicView,
)
from serverless.cli.aws.ecs import ServiceAdmin, TargetGroupReader
from serverless.cli.aws.ledger import LedgerReader
from serverless.cli.model import ServiceView, TaskView
from serverless.cli.names import ResourceNames
from serverless.cli.render import duration
from serverless.cli.sidecar import detect
from serverless.domain.clock import Clock
from serverless.domain.errors import ConfigError, DrainTerminatorError, NotFoundError
from serverless.domain.model import TaskRecord
from serverless.domain.tags import PolicyResult, parse_policy

__all__ = [
    "NLB_PROPAGATION_SECONDS",
    "OK",
    "PROBLEM",
    "STOP_ACTION_PREREQUISITES",
    "TAG_STOP_ACTION",
    "WARNING",
    "Check",
    "Doctor",
    "DoctorReport",
    "alarm_checks",
    "events_check",
    "function_check",
    "queue_check",
    "rule_check",
    "service_checks",
    "sidecar_check",
]

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"

#: New connections keep reaching a deregistered NLB target for about this long (measured
#: by users, not documented: docs/operations.md); a shorter wait cuts live traffic.
NLB_PROPAGATION_SECONDS = 120
#: Target group protocols of a Network Load Balancer.
NLB_PROTOCOLS = frozenset({"TCP", "TLS", "UDP", "TCP_UDP"})
#: A stopped task younger than this may still have its STOPPED event in flight.
EVENT_GRACE_SECONDS = 60.0
#: ECS keeps stopped tasks about an hour: the window of the events check.
STOPPED_TASKS_KEPT_SECONDS = 3600.0
#: At most this many stopped tasks per service are compared with the ledger.
STOPPED_TASKS_PER_SERVICE = 20

#: The service tag naming how a task is stopped (read by the stop-action checks).
TAG_STOP_ACTION = "stop-action"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, how it stands, and the fix."""

    check: str
    level: str
    message: str
    fix: str | None = None

    def line(self) -> str:
        """The check for people, on one line."""
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.level:<8} {self.check}: {self.message}{fix}"


_UNNAMED_FIX = "pass --from-terraform DIR, or --name-prefix (the module's name_prefix)"


# -- the decisions (no AWS calls) -----------------------------------------------------------


def ledger_check(table: str, status: str | None) -> Check:
    """The ledger table exists and is active."""
    if status is None:
        return Check(
            f"ledger {table}",
            PROBLEM,
            "the table does not exist in this region",
            "check --table/--from-terraform and --region; terraform apply creates it",
        )
    if status != "ACTIVE":
        return Check(f"ledger {table}", WARNING, f"table status {status}", "wait for ACTIVE")
    return Check(f"ledger {table}", OK, "table active")


def function_check(role: str, name: str | None, view: FunctionView | None) -> Check:
    """A function exists, is active, and is not throttled to zero."""
    title = f"function {role}"
    if name is None:
        return Check(title, WARNING, "not checked: its name is unknown", _UNNAMED_FIX)
    if view is None:
        return Check(title, PROBLEM, f"{name} does not exist", "terraform apply the module")
    if view.state != "Active":
        reason = f" ({view.state_reason})" if view.state_reason else ""
        return Check(
            title,
            PROBLEM,
            f"{name} is {view.state}{reason}",
            "see the function's last update and terraform apply again",
        )
    if view.last_update_status == "Failed":
        return Check(
            title, PROBLEM, f"{name}: its last update failed", "terraform apply the module again"
        )
    if view.reserved_concurrency == 0:
        return Check(
            title,
            PROBLEM,
            f"{name} has reserved concurrency 0: every invocation is throttled",
            f"aws lambda delete-function-concurrency --function-name {name} (or set "
            "the module's reserved concurrency above 0)",
        )
    return Check(title, OK, f"{name} active")


def rule_check(
    role: str, name: str | None, view: RuleView | None, function_arn: str | None
) -> Check:
    """A rule exists, is enabled, and targets its function."""
    title = f"rule {role}"
    if name is None:
        return Check(title, WARNING, "not checked: its name is unknown", _UNNAMED_FIX)
    if view is None:
        return Check(title, PROBLEM, f"{name} does not exist", "terraform apply the module")
    if view.state != "ENABLED":
        return Check(
            title,
            PROBLEM,
            f"{name} is {view.state}: no event reaches the function",
            f"aws events enable-rule --name {name}",
        )
    if function_arn and not any(
        arn == function_arn or arn.startswith(function_arn + ":") for arn in view.target_arns
    ):
        return Check(
            title,
            PROBLEM,
            f"{name} does not target {function_arn.rsplit(':', 1)[-1]}",
            "terraform apply the module (it creates the target)",
        )
    return Check(title, OK, f"{name} enabled, targets its function")


def events_check(
    records: Sequence[TaskRecord],
    stopped: Sequence[TaskView],
    now: float,
) -> Check:
    """Task-state events reach the ledger: stopped tasks of opted-in services have records."""
    recorded = {r.task_arn for r in records}
    latest = max((max(r.drain_started_at, r.closed_at or 0.0) for r in records), default=None)
    last = f"last record {duration(now - latest)} ago" if latest is not None else "no record yet"
    fix = (
        "check the task-state-change rule and the task-events function above, the function's "
        "errors (docs/operations.md, task-events-errors) and the dead-letter queue"
    )
    if stopped:
        missing = [t for t in stopped if t.task_arn not in recorded]
        if not missing:
            return Check(
                "events",
                OK,
                f"all {len(stopped)} task(s) of opted-in services that stopped in the last hour "
                f"are in the ledger; {last}",
            )
        level = PROBLEM if len(missing) == len(stopped) else WARNING
        return Check(
            "events",
            level,
            f"{len(missing)} of {len(stopped)} task(s) of opted-in services that stopped in "
            f"the last hour have no ledger record (e.g. {missing[0].task_arn}): task-state "
            "events are not reaching the ledger" + ("" if level == PROBLEM else " every time"),
            fix + "; a service that opted in within the hour explains a few",
        )
    if latest is None:
        return Check(
            "events",
            WARNING,
            "no record in the ledger yet: nothing has drained since the terminator was "
            "deployed, or events are not arriving",
            "run doctor again after a deployment of an opted-in service; if still none, " + fix,
        )
    return Check("events", OK, f"no task of an opted-in service stopped in the last hour; {last}")


def queue_check(name: str | None, view: QueueView | None, ledger_hint: str) -> Check:
    """The dead-letter queue is empty."""
    if name is None:
        return Check("dead-letter queue", WARNING, "not checked: its name is unknown", _UNNAMED_FIX)
    if view is None:
        return Check(
            "dead-letter queue", PROBLEM, f"{name} does not exist", "terraform apply the module"
        )
    waiting = view.visible + view.in_flight
    if waiting:
        return Check(
            "dead-letter queue",
            PROBLEM,
            f"{waiting} message(s) waiting: events the functions never processed",
            "fix their cause first (docs/operations.md, dlq-depth), then replay them: "
            + f"drain-terminator redrive {ledger_hint}".rstrip(),
        )
    return Check("dead-letter queue", OK, "empty")


def _exec_enabled(service: ServiceView) -> str | None:
    if service.enable_execute_command:
        return None
    return (
        "enableExecuteCommand is off: ECS Exec cannot reach its tasks; fix: aws ecs "
        f"update-service --cluster {service.cluster_arn.rsplit('/', 1)[-1]} --service "
        f"{service.name} --enable-execute-command (new tasks get it), and the task role "
        "needs ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel, "
        "OpenDataChannel"
    )


def _on_ec2(service: ServiceView) -> str | None:
    fargate = [t for t in service.launch_types if t.startswith("FARGATE")]
    if not fargate:
        return None
    return (
        f"it runs on {'/'.join(fargate)}: SSM Run Command reaches EC2 container instances "
        "only; fix: use the exec stop action on Fargate, or run the service on EC2"
    )


#: Per stop action (the first word of the stop-action tag): checks returning a problem
#: with its fix, or None. Add an action's prerequisites here.
STOP_ACTION_PREREQUISITES: dict[str, tuple[Callable[[ServiceView], str | None], ...]] = {
    "exec": (_exec_enabled,),
    "ssm-signal": (_on_ec2,),
    # StopTask first, then exec for tasks still draining: exec's prerequisites.
    "stop-task-then-exec": (_exec_enabled,),
}


def _stop_action_check(title: str, service: ServiceView, prefix: str) -> Check | None:
    value = service.tags.get(prefix + TAG_STOP_ACTION)
    if value is None:
        return None
    kind = re.split(r"[:\s]", value.strip(), maxsplit=1)[0].lower()
    checks = STOP_ACTION_PREREQUISITES.get(kind)
    if checks is None:
        return Check(f"{title} stop action", OK, f"{value!r}: no prerequisite known to doctor")
    problems = [p for p in (check(service) for check in checks) if p is not None]
    if problems:
        message, _, fix = problems[0].partition("; fix: ")
        return Check(f"{title} stop action", PROBLEM, f"{value!r}: {message}", fix or None)
    return Check(f"{title} stop action", OK, f"{value!r}: prerequisites met")


def sidecar_check(title: str, service: ServiceView, sidecars: Sequence[tuple[str, str]]) -> Check:
    """An opted-in service whose task definition still runs the NLB sidecar."""
    revision = service.task_definition.rsplit("/", 1)[-1]
    if not sidecars:
        return Check(f"{title} sidecar", OK, f"no NLB sidecar in {revision}")
    name, how = sidecars[0]
    return Check(
        f"{title} sidecar",
        WARNING,
        f"{revision} still runs the NLB sidecar ({name!r}, recognised by {how}): it stops "
        "tasks itself, so the terminator's stop may never come",
        "finish the migration: drain-terminator migrate-sidecar (docs/migrating-from-sidecar.md)",
    )


def service_checks(
    service: ServiceView,
    result: PolicyResult,
    groups: Mapping[str, tuple[str, int]],
    prefix: str,
    sidecars: Sequence[tuple[str, str]] | None = None,
) -> list[Check]:
    """An opted-in service: tags, target groups, wait against each delay, the NLB sidecar
    (when ``sidecars`` was looked for), stop action.

    ``groups``: target group ARN -> (protocol, deregistration delay seconds); ``sidecars``:
    what :func:`serverless.cli.sidecar.detect` found in its task definition.
    """
    cluster = service.cluster_arn.rsplit("/", 1)[-1]
    title = f"service {cluster}/{service.name}"
    policy = result.policy
    checks: list[Check] = []
    mode = "DRY-RUN (logs only)" if policy.dry_run else "live"
    if result.warnings:
        checks.append(
            Check(
                f"{title} tags",
                PROBLEM,
                "; ".join(result.warnings),
                f"drain-terminator tags --cluster {cluster} --service {service.name} with a "
                "valid value (the functions ignore this one)",
            )
        )
    else:
        checks.append(Check(f"{title} tags", OK, f"opted in, wait {policy.wait_seconds} s, {mode}"))
    if not service.target_group_arns:
        checks.append(
            Check(
                f"{title} target groups",
                PROBLEM,
                "no load balancer target group: its tasks never drain, the terminator has "
                "nothing to do",
                "attach its target group, or opt it out (drain-terminator tags --opt-out)",
            )
        )
    for arn in service.target_group_arns:
        name = arn.split(":")[-1]
        if arn not in groups:
            checks.append(
                Check(
                    f"{title} target group",
                    PROBLEM,
                    f"{name} does not exist",
                    "fix the service's loadBalancers",
                )
            )
            continue
        protocol, delay = groups[arn]
        wait = policy.wait_seconds
        nlb = protocol in NLB_PROTOCOLS
        where = f"{title} wait vs {name.split('/')[1] if '/' in name else name}"
        if wait >= delay:
            checks.append(
                Check(
                    where,
                    WARNING,
                    f"wait {wait} s is not shorter than the deregistration delay {delay} s: "
                    "ECS ends the drain first, the terminator never stops early",
                    f"lower wait-seconds below {delay} (drain-terminator tags --wait N) or "
                    "raise the group's deregistration delay",
                )
            )
        elif nlb and wait < NLB_PROPAGATION_SECONDS:
            checks.append(
                Check(
                    where,
                    PROBLEM,
                    f"wait {wait} s is shorter than the NLB's ~{NLB_PROPAGATION_SECONDS} s "
                    "propagation of a deregistration: new connections still arrive when the "
                    "task is stopped, so live traffic is cut",
                    f"drain-terminator tags --cluster {cluster} --service {service.name} "
                    f"--wait {NLB_PROPAGATION_SECONDS} (or more, below {delay})",
                )
            )
        else:
            kind = "NLB" if nlb else protocol or "target group"
            checks.append(
                Check(
                    where,
                    OK,
                    f"wait {wait} s, deregistration delay {delay} s ({kind}): "
                    f"{delay - wait} s saved per drain",
                )
            )
    if sidecars is not None:
        checks.append(sidecar_check(title, service, sidecars))
    stop_action = _stop_action_check(title, service, prefix)
    if stop_action is not None:
        checks.append(stop_action)
    return checks


def alarm_checks(
    name_prefix: str | None,
    alarms: Sequence[AlarmView],
    topics: Mapping[str, TopicView | None],
) -> list[Check]:
    """The alarms exist and notify at least one topic with a confirmed subscription each."""
    if name_prefix is None and not topics:
        return [Check("alarms", WARNING, "not checked: the name prefix is unknown", _UNNAMED_FIX)]
    checks: list[Check] = []
    if not alarms:
        checks.append(
            Check(
                "alarms",
                WARNING,
                f"no CloudWatch alarm named {name_prefix}-*",
                "the module creates them; check --name-prefix and --region",
            )
        )
    elif not any(a.actions for a in alarms):
        checks.append(
            Check(
                "alarms",
                PROBLEM,
                f"{len(alarms)} alarm(s), none notifies anyone",
                "set the module's create_alarm_topic or alarm_topic_arns",
            )
        )
    else:
        checks.append(Check("alarms", OK, f"{len(alarms)} alarm(s) with actions"))
    for arn, topic in sorted(topics.items()):
        title = f"alarm topic {arn.rsplit(':', 1)[-1]}"
        if topic is None:
            checks.append(Check(title, PROBLEM, f"{arn} does not exist", "fix alarm_topic_arns"))
        elif topic.confirmed == 0:
            pending = f" ({topic.pending} pending confirmation)" if topic.pending else ""
            checks.append(
                Check(
                    title,
                    PROBLEM,
                    f"no confirmed subscription{pending}: alarms reach nobody",
                    f"aws sns subscribe --topic-arn {arn} --protocol email "
                    "--notification-endpoint YOU@EXAMPLE.COM (and confirm the e-mail)",
                )
            )
        else:
            checks.append(Check(title, OK, f"{topic.confirmed} confirmed subscription(s)"))
    return checks


# -- gathering --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check, in order."""

    checks: list[Check]

    @property
    def problems(self) -> int:
        """How many checks found a problem."""
        return sum(1 for c in self.checks if c.level == PROBLEM)

    def counts(self) -> dict[str, int]:
        """Checks per level."""
        return {
            level: sum(1 for c in self.checks if c.level == level)
            for level in (OK, WARNING, PROBLEM)
        }

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "checks": [asdict(c) for c in self.checks],
            "counts": self.counts(),
            "problem_found": self.problems > 0,
        }

    def render(self) -> str:
        """Text form: a line per check and a summary."""
        counts = self.counts()
        lines = [c.line() for c in self.checks]
        lines.append(f"{counts[OK]} ok, {counts[WARNING]} warning(s), {counts[PROBLEM]} problem(s)")
        return "\n".join(lines)


class Doctor:
    """Gathers what each check needs through the adapters; a failed read is a warning."""

    def __init__(
        self,
        names: ResourceNames,
        deployment: DeploymentReader,
        ecs: ServiceAdmin,
        target_groups: TargetGroupReader,
        ledger: LedgerReader,
        clock: Clock,
        *,
        prefix: str,
        default_wait: int,
        clusters: Sequence[str] = (),
        ledger_hint: str = "",
    ) -> None:
        self._names = names
        self._deployment = deployment
        self._ecs = ecs
        self._target_groups = target_groups
        self._ledger = ledger
        self._clock = clock
        self._prefix = prefix
        self._default_wait = default_wait
        self._clusters = list(clusters)
        self._ledger_hint = ledger_hint

    def _guarded(self, title: str, gather: Callable[[], list[Check]]) -> list[Check]:
        try:
            return gather()
        except ConfigError:
            raise  # no region, no credentials: nothing can be checked; one line says why
        except NotFoundError as error:
            return [Check(title, PROBLEM, str(error), None)]
        except DrainTerminatorError as error:
            return [
                Check(title, WARNING, f"could not check: {error}", "allow the read (IAM) or retry")
            ]

    def run(self) -> DoctorReport:
        """Every check, in the module docstring's order."""
        names = self._names
        checks = self._guarded(f"ledger {names.table}", self._ledger_table)
        ledger_ok = checks[-1].level != PROBLEM
        arns: dict[str, str | None] = {}
        for role, name in (
            ("task-events", names.task_events_function),
            ("sweeper", names.sweeper_function),
        ):
            checks += self._guarded(
                f"function {role}", functools.partial(self._function, role, name, arns)
            )
        for role, rule_name, target in (
            ("task-state-change", names.task_events_rule, "task-events"),
            ("sweeper schedule", names.sweeper_rule, "sweeper"),
        ):
            checks += self._guarded(
                f"rule {role}", functools.partial(self._rule, role, rule_name, arns.get(target))
            )
        services: list[tuple[ServiceView, PolicyResult]] = []
        checks += self._guarded("services", functools.partial(self._services, services))
        if ledger_ok:
            checks += self._guarded("events", functools.partial(self._events, services))
        checks += self._guarded("dead-letter queue", self._queue)
        for view, result in services:
            checks += self._guarded(
                f"service {view.name}", functools.partial(self._service, view, result)
            )
        checks += self._guarded("alarms", self._alarms)
        return DoctorReport(checks)

    def _ledger_table(self) -> list[Check]:
        table = self._names.table
        return [ledger_check(table, self._deployment.table_status(table))]

    def _function(self, role: str, name: str | None, arns: dict[str, str | None]) -> list[Check]:
        view = self._deployment.function(name) if name else None
        arns[role] = view.arn if view else None
        return [function_check(role, name, view)]

    def _rule(self, role: str, name: str | None, function_arn: str | None) -> list[Check]:
        view = self._deployment.rule(name) if name else None
        return [rule_check(role, name, view, function_arn)]

    def _services(self, into: list[tuple[ServiceView, PolicyResult]]) -> list[Check]:
        clusters = self._clusters or self._ecs.list_clusters()
        for cluster in clusters:
            for view in self._ecs.services(cluster):
                result = parse_policy(view.tags, self._prefix, self._default_wait)
                if result.policy.enabled:
                    into.append((view, result))
        where = ", ".join(c.rsplit("/", 1)[-1] for c in clusters) or "none"
        if not into:
            return [
                Check(
                    "services",
                    WARNING,
                    f"no service opts in (clusters: {where})",
                    "opt one in: drain-terminator tags --cluster C --service S --dry-run",
                )
            ]
        return [Check("services", OK, f"{len(into)} opted-in service(s) (clusters: {where})")]

    def _events(self, services: Sequence[tuple[ServiceView, PolicyResult]]) -> list[Check]:
        now = self._clock.now()
        stopped: list[TaskView] = []
        for view, _ in services:
            arns = self._ecs.list_tasks(view.cluster_arn, view.name, "STOPPED")
            tasks = self._ecs.describe_tasks(view.cluster_arn, arns[:STOPPED_TASKS_PER_SERVICE])
            stopped.extend(
                t
                for t in tasks.values()
                if t.stopped_at is not None
                and now - STOPPED_TASKS_KEPT_SECONDS <= t.stopped_at <= now - EVENT_GRACE_SECONDS
            )
        return [events_check(self._ledger.records(), stopped, now)]

    def _queue(self) -> list[Check]:
        queue = self._names.queue
        url = queue
        if queue and not queue.startswith("https://") and not queue.startswith("http://"):
            url = self._deployment.queue_url(queue)
            if url is None:
                return [queue_check(queue, None, self._ledger_hint)]
        view = self._deployment.queue(url) if url else None
        return [queue_check(queue, view, self._ledger_hint)]

    def _service(self, view: ServiceView, result: PolicyResult) -> list[Check]:
        protocols = self._target_groups.protocols(view.target_group_arns)
        groups = {
            arn: (protocol, self._target_groups.deregistration_delay(arn))
            for arn, protocol in protocols.items()
        }
        sidecars = detect(
            self._ecs.container_definitions(view.task_definition),
            load_balanced=view.load_balanced_containers or None,
        )
        return service_checks(view, result, groups, self._prefix, sidecars)

    def _alarms(self) -> list[Check]:
        prefix = self._names.name_prefix
        alarms = self._deployment.alarms(prefix + "-") if prefix else []
        arns = {
            a for alarm in alarms for a in alarm.actions if a.startswith("arn:aws") and ":sns:" in a
        }
        if self._names.alarm_topic:
            arns.add(self._names.alarm_topic)
        topics = {arn: self._deployment.topic(arn) for arn in sorted(arns)}
        return alarm_checks(prefix, alarms, topics)

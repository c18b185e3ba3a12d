"""``status``: open drains per service, recent stops with their lateness, problems.

Built from the ledger's records (open ones until they close, closed ones until TTL) and
the services' tags read now. :func:`build_status` returns the JSON form; :func:`render`
prints it for people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from serverless.cli.explain import guard_of
from serverless.cli.model import task_id
from serverless.cli.render import duration, iso, seconds, table, when
from serverless.domain.accounts import scope_of
from serverless.domain.model import Outcome, RecordStatus, TaskRecord
from serverless.domain.tags import PolicyResult

__all__ = ["build_status", "render"]

ServiceKey = tuple[str, str]

_LEFT_TO_ECS = frozenset(
    {Outcome.STOPPED_BY_ECS, Outcome.NOT_DRAINING, Outcome.TASK_GONE, Outcome.OPTED_OUT}
)


def _cluster_name(cluster_arn: str) -> str:
    return cluster_arn.rsplit("/", 1)[-1]


def _where(cluster_arn: str) -> tuple[str | None, str | None]:
    """The cluster's account and region (None when its ARN names neither)."""
    try:
        scope = scope_of(cluster_arn)
    except ValueError:
        return None, None
    return scope.account, scope.region


def _open(record: TaskRecord, now: float) -> dict[str, Any]:
    deferred = None
    if record.deferrals and record.status is RecordStatus.DRAINING:
        deferred = {
            "guard": guard_of(record.defer_reason),
            "reason": record.defer_reason,
            "times": record.deferrals,
        }
    return {
        "task_arn": record.task_arn,
        "cause": record.cause,
        "status": record.status.value,
        "drain_started_at": iso(record.drain_started_at),
        "deadline": iso(record.deadline),
        "due_at": iso(record.due_at),
        "due_in_seconds": round(record.due_at - now, 1),
        "deferred": deferred,
        "stop_requested_at": iso(record.stop_requested_at),
        "steps": _steps(record),
        "next_step": str(record.next_step) if record.actions and record.next_step else None,
    }


def _steps(record: TaskRecord) -> list[str]:
    """The stop steps taken, ``action:outcome`` in order (stop-task, exec, ssm-signal)."""
    return [f"{step.action}:{step.outcome}" for step in record.actions]


def _stop(record: TaskRecord) -> dict[str, Any]:
    at = record.stop_requested_at
    return {
        "task_arn": record.task_arn,
        "cause": record.cause,
        "outcome": record.outcome.value if record.outcome else record.status.value,
        "drain_started_at": iso(record.drain_started_at),
        "stop_requested_at": iso(at),
        # After the deadline (drain start + wait); includes any guard deferral.
        "after_deadline_seconds": None if at is None else round(at - record.deadline, 1),
        "deferrals": record.deferrals,
        "confirmation_seconds": record.confirmation_seconds,
        "stopped_reason": record.stopped_reason,
        "steps": _steps(record),
        # The step that stopped the task (older records: StopTask was the only one).
        "stopped_by": str(record.stopped_by) if record.stopped_by else None,
    }


def _policy(result: PolicyResult | str | None) -> dict[str, Any]:
    if result is None:
        return {"error": "service not found"}
    if isinstance(result, str):
        return {"error": result}
    policy = result.policy
    return {
        "enabled": policy.enabled,
        "wait_seconds": policy.wait_seconds,
        "min_healthy_percent": policy.min_healthy_percent,
        "max_stops_per_minute": policy.max_stops_per_minute,
        "dry_run": policy.dry_run,
        "stop_action": str(policy.stop_action),
        "warnings": list(result.warnings),
    }


def build_status(
    records: Sequence[TaskRecord],
    now: float,
    since_seconds: float,
    policies: Mapping[ServiceKey, PolicyResult | str | None],
    table_name: str,
    services_without_records: Sequence[ServiceKey] = (),
) -> dict[str, Any]:
    """The status report (JSON-ready): per service, open drains first.

    ``services_without_records``: services asked about that exist but have no records.
    """
    since = now - since_seconds
    by_service: dict[ServiceKey, list[TaskRecord]] = defaultdict(list)
    for key in services_without_records:
        by_service[key] = []
    for record in records:
        by_service[(record.cluster_arn, record.service_name)].append(record)
    services: list[dict[str, Any]] = []
    for key in sorted(by_service, key=lambda k: (k[1], k[0])):
        group = by_service[key]
        open_records = sorted((r for r in group if r.is_open), key=lambda r: r.due_at)
        recent = [r for r in group if not r.is_open and (r.closed_at or 0) >= since]
        stopped = sorted(
            (
                r
                for r in recent
                if r.stop_requested_at is not None
                and r.outcome not in {Outcome.STOP_FAILED, Outcome.PREREQUISITE_MISSING}
            ),
            key=lambda r: r.stop_requested_at or 0,
        )
        overdue = [
            r for r in open_records if r.status is RecordStatus.STOP_REQUESTED and r.due_at < now
        ]
        account, region = _where(key[0])
        services.append(
            {
                "cluster_arn": key[0],
                "account": account,
                "region": region,
                "service": key[1],
                "policy": _policy(policies.get(key)),
                "open": [_open(r, now) for r in open_records],
                "recent_stops": [_stop(r) for r in stopped],
                "unconfirmed": [
                    _stop(r)
                    for r in [*(x for x in recent if x.outcome is Outcome.UNCONFIRMED), *overdue]
                ],
                "stop_failed": [_stop(r) for r in recent if r.outcome is Outcome.STOP_FAILED],
                "prerequisite_missing": [
                    _stop(r) for r in recent if r.outcome is Outcome.PREREQUISITE_MISSING
                ],
                "dry_run": len([r for r in recent if r.outcome is Outcome.DRY_RUN]),
                "left_to_ecs": len([r for r in recent if r.outcome in _LEFT_TO_ECS]),
                "records": len(group),
            }
        )
    totals = {
        "open": sum(len(s["open"]) for s in services),
        "deferred": sum(1 for s in services for o in s["open"] if o["deferred"]),
        "stopped": sum(len(s["recent_stops"]) for s in services),
        "unconfirmed": sum(len(s["unconfirmed"]) for s in services),
        "stop_failed": sum(len(s["stop_failed"]) for s in services),
        "prerequisite_missing": sum(len(s["prerequisite_missing"]) for s in services),
        "dry_run": sum(s["dry_run"] for s in services),
        "left_to_ecs": sum(s["left_to_ecs"] for s in services),
    }
    return {
        "table": table_name,
        "now": iso(now),
        "since_seconds": since_seconds,
        "totals": totals,
        "services": services,
    }


def _policy_line(policy: Mapping[str, Any]) -> str:
    if "error" in policy:
        return f"tags unreadable: {policy['error']}"
    if not policy["enabled"]:
        return "NOT opted in now (open records close as opted_out)"
    parts = [f"opted in, wait {policy['wait_seconds']} s"]
    if policy["min_healthy_percent"] is not None:
        parts.append(f"min-healthy {policy['min_healthy_percent']}%")
    if policy["max_stops_per_minute"] is not None:
        parts.append(f"max {policy['max_stops_per_minute']} stops/min")
    parts.append("DRY-RUN" if policy["dry_run"] else "dry-run off")
    parts.append(f"stop-action {policy['stop_action']}")
    line = ", ".join(parts)
    for warning in policy["warnings"]:
        line += f"\n    warning: {warning}"
    return line


def _epoch(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def render(report: Mapping[str, Any]) -> str:
    """The report for people."""
    totals = report["totals"]
    window = duration(report["since_seconds"])
    lines = [
        f"ledger {report['table']} at {when(_epoch(report['now']))}; recent = the last {window}",
        f"  {totals['open']} open drain(s) ({totals['deferred']} deferred); in the last "
        f"{window}: {totals['stopped']} stopped early, {totals['unconfirmed']} unconfirmed, "
        f"{totals['stop_failed']} failed, {totals['prerequisite_missing']} missing a "
        f"prerequisite, {totals['dry_run']} dry-run, "
        f"{totals['left_to_ecs']} left to ECS",
    ]
    if not report["services"]:
        lines.append("  no records: no opted-in service has drained recently")
    for service in report["services"]:
        lines.append("")
        lines.append(
            f"service {service['service']} (cluster {_cluster_name(service['cluster_arn'])}, "
            f"account {service['account'] or '-'}, region {service['region'] or '-'}): "
            + _policy_line(service["policy"])
        )
        if not service["records"]:
            lines.append(
                "  no records: none of its drains is in the ledger (closed records expire "
                "after RECORD_RETENTION_SECONDS, 7 days by default)"
            )
        if service["open"]:
            rows = []
            for item in service["open"]:
                deferred = item["deferred"]
                state = item["status"]
                if item["status"] == RecordStatus.STOP_REQUESTED.value:
                    state = "stop sent"
                elif item["next_step"]:
                    state = f"escalating to {item['next_step']}"
                rows.append(
                    [
                        task_id(item["task_arn"]),
                        item["cause"] or "-",
                        state,
                        when(_epoch(item["drain_started_at"])),
                        duration(item["due_in_seconds"]) if item["due_in_seconds"] > 0 else "now",
                        f"{deferred['guard']}: {deferred['reason']}" if deferred else "-",
                    ]
                )
            lines.append("  open drains")
            lines.append(
                table(
                    ["task", "cause", "state", "drain start", "due in", "deferred by"],
                    rows,
                    "    ",
                )
            )
        if service["recent_stops"]:
            rows = [
                [
                    task_id(item["task_arn"]),
                    item["cause"] or "-",
                    when(_epoch(item["stop_requested_at"])),
                    seconds(item["after_deadline_seconds"])
                    + (f" ({item['deferrals']} deferral(s))" if item["deferrals"] else ""),
                    seconds(item["confirmation_seconds"]),
                    item["outcome"],
                    item["stopped_by"] or "-",
                ]
                for item in service["recent_stops"]
            ]
            lines.append("  recent stops")
            lines.append(
                table(
                    [
                        "task",
                        "cause",
                        "stopped at",
                        "after deadline",
                        "stopping after",
                        "outcome",
                        "by",
                    ],
                    rows,
                    "    ",
                )
            )
        for key, title in (
            ("unconfirmed", "UNCONFIRMED stops"),
            ("stop_failed", "FAILED stops"),
            ("prerequisite_missing", "PREREQUISITE MISSING, left to ECS"),
        ):
            if service[key]:
                lines.append(f"  {title} (run: drain-terminator explain TASK)")
                lines.extend(
                    f"    {task_id(i['task_arn'])}  "
                    + (
                        "steps " + ", ".join(i["steps"])
                        if i["steps"]
                        else f"StopTask at {when(_epoch(i['stop_requested_at']))}"
                    )
                    for i in service[key]
                )
    return "\n".join(lines)

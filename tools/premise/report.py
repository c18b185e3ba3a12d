"""The one table the command prints, and which stop action it points to.

Pure: rows in, text out. A row is one ``verify`` measurement (its
:class:`~serverless.cli.verify.Verdict`) put in the table's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from serverless.cli.render import seconds, table
from serverless.cli.verify import NOT_SHORTENED, NOT_STOPPED_BY_TERMINATOR, SHORTENED, Verdict

__all__ = [
    "EFFECTIVE",
    "HEADERS",
    "IGNORED",
    "NOT_MEASURED",
    "NO_EFFECT",
    "REFUSED",
    "Row",
    "advice",
    "render",
    "row_from_verdict",
    "row_not_measured",
]

HEADERS = (
    "action",
    "service",
    "drain start",
    "first sign of stopping",
    "deregistration delay",
    "saved",
    "verdict",
)
EFFECTIVE = "effective"  # the action ended the drain early
IGNORED = "ignored"  # StopTask accepted, the task kept draining
NO_EFFECT = "no effect"  # a signal action sent, the task kept draining
REFUSED = "refused"  # a signal step failed (e.g. ECS refused Exec on a stopping task)
INCONCLUSIVE = "inconclusive"  # the terminator did not act on the drain
TIMEOUT = "timeout"
NOT_MEASURED = "not measured"  # verify refused, or the service never settled


@dataclass(frozen=True, slots=True)
class Row:
    """One measured (or unmeasured) stop action."""

    action: str
    service: str
    verdict: str
    drain_started_at: float | None = None
    stopping_at: float | None = None
    deregistration_delay: int | None = None
    saved_seconds: float | None = None
    detail: str = ""
    #: The stop steps the ledger recorded for the task, ``action:outcome`` in order.
    steps: tuple[str, ...] = ()

    def cells(self) -> tuple[str, ...]:
        """The row as the table's cells."""
        first = "-"
        if self.stopping_at is not None:
            first = _clock(self.stopping_at)
            if self.drain_started_at is not None:
                first += f" (+{seconds(self.stopping_at - self.drain_started_at)})"
        return (
            self.action,
            self.service,
            _clock(self.drain_started_at),
            first,
            seconds(self.deregistration_delay),
            seconds(self.saved_seconds),
            self.verdict,
        )


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%SZ")


#: ``ActionTaken.outcome`` values after which the signal may have reached the task.
_DELIVERED = frozenset({"STARTED", "SENT", "SIGNALLED", "UNCONFIRMED"})


def row_from_verdict(
    action: str,
    service: str,
    verdict: Verdict,
    steps: tuple[str, ...] = (),
    stopped_by: str | None = None,
) -> Row:
    """verify's measurement in the table's words (saved: the delay minus the drain).

    ``steps`` (``action:outcome``) and ``stopped_by`` come from the task's ledger record:
    a step that was not delivered makes "no effect" "refused", and a plan of several steps
    names the one that stopped the task.
    """
    refused = any(step.partition(":")[2] not in _DELIVERED for step in steps)
    if verdict.kind == SHORTENED:
        word = EFFECTIVE
        if action == "stop-task-then-exec" and stopped_by:
            word = f"{EFFECTIVE} ({stopped_by})"
    elif verdict.kind == NOT_SHORTENED:
        word = IGNORED if action == "stop-task" else REFUSED if refused else NO_EFFECT
    elif verdict.kind == NOT_STOPPED_BY_TERMINATOR:
        word = INCONCLUSIVE
    else:
        word = TIMEOUT
    saved = None
    if (
        word.startswith(EFFECTIVE)
        and verdict.deregistration_delay is not None
        and verdict.measured_seconds is not None
    ):
        saved = verdict.deregistration_delay - verdict.measured_seconds
    elif word in {IGNORED, NO_EFFECT, REFUSED}:
        saved = 0.0
    return Row(
        action=action,
        service=service,
        verdict=word,
        drain_started_at=verdict.drain_started_at,
        stopping_at=verdict.stopping_at,
        deregistration_delay=verdict.deregistration_delay,
        saved_seconds=saved,
        detail=verdict.text + (f" Steps: {', '.join(steps)}." if steps else ""),
        steps=steps,
    )


def row_not_measured(action: str, service: str, why: str) -> Row:
    """A stop action the command could not measure, and why."""
    return Row(action=action, service=service, verdict=NOT_MEASURED, detail=why)


def render(rows: Sequence[Row]) -> str:
    """The table, then each row's verify verdict in full."""
    lines = [table(HEADERS, [row.cells() for row in rows], indent="")]
    lines.append("")
    lines.extend(f"{row.action}: {row.detail}" for row in rows if row.detail)
    return "\n".join(lines)


def advice(rows: Sequence[Row]) -> str:
    """Which stop action the measurements point to (README, "Stop actions")."""
    verdicts = {row.action: row.verdict.split(" (")[0] for row in rows}
    stop_task = verdicts.get("stop-task")
    if stop_task == EFFECTIVE:
        return (
            "choose stop-task: StopTask ends a drain already in progress here; nothing "
            "else is needed (module defaults)."
        )
    if stop_task != IGNORED:
        return (
            "no conclusion: StopTask's effect was not measured ("
            f"{stop_task or 'not run'}); read the details above and run it again."
        )
    if EFFECTIVE in (verdicts.get("stop-task-then-exec"), verdicts.get("exec")):
        return (
            "choose stop-task-then-exec (or exec, to skip the StopTask): StopTask is "
            "ignored on a draining task, ECS Exec's signal ends it (module exec_enabled; "
            "the services need enableExecuteCommand and the task role's ssmmessages "
            "permissions)."
        )
    if verdicts.get("ssm-signal") == EFFECTIVE:
        return (
            "choose ssm-signal on EC2 (or stop-task-then-exec with ssm-fallback=true): "
            "StopTask is ignored and Exec does not end a stopping task; on Fargate the "
            "drains are left to ECS."
        )
    return (
        "no action ended a drain early: drains are left to ECS whatever the action; keep "
        "stop-task for its StopsUnconfirmed signal, or opt the services out."
    )

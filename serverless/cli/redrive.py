"""``redrive``: replay the dead-letter queue's events through the task-events logic.

Each message's body is the event EventBridge could not deliver, or the one Lambda gave up
on after its retries. A task-state event goes through the same code as the task-events
function (:meth:`serverless.app.App.handle_task_event`, built by the composition root),
which is idempotent: a drain already recorded stays as it is, an old drain takes its
deadline from the event's own time (the sweeper then closes it as ``task_gone`` or
``stopped_by_ecs`` if the task is no longer draining). A message is deleted only after
its event was applied; a sweeper tick (the schedule's, or an early start) needs no
replay, so it is deleted as applied. A malformed event, a body that is not an event, or
an event whose replay failed stays in the queue, visible again at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from serverless.cli.aws.deployment import DeploymentReader, QueueMessage, message_event
from serverless.domain.early_start import EARLY_START_SOURCE
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.events import DETAIL_TYPE, SOURCE

__all__ = [
    "APPLIED",
    "FAILED",
    "REJECTED",
    "TICK",
    "UNREADABLE",
    "MessageOutcome",
    "RedriveReport",
    "Redriver",
    "kind_of",
]

APPLIED = "applied"  # a task event, applied to the ledger; deleted
TICK = "tick"  # a sweeper trigger: nothing to replay; deleted
REJECTED = "rejected"  # a task event the functions would reject too; kept
UNREADABLE = "unreadable"  # not JSON, or not an event this tool handles; kept
FAILED = "failed"  # applying it raised (AWS refused, ...); kept
_DELETED = frozenset({APPLIED, TICK})

#: How long a received message stays hidden from other receivers while this run works.
VISIBILITY_SECONDS = 300

_TASK = "task"


def kind_of(event: Mapping[str, Any] | None) -> str:
    """``task`` for an ECS task-state event, ``tick`` for a sweeper trigger, else unreadable."""
    if event is None:
        return UNREADABLE
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == SOURCE and detail_type == DETAIL_TYPE:
        return _TASK
    if (source == "aws.events" and detail_type == "Scheduled Event") or (
        source == EARLY_START_SOURCE
    ):
        return TICK
    return UNREADABLE


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """What became of one message."""

    message_id: str
    outcome: str
    detail: str
    task_arn: str | None = None
    action: str | None = None

    @property
    def deleted(self) -> bool:
        """Whether the message left the queue."""
        return self.outcome in _DELETED


@dataclass(slots=True)
class RedriveReport:
    """Every message seen, in the order received."""

    queue_url: str
    messages: list[MessageOutcome] = field(default_factory=list)

    @property
    def left(self) -> int:
        """Messages kept in the queue."""
        return sum(1 for m in self.messages if not m.deleted)

    def counts(self) -> dict[str, int]:
        """Messages per outcome."""
        found = {APPLIED: 0, TICK: 0, REJECTED: 0, UNREADABLE: 0, FAILED: 0}
        for message in self.messages:
            found[message.outcome] += 1
        return found

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "queue_url": self.queue_url,
            "messages": [{**asdict(m), "deleted": m.deleted} for m in self.messages],
            "counts": self.counts(),
            "left_in_queue": self.left,
        }

    def render(self) -> str:
        """Text form: a line per message and a summary."""
        lines = [f"dead-letter queue {self.queue_url}: {len(self.messages)} message(s)"]
        for message in self.messages:
            where = f"  {message.task_arn}" if message.task_arn else ""
            state = "deleted" if message.deleted else "KEPT"
            lines.append(
                f"  {message.message_id}  {message.outcome:<10} {state:<7}{where}  {message.detail}"
            )
        counts = self.counts()
        lines.append(
            f"{counts[APPLIED]} replayed, {counts[TICK]} sweeper tick(s) dropped (the schedule "
            f"replaces them), {self.left} left in the queue"
        )
        return "\n".join(lines)


class Redriver:
    """Receives every message once, applies it, deletes it only once applied."""

    def __init__(
        self,
        queue: DeploymentReader,
        queue_url: str,
        handle_task_event: Callable[[object], Mapping[str, str]],
        *,
        visibility_seconds: int = VISIBILITY_SECONDS,
    ) -> None:
        self._queue = queue
        self._url = queue_url
        self._handle = handle_task_event
        self._visibility = visibility_seconds

    def run(self) -> RedriveReport:
        """Drain the queue of what can be applied; keep (and show again) the rest."""
        report = RedriveReport(self._url)
        seen: set[str] = set()
        kept: list[QueueMessage] = []
        try:
            while True:
                fresh = [
                    m
                    for m in self._queue.receive(self._url, self._visibility)
                    if m.message_id not in seen
                ]
                if not fresh:
                    break
                for message in fresh:
                    seen.add(message.message_id)
                    outcome = self._apply(message)
                    if outcome.deleted:
                        self._queue.delete(self._url, message)
                    else:
                        kept.append(message)
                    report.messages.append(outcome)
        finally:
            self._queue.release(self._url, kept)
        return report

    def _apply(self, message: QueueMessage) -> MessageOutcome:
        event = message_event(message)
        kind = kind_of(event)
        identifier = message.message_id
        if kind == TICK:
            return MessageOutcome(identifier, TICK, "sweeper trigger: nothing to replay")
        if kind == UNREADABLE or event is None:
            why = message.attributes.get("ERROR_MESSAGE") or message.attributes.get("ErrorMessage")
            detail = "not an ECS task state change or sweeper event"
            return MessageOutcome(identifier, UNREADABLE, detail + (f" ({why})" if why else ""))
        detail_part = event.get("detail")
        task_arn = detail_part.get("taskArn") if isinstance(detail_part, Mapping) else None
        try:
            result = self._handle(event)
        except DrainTerminatorError as error:
            return MessageOutcome(identifier, FAILED, str(error), task_arn)
        action = result.get("action", "")
        if action == "rejected":
            return MessageOutcome(identifier, REJECTED, result.get("reason", ""), task_arn, action)
        return MessageOutcome(
            identifier,
            APPLIED,
            result.get("reason", ""),
            result.get("task_arn") or task_arn,
            action,
        )

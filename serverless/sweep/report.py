"""What one sweeper run did: the value the sweeper handler returns and tests assert."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["SweepReport"]


@dataclass(slots=True)
class SweepReport:
    """What one sweeper run did (returned by the handler, asserted by tests); thread-safe."""

    stopped: list[str] = field(default_factory=list)
    #: Tasks that got a further stop step because they still drained after the last one.
    escalated: list[str] = field(default_factory=list)
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
                "escalated": list(self.escalated),
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

"""Time as a port: the domain never reads the system clock directly.

Production uses :class:`SystemClock`; the simulator injects a virtual clock through
:func:`serverless.app.install`, so a ten-minute deployment runs in seconds without any
test-only branch in the code that decides when to stop a task.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "SystemClock", "from_epoch", "to_epoch"]


class Clock(Protocol):
    """What the domain needs of time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (a virtual clock advances the simulation instead)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of real time (no-op when not positive)."""
        if seconds > 0:
            time.sleep(seconds)


def to_epoch(moment: datetime) -> float:
    """Seconds since the Unix epoch of an aware datetime."""
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    """The aware UTC datetime of ``seconds`` since the Unix epoch."""
    return datetime.fromtimestamp(seconds, tz=UTC)

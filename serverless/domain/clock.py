"""Time as a port: the domain never reads the system clock directly.

Time is epoch seconds (a float) everywhere in the domain. Production uses
:class:`SystemClock`; the simulator passes a virtual clock to
:func:`serverless.app.bootstrap`, so a ten-minute deployment runs in seconds without any
test-only branch in the code that decides when to stop a task.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """What the domain needs of time."""

    def now(self) -> float:
        """The current time in seconds since the Unix epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (a virtual clock advances the simulation instead)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Seconds since the Unix epoch, now."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of real time (no-op when not positive)."""
        if seconds > 0:
            time.sleep(seconds)

"""Adapter tests with real botocore clients: no retry back-off or rate-limiter wait on the
real clock."""

from __future__ import annotations

from typing import Any

import botocore.endpoint
import botocore.retries.bucket
import pytest


class _NoSleep:
    """``time`` for botocore's endpoint: its retry back-off does not sleep."""

    @staticmethod
    def sleep(_: float) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


class _MinutePerReading:
    """A clock for botocore's adaptive rate limiter on which a minute passes every time it
    is read: its token bucket is full again at every attempt, so no attempt waits on a
    condition in real time (on a loaded machine such a wait once passed the 2 s cap)."""

    def __init__(self) -> None:
        self._now = 0.0

    def sleep(self, amount: float) -> None:
        self._now += amount

    def current_time(self) -> float:
        self._now += 60.0
        return self._now


@pytest.fixture(autouse=True)
def no_real_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry back-off and adaptive limiter wait on the real clock: not here."""
    monkeypatch.setattr(botocore.endpoint, "time", _NoSleep())
    monkeypatch.setattr(botocore.retries.bucket, "Clock", _MinutePerReading)

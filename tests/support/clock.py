"""A manual clock for tests: ``sleep`` advances time and runs callbacks that are due."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime

#: 2026-11-22T10:00:00Z, where every test clock starts unless told otherwise.
DEFAULT_START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC).timestamp()


class ManualClock:
    """Implements serverless.domain.clock.Clock; time moves only when someone sleeps or advances."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = start
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def at(self, moment: float, action: Callable[[], None]) -> None:
        """Run ``action`` when the clock reaches ``moment`` (epoch seconds)."""
        heapq.heappush(self._timers, (moment, next(self._seq), action))

    def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            moment, _, action = heapq.heappop(self._timers)
            self._now = max(self._now, moment)
            action()
        self._now = target

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self.advance(seconds)


class FakeContext:
    """The parts of a Lambda context that Powertools and the sweeper read."""

    function_name = "drain-terminator-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:drain-terminator-test"
    log_group_name = "/aws/lambda/drain-terminator-test"
    log_stream_name = "test"

    def __init__(self, clock: ManualClock, timeout_seconds: float = 180.0, request_id: str = "r1"):
        self._clock = clock
        self._deadline = clock.now() + timeout_seconds
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.now()) * 1000))

"""Client-side pacing to the account's API rate limits, shared by concurrent invocations.

ECS and Elastic Load Balancing limit calls per account and region with token buckets
(StopTask 100 burst / 40 per s; DescribeTasks and DescribeServices 100 / 20; ELB
Describe* 40 / 10). The sweeper paces itself to them so throttling stays rare instead of
being the flow control: a :class:`Pacer` takes tokens in blocks from one small ledger item
per bucket (``rate#<bucket>``, a GCRA "theoretical arrival time"), which every invocation
shares, and hands them out locally.

The bounds of one call's duration live here too: the client configurations in
:mod:`serverless.adapters.errors` guarantee them (a unit test checks it), and the sweeper
derives its safety margins from them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from serverless.clock import Clock
from serverless.ports import LedgerPort

__all__ = [
    "DESCRIBE_SERVICES",
    "DESCRIBE_TASKS",
    "ECS_CALL_MAX_SECONDS",
    "ELB_DESCRIBE",
    "LEDGER_CALL_MAX_SECONDS",
    "STOP_TASK",
    "Bucket",
    "Pacer",
]

#: The longest one ECS or ELB call can take, retries included (connect + read time-outs).
ECS_CALL_MAX_SECONDS = 15.0
#: The longest one DynamoDB call can take, retries included.
LEDGER_CALL_MAX_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Bucket:
    """One account-wide API token bucket, and how many tokens to take from the ledger at once."""

    name: str
    rate: float  # tokens per second
    burst: int  # bucket size
    block: int  # tokens taken per ledger write


#: Tokens not spent this long after they became usable are dropped: spending them later
#: could add to a burst the shared bucket no longer accounts for.
BLOCK_MAX_AGE_SECONDS = 1.0

STOP_TASK = Bucket("ecs:StopTask", 40.0, 100, 10)
DESCRIBE_TASKS = Bucket("ecs:DescribeTasks", 20.0, 100, 4)
DESCRIBE_SERVICES = Bucket("ecs:DescribeServices", 20.0, 100, 4)
ELB_DESCRIBE = Bucket("elb:Describe", 10.0, 40, 4)


@dataclass(slots=True)
class _Block:
    usable_at: float
    left: int


class Pacer:
    """Hands out tokens taken in blocks from the shared buckets (one per sweeper run, one
    per warm container for the task-events function).

    Safe to use from the run's workers: the lock is never held across a ledger call or a
    sleep (the simulator's workers must only block on the clock and on AWS calls).
    """

    def __init__(self, ledger: LedgerPort, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock
        self._lock = threading.Lock()
        self._blocks: dict[str, deque[_Block]] = {}
        #: Ledger writes made to take tokens (for the run's report).
        self.takes = 0

    def _take_local(self, bucket: Bucket, wanted: int) -> tuple[int, float]:
        """Up to ``wanted`` tokens from the local blocks: (how many, usable from when)."""
        got = 0
        usable_at = float("-inf")
        stale = self._clock.now() - BLOCK_MAX_AGE_SECONDS
        with self._lock:
            blocks = self._blocks.setdefault(bucket.name, deque())
            while blocks and blocks[0].usable_at < stale:
                blocks.popleft()
            while blocks and got < wanted:
                block = blocks[0]
                used = min(block.left, wanted - got)
                block.left -= used
                got += used
                usable_at = max(usable_at, block.usable_at)
                if block.left == 0:
                    blocks.popleft()
        return got, usable_at

    def acquire(self, bucket: Bucket, count: int = 1) -> None:
        """Wait until ``count`` calls of ``bucket`` may be made (raises if the ledger fails)."""
        if count <= 0:
            return
        count = min(count, bucket.burst)
        got, usable_at = self._take_local(bucket, count)
        while got < count:
            size = min(max(bucket.block, count - got), bucket.burst)
            at = self._ledger.take_tokens(
                bucket.name, size, bucket.rate, bucket.burst, self._clock.now()
            )
            with self._lock:
                self.takes += 1
                self._blocks.setdefault(bucket.name, deque()).append(_Block(at, size))
            more, more_at = self._take_local(bucket, count - got)
            got += more
            usable_at = max(usable_at, more_at)
        wait = usable_at - self._clock.now()
        if wait > 0:
            self._clock.sleep(wait)

"""Client-side pacing to the accounts' API rate limits, shared by concurrent invocations.

ECS and Elastic Load Balancing limit calls per account and region with token buckets
(StopTask 100 burst / 40 per s; DescribeTasks and DescribeServices 100 / 20; ELB
Describe* 40 / 10). The sweeper paces itself to them so throttling stays rare instead of
being the flow control: a :class:`Pacer` takes tokens in blocks from one small ledger item
per bucket, account and region (``rate#<bucket>#<account>#<region>``, a GCRA "theoretical
arrival time"), which every invocation shares, and hands them out locally. Each call is
paced against the bucket of the account and region of the resource it names (its ARN):
a hub's member accounts each have their own buckets, so one account's burst never
delays another's calls.

The bounds of one call's duration live here too: the client configurations in
:mod:`serverless.adapters.errors` guarantee them (a unit test checks it), and the sweeper
derives its safety margins from them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from serverless.domain.accounts import scope_of
from serverless.domain.clock import Clock
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import StopAction
from serverless.ports import LedgerPort
from serverless.settings import Settings

__all__ = [
    "BACKSTOP_ECS_READS",
    "BACKSTOP_SERVICES",
    "BACKSTOP_SHARE",
    "BACKSTOP_TAGGING",
    "DESCRIBE_SERVICES",
    "DESCRIBE_SERVICES_SINGLY",
    "DESCRIBE_TASKS",
    "ECS_CALL_MAX_SECONDS",
    "ELB_DESCRIBE",
    "LEDGER_CALL_MAX_SECONDS",
    "STOP_TASK",
    "Bucket",
    "Pacer",
    "bucket_key",
    "signal_buckets",
]

#: The longest one ECS or ELB call can take, retries included (connect + read time-outs).
ECS_CALL_MAX_SECONDS = 15.0
#: The longest one DynamoDB call can take, retries included.
LEDGER_CALL_MAX_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Bucket:
    """One API token bucket (one per account and region), and how many tokens to take from
    the ledger at once."""

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
#: The same DescribeServices bucket, one token per ledger write: for the task-events
#: function, whose containers each make a call now and then, so that a burst of cold
#: containers does not take blocks whose unspent tokens are lost to every other caller.
DESCRIBE_SERVICES_SINGLY = Bucket(DESCRIBE_SERVICES.name, 20.0, 100, 1)


def signal_buckets(settings: Settings) -> dict[StopAction, Bucket]:
    """The buckets of the signal steps' first calls, ExecuteCommand and SendCommand: AWS
    publishes no limit for them, so their rates are settings (assumed defaults, see
    :class:`~serverless.settings.Settings`), checked by the ``SignalCallsThrottled``
    metric; botocore's adaptive mode slows the client below them when AWS throttles."""

    def bucket(name: str, per_second: int) -> Bucket:
        return Bucket(name, float(per_second), per_second, min(4, per_second))

    return {
        StopAction.EXEC: bucket("ecs:ExecuteCommand", settings.exec_calls_per_second),
        StopAction.SSM_SIGNAL: bucket("ssm:SendCommand", settings.ssm_commands_per_second),
    }


#: The share of each account bucket the backstop (lost drain events) may use at most.
#: It takes a token of its own bucket (the share) and one of the account's bucket (shared
#: with the sweeper, so their sum stays within the account's rate) for every call.
BACKSTOP_SHARE = 0.10
#: ListTasks and DescribeTasks share ECS's bucket (100 / 20 per s): 10 % is 2 calls a second.
BACKSTOP_ECS_READS = Bucket("backstop:ecs:ListTasks+DescribeTasks", 2.0, 10, 2)
#: DescribeServices (100 / 20 per s), for the policy of a service with a lost drain.
BACKSTOP_SERVICES = Bucket("backstop:ecs:DescribeServices", 2.0, 10, 1)
#: Resource Groups Tagging API GetResources (15 per s), nobody else's in this tool.
BACKSTOP_TAGGING = Bucket("backstop:tag:GetResources", 1.5, 2, 1)


def bucket_key(bucket: Bucket, arn: str) -> str:
    """The shared bucket ``bucket`` of the account and region of ``arn``
    (``<bucket>#<account>#<region>``; just ``<bucket>`` when ``arn`` is empty or names
    neither)."""
    try:
        scope = scope_of(arn)
    except ValueError:
        return bucket.name
    return f"{bucket.name}#{scope.key}"


#: How often a worker looks whether a block another worker is fetching has arrived.
FETCH_POLL_SECONDS = 0.005


@dataclass(slots=True)
class _Block:
    #: When its tokens may be spent; None while the ledger write that takes it is in flight.
    usable_at: float | None
    left: int
    failed: DrainTerminatorError | None = None


class Pacer:
    """Hands out tokens taken in blocks from the shared buckets (one per sweeper run, one
    per warm container for the task-events function).

    Safe to use from the run's workers: the lock is never held across a ledger call or a
    sleep (the simulator's workers must only block on the clock and on AWS calls). Workers
    that need tokens at the same moment share the block one of them is fetching instead of
    each fetching its own, whose unspent tokens would be lost to the shared bucket.
    """

    def __init__(self, ledger: LedgerPort, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock
        self._lock = threading.Lock()
        self._blocks: dict[str, deque[_Block]] = {}
        #: Ledger writes made to take tokens (for the run's report).
        self.takes = 0

    def _take_local(self, bucket: Bucket, key: str, wanted: int) -> tuple[int, list[_Block]]:
        """Up to ``wanted`` tokens from the local blocks, in flight or not: (how many, from
        which blocks); a new in-flight block for the rest is the caller's to fetch."""
        got = 0
        taken: list[_Block] = []
        stale = self._clock.now() - BLOCK_MAX_AGE_SECONDS
        with self._lock:
            blocks = self._blocks.setdefault(key, deque())
            while blocks and blocks[0].usable_at is not None and blocks[0].usable_at < stale:
                blocks.popleft()
            for block in blocks:
                if got == wanted:
                    break
                used = min(block.left, wanted - got)
                if used:
                    block.left -= used
                    got += used
                    taken.append(block)
            while blocks and blocks[0].left == 0 and blocks[0].usable_at is not None:
                blocks.popleft()
        return got, taken

    def acquire(self, bucket: Bucket, count: int = 1, *, arn: str = "") -> None:
        """Wait until ``count`` calls of ``bucket`` may be made on the resource ``arn`` names
        (paced against its account's and region's bucket; raises if the ledger fails)."""
        if count <= 0:
            return
        count = min(count, bucket.burst)
        key = bucket_key(bucket, arn)
        got, taken = self._take_local(bucket, key, count)
        if got < count:
            size = min(max(bucket.block, count - got), bucket.burst)
            block = _Block(None, size - (count - got))
            with self._lock:
                self._blocks.setdefault(key, deque()).append(block)
                self.takes += 1
            self._fetch(bucket, key, block, size)
            taken.append(block)
        usable_at = max(self._arrived(block) for block in taken)
        wait = usable_at - self._clock.now()
        if wait > 0:
            self._clock.sleep(wait)

    def _fetch(self, bucket: Bucket, key: str, block: _Block, size: int) -> None:
        try:
            at = self._ledger.take_tokens(key, size, bucket.rate, bucket.burst, self._clock.now())
        except DrainTerminatorError as error:
            with self._lock:
                block.failed = error
                self._blocks[key].remove(block)
            raise
        with self._lock:
            block.usable_at = at

    def _arrived(self, block: _Block) -> float:
        """When ``block``'s tokens may be spent, once its fetch has landed."""
        while True:
            with self._lock:
                if block.failed is not None:
                    raise block.failed
                if block.usable_at is not None:
                    return block.usable_at
            self._clock.sleep(FETCH_POLL_SECONDS)

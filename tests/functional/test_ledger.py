"""The DynamoDB ledger adapter on moto's DynamoDB (table built from the Terraform HCL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest

from serverless.adapters.concurrency import ThreadConcurrency
from serverless.adapters.dynamodb_ledger import (
    DUE_INDEX_SHARDS,
    DUE_READ_WORKERS,
    LEGACY_SWEEP_KEY,
    SCHEMA_VERSION,
    SINGLE_ACCOUNT_SHARDS,
    DynamoLedger,
    sweep_key,
    to_item,
)
from serverless.domain.model import DueEntry, RecordStatus, ServiceInfo, TaskRecord
from tests.support.fakes import CLUSTER_ARN, task_arn
from tests.support.world import TABLE, World

T0 = 1_795_341_600.0
T = TypeVar("T")
R = TypeVar("R")


class RecordingThreads(ThreadConcurrency):
    """Threads that remember what each ``map`` was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[object], int]] = []

    def map(self, fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
        self.calls.append((list(items), limit))
        return super().map(fn, items, limit)


@pytest.fixture
def ledger(world: World) -> DynamoLedger:
    return DynamoLedger(TABLE, world.dynamodb)


def record(suffix: int, due_at: float, **changes: object) -> TaskRecord:
    base = TaskRecord(
        task_arn=task_arn(suffix),
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        status=RecordStatus.DRAINING,
        version=4,
        drain_started_at=due_at - 120,
        wait_seconds=120,
        due_at=due_at,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_given_open_records_in_every_shard_when_due_read_then_all_found_in_order(
    ledger: DynamoLedger,
) -> None:
    for n in range(1, 41):
        ledger.put(record(n, T0 + n), expected_rev=None)
    ledger.put(record(99, T0 + 5, status=RecordStatus.CLOSED), expected_rev=None)

    due = ledger.due(until=T0 + 30)

    assert [e.task_arn for e in due] == [task_arn(n) for n in range(1, 31)]
    assert due[0] == DueEntry(task_arn(1), T0 + 1, RecordStatus.DRAINING, None)


def test_given_threads_when_due_read_then_the_partitions_are_queried_several_at_once(
    ledger: DynamoLedger, world: World
) -> None:
    threads = RecordingThreads()
    parallel = DynamoLedger(TABLE, world.dynamodb, threads)
    for n in range(1, 41):
        ledger.put(record(n, T0 + n), expected_rev=None)

    due = parallel.due(until=T0 + 30, every_partition=True)

    assert due == ledger.due(until=T0 + 30)
    ((partitions, limit),) = threads.calls
    assert len(partitions) == DUE_INDEX_SHARDS + 1
    assert 1 < limit == DUE_READ_WORKERS <= 10  # botocore's connection pool per client
    assert set(partitions) == {f"open#{n}" for n in range(DUE_INDEX_SHARDS)} | {LEGACY_SWEEP_KEY}


def test_given_six_shards_when_a_later_poll_reads_then_only_the_partitions_written_are_queried(
    world: World,
) -> None:
    threads = RecordingThreads()
    single = DynamoLedger(TABLE, world.dynamodb, threads, shards=SINGLE_ACCOUNT_SHARDS)
    for n in range(1, 41):
        single.put(record(n, T0 + n), expected_rev=None)

    later = single.due(until=T0 + 30)
    first = single.due(until=T0 + 30, every_partition=True)

    assert [e.task_arn for e in later] == [task_arn(n) for n in range(1, 31)]
    assert later == first
    (later_keys, _), (first_keys, _) = threads.calls
    assert set(later_keys) == {f"open#{n}" for n in range(SINGLE_ACCOUNT_SHARDS)}
    assert set(first_keys) == {f"open#{n}" for n in range(DUE_INDEX_SHARDS)} | {LEGACY_SWEEP_KEY}


def test_given_a_hubs_record_when_one_account_reads_then_its_first_read_finds_it_and_moves_it(
    world: World,
) -> None:
    hub = DynamoLedger(TABLE, world.dynamodb, shards=DUE_INDEX_SHARDS)
    single = DynamoLedger(TABLE, world.dynamodb, shards=SINGLE_ACCOUNT_SHARDS)
    # A task whose twelve-shard key lies beyond the six a single account reads later on.
    n = next(n for n in range(1, 200) if int(sweep_key(task_arn(n)).split("#")[1]) >= 6)
    written = hub.put(record(n, T0), expected_rev=None)

    assert single.due(until=T0) == []  # a later poll does not look there
    assert [e.task_arn for e in single.due(until=T0, every_partition=True)] == [task_arn(n)]

    # Found there: the later polls look there too, until a read finds nothing there.
    assert [e.task_arn for e in single.due(until=T0)] == [task_arn(n)]

    single.put(dataclasses.replace(written, deferrals=1), expected_rev=written.rev)

    stored = world.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": task_arn(n)}})["Item"]
    assert stored["sweep_key"]["S"] == sweep_key(task_arn(n), SINGLE_ACCOUNT_SHARDS)
    assert [e.task_arn for e in single.due(until=T0)] == [task_arn(n)]


def test_given_a_shard_count_outside_the_layout_when_made_then_refused(world: World) -> None:
    for shards in (0, DUE_INDEX_SHARDS + 1):
        with pytest.raises(ValueError, match="shards must be 1 to 12"):
            DynamoLedger(TABLE, world.dynamodb, shards=shards)


def test_given_idle_and_busy_ledger_when_open_checked_then_one_scan_answers(
    ledger: DynamoLedger,
) -> None:
    assert ledger.has_open() is False
    ledger.put(record(1, T0 + 500, status=RecordStatus.CLOSED), expected_rev=None)
    assert ledger.has_open() is False  # closed records leave the index
    ledger.put(record(2, T0 + 999), expected_rev=None)
    assert ledger.has_open() is True


def test_given_claims_when_due_leased_or_closed_then_only_the_due_free_one_is_claimed(
    ledger: DynamoLedger,
) -> None:
    written = ledger.put(record(1, T0), expected_rev=None)
    ledger.put(record(2, T0 + 60), expected_rev=None)
    ledger.put(record(3, T0, status=RecordStatus.CLOSED), expected_rev=None)

    claimed = ledger.claim(task_arn(1), "run-1", T0, T0 + 30)

    assert claimed == dataclasses.replace(
        written, rev=written.rev + 1, lease_owner="run-1", lease_until=T0 + 30
    )
    assert ledger.claim(task_arn(1), "run-2", T0 + 29, T0 + 59) is None  # leased
    assert ledger.claim(task_arn(2), "run-1", T0, T0 + 30) is None  # not due
    assert ledger.claim(task_arn(3), "run-1", T0, T0 + 30) is None  # closed
    assert ledger.claim(task_arn(4), "run-1", T0, T0 + 30) is None  # never existed
    taken_over = ledger.claim(task_arn(1), "run-2", T0 + 30, T0 + 60)
    assert taken_over is not None
    assert taken_over.lease_owner == "run-2"
    assert ledger.due(until=T0)[0].lease_until == T0 + 60


def test_given_token_takes_when_bucket_used_then_gcra_times_shared_through_the_table(
    ledger: DynamoLedger, world: World
) -> None:
    # 40 per second, burst 100: the first 100 at once, then 10 every quarter second.
    times = [ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0) for _ in range(12)]
    assert times[:10] == [T0] * 10
    assert times[10:] == [pytest.approx(T0 + 0.25), pytest.approx(T0 + 0.5)]
    # Idle for a while: the bucket is full again.
    assert ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0 + 60) == T0 + 60
    item = world.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "rate#ecs:StopTask"}})
    assert "sweep_key" not in item["Item"]  # never in the due index


def test_given_a_bucket_idle_or_in_use_when_tokens_are_taken_then_each_take_is_one_write(
    ledger: DynamoLedger, world: World
) -> None:
    writes: list[str] = []
    world.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem",
        lambda params, **_: writes.append(params["UpdateExpression"]),
    )
    # Idle between takes (the usual state between drains): each take starts from now.
    for n in range(3):
        assert ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0 + 60 * n) == T0 + 60 * n
    assert writes == ["SET tat = :tat, expires_at = :expires"] * 3
    # In use: the takes queue behind each other.
    writes.clear()
    for _ in range(3):
        ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0 + 120)
    assert writes == ["SET tat = tat + :step, expires_at = :expires"] * 3


def test_given_a_bucket_another_invocation_moved_when_taken_then_the_other_write_follows(
    ledger: DynamoLedger, world: World
) -> None:
    other = DynamoLedger(TABLE, world.dynamodb)
    assert ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0) == T0  # idle: tat = T0 + 0.25
    # Another invocation fills the bucket meanwhile; this ledger still believes it idle later.
    times = [other.take_tokens("ecs:StopTask", 10, 40.0, 100, T0 + 1) for _ in range(12)]
    assert times[-1] == pytest.approx(T0 + 1.5)

    # Its idle write fails (tat is ahead of now), the queued one is granted behind the others.
    assert ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0 + 1) == pytest.approx(T0 + 1.75)
    # ...and later takes queue first while the bucket stays in use.
    assert ledger.take_tokens("ecs:StopTask", 10, 40.0, 100, T0 + 1) == pytest.approx(T0 + 2.0)


def test_given_service_when_shared_then_read_back_whole_and_absence_remembered(
    ledger: DynamoLedger,
) -> None:
    info = ServiceInfo(CLUSTER_ARN, "web", {"drain-terminator:enabled": "true"}, 3, ("tg-a",))
    assert ledger.get_service(CLUSTER_ARN, "web") is None
    ledger.put_service(CLUSTER_ARN, "web", info, T0)
    ledger.put_service(CLUSTER_ARN, "ghost", None, T0 + 1)
    assert ledger.get_service(CLUSTER_ARN, "web") == (info, T0)
    assert ledger.get_service(CLUSTER_ARN, "ghost") == (None, T0 + 1)


def test_given_a_service_lookup_claimed_when_claimed_again_then_refused_until_it_ends_or_is_stored(
    ledger: DynamoLedger,
) -> None:
    info = ServiceInfo(CLUSTER_ARN, "web", {"drain-terminator:enabled": "true"}, 3, ())
    assert ledger.claim_service_lookup(CLUSTER_ARN, "web", T0, T0 + 5)
    assert ledger.get_service(CLUSTER_ARN, "web") is None  # claimed, nothing stored yet
    assert not ledger.claim_service_lookup(CLUSTER_ARN, "web", T0 + 1, T0 + 6)
    assert ledger.claim_service_lookup(CLUSTER_ARN, "web", T0 + 5, T0 + 10)  # it ended
    ledger.put_service(CLUSTER_ARN, "web", info, T0 + 6)
    assert ledger.get_service(CLUSTER_ARN, "web") == (info, T0 + 6)
    assert ledger.claim_service_lookup(CLUSTER_ARN, "web", T0 + 7, T0 + 12)  # stored: free


def test_given_records_written_in_legacy_layouts_when_swept_then_found_claimed_and_moved(
    ledger: DynamoLedger, world: World
) -> None:
    # As the code before the shard change wrote them ("open"), and under 4 shards
    # (task 5: "open#3", where 6 shards would not put it), without a schema version.
    legacy = {
        task_arn(1): "open",
        task_arn(5): "open#3",
    }
    for n, (arn, key) in enumerate(legacy.items(), start=1):
        item = {k: v for k, v in to_item(record(0, T0 + n)).items() if k != "schema_version"}
        world.dynamodb.put_item(
            TableName=TABLE, Item={**item, "pk": {"S": arn}, "sweep_key": {"S": key}}
        )
    assert ledger.has_open() is True

    assert [e.task_arn for e in ledger.due(until=T0 + 10, every_partition=True)] == list(legacy)

    claimed = ledger.claim(task_arn(1), "run-1", T0 + 1, T0 + 31)
    assert claimed is not None
    assert claimed.lease_owner == "run-1"
    assert claimed.rev == 1
    assert ledger.claim(task_arn(1), "run-2", T0 + 2, T0 + 32) is None  # leased
    ledger.put(dataclasses.replace(claimed, defer_reason="guard"), expected_rev=claimed.rev)
    stored = world.record(task_arn(1))
    assert stored is not None
    assert stored["sweep_key"] == sweep_key(task_arn(1))
    assert stored["schema_version"] == str(SCHEMA_VERSION)
    assert [e.task_arn for e in ledger.due(until=T0 + 10, every_partition=True)] == list(
        legacy
    )  # found there too

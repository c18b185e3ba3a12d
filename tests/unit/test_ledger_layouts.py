"""Every ledger layout that has landed is read by the current adapter (items as the old
code wrote them, spelled out here; tests/functional/test_upgrade.py runs the old code)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from serverless.adapters import DynamoLedger
from serverless.adapters.dynamodb_ledger import (
    DUE_INDEX,
    DUE_INDEX_SHARDS,
    LEGACY_SWEEP_KEY,
    SCHEMA_VERSION,
    from_item,
    item_layout,
    sweep_key,
    to_item,
)
from serverless.domain.model import DueEntry, Outcome, RecordStatus, TaskRecord
from tests.support.fakes import CLUSTER_ARN, task_arn

TABLE = "ledger"
#: Task 5's CRC-32 is 3 modulo 4 but 1 modulo 6: layout 2 wrote it under 4 shards to
#: ``open#3``, where the current code would not put it.
FOUR_SHARD_TASK = task_arn(5)


def draining_fields(arn: str) -> dict[str, Any]:
    """The attributes every version wrote for a freshly recorded drain."""
    return {
        "pk": {"S": arn},
        "cluster_arn": {"S": CLUSTER_ARN},
        "service_name": {"S": "web"},
        "status": {"S": "draining"},
        "version": {"N": "4"},
        "drain_started_at": {"N": "1795341600.25"},
        "wait_seconds": {"N": "120"},
        "due_at": {"N": "1795341720.25"},
        "rev": {"N": "1"},
        "attempts": {"N": "0"},
        "deferrals": {"N": "0"},
    }


#: Layout 1 (f04bb52 .. a53edfc): one due-index partition, "open".
LAYOUT_1_DRAINING = {**draining_fields(task_arn(1)), "sweep_key": {"S": "open"}}
#: Layout 1, stopped by an old sweeper and waiting for the confirmation.
LAYOUT_1_STOP_REQUESTED = {
    **draining_fields(task_arn(2)),
    "status": {"S": "stop_requested"},
    "rev": {"N": "3"},
    "attempts": {"N": "1"},
    "lease_owner": {"S": "old-run"},
    "lease_until": {"N": "1795341751.5"},
    "stop_requested_at": {"N": "1795341721.5"},
    "stop_reason": {"S": "drain-terminator: load balancer target draining for 120s"},
    "due_at": {"N": "1795341781.5"},
    "sweep_key": {"S": "open"},
}
#: Layout 2 under 4 shards (0853a65 .. fd8a6a1).
LAYOUT_2_FOUR_SHARDS = {**draining_fields(FOUR_SHARD_TASK), "sweep_key": {"S": "open#3"}}
#: Layout 2 under 6 shards (e603de1 ..), before the schema version.
LAYOUT_2_SIX_SHARDS = {
    **draining_fields(task_arn(7)),
    "sweep_key": {"S": sweep_key(task_arn(7))},
}
#: A closed record of layouts 1 and 2 (the same in both).
LEGACY_CLOSED = {
    **draining_fields(task_arn(3)),
    "status": {"S": "closed"},
    "outcome": {"S": "stopped_by_ecs"},
    "closed_at": {"N": "1795341700.0"},
    "expires_at": {"N": "1795946500"},
}


def record(arn: str, **changes: Any) -> TaskRecord:
    values: dict[str, Any] = {
        "task_arn": arn,
        "cluster_arn": CLUSTER_ARN,
        "service_name": "web",
        "status": RecordStatus.DRAINING,
        "version": 4,
        "drain_started_at": 1_795_341_600.25,
        "wait_seconds": 120,
        "due_at": 1_795_341_720.25,
        "rev": 1,
    }
    values.update(changes)
    return TaskRecord(**values)


@pytest.mark.parametrize(
    ("item", "layout", "expected"),
    [
        (LAYOUT_1_DRAINING, 1, record(task_arn(1))),
        (
            LAYOUT_1_STOP_REQUESTED,
            1,
            record(
                task_arn(2),
                status=RecordStatus.STOP_REQUESTED,
                rev=3,
                attempts=1,
                lease_owner="old-run",
                lease_until=1_795_341_751.5,
                stop_requested_at=1_795_341_721.5,
                stop_reason="drain-terminator: load balancer target draining for 120s",
                due_at=1_795_341_781.5,
            ),
        ),
        (LAYOUT_2_FOUR_SHARDS, 2, record(FOUR_SHARD_TASK)),
        (LAYOUT_2_SIX_SHARDS, 2, record(task_arn(7))),
        (
            LEGACY_CLOSED,
            2,
            record(
                task_arn(3),
                status=RecordStatus.CLOSED,
                outcome=Outcome.STOPPED_BY_ECS,
                closed_at=1_795_341_700.0,
                expires_at=1_795_946_500,
            ),
        ),
    ],
    ids=["1-draining", "1-stop-requested", "2-four-shards", "2-six-shards", "1-or-2-closed"],
)
def test_given_item_of_a_landed_layout_when_read_then_same_record_and_layout_known(
    item: dict[str, Any], layout: int, expected: TaskRecord
) -> None:
    assert item_layout(item) == layout
    assert from_item(item) == expected


@pytest.mark.parametrize(
    "item", [LAYOUT_1_DRAINING, LAYOUT_1_STOP_REQUESTED, LAYOUT_2_FOUR_SHARDS, LAYOUT_2_SIX_SHARDS]
)
def test_given_open_legacy_record_when_written_back_then_current_layout_in_its_shard(
    item: dict[str, Any],
) -> None:
    written = to_item(from_item(item))

    assert item_layout(written) == SCHEMA_VERSION
    assert written["sweep_key"] == {"S": sweep_key(item["pk"]["S"])}
    assert written["schema_version"] == {"N": str(SCHEMA_VERSION)}
    unchanged = {k: v for k, v in item.items() if k != "sweep_key"}
    assert {k: v for k, v in written.items() if k not in {"sweep_key", "schema_version"}} == (
        unchanged
    )


def test_given_item_of_a_later_layout_when_read_then_known_fields_read_and_extra_ignored() -> None:
    later = {**to_item(record(task_arn(8))), "schema_version": {"N": "4"}, "new": {"S": "x"}}

    assert item_layout(later) == 4
    assert from_item(later) == record(task_arn(8))


@pytest.fixture
def ddb() -> Iterator[tuple[DynamoLedger, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        yield DynamoLedger(TABLE, client), stub
        stub.assert_no_pending_responses()


def index_view(item: dict[str, Any]) -> dict[str, Any]:
    """What the due index (projection INCLUDE status, lease_until) returns of an item."""
    keep = {"pk", "sweep_key", "due_at", "status", "lease_until"}
    return {k: v for k, v in item.items() if k in keep}


def test_given_records_of_every_open_layout_when_due_read_then_all_found_earliest_first(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    current = to_item(record(task_arn(9), due_at=1_795_341_700.0))
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for item in (LAYOUT_1_DRAINING, LAYOUT_1_STOP_REQUESTED, LAYOUT_2_FOUR_SHARDS, current):
        by_partition.setdefault(item["sweep_key"]["S"], []).append(index_view(item))
    partitions = [f"open#{n}" for n in range(DUE_INDEX_SHARDS)] + [LEGACY_SWEEP_KEY]
    assert set(by_partition) <= set(partitions)
    for key in partitions:
        stub.add_response(
            "query",
            {"Items": by_partition.get(key, [])},
            expected_params={
                "TableName": TABLE,
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "sweep_key = :open AND due_at <= :until",
                "ExpressionAttributeValues": {
                    ":open": {"S": key},
                    ":until": {"N": "1795341800.0"},
                },
            },
        )

    assert ledger.due(until=1_795_341_800.0, every_partition=True) == [
        DueEntry(task_arn(9), 1_795_341_700.0, RecordStatus.DRAINING),
        DueEntry(task_arn(1), 1_795_341_720.25, RecordStatus.DRAINING),
        DueEntry(FOUR_SHARD_TASK, 1_795_341_720.25, RecordStatus.DRAINING),
        DueEntry(task_arn(2), 1_795_341_781.5, RecordStatus.STOP_REQUESTED, 1_795_341_751.5),
    ]

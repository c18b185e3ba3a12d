"""The DynamoDB ledger adapter on a real botocore client with Stubber: request shapes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

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
from serverless.domain.errors import (
    AwsUnavailableError,
    ConflictError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.domain.model import (
    ActionTaken,
    DueEntry,
    Outcome,
    RecordStatus,
    StopAction,
    TaskRecord,
)
from tests.support.fakes import CLUSTER_ARN, task_arn

REGION = "us-east-1"
TABLE = "ledger"


@pytest.fixture
def ddb() -> Iterator[tuple[DynamoLedger, Stubber]]:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stub:
        yield DynamoLedger(TABLE, client), stub
        stub.assert_no_pending_responses()


# -- DynamoDB ledger -------------------------------------------------------------------------------


def full_record(**changes: Any) -> TaskRecord:
    base = TaskRecord(
        task_arn=task_arn(1),
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        status=RecordStatus.STOP_REQUESTED,
        version=4,
        drain_started_at=1_795_341_600.0,
        wait_seconds=120,
        due_at=1_795_341_780.123,
        rev=3,
        lease_owner="run-1",
        lease_until=1_795_341_750.5,
        attempts=1,
        deferrals=2,
        defer_reason="min healthy",
        stop_requested_at=1_795_341_720.25,
        stop_reason="drain-terminator: load balancer target draining for 120s",
        outcome=None,
        closed_at=None,
        observed_status="DEACTIVATING",
        stopped_reason="Scaling activity",
        stopping_at=1_795_341_721.0,
        stopped_at=None,
        confirmation_seconds=0.75,
        expires_at=None,
    )
    return dataclasses.replace(base, **changes)


def test_given_open_record_when_converted_then_sweep_key_open_and_none_fields_left_out() -> None:
    record = full_record()
    item = to_item(record)
    assert item["pk"] == {"S": record.task_arn}
    assert "task_arn" not in item
    assert item["sweep_key"] == {"S": sweep_key(record.task_arn)}
    assert item["sweep_key"]["S"] in {f"open#{n}" for n in range(DUE_INDEX_SHARDS)}
    assert item["schema_version"] == {"N": str(SCHEMA_VERSION)}
    assert item_layout(item) == SCHEMA_VERSION
    assert item["status"] == {"S": "stop_requested"}
    assert item["version"] == {"N": "4"}
    assert item["due_at"] == {"N": "1795341780.123"}
    for absent in ("outcome", "closed_at", "stopped_at", "expires_at"):
        assert absent not in item
    assert from_item(item) == record


def test_given_closed_record_when_converted_then_no_sweep_key_and_round_trips() -> None:
    record = full_record(
        status=RecordStatus.CLOSED,
        outcome=Outcome.STOPPED_BY_TERMINATOR,
        closed_at=1_795_341_800.0,
        expires_at=1_795_946_600,
        lease_owner=None,
        lease_until=None,
    )
    item = to_item(record)
    assert "sweep_key" not in item
    assert item["schema_version"] == {"N": str(SCHEMA_VERSION)}
    assert item["outcome"] == {"S": "stopped_by_terminator"}
    assert item["expires_at"] == {"N": "1795946600"}
    restored = from_item(item)
    assert restored == record
    assert restored.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert isinstance(restored.expires_at, int)
    assert isinstance(restored.closed_at, float)


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
maybe_finite = st.none() | finite
maybe_text = st.none() | st.text(max_size=30)
whole = st.integers(min_value=0, max_value=2**53)


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        TaskRecord,
        task_arn=st.text(min_size=1, max_size=40),
        cluster_arn=st.text(max_size=40),
        service_name=st.text(max_size=20),
        status=st.sampled_from(RecordStatus),
        version=whole,
        drain_started_at=finite,
        wait_seconds=whole,
        due_at=finite,
        rev=whole,
        lease_owner=maybe_text,
        lease_until=maybe_finite,
        attempts=whole,
        deferrals=whole,
        defer_reason=maybe_text,
        stop_requested_at=maybe_finite,
        stop_reason=maybe_text,
        outcome=st.none() | st.sampled_from(Outcome),
        closed_at=maybe_finite,
        observed_status=maybe_text,
        stopped_reason=maybe_text,
        stopping_at=maybe_finite,
        stopped_at=maybe_finite,
        confirmation_seconds=maybe_finite,
        expires_at=st.none() | whole,
    )
)
def test_given_any_record_when_converted_to_item_and_back_then_equal(record: TaskRecord) -> None:
    item = to_item(record)
    assert from_item(item) == record
    assert ("sweep_key" in item) is record.is_open


def test_given_task_when_read_then_strongly_consistent_get(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    record = full_record()
    stub.add_response(
        "get_item",
        {"Item": to_item(record)},
        expected_params={
            "TableName": TABLE,
            "Key": {"pk": {"S": record.task_arn}},
            "ConsistentRead": True,
        },
    )
    assert ledger.get(record.task_arn) == record


def test_given_unknown_task_when_read_then_none(ddb: tuple[DynamoLedger, Stubber]) -> None:
    ledger, stub = ddb
    stub.add_response("get_item", {})
    assert ledger.get(task_arn(9)) is None


def test_given_new_record_when_put_then_must_not_exist_and_rev_becomes_1(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    record = full_record(rev=0)
    stub.add_response(
        "put_item",
        {},
        expected_params={
            "TableName": TABLE,
            "Item": to_item(dataclasses.replace(record, rev=1)),
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )
    written = ledger.put(record, expected_rev=None)
    assert written.rev == 1
    assert written == dataclasses.replace(record, rev=1)


def test_given_existing_record_when_put_then_conditional_on_expected_rev(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    record = full_record(rev=3)
    stub.add_response(
        "put_item",
        {},
        expected_params={
            "TableName": TABLE,
            "Item": to_item(dataclasses.replace(record, rev=4)),
            "ConditionExpression": "rev = :expected",
            "ExpressionAttributeValues": {":expected": {"N": "3"}},
        },
    )
    assert ledger.put(record, expected_rev=3).rev == 4


def test_given_changed_record_when_put_then_conflict_with_cause(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error(
        "put_item", "ConditionalCheckFailedException", "The conditional request failed"
    )
    with pytest.raises(ConflictError, match=r"^PutItem: ConditionalCheckFailedException") as caught:
        ledger.put(full_record(), expected_rev=3)
    assert isinstance(caught.value.__cause__, ClientError)


@pytest.mark.parametrize(
    ("code", "message", "status", "expected"),
    [
        ("ProvisionedThroughputExceededException", "slow", 400, AwsUnavailableError),
        ("InternalServerError", "oops", 500, AwsUnavailableError),
        ("ResourceNotFoundException", "Requested resource not found", 400, NotFoundError),
        ("AccessDeniedException", "no", 400, PermanentAwsError),
    ],
)
def test_given_failing_get_and_put_when_called_then_domain_errors_keep_cause(
    ddb: tuple[DynamoLedger, Stubber],
    code: str,
    message: str,
    status: int,
    expected: type[Exception],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("get_item", code, message, http_status_code=status)
    stub.add_client_error("put_item", code, message, http_status_code=status)
    with pytest.raises(expected, match=rf"^GetItem: {code}") as got:
        ledger.get(task_arn(1))
    with pytest.raises(expected, match=rf"^PutItem: {code}") as put:
        ledger.put(full_record(), expected_rev=1)
    assert isinstance(got.value.__cause__, ClientError)
    assert isinstance(put.value.__cause__, ClientError)


def query_params(
    shard: int | str, until: str, start: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A due-index Query of shard ``n`` (``open#n``) or of a partition key given whole."""
    key = f"open#{shard}" if isinstance(shard, int) else shard
    params: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": DUE_INDEX,
        "KeyConditionExpression": "sweep_key = :open AND due_at <= :until",
        "ExpressionAttributeValues": {":open": {"S": key}, ":until": {"N": until}},
    }
    if start is not None:
        params["ExclusiveStartKey"] = start
    return params


def index_item(record: TaskRecord) -> dict[str, Any]:
    """What the due index projects of a record: keys, status, lease_until."""
    item = to_item(record)
    return {
        k: v for k, v in item.items() if k in {"pk", "sweep_key", "due_at", "status", "lease_until"}
    }


def test_given_shards_and_pages_when_due_read_then_every_shard_and_page_merged_by_due_time(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    first = full_record(
        task_arn=task_arn(1), status=RecordStatus.DRAINING, due_at=30.0, lease_until=None
    )
    second = full_record(
        task_arn=task_arn(2), status=RecordStatus.STOP_REQUESTED, due_at=20.5, lease_until=None
    )
    leased = full_record(
        task_arn=task_arn(3), status=RecordStatus.DRAINING, due_at=10.0, lease_until=40.0
    )
    last_key = {"pk": {"S": task_arn(1)}, "sweep_key": {"S": "open#0"}, "due_at": {"N": "30.0"}}
    stub.add_response(
        "query",
        {"Items": [index_item(first)], "LastEvaluatedKey": last_key},
        expected_params=query_params(0, "1795341690.5"),
    )
    stub.add_response(
        "query",
        {"Items": [index_item(second)]},
        expected_params=query_params(0, "1795341690.5", last_key),
    )
    stub.add_response("query", {"Items": []}, expected_params=query_params(1, "1795341690.5"))
    stub.add_response(
        "query", {"Items": [index_item(leased)]}, expected_params=query_params(2, "1795341690.5")
    )
    for shard in range(3, DUE_INDEX_SHARDS):
        stub.add_response(
            "query", {"Items": []}, expected_params=query_params(shard, "1795341690.5")
        )
    stub.add_response("query", {"Items": []}, expected_params=query_params("open", "1795341690.5"))

    assert ledger.due(until=1_795_341_690.5, every_partition=True) == [
        DueEntry(task_arn(3), 10.0, RecordStatus.DRAINING, 40.0),
        DueEntry(task_arn(2), 20.5, RecordStatus.STOP_REQUESTED, None),
        DueEntry(task_arn(1), 30.0, RecordStatus.DRAINING, None),
    ]


def test_given_integral_until_when_due_read_then_number_is_sent_as_float_text(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    for shard in (*range(DUE_INDEX_SHARDS), LEGACY_SWEEP_KEY):
        stub.add_response("query", {"Items": []}, expected_params=query_params(shard, "100.0"))
    assert ledger.due(until=100.0, every_partition=True) == []


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"Count": 1, "ScannedCount": 1}, True),
        ({"Count": 0, "ScannedCount": 0}, False),
        ({"Count": 0, "ScannedCount": 0, "LastEvaluatedKey": {"pk": {"S": "t"}}}, True),
    ],
)
def test_given_index_when_open_checked_then_one_scan_of_one_item(
    ddb: tuple[DynamoLedger, Stubber], response: dict[str, Any], expected: bool
) -> None:
    ledger, stub = ddb
    stub.add_response(
        "scan",
        response,
        expected_params={
            "TableName": TABLE,
            "IndexName": DUE_INDEX,
            "Limit": 1,
            "Select": "COUNT",
        },
    )
    assert ledger.has_open() is expected


def test_given_due_record_when_claimed_then_one_conditional_update_returning_the_record(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    record = full_record(status=RecordStatus.DRAINING, rev=3, lease_owner=None, lease_until=None)
    stored = dataclasses.replace(record, rev=4, lease_owner="run-1", lease_until=130.0)
    stub.add_response(
        "update_item",
        {"Attributes": to_item(stored)},
        expected_params={
            "TableName": TABLE,
            "Key": {"pk": {"S": record.task_arn}},
            "UpdateExpression": "SET lease_owner = :owner, lease_until = :until, rev = rev + :one",
            "ConditionExpression": "attribute_exists(sweep_key) AND due_at <= :now AND "
            "(attribute_not_exists(lease_until) OR lease_until <= :now)",
            "ExpressionAttributeValues": {
                ":owner": {"S": "run-1"},
                ":until": {"N": "130.0"},
                ":now": {"N": "100.0"},
                ":one": {"N": "1"},
            },
            "ReturnValues": "ALL_NEW",
        },
    )
    stub.add_client_error("update_item", "ConditionalCheckFailedException", "no")
    assert ledger.claim(record.task_arn, "run-1", 100.0, 130.0) == stored
    assert ledger.claim(record.task_arn, "run-1", 100.0, 130.0) is None


def test_given_throttled_query_when_due_read_then_unavailable_with_cause(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("query", "ProvisionedThroughputExceededException", "slow down")
    with pytest.raises(AwsUnavailableError, match=r"^Query: ") as caught:
        ledger.due(until=1.0)
    assert isinstance(caught.value.__cause__, ClientError)


SLOT_KEY = f"stagger#{CLUSTER_ARN}#web"


def slot_update_params() -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "Key": {"pk": {"S": SLOT_KEY}},
        "UpdateExpression": "SET next_slot_at = :hold, expires_at = :expires",
        "ConditionExpression": "attribute_not_exists(next_slot_at) OR next_slot_at <= :now",
        "ExpressionAttributeValues": {
            ":hold": {"N": "1020.0"},
            ":now": {"N": "1000.0"},
            ":expires": {"N": "4620"},
        },
    }


def test_given_free_slot_when_reserved_then_conditional_update_and_none(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_response("update_item", {}, expected_params=slot_update_params())
    assert ledger.reserve_stagger(SLOT_KEY, 1000.0, 1020.0) is None


def test_given_taken_slot_when_reserved_then_time_of_next_slot_is_read_back(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("update_item", "ConditionalCheckFailedException", "taken")
    stub.add_response(
        "get_item",
        {"Item": {"pk": {"S": SLOT_KEY}, "next_slot_at": {"N": "1012.5"}}},
        expected_params={
            "TableName": TABLE,
            "Key": {"pk": {"S": SLOT_KEY}},
            "ConsistentRead": True,
        },
    )
    assert ledger.reserve_stagger(SLOT_KEY, 1000.0, 1020.0) == 1012.5


def test_given_slot_item_vanished_when_reserved_then_try_again_now(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("update_item", "ConditionalCheckFailedException", "taken")
    stub.add_response("get_item", {})
    assert ledger.reserve_stagger(SLOT_KEY, 1000.0, 1020.0) == 1000.0


def test_given_held_slot_when_settled_then_conditional_on_the_hold(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_response(
        "update_item",
        {},
        expected_params={
            "TableName": TABLE,
            "Key": {"pk": {"S": SLOT_KEY}},
            "UpdateExpression": "SET next_slot_at = :next",
            "ConditionExpression": "next_slot_at = :held",
            "ExpressionAttributeValues": {":next": {"N": "1032.0"}, ":held": {"N": "1080.0"}},
        },
    )
    ledger.settle_stagger(SLOT_KEY, 1080.0, 1032.0)
    stub.assert_no_pending_responses()


def test_given_hold_lapsed_when_settled_then_conflict_ignored(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("update_item", "ConditionalCheckFailedException", "moved on")
    ledger.settle_stagger(SLOT_KEY, 1080.0, 1032.0)
    stub.assert_no_pending_responses()


def test_given_throttled_slot_update_when_reserved_then_unavailable_with_cause(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("update_item", "ThrottlingException", "slow")
    with pytest.raises(AwsUnavailableError, match=r"^UpdateItem: ") as caught:
        ledger.reserve_stagger(SLOT_KEY, 1000.0, 1020.0)
    assert isinstance(caught.value.__cause__, ClientError)


def test_given_plan_and_actions_when_converted_then_lists_that_round_trip() -> None:
    record = full_record(
        plan=(StopAction.STOP_TASK, StopAction.EXEC),
        actions=(
            ActionTaken(StopAction.STOP_TASK, 1_795_341_720.25, "SENT"),
            ActionTaken(
                StopAction.EXEC,
                1_795_341_740.5,
                "PREREQUISITE_MISSING",
                missing="EXEC_NOT_ENABLED",
                detail="ExecuteCommand: The execute command failed",
            ),
        ),
    )
    item = to_item(record)
    assert item["plan"] == {"L": [{"S": "stop-task"}, {"S": "exec"}]}
    assert item["actions"]["L"][0] == {
        "M": {"action": {"S": "stop-task"}, "at": {"N": "1795341720.25"}, "outcome": {"S": "SENT"}}
    }
    assert item["actions"]["L"][1]["M"]["missing"] == {"S": "EXEC_NOT_ENABLED"}
    assert from_item(item) == record


def test_given_record_without_actions_when_converted_then_no_list_attributes() -> None:
    item = to_item(full_record())
    assert "plan" not in item
    assert "actions" not in item
    assert from_item(item).actions == ()

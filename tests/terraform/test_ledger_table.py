"""The ledger table in terraform/dynamodb.tf is the table the code reads and writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from serverless.adapters.dynamodb_ledger import DUE_INDEX, DynamoLedger, to_item
from serverless.domain.model import RecordStatus, TaskRecord
from sim.terraform import MODULE_DIR, find_resource, ledger_table_spec, load_tf, ttl_attribute

TASK_ARN = "arn:aws:ecs:us-east-1:111122223333:task/prod/7e3f9c2100000000000000000000000a"


def _open_record(due_at: float) -> TaskRecord:
    return TaskRecord(
        task_arn=TASK_ARN,
        cluster_arn="arn:aws:ecs:us-east-1:111122223333:cluster/prod",
        service_name="web",
        status=RecordStatus.DRAINING,
        version=4,
        drain_started_at=due_at - 120,
        wait_seconds=120,
        due_at=due_at,
        expires_at=int(due_at) + 604800,
    )


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        spec = ledger_table_spec("ledger")
        client.create_table(**spec)
        client.update_time_to_live(
            TableName="ledger",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute()},
        )
        yield client


def test_given_the_hcl_when_read_then_the_keys_are_the_documented_ones() -> None:
    spec = ledger_table_spec("t")

    assert spec["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert spec["BillingMode"] == "PAY_PER_REQUEST"
    (index,) = spec["GlobalSecondaryIndexes"]
    assert index["IndexName"] == DUE_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "sweep_key", "KeyType": "HASH"},
        {"AttributeName": "due_at", "KeyType": "RANGE"},
    ]
    assert ttl_attribute() == "expires_at"


def test_given_an_open_record_when_converted_to_an_item_then_every_key_attribute_has_its_type() -> (
    None
):
    item = to_item(_open_record(due_at=1_800_000_000.5))
    spec = ledger_table_spec("t")
    types = {a["AttributeName"]: a["AttributeType"] for a in spec["AttributeDefinitions"]}

    key_names = [k["AttributeName"] for k in spec["KeySchema"]] + [
        k["AttributeName"] for index in spec["GlobalSecondaryIndexes"] for k in index["KeySchema"]
    ]
    for name in key_names:
        assert name in item, f"the code does not write key attribute {name}"
        assert set(item[name]) == {types[name]}, f"{name} is written with another type"
    assert set(item[ttl_attribute()]) == {"N"}


def test_given_the_table_built_from_hcl_when_the_code_writes_and_queries_then_due_work_is_found(
    dynamodb: Any,
) -> None:
    ledger = DynamoLedger("ledger", client=dynamodb)
    record = _open_record(due_at=1_800_000_000.0)

    ledger.put(record, expected_rev=None)

    assert [r.task_arn for r in ledger.due(until=1_800_000_001.0)] == [TASK_ARN]
    assert list(ledger.due(until=1_799_999_999.0)) == []
    ttl = dynamodb.describe_time_to_live(TableName="ledger")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_given_the_ledger_resource_when_read_then_it_is_protected_and_encrypted() -> None:
    table = find_resource(load_tf(MODULE_DIR / "dynamodb.tf"), "aws_dynamodb_table", "ledger")

    assert table["point_in_time_recovery"] == [{"enabled": True}]
    assert table["server_side_encryption"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["kms_key_arn"] == "${var.kms_key_arn}"
    assert table["deletion_protection_enabled"] == "${var.table_deletion_protection}"

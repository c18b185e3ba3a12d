"""The embedded AWS's shortcuts answer exactly what moto itself would."""

from __future__ import annotations

import json
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb.responses import DynamoResult

from sim.aws import FAST_DYNAMODB_OPERATIONS, fast_dynamodb_responses


def _workload(client: Any) -> None:
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": "S"},
            {"AttributeName": "d", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "due",
                "KeySchema": [
                    {"AttributeName": "s", "KeyType": "HASH"},
                    {"AttributeName": "d", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    nested = {"M": {"a": {"L": [{"N": "1.5"}, {"BOOL": True}, {"NULL": True}, {"SS": ["x"]}]}}}
    for n in range(3):
        item = {"pk": {"S": f"k{n}"}, "s": {"S": "open"}, "d": {"N": str(n)}, "m": nested}
        client.put_item(TableName="t", Item=item)
    client.put_item(
        TableName="t",
        Item={"pk": {"S": "k0"}, "s": {"S": "open"}, "d": {"N": "0"}},
        ReturnValues="ALL_OLD",
    )
    client.get_item(TableName="t", Key={"pk": {"S": "k1"}}, ConsistentRead=True)
    client.get_item(TableName="t", Key={"pk": {"S": "missing"}})
    client.update_item(
        TableName="t",
        Key={"pk": {"S": "k1"}},
        UpdateExpression="SET x = :x REMOVE s",
        ExpressionAttributeValues={":x": {"N": "5"}},
        ReturnValues="ALL_NEW",
    )
    client.update_item(
        TableName="t",
        Key={"pk": {"S": "k2"}},
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues={":x": {"N": "5"}},
    )
    client.query(
        TableName="t",
        IndexName="due",
        KeyConditionExpression="s = :o AND d <= :d",
        ExpressionAttributeValues={":o": {"S": "open"}, ":d": {"N": "9"}},
        Limit=1,
    )
    client.query(
        TableName="t",
        IndexName="due",
        KeyConditionExpression="s = :o",
        ExpressionAttributeValues={":o": {"S": "open"}},
        Select="COUNT",
    )


def _replies(fast: bool) -> list[tuple[str, int, Any]]:
    seen: list[tuple[str, int, Any]] = []
    with mock_aws():
        original = DynamoResult.execute_result
        patched = fast_dynamodb_responses() if fast else None
        if patched is not None:
            patched.__enter__()
        inner = DynamoResult.execute_result

        def spy(self: Any, context: Any) -> Any:
            status, headers, body = inner(self, context)
            name = context.operation_model.name
            if name in FAST_DYNAMODB_OPERATIONS:
                seen.append((name, status, json.loads(body)))
            return status, headers, body

        DynamoResult.execute_result = spy  # type: ignore[method-assign]
        try:
            _workload(boto3.client("dynamodb", region_name="us-east-1"))
        finally:
            DynamoResult.execute_result = inner  # type: ignore[method-assign]
            if patched is not None:
                patched.__exit__(None, None, None)
        assert DynamoResult.execute_result is original
    return seen


def test_given_data_operations_when_answered_fast_then_replies_equal_motos_serializer() -> None:
    slow, fast = _replies(fast=False), _replies(fast=True)
    assert [name for name, _, _ in slow] == [name for name, _, _ in fast]
    assert {name for name, _, _ in slow} == FAST_DYNAMODB_OPERATIONS
    assert slow == fast

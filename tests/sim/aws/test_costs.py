"""The simulator's cost model: latency in virtual time, account buckets, partition limits."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sim.aws.costs import NO_COSTS, CostModel, Costs, TokenBucket, item_size
from tests.sim.conftest import START
from tests.sim.costed import ecs_world, run_as_lambda

TABLE = "ledger"
CREATE_TABLE: dict[str, Any] = {
    "TableName": TABLE,
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by-state",
            "KeySchema": [
                {"AttributeName": "state", "KeyType": "HASH"},
                {"AttributeName": "due", "KeyType": "RANGE"},
            ],
        }
    ],
}


def test_given_latency_when_a_lambda_calls_then_virtual_time_advances_by_the_latency() -> None:
    loop, client, _ = ecs_world(Costs(latency_scale=1.0))
    seen: list[float] = []
    run_as_lambda(loop, lambda: (client.stop_task(task="t1"), seen.append(loop.now)))
    assert seen == [pytest.approx(START + 0.060)]


def test_given_a_latency_scale_when_a_lambda_calls_then_the_latency_scales() -> None:
    loop, client, _ = ecs_world(Costs(latency_scale=2.5))
    seen: list[float] = []
    run_as_lambda(loop, lambda: (client.stop_task(task="t1"), seen.append(loop.now)))
    assert seen == [pytest.approx(START + 0.150)]


def test_given_no_costs_when_a_lambda_calls_then_no_time_passes_and_nothing_throttles() -> None:
    loop, client, interceptor = ecs_world(NO_COSTS)
    run_as_lambda(loop, lambda: [client.stop_task(task=f"t{i}") for i in range(150)])
    assert loop.now == START
    assert interceptor.costs is not None
    assert not interceptor.costs.throttled


def test_given_a_burst_of_stop_tasks_over_40_per_second_when_sent_then_they_are_throttled() -> None:
    """200 StopTasks at once: 100 from the burst, the rest at 40/s after ThrottlingException."""
    loop, client, interceptor = ecs_world(Costs(latency_scale=0.0))
    done: list[float] = []

    def burst() -> None:
        for i in range(200):
            client.stop_task(task=f"t{i}")
            done.append(loop.now)

    run_as_lambda(loop, burst)
    assert interceptor.costs is not None
    assert interceptor.costs.throttled["ecs.StopTask"] > 0
    assert done[99] == START  # the burst passes at once
    # The other 100 need the bucket's refill: at least 100 / 40 s.
    assert done[-1] - START >= 100 / 40 - 1e-6
    # and never more than 40 per second after the burst (+ tokens accrued meanwhile).
    late = [t for t in done[100:] if t < START + 10.0]
    assert len(late) == 100


def test_given_a_throttled_call_when_retries_run_out_then_the_real_error_reaches_the_caller() -> (
    None
):
    loop, client, _ = ecs_world(Costs(latency_scale=0.0), attempts=1)
    errors: list[str] = []

    def burst() -> None:
        for i in range(101):
            try:
                client.stop_task(task=f"t{i}")
            except ClientError as error:
                errors.append(error.response["Error"]["Code"])

    run_as_lambda(loop, burst)
    assert errors == ["ThrottlingException"]


def test_given_the_harness_when_it_calls_then_it_is_not_charged() -> None:
    loop, client, interceptor = ecs_world(Costs())
    for i in range(150):
        client.stop_task(task=f"t{i}")  # not inside a Lambda process
    assert loop.now == START
    assert interceptor.costs is not None
    assert not interceptor.costs.throttled


def test_given_a_bucket_when_time_passes_then_it_refills_up_to_its_burst() -> None:
    bucket = TokenBucket(10, 2, now=0.0)
    assert all(bucket.take(0.0) for _ in range(10))
    assert not bucket.take(0.0)
    assert bucket.take(0.5)  # one token back after half a second
    assert not bucket.take(0.5)
    assert bucket.refill(100.0) == 10


def test_given_two_accounts_when_one_spends_its_stop_task_burst_then_the_other_keeps_its_own() -> (
    None
):
    model = CostModel(Costs(), lambda: 0.0, lambda table, key: None)
    hub = [model.admit("ecs", "StopTask", {}, "111122223333") for _ in range(101)]
    member = [model.admit("ecs", "StopTask", {}, "222233334444") for _ in range(100)]

    assert hub[:100] == [None] * 100
    assert hub[100] == "ThrottlingException"  # the hub's bucket is empty
    assert member == [None] * 100  # the member's is its own


# -- DynamoDB partitions ---------------------------------------------------------------


class _Table:
    """A dict standing in for moto, so the cost model can size old and new items."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def lookup(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(key["pk"]["S"])

    def put(self, model: CostModel, item: dict[str, Any]) -> str | None:
        params = {"TableName": TABLE, "Item": item}
        throttled = model.admit("dynamodb", "PutItem", params)
        if throttled:
            return throttled
        old = model.before_write("PutItem", params)
        self.items[item["pk"]["S"]] = item
        model.charge("PutItem", params, old, 200, {})
        return None


def _item(n: int, state: str, padding: int = 900) -> dict[str, Any]:
    return {
        "pk": {"S": f"task-{n}"},
        "state": {"S": state},
        "due": {"N": str(n)},
        "pad": {"S": "x" * padding},
    }


def _partition_world(now: list[float]) -> tuple[CostModel, _Table]:
    table = _Table()
    model = CostModel(Costs(), lambda: now[0], table.lookup)
    model.learn("dynamodb", "CreateTable", CREATE_TABLE)
    return model, table


def test_given_one_index_partition_over_1000_wcu_per_second_when_written_then_throttled() -> None:
    """Distinct table keys, one GSI key value: the index partition is the bottleneck."""
    now = [START]
    model, table = _partition_world(now)
    results = [table.put(model, _item(n, "open")) for n in range(1200)]
    assert results[:1000] == [None] * 1000
    assert "ProvisionedThroughputExceededException" in results
    assert model.throttled["dynamodb.PutItem"] > 0
    assert any("by-state S:open (write)" in label for label in model.throttled_partitions)
    now[0] += 1.0  # a second later the partition has its 1,000 units back
    assert table.put(model, _item(5000, "open")) is None


def test_given_writes_spread_over_index_key_values_when_written_then_never_throttled() -> None:
    now = [START]
    model, table = _partition_world(now)
    results = [table.put(model, _item(n, f"open#{n % 4}")) for n in range(3000)]
    assert results == [None] * 3000
    assert max(model.peak_partition_units.values()) <= 1000


def test_given_an_item_when_it_changes_index_key_then_both_index_partitions_are_charged() -> None:
    now = [START]
    model, table = _partition_world(now)
    table.put(model, _item(1, "open", padding=10))
    table.put(model, _item(1, "closed", padding=10))
    # table: 1 + 1; index: enters "open" (1), then leaves "open" (1) and enters "closed" (1).
    assert model.units["write"] == 5
    labels = set(model.peak_partition_units)
    assert {"ledger/by-state S:open (write)", "ledger/by-state S:closed (write)"} <= labels


def test_given_items_when_sized_then_names_and_values_count() -> None:
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3
    assert item_size({"b": {"BOOL": True}}) == 2


def test_given_a_query_when_charged_then_read_units_follow_returned_sizes() -> None:
    now = [START]
    model, _ = _partition_world(now)
    params = {
        "TableName": TABLE,
        "IndexName": "by-state",
        "KeyConditionExpression": "#s = :open AND due <= :now",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":open": {"S": "open"}, ":now": {"N": "9"}},
    }
    body = {"Items": [_item(n, "open", padding=4100) for n in range(4)]}
    model.charge("Query", params, None, 200, body)
    # ~16.5 KB eventually consistent: ceil(16.5 KB / 4 KB) / 2 units on the "open" partition.
    assert model.units["read"] == 2.5
    assert "ledger/by-state S:open (read)" in model.peak_partition_units

"""moto's shortcuts (sim/aws/fast_moto.py) answer exactly what moto itself answers."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import botocore_stubber
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.responses import DynamoResult

import sim.aws.fast_moto as fast_moto_module
from sim.aws.fast_moto import (
    FAST_DYNAMODB_OPERATIONS,
    MotoRouter,
    fast_moto,
    one_session_for_region_lists,
)
from sim.scenarios import scenario_named
from sim.simulation import Simulation

SHARDS = ("open#0", "open#1", "open#2")
SHARD = {"S": SHARDS[0]}


def _create(client: Any) -> None:
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": "S"},
            {"AttributeName": "d", "AttributeType": "N"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "due",
                "KeySchema": [
                    {"AttributeName": "s", "KeyType": "HASH"},
                    {"AttributeName": "d", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]},
            },
            {
                "IndexName": "by-number",
                "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "keys",
                "KeySchema": [{"AttributeName": "s", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )


def _workload(client: Any) -> list[Any]:
    """Every kind of request the functions send, with pages, misses and errors; the replies."""
    replies: list[Any] = []

    def call(operation: str, **kwargs: Any) -> None:
        try:
            reply = getattr(client, operation)(**kwargs)
            metadata = reply.pop("ResponseMetadata", {})
            # Which headers moto sends (their values are request ids, dates and CRCs).
            replies.append(("headers", sorted(metadata.get("HTTPHeaders", {}))))
            replies.append((operation, reply))
        except ClientError as error:
            replies.append((operation, error.response["Error"]))

    _create(client)
    nested = {"M": {"a": {"L": [{"N": "1.5"}, {"BOOL": True}, {"NULL": True}, {"SS": ["x"]}]}}}
    for n in range(12):
        item = {
            "pk": {"S": f"k{n:02d}"},
            "d": {"N": str(100 - n * 7 % 13)},
            "n": {"N": str(n % 3)},
            "status": {"S": "draining"},
            "m": nested,
        }
        if n % 4:  # a sparse index: some items carry no shard
            item["s"] = {"S": SHARDS[n % 3]}
        call("put_item", TableName="t", Item=item)
    call("put_item", TableName="t", Item={"pk": {"S": "k01"}}, ReturnValues="ALL_OLD")
    call("get_item", TableName="t", Key={"pk": {"S": "k02"}}, ConsistentRead=True)
    call("get_item", TableName="t", Key={"pk": {"S": "missing"}})
    for expression in ("SET x = :x REMOVE s", "SET x = :x", "SET x = x + :x"):
        call(
            "update_item",
            TableName="t",
            Key={"pk": {"S": "k03"}},
            UpdateExpression=expression,
            ExpressionAttributeValues={":x": {"N": "5"}},
            ReturnValues="ALL_NEW",
        )
    call(  # the same text again, now failing its condition
        "update_item",
        TableName="t",
        Key={"pk": {"S": "k05"}},
        UpdateExpression="SET x = :x",
        ConditionExpression="attribute_not_exists(pk)",
        ExpressionAttributeValues={":x": {"N": "5"}},
    )
    # One condition text with names and values that pass and fail; texts that repeat.
    for limit in ("1", "9", "1"):
        call(
            "update_item",
            TableName="t",
            Key={"pk": {"S": "k04"}},
            UpdateExpression="SET x = if_not_exists(x, :z) + :one",
            ConditionExpression="attribute_not_exists(x) OR (x < :lim AND #st = :st)",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":z": {"N": "0"},
                ":one": {"N": "1"},
                ":lim": {"N": limit},
                ":st": {"S": "draining"},
            },
            ReturnValues="UPDATED_NEW",
        )
    for condition in ("attribute_exists(pk)", "attribute_not_exists(pk)", "attribute_exists(pk)"):
        call(
            "put_item",
            TableName="t",
            Item={"pk": {"S": "k08"}, "s": {"S": SHARDS[2]}, "d": {"N": "3"}},
            ConditionExpression=condition,
        )
    call(  # a syntax error is reported, never cached as a parse
        "update_item",
        TableName="t",
        Key={"pk": {"S": "k05"}},
        UpdateExpression="SET = :x",
        ExpressionAttributeValues={":x": {"N": "5"}},
    )
    call(
        "update_item",
        TableName="t",
        Key={"pk": {"S": "k06"}},
        UpdateExpression="SET s = :s",
        ExpressionAttributeValues={":s": {"S": "open#1"}},
    )
    for shard in (*SHARDS, "open#9"):
        call(
            "query",
            TableName="t",
            IndexName="due",
            KeyConditionExpression="s = :o AND d <= :d",
            ExpressionAttributeValues={":o": {"S": shard}, ":d": {"N": "95"}},
        )
        start: dict[str, Any] | None = None
        for _ in range(6):  # pages of one
            page: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            call(
                "query",
                TableName="t",
                IndexName="due",
                KeyConditionExpression="s = :o",
                ExpressionAttributeValues={":o": {"S": shard}},
                Limit=1,
                ScanIndexForward=False,
                **page,
            )
            start = replies[-1][1].get("LastEvaluatedKey")
            if not start:
                break
    for query in _QUERIES:
        call("query", TableName="t", **query)
    call("scan", TableName="t", IndexName="due", Limit=1)
    return replies


#: The workload's calls of the operations in FAST_DYNAMODB_OPERATIONS.
_DATA_OPERATIONS = frozenset({"get_item", "put_item", "update_item", "query"})

#: Queries beside the paged one: another index, the table itself, a count, a missing index.
_QUERIES: tuple[dict[str, Any], ...] = (
    {"IndexName": "by-number", "KeyConditionExpression": "n = :n",
     "ExpressionAttributeValues": {":n": {"N": "1"}}},
    {"KeyConditionExpression": "pk = :k", "ExpressionAttributeValues": {":k": {"S": "k07"}}},
    {"IndexName": "due", "KeyConditionExpression": "s = :o",
     "ExpressionAttributeValues": {":o": {"S": "open#1"}}, "Select": "COUNT"},
    {"IndexName": "keys", "KeyConditionExpression": "s = :o",
     "ExpressionAttributeValues": {":o": {"S": "open#2"}}},
    {"IndexName": "absent", "KeyConditionExpression": "s = :o",
     "ExpressionAttributeValues": {":o": {"S": "open#1"}}},
)  # fmt: skip


def _run(
    shortcuts: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], list[tuple[str, int, Any]], Counter[str]]:
    """The workload's replies, moto's raw reply bodies of the data operations, and how often
    moto's slow steps ran (whole-item projection, condition lexing) and shortcut 7 answered."""
    bodies: list[tuple[str, int, Any]] = []
    ran: Counter[str] = Counter()

    def counted(owner: Any, name: str, key: str, answered: bool = False) -> None:
        original = getattr(owner, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            ran[key] += 1 if not answered or result is not None else 0
            return result

        monkeypatch.setattr(owner, name, spy)

    counted(Item, "project", "whole-item projection")
    counted(Item, "__deepcopy__", "item deep-copied")
    counted(ConditionExpressionParser, "_lex_one_node", "condition token lexed")
    counted(fast_moto_module, "_direct_dynamodb", "answered directly", answered=True)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        with fast_moto() if shortcuts else contextlib.nullcontext(None) as router:
            if router is not None:
                client.meta.events.unregister("before-send", botocore_stubber)
                client.meta.events.register("before-send", lambda request, **_: router(request))
            inner = DynamoResult.execute_result

            def spy(self: Any, context: Any) -> Any:
                status, headers, body = inner(self, context)
                if context.operation_model.name in FAST_DYNAMODB_OPERATIONS:
                    bodies.append((context.operation_model.name, status, json.loads(body)))
                return status, headers, body

            DynamoResult.execute_result = spy  # type: ignore[method-assign]
            try:
                replies = _workload(client)
            finally:
                DynamoResult.execute_result = inner  # type: ignore[method-assign]
    monkeypatch.undo()
    return replies, bodies, ran


def test_given_a_dynamodb_workload_when_replayed_with_shortcuts_then_every_reply_is_motos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow_replies, slow_bodies, slow_ran = _run(False, monkeypatch)
    fast_replies, fast_bodies, fast_ran = _run(True, monkeypatch)

    assert fast_replies == slow_replies
    assert fast_bodies == slow_bodies
    # The shortcuts were taken: every data request answered directly (7), no index item
    # projected whole (8), each condition text lexed once (9).
    data_requests = sum(1 for op, _ in slow_replies if op in _DATA_OPERATIONS)
    assert fast_ran["answered directly"] == data_requests
    assert slow_ran["whole-item projection"] > 0
    assert fast_ran["whole-item projection"] == 0
    assert 0 < fast_ran["condition token lexed"] < slow_ran["condition token lexed"]
    # ... and index queries hand the projection the stored items, not deep copies (12).
    assert fast_ran["item deep-copied"] < slow_ran["item deep-copied"]
    # The workload covers what it claims: pages, misses, a condition and a syntax error.
    errors = [reply for _, reply in slow_replies if "Code" in reply]
    assert {e["Code"] for e in errors} >= {"ConditionalCheckFailedException", "ValidationException"}
    assert {name for name, _, _ in slow_bodies} == FAST_DYNAMODB_OPERATIONS
    counts = [r["Count"] for op, r in slow_replies if op == "query" and "Count" in r]
    assert 0 in counts
    assert max(counts) >= 2


def test_given_shortcuts_when_the_context_ends_then_moto_is_as_it_was() -> None:
    from moto import settings
    from moto.core import responses
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.table import SecondaryIndex, Table
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    before = (
        table_module.copy,
        DynamoResult.execute_result,
        responses.method_names_from_class,  # type: ignore[attr-defined]
        UpdateExpressionParser.__dict__["make"],
        Table.query,
        settings.ec2_load_default_amis,
        SecondaryIndex.project,
        ConditionExpressionParser._lex_condition_expression,
    )
    with fast_moto():
        assert Table.query is not before[4]
        assert settings.ec2_load_default_amis() is False
        assert SecondaryIndex.project is not before[6]
    after = (
        table_module.copy,
        DynamoResult.execute_result,
        responses.method_names_from_class,  # type: ignore[attr-defined]
        UpdateExpressionParser.__dict__["make"],
        Table.query,
        settings.ec2_load_default_amis,
        SecondaryIndex.project,
        ConditionExpressionParser._lex_condition_expression,
    )
    assert after == before


def test_given_shortcuts_when_a_world_is_provisioned_then_moto_loads_no_default_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shortcut 6: without it (and without the tests' MOTO_EC2_LOAD_DEFAULT_AMIS=false) moto
    loads its ~1,300 default AMIs into every EC2 backend."""
    monkeypatch.delenv("MOTO_EC2_LOAD_DEFAULT_AMIS", raising=False)

    def images(shortcuts: bool) -> int:
        with mock_aws(), fast_moto() if shortcuts else contextlib.nullcontext():
            ec2 = boto3.client("ec2", region_name="us-east-1")
            return len(ec2.describe_images(Owners=["amazon"])["Images"])

    assert images(shortcuts=False) > 1000
    assert images(shortcuts=True) == 0


def test_given_an_uncopied_index_query_when_answered_then_it_shares_nothing_stored() -> None:
    """Shortcut 12 skips moto's copy of the results: what a query returns must still be
    objects of its own, so that nothing done to a reply reaches the table."""
    from moto.dynamodb.models import dynamodb_backends

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create(client)
        client.put_item(
            TableName="t",
            Item={"pk": {"S": "k"}, "d": {"N": "1"}, "s": SHARD, "status": {"S": "open"}},
        )
        account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        table = dynamodb_backends[account]["us-east-1"].get_table("t")
        stored = table.get_item(DynamoType({"S": "k"}))
        with fast_moto():
            hash_key = ("s", DynamoType(SHARD))
            results, _, _ = table.query(
                None, "<=", [DynamoType({"N": "5"})], None, None, True, None, "due",
                hash_key_conditions=[hash_key],
            )  # fmt: skip
    (result,) = results
    assert result.to_json() == {"Attributes": {"pk": {"S": "k"}, "d": {"N": "1"}, "s": SHARD,
                                               "status": {"S": "open"}}}  # fmt: skip
    assert result is not stored
    assert result.hash_key is not stored.hash_key
    assert not {id(v) for v in result.attrs.values()} & {id(v) for v in stored.attrs.values()}


def test_given_a_url_no_service_serves_when_routed_then_none() -> None:
    class Request:
        url = "https://example.invalid/path"

    with mock_aws():
        assert MotoRouter()(Request()) is None


@pytest.fixture(scope="module")
def chaos_case() -> Callable[[bool], Any]:
    scenario = scenario_named("two-target-groups")

    def run(shortcuts: bool) -> Any:
        return Simulation(
            scenario, seed=7, counterfactual=False, moto_shortcuts=shortcuts
        ).run_once()

    return run


def test_given_a_simulated_world_when_run_with_shortcuts_then_its_witness_log_is_identical(
    chaos_case: Callable[[bool], Any],
) -> None:
    slow, fast = chaos_case(False), chaos_case(True)

    def entries(record: Any) -> list[tuple[Any, ...]]:
        return [(o.at, o.kind, o.subject, repr(sorted(o.data.items()))) for o in record.log]

    assert len(slow.log) > 100
    assert entries(fast) == entries(slow)
    assert fast.aws_calls == slow.aws_calls


def test_given_shortcuts_when_a_due_index_is_queried_then_moto_walks_no_whole_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The narrowing engages on the queries the ledger sends (moto's backend passes the
    index name by position); a query of the table itself still takes moto's own walk."""
    from moto.dynamodb.models.table import Table

    walks: list[str] = []
    whole_table = Table.all_items

    def counted(self: Any) -> Any:
        walks.append(self.name)
        return whole_table(self)

    monkeypatch.setattr(Table, "all_items", counted)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create(client)
        client.put_item(TableName="t", Item={"pk": {"S": "k"}, "d": {"N": "1"}, "s": SHARD})
        with fast_moto():
            due = client.query(
                TableName="t",
                IndexName="due",
                KeyConditionExpression="s = :o AND d <= :d",
                ExpressionAttributeValues={":o": SHARD, ":d": {"N": "5"}},
            )
            assert (due["Count"], walks) == (1, [])
            table = client.query(
                TableName="t",
                KeyConditionExpression="pk = :k",
                ExpressionAttributeValues={":k": {"S": "k"}},
            )
    assert (table["Count"], walks) == (1, ["t"])


def test_given_one_session_for_region_lists_when_regions_listed_then_as_from_fresh_sessions() -> (
    None
):
    """Shortcut 10: moto's EC2 import lists regions the same way, from one botocore session."""
    import boto3

    session_class = boto3.Session
    partitions = ("aws", "aws-us-gov", "aws-cn")

    def regions() -> list[list[str]]:
        return [boto3.Session().get_available_regions("ec2", partition_name=p) for p in partitions]

    fresh = regions()
    with one_session_for_region_lists():
        shared = regions()
        first, second = boto3.Session(), boto3.Session()
        configured = boto3.Session(region_name="eu-west-1")
    assert shared == fresh
    assert all(fresh)
    assert first._session is second._session, "one botocore session inside"
    assert configured.region_name == "eu-west-1", "a Session with arguments is boto3's own"
    assert boto3.Session is session_class


def test_given_a_loader_when_moto_reads_a_service_model_then_through_it_and_the_same() -> None:
    """Shortcut 11: moto reads service models through the loader it is given."""
    import botocore.session
    from moto.core import utils as moto_utils

    loader = botocore.session.get_session().get_component("data_loader")
    read: list[tuple[str, str]] = []

    class Spy:
        def load_service_model(self, service: str, kind: str) -> Any:
            read.append((service, kind))
            return loader.load_service_model(service, kind)

    own = moto_utils._load_service_model("dynamodb", "service-2")
    with fast_moto(Spy()):
        given = moto_utils._load_service_model("dynamodb", "service-2")
    with fast_moto():
        moto_utils._load_service_model("dynamodb", "service-2")

    assert given == own
    assert read == [("dynamodb", "service-2")], "read through the loader, and only with one"

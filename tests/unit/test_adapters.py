"""Adapters on real boto3 clients with botocore's Stubber: request shapes and error mapping."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless.adapters import DynamoLedger, EcsAdapter, TargetHealthAdapter
from serverless.adapters.clients import LazyClient
from serverless.adapters.dynamodb_ledger import DUE_INDEX, OPEN, from_item, to_item
from serverless.adapters.ecs import DESCRIBE_TASKS_BATCH
from serverless.adapters.errors import CLIENT_CONFIG, THROTTLING_CODES, translate
from serverless.adapters.lambda_trigger import EARLY_START_EVENT, LambdaSweepTrigger
from serverless.errors import (
    AwsUnavailableError,
    ConflictError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.model import Outcome, RecordStatus, ServiceInfo, TaskRecord
from tests.support.fakes import CLUSTER_ARN, task_arn

REGION = "us-east-1"
TABLE = "ledger"
TG_A = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web-a/0123456789abcdef"
TG_B = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web-b/fedcba9876543210"
URL = "https://ecs.us-east-1.amazonaws.com"


def client_error(code: str, message: str = "boom", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "AnyOperation",
    )


@pytest.fixture
def ecs() -> Iterator[tuple[EcsAdapter, Stubber]]:
    client = boto3.client("ecs", region_name=REGION)
    with Stubber(client) as stub:
        yield EcsAdapter(client), stub
        stub.assert_no_pending_responses()


@pytest.fixture
def ddb() -> Iterator[tuple[DynamoLedger, Stubber]]:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stub:
        yield DynamoLedger(TABLE, client), stub
        stub.assert_no_pending_responses()


@pytest.fixture
def elb() -> Iterator[tuple[TargetHealthAdapter, Stubber]]:
    client = boto3.client("elbv2", region_name=REGION)
    with Stubber(client) as stub:
        yield TargetHealthAdapter(client), stub
        stub.assert_no_pending_responses()


# -- translate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "status", "expected"),
    [
        ("ConditionalCheckFailedException", "The conditional request failed", 400, ConflictError),
        ("ThrottlingException", "Rate exceeded", 400, AwsUnavailableError),
        ("Throttling", "Rate exceeded", 400, AwsUnavailableError),
        ("ProvisionedThroughputExceededException", "", 400, AwsUnavailableError),
        ("RequestLimitExceeded", "", 400, AwsUnavailableError),
        ("ServerException", "", 500, AwsUnavailableError),
        ("ServiceUnavailable", "", 503, AwsUnavailableError),
        ("InternalFailure", "", 500, AwsUnavailableError),
        ("SomethingNew", "unmodelled", 500, AwsUnavailableError),
        ("SomethingNew", "unmodelled", 503, AwsUnavailableError),
        ("ServiceNotFoundException", "Service not found.", 400, NotFoundError),
        ("ClusterNotFoundException", "Cluster not found.", 400, NotFoundError),
        ("TargetGroupNotFound", "One or more target groups not found", 400, NotFoundError),
        ("InvalidParameterException", "The referenced task was not found.", 400, NotFoundError),
        ("AccessDeniedException", "not authorized to perform ecs:StopTask", 400, PermanentAwsError),
        ("ValidationException", "1 validation error", 400, PermanentAwsError),
        ("InvalidParameterException", "Invalid reason", 400, PermanentAwsError),
        ("ResourceNotFoundException", "Requested resource not found", 400, NotFoundError),
    ],
)
def test_given_client_error_when_translated_then_domain_error_by_code_and_status(
    code: str, message: str, status: int, expected: type[DrainTerminatorError]
) -> None:
    error = translate(client_error(code, message, status), "StopTask")
    assert type(error) is expected
    assert str(error) == f"StopTask: {code}: {message}"


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_given_any_listed_throttling_code_when_translated_then_unavailable(code: str) -> None:
    assert isinstance(translate(client_error(code), "Query"), AwsUnavailableError)


def test_given_client_error_without_details_when_translated_then_permanent() -> None:
    error = translate(ClientError({}, "GetItem"), "GetItem")
    assert isinstance(error, PermanentAwsError)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(EndpointConnectionError(endpoint_url=URL), id="endpoint-connection"),
        pytest.param(ConnectTimeoutError(endpoint_url=URL), id="connect-timeout"),
        pytest.param(ReadTimeoutError(endpoint_url=URL), id="read-timeout"),
    ],
)
def test_given_connection_error_when_translated_then_unavailable(error: Exception) -> None:
    translated = translate(error, "DescribeTasks")
    assert isinstance(translated, AwsUnavailableError)
    assert str(translated).startswith("DescribeTasks: ")
    assert URL in str(translated)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ConnectionClosedError(endpoint_url=URL), id="connection-closed"),
        pytest.param(client_error("SomethingNew", "Too Many Requests", 429), id="http-429"),
        pytest.param(client_error("RequestTimeout", "timed out", 400), id="RequestTimeout"),
        pytest.param(
            client_error("RequestTimeoutException", "", 400), id="RequestTimeoutException"
        ),
        pytest.param(
            client_error("PriorRequestNotComplete", "", 400), id="PriorRequestNotComplete"
        ),
    ],
)
def test_given_error_botocore_retries_as_transient_when_it_outlives_retries_then_unavailable(
    error: Exception,
) -> None:
    # botocore's "standard" retry mode (CLIENT_CONFIG) treats these as transient/throttling:
    # once they survive its retries, a later attempt can still succeed.
    assert isinstance(translate(error, "StopTask"), AwsUnavailableError)


@pytest.mark.parametrize(
    "error",
    [NoCredentialsError(), ParamValidationError(report="missing cluster"), BotoCoreError()],
)
def test_given_other_botocore_error_when_translated_then_permanent(error: Exception) -> None:
    assert isinstance(translate(error, "StopTask"), PermanentAwsError)


def test_given_non_aws_error_when_translated_then_type_error() -> None:
    with pytest.raises(TypeError, match="not an AWS error"):
        translate(ValueError("x"), "StopTask")


def test_given_client_config_when_read_then_standard_retries_and_short_timeouts() -> None:
    assert CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 5}
    boto3.session.Session(region_name="us-east-1").client("ecs", config=CLIENT_CONFIG)
    # Creating a client must not rewrite the shared configuration.
    assert CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 5}
    assert CLIENT_CONFIG.connect_timeout == 3
    assert CLIENT_CONFIG.read_timeout == 10


# -- LazyClient ------------------------------------------------------------------------------------


def test_given_injected_client_when_got_then_it_is_returned() -> None:
    sentinel = object()
    assert LazyClient("ecs", sentinel).get() is sentinel


def test_given_no_client_when_got_twice_then_one_client_with_shared_config() -> None:
    lazy = LazyClient("ecs")
    client = lazy.get()
    assert lazy.get() is client
    assert client.meta.service_model.service_name == "ecs"
    assert client.meta.config.connect_timeout == 3
    assert client.meta.config.read_timeout == 10
    assert client.meta.config.retries["mode"] == "standard"


# -- ECS -------------------------------------------------------------------------------------------


def service(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "serviceName": "web",
        "status": "ACTIVE",
        "desiredCount": 3,
        "tags": [
            {"key": "drain-terminator:enabled", "value": "true"},
            {"key": "team", "value": "payments"},
        ],
        "loadBalancers": [
            {"targetGroupArn": TG_A, "containerName": "web", "containerPort": 80},
            {"targetGroupArn": TG_B, "containerName": "web", "containerPort": 8080},
            {"targetGroupArn": TG_A, "containerName": "web", "containerPort": 81},
            {"loadBalancerName": "classic", "containerName": "web", "containerPort": 80},
        ],
    }
    base.update(changes)
    return base


def test_given_service_when_described_then_tags_requested_and_info_built(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "describe_services",
        {"services": [service()], "failures": []},
        expected_params={"cluster": CLUSTER_ARN, "services": ["web"], "include": ["TAGS"]},
    )

    info = adapter.describe_service(CLUSTER_ARN, "web")

    assert info == ServiceInfo(
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        tags={"drain-terminator:enabled": "true", "team": "payments"},
        desired_count=3,
        target_group_arns=(TG_A, TG_B),
    )


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(
            {"services": [], "failures": [{"arn": "x", "reason": "MISSING"}]}, id="missing"
        ),
        pytest.param({"services": [service(status="INACTIVE")]}, id="inactive"),
    ],
)
def test_given_missing_or_inactive_service_when_described_then_none(
    ecs: tuple[EcsAdapter, Stubber], response: dict[str, Any]
) -> None:
    adapter, stub = ecs
    stub.add_response("describe_services", response)
    assert adapter.describe_service(CLUSTER_ARN, "web") is None


@pytest.mark.parametrize("code", ["ClusterNotFoundException", "ServiceNotFoundException"])
def test_given_not_found_error_when_service_described_then_none(
    ecs: tuple[EcsAdapter, Stubber], code: str
) -> None:
    adapter, stub = ecs
    stub.add_client_error("describe_services", code, "not found")
    assert adapter.describe_service(CLUSTER_ARN, "web") is None


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, AwsUnavailableError),
        ("ServerException", 500, AwsUnavailableError),
        ("AccessDeniedException", 400, PermanentAwsError),
    ],
)
def test_given_failing_describe_services_when_described_then_domain_error_keeps_cause(
    ecs: tuple[EcsAdapter, Stubber], code: str, status: int, expected: type[Exception]
) -> None:
    adapter, stub = ecs
    stub.add_client_error("describe_services", code, "nope", http_status_code=status)
    with pytest.raises(expected) as caught:
        adapter.describe_service(CLUSTER_ARN, "web")
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.__cause__.response["Error"]["Code"] == code


def test_given_service_without_tags_when_described_then_empty_tags(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "describe_services", {"services": [service(tags=[], loadBalancers=[], desiredCount=0)]}
    )
    info = adapter.describe_service(CLUSTER_ARN, "web")
    assert info is not None
    assert info.tags == {}
    assert info.target_group_arns == ()


def test_given_230_tasks_with_duplicates_when_described_then_batches_of_100_in_order(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    arns = [task_arn(i) for i in range(230)]
    requested = arns + arns[:10]  # duplicates are asked for once
    assert DESCRIBE_TASKS_BATCH == 100
    for start in (0, 100, 200):
        batch = arns[start : start + 100]
        stub.add_response(
            "describe_tasks",
            {
                "tasks": [
                    {"taskArn": a, "lastStatus": "DEACTIVATING", "desiredStatus": "STOPPED"}
                    for a in batch
                ],
                "failures": [],
            },
            expected_params={"cluster": CLUSTER_ARN, "tasks": batch},
        )

    states = adapter.describe_tasks(CLUSTER_ARN, requested)

    assert list(states) == arns
    assert all(s.draining for s in states.values())


def test_given_task_times_when_described_then_epoch_seconds_and_missing_tasks_left_out(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stopping = datetime(2026, 11, 22, 10, 2, 0, 318000, tzinfo=UTC)
    stopped = datetime(2026, 11, 22, 10, 2, 35, 118000, tzinfo=UTC)
    stub.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": task_arn(1),
                    "lastStatus": "STOPPED",
                    "desiredStatus": "STOPPED",
                    "stoppedReason": "drain-terminator: ...",
                    "stopCode": "UserInitiated",
                    "stoppingAt": stopping,
                    "stoppedAt": stopped,
                }
            ],
            "failures": [{"arn": task_arn(2), "reason": "MISSING"}],
        },
    )

    states = adapter.describe_tasks(CLUSTER_ARN, [task_arn(1), task_arn(2)])

    assert set(states) == {task_arn(1)}
    state = states[task_arn(1)]
    assert state.stopping_at == stopping.timestamp()
    assert state.stopped_at == stopped.timestamp()
    assert state.stopped_reason == "drain-terminator: ..."
    assert state.stop_code == "UserInitiated"
    assert not state.draining


def test_given_no_tasks_when_described_then_no_call(ecs: tuple[EcsAdapter, Stubber]) -> None:
    adapter, _ = ecs
    assert adapter.describe_tasks(CLUSTER_ARN, []) == {}


def test_given_cluster_gone_when_tasks_described_then_empty(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_client_error("describe_tasks", "ClusterNotFoundException", "Cluster not found.")
    assert adapter.describe_tasks(CLUSTER_ARN, [task_arn(1)]) == {}


def test_given_throttled_describe_tasks_when_described_then_unavailable_with_cause(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_client_error("describe_tasks", "ThrottlingException", "Rate exceeded")
    with pytest.raises(AwsUnavailableError, match="DescribeTasks: ThrottlingException") as caught:
        adapter.describe_tasks(CLUSTER_ARN, [task_arn(1)])
    assert isinstance(caught.value.__cause__, ClientError)


def test_given_stop_when_requested_then_cluster_task_and_reason_sent(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "stop_task",
        {"task": {"taskArn": task_arn(1)}},
        expected_params={"cluster": CLUSTER_ARN, "task": task_arn(1), "reason": "why"},
    )
    adapter.stop_task(CLUSTER_ARN, task_arn(1), "why")


@pytest.mark.parametrize(
    ("code", "message", "status", "expected"),
    [
        ("InvalidParameterException", "The referenced task was not found.", 400, NotFoundError),
        ("ClusterNotFoundException", "Cluster not found.", 400, NotFoundError),
        ("ThrottlingException", "Rate exceeded", 400, AwsUnavailableError),
        ("ServerException", "Service unavailable", 500, AwsUnavailableError),
        ("AccessDeniedException", "not authorized", 400, PermanentAwsError),
    ],
)
def test_given_failing_stop_task_when_stopped_then_domain_error_keeps_cause(
    ecs: tuple[EcsAdapter, Stubber],
    code: str,
    message: str,
    status: int,
    expected: type[Exception],
) -> None:
    adapter, stub = ecs
    stub.add_client_error("stop_task", code, message, http_status_code=status)
    with pytest.raises(expected, match=rf"^StopTask: {code}: ") as caught:
        adapter.stop_task(CLUSTER_ARN, task_arn(1), "why")
    cause = caught.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == code


class _Unreachable:
    """A client whose every call fails to connect."""

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url=URL)

        return call


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda: EcsAdapter(_Unreachable()).stop_task(CLUSTER_ARN, "t", "r"), id="stop"
        ),
        pytest.param(
            lambda: EcsAdapter(_Unreachable()).describe_tasks(CLUSTER_ARN, ["t"]), id="dt"
        ),
        pytest.param(
            lambda: EcsAdapter(_Unreachable()).describe_service(CLUSTER_ARN, "w"), id="ds"
        ),
        pytest.param(lambda: DynamoLedger(TABLE, _Unreachable()).get("t"), id="get"),
        pytest.param(lambda: DynamoLedger(TABLE, _Unreachable()).has_open(), id="query"),
        pytest.param(lambda: TargetHealthAdapter(_Unreachable()).healthy_count(TG_A), id="elb"),
    ],
)
def test_given_unreachable_endpoint_when_called_then_unavailable_from_connection_error(
    call: Any,
) -> None:
    with pytest.raises(AwsUnavailableError) as caught:
        call()
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


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
    assert item["sweep_key"] == {"S": OPEN}
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


def query_params(until: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": DUE_INDEX,
        "KeyConditionExpression": "sweep_key = :open AND due_at <= :until",
        "ExpressionAttributeValues": {":open": {"S": "open"}, ":until": {"N": until}},
    }
    if start is not None:
        params["ExclusiveStartKey"] = start
    return params


def test_given_two_pages_when_due_read_then_both_followed(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    first = full_record(task_arn=task_arn(1), status=RecordStatus.DRAINING, due_at=10.0)
    second = full_record(task_arn=task_arn(2), status=RecordStatus.DRAINING, due_at=20.5)
    last_key = {"pk": {"S": task_arn(1)}, "sweep_key": {"S": "open"}, "due_at": {"N": "10.0"}}
    stub.add_response(
        "query",
        {"Items": [to_item(first)], "LastEvaluatedKey": last_key},
        expected_params=query_params("1795341690.5"),
    )
    stub.add_response(
        "query",
        {"Items": [to_item(second)]},
        expected_params=query_params("1795341690.5", last_key),
    )

    assert list(ledger.due(until=1_795_341_690.5)) == [first, second]


def test_given_integral_until_when_due_read_then_number_is_sent_as_float_text(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_response("query", {"Items": []}, expected_params=query_params("100.0"))
    assert list(ledger.due(until=100.0)) == []


@pytest.mark.parametrize(("items", "expected"), [([{"pk": {"S": "t"}}], True), ([], False)])
def test_given_index_when_open_checked_then_one_item_query_without_paging(
    ddb: tuple[DynamoLedger, Stubber], items: list[dict[str, Any]], expected: bool
) -> None:
    ledger, stub = ddb
    stub.add_response(
        "query",
        {"Items": items, "LastEvaluatedKey": {"pk": {"S": "t"}}},
        expected_params={
            "TableName": TABLE,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "sweep_key = :open",
            "ExpressionAttributeValues": {":open": {"S": "open"}},
            "Limit": 1,
        },
    )
    assert ledger.has_open() is expected


def test_given_throttled_query_when_due_read_then_unavailable_with_cause(
    ddb: tuple[DynamoLedger, Stubber],
) -> None:
    ledger, stub = ddb
    stub.add_client_error("query", "ProvisionedThroughputExceededException", "slow down")
    with pytest.raises(AwsUnavailableError, match=r"^Query: ") as caught:
        list(ledger.due(until=1.0))
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


# -- target health ---------------------------------------------------------------------------------


def test_given_targets_in_several_states_when_counted_then_only_healthy_ones(
    elb: tuple[TargetHealthAdapter, Stubber],
) -> None:
    adapter, stub = elb
    states = ["healthy", "draining", "healthy", "unhealthy", "initial", "unused", "healthy"]
    stub.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"10.20.1.{i}", "Port": 80}, "TargetHealth": {"State": s}}
                for i, s in enumerate(states)
            ]
        },
        expected_params={"TargetGroupArn": TG_A},
    )
    assert adapter.healthy_count(TG_A) == 3


def test_given_empty_target_group_when_counted_then_zero(
    elb: tuple[TargetHealthAdapter, Stubber],
) -> None:
    adapter, stub = elb
    stub.add_response("describe_target_health", {"TargetHealthDescriptions": []})
    assert adapter.healthy_count(TG_A) == 0


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TargetGroupNotFound", NotFoundError),
        ("Throttling", AwsUnavailableError),
        ("AccessDenied", PermanentAwsError),
    ],
)
def test_given_failing_describe_target_health_when_counted_then_domain_error_keeps_cause(
    elb: tuple[TargetHealthAdapter, Stubber], code: str, expected: type[Exception]
) -> None:
    adapter, stub = elb
    stub.add_client_error("describe_target_health", code, "x")
    with pytest.raises(expected, match=rf"^DescribeTargetHealth: {code}") as caught:
        adapter.healthy_count(TG_A)
    assert isinstance(caught.value.__cause__, ClientError)


# -- early sweeper runs --------------------------------------------------------------------


def test_given_trigger_when_started_then_async_invoke_of_the_sweeper() -> None:
    client = boto3.session.Session(region_name="us-east-1").client("lambda")
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            expected_params={
                "FunctionName": "drain-terminator-sweeper",
                "InvocationType": "Event",
                "Payload": json.dumps(EARLY_START_EVENT).encode(),
            },
        )
        LambdaSweepTrigger("drain-terminator-sweeper", client).start()
        stub.assert_no_pending_responses()


def test_given_invoke_throttled_when_started_then_unavailable_with_cause() -> None:
    client = boto3.session.Session(region_name="us-east-1").client("lambda")
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "TooManyRequestsException", "slow down", 429)
        with pytest.raises(AwsUnavailableError) as caught:
            LambdaSweepTrigger("drain-terminator-sweeper", client).start()
    assert isinstance(caught.value.__cause__, ClientError)

"""Adapters on real boto3 clients with botocore's Stubber: request shapes and error mapping."""

from __future__ import annotations

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

from serverless.adapters import DynamoLedger, EcsAdapter, TargetHealthAdapter
from serverless.adapters.clients import LazyClient
from serverless.adapters.ecs import DESCRIBE_TASKS_BATCH
from serverless.adapters.errors import (
    CLIENT_CONFIG,
    ECS_CLIENT_CONFIG,
    THROTTLING_CODES,
    call_time_bound,
    client_config,
    translate,
)
from serverless.adapters.lambda_trigger import EARLY_START_EVENT, LambdaSweepTrigger
from serverless.domain.errors import (
    AwsUnavailableError,
    ConflictError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.domain.model import ServiceInfo
from serverless.shared.pacing import ECS_CALL_MAX_SECONDS, LEDGER_CALL_MAX_SECONDS
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


def test_given_client_configs_when_read_then_standard_retries_and_short_timeouts() -> None:
    assert CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 5}
    assert ECS_CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 3}
    boto3.session.Session(region_name="us-east-1").client("ecs", config=ECS_CLIENT_CONFIG)
    # Creating a client must not rewrite the shared configuration.
    assert ECS_CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (CLIENT_CONFIG.connect_timeout, CLIENT_CONFIG.read_timeout) == (1, 2)
    assert (ECS_CLIENT_CONFIG.connect_timeout, ECS_CLIENT_CONFIG.read_timeout) == (1, 3)
    assert client_config("ecs") is ECS_CLIENT_CONFIG
    assert client_config("elbv2") is ECS_CLIENT_CONFIG
    assert client_config("dynamodb") is CLIENT_CONFIG


def test_given_client_configs_when_bounded_then_within_what_the_sweeper_assumes() -> None:
    # 3 attempts x (1 + 3) s + backoff 1 + 2 s; 5 x (1 + 2) + 1 + 2 + 4 + 8.
    assert call_time_bound(ECS_CLIENT_CONFIG) == 15.0
    assert call_time_bound(CLIENT_CONFIG) == 30.0
    assert call_time_bound(ECS_CLIENT_CONFIG) <= ECS_CALL_MAX_SECONDS
    assert call_time_bound(CLIENT_CONFIG) <= LEDGER_CALL_MAX_SECONDS


# -- LazyClient ------------------------------------------------------------------------------------


def test_given_injected_client_when_got_then_it_is_returned() -> None:
    sentinel = object()
    assert LazyClient("ecs", sentinel).get() is sentinel


def test_given_no_client_when_got_twice_then_one_client_with_shared_config() -> None:
    lazy = LazyClient("ecs")
    client = lazy.get()
    assert lazy.get() is client
    assert client.meta.service_model.service_name == "ecs"
    assert client.meta.config.connect_timeout == 1
    assert client.meta.config.read_timeout == 3
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

    info = adapter.describe_services(CLUSTER_ARN, ["web"])["web"]

    assert info == ServiceInfo(
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        tags={"drain-terminator:enabled": "true", "team": "payments"},
        desired_count=3,
        target_group_arns=(TG_A, TG_B),
        lb_container_name="web",
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
def test_given_missing_or_inactive_service_when_described_then_left_out(
    ecs: tuple[EcsAdapter, Stubber], response: dict[str, Any]
) -> None:
    adapter, stub = ecs
    stub.add_response("describe_services", response)
    assert adapter.describe_services(CLUSTER_ARN, ["web"]) == {}


def test_given_several_services_when_described_then_one_call_keyed_by_name(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "describe_services",
        {
            "services": [service(serviceName="api"), service(), service(serviceName="other")],
            "failures": [{"arn": "gone", "reason": "MISSING"}],
        },
        expected_params={
            "cluster": CLUSTER_ARN,
            "services": ["web", "api", "gone"],
            "include": ["TAGS"],
        },
    )
    found = adapter.describe_services(CLUSTER_ARN, ["web", "api", "web", "gone"])
    assert sorted(found) == ["api", "web"]  # "other" was not asked for
    assert found["api"].service_name == "api"


def test_given_more_than_ten_services_when_described_then_refused_without_a_call(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, _ = ecs
    with pytest.raises(ValueError, match="at most 10"):
        adapter.describe_services(CLUSTER_ARN, [f"s{i}" for i in range(11)])
    assert adapter.describe_services(CLUSTER_ARN, []) == {}


@pytest.mark.parametrize("code", ["ClusterNotFoundException", "ServiceNotFoundException"])
def test_given_not_found_error_when_service_described_then_empty(
    ecs: tuple[EcsAdapter, Stubber], code: str
) -> None:
    adapter, stub = ecs
    stub.add_client_error("describe_services", code, "not found")
    assert adapter.describe_services(CLUSTER_ARN, ["web"]) == {}


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
        adapter.describe_services(CLUSTER_ARN, ["web"])
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.__cause__.response["Error"]["Code"] == code


def test_given_service_without_tags_when_described_then_empty_tags(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "describe_services", {"services": [service(tags=[], loadBalancers=[], desiredCount=0)]}
    )
    info = adapter.describe_services(CLUSTER_ARN, ["web"])["web"]
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
            lambda: EcsAdapter(_Unreachable()).describe_services(CLUSTER_ARN, ["w"]), id="ds"
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

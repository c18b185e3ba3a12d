"""Adapters for task sets, ECS-native blue/green, the backstop's reads (botocore Stubber).

moto 5 implements neither DescribeServiceDeployments, DescribeServiceRevisions nor the
Tagging API for ECS services: these request shapes are checked against botocore's own
service model here, the rest of the behaviour on moto in tests/functional.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from serverless.adapters import DynamoLedger, EcsAdapter, TaggedServices
from serverless.adapters.ecs import DESCRIBE_REVISIONS_BATCH
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.model import TaskSetInfo
from serverless.domain.serving import DeploymentView
from tests.support.fakes import CLUSTER_ARN, task_arn

REGION = "us-east-1"
BLUE = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/blue/0123456789abcdef"
GREEN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/green/fedcba9876543210"
DEPLOYMENT = "arn:aws:ecs:us-east-1:111122223333:service-deployment/prod/web/d2"
REV = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/{}"


@pytest.fixture
def ecs() -> Iterator[tuple[EcsAdapter, Stubber]]:
    client = boto3.client("ecs", region_name=REGION)
    with Stubber(client) as stub:
        yield EcsAdapter(client), stub
        stub.assert_no_pending_responses()


def service(**fields: Any) -> dict[str, Any]:
    return {"serviceName": "web", "status": "ACTIVE", "desiredCount": 4, **fields}


def describe(ecs: tuple[EcsAdapter, Stubber], svc: dict[str, Any]) -> Any:
    adapter, stub = ecs
    stub.add_response(
        "describe_services",
        {"services": [svc], "failures": []},
        {"cluster": CLUSTER_ARN, "services": ["web"], "include": ["TAGS"]},
    )
    return adapter.describe_services(CLUSTER_ARN, ["web"])["web"]


def test_given_external_service_with_task_sets_when_described_then_sets_and_their_groups(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    info = describe(
        ecs,
        service(
            deploymentController={"type": "EXTERNAL"},
            taskSets=[
                {
                    "id": "ecs-svc/1",
                    "status": "ACTIVE",
                    "computedDesiredCount": 1,
                    "loadBalancers": [{"targetGroupArn": BLUE, "containerPort": 80}],
                },
                {
                    "id": "ecs-svc/2",
                    "status": "PRIMARY",
                    "computedDesiredCount": 4,
                    "loadBalancers": [{"targetGroupArn": GREEN, "containerPort": 80}],
                },
            ],
        ),
    )

    assert info.controller == "EXTERNAL"
    assert info.target_group_arns == ()
    assert info.load_balanced
    assert info.task_sets == (
        TaskSetInfo("ecs-svc/1", "ACTIVE", (BLUE,), 1),
        TaskSetInfo("ecs-svc/2", "PRIMARY", (GREEN,), 4),
    )


def test_given_blue_green_service_when_described_then_alternate_deployment_and_revisions(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    info = describe(
        ecs,
        service(
            deploymentConfiguration={"strategy": "BLUE_GREEN"},
            loadBalancers=[
                {
                    "targetGroupArn": BLUE,
                    "containerName": "web",
                    "containerPort": 80,
                    "advancedConfiguration": {
                        "alternateTargetGroupArn": GREEN,
                        "productionListenerRule": "arn:aws:elasticloadbalancing:rule",
                        "roleArn": "arn:aws:iam::111122223333:role/ecs-bg",
                    },
                }
            ],
            deployments=[{"id": "ecs-svc/9", "status": "PRIMARY"}],
            currentServiceDeployment=DEPLOYMENT,
            currentServiceRevisions=[{"arn": REV.format(2)}],
        ),
    )

    assert (info.strategy, info.revision_based) == ("BLUE_GREEN", True)
    assert (info.target_group_arns, info.alternate_target_group_arns) == ((BLUE,), (GREEN,))
    assert (info.deployment_arn, info.revision_arns) == (DEPLOYMENT, (REV.format(2),))
    assert info.primary_deployment_id == "ecs-svc/9"


@pytest.mark.parametrize(
    ("balancers", "load_balanced"),
    [
        pytest.param([], False, id="service-connect-only"),
        pytest.param(
            [{"loadBalancerName": "classic-web", "containerPort": 80}], True, id="classic"
        ),
    ],
)
def test_given_service_without_target_group_when_described_then_load_balanced_says_so(
    ecs: tuple[EcsAdapter, Stubber], balancers: list[dict[str, Any]], load_balanced: bool
) -> None:
    info = describe(ecs, service(loadBalancers=balancers))
    assert info.load_balanced is load_balanced
    assert info.target_group_arns == ()


def test_given_deployment_when_described_then_status_stage_and_revisions(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "describe_service_deployments",
        {
            "serviceDeployments": [
                {
                    "serviceDeploymentArn": DEPLOYMENT,
                    "status": "IN_PROGRESS",
                    "lifecycleStage": "BAKE_TIME",
                    "sourceServiceRevisions": [{"arn": REV.format(1)}],
                    "targetServiceRevision": {"arn": REV.format(2)},
                }
            ],
            "failures": [],
        },
        {"serviceDeploymentArns": [DEPLOYMENT]},
    )

    assert adapter.describe_service_deployment(DEPLOYMENT) == DeploymentView(
        "IN_PROGRESS", "BAKE_TIME", (REV.format(1),), REV.format(2)
    )


def test_given_unknown_deployment_when_described_then_none(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [], "failures": [{"arn": DEPLOYMENT, "reason": "MISSING"}]},
        {"serviceDeploymentArns": [DEPLOYMENT]},
    )
    assert adapter.describe_service_deployment(DEPLOYMENT) is None


def test_given_many_revisions_when_described_then_batches_of_twenty_and_their_groups(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    arns = [REV.format(n) for n in range(DESCRIBE_REVISIONS_BATCH + 1)]
    for batch in (arns[:DESCRIBE_REVISIONS_BATCH], arns[DESCRIBE_REVISIONS_BATCH:]):
        stub.add_response(
            "describe_service_revisions",
            {
                "serviceRevisions": [
                    {"serviceRevisionArn": arn, "loadBalancers": [{"targetGroupArn": GREEN}]}
                    for arn in batch
                ],
                "failures": [],
            },
            {"serviceRevisionArns": batch},
        )

    found = adapter.describe_service_revisions(arns)

    assert found == {arn: (GREEN,) for arn in arns}


def test_given_stopping_tasks_when_listed_then_one_page_and_its_token(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    expected = {
        "cluster": CLUSTER_ARN,
        "serviceName": "web",
        "desiredStatus": "STOPPED",
        "maxResults": 100,
    }
    stub.add_response("list_tasks", {"taskArns": [task_arn(1)], "nextToken": "t2"}, expected)
    stub.add_response("list_tasks", {"taskArns": [task_arn(2)]}, {**expected, "nextToken": "t2"})

    assert adapter.list_stopping_tasks(CLUSTER_ARN, "web") == ([task_arn(1)], "t2")
    assert adapter.list_stopping_tasks(CLUSTER_ARN, "web", "t2") == ([task_arn(2)], None)


def test_given_throttled_list_when_retries_run_out_then_unavailable(
    ecs: tuple[EcsAdapter, Stubber],
) -> None:
    adapter, stub = ecs
    stub.add_client_error("list_tasks", "ThrottlingException", http_status_code=400)
    with pytest.raises(AwsUnavailableError):
        adapter.list_stopping_tasks(CLUSTER_ARN, "web")


def test_given_tagged_services_on_two_pages_when_listed_then_every_arn_and_value() -> None:
    client = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    web = "arn:aws:ecs:us-east-1:111122223333:service/prod/web"
    api = "arn:aws:ecs:us-east-1:111122223333:service/prod/api"
    request = {
        "ResourceTypeFilters": ["ecs:service"],
        "TagFilters": [{"Key": "drain-terminator:enabled"}],
        "ResourcesPerPage": 100,
    }
    with Stubber(client) as stub:
        stub.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [
                    {
                        "ResourceARN": web,
                        "Tags": [{"Key": "drain-terminator:enabled", "Value": "true"}],
                    }
                ],
                "PaginationToken": "p2",
            },
            request,
        )
        stub.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [
                    {
                        "ResourceARN": api,
                        "Tags": [{"Key": "drain-terminator:enabled", "Value": "no"}],
                    }
                ]
            },
            {**request, "PaginationToken": "p2"},
        )

        found = TaggedServices(client).tagged_services("drain-terminator:enabled")

        stub.assert_no_pending_responses()
    assert found == {web: "true", api: "no"}


def test_given_task_arns_when_the_ledger_is_asked_which_it_knows_then_keys_only_per_hundred() -> (
    None
):
    client = boto3.client("dynamodb", region_name=REGION)
    arns = [task_arn(n) for n in range(150)]
    with Stubber(client) as stub:
        for batch in (arns[:100], arns[100:]):
            stub.add_response(
                "batch_get_item",
                {"Responses": {"ledger": [{"pk": {"S": batch[0]}}]}},
                {
                    "RequestItems": {
                        "ledger": {
                            "Keys": [{"pk": {"S": arn}} for arn in batch],
                            "ProjectionExpression": "pk",
                        }
                    }
                },
            )

        known = DynamoLedger("ledger", client).known(arns + arns[:3])

        stub.assert_no_pending_responses()
    assert known == {arns[0], arns[100]}

"""Task and cluster ARNs: both task ARN formats, in the aws, aws-cn and aws-us-gov partitions."""

from __future__ import annotations

import pytest

from serverless.domain.arns import cluster_name_of, parse_cluster_arn, parse_task_arn

PARTITIONS = [
    pytest.param("aws", "us-east-1", id="aws"),
    pytest.param("aws-cn", "cn-north-1", id="aws-cn"),
    pytest.param("aws-us-gov", "us-gov-west-1", id="aws-us-gov"),
]
TASK_ID = "7e3f9c21b84d4a0f9d5e6b2c1a8f0e43"


@pytest.mark.parametrize(("partition", "region"), PARTITIONS)
def test_given_long_task_arn_when_parsed_then_cluster_and_id_are_read(
    partition: str, region: str
) -> None:
    parsed = parse_task_arn(f"arn:{partition}:ecs:{region}:111122223333:task/prod/{TASK_ID}")

    assert parsed is not None
    assert (parsed.partition, parsed.region, parsed.account) == (partition, region, "111122223333")
    assert (parsed.cluster, parsed.task_id, parsed.old_format) == ("prod", TASK_ID, False)


@pytest.mark.parametrize(("partition", "region"), PARTITIONS)
def test_given_old_format_task_arn_when_parsed_then_it_names_no_cluster(
    partition: str, region: str
) -> None:
    arn = f"arn:{partition}:ecs:{region}:111122223333:task/{TASK_ID}"
    parsed = parse_task_arn(arn)

    assert parsed is not None
    assert (parsed.cluster, parsed.task_id, parsed.old_format) == (None, TASK_ID, True)
    cluster = f"arn:{partition}:ecs:{region}:111122223333:cluster/prod"
    assert cluster_name_of(arn, cluster) == "prod"


@pytest.mark.parametrize(
    "text",
    [
        "task-1",
        f"arn:aws:ecs:us-east-1:111122223333:task/prod/{TASK_ID}/extra",
        f"arn:aws:ecs:us-east-1:1111222233:task/{TASK_ID}",
        f"arn:azure:ecs:us-east-1:111122223333:task/{TASK_ID}",
        f"arn:aws:ecs:us-east-1:111122223333:service/prod/{TASK_ID}",
        f"arn:aws:ecs:us-east-1:111122223333:task/{TASK_ID}\n",
    ],
)
def test_given_text_that_is_not_a_task_arn_when_parsed_then_none(text: str) -> None:
    assert parse_task_arn(text) is None


def test_given_long_task_arn_when_cluster_asked_then_the_arn_itself_answers() -> None:
    arn = f"arn:aws:ecs:us-east-1:111122223333:task/prod/{TASK_ID}"
    assert cluster_name_of(arn) == "prod"
    assert cluster_name_of(f"arn:aws:ecs:us-east-1:111122223333:task/{TASK_ID}") is None
    assert cluster_name_of(f"arn:aws:ecs:us-east-1:111122223333:task/{TASK_ID}", "batch") == "batch"


def test_given_cluster_arn_when_parsed_then_parts_are_read() -> None:
    parsed = parse_cluster_arn("arn:aws-us-gov:ecs:us-gov-east-1:111122223333:cluster/prod")
    assert parsed is not None
    assert (parsed.partition, parsed.region, parsed.name) == ("aws-us-gov", "us-gov-east-1", "prod")
    assert parse_cluster_arn("prod") is None

"""The backstop's plan: every service in exactly one minute of the round, ARNs, its event."""

from __future__ import annotations

import pytest

from serverless.backstop.plan import (
    BACKSTOP_EVENT,
    in_slice,
    is_backstop_event,
    service_ref,
)
from serverless.domain.early_start import EARLY_START_SOURCE

T0 = 1_795_341_600.0  # a whole minute


def test_given_a_round_when_every_minute_runs_then_each_service_is_visited_exactly_once() -> None:
    arns = [f"arn:aws:ecs:us-east-1:111122223333:service/prod/svc-{n}" for n in range(500)]
    visits = {arn: 0 for arn in arns}
    per_minute = []
    for minute in range(10):
        chosen = [arn for arn in arns if in_slice(arn, T0 + 60 * minute + 59.5, 10)]
        per_minute.append(len(chosen))
        for arn in chosen:
            visits[arn] += 1
    assert set(visits.values()) == {1}
    # Spread: no minute carries more than twice its share (CRC-32 of the ARN).
    assert max(per_minute) <= 2 * 500 / 10


def test_given_round_of_one_minute_when_asked_then_every_service_every_run() -> None:
    assert in_slice("arn:aws:ecs:us-east-1:111122223333:service/prod/web", T0, 1)


@pytest.mark.parametrize(
    ("arn", "cluster", "name"),
    [
        (
            "arn:aws:ecs:us-east-1:111122223333:service/prod/web",
            "arn:aws:ecs:us-east-1:111122223333:cluster/prod",
            "web",
        ),
        (
            "arn:aws-cn:ecs:cn-north-1:111122223333:service/prod/web",
            "arn:aws-cn:ecs:cn-north-1:111122223333:cluster/prod",
            "web",
        ),
    ],
)
def test_given_long_service_arn_when_read_then_cluster_arn_and_name(
    arn: str, cluster: str, name: str
) -> None:
    ref = service_ref(arn)
    assert ref is not None
    assert (ref.cluster_arn, ref.name) == (cluster, name)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:ecs:us-east-1:111122223333:service/web",  # short format: no cluster
        "arn:aws:ecs:us-east-1:111122223333:task/prod/abc",
        "arn:aws:ecs:us-east-1:111122223333:service/prod/web/extra",
    ],
)
def test_given_not_a_long_service_arn_when_read_then_none(arn: str) -> None:
    assert service_ref(arn) is None


def test_given_events_when_checked_then_only_the_backstop_input_is_a_backstop_event() -> None:
    assert is_backstop_event(dict(BACKSTOP_EVENT))
    assert not is_backstop_event({"source": EARLY_START_SOURCE, "detail-type": "Sweep Requested"})
    assert not is_backstop_event({"source": "aws.events", "detail-type": "Scheduled Event"})
    assert not is_backstop_event(None)

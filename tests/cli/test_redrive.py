"""`drain-terminator redrive`: the dead-letter queue's events replayed through the
task-events logic, idempotently; a message deleted only once applied (moto)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from serverless.adapters.dynamodb_ledger import from_item
from serverless.domain.model import Outcome, RecordStatus
from tests.cli.conftest import NOW, OPTED_IN, TABLE, Account, session
from tests.cli.module_world import ModuleResources, deploy_module
from tests.support.world import load_event

PREFIX = TABLE.removesuffix("-ledger")
TICK = {
    "version": "0",
    "id": "8d2f0e4c-0b7a-4c55-9a43-7a1f9b2a6c11",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "111122223333",
    "time": "2026-11-28T09:40:00Z",
    "region": "us-east-1",
    "resources": [f"arn:aws:events:us-east-1:111122223333:rule/{PREFIX}-sweeper"],
    "detail": {},
}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _event(account: Account, task_arn: str, last: str, desired: str, version: int, at: float,
           fixture: str = "fargate-drain-running.json") -> dict[str, Any]:  # fmt: skip
    """A documented task-state event (tests/events/) for one of the account's tasks."""
    event = copy.deepcopy(load_event(fixture))
    event["id"] = f"evt-{task_arn.rsplit('/', 1)[-1][:8]}-{version}"
    event["time"] = _iso(at)[:19] + "Z"
    event["resources"] = [task_arn]
    detail = event["detail"]
    detail.update(
        taskArn=task_arn,
        clusterArn=account.cluster_arn,
        lastStatus=last,
        desiredStatus=desired,
        version=version,
        updatedAt=_iso(at),
        group="service:web",
    )
    for container in detail.get("containers", []):
        container["taskArn"] = task_arn
    return event


@pytest.fixture
def queue(account: Account) -> ModuleResources:
    account.service("web", OPTED_IN, [account.target_group("web")])
    return deploy_module(PREFIX)


def _send(resources: ModuleResources, *bodies: object) -> None:
    sqs = session().client("sqs")
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        sqs.send_message(
            QueueUrl=resources.queue_url,
            MessageBody=text,
            MessageAttributes={
                "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Lambda throttled"},
            },
        )


def _depth(resources: ModuleResources) -> int:
    sqs = session().client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=resources.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _record(account: Account, task_arn: str) -> Any:
    item = account.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": task_arn}}).get("Item")
    return from_item(item) if item else None


def test_given_dead_lettered_drain_events_when_redriven_then_recorded_and_deleted(
    account: Account, queue: ModuleResources
) -> None:
    draining = account.task("web", "RUNNING", "STOPPED")
    stopped = account.task("web", "STOPPED", "STOPPED")
    _send(
        queue,
        _event(account, draining, "RUNNING", "STOPPED", 3, NOW - 300),
        _event(account, stopped, "STOPPED", "STOPPED", 5, NOW - 200, "fargate-stopped.json"),
        TICK,
    )

    result = account.cli("redrive", "--json")

    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["counts"] == {
        "applied": 2, "tick": 1, "rejected": 0, "unreadable": 0, "failed": 0,
    }  # fmt: skip
    assert report["left_in_queue"] == 0
    record = _record(account, draining)
    assert record.status is RecordStatus.DRAINING
    assert record.drain_started_at == pytest.approx(NOW - 300)  # the event's own time
    assert record.due_at == pytest.approx(NOW - 180)  # due now: the next sweeper pass looks
    assert _record(account, stopped).outcome is Outcome.STOPPED_BY_ECS
    assert _depth(queue) == 0


def test_given_the_same_events_twice_when_redriven_then_the_ledger_is_unchanged(
    account: Account, queue: ModuleResources
) -> None:
    draining = account.task("web", "RUNNING", "STOPPED")
    event = _event(account, draining, "RUNNING", "STOPPED", 3, NOW - 300)
    _send(queue, event)
    assert account.cli("redrive").code == 0
    first = _record(account, draining)

    _send(queue, event, event)
    result = account.cli("redrive", "--json")

    assert result.code == 0
    actions = [m["action"] for m in json.loads(result.out)["messages"]]
    assert actions == ["unchanged", "unchanged"]
    assert _record(account, draining) == first


def test_given_messages_that_cannot_be_applied_when_redriven_then_they_stay_in_the_queue(
    account: Account, queue: ModuleResources
) -> None:
    malformed = _event(account, account.task("web"), "RUNNING", "STOPPED", 3, NOW)
    malformed["detail"]["taskArn"] = "not-an-arn"
    good = _event(account, account.task("web", "RUNNING", "STOPPED"), "RUNNING", "STOPPED", 3, NOW)
    _send(queue, "not json at all", malformed, good)

    result = account.cli("redrive")

    assert result.code == 3
    assert "1 replayed, 0 sweeper tick(s) dropped (the schedule replaces them), 2 left" in (
        result.out
    )
    assert "unreadable KEPT" in result.out
    assert "(Lambda throttled)" in result.out
    assert "rejected   KEPT" in result.out
    assert _depth(queue) == 2


def test_given_the_ledger_refuses_writes_when_redriven_then_nothing_is_deleted(
    account: Account, queue: ModuleResources
) -> None:
    draining = account.task("web", "RUNNING", "STOPPED")
    _send(queue, _event(account, draining, "RUNNING", "STOPPED", 3, NOW - 300))

    def deny(**kwargs: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no PutItem"}}, "PutItem"
        )

    account.dynamodb.meta.events.register("before-call.dynamodb.PutItem", deny)
    result = account.cli("redrive", "--json")

    assert result.code == 3
    message = json.loads(result.out)["messages"][0]
    assert message["outcome"] == "failed"
    assert "AccessDeniedException" in message["detail"]
    assert message["deleted"] is False
    assert _depth(queue) == 1


def test_given_an_empty_queue_when_redriven_then_nothing_to_do(
    account: Account, queue: ModuleResources
) -> None:
    result = account.cli("redrive")

    assert result.code == 0
    assert result.out.startswith(f"dead-letter queue {queue.queue_url}: 0 message(s)")


def test_given_no_queue_when_redriven_then_one_line_error(account: Account) -> None:
    result = account.cli("redrive")

    assert result.code == 1
    assert result.err == (
        f"drain-terminator: error: dead-letter queue '{PREFIX}-dlq' not found: check "
        "--name-prefix or pass --queue-url\n"
    )

"""What ``doctor`` and ``redrive`` read of the module's own resources: the functions, their
rules, the dead-letter queue, the alarms and their SNS topics, the ledger table.

Every reader returns plain values (``None`` for a resource that does not exist); other
AWS failures are raised as :mod:`serverless.domain.errors` types by :class:`AwsAccess`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from serverless.cli.aws.session import AwsAccess

__all__ = [
    "AlarmView",
    "DeploymentReader",
    "FunctionView",
    "QueueMessage",
    "QueueView",
    "RuleView",
    "TopicView",
    "message_event",
]

T = TypeVar("T")

#: Error codes meaning "no such resource" for the calls below.
_MISSING = frozenset(
    {
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "NotFoundException",
    }
)


@dataclass(frozen=True, slots=True)
class FunctionView:
    """A Lambda function as GetFunction and GetFunctionConcurrency show it."""

    name: str
    arn: str
    state: str
    state_reason: str | None = None
    last_update_status: str | None = None
    reserved_concurrency: int | None = None
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleView:
    """An EventBridge rule and the ARNs of its targets."""

    name: str
    arn: str
    state: str
    target_arns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueView:
    """The dead-letter queue and its approximate depth."""

    url: str
    visible: int
    in_flight: int


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One received message: its body and the handle that deletes it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlarmView:
    """A CloudWatch alarm's name and where it notifies."""

    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicView:
    """An SNS topic's subscriptions: confirmed and pending."""

    arn: str
    confirmed: int
    pending: int


def _missing(call: Callable[[], T]) -> Callable[[], T | None]:
    def run() -> T | None:
        try:
            return call()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in _MISSING:
                return None
            raise

    return run


class DeploymentReader:
    """Reads (and, for redrive, receives and deletes) through one :class:`AwsAccess`."""

    def __init__(self, access: AwsAccess) -> None:
        self._access = access

    def _client(self, service: str) -> Any:
        return self._access.client(service)

    def table_status(self, table: str) -> str | None:
        """DescribeTable's TableStatus, or None when the table does not exist."""
        response = self._access.call(
            "DescribeTable",
            _missing(lambda: self._client("dynamodb").describe_table(TableName=table)),
        )
        return None if response is None else str(response["Table"].get("TableStatus", ""))

    def function(self, name: str) -> FunctionView | None:
        """The function (GetFunction, GetFunctionConcurrency), or None."""
        response = self._access.call(
            "GetFunction", _missing(lambda: self._client("lambda").get_function(FunctionName=name))
        )
        if response is None:
            return None
        config = response.get("Configuration", {})
        reserved = (response.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        if reserved is None:
            concurrency = self._access.call(
                "GetFunctionConcurrency",
                _missing(
                    lambda: self._client("lambda").get_function_concurrency(FunctionName=name)
                ),
            )
            reserved = (concurrency or {}).get("ReservedConcurrentExecutions")
        variables = (config.get("Environment") or {}).get("Variables") or {}
        return FunctionView(
            name=str(config.get("FunctionName", name)),
            arn=str(config.get("FunctionArn", "")),
            state=str(config.get("State") or "Active"),
            state_reason=config.get("StateReason"),
            last_update_status=config.get("LastUpdateStatus"),
            reserved_concurrency=None if reserved is None else int(reserved),
            environment={str(k): str(v) for k, v in variables.items()},
        )

    def rule(self, name: str) -> RuleView | None:
        """The rule on the default bus (DescribeRule, ListTargetsByRule), or None."""
        events = self._client("events")
        response = self._access.call(
            "DescribeRule", _missing(lambda: events.describe_rule(Name=name))
        )
        if response is None:
            return None
        targets = self._access.call(
            "ListTargetsByRule", lambda: events.list_targets_by_rule(Rule=name)
        )
        return RuleView(
            name=str(response.get("Name", name)),
            arn=str(response.get("Arn", "")),
            state=str(response.get("State", "")),
            target_arns=tuple(str(t.get("Arn", "")) for t in targets.get("Targets", [])),
        )

    def queue_url(self, name: str) -> str | None:
        """GetQueueUrl, or None when there is no such queue."""
        response = self._access.call(
            "GetQueueUrl", _missing(lambda: self._client("sqs").get_queue_url(QueueName=name))
        )
        return None if response is None else str(response["QueueUrl"])

    def queue(self, url: str) -> QueueView | None:
        """The queue's approximate depth, or None when it does not exist."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        response = self._access.call(
            "GetQueueAttributes",
            _missing(
                lambda: self._client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)
            ),
        )
        if response is None:
            return None
        attributes = response.get("Attributes", {})
        return QueueView(
            url,
            int(attributes.get(names[0], 0)),
            int(attributes.get(names[1], 0)),
        )

    def receive(self, url: str, visibility_seconds: int) -> list[QueueMessage]:
        """Up to 10 messages, hidden from other receivers for ``visibility_seconds``.

        Long polling (a 1 s wait): a short poll samples only some of SQS's servers and may
        answer "empty" for a queue that is not, which would end a redrive early.
        """
        response = self._access.call(
            "ReceiveMessage",
            lambda: self._client("sqs").receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                VisibilityTimeout=visibility_seconds,
                MessageAttributeNames=["All"],
            ),
        )
        messages = []
        for message in response.get("Messages", []):
            attributes = {
                str(name): str(value.get("StringValue", ""))
                for name, value in (message.get("MessageAttributes") or {}).items()
            }
            messages.append(
                QueueMessage(
                    str(message["MessageId"]),
                    str(message["ReceiptHandle"]),
                    str(message.get("Body", "")),
                    attributes,
                )
            )
        return messages

    def delete(self, url: str, message: QueueMessage) -> None:
        """DeleteMessage."""
        self._access.call(
            "DeleteMessage",
            lambda: self._client("sqs").delete_message(
                QueueUrl=url, ReceiptHandle=message.receipt_handle
            ),
        )

    def release(self, url: str, messages: Sequence[QueueMessage]) -> None:
        """Make messages visible again at once (ChangeMessageVisibility 0)."""
        sqs = self._client("sqs")

        def show(handle: str) -> Any:
            return sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
            )

        for message in messages:
            self._access.call(
                "ChangeMessageVisibility",
                _missing(functools.partial(show, message.receipt_handle)),
            )

    def alarms(self, name_prefix: str) -> list[AlarmView]:
        """The metric alarms whose names start with ``name_prefix``."""
        cloudwatch = self._client("cloudwatch")
        kwargs: dict[str, Any] = {"AlarmNamePrefix": name_prefix}
        found: list[AlarmView] = []
        while True:
            response = self._access.call(
                "DescribeAlarms", lambda: cloudwatch.describe_alarms(**kwargs)
            )
            found.extend(
                AlarmView(str(a["AlarmName"]), tuple(str(x) for x in a.get("AlarmActions", [])))
                for a in response.get("MetricAlarms", [])
            )
            token = response.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def topic(self, arn: str) -> TopicView | None:
        """The topic's subscriptions, or None when it does not exist."""
        sns = self._client("sns")
        kwargs: dict[str, Any] = {"TopicArn": arn}
        confirmed = pending = 0
        while True:
            response = self._access.call(
                "ListSubscriptionsByTopic",
                _missing(lambda: sns.list_subscriptions_by_topic(**kwargs)),
            )
            if response is None:
                return None
            for subscription in response.get("Subscriptions", []):
                if str(subscription.get("SubscriptionArn", "")).startswith("arn:"):
                    confirmed += 1
                else:
                    pending += 1
            token = response.get("NextToken")
            if not token:
                return TopicView(arn, confirmed, pending)
            kwargs["NextToken"] = token


def message_event(message: QueueMessage) -> Mapping[str, Any] | None:
    """The event a dead-lettered message carries (its JSON body), or None."""
    try:
        event = json.loads(message.body)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None

"""The Terraform module's own resources, created in moto as the module names and wires them.

The CLI's moto account (conftest) and the simulator's world (sim/) hold the ledger, the
cluster, the services and their target groups; ``terraform apply`` of terraform/ would
add the functions, their rules (the module's event pattern and schedule, each targeting
its function with the dead-letter queue), the queue, the alarm topic with a subscription,
and the alarms. :func:`deploy_module` adds those, named from the module's locals
(``<name_prefix>-task-events`` ...), so ``doctor`` can be run against a whole deployment.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

from sim.terraform import rule_pattern, schedule_expression

__all__ = ["ModuleResources", "deploy_module"]

#: The alarms of terraform/alarms.tf (names after the prefix).
ALARMS = ("task-events-errors", "sweeper-errors", "dlq-depth", "StopsFailed", "StopsUnconfirmed")


@dataclass(frozen=True)
class ModuleResources:
    """What :func:`deploy_module` created."""

    name_prefix: str
    functions: dict[str, str]  # role -> function ARN
    rules: dict[str, str]  # role -> rule name
    queue_url: str
    queue_arn: str
    topic_arn: str

    def module_outputs(self, table: str) -> dict[str, Any]:
        """The module's outputs (terraform/outputs.tf) for these resources, by name."""
        return {
            "table_name": table,
            "tag_prefix": "drain-terminator:",
            "functions": {
                role: {
                    "name": f"{self.name_prefix}-{role}",
                    "arn": self.functions[role],
                    "rule_arn": f"arn:aws:events:us-east-1:111122223333:rule/{self.rules[role]}",
                }
                for role in ("task-events", "sweeper")
            },
            "dead_letter_queue_url": self.queue_url,
            "alarm_topic_arn": self.topic_arn,
        }

    def outputs(self, table: str, *, reexported: bool = False) -> dict[str, dict[str, Any]]:
        """``terraform output -json`` of the module's root, or of a root that re-exports
        the module as ``drain_terminator`` (as terraform/examples do)."""
        values = self.module_outputs(table)
        if reexported:
            return {"drain_terminator": {"value": values, "type": "object"}}
        return {key: {"value": value} for key, value in values.items()}


@functools.cache
def _session(region: str) -> boto3.session.Session:
    # One per process: its loader keeps the parsed service models between tests.
    return boto3.session.Session(region_name=region)


def _package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def deploy_module(
    name_prefix: str, *, region: str = "us-east-1", subscribe: bool = True
) -> ModuleResources:
    """Create the module's functions, rules, queue, topic and alarms (inside mock_aws)."""
    session = _session(region)
    iam, lambda_ = session.client("iam"), session.client("lambda")
    events, sqs = session.client("events"), session.client("sqs")
    sns, cloudwatch = session.client("sns"), session.client("cloudwatch")

    queue_url = sqs.create_queue(QueueName=f"{name_prefix}-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    functions: dict[str, str] = {}
    rules: dict[str, str] = {}
    for role, rule_name, rule in (
        ("task-events", f"{name_prefix}-task-state-change", {"EventPattern": rule_pattern()}),
        ("sweeper", f"{name_prefix}-sweeper", {"ScheduleExpression": schedule_expression()}),
    ):
        role_arn = iam.create_role(
            RoleName=f"{name_prefix}-{role}", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        functions[role] = lambda_.create_function(
            FunctionName=f"{name_prefix}-{role}",
            Runtime="python3.12",
            Role=role_arn,
            Handler=f"handlers.{role.replace('-', '_')}.handler",
            Code={"ZipFile": _package()},
            DeadLetterConfig={"TargetArn": queue_arn},
        )["FunctionArn"]
        events.put_rule(Name=rule_name, **rule)
        events.put_targets(
            Rule=rule_name,
            Targets=[
                {
                    "Id": role,
                    "Arn": functions[role],
                    "DeadLetterConfig": {"Arn": queue_arn},
                }
            ],
        )
        rules[role] = rule_name
    topic_arn = sns.create_topic(Name=f"{name_prefix}-alarms")["TopicArn"]
    if subscribe:
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="oncall@example.com")
    for alarm in ALARMS:
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name_prefix}-{alarm}",
            MetricName=alarm,
            Namespace="EcsDrainTerminator",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[topic_arn],
        )
    return ModuleResources(name_prefix, functions, rules, queue_url, queue_arn, topic_arn)

"""Lambda entry point for EventBridge "ECS Task State Change" events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from serverless.app import current
from serverless.observability import logger, metrics, tracer

__all__ = ["handler"]

# Cold start: read the settings once and wire the App; a bad configuration fails loudly here.
current()


@logger.inject_lambda_context(correlation_id_path="detail.taskArn", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """Record drains and stops of opted-in service tasks in the ledger."""
    return current().handle_task_event(event)

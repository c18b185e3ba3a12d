"""Lambda entry point of the scheduled sweeper (EventBridge rule, rate(1 minute))."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from serverless.app import current
from serverless.observability import logger, metrics, tracer

__all__ = ["handler"]

# Cold start: read the settings once and wire the App; a bad configuration fails loudly here.
current()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    """Stop every draining task whose wait is over, within the invocation's time."""
    return current().sweep(context.get_remaining_time_in_millis, run_id=context.aws_request_id)

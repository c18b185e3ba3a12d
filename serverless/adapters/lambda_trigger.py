"""Start the sweeper function asynchronously (Lambda Invoke, InvocationType=Event)."""

from __future__ import annotations

import json
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors

__all__ = ["EARLY_START_EVENT", "LambdaSweepTrigger"]

#: The payload of an early run; the sweeper treats every event the same way.
EARLY_START_EVENT = {"source": "drain-terminator", "detail-type": "Sweep Requested", "detail": {}}


class LambdaSweepTrigger:
    """:class:`serverless.ports.SweepTrigger` on botocore's Lambda client."""

    def __init__(self, function_name: str, client: Any | None = None) -> None:
        self._function = function_name
        self._client = LazyClient("lambda", client)

    def start(self) -> None:
        """Invoke the sweeper asynchronously; Lambda queues (and retries) the run."""
        with aws_errors("Invoke"):
            self._client.get().invoke(
                FunctionName=self._function,
                InvocationType="Event",
                Payload=json.dumps(EARLY_START_EVENT).encode(),
            )

"""Start the sweeper function asynchronously (Lambda Invoke, InvocationType=Event)."""

from __future__ import annotations

import json
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors
from serverless.domain.early_start import EARLY_START_SOURCE

__all__ = ["EARLY_START_EVENT", "LambdaSweepTrigger"]

#: The payload of an early run (the sweeper then looks at the ledger once more before it
#: returns, see :data:`serverless.domain.early_start.EARLY_START_DEBOUNCE_SECONDS`).
EARLY_START_EVENT = {"source": EARLY_START_SOURCE, "detail-type": "Sweep Requested", "detail": {}}


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

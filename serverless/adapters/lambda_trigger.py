"""Start the sweeper function asynchronously (Lambda Invoke, InvocationType=Event)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import translate

__all__ = ["KICK_EVENT", "LambdaSweepTrigger"]

#: The payload of a kicked run; the sweeper treats every event the same way.
KICK_EVENT = {"source": "drain-terminator", "detail-type": "Sweep Requested", "detail": {}}


class LambdaSweepTrigger:
    """:class:`serverless.ports.SweepTrigger` on boto3's Lambda client."""

    def __init__(self, function_name: str, client: Any | None = None) -> None:
        self._function = function_name
        self._client = LazyClient("lambda", client)

    def kick(self) -> None:
        """Invoke the sweeper asynchronously; Lambda queues (and retries) the run."""
        try:
            self._client.get().invoke(
                FunctionName=self._function,
                InvocationType="Event",
                Payload=json.dumps(KICK_EVENT).encode(),
            )
        except (ClientError, BotoCoreError) as error:
            raise translate(error, "Invoke") from error

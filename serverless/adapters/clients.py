"""Lazily created boto3 clients: nothing connects until the first call needs it."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from serverless.adapters.errors import CLIENT_CONFIG

__all__ = ["LazyClient"]


class LazyClient:
    """Holds an injected client, or creates the default one on first use."""

    def __init__(self, service: str, client: Any | None = None) -> None:
        self._service = service
        self._client = client
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The client (created with the shared retry configuration when not injected)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = boto3.client(self._service, config=CLIENT_CONFIG)
        return self._client

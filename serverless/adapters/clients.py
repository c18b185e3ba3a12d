"""Lazily created botocore clients: nothing connects until the first call needs it.

Clients come from botocore directly (not boto3, which would also import s3transfer and
the resource layer the functions never use).
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.session

from serverless.adapters.errors import client_config

__all__ = ["LazyClient", "shared_session"]

_SESSION_LOCK = threading.Lock()
_session: botocore.session.Session | None = None


def shared_session() -> botocore.session.Session:
    """The process's botocore session (the function's own credentials), made on first use."""
    global _session  # noqa: PLW0603 - one botocore session per process, created lazily
    with _SESSION_LOCK:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def _create_client(service: str) -> Any:
    session = shared_session()
    with _SESSION_LOCK:  # botocore sessions are not thread-safe; their clients are
        return session.create_client(service, config=client_config(service))


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
                    self._client = _create_client(self._service)
        return self._client

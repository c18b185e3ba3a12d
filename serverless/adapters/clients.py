"""Lazily created botocore clients: nothing connects until the first call needs it.

Clients come from botocore directly (not boto3, which would also import s3transfer and
the resource layer the functions never use).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import HTTPClientError

from serverless.adapters.errors import RATE_LIMITER_WAIT_MAX_SECONDS, THROTTLE_CODES, client_config

__all__ = [
    "LazyClient",
    "RateLimiterHeldError",
    "ThrottleCounter",
    "cap_rate_limiter_wait",
    "shared_session",
]

_SESSION_LOCK = threading.Lock()
_session: botocore.session.Session | None = None
_QUEUED_AT = "drain_terminator_queued_at"


class RateLimiterHeldError(HTTPClientError):  # type: ignore[misc]
    """botocore's adaptive rate limiter held an attempt longer than
    :data:`~serverless.adapters.errors.RATE_LIMITER_WAIT_MAX_SECONDS`: it is not sent
    (retried as a transient error, then :class:`~serverless.domain.errors.AwsUnavailableError`)."""

    fmt = "the client-side rate limiter held the request for {waited:.1f} s: not sent"


_monotonic = time.monotonic


def _queued(request: Any, **_: Any) -> None:
    request.context[_QUEUED_AT] = _monotonic()


def _held_too_long(request: Any, **_: Any) -> None:
    queued = request.context.get(_QUEUED_AT)
    if queued is None:
        return
    waited = _monotonic() - queued
    if waited > RATE_LIMITER_WAIT_MAX_SECONDS:
        raise RateLimiterHeldError(waited=waited)


def shared_session() -> botocore.session.Session:
    """The process's botocore session (the function's own credentials), made on first use."""
    global _session  # noqa: PLW0603 - one botocore session per process, created lazily
    with _SESSION_LOCK:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def cap_rate_limiter_wait(client: Any, config: Config) -> Any:
    """Refuse an attempt of ``client`` that the adaptive rate limiter held longer than
    :data:`~serverless.adapters.errors.RATE_LIMITER_WAIT_MAX_SECONDS` (nothing to do unless
    ``config``, the client's, is in adaptive mode); returns the client."""
    if config.retries and config.retries.get("mode") == "adaptive":
        # The limiter waits inside "before-send": time it from before to after it.
        client.meta.events.register_first("before-send", _queued)
        client.meta.events.register_last("before-send", _held_too_long)
    return client


def _create_client(service: str, config: Config) -> Any:
    session = shared_session()
    with _SESSION_LOCK:  # botocore sessions are not thread-safe; their clients are
        client = session.create_client(service, config=config)
    return cap_rate_limiter_wait(client, config)


class LazyClient:
    """Holds an injected client, or creates the default one on first use (``config``: its
    configuration, the shared one of the service by default)."""

    def __init__(self, service: str, client: Any | None = None, config: Config | None = None):
        self._service = service
        self._client = client
        self._config = config or client_config(service)
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The client (created with its retry configuration when not injected)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _create_client(self._service, self._config)
        return self._client


class ThrottleCounter:
    """Counts the throttled attempts of the calls one thread makes through the clients it
    watches (botocore's ``needs-retry`` event: every attempt's answer, retried or not)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._watched: set[int] = set()
        self._lock = threading.Lock()

    def watch(self, client: Any) -> Any:
        """Count ``client``'s throttled attempts (a botocore client; a stand-in without
        botocore's events is not counted); returns the client."""
        with self._lock:
            if id(client) not in self._watched:
                self._watched.add(id(client))
                events = getattr(getattr(client, "meta", None), "events", None)
                if events is not None:
                    unique_id = f"drain-terminator-{id(self)}"
                    events.register("needs-retry", self._answered, unique_id=unique_id)
        return client

    def start(self) -> None:
        """Count from zero on this thread."""
        self._local.count = 0

    @property
    def count(self) -> int:
        """Throttled attempts on this thread since :meth:`start`."""
        return int(getattr(self._local, "count", 0))

    def _answered(self, response: Any = None, **_: Any) -> None:
        if response is None:
            return None
        code = (response[1] or {}).get("Error", {}).get("Code", "")
        if code in THROTTLE_CODES:
            self._local.count = self.count + 1
        return None  # never decides the retry: botocore's handler does

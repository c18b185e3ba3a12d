"""The signal steps' first calls (ExecuteCommand, SendCommand): botocore's adaptive mode on
their own clients, bounded in time, their throttled attempts counted for the metric."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from serverless.adapters import clients
from serverless.adapters.clients import LazyClient, RateLimiterHeldError
from serverless.adapters.errors import (
    RATE_LIMITER_WAIT_MAX_SECONDS,
    call_time_bound,
    client_config,
    signal_call_config,
)
from serverless.adapters.exec_signal import ExecSignalAdapter
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.signals import SignalCommand, SignalOutcome, SignalTarget

TARGET = SignalTarget(
    "arn:aws:ecs:us-east-1:111122223333:cluster/prod",
    "arn:aws:ecs:us-east-1:111122223333:task/prod/0123456789abcdef0123456789abcdef",
    "app",
)


class _Response:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.content = json.dumps(body).encode()
        self.status = status

    def stream(self, **_: Any) -> Any:
        yield self.content


def _throttled_then(client: Any, throttles: int, answer: dict[str, Any]) -> list[int]:
    """Answer ``client``'s requests: ``throttles`` ThrottlingExceptions, then ``answer``."""
    sent: list[int] = []

    def send(request: Any, **_: Any) -> AWSResponse:
        sent.append(1)
        if len(sent) <= throttles:
            body: dict[str, Any] = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            raw = _Response(400, body)
            return AWSResponse(request.url, 400, {}, raw)  # type: ignore[arg-type]
        return AWSResponse(request.url, 200, {}, _Response(200, answer))  # type: ignore[arg-type]

    client.meta.events.register("before-send", send)
    return sent


def test_given_signal_calls_when_configured_then_adaptive_with_the_same_time_outs() -> None:
    for service in ("ecs", "ssm"):
        adaptive, standard = signal_call_config(service), client_config(service)
        assert adaptive.retries["mode"] == "adaptive"
        assert adaptive.retries["total_max_attempts"] == standard.retries["total_max_attempts"]
        attempts = int(adaptive.retries["total_max_attempts"])
        # The bound keeps room for the rate limiter holding every attempt at its longest.
        assert call_time_bound(adaptive) == pytest.approx(
            call_time_bound(standard) + attempts * RATE_LIMITER_WAIT_MAX_SECONDS
        )


def test_given_execute_command_throttled_twice_when_signalled_then_both_counted() -> None:
    ecs = LazyClient("ecs", config=signal_call_config("ecs")).get()
    sent = _throttled_then(ecs, 2, {"session": {}})
    adapter = ExecSignalAdapter(ecs, object())

    result = adapter.signal(TARGET, SignalCommand())

    assert len(sent) == 3  # botocore retried the throttled attempts
    assert result.throttled == 2
    assert result.outcome is SignalOutcome.SESSION_FAILED  # no stream to connect to


def test_given_execute_command_throttled_through_every_retry_then_unavailable_and_counted() -> None:
    ecs = LazyClient("ecs", config=signal_call_config("ecs")).get()
    _throttled_then(ecs, 99, {})
    adapter = ExecSignalAdapter(ecs, object())

    with pytest.raises(AwsUnavailableError) as raised:
        adapter.signal(TARGET, SignalCommand())

    assert raised.value.throttled == 3  # every attempt of the adaptive client


def test_given_the_rate_limiter_holds_an_attempt_too_long_then_it_is_not_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecs = LazyClient("ecs", config=signal_call_config("ecs")).get()
    ticks = iter([100.0, 100.0 + RATE_LIMITER_WAIT_MAX_SECONDS + 0.5])
    monkeypatch.setattr(clients, "_monotonic", lambda: next(ticks))

    class _Request:
        context: dict[str, Any] = {}  # noqa: RUF012 - one request, one context

    with pytest.raises(RateLimiterHeldError, match="rate limiter held the request"):
        ecs.meta.events.emit("before-send.ecs.ExecuteCommand", request=_Request())


def test_given_a_standard_client_when_created_then_no_rate_limiter_bound_is_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecs = LazyClient("ecs").get()
    ticks = iter([0.0, 1e6])
    monkeypatch.setattr(clients, "_monotonic", lambda: next(ticks))

    class _Request:
        context: dict[str, Any] = {}  # noqa: RUF012 - one request, one context

    ecs.meta.events.emit("before-send.ecs.StopTask", request=_Request())

    assert _Request.context == {}  # never timed: StopTask's client is not adaptive

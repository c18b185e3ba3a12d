"""The embedded AWS: moto, plus the model serving what moto does not do, plus hook points.

Each simulated boto3 client gets one ``before-send`` handler in place of moto's (the
request is inside botocore's retry loop there, so injected throttling is retried as in
production). For every request it:

1. checks whether the calling Lambda invocation must be killed now;
2. runs the fault *hooks* in order (the chaos suite's throttling, 5xx, timeouts,
   conditional-check conflicts...): the first reply wins;
3. runs the operation the model *serves* (ECS DescribeTasks/StopTask/ListTasks and ELB
   DescribeTargetHealth, which need task lifecycles and draining that moto lacks);
4. otherwise hands the request to moto (through :class:`sim.aws.fast_moto.MotoRouter` in a
   run, which answers as moto does at less CPU), and lets the model *amend* moto's JSON
   answer where moto drops what ECS shows (DescribeServices' blue/green fields, task
   sets' counts).

With a :class:`sim.aws.costs.CostModel` attached, a call made by a Lambda invocation also
costs what AWS charges (see :mod:`sim.aws.costs`): the service acts when the call is sent and
the process is parked for the call's latency before it sees the answer; the account token
buckets and DynamoDB partition limits answer with the real throttling errors, and
capacity units are counted.

Every call is recorded in the observation log with its virtual time, caller and status.
botocore's retry back-off sleeps on the virtual clock during a run (:func:`virtual_retry_sleep`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from sim.aws.costs import CostModel
from sim.aws.lambda_runtime import Invocation, LambdaKilled
from sim.engine.loop import EventLoop
from sim.engine.observe import Kind, ObservationLog

__all__ = [
    "Amender",
    "AwsCall",
    "AwsHook",
    "AwsInterceptor",
    "Reply",
    "virtual_retry_sleep",
]


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP reply a hook or the model gives instead of moto."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: object, status: int = 200, *, version: str = "1.1") -> Reply:
        """A JSON-protocol reply (ECS: 1.1, DynamoDB: 1.0)."""
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": f"application/x-amz-json-{version}"},
        )

    @classmethod
    def error(cls, service: str, code: str, message: str, status: int = 400) -> Reply:
        """An error reply in ``service``'s protocol (json for ecs/dynamodb, query for elbv2
        and sts)."""
        if service in {"elastic-load-balancing-v2", "sts"}:
            xml = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
            return cls(status, xml.encode(), {"Content-Type": "text/xml"})
        version = "1.0" if service == "dynamodb" else "1.1"
        prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
        return cls.json({"__type": prefix + code, "message": message}, status, version=version)

    @classmethod
    def xml(cls, body: str, status: int = 200) -> Reply:
        """A query-protocol (XML) reply."""
        return cls(status, body.encode(), {"Content-Type": "text/xml"})


@dataclass(frozen=True, slots=True)
class AwsCall:
    """One request as hooks see it."""

    service: str  # botocore service id, hyphenized: ecs, dynamodb, elastic-load-balancing-v2
    operation: str
    params: dict[str, Any]
    at: float
    caller: Invocation | None
    attempt: int
    #: The account whose credentials the calling client has (None: the harness's own).
    account: str | None = None


#: A hook returns a :class:`Reply` to answer the call itself, or None to pass it on.
AwsHook = Callable[[AwsCall], Reply | None]
#: Changes moto's successful JSON answer to a call (in place).
Amender = Callable[[AwsCall, dict[str, Any]], None]


#: Services whose requests are form-encoded (the query protocol), not JSON.
_QUERY_PROTOCOL = frozenset({"elastic-load-balancing-v2", "sts"})


def _params(service: str, body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    text = body.decode() if isinstance(body, bytes) else body
    if service in _QUERY_PROTOCOL:
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text).items()}
    with contextlib.suppress(ValueError):
        loaded = json.loads(text)
        if isinstance(loaded, dict):
            return loaded
    return {}


class AwsInterceptor:
    """Routes every request of the attached clients: hooks, model, then moto."""

    def __init__(
        self,
        loop: EventLoop,
        log: ObservationLog,
        costs: CostModel | None = None,
        moto: Callable[[Any], AWSResponse | None] | None = None,
    ) -> None:
        self.loop = loop
        #: What sends a request to moto (:class:`sim.aws.fast_moto.MotoRouter` in a run).
        self._moto = moto
        self.log = log
        self.costs = costs
        self.hooks: list[AwsHook] = []
        self._served: dict[tuple[str, str], AwsHook] = {}
        self._amenders: dict[tuple[str, str], Amender] = {}
        self.calls: dict[str, int] = {}

    def add_hook(self, hook: AwsHook) -> None:
        """Add a fault-injection hook (runs before the model and moto)."""
        self.hooks.append(hook)

    def serve(self, service: str, operation: str, handler: AwsHook) -> None:
        """Let the model answer ``service``'s ``operation``."""
        self._served[(service, operation)] = handler

    def amend(self, service: str, operation: str, amender: Amender) -> None:
        """Let the model complete moto's successful JSON answers to ``operation``."""
        self._amenders[(service, operation)] = amender

    def attach(self, client: Any, account: str | None = None) -> Any:
        """Route ``client``'s requests through this interceptor; returns the client.

        ``account``: whose credentials the client has (its calls draw from that account's
        rate limits, and the model answers them in that account only).
        """
        events = client.meta.events
        events.unregister("before-send", botocore_stubber)
        events.register("before-send", functools.partial(self._dispatch, account=account))
        return client

    def _caller(self) -> Invocation | None:
        process = self.loop.current_process()
        tag = process.tag if process is not None else None
        return tag if isinstance(tag, Invocation) else None

    def _dispatch(
        self, event_name: str, request: Any, account: str | None = None, **kwargs: Any
    ) -> AWSResponse | None:
        _, service, operation = event_name.split(".", 2)
        caller = self._caller()
        key = f"{service}.{operation}"
        self.calls[key] = self.calls.get(key, 0) + 1
        if caller is not None:
            caller.aws_calls += 1
        costs = self.costs if caller is not None else None
        latency = costs.latency(key) if costs is not None else 0.0
        if caller is not None:
            self._check_killed(caller, key)
        attempt = (
            int(request.context.get("retries", {}).get("attempt", 1))
            if hasattr(request, "context")
            else 1
        )
        params = _params(service, request.body)
        if self.costs is not None:
            self.costs.learn(service, operation, params)
        call = AwsCall(service, operation, params, self.loop.now, caller, attempt, account)
        reply: Reply | None = None
        source = "moto"
        for hook in self.hooks:
            reply = hook(call)
            if reply is not None:
                source = "hook"
                break
        if reply is None and costs is not None:
            code = costs.admit(service, operation, params, account)
            if code is not None:
                reply, source = Reply.error(service, code, "Rate exceeded", 400), "limit"
        old_item = None
        if reply is None and costs is not None and service == "dynamodb":
            old_item = costs.before_write(operation, params)
        if reply is None and (served := self._served.get((service, operation))) is not None:
            reply = served(call)
            source = "model"
        if reply is not None:
            response = AWSResponse(
                request.url,
                reply.status,
                {"x-amzn-RequestId": str(uuid.uuid4()), **reply.headers},
                MockRawResponse(reply.body),
            )
        elif self._moto is not None:
            response = self._moto(request)
        else:
            response = botocore_stubber(event_name=event_name, request=request, **kwargs)
        if reply is None:
            response = self._amended(call, request.url, response)
        status = response.status_code if response is not None else None
        if costs is not None and service == "dynamodb" and source in {"moto", "model"}:
            body = _json_body(response) if operation in _BODY_NEEDED or status != 200 else None
            costs.charge(operation, params, old_item, status, body)
        self.log.record(
            self.loop.now,
            Kind.AWS_CALL,
            key,
            status=status,
            source=source,
            caller=caller.function if caller else None,
        )
        if latency > 0:
            self.loop.sleep(latency)  # the caller waits for the answer
            self._check_killed(caller, key)
        return response

    def _amended(self, call: AwsCall, url: str, response: AWSResponse | None) -> AWSResponse | None:
        """moto's answer, completed by the model's amender of the operation (if any)."""
        amender = self._amenders.get((call.service, call.operation))
        if amender is None or response is None or response.status_code != 200:
            return response
        payload = _json_body(response)
        if payload is None:
            return response
        amender(call, payload)
        body = json.dumps(payload).encode()
        return AWSResponse(url, 200, dict(response.headers), MockRawResponse(body))

    def _check_killed(self, caller: Invocation | None, key: str) -> None:
        if caller is None:
            return
        process = caller.process
        killed = caller.kill_after_calls is not None and caller.aws_calls > caller.kill_after_calls
        if killed or (
            process is not None and process.kill_at is not None and self.loop.now >= process.kill_at
        ):
            raise LambdaKilled(f"{caller.function} killed before {key}")


#: DynamoDB operations whose reply body the cost model reads (returned item sizes).
_BODY_NEEDED = frozenset({"GetItem", "Query"})


def _json_body(response: AWSResponse | None) -> dict[str, Any] | None:
    if response is None:
        return None
    with contextlib.suppress(ValueError):
        loaded = json.loads(response.content or b"{}")
        if isinstance(loaded, dict):
            return loaded
    return None


class _VirtualTime:
    """Stands in for the ``time`` module inside botocore.endpoint: sleeps are virtual."""

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop

    def sleep(self, seconds: float) -> None:
        self._loop.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def virtual_retry_sleep(loop: EventLoop) -> Iterator[None]:
    """During a run, botocore's retry back-off advances the simulation instead of sleeping."""
    original = botocore.endpoint.time
    botocore.endpoint.time = _VirtualTime(loop)  # type: ignore[assignment]
    try:
        yield
    finally:
        botocore.endpoint.time = original

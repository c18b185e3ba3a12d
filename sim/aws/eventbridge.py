"""EventBridge as the functions see it: rule matching, at-least-once delivery, schedules.

Events reach a target only if they match the rule's pattern, read from the Terraform
module (``terraform/patterns/task-state-change.json``) and evaluated by moto's
implementation of EventBridge pattern matching (prefix, ``$or``...). Delivery is at least
once and unordered: with :class:`sim.scenarios.Delivery` rates, a matched event is
delivered twice, or held back so that later events overtake it; all seeded.

Some drains are never delivered at all (``Delivery.lost_drain_rate``): an event can be
lost past EventBridge's retries (24 h / 185 attempts by default, then the dead-letter
queue) and Lambda's asynchronous ones, or sent while the terminator was not deployed
or down. A lost drain loses every event of its task, from the first one with
desiredStatus STOPPED on (each logged as ``Kind.EVENT_LOST``), so only a poll of ECS
(the functions' backstop) can find it.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
from collections.abc import Callable
from typing import Any, cast

from moto.events.models import EventPattern

from sim.aws.ecs.events import iso_s
from sim.engine.loop import EventLoop, Handle
from sim.engine.observe import Kind, ObservationLog
from sim.scenarios import Delivery

__all__ = ["DEFAULT_JITTER", "EventBus", "ScheduleRule", "rate_seconds"]

Target = Callable[[dict[str, Any]], None]
#: Default per-fire jitter of a scheduled rule, seconds.
DEFAULT_JITTER = 2.0


class EventBus:
    """One rule with one target on the default bus."""

    def __init__(
        self,
        loop: EventLoop,
        log: ObservationLog,
        *,
        pattern_json: str,
        delivery: Delivery,
        rng: random.Random,
    ) -> None:
        self.loop = loop
        self.log = log
        self.pattern = EventPattern.load(pattern_json)
        self.pattern_json = pattern_json
        self.delivery = delivery
        self.rng = rng
        self.targets: list[Target] = []
        self.stats = {
            "emitted": 0,
            "matched": 0,
            "filtered": 0,
            "delivered": 0,
            "duplicated": 0,
            "reordered": 0,
            "lost": 0,
        }
        #: Tasks whose drain events are all lost, and tasks already decided.
        self.lost_tasks: set[str] = set()
        self._decided: set[str] = set()
        # Losses draw from a stream of their own (the delivery draws stay as they were).
        self._loss_rng = random.Random(rng.getrandbits(64)) if delivery.lost_drain_rate else None

    def matches(self, event: dict[str, Any]) -> bool:
        """EventBridge semantics of the rule's pattern."""
        return bool(self.pattern.matches_event(cast(Any, event)))

    def put(self, event: dict[str, Any]) -> None:
        """PutEvents (what ECS does for each task state change)."""
        self.stats["emitted"] += 1
        detail = event.get("detail", {})
        subject = str(detail.get("taskArn", event.get("id")))
        summary = {
            "event_id": event.get("id"),
            "last_status": detail.get("lastStatus"),
            "desired_status": detail.get("desiredStatus"),
            "version": detail.get("version"),
        }
        self.log.record(self.loop.now, Kind.EVENT_EMITTED, subject, **summary)
        if not self.matches(event):
            self.stats["filtered"] += 1
            self.log.record(self.loop.now, Kind.EVENT_FILTERED, subject, **summary)
            return
        self.stats["matched"] += 1
        if self._lost(subject, detail):
            self.stats["lost"] += 1
            self.log.record(self.loop.now, Kind.EVENT_LOST, subject, **summary)
            return
        copies = 2 if self.rng.random() < self.delivery.duplicate_rate else 1
        for copy_index in range(copies):
            delay = self.rng.uniform(*self.delivery.latency_seconds)
            reordered = self.rng.random() < self.delivery.reorder_rate
            if reordered:
                delay += self.rng.uniform(*self.delivery.reorder_delay_seconds)
                self.stats["reordered"] += 1
            if copy_index:
                delay += self.rng.uniform(*self.delivery.duplicate_delay_seconds)
                self.stats["duplicated"] += 1
            payload = copy.deepcopy(event)
            flags = {"duplicate": bool(copy_index), "held_back": reordered}
            self.loop.call_later(delay, functools.partial(self._deliver, payload, flags, summary))

    def _lost(self, task_arn: str, detail: dict[str, Any]) -> bool:
        """Whether this event belongs to a drain whose events are all lost."""
        if task_arn in self.lost_tasks:
            return True
        rng = self._loss_rng
        if rng is None or task_arn in self._decided or detail.get("desiredStatus") != "STOPPED":
            return False
        self._decided.add(task_arn)
        service = str(detail.get("group", "")).removeprefix("service:")
        if self.delivery.lost_services and service not in self.delivery.lost_services:
            return False
        if rng.random() < self.delivery.lost_drain_rate:
            self.lost_tasks.add(task_arn)
            return True
        return False

    def _deliver(
        self, event: dict[str, Any], flags: dict[str, bool], summary: dict[str, Any]
    ) -> None:
        self.stats["delivered"] += 1
        subject = str(event.get("detail", {}).get("taskArn", event.get("id")))
        self.log.record(self.loop.now, Kind.EVENT_DELIVERED, subject, **summary, **flags)
        for target in self.targets:
            target(event)


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs of an EventBridge ``rate(...)`` expression."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise ValueError(f"unsupported schedule expression {expression!r} (rate(...) only)")
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    return value * _UNIT[unit]


class ScheduleRule:
    """A ``rate(...)`` rule, firing once per period at a seeded second of it.

    EventBridge documents only that a scheduled rule fires somewhere inside the minute.
    By default each fire lands at a stable offset into the period (drawn once from the
    seed) plus up to ``jitter_seconds`` (default 2 s) of per-fire jitter. ``jitter_seconds``
    equal to the period models the worst case: each fire anywhere inside its minute, so
    two runs can be almost two minutes apart.
    """

    def __init__(
        self,
        loop: EventLoop,
        *,
        expression: str,
        rng: random.Random,
        account: str,
        region: str,
        rule_name: str,
        jitter_seconds: float | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.loop = loop
        self.period = rate_seconds(expression)
        self.jitter = min(
            float(self.period), DEFAULT_JITTER if jitter_seconds is None else jitter_seconds
        )
        self.rng = rng
        self.offset = rng.uniform(0, self.period - self.jitter)
        self.targets: list[Target] = []
        self.rule_arn = f"arn:aws:events:{region}:{account}:rule/{rule_name}"
        self._account, self._region = account, region
        self._handle: Handle | None = None
        self._period_start = 0.0
        self.fired = 0
        #: A target's constant input (``input`` of aws_cloudwatch_event_target), handed
        #: to the targets instead of the Scheduled Event.
        self.payload = payload

    def start(self) -> None:
        """Fire from the current period on (the rule existed before the simulation began)."""
        self._period_start = (self.loop.now // self.period) * self.period
        self._arm()

    def stop(self) -> None:
        """Fire no more."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self) -> None:
        while True:
            at = self._period_start + self.offset + self.rng.uniform(0, self.jitter)
            if at >= self.loop.now:
                break
            self._period_start += self.period
        self._handle = self.loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self.fired += 1
        event = {
            "version": "0",
            "id": f"{self.rng.getrandbits(128):032x}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account,
            "time": iso_s(self._period_start),
            "region": self._region,
            "resources": [self.rule_arn],
            "detail": {},
        }
        body = event if self.payload is None else self.payload
        for target in self.targets:
            target(json.loads(json.dumps(body)))
        self._period_start += self.period
        self._arm()

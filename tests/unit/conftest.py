"""Unit-test fixtures: a manual clock and a clean Powertools metric set per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from serverless.observability import metrics
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(autouse=True)
def _clean_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def metric_values() -> Callable[[str], list[float]]:
    """The values recorded so far for one metric name (not yet flushed)."""

    def values(name: str) -> list[float]:
        entry = metrics.metric_set.get(name)
        return [float(v) for v in entry["Value"]] if entry else []

    return values

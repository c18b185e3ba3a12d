from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from serverless import app as app_module
from tests.support.clock import ManualClock
from tests.support.world import World, build_world

OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> Iterator[World]:
    with mock_aws():
        world = build_world(clock)
        world.add_service("web", OPTED_IN)
        world.install_app()
        yield world
        app_module.reset()
